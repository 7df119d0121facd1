//! Parallel logical restores (`restore-db --jobs N`) against the shared throwaway `mariadbd`:
//! the same tables, rows and objects as the one-session restore, to the full and to a point
//! in time, and a session that fails stops the restore and leaves nothing behind.

use std::fs;

use crate::mysql::{objects, rich_schema, writes_around_a_second};
use crate::services::{MariaDb, USER_PASSWORD};
use crate::util::Env;

fn env_for(db: &MariaDb, dbs: &str) -> Env {
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    env.write_sources(&db.source_toml("db", dbs, &env.path("dbpw")));
    env.ok(&["init"]);
    env
}

/// A table of about 14 MB: several chunks of statements, loaded on different sessions.
fn bulk_table(db: &MariaDb, name: &str, table: &str) {
    db.sql(&format!(
        "CREATE TABLE {name}.{table} (id INT PRIMARY KEY, pad TEXT, b BLOB) ENGINE=InnoDB;
         SET SESSION max_recursive_iterations = 100000;
         INSERT INTO {name}.{table} WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 12000)
           SELECT n, REPEAT(CONCAT('行;', n, '''\\n'), 60), RANDOM_BYTES(200) FROM s;"
    ));
}

fn restore_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json", "restore-db", "db"];
    all.extend_from_slice(args);
    let out = env.ok(&all);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn parallel_restore_equals_the_single_session_one_to_the_full_and_to_a_second() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_par");
    bulk_table(db, "it_par", "bulk");
    let env = env_for(db, "[\"it_par\"]");
    env.ok(&["backup"]);
    let at_full = db.fingerprint("it_par");

    let one = restore_json(&env, &["--into", "it_par_one", "--jobs", "1"]);
    let three = restore_json(&env, &["--into", "it_par_three", "--jobs", "3"]);
    assert_eq!(one["connections"], 1, "{one}");
    assert_eq!(three["connections"], 3, "{three}");
    assert_eq!(three["row_counts_checked"], true, "{three}");
    assert_eq!(db.fingerprint("it_par_one"), at_full);
    assert_eq!(db.fingerprint("it_par_three"), at_full);
    assert_eq!(objects(db, "it_par_three"), objects(db, "it_par"));
    let cjk = db.sql("SELECT customer, payload FROM it_par_three.orders WHERE id = 1");
    assert!(cjk.contains("张三") && cjk.contains("🚀"), "{cjk}");

    // With binlogs on top, to a second: the trigger fired on the source, not again here.
    let (t, at_t) = writes_around_a_second(
        &env,
        db,
        "it_par",
        "INSERT INTO it_par.orders(customer, amount, created) VALUES ('after-full 😀', 7, NOW(6)); UPDATE it_par.bulk SET pad = 'changed;' WHERE id % 7 = 0;",
        "DELETE FROM it_par.bulk WHERE id > 100; DELETE FROM it_par.audit;",
    );

    for jobs in ["1", "3"] {
        let into = format!("it_par_at_t_{jobs}");
        let out = restore_json(&env, &["--into", &into, "--until", &t, "--jobs", jobs]);
        assert_eq!(db.fingerprint(&into), at_t, "--jobs {jobs} at {t}\n{out}");
        assert_eq!(objects(db, &into), objects(db, "it_par"));
    }
}

#[test]
fn a_failing_loading_session_fails_the_restore_and_leaves_nothing() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    // A row its own table's CHECK refuses: added while the checks were off on the source, it
    // fails the load of `zz_bad`, while other sessions are loading `a_bulk`.
    db.sql(
        "DROP DATABASE IF EXISTS it_parfail; CREATE DATABASE it_parfail CHARACTER SET utf8mb4;
         CREATE TABLE it_parfail.zz_bad (id INT PRIMARY KEY, v INT);
         INSERT INTO it_parfail.zz_bad VALUES (1, -1);
         SET SESSION check_constraint_checks = 0;
         ALTER TABLE it_parfail.zz_bad ADD CONSTRAINT positive CHECK (v > 0);",
    );
    bulk_table(db, "it_parfail", "a_bulk");
    let env = env_for(db, "[\"it_parfail\"]");
    env.ok(&["backup"]);

    let out = env.expect(
        2,
        &["restore-db", "db", "--into", "it_parfail_x", "--jobs", "3"],
    );
    assert!(
        out.stderr.contains("CONSTRAINT `positive` failed")
            && out.stderr.contains("loading session")
            && out.stderr.contains("zz_bad"),
        "the failing session's own error\n{out}"
    );
    assert!(
        out.stderr.contains("was dropped, nothing is left behind"),
        "{out}"
    );
    let left = db
        .sql("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'it_parfail_x'");
    assert_eq!(left, "0", "{out}");
    // The one-session restore fails on the same row.
    let out = env.expect(
        2,
        &["restore-db", "db", "--into", "it_parfail_y", "--jobs", "1"],
    );
    assert!(out.stderr.contains("CONSTRAINT `positive` failed"), "{out}");
}
