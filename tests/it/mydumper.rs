//! The mydumper driver against the shared throwaway `mariadbd`: a full through mydumper, then
//! a restore through myloader with binlogs on top, exact to the second, and a drill.

use std::fs;

use crate::mysql::{objects, rich_schema, writes_around_a_second};
use crate::services::{MariaDb, USER_PASSWORD};
use crate::util::{require_tool, Env};

#[test]
fn mydumper_full_restores_with_myloader_to_the_second_and_drills() {
    let Some(db) = MariaDb::shared() else { return };
    if !require_tool("mydumper") || !require_tool("myloader") {
        return;
    }
    let _shared = db.share();
    rich_schema(db, "it_md");
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    let source = db.source_toml("db", "[\"it_md\"]", &env.path("dbpw"));
    env.write_sources(&format!("{source}driver = \"mydumper\"\n"));
    env.ok(&["init"]);
    // A spool left by a killed run goes; this run's own goes after the backup.
    let stale = env.path("state/spool/mydumper-db-killed");
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join("it_md.orders.sql"), "INSERT ...").unwrap();
    let out = env.ok(&["backup"]);
    assert!(out.stdout.contains("db: snapshot"), "{out}");
    let left: Vec<_> = fs::read_dir(env.path("state/spool")).unwrap().collect();
    assert!(left.is_empty(), "spool folders left: {left:?}");
    let manifest = crate::util::manifest_via_restic(&env);
    assert!(
        manifest.contains("\"tool\": \"mydumper\"") && manifest.contains("\"checksum\""),
        "the manifest names the tool and holds the figures: {manifest}"
    );
    let metadata = crate::util::file_via_restic(&env, "/mysql/db/metadata");
    assert!(metadata.contains("SHOW MASTER STATUS"), "{metadata}");
    let at_full = db.fingerprint("it_md");

    let (t, at_t) = writes_around_a_second(
        &env,
        db,
        "it_md",
        "INSERT INTO it_md.orders(customer, amount, created) VALUES ('after-full', 1, NOW(6))",
        "DELETE FROM it_md.orders WHERE amount < 100000",
    );

    let out = env.ok(&["restore-db", "db", "--into", "it_md_at_t", "--until", &t]);
    assert_eq!(db.fingerprint("it_md_at_t"), at_t, "state at {t}\n{out}");
    assert_eq!(objects(db, "it_md_at_t"), objects(db, "it_md"));

    // To the latest archived event: the delete after the noted time replayed too, so the
    // restore is neither the full's state nor the one at the noted time.
    env.ok(&["restore-db", "db", "--into", "it_md_latest"]);
    let latest = db.fingerprint("it_md_latest");
    assert_eq!(latest, db.fingerprint("it_md"));
    assert!(
        latest != at_t && latest != at_full,
        "the delete was replayed"
    );

    // The drill restores the full plus every archived binlog and checks the full's figures.
    let out = env.ok(&["drill"]);
    assert!(out.stdout.contains("drill passed"), "{out}");
}
