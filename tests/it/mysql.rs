//! MySQL/MariaDB sources against a real throwaway `mariadbd` (one per test run, binlog on):
//! full backups, point-in-time restores, the binlog archiver under faults, secrets.

use std::fs;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::services::{MariaDb, USER_PASSWORD};
use crate::util::Env;

/// An Env with a mysql source `db` over `dbs` (a TOML value), password in a file.
fn env_for(db: &MariaDb, dbs: &str) -> Env {
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    env.write_sources(&db.source_toml("db", dbs, &env.path("dbpw")));
    env.ok(&["init"]);
    env
}

/// Every kind of column and object a real schema has.
pub(crate) fn rich_schema(db: &MariaDb, name: &str) {
    db.sql(&format!(
        "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4; USE {name};
         CREATE TABLE orders (
           id INT PRIMARY KEY AUTO_INCREMENT,
           customer VARCHAR(100) NOT NULL,
           note TEXT NULL,
           amount DECIMAL(12,4) NOT NULL,
           created DATETIME(6) NOT NULL,
           payload JSON NULL,
           photo BLOB NULL,
           total_cents BIGINT AS (amount * 100) STORED,
           label VARCHAR(120) AS (CONCAT(customer, '#', id)) VIRTUAL
         ) ENGINE=InnoDB;
         CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, order_id INT, at DATETIME(6));
         CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit(order_id, at) VALUES (NEW.id, NEW.created);
         CREATE VIEW big_orders AS SELECT id, customer, amount FROM orders WHERE amount > 100;
         CREATE PROCEDURE add_order(c VARCHAR(100), a DECIMAL(12,4)) INSERT INTO orders(customer, amount, created) VALUES (c, a, NOW(6));
         CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE at < NOW() - INTERVAL 1 YEAR;
         INSERT INTO orders(customer, note, amount, created, payload, photo) VALUES
           ('张三', '订单备注：加急', 123.4567, '2026-11-24 10:00:00.123456', '{{\"tags\": [\"vip\", \"🚀\"]}}', X'00FF10'),
           ('Émilie 😀', NULL, 0.0001, '2026-11-24 11:00:00.000001', NULL, NULL),
           ('O''Brien', 'tab\\there', 99999999.9999, '2026-11-24 12:00:00', '[]', X'');
         CALL add_order('李四', 250.5);"
    ));
    for i in 0..200 {
        db.sql(&format!("INSERT INTO {name}.orders(customer, amount, created) VALUES ('bulk{i}', {i}.5, NOW(6))"));
    }
}

#[test]
fn full_backup_then_restore_gives_identical_checksums_and_objects() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_full");
    let env = env_for(db, "[\"it_full\"]");
    let out = env.ok(&["backup"]);
    assert!(out.stdout.contains("db: snapshot"), "{out}");
    let before = db.fingerprint("it_full");

    let manifest = crate::util::manifest_via_restic(&env);
    assert!(
        manifest.contains("\"tables_file\": \"/mysql/db/tables.json\""),
        "the manifest says where the table figures are: {manifest}"
    );
    let tables = crate::util::file_via_restic(&env, "/mysql/db/tables.json");
    let figures: serde_json::Value = serde_json::from_str(&tables).expect("tables.json is JSON");
    let orders = figures
        .as_array()
        .and_then(|a| a.iter().find(|t| t["table"] == "orders"))
        .unwrap_or_else(|| panic!("orders in the figures: {tables}"));
    assert_eq!(orders["rows"], 204, "{tables}");
    assert!(orders["checksum"].as_u64().is_some(), "{tables}");
    // A stream's size is only known once stored: restic and our own restore get it whole.
    let by_restic = env.path("restic-restore");
    crate::util::restic(
        &env,
        &["restore", "latest", "--target", by_restic.to_str().unwrap()],
    );
    let dump = fs::read_to_string(by_restic.join("mysql/db/dump.sql")).unwrap();
    assert!(
        dump.contains("-- Dump completed"),
        "restic restored {} bytes of the dump",
        dump.len()
    );
    let ours = env.path("dx-restore");
    let id = env.latest_id();
    env.ok(&["restore", &id, "--target", ours.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(ours.join("dump.sql")).unwrap(), dump);

    db.sql("DROP DATABASE it_full");
    let out = env.ok(&["restore-db", "db", "--into", "it_full"]);
    assert!(out.stdout.contains("row counts match"), "{out}");
    assert_eq!(db.fingerprint("it_full"), before);
    assert_eq!(
        objects(db, "it_full"),
        "EVENT nightly\nPROCEDURE add_order\nTRIGGER orders_ai\nVIEW big_orders"
    );
    let cjk = db.sql("SELECT customer, payload FROM it_full.orders WHERE id = 1");
    assert!(cjk.contains("张三") && cjk.contains("🚀"), "{cjk}");

    // Into another name, refusing to overwrite without --force.
    let out = env.expect(2, &["restore-db", "db", "--into", "it_full"]);
    assert!(out.stderr.contains("--force"), "{out}");
    env.ok(&["restore-db", "db", "--into", "it_full_copy"]);
    assert_eq!(db.fingerprint("it_full_copy"), before);
}

/// Sleeps into the next second, so events before and after a noted time differ in second.
pub(crate) fn next_second() {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    std::thread::sleep(
        Duration::from_nanos(u64::from(1_000_000_000 - ns)) + Duration::from_millis(50),
    );
}

/// A point-in-time target with writes on both sides: archives binlogs while `before` runs,
/// notes a second T and `name`'s state at T, runs `after` a second later, waits until the
/// archive holds it all and stops the archiver. Returns T (local time) and the state at T.
pub(crate) fn writes_around_a_second(
    env: &Env,
    db: &MariaDb,
    name: &str,
    before: &str,
    after: &str,
) -> (String, Vec<String>) {
    let mut archiver = spawn_archiver(env);
    db.sql(before);
    next_second();
    let t = now_local(db);
    let at_t = db.fingerprint(name);
    next_second();
    db.sql(after);
    wait_for_archive(env, db);
    archiver.kill().unwrap();
    archiver.wait().unwrap();
    (t, at_t)
}

/// `dxbackup binlog db` in the background.
pub(crate) fn spawn_archiver(env: &Env) -> Child {
    env.cmd(&["binlog", "db"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The routines, triggers, views and events of database `name`, one per line.
pub(crate) fn objects(db: &MariaDb, name: &str) -> String {
    db.sql(&format!(
        "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='{name}'
         UNION ALL SELECT CONCAT('TRIGGER ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='{name}'
         UNION ALL SELECT CONCAT('VIEW ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='{name}'
         UNION ALL SELECT CONCAT('EVENT ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA='{name}' ORDER BY 1"
    ))
}

pub(crate) fn now_local(db: &MariaDb) -> String {
    // The server's clock and zone are the machine's, as for the tools that replay.
    db.sql("SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s')")
}

#[test]
fn point_in_time_restore_is_exact_to_the_second() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_pitr");
    let env = env_for(db, "[\"it_pitr\"]");
    env.ok(&["backup"]);
    let (t, at_t) = writes_around_a_second(
        &env,
        db,
        "it_pitr",
        "INSERT INTO it_pitr.orders(customer, amount, created) VALUES ('after-full', 1, NOW(6)); UPDATE it_pitr.orders SET note = 'changed' WHERE id = 2;",
        "INSERT INTO it_pitr.orders(customer, amount, created) VALUES ('too-late', 2, NOW(6)); DELETE FROM it_pitr.orders WHERE amount < 100000;
         FLUSH BINARY LOGS;
         INSERT INTO it_pitr.audit(order_id) VALUES (-1);",
    );

    let out = env.ok(&["restore-db", "db", "--into", "it_pitr_at_t", "--until", &t]);
    assert!(
        out.stdout.contains("+ mysql-bin."),
        "the chain is printed\n{out}"
    );
    assert_eq!(db.fingerprint("it_pitr_at_t"), at_t, "state at {t}\n{out}");

    // And to the latest archived event: the destructive delete included.
    env.ok(&["restore-db", "db", "--into", "it_pitr_latest"]);
    assert_eq!(db.fingerprint("it_pitr_latest"), db.fingerprint("it_pitr"));
}

/// Waits until the archive holds the server's current binlog position.
pub(crate) fn wait_for_archive(env: &Env, db: &MariaDb) {
    let status = db.sql("SHOW MASTER STATUS");
    let mut it = status.split('\t');
    let (file, pos): (String, u64) = (
        it.next().unwrap().into(),
        it.next().unwrap().parse().unwrap(),
    );
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let out = env.run(&["snapshots", "--json"]);
        if out.code == 0 {
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let reached = v
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s["description"].as_str())
                .any(|d| {
                    let d: serde_json::Value = serde_json::from_str(d).unwrap_or_default();
                    d["parts"].as_array().is_some_and(|ps| {
                        ps.iter().any(|p| {
                            p["file"] == file.as_str()
                                && p["offset"].as_u64().unwrap_or(0)
                                    + p["len"].as_u64().unwrap_or(0)
                                    >= pos
                        })
                    })
                });
            if reached {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("the archiver did not reach {file}:{pos} within 60 s");
}

#[test]
fn killed_archiver_and_restarted_server_under_load_leave_no_gap() {
    let Some(db) = MariaDb::shared() else { return };
    let _only_me = db.exclusive();
    db.sql("DROP DATABASE IF EXISTS it_load; CREATE DATABASE it_load; CREATE TABLE it_load.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(50), at DATETIME(6));");
    let env = env_for(db, "[\"it_load\"]");
    env.ok(&["backup"]);
    let writer = std::thread::spawn({
        let socket = db.socket.clone();
        move || write_load(&socket, Duration::from_secs(8))
    });
    let spool = env.path("state/binlog/db");
    let mut archiver = spawn_archiver(&env);
    wait_for_parts(&env, 1);
    archiver.kill().unwrap(); // SIGKILL
    archiver.wait().unwrap();
    // Its reader dies with it (parent-death signal), so the spool has one writer at a time.
    wait_for(
        || reader_of(&spool).is_none(),
        "the killed archiver's reader is gone",
    );
    let mut archiver = spawn_archiver(&env);
    wait_for(
        || reader_of(&spool).is_some(),
        "the new archiver's reader is connected",
    );
    db.kill();
    std::thread::sleep(Duration::from_millis(500));
    db.spawn();
    writer.join().unwrap();
    db.sql("INSERT INTO it_load.t(v) VALUES ('last')");
    wait_for_archive(&env, db);
    archiver.kill().unwrap();
    archiver.wait().unwrap();

    let out = env.ok(&["restore-db", "db", "--into", "it_load_restored"]);
    assert!(!out.stdout.contains("gap"), "{out}");
    assert_eq!(
        db.fingerprint("it_load_restored"),
        db.fingerprint("it_load"),
        "{out}"
    );
}

/// Waits until the archive holds at least `n` binlog snapshots.
fn wait_for_parts(env: &Env, n: usize) {
    wait_for(
        || {
            let out = env.run(&["snapshots", "--json"]);
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
            v.as_array()
                .map_or(0, |a| a.iter().filter(|s| s["kind"] == "binlog").count())
                >= n
        },
        "binlog parts stored",
    );
}

/// Polls `done` every 200 ms for at most 60 s.
fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The pid of a binlog reader writing into `spool`.
fn reader_of(spool: &std::path::Path) -> Option<i32> {
    let needle = spool.display().to_string();
    processes()
        .into_iter()
        .find(|(_, cmd)| cmd.starts_with("mariadb-binlog") && cmd.contains(&needle))
        .map(|(pid, _)| pid)
}

/// Inserts through one connection until `for_how_long`, reconnecting if the server restarts.
fn write_load(socket: &std::path::Path, for_how_long: Duration) {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < for_how_long {
        let mut sql = String::from("INSERT INTO it_load.t(v, at) VALUES ");
        sql += &(0..50)
            .map(|i| format!("('w{n}-{i}', NOW(6))"))
            .collect::<Vec<_>>()
            .join(",");
        let _ = std::process::Command::new("mariadb")
            .args(["--no-defaults", "-uroot"])
            .arg(format!("--socket={}", socket.display()))
            .arg("-e")
            .arg(&sql)
            .output();
        n += 1;
    }
}

#[test]
fn wrong_password_or_unreachable_server_is_a_clear_error_and_no_snapshot() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    db.sql("CREATE DATABASE IF NOT EXISTS it_err; CREATE TABLE IF NOT EXISTS it_err.t (id INT PRIMARY KEY);");
    let env = env_for(db, "[\"it_err\"]");
    fs::write(env.path("dbpw"), "wrong\n").unwrap();
    let out = env.expect(2, &["backup"]);
    assert!(
        out.stdout.contains("cannot connect") && out.stdout.contains("Access denied"),
        "{out}"
    );
    assert!(
        !out.stdout.contains(USER_PASSWORD) && !out.stderr.contains(USER_PASSWORD),
        "{out}"
    );

    env.write_sources(
        &db.source_toml("db", "[\"it_err\"]", &env.path("dbpw"))
            .replace(&db.port.to_string(), "1"),
    );
    let out = env.expect(2, &["backup"]);
    assert!(
        out.stdout.contains("cannot connect to 127.0.0.1:1"),
        "{out}"
    );
    assert_eq!(env.ok(&["snapshots", "--json"]).stdout.trim(), "[]");
}

#[test]
fn password_never_in_argv_and_a_killed_dump_leaves_no_snapshot() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    db.sql("DROP DATABASE IF EXISTS it_big; CREATE DATABASE it_big; CREATE TABLE it_big.t (id INT PRIMARY KEY AUTO_INCREMENT, v LONGBLOB);");
    // About 80 MB of hex of random bytes: a dump long enough to be watched and cut.
    db.sql("SET SESSION max_recursive_iterations = 100000; INSERT INTO it_big.t(v) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) SELECT CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024)) FROM s");
    let env = env_for(db, "[\"it_big\"]");
    let mut child = env
        .cmd(&["backup"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut killed = false;
    while !killed && child.try_wait().unwrap().is_none() {
        for (pid, cmdline) in processes() {
            assert!(
                !cmdline.contains(USER_PASSWORD),
                "password in argv of pid {pid}: {cmdline}"
            );
            // Cut the dump short once a megabyte of it went down the pipe (its header is a few
            // KB): the backup must fail and keep no snapshot.
            if cmdline.starts_with("mariadb-dump") && written(pid) > 1 << 20 {
                // SAFETY: kill(2) has no memory preconditions; the pid was just read.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                killed = true;
            }
        }
    }
    assert!(killed, "saw the dump streaming and cut it");
    let out = crate::util::Out::of(child.wait_with_output().unwrap(), &["backup"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stdout
            .contains("dump of `db` failed; its snapshot was removed"),
        "{out}"
    );
    assert_eq!(
        env.ok(&["snapshots", "--json"]).stdout.trim(),
        "[]",
        "no snapshot from a failed dump"
    );
    let stats = env.run(&["stats", "--json"]);
    assert!(
        stats.stdout.contains("\"failed\"") && stats.stdout.contains("mariadb-dump"),
        "{stats}"
    );
}

/// Bytes a process has written so far (`wchar` of /proc/PID/io).
fn written(pid: i32) -> u64 {
    let io = fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn processes() -> Vec<(i32, String)> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let raw = fs::read(e.path().join("cmdline")).ok()?;
            Some((
                pid,
                String::from_utf8_lossy(&raw)
                    .replace('\0', " ")
                    .trim()
                    .to_string(),
            ))
        })
        .collect()
}

#[test]
fn drill_proves_the_backup_and_status_reports_rpo_and_rto() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_drill");
    let env = env_for(db, "[\"it_drill\"]");
    let out = env.expect(2, &["status"]);
    assert!(
        out.stdout.contains("CRITICAL") && out.stdout.contains("no backup yet"),
        "{out}"
    );
    env.ok(&["backup"]);
    let out = env.expect(1, &["status"]);
    assert!(out.stdout.contains("never drilled"), "{out}");

    let out = env.ok(&["drill"]);
    assert!(
        out.stdout.contains("match the manifest") && out.stdout.contains("drill passed"),
        "{out}"
    );
    // This drill's scratch databases only: other tests drill the shared server meanwhile.
    let leftovers = db.sql(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'dxb_drill_%_it_drill'",
    );
    assert_eq!(leftovers, "0", "the scratch database is dropped");
    // Exit 1: a single repository breaks the 3-2-1 rule; the source itself is ok.
    let out = env.expect(1, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["sources"][0]["level"], "ok", "{out}");
    assert!(v["sources"][0]["last_drill"]["ok"].as_bool().unwrap());

    // A backup that restores nothing is a failed drill, not a passed one.
    db.sql("DROP DATABASE IF EXISTS it_drill_empty; CREATE DATABASE it_drill_empty;");
    let empty = env_for(db, "[\"it_drill_empty\"]");
    empty.ok(&["backup"]);
    let out = empty.expect(2, &["drill"]);
    assert!(
        out.stdout.contains("nothing was restored") && out.stdout.contains("drill FAILED"),
        "{out}"
    );
    let out = empty.expect(2, &["status"]);
    assert!(out.stdout.contains("the last drill FAILED"), "{out}");
}

/// SIGTERM, outages, progress lines and `status` findings of the archiver.
mod archiver;
