//! `dxbackup recover` on a "fresh machine": a new HOME and state directory, no config file,
//! only the S3 copy's URL, password and keys. The dry run prints a plan with an estimate and
//! writes nothing; the recovery brings the DataX home back byte-identical and the database
//! exact at `--until` (it was dropped on the source first: the data is gone), records its
//! times in the repository, and writes a config for the new host without a secret in it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::mysql::{objects, rich_schema, writes_around_a_second};
use crate::services::{MariaDb, S3, S3_SECRET, USER_PASSWORD};
use crate::util::{assert_same_tree, Env, Out, PASSWORD};

const BUCKET: &str = "dr-offsite";

/// The first repository of the config (the local one) is the primary; the S3 one gets copies.
fn local_is_primary(env: &Env) {
    let text = fs::read_to_string(env.config()).unwrap();
    let text = text.replacen(
        "auto-init = true\n",
        "auto-init = true\nprimary = true\n",
        1,
    );
    fs::write(env.config(), text).unwrap();
}

/// dxbackup with nothing of the old machine: own HOME, own state, no config.
fn fresh(home: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_dxbackup"))
        .arg("--state-dir")
        .arg(home.join("state"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(std::env::var("TZ").ok().map(|v| ("TZ", v)))
        .current_dir(home)
        .output()
        .expect("spawn dxbackup");
    Out::of(out, args)
}

#[test]
fn recover_from_the_s3_copy_alone_brings_back_the_datax_home_and_the_database_at_a_second() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    let Some(s3) = S3::start() else { return };
    s3.create_bucket(BUCKET);

    // The old machine: a DataX home and a database, backed up, drilled, copied off-site.
    rich_schema(db, "it_rec");
    let env = Env::new();
    let home_src = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/datax-home");
    let st = Command::new("cp")
        .args(["-a", &format!("{home_src}/."), env.src().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    // DataX's run logs are excluded by default: the tree compared is what is backed up.
    fs::remove_dir_all(env.src().join("log")).unwrap();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    S3::write_key_file(&env.path("s3-keys"));
    let repos = s3.repo_toml(
        "dr",
        BUCKET,
        "dxbackup/etl-01",
        &s3.endpoint(),
        &env.path("s3-keys"),
    );
    env.write_sources(&format!(
        "[source.datax]\nkind = \"files\"\nroot = \"src\"\ntier = \"important\"\n\n{}{repos}",
        db.source_toml("db", "[\"it_rec\"]", &env.path("dbpw"))
    ));
    local_is_primary(&env);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    env.ok(&["drill", "db"]);
    let (t, at_t) = writes_around_a_second(
        &env,
        db,
        "it_rec",
        "INSERT INTO it_rec.orders(customer, amount, created) VALUES ('after-full 灾备', 3, NOW(6)); UPDATE it_rec.orders SET note = 'at T' WHERE id = 1;",
        "DELETE FROM it_rec.orders WHERE id > 2",
    );
    let objs = objects(db, "it_rec");
    env.ok(&["copy"]);

    // The new machine has the password, the keys and the URL.
    let new = tempfile::tempdir().unwrap();
    let n = new.path();
    fs::write(n.join("pw"), format!("{PASSWORD}\n")).unwrap();
    S3::write_key_file(&n.join("keys"));
    fs::write(n.join("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    let url = format!("s3://{BUCKET}/dxbackup/etl-01");
    let endpoint = s3.endpoint();
    let port = db.port.to_string();
    let into = format!("127.0.0.1:{port}");
    let datax = n.join("opt-datax");
    let base = [
        "recover",
        "--from",
        &url,
        "--endpoint",
        &endpoint,
        "--password-file",
        "pw",
        "--access-key-file",
        "keys",
        "--until",
        &t,
        "--datax-home",
        datax.to_str().unwrap(),
        "--into-server",
        &into,
        "--mysql-password-file",
        "dbpw",
    ];
    let listing = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };

    let before = listing(n);
    let mut dry = base.to_vec();
    dry.extend(["--dry-run", "--write-config", "new.toml"]);
    let out = fresh(n, &dry);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("datax") && out.stdout.contains("db [critical tier"),
        "{out}"
    );
    assert!(
        out.stdout.contains("from the drill of"),
        "the estimate comes from the drill recorded in the repository\n{out}"
    );
    assert!(out.stdout.contains("binlog file(s)"), "{out}");
    assert_eq!(listing(n), before, "a dry run writes nothing\n{out}");

    // The disaster: the database is gone.
    db.sql("DROP DATABASE it_rec");
    let mut real = vec!["--json"];
    real.extend(base);
    real.extend(["--write-config", "new.toml"]);
    let out = fresh(n, &real);
    assert_eq!(out.code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["outcome"]["ok"], true, "{v}");
    assert_eq!(v["outcome"]["rto_recorded"], true, "{v}");
    for r in v["outcome"]["results"].as_array().unwrap() {
        assert!(r["usable_after_secs"].as_f64().is_some(), "{r}");
        assert_eq!(r["within_rto"], true, "{r}");
    }
    assert_same_tree(&env.src(), &datax);
    assert_eq!(db.fingerprint("it_rec"), at_t, "exact at {t}");
    assert_eq!(objects(db, "it_rec"), objs);

    let config = fs::read_to_string(n.join("new.toml")).unwrap();
    let mode = fs::metadata(n.join("new.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(config.contains(datax.to_str().unwrap()), "{config}");
    for secret in [PASSWORD, USER_PASSWORD, S3_SECRET] {
        assert!(!config.contains(secret), "secret in the written config");
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    }

    // The next plan estimates from this recovery.
    let mut again = base.to_vec();
    again.push("--dry-run");
    let out = fresh(n, &again);
    assert!(out.stdout.contains("from the recover of"), "{out}");
}

/// The fast way back (issue 12's 60-s bar): a physical full + binlogs, recovered from the S3
/// copy alone into a new data directory and served, exact at the chosen second; `--json` says
/// where the served server listens.
#[test]
fn recover_of_a_physical_full_from_the_s3_copy_serves_the_server_exact_at_a_second() {
    if !crate::util::require_tool("mariabackup") || !crate::util::require_tool("mbstream") {
        return;
    }
    let Some(db) = MariaDb::shared() else { return };
    // mariabackup copies the whole server: no other test's DDL in the middle of it.
    let _only_me = db.exclusive();
    let Some(s3) = S3::start() else { return };
    s3.create_bucket(BUCKET);
    rich_schema(db, "it_recp");
    let env = Env::new();
    fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
    S3::write_key_file(&env.path("s3-keys"));
    let repos = s3.repo_toml(
        "dr",
        BUCKET,
        "dxbackup/etl-phys",
        &s3.endpoint(),
        &env.path("s3-keys"),
    );
    let source = db.source_toml("db", "[\"it_recp\"]", &env.path("dbpw"));
    env.write_sources(&format!(
        "{source}driver = \"mariabackup\"\nbinlog = true\n{repos}"
    ));
    local_is_primary(&env);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let (t, at_t) = writes_around_a_second(
        &env,
        db,
        "it_recp",
        "INSERT INTO it_recp.orders(customer, amount, created) VALUES ('after-full', 5, NOW(6)); UPDATE it_recp.orders SET note = 'at T' WHERE id = 3;",
        "DELETE FROM it_recp.orders WHERE id > 1",
    );
    let objs = objects(db, "it_recp");
    env.ok(&["copy"]);

    let new = tempfile::tempdir().unwrap();
    let n = new.path();
    fs::write(n.join("pw"), format!("{PASSWORD}\n")).unwrap();
    S3::write_key_file(&n.join("keys"));
    let datadir = n.join("mysql-data");
    let out = fresh(
        n,
        &[
            "--json",
            "recover",
            "--from",
            &format!("s3://{BUCKET}/dxbackup/etl-phys"),
            "--endpoint",
            &s3.endpoint(),
            "--password-file",
            "pw",
            "--access-key-file",
            "keys",
            "--until",
            &t,
            "--mysql-datadir",
            datadir.to_str().unwrap(),
            "--serve",
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["outcome"]["ok"], true, "{v}");
    let served = &v["outcome"]["results"][0]["physical"];
    let port = served["port"].as_u64().expect("the served port in --json") as u16;
    let pid = served["pid"].as_u64().expect("the served pid in --json") as i32;
    let restored = crate::physical::fingerprint_at(port, "it_recp");
    let restored_objs = crate::physical::sql_at(port, "SELECT CONCAT(ROUTINE_TYPE, ' ', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='it_recp' UNION ALL SELECT CONCAT('TRIGGER ', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='it_recp' UNION ALL SELECT CONCAT('VIEW ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='it_recp' UNION ALL SELECT CONCAT('EVENT ', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA='it_recp' ORDER BY 1");
    // SAFETY: the served server's pid, started by the recover for this test.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(restored, at_t, "exact at {t}");
    assert_eq!(restored_objs, objs);
    assert!(
        datadir.join("it_recp").is_dir(),
        "served from {}",
        datadir.display()
    );
}
