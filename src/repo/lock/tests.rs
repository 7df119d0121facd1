use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use rstest::rstest;
use rustic_core::repofile::MasterKey;
use rustic_core::RusticResult;

use super::*;

const NOW: &str = "2026-11-25T15:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn lock(host: &str, pid: i64, minutes_ago: i64, exclusive: bool) -> LockFile {
    LockFile {
        time: now() - minutes_ago.minutes(),
        exclusive,
        hostname: host.into(),
        username: "root".into(),
        pid,
        uid: 0,
        gid: 0,
        dxbackup: None,
    }
}

/// PID 100 lives on "here"; every other PID is gone.
fn here() -> Here<'static> {
    Here {
        now: now(),
        hostname: "here",
        alive: &|pid| pid == 100,
    }
}

#[rstest]
#[case::fresh_and_alive("here", 100, 0, false)]
#[case::pid_gone_on_this_host("here", 200, 0, true)]
#[case::other_host_young("there", 200, 29, false)]
#[case::other_host_30_min("there", 200, 31, true)]
#[case::alive_but_not_refreshed("here", 100, 31, true)]
#[case::exactly_30_min_is_not_yet("there", 200, 30, false)]
#[case::clock_ahead_of_ours("there", 200, -10, false)]
fn staleness(#[case] host: &str, #[case] pid: i64, #[case] ago: i64, #[case] stale: bool) {
    assert_eq!(lock(host, pid, ago, false).is_stale(&here()), stale);
}

#[rstest]
#[case::shared_beside_shared(LockKind::Shared, false, false)]
#[case::shared_waits_for_exclusive(LockKind::Shared, true, true)]
#[case::exclusive_waits_for_shared(LockKind::Exclusive, false, true)]
#[case::exclusive_waits_for_exclusive(LockKind::Exclusive, true, true)]
fn conflicts(#[case] want: LockKind, #[case] held_exclusive: bool, #[case] conflict: bool) {
    assert_eq!(
        lock("here", 100, 0, held_exclusive).conflicts_with(want),
        conflict
    );
}

#[test]
fn stale_locks_never_block_and_unreadable_ones_always_do() {
    let found = [
        Found {
            id: "a".repeat(64),
            lock: Ok(lock("here", 200, 0, true)),
        },
        Found {
            id: "b".repeat(64),
            lock: Err("garbled".into()),
        },
        Found {
            id: "c".repeat(64),
            lock: Ok(lock("here", 100, 0, false)),
        },
    ];
    let (blocking, stale) = sort_out(&found, LockKind::Shared, &here());
    let ids = |v: &[&Found]| v.iter().map(|f| f.id.as_bytes()[0]).collect::<Vec<_>>();
    assert_eq!(ids(&stale), b"a");
    assert_eq!(ids(&blocking), b"b");
    let (blocking, _) = sort_out(&found, LockKind::Exclusive, &here());
    assert_eq!(ids(&blocking), b"bc");
}

#[test]
fn json_has_restics_field_names_and_reads_restics_own() {
    let mut ours = lock("db1", 42, 0, true);
    ours.uid = 1000;
    ours.dxbackup = Some("0.1.0".into());
    let v: serde_json::Value = serde_json::to_value(&ours).unwrap();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "time",
            "exclusive",
            "hostname",
            "username",
            "pid",
            "uid",
            "dxbackup"
        ],
        "gid 0 is left out, as restic does"
    );
    // Go's time.Time: RFC 3339 with an offset.
    let time = v["time"].as_str().unwrap();
    assert!(
        time.starts_with("2026-11-25T")
            && (time.ends_with('Z') || time.contains('+') || time.rfind('-') > Some(10)),
        "{time}"
    );
    let back: LockFile = serde_json::from_value(v).unwrap();
    assert_eq!(back, ours);
    assert_eq!(back.program(), "dxbackup 0.1.0");

    let restic = r#"{"time":"2026-12-02T03:22:16.939357184Z","exclusive":false,"hostname":"vm","username":"root","pid":27809}"#;
    let l: LockFile = serde_json::from_str(restic).unwrap();
    assert_eq!(l.pid, 27809);
    assert_eq!(l.program(), "restic");
    assert_eq!(l.time, "2026-12-02T03:22:16.939357184Z".parse().unwrap());
}

/// A lock restic 0.14 wrote (`restic backup --stdin`), and the master key of its repository
/// (`restic cat masterkey`).
const RESTIC_KEY: &str = r#"{"mac":{"k":"Wg3DpOBKBZt1Jk7TaegXdg==","r":"9828DDxsIgRQv84NtN0kDQ=="},"encrypt":"3NlEn4CES8oIityr/VElPMGgf8tj83HQ0nhamFJ7BiY="}"#;
const RESTIC_LOCK_ID: &str = "f941dc89f8fb0f6f32a7a2af3337ff969b6f6baa29b70c79ef26e551d719f81f";
const RESTIC_LOCK: &str = "a3004d25d032485ce8786e7bb1f363675b137329e262e8b9ab343210d8894b20bf7b5ab055d9eba581198425b1526b6d3a25e51753f637ff69c738a3965973647046e8ed6a0900c304d19867641b79b417b950db40ae983877d4faf4dc9bc0fce5d730fe1964eb1beeea5b1084e50767e6422c0ceaf2d8191f38c74679b35c5d5d61ecfdf530051cf9";

#[test]
fn reads_a_lock_restic_wrote() {
    let key: MasterKey = serde_json::from_str(RESTIC_KEY).unwrap();
    let data = hex::decode(RESTIC_LOCK).unwrap();
    let l = Codec::new(&key).decode(RESTIC_LOCK_ID, &data).unwrap();
    assert_eq!(
        (l.hostname.as_str(), l.pid, l.exclusive),
        ("vm", 6819, false)
    );
    assert_eq!(l.program(), "restic");

    let mut bad = data.clone();
    bad[20] ^= 1;
    assert!(Codec::new(&key).decode(RESTIC_LOCK_ID, &bad).is_err());
    let other = Codec::new(&MasterKey::new());
    assert!(other.decode(RESTIC_LOCK_ID, &data).is_err());
}

#[test]
fn our_lock_files_are_named_by_their_hash_and_decode() {
    let codec = Codec::new(&MasterKey::new());
    let mine = LockFile::mine(LockKind::Exclusive);
    let (id, data) = codec.encode(&mine);
    assert_eq!(
        id,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&data))
    );
    assert_eq!(codec.decode(&id, &data).unwrap(), mine);
    assert_eq!(mine.pid, i64::from(std::process::id()));
    assert_eq!(mine.hostname, os_hostname());
    assert!(!mine.username.is_empty());
}

/// `locks/` in memory.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, Vec<u8>>>);

impl LockDir for Memory {
    fn list(&self) -> RusticResult<Vec<(String, u64)>> {
        let m = self.0.lock().unwrap();
        Ok(m.iter().map(|(k, v)| (k.clone(), v.len() as u64)).collect())
    }
    fn read(&self, name: &str) -> RusticResult<Option<Vec<u8>>> {
        Ok(self.0.lock().unwrap().get(name).cloned())
    }
    fn write(&self, name: &str, data: &[u8]) -> RusticResult<()> {
        self.0.lock().unwrap().insert(name.into(), data.to_vec());
        Ok(())
    }
    fn remove(&self, name: &str) -> RusticResult<()> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}

struct Fixture {
    dir: Arc<Memory>,
    codec: Arc<Codec>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: Arc::default(),
            codec: Arc::new(Codec::new(&MasterKey::new())),
        }
    }
    fn locks(&self) -> Locks {
        Locks {
            dir: self.dir.clone(),
            codec: self.codec.clone(),
            repo: "main".into(),
        }
    }
    fn take(&self, kind: LockKind, wait: Duration) -> Result<LockGuard, LockError> {
        acquire(self.locks(), kind, Wait::Up(wait), REFRESH_EVERY)
    }
    fn names(&self) -> Vec<String> {
        self.dir.0.lock().unwrap().keys().cloned().collect()
    }
    fn put(&self, l: &LockFile) -> String {
        let (id, data) = self.codec.encode(l);
        self.dir.write(&id, &data).unwrap();
        id
    }
}

#[test]
fn shared_locks_coexist_and_an_exclusive_one_names_its_holder() {
    let f = Fixture::new();
    let a = f.take(LockKind::Shared, Duration::ZERO).unwrap();
    let b = f.take(LockKind::Shared, Duration::ZERO).unwrap();
    assert_eq!(f.names().len(), 2);
    let err = f
        .take(LockKind::Exclusive, Duration::ZERO)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("locked by dxbackup")
            && err.contains(&format!("PID {}", std::process::id()))
            && err.contains("'dxbackup unlock'"),
        "{err}"
    );
    assert_eq!(
        f.names().len(),
        2,
        "the refused request left no lock behind"
    );
    drop((a, b));
    assert!(f.names().is_empty(), "released on drop");
    let x = f.take(LockKind::Exclusive, Duration::ZERO).unwrap();
    assert!(f.take(LockKind::Shared, Duration::ZERO).is_err());
    drop(x);
}

#[test]
fn a_waiting_request_gets_the_lock_once_the_holder_is_done() {
    let f = Fixture::new();
    let held = f.take(LockKind::Exclusive, Duration::ZERO).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    let got = f.take(LockKind::Shared, Duration::from_secs(30));
    release.join().unwrap();
    assert!(got.is_ok(), "{:?}", got.err());
}

#[test]
fn stale_locks_are_removed_and_live_ones_kept() {
    let f = Fixture::new();
    let old = f.put(&LockFile {
        time: Timestamp::now() - 31.minutes(),
        ..LockFile::mine(LockKind::Exclusive)
    });
    let live = f.put(&LockFile::mine(LockKind::Shared));
    let guard = f.take(LockKind::Shared, Duration::ZERO).unwrap();
    let names = f.names();
    assert!(!names.contains(&old) && names.contains(&live), "{names:?}");

    let old = f.put(&LockFile {
        time: Timestamp::now() - 31.minutes(),
        ..LockFile::mine(LockKind::Shared)
    });
    let (removed, kept) = remove_locks(&f.locks(), false).unwrap();
    assert_eq!(removed.iter().map(|r| &r.id).collect::<Vec<_>>(), [&old]);
    assert_eq!(kept.len(), 2);
    let (removed, _) = remove_locks(&f.locks(), true).unwrap();
    assert_eq!(removed.len(), 2);
    drop(guard);
}

#[test]
fn a_held_lock_is_refreshed_under_a_new_name() {
    let f = Fixture::new();
    let guard = acquire(
        f.locks(),
        LockKind::Shared,
        Wait::Up(Duration::ZERO),
        Duration::from_millis(20),
    )
    .unwrap();
    let first = guard.id();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // Refreshed: a new lock written, then the old one removed.
    while guard.id() == first || f.names().contains(&first) {
        assert!(std::time::Instant::now() < deadline, "never refreshed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let lock = f.locks().load(None).unwrap().remove(0).lock.unwrap();
    assert_eq!(lock.pid, i64::from(std::process::id()));
    drop(guard);
    assert!(f.names().is_empty());
}

#[test]
fn release_all_removes_the_locks_a_signal_would_leave() {
    let f = Fixture::new();
    let guard = f.take(LockKind::Shared, Duration::ZERO).unwrap();
    assert_eq!(f.names().len(), 1);
    // What `release_all` does, for this test's locks only (other tests hold theirs).
    let mine: Arc<dyn LockDir> = f.dir.clone();
    hold::release(|l| Arc::ptr_eq(&l.dir, &mine));
    assert!(f.names().is_empty());
    drop(guard);
}
