//! Physical fulls with the real `mariabackup` and `mbstream`: stored as one stream, restored
//! to a noted second into a served throwaway server (checksums, views, triggers, routines
//! equal), drilled; a killed mariabackup leaves no snapshot.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::mysql::{objects, rich_schema, writes_around_a_second};
use crate::services::{MariaDb, USER, USER_PASSWORD};
use crate::util::{require_tool, Env};

/// A `mariabackup` source "db" whose figures cover `databases` (a TOML list), with the
/// source's `extra` lines.
fn physical_env(db: &MariaDb, databases: &str, extra: &str) -> Env {
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    let source = db.source_toml("db", databases, &env.path("dbpw"));
    env.write_sources(&format!(
        "{source}driver = \"mariabackup\"\nbinlog = true\n{extra}"
    ));
    env.ok(&["init"]);
    env
}

/// SQL against a restored server on 127.0.0.1:`port`, as the source's own user.
pub(crate) fn sql_at(port: u16, sql: &str) -> String {
    let out = Command::new("mariadb")
        .args(["--no-defaults", "-h127.0.0.1", "-N", "-B"])
        .arg(format!("-P{port}"))
        .arg(format!("-u{USER}"))
        .arg(format!("-p{USER_PASSWORD}"))
        .arg("-e")
        .arg(sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub(crate) fn fingerprint_at(port: u16, db: &str) -> Vec<String> {
    sql_at(port, &format!("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='{db}' AND TABLE_TYPE='BASE TABLE' ORDER BY 1"))
        .lines()
        .map(|t| {
            let sum = sql_at(port, &format!("CHECKSUM TABLE `{db}`.`{t}`"));
            let rows = sql_at(port, &format!("SELECT COUNT(*) FROM `{db}`.`{t}`"));
            format!("{t} rows={rows} checksum={}", sum.split('\t').nth(1).unwrap_or_default())
        })
        .collect()
}

/// The ids of the fulls in the repository.
fn fulls(env: &Env) -> Vec<String> {
    let out = env.ok(&["snapshots", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "mysql-full")
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect()
}

#[test]
fn physical_full_restores_to_the_second_into_a_served_server_and_drills() {
    if !require_tool("mariabackup") || !require_tool("mbstream") {
        return;
    }
    let Some(db) = MariaDb::shared() else { return };
    // mariabackup copies the whole server: no other test's DDL in the middle of it.
    let _only_me = db.exclusive();
    rich_schema(db, "it_phys");
    let env = physical_env(db, "[\"it_phys\"]", "");
    let out = env.ok(&["backup"]);
    assert!(out.stdout.contains("db: snapshot"), "{out}");
    let position = crate::util::file_via_restic(&env, "/mysql/db/position.json");
    let p: serde_json::Value = serde_json::from_str(&position).unwrap();
    assert!(
        p["binlog"]["file"].is_string() && p["checks_at"]["position"].is_u64(),
        "{position}"
    );
    let snaps = env.ok(&["snapshots", "--json"]).stdout;
    assert!(
        snaps.contains("\\\"driver\\\":\\\"mariabackup\\\""),
        "{snaps}"
    );

    let (t, at_t) = writes_around_a_second(
        &env,
        db,
        "it_phys",
        "INSERT INTO it_phys.orders(customer, amount, created) VALUES ('after-full', 1, NOW(6)); UPDATE it_phys.orders SET note = 'changed' WHERE id = 2;",
        "DELETE FROM it_phys.orders WHERE amount < 100000",
    );

    // Asked for a database, the restore says how a physical full is restored.
    let out = env.expect(2, &["restore-db", "db", "--into", "x"]);
    assert!(out.stderr.contains("--datadir"), "{out}");
    let ((restored, objs), _) = restore_served(&env, "restored-data", &t, |port| {
        (
            fingerprint_at(port, "it_phys"),
            sql_at(port, "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='it_phys' UNION ALL SELECT CONCAT('TRIGGER ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='it_phys' UNION ALL SELECT CONCAT('VIEW ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='it_phys' UNION ALL SELECT CONCAT('EVENT ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA='it_phys' ORDER BY 1"),
        )
    });
    assert_eq!(restored, at_t, "exact at {t}");
    assert_eq!(objs, objects(db, "it_phys"));

    let out = env.ok(&["drill", "db"]);
    assert!(out.stdout.contains("match the backup's figures"), "{out}");
    crate::util::restic(&env, &["check", "--read-data"]);
}

#[test]
fn a_killed_mariabackup_leaves_no_snapshot() {
    if !require_tool("mariabackup") {
        return;
    }
    let Some(db) = MariaDb::shared() else { return };
    let _only_me = db.exclusive();
    rich_schema(db, "it_phys");
    let env = physical_env(db, "[\"it_phys\"]", "");
    let before = fulls(&env);
    let backup = env
        .cmd(&["backup"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let me = backup.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let victim = loop {
        let found = fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            let cmd = fs::read_to_string(e.path().join("cmdline")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .to_string();
            (ppid == me && cmd.starts_with("mariabackup"))
                .then(|| e.file_name().to_string_lossy().parse::<i32>().ok())?
        });
        if let Some(pid) = found {
            break pid;
        }
        assert!(Instant::now() < deadline, "mariabackup never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: a mariabackup child of the backup this test started.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    let out = backup.wait_with_output().unwrap();
    assert!(!out.status.success(), "the backup reports the failure");
    assert_eq!(fulls(&env), before, "no snapshot from a killed mariabackup");
    crate::util::restic(&env, &["check"]);
}

/// The figures are taken on several connections whose snapshots are proven one (equal binlog
/// positions) while commits keep landing; the drill replays to the figures' position and
/// compares, so connections that saw different commits would fail it.
#[test]
fn figures_taken_while_commits_land_match_what_the_drill_restores() {
    if !require_tool("mariabackup") || !require_tool("mbstream") {
        return;
    }
    let Some(db) = MariaDb::shared() else { return };
    let _only_me = db.exclusive();
    db.sql("CREATE DATABASE IF NOT EXISTS it_physload; DROP TABLE IF EXISTS it_physload.t; CREATE TABLE it_physload.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40), at DATETIME(6)) ENGINE=InnoDB; INSERT INTO it_physload.t(v, at) VALUES ('seed', NOW(6));");
    let env = physical_env(db, "[\"it_physload\"]", "");
    let mut archiver = crate::mysql::spawn_archiver(&env);
    // Three client sessions committing single-row inserts back to back, for as long as the
    // backup runs: commits land between any two snapshots not proven one.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let mut writer = Command::new("mariadb")
                .args(["--no-defaults", "-uroot"])
                .arg(format!("--socket={}", db.socket.display()))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut stdin = writer.stdin.take().unwrap();
            let stop = stop.clone();
            let feeder = std::thread::spawn(move || {
                use std::io::Write;
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let line =
                        format!("INSERT INTO it_physload.t(v, at) VALUES ('w{w}-{n}', NOW(6));\n");
                    if stdin.write_all(line.as_bytes()).is_err() {
                        break;
                    }
                    n += 1;
                }
                n
            });
            (writer, feeder)
        })
        .collect();
    let out = env.ok(&["-v", "backup"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent = 0;
    for (mut writer, feeder) in writers {
        sent += feeder.join().unwrap();
        writer.wait().unwrap();
    }
    assert!(out.stdout.contains("db: snapshot"), "{out}");
    assert!(
        out.stderr.contains("connections sharing one snapshot"),
        "the figures were not shared (or this machine has one core): {out}"
    );
    crate::mysql::wait_for_archive(&env, db);
    archiver.kill().unwrap();
    archiver.wait().unwrap();
    let rows: u64 = db
        .sql("SELECT COUNT(*) FROM it_physload.t")
        .parse()
        .unwrap();
    assert!(
        rows > 100,
        "the writer committed while the backup ran ({sent} sent, {rows} rows)"
    );
    let out = env.ok(&["drill", "db"]);
    assert!(out.stdout.contains("match the backup's figures"), "{out}");
}

/// `figures = "drill"`: the backup is the copy alone (no second read of every table); the
/// drill takes the source's figures at that moment, restores the copy, replays the archive up
/// to the figures' point and compares. With no archiver storing that point it fails, saying so.
#[test]
fn figures_taken_by_the_drill_compare_the_copy_and_its_chain_with_the_source() {
    if !require_tool("mariabackup") || !require_tool("mbstream") {
        return;
    }
    let Some(db) = MariaDb::shared() else { return };
    let _only_me = db.exclusive();
    rich_schema(db, "it_physdrill");
    let env = physical_env(db, "[\"it_physdrill\"]", "figures = \"drill\"\n");
    let mut archiver = crate::mysql::spawn_archiver(&env);
    let out = env.ok(&["-v", "backup"]);
    assert!(out.stdout.contains("db: snapshot"), "{out}");
    assert!(
        !out.stderr.contains("table figures on"),
        "figures taken: {out}"
    );
    let full = &fulls(&env)[0];
    let position = crate::util::restic(&env, &["dump", full, "/mysql/db/position.json"]).stdout;
    let p: serde_json::Value = serde_json::from_str(&position).unwrap();
    assert!(
        p["binlog"]["file"].is_string() && p["checks_at"].is_null(),
        "{position}"
    );

    // What the drill compares now differs from the copy: only the replay makes them equal.
    db.sql("INSERT INTO it_physdrill.orders(customer, amount, created) VALUES ('after-full', 7, NOW(6)); UPDATE it_physdrill.orders SET note = 'after' WHERE id = 1; DELETE FROM it_physdrill.orders WHERE id = 2;");
    let out = env.ok(&["drill", "db"]);
    assert!(
        out.stdout
            .contains("match the source's figures taken by this drill"),
        "{out}"
    );

    archiver.kill().unwrap();
    archiver.wait().unwrap();
    db.sql("INSERT INTO it_physdrill.orders(customer, amount, created) VALUES ('unarchived', 8, NOW(6));");
    let out = env.run(&["drill", "db"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("does not reach it") || out.stderr.contains("does not reach it"),
        "{out}"
    );
}

/// Serves a physical restore of "db" to `t` in `dir` (with `-v`), looks at the served server
/// with `look(port)`, stops it, and returns what `look` saw and the restore's log.
fn restore_served<T>(env: &Env, dir: &str, t: &str, look: impl FnOnce(u16) -> T) -> (T, String) {
    let datadir = env.path(dir);
    let out = env.ok(&[
        "-v",
        "--json",
        "restore-db",
        "db",
        "--datadir",
        datadir.to_str().unwrap(),
        "--serve",
        "--until",
        t,
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let port = v["physical"]["port"].as_u64().unwrap() as u16;
    let pid = v["physical"]["pid"].as_u64().unwrap() as i32;
    let seen = look(port);
    // SAFETY: the served server's pid, started by the restore for this test.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    (seen, out.stderr)
}

/// `it_relay`'s tables on a served restore, its replica setup (none expected: the relay replay
/// keeps its replication files out of the data directory) and its GTID slave position.
fn relay_tables(port: u16) -> (Vec<String>, String, String) {
    (
        fingerprint_at(port, "it_relay"),
        sql_at(port, "SHOW SLAVE STATUS"),
        sql_at(port, "SELECT @@GLOBAL.gtid_slave_pos"),
    )
}

#[test]
fn relay_log_replay_restores_what_the_client_replay_restores() {
    if !require_tool("mariabackup") || !require_tool("mbstream") {
        return;
    }
    let Some(db) = MariaDb::shared() else { return };
    let _only_me = db.exclusive();
    rich_schema(db, "it_relay");
    let env = physical_env(db, "[\"it_relay\"]", "");
    env.ok(&["backup"]);
    // Across rotated files, DDL, a statement-logged update and a multi-row transaction; after
    // the second, writes that must not come back.
    let (t, at_t) = writes_around_a_second(
        &env,
        db,
        "it_relay",
        "INSERT INTO it_relay.orders(customer, amount, created) VALUES ('r1', 5, NOW(6));
         FLUSH BINARY LOGS;
         CREATE TABLE it_relay.late (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
         INSERT INTO it_relay.late VALUES (1, 'a'), (2, 'b'), (3, 'c');
         SET SESSION binlog_format = 'STATEMENT';
         UPDATE it_relay.late SET v = CONCAT(v, '!') WHERE id >= 2;
         SET SESSION binlog_format = 'ROW';
         FLUSH BINARY LOGS;
         START TRANSACTION;
         UPDATE it_relay.orders SET note = 'in one transaction' WHERE id <= 3;
         DELETE FROM it_relay.late WHERE id = 1;
         COMMIT;",
        "DROP TABLE it_relay.late; DELETE FROM it_relay.orders WHERE amount < 100000;",
    );
    assert!(
        at_t.iter().any(|l| l.starts_with("late rows=2")),
        "{at_t:?}"
    );
    let ((relay, replica, relay_gtid), log) = restore_served(&env, "by-relay", &t, relay_tables);
    assert!(log.contains("binlogs replayed as relay logs"), "{log}");
    assert_eq!(replica, "", "the served server still has a replica set up");
    assert_eq!(relay, at_t, "relay replay exact at {t}");
    env.set_env("DXBACKUP_BINLOG_APPLY", "client");
    let ((client, _, client_gtid), log) = restore_served(&env, "by-client", &t, relay_tables);
    assert!(
        log.contains("binlogs replayed through mariadb-binlog"),
        "{log}"
    );
    assert_eq!(client, relay, "both replays give the same tables at {t}");
    // The replay leaves the restored server's GTID slave position as the client path does.
    assert_eq!(relay_gtid, client_gtid);
}
