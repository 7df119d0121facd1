//! Faults during a copy: sshd killed, the network to S3 cut, Ctrl-C. Each time the target
//! is reported failed, restic finds it consistent, no `ssh` is left, and the next run or copy
//! converges.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    config_with, fill_source, ids, json, restic, s3_env, services, three_targets, use_ssh_of,
    BUCKET,
};
use crate::services::{ssh_processes, Proxy, Sshd};
use crate::util::{require_tool, Env, Out};

/// Waits until `cond` holds, polling; panics with `what` after `secs`.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pack_count(repo: &Path) -> usize {
    walkdir::WalkDir::new(repo.join("data"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count()
}

#[test]
fn sshd_killed_mid_copy_fails_that_target_and_the_next_run_converges() {
    if !require_tool("restic") {
        return;
    }
    let Some(mut sshd) = Sshd::start() else {
        return;
    };
    let env = Env::new();
    fill_source(&env, 60 << 20);
    let nas = env.path("nas-repo");
    config_with(&env, &sshd.repo_toml("nas", &nas, ""));
    use_ssh_of(&env, &sshd);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let primary = ids(&env, "main");

    let child = env
        .cmd(&["copy"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(120, "the copy to start sending packs", || {
        pack_count(&nas) >= 2
    });
    sshd.kill();
    let out = Out::of(child.wait_with_output().unwrap(), &["copy"]);
    assert_eq!(out.code, 1, "a failed target is a partial failure\n{out}");
    assert!(out.stdout.contains("nas: copy FAILED"), "{out}");
    // What the cut-off copy left is never a half-visible snapshot...
    assert!(
        !nas.join("snapshots").exists()
            || std::fs::read_dir(nas.join("snapshots")).unwrap().count() == 0
    );
    // ...and restic still finds the target consistent. The copy could not remove its lock
    // over the dead connection: restic's check would refuse it (restic removes stale locks only
    // in `unlock`), so it reads without locking; the next run removes the stale lock.
    assert_eq!(std::fs::read_dir(nas.join("locks")).unwrap().count(), 1);
    let local = vec!["-r".to_string(), nas.to_string_lossy().into_owned()];
    restic(&local, &env, &[], &["check", "--read-data", "--no-lock"]);

    sshd.restart();
    let out = env.ok(&["run"]);
    // Throughput of the catching-up copy, for the record (debug build, loopback).
    out.stdout
        .lines()
        .filter(|l| l.contains("copied"))
        .for_each(|l| eprintln!("{l}"));
    assert!(out.stdout.contains("nas: copied"), "{out}");
    let now = ids(&env, "main");
    assert_eq!(ids(&env, "nas"), now);
    assert!(now.starts_with(&primary));
    restic(
        &sshd.restic_args(&nas),
        &env,
        &[],
        &["check", "--read-data"],
    );
    let status = env.run(&["status"]);
    assert!(!status.stdout.contains("last copy failed"), "{status}");
    assert!(ssh_processes(&sshd.client_key().to_string_lossy()).is_empty());
}

#[test]
fn network_to_s3_cut_mid_copy_fails_that_target_and_the_next_run_converges() {
    let Some((sshd, s3)) = services() else { return };
    let proxy = Proxy::start(s3.port);
    let env = Env::new();
    fill_source(&env, 60 << 20);
    three_targets(&env, &sshd, &s3, &proxy.endpoint());
    env.ok(&["init"]);
    env.ok(&["backup"]);

    let child = env
        .cmd(&["copy", "--to", "cloud"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(120, "the copy to send data", || {
        proxy.sent.load(std::sync::atomic::Ordering::Relaxed) > 8 << 20
    });
    proxy.cut();
    let out = Out::of(child.wait_with_output().unwrap(), &["copy"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("cloud: copy FAILED"), "{out}");
    let cloud = vec!["-r".to_string(), s3.restic_repo(BUCKET, "dx/prod")];
    let snaps = restic(&cloud, &env, &s3_env(&s3), &["snapshots", "--json"]);
    assert_eq!(json(&snaps).as_array().map_or(0, Vec::len), 0, "{snaps}");
    // The copy's lock stayed (the network was gone): see the sshd test above.
    restic(
        &cloud,
        &env,
        &s3_env(&s3),
        &["check", "--read-data", "--no-lock"],
    );
    let status = env.run(&["status"]);
    assert!(
        status.code >= 1 && status.stdout.contains("last copy failed"),
        "{status}"
    );

    proxy.restore();
    let out = env.ok(&["run"]);
    // Throughput of the catching-up copy, for the record (debug build, loopback).
    out.stdout
        .lines()
        .filter(|l| l.contains("copied"))
        .for_each(|l| eprintln!("{l}"));
    assert!(out.stdout.contains("cloud: copied "), "{out}");
    assert_eq!(ids(&env, "cloud"), ids(&env, "main"));
    restic(&cloud, &env, &s3_env(&s3), &["check", "--read-data"]);
}

fn dir_size(p: &Path) -> u64 {
    walkdir::WalkDir::new(p)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[test]
fn ctrl_c_mid_copy_leaves_no_ssh_and_the_next_copy_resumes() {
    if !require_tool("restic") {
        return;
    }
    let Some(sshd) = Sshd::start() else { return };
    let env = Env::new();
    fill_source(&env, 60 << 20);
    let nas = env.path("nas-repo");
    config_with(&env, &sshd.repo_toml("nas", &nas, ""));
    use_ssh_of(&env, &sshd);
    env.ok(&["init"]);
    env.ok(&["backup"]);

    let child = env
        .cmd(&["copy"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(120, "the copy to send packs", || pack_count(&nas) >= 2);
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = Out::of(child.wait_with_output().unwrap(), &["copy"]);
    assert_eq!(out.code, 130, "{out}");
    let key = sshd.client_key().to_string_lossy().into_owned();
    assert!(ssh_processes(&key).is_empty(), "{:#?}", ssh_processes(&key));
    let sent_before = dir_size(&nas.join("data"));
    let local = vec!["-r".to_string(), nas.to_string_lossy().into_owned()];
    restic(&local, &env, &[], &["check", "--read-data"]);

    // The next copy indexes what the cut-off one sent and only sends the rest.
    let v = json(&env.ok(&["--json", "copy"]));
    let resumed = v[0]["bytes"].as_u64().unwrap();
    let total = dir_size(&env.repo().join("data"));
    assert!(
        sent_before > 0 && resumed < total,
        "sent {sent_before} before, {resumed} now, of {total}\n{v}"
    );
    assert_eq!(ids(&env, "nas"), ids(&env, "main"));
    restic(&local, &env, &[], &["check", "--read-data"]);
    assert!(ssh_processes(&key).is_empty());
}
