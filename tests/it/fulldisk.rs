//! A full disk under the repository or the state directory: clear errors, nothing left behind,
//! the next run succeeds once space is freed.
//!
//! Each repository lives on a tmpfs of its own (`disk.rs`); a filler file plays everything else
//! on that disk. What a failed run must leave is what was there before it: a pack it wrote and
//! no index names is space the user cannot get back without a prune, which itself needs space.

mod disk;

use std::fs;
use std::path::{Path, PathBuf};

use self::disk::{noise, SmallFs};
use crate::util::{put, require_tool, restic, restic_at, Env, Out};

const MIB: u64 = 1 << 20;

/// The repository's thresholds: a 64 MiB disk is "full" past 95 %.
const MONITOR: &str = "\n[monitor]\nspace-warning = 80.0\nspace-critical = 95.0\n";

/// `env.repo()` (and `env.path(name)` for others) on a `mb` MiB disk of its own: a link to a
/// folder of the mounted tmpfs, so the disk's root is free for the filler.
fn repo_on_small_disk(env: &Env, name: &str, mb: u64) -> Option<(SmallFs, PathBuf)> {
    if !require_tool("restic") {
        return None;
    }
    let fs = SmallFs::mount(&env.path(&format!("{name}-disk")), mb)?;
    let real = fs.dir.join(name);
    fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, env.path(name)).unwrap();
    Some((fs, env.path(name)))
}

/// The run failed (exit `code`) saying what filled up and where (`path`, or a file under it).
fn assert_no_space(out: &Out, code: i32, path: &Path) {
    assert_eq!(out.code, code, "{out}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.to_lowercase().contains("no space left"),
        "no 'no space left' in\n{out}"
    );
    assert!(
        text.contains(&*path.to_string_lossy()),
        "{} not named in\n{out}",
        path.display()
    );
}

/// Nothing half-written and nothing unindexed stays: the disk holds what it held before the
/// failed run (`before` bytes used), give or take a lock file, and restic finds no damage and
/// no "additional files".
fn assert_left_as_before(env: &Env, fs: &SmallFs, repo: &Path, before: u64) {
    let tmp = fs.temporaries();
    assert!(tmp.is_empty(), "half-written files left behind: {tmp:?}");
    let used = fs.used();
    assert!(
        used <= before + 64 * 1024,
        "the failed run left {} KiB behind ({before} bytes used before, {used} after)",
        (used - before) / 1024
    );
    let out = restic_at(env, repo, &["check"]);
    assert!(out.stdout.contains("no errors were found"), "{out}");
    assert!(!out.stdout.contains("additional files"), "{out}");
}

fn status_json(env: &Env) -> serde_json::Value {
    let out = env.run(&["--json", "status"]);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

/// The severity of finding `key` in `status --json`, if it is there.
fn finding(status: &serde_json::Value, key: &str) -> Option<String> {
    status["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .map(|f| f["severity"].as_str().unwrap().to_string())
}

/// The first data pack (~32 MiB) fits, the second does not: the run fails with a whole pack
/// written that no index names (31-50 MiB left behind before the fix).
#[test]
fn a_backup_that_fills_the_repository_disk_takes_back_what_it_wrote() {
    let env = Env::new();
    let Some((disk, repo)) = repo_on_small_disk(&env, "repo", 64) else {
        return;
    };
    env.write_config(MONITOR);
    put(&env.src().join("conf/a.json"), b"{}", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    disk.fill(40 * MIB);
    let before = disk.used();
    put(
        &env.src().join("big.bin"),
        &noise(45 * MIB as usize, 1),
        0o644,
    );

    let out = env.run(&["backup"]);
    assert_no_space(&out, 2, &repo);
    assert_left_as_before(&env, &disk, &repo, before);

    // Someone else fills the disk up: status says so.
    disk.fill(0);
    let s = status_json(&env);
    assert_eq!(
        finding(&s, "space:main").as_deref(),
        Some("critical"),
        "{s}"
    );
    let out = env.expect(2, &["monitor", "--no-alert"]);
    assert!(
        out.stdout.contains("CRITICAL space:main: disk 100 % full"),
        "{out}"
    );

    // Space freed: the next backup goes through, nothing to repair first.
    disk.unfill();
    env.ok(&["backup"]);
    restic(&env, &["check", "--read-data"]);
    let s = status_json(&env);
    assert_eq!(finding(&s, "space:main"), None, "{s}");
}

/// A copy into a second local repository on a disk too small for it.
#[test]
fn a_copy_into_a_full_disk_takes_back_what_it_wrote() {
    let env = Env::new();
    let Some((disk, copy)) = repo_on_small_disk(&env, "copy", 64) else {
        return;
    };
    env.write_config(&format!(
        "[repository.copy]\nurl = \"{}\"\npassword-file = \"pw\"\nauto-init = true\n{MONITOR}",
        copy.display()
    ));
    let text = fs::read_to_string(env.config()).unwrap();
    let text = text.replacen(
        "auto-init = true\n",
        "auto-init = true\nprimary = true\n",
        1,
    );
    fs::write(env.config(), text).unwrap();
    put(
        &env.src().join("big.bin"),
        &noise(45 * MIB as usize, 2),
        0o644,
    );
    env.ok(&["init"]);
    env.ok(&["backup"]);
    disk.fill(40 * MIB);
    let before = disk.used();

    let out = env.run(&["copy", "--to", "copy"]);
    assert_no_space(&out, 1, &copy);
    assert_left_as_before(&env, &disk, &copy, before);

    disk.unfill();
    env.ok(&["copy", "--to", "copy"]);
    restic_at(&env, &copy, &["check", "--read-data"]);
    let snaps = restic_at(&env, &copy, &["snapshots", "--json"]);
    assert_eq!(snaps.stdout.matches("\"id\"").count(), 1, "{snaps}");
}

/// A prune writes before it deletes: the used part of a half-used pack, then the index. The
/// disk is left room for exactly the packs it writes (measured by the same prune on a copy of
/// the repository), so it fails at the index, with its new packs written.
#[test]
fn a_prune_on_a_full_disk_takes_back_what_it_wrote() {
    let env = Env::new();
    let Some((disk, repo)) = repo_on_small_disk(&env, "repo", 64) else {
        return;
    };
    env.write_config(&format!("[retention]\nkeep-last = 1\n{MONITOR}"));
    // One pack, 23 of its 24 MiB unused once the first snapshot goes: rustic repacks the
    // rest (it repacks at most 10 % of the repository per prune).
    put(&env.src().join("x.bin"), &noise(MIB as usize, 3), 0o644);
    put(
        &env.src().join("y.bin"),
        &noise(23 * MIB as usize, 4),
        0o644,
    );
    env.ok(&["init"]);
    env.ok(&["backup"]);
    fs::remove_file(env.src().join("y.bin")).unwrap();
    env.ok(&["backup"]);
    let written = pages_a_prune_writes(&env);
    disk.fill(written);
    let before = disk.used();

    let out = env.run(&["forget", "--prune"]);
    assert_no_space(&out, 2, &repo.join("index"));
    assert_left_as_before(&env, &disk, &repo, before);

    disk.unfill();
    env.ok(&["forget", "--prune"]);
    restic(&env, &["check", "--read-data"]);
}

/// The bytes, in whole 4 KiB pages as tmpfs counts them, of the packs `forget --prune` writes
/// into `env.repo()`: found by running it on a copy.
fn pages_a_prune_writes(env: &Env) -> u64 {
    let real = fs::read_link(env.repo()).unwrap();
    let copy = env.path("dry-run");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(&real)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    let packs = |root: &Path| -> Vec<(PathBuf, u64)> {
        walkdir::WalkDir::new(root.join("data"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                (
                    e.path().strip_prefix(root).unwrap().into(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect()
    };
    let old = packs(&copy);
    let repoint = |to: &Path| {
        fs::remove_file(env.repo()).unwrap();
        std::os::unix::fs::symlink(to, env.repo()).unwrap();
    };
    repoint(&copy);
    env.ok(&["forget", "--prune"]);
    repoint(&real);
    let new: Vec<_> = packs(&copy)
        .into_iter()
        .filter(|p| !old.contains(p))
        .collect();
    fs::remove_dir_all(&copy).unwrap();
    assert!(
        !new.is_empty(),
        "the prune repacks nothing: the test needs another layout"
    );
    // The prune's lock takes a page, the snapshot file it removes gives one back.
    new.iter().map(|(_, len)| len.div_ceil(4096) * 4096).sum()
}

/// The state directory fills up. The catalog may go on a while in the room its write-ahead
/// log already has; when it cannot, the run fails naming the folder, the catalog stays
/// readable (even on the full disk: `stats` and `status` work) and whole, and once space is
/// freed the next run is recorded as usual.
#[test]
fn a_full_state_directory_fails_clearly_and_keeps_the_catalog_whole() {
    let env = Env::new();
    let Some(disk) = SmallFs::mount(&env.path("state"), 8) else {
        return;
    };
    env.write_config(MONITOR);
    put(&env.src().join("conf/a.json"), b"{}", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let runs = || -> Vec<String> {
        let out = env.ok(&["--json", "stats", "--source", "tree"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let runs = v["runs"].as_array().unwrap().iter();
        runs.map(|r| r["status"].as_str().unwrap().to_string())
            .collect()
    };
    disk.fill(0);

    let mut tries = 0;
    let failed = loop {
        let out = env.run(&["backup"]);
        if out.code != 0 {
            break out;
        }
        tries += 1;
        assert!(tries < 50, "50 backups recorded on a full disk?\n{out}");
    };
    assert_no_space(&failed, 2, &env.path("state"));
    let recorded = runs();
    assert!(recorded.iter().all(|s| s == "ok"), "{recorded:?}");
    status_json(&env);
    // It cannot record its findings, but it still tells them.
    let m = env.run(&["monitor", "--no-alert"]);
    assert!(m.code == 0 || m.code == 1, "{m}");

    disk.unfill();
    env.ok(&["backup"]);
    assert_eq!(runs().len(), recorded.len() + 1);
    let db = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
