//! What holds data is private: the state directory, the catalog with its `-wal`/`-shm`, and a
//! local repository's every file and folder, whatever the umask dxbackup runs under; and the
//! state directory is where `--state-dir`, `$DXBACKUP_STATE_DIR` and `$XDG_STATE_HOME` say.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{data, put, require_tool, restic, Env, Out};

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// `env.cmd(args)` under `umask`.
fn with_umask(env: &Env, umask: u32, args: &[&str]) -> Command {
    let mut c = env.cmd(args);
    // SAFETY: runs in the forked child before exec; umask(2) is async-signal-safe and cannot
    // fail.
    unsafe {
        c.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    c
}

/// Every file and folder below `root` (and `root`) that others may read or enter.
fn not_private(root: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| {
            let want = if e.file_type().is_dir() { 0o700 } else { 0o600 };
            mode(e.path()) != want
        })
        .map(|e| format!("{:o} {}", mode(e.path()), e.path().display()))
        .collect()
}

#[test]
fn catalog_state_dir_and_repository_are_private_under_umask_022_and_002() {
    for umask in [0o022, 0o002] {
        let env = Env::new();
        put(&env.src().join("conf/core.json"), b"{}", 0o644);
        for i in 0..4 {
            put(
                &env.src().join(format!("dumps/part{i}.bin")),
                &data(32 << 20, i),
                0o644,
            );
        }
        let out = with_umask(&env, umask, &["init"]).output().unwrap();
        assert!(out.status.success(), "{}", Out::of(out, &["init"]));
        // Killed mid-backup, the catalog's -wal and -shm stay on disk to be looked at.
        let state = env.path("state");
        let wal = state.join("catalog.db-wal");
        let shm = state.join("catalog.db-shm");
        let mut child = with_umask(&env, umask, &["backup"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Both, as the persistent WAL may keep a -wal from `init` already.
        let start = Instant::now();
        while !(wal.exists() && shm.exists()) && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(wal.exists(), "the backup had the catalog open");
        assert!(shm.exists(), "the backup had the catalog open");
        assert_eq!(
            not_private(&state),
            Vec::<String>::new(),
            "umask {umask:03o}"
        );

        let out = with_umask(&env, umask, &["backup"]).output().unwrap();
        assert!(out.status.success(), "{}", Out::of(out, &["backup"]));
        assert!(env.repo().join("keys").read_dir().unwrap().next().is_some());
        assert_eq!(
            not_private(&env.repo()),
            Vec::<String>::new(),
            "umask {umask:03o}"
        );
        assert_eq!(
            not_private(&state),
            Vec::<String>::new(),
            "umask {umask:03o}"
        );
        if require_tool("restic") {
            restic(&env, &["check", "--read-data"]);
        }
    }
}

#[test]
fn state_dir_follows_flag_then_env_then_xdg_state_home_also_for_root() {
    let env = Env::new();
    put(&env.src().join("conf/core.json"), b"{}", 0o644);
    env.ok(&["init"]);
    let xdg = env.path("xdg");
    let backup = |state_env: Option<&Path>, flag: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dxbackup"));
        c.arg("-c").arg(env.config());
        if let Some(f) = flag {
            c.arg("--state-dir").arg(f);
        }
        c.arg("backup")
            .env_remove("DXBACKUP_STATE_DIR")
            .env_remove("DXBACKUP_PASSWORD")
            .env("XDG_STATE_HOME", &xdg);
        if let Some(s) = state_env {
            c.env("DXBACKUP_STATE_DIR", s);
        }
        let out = Out::of(c.output().unwrap(), &["backup"]);
        assert_eq!(out.code, 0, "{out}");
    };
    // Root too: a root service given XDG_STATE_HOME keeps its state there, not in /var/lib.
    backup(None, None);
    let state = xdg.join("dxbackup");
    assert!(state.join("catalog.db").is_file(), "{}", state.display());
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("catalog.db")), 0o600);

    let by_env = env.path("by-env");
    backup(Some(&by_env), None);
    assert!(by_env.join("catalog.db").is_file());
    let by_flag = env.path("by-flag");
    backup(Some(&by_env), Some(&by_flag));
    assert!(by_flag.join("catalog.db").is_file());
}
