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
    let text = fs::read_to_string(env.config()).unwrap();
    let text = text.replacen(
        "auto-init = true\n",
        "auto-init = true\nprimary = true\n",
        1,
    );
    fs::write(env.config(), text).unwrap();
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
