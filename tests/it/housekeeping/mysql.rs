//! The real archiver on the shared MariaDB: binlog files closed by `FLUSH BINARY LOGS` while
//! rows are written are merged by the archiver itself and their parts forgotten; a restore to
//! a time inside a merged file is exact, and restic checks the repository clean.

use std::fs;
use std::time::Duration;

use super::{binlog_snaps, coverage, wait_until, BinlogSnap};
use crate::mysql::{next_second, now_local, rich_schema, spawn_archiver, wait_for_archive};
use crate::services::{MariaDb, USER_PASSWORD};
use crate::util::{restic, Env};

fn insert(db: &MariaDb, what: &str, n: usize) {
    let rows: Vec<String> = (0..n)
        .map(|i| format!("('{what}{i}', {i}.75, NOW(6))"))
        .collect();
    db.sql(&format!(
        "INSERT INTO it_hk.orders(customer, amount, created) VALUES {}",
        rows.join(",")
    ));
}

/// The binlog file the server writes now.
fn current_file(db: &MariaDb) -> String {
    let status = db.sql("SHOW MASTER STATUS");
    status.split('\t').next().unwrap().to_string()
}

/// The snapshots holding bytes of `file`.
fn holding<'a>(snaps: &'a [BinlogSnap], file: &str) -> Vec<&'a BinlogSnap> {
    snaps.iter().filter(|s| s.files().contains(&file)).collect()
}

/// Housekeeping has done all it can: every closed file the archive holds whole is held by one
/// snapshot (its merged one, or a lone part that is the whole file), besides snapshots that
/// also hold bytes of a file not closed yet (they wait for that file's merge).
fn settled(env: &Env) -> bool {
    let cover = coverage(env);
    let whole: Vec<&str> = cover
        .iter()
        .filter(|f| f.2 && f.3)
        .map(|f| f.0.as_str())
        .collect();
    let snaps = binlog_snaps(env);
    whole.iter().all(|file| {
        let hs = holding(&snaps, file);
        if hs.len() == 1 {
            return true;
        }
        let merged = hs.iter().filter(|s| s.merged_file() == Some(file)).count();
        let waiting = hs
            .iter()
            .filter(|s| s.merged_file() != Some(file))
            .all(|s| s.files().iter().any(|f| !whole.contains(f)));
        merged == 1 && waiting
    })
}

#[test]
fn the_archiver_merges_closed_files_forgets_their_parts_and_restores_inside_one_exactly() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_hk");
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    env.write_sources(&db.source_toml("db", "[\"it_hk\"]", &env.path("dbpw")));
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let mut archiver = spawn_archiver(&env);

    // Three files closed under writes, each stored in several flushes; `t` lies in the middle
    // of the second one.
    let mut t = None;
    for file in 0..3 {
        for batch in 0..3 {
            insert(db, &format!("f{file}b{batch}-"), 25);
            wait_for_archive(&env, db);
            if file == 1 && batch == 1 {
                next_second();
                t = Some((now_local(db), db.fingerprint("it_hk"), current_file(db)));
                next_second();
            }
        }
        db.sql("DELETE FROM it_hk.orders WHERE customer LIKE 'bulk%' LIMIT 20");
        db.sql("FLUSH BINARY LOGS");
    }
    insert(db, "open-", 10);
    wait_for_archive(&env, db);
    let (t, at_t, t_file) = t.unwrap();

    wait_until(
        "the archiver's housekeeping",
        Duration::from_secs(120),
        || settled(&env),
    );
    archiver.kill().unwrap();
    archiver.wait().unwrap();

    let snaps = binlog_snaps(&env);
    let merged: Vec<&str> = snaps.iter().filter_map(|s| s.merged_file()).collect();
    assert!(merged.len() >= 3, "merged files: {merged:?}");
    let held = holding(&snaps, &t_file);
    assert_eq!(
        held.len(),
        1,
        "{t_file} is held by its merged snapshot alone"
    );
    assert_eq!(held[0].merged_file(), Some(t_file.as_str()));
    // 9 flushes at least went into the closed files; few snapshots are left of them.
    assert!(
        snaps.len() <= merged.len() + 3,
        "{} binlog snapshots",
        snaps.len()
    );

    let out = env.ok(&["restore-db", "db", "--into", "it_hk_at_t", "--until", &t]);
    assert!(out.stdout.contains(&format!("+ {t_file}")), "{out}");
    assert_eq!(db.fingerprint("it_hk_at_t"), at_t, "state at {t}\n{out}");
    let out = env.ok(&["restore-db", "db", "--into", "it_hk_latest"]);
    assert_eq!(
        db.fingerprint("it_hk_latest"),
        db.fingerprint("it_hk"),
        "{out}"
    );

    let out = env.ok(&["verify"]);
    assert!(!out.stdout.contains("broken"), "{out}");
    restic(&env, &["check", "--read-data"]);
}
