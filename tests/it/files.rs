//! Files sources end to end: backup, restore in every mode, history, the main job, a killed
//! backup.

use std::fs;
use std::os::unix::fs::symlink;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{assert_same_tree, data, hash_file, put, Env};

/// A tree with everything a restore must get right.
fn tricky_tree(env: &Env) {
    let s = env.src();
    put(
        &s.join("conf/core.json"),
        br#"{"core":{"transport":{"channel":{"speed":{"byte":-1}}}}}"#,
        0o644,
    );
    put(
        &s.join("job/中文作业_订单.json"),
        br#"{"job":{"setting":{"speed":{"channel":2}}}}"#,
        0o640,
    );
    put(&s.join("job/emoji_🚀_job.json"), b"{}", 0o600);
    put(&s.join("script/run.sh"), b"#!/bin/sh\necho hi\n", 0o755);
    put(&s.join("script/empty.txt"), b"", 0o644);
    put(
        &s.join("plugin/reader/mysqlreader/libs/driver.jar"),
        &data(3 << 20, 7),
        0o644,
    );
    fs::create_dir_all(s.join("hook/empty/deeper")).unwrap();
    symlink("../conf/core.json", s.join("job/core-link.json")).unwrap();
    symlink("/nonexistent/target", s.join("script/dangling")).unwrap();
    put(&s.join("log/skip.hprof"), b"heap", 0o644);
}

#[test]
fn round_trip_is_byte_identical_including_a_300mb_file() {
    let env = Env::new();
    tricky_tree(&env);
    put(
        &env.src().join("dumps/big.sql"),
        &data(300 << 20, 42),
        0o644,
    );
    env.ok(&["init"]);
    let out = env.ok(&["backup"]);
    assert!(out.stdout.contains("files new"), "{out}");
    // The excluded file is not restored; drop it from the source to compare, keeping the
    // folder's mtime as it was at backup time.
    let log_dir = env.src().join("log");
    let mtime = filetime::FileTime::from_last_modification_time(&fs::metadata(&log_dir).unwrap());
    fs::remove_file(log_dir.join("skip.hprof")).unwrap();
    filetime::set_file_mtime(&log_dir, mtime).unwrap();

    let target = env.path("restored");
    let out = env.ok(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert!(out.stdout.contains("0 failed"), "{out}");
    assert_same_tree(&env.src(), &target);
    assert!(
        !target.join(".dxbackup").exists(),
        "the manifest is not part of the restored tree"
    );
}

#[test]
fn main_job_runs_backup_retention_and_verify() {
    let env = Env::new();
    tricky_tree(&env);
    env.write_config("[retention]\nkeep-last = 2\n");
    for i in 0..3 {
        put(
            &env.src().join("job/changing.json"),
            format!("{{\"n\":{i}}}").as_bytes(),
            0o644,
        );
        let out = env.ok(&["run"]);
        assert!(out.stdout.contains("verified structure: ok"), "{out}");
        if i == 0 {
            assert!(out.stdout.contains("main: initialized"), "{out}");
        }
    }
    let snaps: serde_json::Value =
        serde_json::from_str(&env.ok(&["snapshots", "--json"]).stdout).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 2, "keep-last = 2 applied");
    let stats = env.ok(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    assert_eq!(v["summary"]["succeeded"], 3, "{stats}");
    assert!(
        v["runs"][0]["metrics"]["bytes_read"].as_u64().unwrap() > 3 << 20,
        "{stats}"
    );
}

#[test]
fn fast_partial_and_dry_run_restores() {
    let env = Env::new();
    tricky_tree(&env);
    env.ok(&["init"]);
    env.ok(&["backup", "tree"]);

    let fast = env.path("fast");
    let out = env.ok(&[
        "restore",
        "latest",
        "--target",
        fast.to_str().unwrap(),
        "--mode",
        "fast",
    ]);
    assert!(
        out.stdout.contains("core (conf/, job/) usable after"),
        "{out}"
    );
    assert_eq!(
        hash_file(&fast.join("conf/core.json")),
        hash_file(&env.src().join("conf/core.json"))
    );

    let part = env.path("part");
    env.ok(&[
        "restore",
        "latest",
        "--target",
        part.to_str().unwrap(),
        "--only",
        "conf,job/*.json",
    ]);
    assert!(part.join("conf/core.json").is_file());
    assert!(part.join("job/中文作业_订单.json").is_file());
    assert!(!part.join("plugin").exists(), "not selected");

    let dry = env.path("dry");
    let out = env.ok(&[
        "restore",
        "latest",
        "--target",
        dry.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(out.stdout.contains("would restore"), "{out}");
    assert!(!dry.exists(), "a dry run writes nothing");

    let out = env.expect(
        2,
        &[
            "restore",
            "latest",
            "--target",
            part.to_str().unwrap(),
            "--only",
            "nothing/here",
        ],
    );
    assert!(out.stderr.contains("matches nothing"), "{out}");
}

#[test]
fn diff_and_log_show_job_history_with_secrets_masked() {
    let env = Env::new();
    let job = env.src().join("job/orders.json");
    let v1 = r#"{"job":{"setting":{"speed":{"channel":2}},"content":[{"reader":{"name":"mysqlreader","parameter":{"password":"s3cret-one"}}}]}}"#;
    let v2 = v1
        .replace("\"channel\":2", "\"channel\":4")
        .replace("s3cret-one", "s3cret-two");
    put(&job, v1.as_bytes(), 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let first = env.latest_id();
    put(&job, v2.as_bytes(), 0o644);
    put(&env.src().join("job/new.json"), b"{}", 0o644);
    env.ok(&["backup"]);

    let out = env.ok(&["diff", &first[..8], "latest"]);
    assert!(
        out.stdout.contains("job.setting.speed.channel: 2 -> 4"),
        "{out}"
    );
    assert!(out.stdout.contains("+ job/new.json"), "{out}");
    assert!(
        out.stdout.contains("password: \"******\" -> \"******\""),
        "{out}"
    );
    assert!(!out.stdout.contains("s3cret"), "secrets never shown\n{out}");

    let out = env.ok(&["log", "job/orders.json"]);
    assert!(
        out.stdout.contains("new") && out.stdout.contains("changed"),
        "{out}"
    );
    let out = env.ok(&["log", "job/orders.json", "--show", &first[..8]]);
    assert!(out.stdout.contains("\"channel\": 2"), "{out}");
    assert!(!out.stdout.contains("s3cret"), "{out}");
}

#[test]
fn killed_backup_leaves_a_clean_repository_and_the_next_one_succeeds() {
    let env = Env::new();
    for i in 0..6 {
        put(
            &env.src().join(format!("dumps/part{i}.bin")),
            &data(64 << 20, i),
            0o644,
        );
    }
    env.ok(&["init"]);
    let mut child = env
        .cmd(&["backup"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has written some packs, i.e. truly in the middle.
    let data_dir = env.repo().join("data");
    let start = Instant::now();
    while count_files(&data_dir) < 3 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        count_files(&data_dir) >= 3,
        "the backup wrote packs before it was killed"
    );
    assert_eq!(
        env.ok(&["snapshots", "--json"]).stdout.trim(),
        "[]",
        "no snapshot from a killed backup"
    );

    let out = env.ok(&["verify", "--read-data"]);
    assert!(
        out.stdout.contains("note: pack"),
        "leftover packs are explained\n{out}"
    );
    env.ok(&["backup"]);
    let out = env.ok(&["verify", "--read-data"]);
    assert!(
        !out.stdout.contains("not referenced in index"),
        "the next backup indexed the leftovers\n{out}"
    );
    // Exit 1: stats warns that a run was interrupted.
    let stats = env.expect(1, &["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stats.stdout).unwrap();
    let statuses: Vec<_> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["interrupted", "ok"], "{stats}");
}

fn count_files(dir: &std::path::Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

#[test]
fn files_drill_and_status() {
    let env = Env::new();
    tricky_tree(&env);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let out = env.ok(&["drill"]);
    assert!(
        out.stdout.contains("compared each with the repository")
            && out.stdout.contains("drill passed"),
        "{out}"
    );
    // The source is fine; one repository alone breaks the 3-2-1 rule: a warning.
    let out = env.expect(1, &["status"]);
    assert!(
        out.stdout.contains("OK       tree (files, tier critical"),
        "{out}"
    );
    assert!(out.stdout.contains("3-2-1 BROKEN"), "{out}");
}

#[test]
fn discover_lists_the_fixture_databases_with_a_config_snippet() {
    let env = Env::new();
    let home = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/datax-home");
    let out = env.ok(&["discover", home]);
    assert!(
        out.stdout.contains("[source.trade-db]") && out.stdout.contains("shop_oltp"),
        "{out}"
    );
    assert!(
        out.stdout.contains("${srcDb}"),
        "placeholders stay visible\n{out}"
    );
    let jobs = std::fs::read_to_string(format!("{home}/job/mysql2mysql_orders.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&jobs).unwrap();
    let pw = v["job"]["content"][0]["reader"]["parameter"]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!out.stdout.contains(&pw), "passwords never shown\n{out}");
}

#[test]
fn restore_over_existing_files_refuses_unless_told_and_dry_run_lists_them() {
    let env = Env::new();
    tricky_tree(&env);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let target = env.path("live");
    let t = target.to_str().unwrap();
    env.ok(&["restore", "latest", "--target", t]);
    // Again: everything there is identical, so nothing is replaced and nothing refused.
    let out = env.ok(&["restore", "latest", "--target", t]);
    assert!(out.stdout.contains("0 replaced"), "{out}");

    // Today's edit, a file of our own, a restored file deleted.
    let core = target.join("conf/core.json");
    fs::write(&core, "edited today").unwrap();
    fs::write(target.join("mine.txt"), "not in the snapshot").unwrap();
    fs::remove_file(target.join("script/run.sh")).unwrap();
    let out = env.expect(2, &["restore", "latest", "--target", t]);
    assert!(
        out.stderr.contains("would replace 1 existing path(s)")
            && out.stderr.contains("conf/core.json")
            && out.stderr.contains("--overwrite if-changed")
            && out.stderr.contains("--force"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(&core).unwrap(), "edited today");
    assert!(!target.join("script/run.sh").exists(), "nothing written");

    let out = env.ok(&["restore", "latest", "--target", t, "--dry-run"]);
    assert!(
        out.stdout.contains("overwrite   conf/core.json") && out.stdout.contains("would refuse"),
        "{out}"
    );
    let out = env.ok(&["--json", "restore", "latest", "--target", t, "--dry-run"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["plan"]["overwrites"],
        serde_json::json!(["conf/core.json"]),
        "{out}"
    );
    assert_eq!(v["refuses"], true);

    env.ok(&["restore", "latest", "--target", t, "--overwrite", "never"]);
    assert_eq!(fs::read_to_string(&core).unwrap(), "edited today", "kept");
    assert!(
        target.join("script/run.sh").is_file(),
        "the missing one restored"
    );

    let out = env.ok(&[
        "restore",
        "latest",
        "--target",
        t,
        "--overwrite",
        "if-changed",
    ]);
    assert!(out.stdout.contains("1 replaced"), "{out}");
    assert_eq!(
        hash_file(&core),
        hash_file(&env.src().join("conf/core.json"))
    );
    assert!(
        target.join("mine.txt").is_file(),
        "what the snapshot lacks stays"
    );

    fs::write(&core, "edited again").unwrap();
    env.ok(&["restore", "latest", "--target", t, "--force"]);
    assert_eq!(
        hash_file(&core),
        hash_file(&env.src().join("conf/core.json"))
    );
    env.expect(
        2,
        &[
            "restore",
            "latest",
            "--target",
            t,
            "--force",
            "--overwrite",
            "never",
        ],
    );
}

#[test]
fn restore_target_that_is_a_file_is_an_error() {
    let env = Env::new();
    put(&env.src().join("conf/core.json"), b"{}", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let file = env.path("a-file");
    fs::write(&file, "x").unwrap();
    for target in [file.clone(), file.join("below")] {
        let t = target.to_str().unwrap();
        for extra in [&[][..], &["--dry-run"]] {
            let mut args = vec!["restore", "latest", "--target", t];
            args.extend_from_slice(extra);
            let out = env.expect(2, &args);
            assert!(
                out.stderr.contains("is a file, not a folder") && out.stdout.is_empty(),
                "{out}"
            );
        }
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}
