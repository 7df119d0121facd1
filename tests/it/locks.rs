//! Repository locks against the real restic: each refuses or waits for the other's lock, a lock
//! of a killed process is stale, and `dxbackup unlock` removes such locks. The waits are made
//! deterministic by holding the other side still: restic's `backup --stdin` holds its lock
//! until stdin closes; a dxbackup process is stopped with SIGSTOP while it holds its lock.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{data, put, require_tool, restic, Env, Out};

/// The lock files in a repository (temporary uploads left out).
fn locks(repo: &Path) -> Vec<String> {
    fs::read_dir(repo.join("locks"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.len() == 64)
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `cond` holds; fails after `secs` seconds naming `what`.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for a child to exit; its output as `Out`.
fn finish(child: Child, secs: u64, args: &[&str]) -> Out {
    let mut child = child;
    wait_for(secs, &format!("`{}` to exit", args.join(" ")), || {
        child.try_wait().unwrap().is_some()
    });
    Out::of(child.wait_with_output().unwrap(), args)
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on a child we started and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

/// restic on `repo`, not required to succeed.
fn restic_on(env: &Env, repo: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("restic");
    c.arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD_FILE", env.path("pw"))
        .env("RESTIC_CACHE_DIR", env.path("restic-cache"));
    c
}

/// `restic backup --stdin` holding its lock: it keeps it until stdin is closed.
fn restic_holding_a_lock(env: &Env) -> Child {
    let before = locks(&env.repo()).len();
    let mut child = restic_on(env, &env.repo(), &["backup", "--stdin", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn restic");
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"some bytes\n")
        .unwrap();
    wait_for(30, "restic's lock", || {
        locks(&env.repo()).len() == before + 1
    });
    child
}

/// A source tree big enough that a backup of it is caught while it runs.
fn big_tree(env: &Env) {
    for i in 0..20 {
        put(
            &env.src().join(format!("plugin/{i}.jar")),
            &data(5 << 20, i),
            0o644,
        );
    }
}

/// A dxbackup command started in the background, its stderr going to `log`.
fn spawn(env: &Env, args: &[&str], log: &Path) -> Child {
    env.cmd(args)
        .stdout(Stdio::piped())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .expect("spawn dxbackup")
}

#[test]
fn restic_prune_refuses_while_dxbackup_backs_up_and_both_leave_a_clean_repository() {
    if !require_tool("restic") {
        return;
    }
    let env = Env::new();
    big_tree(&env);
    env.ok(&["init"]);
    let backup = spawn(&env, &["backup"], &env.path("backup.log"));
    wait_for(60, "dxbackup's lock", || locks(&env.repo()).len() == 1);
    signal(&backup, libc::SIGSTOP);

    let ours = locks(&env.repo()).remove(0);
    let cat = restic(&env, &["cat", "lock", &ours, "--no-lock"]);
    let lock: serde_json::Value = serde_json::from_str(&cat.stdout).unwrap();
    assert_eq!(lock["pid"], backup.id(), "restic reads our lock: {cat}");
    assert_eq!(lock["exclusive"], false);
    let prune = Out::of(
        restic_on(&env, &env.repo(), &["prune"]).output().unwrap(),
        &["prune"],
    );
    assert_ne!(prune.code, 0, "{prune}");
    assert!(
        prune.stderr.contains("repository is already locked")
            && prune.stderr.contains(&format!("PID {}", backup.id())),
        "{prune}"
    );

    signal(&backup, libc::SIGCONT);
    let out = finish(backup, 300, &["backup"]);
    assert_eq!(
        out.code,
        0,
        "{out}\n{}",
        fs::read_to_string(env.path("backup.log")).unwrap()
    );
    assert!(locks(&env.repo()).is_empty(), "released");
    restic(&env, &["prune"]);
    restic(&env, &["check", "--read-data"]);
}

#[test]
fn dxbackup_forget_prune_waits_for_restics_backup_then_succeeds() {
    if !require_tool("restic") {
        return;
    }
    let env = Env::new();
    env.write_config("[retention]\nkeep-last = 1\n");
    put(&env.src().join("conf/core.json"), &data(1 << 20, 1), 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    put(&env.src().join("conf/core.json"), &data(1 << 20, 2), 0o644);
    env.ok(&["backup"]);

    let mut restic_backup = restic_holding_a_lock(&env);
    let log = env.path("forget.log");
    let mut forget = spawn(&env, &["forget", "--prune"], &log);
    wait_for(60, "dxbackup to say it waits", || {
        fs::read_to_string(&log)
            .unwrap()
            .contains("waiting for the lock")
    });
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("restic (non-exclusive, PID"), "{text}");
    assert!(
        forget.try_wait().unwrap().is_none(),
        "still waiting: {text}"
    );
    assert_eq!(
        locks(&env.repo()).len(),
        1,
        "only restic's lock: ours is not taken"
    );

    drop(restic_backup.stdin.take());
    let r = finish(restic_backup, 60, &["restic backup --stdin"]);
    assert_eq!(r.code, 0, "{r}");
    let out = finish(forget, 60, &["forget", "--prune"]);
    assert_eq!(out.code, 0, "{out}\n{}", fs::read_to_string(&log).unwrap());
    assert!(out.stdout.contains("removed 1, pruned"), "{out}");
    assert!(locks(&env.repo()).is_empty());
    restic(&env, &["check", "--read-data"]);
}

/// A backup killed with SIGKILL while it holds its lock; returns the dead process's PID.
fn killed_backup(env: &Env) -> u32 {
    let mut backup = spawn(env, &["backup"], &env.path("killed.log"));
    wait_for(60, "dxbackup's lock", || locks(&env.repo()).len() == 1);
    signal(&backup, libc::SIGKILL);
    backup.wait().unwrap();
    assert_eq!(
        locks(&env.repo()).len(),
        1,
        "a killed process leaves its lock"
    );
    backup.id()
}

#[test]
fn a_killed_backups_lock_is_stale_and_the_next_backup_does_not_wait_for_it() {
    let env = Env::new();
    big_tree(&env);
    env.ok(&["init"]);
    killed_backup(&env);
    // The next backup first indexes what the killed one left, under an exclusive lock: it
    // would wait for a live holder's lock.
    let start = Instant::now();
    let out = env.ok(&["-v", "backup"]);
    assert!(
        out.stderr.contains("removed stale lock of dxbackup")
            && !out.stderr.contains("waiting for the lock"),
        "{out}"
    );
    assert!(start.elapsed() < Duration::from_secs(120), "{out}");
    assert!(locks(&env.repo()).is_empty());
}

#[test]
fn a_backup_stopped_by_ctrl_c_removes_its_lock() {
    let env = Env::new();
    big_tree(&env);
    env.ok(&["init"]);
    let backup = spawn(&env, &["backup"], &env.path("backup.log"));
    wait_for(60, "dxbackup's lock", || locks(&env.repo()).len() == 1);
    signal(&backup, libc::SIGINT);
    let out = finish(backup, 60, &["backup"]);
    assert_eq!(out.code, 130, "{out}");
    assert!(locks(&env.repo()).is_empty(), "no lock left behind");
}

#[test]
fn unlock_removes_stale_locks_of_restic_and_dxbackup_and_keeps_live_ones() {
    if !require_tool("restic") {
        return;
    }
    let env = Env::new();
    big_tree(&env);
    env.ok(&["init"]);
    let dead = killed_backup(&env);
    let mut r = restic_holding_a_lock(&env);
    r.kill().unwrap();
    r.wait().unwrap();
    let restic_pid = r.id();

    let out = env.ok(&["unlock"]);
    assert!(
        out.stdout.contains(&format!(
            "removed stale lock of dxbackup {}",
            env!("CARGO_PKG_VERSION")
        )) && out.stdout.contains(&format!("PID {dead} "))
            && out.stdout.contains(&format!(
                "removed stale lock of restic (non-exclusive, PID {restic_pid} "
            )),
        "{out}"
    );
    assert!(locks(&env.repo()).is_empty());

    let mut live = restic_holding_a_lock(&env);
    let out = env.ok(&["--json", "unlock", "--repo", "main"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["removed"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(v[0]["kept"][0]["pid"], live.id(), "{out}");
    assert_eq!(v[0]["kept"][0]["program"], "restic", "{out}");
    assert_eq!(locks(&env.repo()).len(), 1);
    let out = env.ok(&["unlock", "--remove-all"]);
    assert!(out.stdout.contains("main: removed lock of restic"), "{out}");
    assert!(locks(&env.repo()).is_empty());
    live.kill().unwrap();
    live.wait().unwrap();
}

#[test]
fn a_copy_locks_its_target() {
    if !require_tool("restic") {
        return;
    }
    let env = Env::new();
    big_tree(&env);
    let target: PathBuf = env.path("target-repo");
    fs::write(
        env.config(),
        format!(
            "[repository.main]\nurl = \"{}\"\npassword-file = \"pw\"\nprimary = true\nauto-init = true\n\n\
             [repository.copy]\nurl = \"{}\"\npassword-file = \"pw\"\nauto-init = true\n\n\
             [source.tree]\nkind = \"files\"\nroot = \"src\"\ninclude = [\"**\"]\n",
            env.repo().display(),
            target.display()
        ),
    )
    .unwrap();
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let copy = spawn(&env, &["copy"], &env.path("copy.log"));
    wait_for(60, "the copy's lock on the target", || {
        locks(&target).len() == 1
    });
    signal(&copy, libc::SIGSTOP);
    let prune = Out::of(
        restic_on(&env, &target, &["prune"]).output().unwrap(),
        &["prune"],
    );
    assert!(
        prune.stderr.contains("repository is already locked"),
        "{prune}"
    );
    signal(&copy, libc::SIGCONT);
    let out = finish(copy, 300, &["copy"]);
    assert_eq!(
        out.code,
        0,
        "{out}\n{}",
        fs::read_to_string(env.path("copy.log")).unwrap()
    );
    assert!(locks(&target).is_empty() && locks(&env.repo()).is_empty());
    let check = restic_on(&env, &target, &["check", "--read-data"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
