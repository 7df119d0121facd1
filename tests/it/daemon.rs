//! `dxbackup daemon` unattended, against the real binary, MariaDB and restic: second-level
//! schedules make snapshots, archivers run under it, kill -9 mid-backup and a restart leave an
//! interrupted run, no stale lock, a clean repository and an exact binlog restore; a SIGHUP
//! with a broken config keeps the old one.

use std::fs;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::mysql::{next_second, now_local, rich_schema, wait_for_archive};
use crate::services::{MariaDb, USER_PASSWORD};
use crate::util::{data, put, Env};

/// Polls `cond` every 100 ms until it holds; panics naming `what` after `secs`.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn spawn_daemon(env: &Env, log: &str) -> Child {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.path(log))
        .unwrap();
    env.cmd(&["-v", "daemon"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn json(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = env.run(&full);
    assert!(out.code == 0 || out.code == 1, "{out}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

fn snapshots_of(env: &Env, kind: &str) -> usize {
    json(env, &["snapshots"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .count()
}

fn schedule_status(env: &Env, name: &str) -> Option<String> {
    let v = json(env, &["schedule"]);
    v["schedules"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)?["last"]["status"]
        .as_str()
        .map(str::to_string)
}

/// Live processes whose command line names this Env's folder (the daemon, its jobs and
/// archivers, their client tools).
fn our_processes(env: &Env) -> Vec<String> {
    let needle = env.dir.path().to_string_lossy().into_owned();
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(raw) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        let zombie = fs::read_to_string(entry.path().join("stat"))
            .is_ok_and(|s| s.split_whitespace().nth(2) == Some("Z"));
        if line.contains(&needle) && !zombie {
            out.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
        }
    }
    out
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill on our own, not yet reaped child.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
}

#[test]
fn daemon_schedules_backups_survives_kill9_and_restores_exactly() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_daemon");
    let env = Env::new();
    // Big enough that a backup takes a while: the kill must land in the middle of one.
    for i in 0..40 {
        put(
            &env.src().join(format!("plugin/reader/lib{i}.jar")),
            &data(2 << 20, i),
            0o644,
        );
    }
    put(&env.src().join("job/a.json"), b"{}", 0o644);
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    let source = db.source_toml("db", "[\"it_daemon\"]", &env.path("dbpw"));
    env.write_config(&format!(
        "{source}binlog = true\n\n[schedule.fast]\ncron = \"*/4 * * * * *\"\njob = \"backup\"\nsources = [\"tree\"]\nmode = \"normal\"\n\n\
         [schedule.db]\ncron = \"*/15 * * * * *\"\njob = \"backup\"\nsources = [\"db\"]\nmode = \"normal\"\n\n\
         [schedule.check]\ncron = \"*/9 * * * * *\"\njob = \"verify\"\n"
    ));
    env.ok(&["init"]);
    env.ok(&["backup", "db"]);

    let mut daemon = spawn_daemon(&env, "daemon.log");
    wait_until(120, "two files snapshots made by the daemon", || {
        snapshots_of(&env, "files") >= 2
    });
    wait_until(60, "the daemon's binlog archiver storing a part", || {
        snapshots_of(&env, "binlog") >= 1
    });
    // Kill -9 in the middle of a backup: new data makes the next one take a while.
    for i in 0..40 {
        put(
            &env.src().join(format!("plugin/reader/lib{i}.jar")),
            &data(2 << 20, 100 + i),
            0o644,
        );
    }
    wait_until(60, "a backup in progress", || {
        json(&env, &["stats", "--source", "tree"])["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "running")
    });
    // The schedule's newest run is this one, or a tick skipped because it is still running
    // (a loaded machine makes the backup outlast the 4 s interval).
    let st = schedule_status(&env, "fast");
    assert!(
        matches!(st.as_deref(), Some("running" | "skipped")),
        "{st:?}"
    );
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    wait_until(30, "the daemon's children to die with it", || {
        our_processes(&env).is_empty()
    });

    db.sql(
        "INSERT INTO it_daemon.orders(customer, amount, created) VALUES ('after-kill', 7, NOW(6))",
    );
    let files_before = snapshots_of(&env, "files");
    let mut daemon = spawn_daemon(&env, "daemon.log");
    wait_until(120, "a backup after the restart", || {
        snapshots_of(&env, "files") > files_before
    });
    let v = json(&env, &["schedule"]);
    let runs = json(&env, &["stats", "--source", "tree"]);
    assert!(
        runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "interrupted"),
        "the killed backup is recorded as interrupted: {runs}"
    );
    assert!(v["daemon"]["pid"].as_u64().is_some(), "{v}");

    // A point after the restart, then more writes, archived by the restarted daemon.
    next_second();
    let t = now_local(db);
    let at_t = db.fingerprint("it_daemon");
    next_second();
    db.sql("DELETE FROM it_daemon.orders WHERE amount < 100");
    wait_for_archive(&env, db);

    // SIGTERM: a clean stop within seconds, no child left.
    let asked = Instant::now();
    signal(&daemon, libc::SIGTERM);
    let status = daemon.wait().unwrap();
    assert!(
        status.success(),
        "{status:?}: {}",
        fs::read_to_string(env.path("daemon.log")).unwrap()
    );
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "stopped in {:?}",
        asked.elapsed()
    );
    assert!(our_processes(&env).is_empty(), "{:?}", our_processes(&env));

    crate::util::restic(&env, &["check", "--read-data"]);
    env.ok(&["restore-db", "db", "--into", "it_daemon_t", "--until", &t]);
    assert_eq!(db.fingerprint("it_daemon_t"), at_t, "exact at {t}");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one() {
    let env = Env::new();
    put(&env.src().join("job/a.json"), b"{}", 0o644);
    env.write_config("\n[schedule.fast]\ncron = \"*/2 * * * * *\"\njob = \"backup\"\n");
    env.ok(&["init"]);
    let mut daemon = spawn_daemon(&env, "daemon.log");
    wait_until(60, "a snapshot", || snapshots_of(&env, "files") >= 1);
    let good = fs::read_to_string(env.config()).unwrap();
    fs::write(
        env.config(),
        format!("{good}\n[schedule.bad]\ncron = \"not a cron\"\njob = \"backup\"\n"),
    )
    .unwrap();
    signal(&daemon, libc::SIGHUP);
    wait_until(30, "the reload to be refused", || {
        fs::read_to_string(env.path("daemon.log"))
            .unwrap_or_default()
            .contains("config reload refused")
    });
    // Counted by restic: dxbackup itself refuses the broken file, as it should.
    let count = || {
        let out = crate::util::restic(&env, &["snapshots", "--json", "--no-lock"]);
        serde_json::from_str::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let before = count();
    wait_until(60, "more snapshots under the old config", || {
        count() > before
    });
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon keeps running"
    );
    // A good config is taken.
    fs::write(env.config(), &good).unwrap();
    signal(&daemon, libc::SIGHUP);
    wait_until(30, "the reload to be taken", || {
        fs::read_to_string(env.path("daemon.log"))
            .unwrap_or_default()
            .contains("config reloaded")
    });
    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    // Stopped: status warns that nothing runs the schedules (after a minute of silence),
    // but right after a clean stop the heartbeat is fresh.
    let out = env.run(&["status"]);
    assert!(!out.stdout.contains("has not reported"), "{out}");
}
