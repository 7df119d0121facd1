//! 3-2-1 targets against real servers: an SFTP target on a real sshd and an S3 target on
//! moto's S3 server. Copies must be complete, idempotent, readable by restic, survive a dead
//! network, and leave no `ssh` process behind.

use std::process::Command;
use std::time::Duration;

use crate::services::{ssh_processes, Sshd, S3};
use crate::util::{assert_same_tree, data, put, require_tool, Env, Out};

mod faults;

const BUCKET: &str = "dx-offsite";

fn json(out: &Out) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

/// The snapshots of a repository by time: a copy gets a new id (restic's `copy` does the
/// same), so the time tells a snapshot and its copies apart from the others.
fn ids(env: &Env, repo: &str) -> Vec<String> {
    let out = env.ok(&["snapshots", "--repo", repo, "--json"]);
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["time"].as_str().unwrap().to_string())
        .collect()
}

/// A source tree with a bit of everything; `big` adds enough incompressible data for a copy
/// to take a while.
fn fill_source(env: &Env, big: usize) {
    let s = env.src();
    put(&s.join("conf/core.json"), b"{\"core\":{}}", 0o644);
    put(
        &s.join("job/orders.json"),
        b"{\"job\":{\"content\":[]}}",
        0o600,
    );
    put(&s.join("plugin/libs/driver.jar"), &data(3 << 20, 7), 0o644);
    if big > 0 {
        let mut v = Vec::with_capacity(big);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        while v.len() < big {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&x.to_le_bytes());
        }
        put(&s.join("plugin/libs/big.bin"), &v, 0o644);
    }
}

/// Runs restic on a target, requiring success.
fn restic(args: &[String], env: &Env, extra_env: &[(&str, String)], cmd: &[&str]) -> Out {
    let mut c = Command::new("restic");
    c.args(args)
        .args(cmd)
        .env("RESTIC_PASSWORD_FILE", env.path("pw"))
        .env("RESTIC_CACHE_DIR", env.path("restic-cache"));
    for (k, v) in extra_env {
        c.env(k, v);
    }
    let out = Out::of(c.output().expect("spawn restic"), cmd);
    assert_eq!(out.code, 0, "restic failed\n{out}");
    out
}

fn s3_env(s3: &S3) -> Vec<(&'static str, String)> {
    let _ = s3;
    vec![
        ("AWS_ACCESS_KEY_ID", crate::services::S3_KEY_ID.to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            crate::services::S3_SECRET.to_string(),
        ),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
    ]
}

/// The default config (`main` primary) plus `repos` TOML.
fn config_with(env: &Env, repos: &str) {
    env.write_config(repos);
    let text = std::fs::read_to_string(env.config()).unwrap();
    let text = text.replacen(
        "auto-init = true\n",
        "auto-init = true\nprimary = true\n",
        1,
    );
    std::fs::write(env.config(), text).unwrap();
}

/// dxbackup runs the test's `ssh` wrapper, which knows the test server's host key.
fn use_ssh_of(env: &Env, sshd: &Sshd) {
    let path = std::env::var("PATH").unwrap_or_default();
    env.set_env("PATH", &format!("{}:{path}", sshd.bin_dir().display()));
}

/// Primary on local disk, `nas` on the sshd, `cloud` on moto (through `endpoint`).
fn three_targets(env: &Env, sshd: &Sshd, s3: &S3, endpoint: &str) {
    S3::write_key_file(&env.path("s3-keys"));
    let mut repos = sshd.repo_toml("nas", &env.path("nas-repo"), "");
    repos += &s3.repo_toml("cloud", BUCKET, "dx/prod", endpoint, &env.path("s3-keys"));
    config_with(env, &repos);
    use_ssh_of(env, sshd);
}

fn services() -> Option<(Sshd, S3)> {
    if !require_tool("restic") {
        return None;
    }
    let sshd = Sshd::start()?;
    let s3 = S3::start()?;
    s3.create_bucket(BUCKET);
    Some((sshd, s3))
}

#[test]
fn run_copies_to_sftp_and_s3_and_restic_reads_every_copy() {
    let Some((sshd, s3)) = services() else { return };
    let env = Env::new();
    fill_source(&env, 0);
    three_targets(&env, &sshd, &s3, &s3.endpoint());
    // The off-site bucket keeps only the newest snapshot: retention and prune run there too.
    let text = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        text + "\n[repository.cloud.retention]\nkeep-last = 1\n",
    )
    .unwrap();

    let out = env.ok(&["run"]);
    for t in ["nas", "cloud"] {
        assert!(
            out.stdout
                .contains(&format!("{t}: copied 1 snapshot from main")),
            "{out}"
        );
    }
    assert!(out.stdout.contains("MB/s"), "{out}");
    let primary = ids(&env, "main");
    assert_eq!(ids(&env, "nas"), primary);
    assert_eq!(ids(&env, "cloud"), primary);

    // Idempotent: a second copy sends nothing.
    let out = env.ok(&["--json", "copy"]);
    for c in json(&out).as_array().unwrap() {
        assert_eq!(c["copied"].as_array().unwrap().len(), 0, "{out}");
        assert_eq!(c["present"], 1, "{out}");
    }

    // A second run: one new snapshot each; the second copy reuses the first one's data.
    put(&env.src().join("job/new.json"), b"{\"job\":2}", 0o644);
    let out = env.ok(&["--json", "run"]);
    let v = json(&out);
    let pruned = &v["target_retention"];
    assert!(
        pruned
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["repository"] == "cloud"
                && r["decisions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["keep"] == false)),
        "{out}"
    );
    assert_eq!(ids(&env, "nas").len(), 2);
    assert_eq!(ids(&env, "cloud"), ids(&env, "main")[1..].to_vec());
    for c in v["copies"].as_array().unwrap() {
        assert_eq!(c["copied"].as_array().unwrap().len(), 1, "{out}");
        let bytes = c["bytes"].as_u64().unwrap();
        assert!(bytes > 0, "the copy counts what it sent\n{out}");
        assert!(bytes < 1 << 20, "dedup across copies\n{out}");
        eprintln!(
            "copy to {}: {} bytes, {:.2} MB/s",
            c["repository"], c["bytes"], c["mb_per_s"]
        );
    }

    // Restore from each target with dxbackup...
    for t in ["nas", "cloud"] {
        let dest = env.path(&format!("restore-{t}"));
        env.ok(&[
            "restore",
            "latest",
            "--repo",
            t,
            "--target",
            dest.to_str().unwrap(),
        ]);
        assert_same_tree(&env.src(), &dest);
    }
    // ...and with restic, which also reads every byte of both copies.
    let root = std::fs::canonicalize(env.src()).unwrap();
    let root = root.strip_prefix("/").unwrap();
    let nas = sshd.restic_args(&env.path("nas-repo"));
    let cloud = vec!["-r".to_string(), s3.restic_repo(BUCKET, "dx/prod")];
    for (name, args, extra, n) in [("nas", &nas, vec![], 2), ("cloud", &cloud, s3_env(&s3), 1)] {
        let out = restic(args, &env, &extra, &["snapshots", "--json"]);
        assert_eq!(json(&out).as_array().unwrap().len(), n, "{name}: {out}");
        restic(args, &env, &extra, &["check", "--read-data"]);
        let dest = env.path(&format!("restic-{name}"));
        restic(
            args,
            &env,
            &extra,
            &["restore", "latest", "--target", dest.to_str().unwrap()],
        );
        assert_same_tree(&env.src(), &dest.join(root));
    }

    // Both copies fresh, verified and on three media, one off-site: the rule holds (and the
    // source, drilled, is within its tier; the drill's RTO record, not yet copied, is no
    // backup a target lacks).
    for t in ["nas", "cloud"] {
        env.ok(&["verify", "--repo", t]);
    }
    env.ok(&["drill"]);
    let out = env.ok(&["status"]);
    assert!(out.stdout.contains("3-2-1 holds: 4 copies"), "{out}");
    assert!(out.stdout.contains("off-site: cloud"), "{out}");
    let v = json(&env.ok(&["--json", "status"]));
    let repos = v["targets"]["repositories"].as_array().unwrap();
    for r in repos.iter().filter(|r| r["primary"] == false) {
        assert_eq!(r["behind"], 0, "{v}");
        assert!(r["last_copy"].is_string(), "{v}");
    }
    let main = repos.iter().find(|r| r["name"] == "main").unwrap();
    assert!(main["space"]["free"].as_u64().unwrap() > 0, "{v}");

    // No secret in any output: config check, status, the stored config.
    let check = env.ok(&["config", "check"]);
    for out in [&check, &out] {
        for secret in [crate::services::S3_SECRET, crate::util::PASSWORD] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{out}"
            );
        }
    }
    assert!(ssh_processes(&sshd.client_key().to_string_lossy()).is_empty());
}

#[test]
fn no_ssh_process_outlives_dxbackup() {
    if !require_tool("restic") {
        return;
    }
    let Some(sshd) = Sshd::start() else { return };
    let env = Env::new();
    fill_source(&env, 0);
    config_with(&env, &sshd.repo_toml("nas", &env.path("nas-repo"), ""));
    use_ssh_of(&env, &sshd);
    let key = sshd.client_key().to_string_lossy().into_owned();
    for i in 0..10 {
        put(&env.src().join(format!("job/{i}.json")), b"{}", 0o644);
        env.ok(&["run"]);
        let left = ssh_processes(&key);
        assert!(left.is_empty(), "after run {i}: {left:#?}");
    }
    for args in [
        &["status"][..],
        &["snapshots", "--repo", "nas"],
        &["verify", "--repo", "nas"],
    ] {
        env.run(args);
        let left = ssh_processes(&key);
        assert!(left.is_empty(), "after {args:?}: {left:#?}");
    }
    assert_eq!(ids(&env, "nas").len(), 10);
}

#[test]
fn each_target_keeps_its_own_retention_and_status_judges_it() {
    let env = Env::new();
    fill_source(&env, 0);
    let nas = env.path("short-repo");
    config_with(
        &env,
        &format!(
            "\n[repository.short]\nurl = \"{}\"\npassword-file = \"pw\"\nmedium = \"nas\"\nauto-init = true\n[repository.short.retention]\nkeep-last = 1\n",
            nas.display()
        ),
    );
    for i in 0..3 {
        put(&env.src().join(format!("job/{i}.json")), b"{}", 0o644);
        env.ok(&["run"]);
    }
    assert_eq!(ids(&env, "main").len(), 3);
    let short = ids(&env, "short");
    assert_eq!(short, ids(&env, "main")[2..].to_vec());
    // What its retention would drop is not sent again.
    let v = json(&env.ok(&["--json", "copy"]));
    assert_eq!(v[0]["copied"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v[0]["not_wanted"], 2, "{v}");
    // Two copies on two media but nothing off-site: a warning, and the reason.
    let out = env.expect(1, &["status"]);
    assert!(out.stdout.contains("3-2-1 BROKEN: 3 copies"), "{out}");
    assert!(out.stdout.contains("no reachable off-site copy"), "{out}");
}

#[test]
fn status_is_critical_for_a_stale_target_and_warns_for_an_unreachable_one() {
    let env = Env::new();
    fill_source(&env, 0);
    let port = crate::services::free_port();
    config_with(
        &env,
        &format!(
            "\n[repository.gone]\nurl = \"sftp://nobody@127.0.0.1:{port}/srv/dx\"\npassword-file = \"pw\"\nmedium = \"nas\"\noffsite = true\ntimeout = \"5s\"\nretries = 0\n"
        ),
    );
    let out = env.expect(1, &["run"]);
    assert!(out.stdout.contains("gone: copy FAILED"), "{out}");
    assert!(
        out.stdout.contains("tree: snapshot"),
        "the backup still counts\n{out}"
    );
    let out = env.run(&["status"]);
    assert!(out.stdout.contains("UNREACHABLE"), "{out}");
    assert!(
        out.stdout.contains("holds no snapshot") && out.code == 2,
        "{out}"
    );

    // A one-second RPO: the primary itself turns critical soon after its backup.
    let text = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!("{text}\n[tier.critical]\nrto = \"1h\"\nrpo = \"1s\"\n"),
    )
    .unwrap();
    // Waits for the second to pass, observed through status itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let out = loop {
        let out = env.run(&["status"]);
        if out.stdout.contains("CRITICAL: main: nothing newer than") {
            break out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never critical\n{out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(out.code, 2, "{out}");
}

/// An empty bucket prefix is told apart from a broken repository by asking rustic_core for
/// the config file, not by the wording of its error.
#[test]
fn an_uninitialized_bucket_says_to_run_init() {
    let Some(s3) = S3::start() else { return };
    s3.create_bucket(BUCKET);
    let env = Env::new();
    S3::write_key_file(&env.path("s3-keys"));
    let endpoint = s3.endpoint();
    let repo = s3.repo_toml("cloud", BUCKET, "empty", &endpoint, &env.path("s3-keys"));
    config_with(&env, &repo);
    let out = env.expect(2, &["snapshots", "--repo", "cloud"]);
    assert!(
        out.stderr.contains("repository `cloud`") && out.stderr.contains("run 'dxbackup init'"),
        "{out}"
    );
}
