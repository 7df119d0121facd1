//! Binlog housekeeping: closed binlog files merged into one snapshot each and their part
//! snapshots forgotten, with chains intact at every point a run can be killed, and the merged
//! snapshots readable by restic. A synthetic day of flushes (the library's `store_day`, as the
//! benchmark builds it) for the kill -9 points; the real archiver and MariaDB in `mysql`.

mod mysql;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dxbackup::job::binlog::{store_day, DayOptions};
use dxbackup::job::{dbarchive, Site};
use dxbackup::repo::Repo;
use dxbackup::source::mysql::chain::{self, Until};
use sha2::{Digest, Sha256};

use crate::util::{require_tool, restic, Env};

/// A binlog snapshot as `snapshots --json` shows it: id and description.
pub(crate) struct BinlogSnap {
    pub id: String,
    pub desc: serde_json::Value,
}

impl BinlogSnap {
    /// A merged snapshot: one whole closed file, with its SHA-256.
    pub fn merged_file(&self) -> Option<&str> {
        let parts = self.desc["parts"].as_array()?;
        (self.desc["sha256"].is_string() && parts.len() == 1 && parts[0]["offset"] == 0)
            .then(|| parts[0]["file"].as_str())
            .flatten()
    }

    pub fn files(&self) -> Vec<&str> {
        self.desc["parts"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["file"].as_str()).collect())
            .unwrap_or_default()
    }
}

pub(crate) fn binlog_snaps(env: &Env) -> Vec<BinlogSnap> {
    let out = env.ok(&["snapshots", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "binlog")
        .map(|s| BinlogSnap {
            id: s["id"].as_str().unwrap().into(),
            desc: serde_json::from_str(s["description"].as_str().unwrap()).unwrap(),
        })
        .collect()
}

/// Per closed file, the snapshots holding bytes of it.
pub(crate) fn holders(snaps: &[BinlogSnap], closed: &[String]) -> BTreeMap<String, usize> {
    closed
        .iter()
        .map(|f| {
            let n = snaps
                .iter()
                .filter(|s| s.files().contains(&f.as_str()))
                .count();
            (f.clone(), n)
        })
        .collect()
}

/// Per binlog file of the source's archive: bytes stored from 0, closed, no hole.
pub(crate) fn coverage(env: &Env) -> Vec<(String, u64, bool, bool)> {
    let site = Site::load(&env.config(), env.path("state")).unwrap();
    let snaps = Repo::open(&site.spec("main").unwrap())
        .unwrap()
        .snapshots()
        .unwrap();
    dbarchive::coverage(&snaps, "db")
        .files()
        .map(|f| (f.file.clone(), f.stored, f.closed, f.hole.is_none()))
        .collect()
}

/// SHA-256 of every binlog file of the chain to the latest point, rebuilt as a restore does.
fn rebuilt(env: &Env) -> Vec<(String, String)> {
    let site = Site::load(&env.config(), env.path("state")).unwrap();
    let repo = Repo::open(&site.spec("main").unwrap()).unwrap();
    let snaps = repo.snapshots().unwrap();
    let c = chain::plan(
        &dbarchive::fulls(&snaps, "db"),
        &dbarchive::coverage(&snaps, "db"),
        &Until::Latest,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let paths =
        dbarchive::extract(&repo.reader().unwrap(), &snaps, &c.binlogs, dir.path()).unwrap();
    paths
        .iter()
        .map(|p| {
            let data = std::fs::read(p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, hex::encode(Sha256::digest(&data)))
        })
        .collect()
}

/// `restic backup --stdin` holding a non-exclusive lock until its stdin is closed.
pub(crate) fn restic_lock(env: &Env) -> Child {
    let count = || std::fs::read_dir(env.repo().join("locks")).map_or(0, |d| d.count());
    let before = count();
    let mut child = Command::new("restic")
        .arg("-r")
        .arg(env.repo())
        .args(["backup", "--stdin", "-q"])
        .env("RESTIC_PASSWORD_FILE", env.path("pw"))
        .env("RESTIC_CACHE_DIR", env.path("restic-cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.as_mut().unwrap().write_all(b"held\n").unwrap();
    wait_until("restic's lock", Duration::from_secs(30), || {
        count() > before
    });
    child
}

pub(crate) fn release(mut restic: Child) {
    drop(restic.stdin.take());
    assert!(restic.wait().unwrap().success());
}

pub(crate) fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A repository holding a full and 300 flushes of synthetic binlog (4 KiB each, files rotating
/// at 128 KiB: 9 closed files and the one being written).
fn synthetic_day() -> Env {
    let env = Env::new();
    std::fs::write(env.path("dbpw"), "x\n").unwrap();
    env.write_sources(&format!(
        "[source.db]\nkind = \"mysql\"\nhost = \"127.0.0.1\"\nport = 1\nuser = \"u\"\npassword-file = \"{}\"\ndatabases = [\"bench\"]\ntier = \"critical\"\nbinlog = true\n",
        env.path("dbpw").display()
    ));
    env.ok(&["init"]);
    let site = Site::load(&env.config(), env.path("state")).unwrap();
    let opts = DayOptions {
        flushes: 300,
        flush_bytes: 4096,
        file_bytes: 128 << 10,
        start: jiff::Timestamp::now().as_second() - 300,
        batch: 100,
        seed: 9,
    };
    store_day(&site, "db", &opts).unwrap();
    env
}

#[test]
fn merging_survives_kill_9_at_any_point_and_leaves_one_snapshot_per_closed_file() {
    if !require_tool("restic") {
        return;
    }
    let env = synthetic_day();
    let cover = coverage(&env);
    let closed: Vec<String> = cover.iter().filter(|f| f.2).map(|f| f.0.clone()).collect();
    assert!(closed.len() >= 5, "{cover:?}");
    let bytes = rebuilt(&env);
    let parts_before = binlog_snaps(&env).len();

    // Killed while it waits for the exclusive lock: the merged snapshots are written, the
    // parts still there; both cover every byte.
    let held = restic_lock(&env);
    let mut forget = env
        .cmd(&["forget", "--prune"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the merges", Duration::from_secs(60), || {
        binlog_snaps(&env)
            .iter()
            .filter(|s| s.merged_file().is_some())
            .count()
            == closed.len()
    });
    kill_9(&mut forget);
    release(held);
    let snaps = binlog_snaps(&env);
    assert_eq!(
        snaps.len(),
        parts_before + closed.len(),
        "merges beside all parts"
    );
    assert_eq!(coverage(&env), cover, "killed before forgetting");
    assert_eq!(rebuilt(&env), bytes);

    // Killed at later and later points of a run, until one finishes.
    let mut delay = Duration::from_millis(150);
    loop {
        let mut run = env
            .cmd(&["forget", "--prune"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = run.try_wait().unwrap().is_some();
        kill_9(&mut run);
        assert_eq!(coverage(&env), cover, "killed after {delay:?}");
        if finished {
            break;
        }
        delay += Duration::from_millis(150);
    }
    env.ok(&["forget", "--prune"]);
    assert_eq!(coverage(&env), cover);
    assert_eq!(
        rebuilt(&env),
        bytes,
        "the merged files are the parts' bytes"
    );
    let snaps = binlog_snaps(&env);
    for (file, n) in holders(&snaps, &closed) {
        assert_eq!(n, 1, "{file}: one snapshot, the merged one");
    }
    assert!(
        snaps.len() < parts_before / 5,
        "{} of {parts_before} binlog snapshots left",
        snaps.len()
    );
    let out = env.ok(&["verify"]);
    assert!(!out.stdout.contains("broken"), "{out}");

    // restic reads, checks and dumps the merged files.
    restic(&env, &["check", "--read-data"]);
    let listed = restic(&env, &["snapshots", "--tag", "kind:binlog"]).stdout;
    let merged = snaps.iter().find(|s| s.merged_file().is_some()).unwrap();
    assert!(listed.contains(&merged.id[..8]), "{listed}");
    let file = merged.merged_file().unwrap();
    let path = format!("/binlog/db/{file}@000000000000");
    let dumped = Command::new("restic")
        .arg("-r")
        .arg(env.repo())
        .args(["dump", &merged.id, &path])
        .env("RESTIC_PASSWORD_FILE", env.path("pw"))
        .env("RESTIC_CACHE_DIR", env.path("restic-cache"))
        .output()
        .unwrap();
    assert!(dumped.status.success());
    assert_eq!(
        hex::encode(Sha256::digest(&dumped.stdout)),
        merged.desc["sha256"].as_str().unwrap()
    );
    assert_eq!(
        dumped.stdout.len() as u64,
        merged.desc["parts"][0]["len"].as_u64().unwrap()
    );
}

fn kill_9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
