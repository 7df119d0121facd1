//! Restore chains under retention and damage, against the real MariaDB: a keep rule never
//! forgets the binlog parts a kept full needs, and a restore that cannot reach its target is
//! refused with the latest exact time, never "successful" with other data.

use std::fs;

use crate::mysql::{next_second, now_local, rich_schema, spawn_archiver, wait_for_archive};
use crate::services::{MariaDb, USER_PASSWORD};
use crate::util::Env;

fn env_with_retention(db: &MariaDb, name: &str, retention: &str) -> Env {
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    let source = db.source_toml("db", &format!("[\"{name}\"]"), &env.path("dbpw"));
    env.write_sources(&format!("{source}\n[retention]\n{retention}\n"));
    env.ok(&["init"]);
    env
}

/// Binlog snapshots of the repository, as (id, description JSON).
fn binlog_snapshots(env: &Env) -> Vec<(String, serde_json::Value)> {
    let out = env.ok(&["snapshots", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "binlog")
        .map(|s| {
            let d = serde_json::from_str(s["description"].as_str().unwrap()).unwrap();
            (s["id"].as_str().unwrap().to_string(), d)
        })
        .collect()
}

fn insert(db: &MariaDb, table_db: &str, what: &str, n: usize) {
    let rows: Vec<String> = (0..n)
        .map(|i| format!("('{what}{i}', {i}.25, NOW(6))"))
        .collect();
    db.sql(&format!(
        "INSERT INTO {table_db}.orders(customer, amount, created) VALUES {}",
        rows.join(",")
    ));
}

#[test]
fn keep_last_keeps_the_chain_and_restores_stay_exact_or_are_refused() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_chain");
    let env = env_with_retention(db, "it_chain", "keep-last = 2");
    env.ok(&["backup"]);
    let mut archiver = spawn_archiver(&env);
    for batch in 0..3 {
        insert(db, "it_chain", &format!("a{batch}-"), 20);
        wait_for_archive(&env, db);
    }
    // The next full starts in a new binlog file, so the older file's parts are not needed.
    db.sql("FLUSH BINARY LOGS");
    wait_for_archive(&env, db);
    env.ok(&["backup"]);
    insert(db, "it_chain", "b-", 30);
    wait_for_archive(&env, db);
    next_second();
    let t = now_local(db);
    let at_t = db.fingerprint("it_chain");
    next_second();
    insert(db, "it_chain", "late-", 50);
    db.sql("DELETE FROM it_chain.orders WHERE customer LIKE 'bulk%' LIMIT 100");
    wait_for_archive(&env, db);
    env.ok(&["backup"]);
    insert(db, "it_chain", "c-", 10);
    wait_for_archive(&env, db);
    archiver.kill().unwrap();
    archiver.wait().unwrap();
    let parts_before = binlog_snapshots(&env).len();
    assert!(parts_before >= 5, "{parts_before} binlog snapshots");

    let dry = env.ok(&["forget", "--dry-run"]);
    assert!(
        dry.stdout.contains("needed by the chain of full"),
        "the dry run says why binlog parts stay\n{dry}"
    );
    assert!(
        dry.stdout.contains("mysql-full") && dry.stdout.contains("binlog"),
        "{dry}"
    );
    env.ok(&["forget", "--prune"]);
    let parts_after = binlog_snapshots(&env).len();
    assert!(
        parts_after < parts_before,
        "the parts below the oldest kept full go ({parts_before} -> {parts_after})"
    );
    crate::util::restic(&env, &["check"]);

    let out = env.ok(&["restore-db", "db", "--into", "it_chain_at_t", "--until", &t]);
    assert_eq!(db.fingerprint("it_chain_at_t"), at_t, "exact at {t}\n{out}");

    // Past the archive's end: refused, naming the latest exact time, and nothing created.
    let later = db.sql("SELECT DATE_FORMAT(NOW() + INTERVAL 1 HOUR, '%Y-%m-%d %H:%i:%s')");
    let out = env.expect(
        2,
        &[
            "restore-db",
            "db",
            "--into",
            "it_chain_late",
            "--until",
            &later,
        ],
    );
    assert!(
        out.stderr
            .contains("the latest point that can be restored exactly is")
            && out.stderr.contains("dxbackup binlog"),
        "{out}"
    );
    assert_eq!(
        db.sql(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'it_chain_late'"
        ),
        "0",
        "a refused restore creates nothing"
    );

    // A hole (a part forgotten behind our back) is found by verify, status and drill, and a
    // restore across it is refused.
    let parts = binlog_snapshots(&env);
    let (victim, _) = parts
        .iter()
        .find(|(_, d)| d["parts"][0]["offset"].as_u64().unwrap_or(0) > 0)
        .expect("a part in the middle of a file");
    crate::util::restic(&env, &["forget", victim]);
    let out = env.expect(2, &["verify"]);
    assert!(out.stdout.contains("binlog chain is broken"), "{out}");
    let out = env.run(&["status"]);
    assert_eq!(out.code, 2, "a hole is critical\n{out}");
    assert!(out.stdout.contains("cannot be restored"), "{out}");
    let out = env.expect(2, &["drill", "db"]);
    assert!(out.stdout.contains("hole"), "{out}");
    let out = env.expect(
        2,
        &["restore-db", "db", "--into", "it_chain_hole", "--until", &t],
    );
    assert!(out.stderr.contains("missing from the archive"), "{out}");
}
