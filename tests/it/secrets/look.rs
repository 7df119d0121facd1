//! Where a secret could rest after the commands ran: the dashboard's pages (fetched with the
//! token, as an API client does), the state directory's files, the catalog's rows, and the
//! config stored in every snapshot.

use std::fs;
use std::path::Path;

use super::{assert_clean, WEB_TOKEN};
use crate::util::{restic, Env};
use crate::web::{dashboard_addr, http_get, spawn_daemon_with};

/// The daemon with the dashboard (its archiver and observer at work), every page and API
/// answer, and the daemon's own log.
pub fn dashboard(env: &Env, markers: &[String]) {
    let log = env.path("daemon.log");
    let daemon = spawn_daemon_with(env, &["-vv"]);
    let addr = dashboard_addr(env);
    let pages = [
        "/",
        "/sources/tree",
        "/sources/db",
        "/sources/db/restore",
        "/runs",
        "/runs/1",
        "/drills",
        "/jobs",
        "/config",
        "/metrics",
        "/api/v1/overview",
        "/api/v1/config",
        "/api/v1/runs",
        "/api/v1/runs/1",
        "/api/v1/sources/db",
        "/api/v1/sources/db/restore-plan",
        "/api/v1/drills",
        "/api/v1/jobs",
    ];
    let mut statuses = Vec::new();
    for page in pages {
        let (status, body) = http_get(&addr, page, Some(WEB_TOKEN));
        statuses.push((page, status));
        assert_clean(markers, &format!("page {page}"), &body);
    }
    drop(daemon); // killed, so its log is complete
                  // The token opened them: a sweep of 401 pages would prove nothing.
    for page in ["/", "/config", "/api/v1/config", "/api/v1/overview"] {
        assert!(statuses.contains(&(page, 200)), "{statuses:?}");
    }
    assert_clean(
        markers,
        "the daemon's log",
        &fs::read_to_string(&log).unwrap(),
    );
}

/// Every file under `dir`, as bytes (a secret in a binary file counts too).
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if let Ok(b) = fs::read(&p) {
            out.push((p.display().to_string(), b));
        }
    }
}

/// Every file of the state directory but one: the daemon's copy of the config in force (what
/// its jobs read, so a broken edit never reaches them) holds what the config holds, the
/// secrets written into it (a robot's `url`, a webhook's headers) too. It must be the user's
/// file byte for byte, and private.
pub fn state_dir(env: &Env, markers: &[String]) {
    use std::os::unix::fs::PermissionsExt;
    let in_force = env.path("state/daemon/config.toml");
    assert_eq!(
        fs::read(&in_force).unwrap(),
        fs::read(env.config()).unwrap()
    );
    let mode = fs::metadata(&in_force).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the config in force is private: {mode:o}");
    let mut all = Vec::new();
    files(&env.path("state"), &mut all);
    assert!(
        all.iter().any(|(p, _)| p.ends_with("catalog.db")),
        "no catalog"
    );
    for (path, bytes) in all {
        if Path::new(&path) != in_force {
            assert_clean(markers, &path, &String::from_utf8_lossy(&bytes));
        }
    }
}

/// Every row of every table, read through SQLite (a page of the file may be compressed away
/// from a plain byte search, a row cannot).
pub fn catalog(env: &Env, markers: &[String]) {
    let db = rusqlite::Connection::open_with_flags(
        env.path("state/catalog.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.iter().any(|t| t == "runs"), "{tables:?}");
    for t in tables {
        let mut stmt = db.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        let mut text = String::new();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                use rusqlite::types::ValueRef;
                match row.get_ref(i).unwrap() {
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        text += &String::from_utf8_lossy(b);
                    }
                    v => text += &format!("{v:?}"),
                }
                text.push('\t');
            }
            text.push('\n');
        }
        assert_clean(markers, &format!("catalog table {t}"), &text);
    }
}

/// The config each snapshot carries (what `recover` reads), dumped by restic.
pub fn stored_configs(env: &Env, markers: &[String]) {
    let out = restic(env, &["snapshots", "--json"]);
    let snaps: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut dumped = 0;
    for s in snaps.as_array().unwrap() {
        let id = s["short_id"].as_str().unwrap();
        let ls = restic(env, &["ls", id]).stdout;
        for path in ls.lines().filter(|l| l.ends_with("/dxbackup.toml")) {
            let text = restic(env, &["dump", id, path]).stdout;
            assert!(text.contains("[repository.main]"), "{text}");
            assert_clean(markers, &format!("the config in snapshot {id}"), &text);
            dumped += 1;
        }
    }
    assert!(dumped >= 2, "configs of a files and a mysql snapshot");
}
