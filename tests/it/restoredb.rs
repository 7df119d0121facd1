//! `restore-db` says what it does: the privileges it needs are checked before anything is
//! written, a restore that fails midway drops the database it created, and names that would
//! not survive SQL or the binlog tool's `--rewrite-db` are refused.

use std::fs;

use crate::mysql::rich_schema;
use crate::services::{MariaDb, USER, USER_PASSWORD};
use crate::util::Env;

fn schema_exists(db: &MariaDb, name: &str) -> bool {
    db.sql(&format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
    )) == "1"
}

#[test]
fn restore_db_checks_privileges_first_and_leaves_nothing_half_written() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    rich_schema(db, "it_priv");
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    fs::write(env.path("limitedpw"), "Limited-pw-1\n").unwrap();
    let source = db.source_toml("db", "[\"it_priv\"]", &env.path("dbpw"));
    env.write_sources(&format!(
        "{source}\n[source.tree]\nkind = \"files\"\nroot = \"src\"\n"
    ));
    env.ok(&["init"]);
    env.ok(&["backup"]);

    // A names check before anything else.
    let out = env.expect(
        2,
        &[
            "restore-db",
            "db",
            "--into",
            "bad name; DROP DATABASE it_priv",
        ],
    );
    assert!(out.stderr.contains("not a usable database name"), "{out}");
    assert!(schema_exists(db, "it_priv"));
    let out = env.expect(2, &["restore-db", "tree", "--into", "x"]);
    assert!(out.stderr.contains("not a mysql source"), "{out}");

    // The same source restored by a user with rights on the target database only.
    db.sql(
        "DROP USER IF EXISTS 'it_limited'@'%'; CREATE USER 'it_limited'@'%' IDENTIFIED BY 'Limited-pw-1';
         GRANT ALL ON `it\\_lim\\_%`.* TO 'it_limited'@'%';",
    );
    let limited = source
        .replace(&format!("user = \"{USER}\""), "user = \"it_limited\"")
        .replace(
            env.path("dbpw").to_str().unwrap(),
            env.path("limitedpw").to_str().unwrap(),
        );
    assert_ne!(limited, source);
    env.write_sources(&limited);
    let out = env.expect(2, &["restore-db", "db", "--into", "it_lim_a"]);
    assert!(
        out.stderr.contains("lacks what this restore needs") && out.stderr.contains("sql_log_bin"),
        "{out}"
    );
    assert!(
        !out.stderr.contains("`it_lim_a`.*"),
        "its database grants are enough\n{out}"
    );
    assert!(
        !schema_exists(db, "it_lim_a"),
        "checked before anything was created"
    );

    // With the session rights too, the restore starts, then fails on the dump's objects whose
    // DEFINER is another user (that needs SET USER): the database it created is dropped.
    db.sql("GRANT BINLOG ADMIN, BINLOG REPLAY ON *.* TO 'it_limited'@'%'");
    let out = env.expect(2, &["restore-db", "db", "--into", "it_lim_b"]);
    assert!(
        out.stderr.contains("was dropped, nothing is left behind"),
        "{out}"
    );
    assert!(
        !schema_exists(db, "it_lim_b"),
        "a failed restore drops what it created\n{out}"
    );
    db.sql("DROP USER 'it_limited'@'%'");
}

/// mariadb-binlog prints all row events of one statement as one `BINLOG '...'` statement: a
/// transaction of 24 MB of rows replays as one 32 MB packet, past the 16 MiB default of
/// `max_allowed_packet` (the bench's SF 1 DELETE of 120,000 lineitems died on "Server has gone
/// away"). The replay raises the limit for its session and puts it back.
#[test]
fn point_in_time_restore_replays_a_transaction_bigger_than_max_allowed_packet() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    db.sql(
        "DROP DATABASE IF EXISTS it_bigtx; CREATE DATABASE it_bigtx;
         CREATE TABLE it_bigtx.blobs (id INT PRIMARY KEY, pad LONGBLOB) ENGINE=InnoDB;
         INSERT INTO it_bigtx.blobs VALUES (0, 'before the full');",
    );
    let before = db.sql("SELECT @@GLOBAL.max_allowed_packet");
    assert!(before.parse::<u64>().unwrap() < 24 << 20, "{before}");
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    env.write_sources(&db.source_toml("db", "[\"it_bigtx\"]", &env.path("dbpw")));
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let (t, at_t) = crate::mysql::writes_around_a_second(
        &env,
        db,
        "it_bigtx",
        "INSERT INTO it_bigtx.blobs SELECT seq, REPEAT(CHAR(65 + seq % 26), 1048576) FROM it_bigtx.seq_1_to_24;",
        "DELETE FROM it_bigtx.blobs WHERE id > 12",
    );
    let out = env.ok(&["restore-db", "db", "--into", "it_bigtx_at_t", "--until", &t]);
    assert_eq!(db.fingerprint("it_bigtx_at_t"), at_t, "state at {t}\n{out}");
    assert_eq!(
        db.sql("SELECT @@GLOBAL.max_allowed_packet"),
        before,
        "put back"
    );
    db.sql("DROP DATABASE it_bigtx; DROP DATABASE it_bigtx_at_t");
}
