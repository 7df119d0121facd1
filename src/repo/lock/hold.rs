//! Taking, holding and releasing a lock, as restic does: look, write ours, look again after
//! 200 ms (another process may have written its lock at the same moment), and on a conflict
//! take ours back. Unlike restic (which fails at once unless `--retry-lock`), a conflict is
//! waited out, polling with backoff. A held lock is refreshed by a thread of its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use jiff::Timestamp;

use super::{
    age_text, hint, os_hostname, process_alive, sort_out, Codec, Found, Here, Holder, LockDir,
    LockError, LockFile, LockKind,
};
use crate::repo::display;

/// restic's `waitBeforeLockCheck`: how long a fresh lock stands before the second look.
const SETTLE: Duration = Duration::from_millis(200);
/// Backoff between looks while waiting: short at first (most holders are brief, like a binlog
/// part being stored), never long, so that a waiting prune finds the gap between two parts.
const FIRST_POLL: Duration = Duration::from_millis(250);
const MAX_POLL: Duration = Duration::from_secs(3);

/// How long to wait for a conflicting lock.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// Give up after this long (zero: at the first conflict, as restic does).
    Up(Duration),
    /// As long as the lock is held: it ends when its holder finishes or goes stale.
    WhileHeld,
}

/// The locks of one repository: where, how they are encrypted, and the name for messages.
pub struct Locks {
    pub dir: Arc<dyn LockDir>,
    pub codec: Arc<Codec>,
    pub repo: String,
}

impl Locks {
    fn storage(&self, what: &str, e: &rustic_core::RusticError) -> LockError {
        LockError::Storage {
            repo: self.repo.clone(),
            what: what.into(),
            cause: display(e),
        }
    }

    /// Every lock but `except`, read; files of size 0 (left by interrupted uploads on some
    /// backends) and files gone since the listing are skipped, as restic does.
    pub fn load(&self, except: Option<&str>) -> Result<Vec<Found>, LockError> {
        let names = self.dir.list().map_err(|e| self.storage("list", &e))?;
        let mut out = Vec::new();
        for (name, size) in names {
            if size == 0 || except == Some(name.as_str()) {
                continue;
            }
            let data = self.dir.read(&name).map_err(|e| self.storage("read", &e))?;
            if let Some(data) = data {
                let lock = self.codec.decode(&name, &data);
                out.push(Found { id: name, lock });
            }
        }
        Ok(out)
    }

    /// The first lock that blocks a request of `kind`; stale ones are removed on the way.
    fn blocker(&self, kind: LockKind, except: Option<&str>) -> Result<Option<Found>, LockError> {
        let found = self.load(except)?;
        let hostname = os_hostname();
        let here = Here {
            now: Timestamp::now(),
            hostname: &hostname,
            alive: &process_alive,
        };
        let (blocking, stale) = sort_out(&found, kind, &here);
        for s in stale {
            match self.dir.remove(&s.id) {
                Ok(()) => {
                    tracing::info!(repository = %self.repo, "removed stale lock of {}", Holder(s, here.now))
                }
                Err(e) => {
                    tracing::warn!(repository = %self.repo, "cannot remove stale lock {}: {}", s.id, display(&e))
                }
            }
        }
        Ok(blocking.first().map(|f| (*f).clone()))
    }

    fn write(&self, lock: &LockFile) -> Result<String, LockError> {
        let (id, data) = self.codec.encode(lock);
        self.dir
            .write(&id, &data)
            .map_err(|e| self.storage("write a lock", &e))?;
        Ok(id)
    }
}

/// Takes a lock of `kind`, waiting for conflicting ones as `wait` says; the lock is refreshed
/// every `refresh` until the guard is dropped.
pub fn acquire(
    locks: Locks,
    kind: LockKind,
    wait: Wait,
    refresh: Duration,
) -> Result<LockGuard, LockError> {
    let locks = Arc::new(locks);
    let start = Instant::now();
    let mut poll = FIRST_POLL;
    let mut told = false;
    loop {
        let blocker = match locks.blocker(kind, None)? {
            Some(b) => b,
            None => {
                let current = stand(&locks, kind)?;
                std::thread::sleep(SETTLE);
                let id = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let second = locks.blocker(kind, Some(&id));
                if let Ok(None) = second {
                    return Ok(LockGuard::hold(locks, kind, current, refresh));
                }
                // Someone else got in at the same moment: ours goes, and we wait like anyone.
                withdraw(&locks, &current);
                second?.expect("not None: returned above")
            }
        };
        let waited = start.elapsed();
        let left = match wait {
            Wait::Up(limit) if waited >= limit => return Err(timed_out(&locks, &blocker, waited)),
            Wait::Up(limit) => limit - waited,
            Wait::WhileHeld => Duration::MAX,
        };
        if !told {
            let limit = match wait {
                Wait::Up(limit) => format!("up to {}", age_text(limit)),
                Wait::WhileHeld => "as long as it is held".into(),
            };
            tracing::warn!(repository = %locks.repo, "waiting for the lock of repository `{}` (holder {}), {limit}", locks.repo, Holder(&blocker, Timestamp::now()));
            told = true;
        }
        std::thread::sleep(jitter(poll).min(left));
        poll = (poll * 2).min(MAX_POLL);
    }
}

/// Writes our lock, registered in [`HELD`] before it exists, so that a signal arriving
/// while it stands for its second look still finds it.
fn stand(locks: &Arc<Locks>, kind: LockKind) -> Result<Arc<Mutex<String>>, LockError> {
    let (id, data) = locks.codec.encode(&LockFile::mine(kind));
    let current = Arc::new(Mutex::new(id.clone()));
    held().push((locks.clone(), current.clone()));
    if let Err(e) = locks.dir.write(&id, &data) {
        held().retain(|(_, c)| !Arc::ptr_eq(c, &current));
        return Err(locks.storage("write a lock", &e));
    }
    Ok(current)
}

/// Takes our lock back: out of [`HELD`], then off the storage.
fn withdraw(locks: &Locks, current: &Arc<Mutex<String>>) {
    held().retain(|(_, c)| !Arc::ptr_eq(c, current));
    let id = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Err(e) = locks.dir.remove(&id) {
        tracing::warn!(repository = %locks.repo, "cannot remove our lock {id}: {}; 'dxbackup unlock' removes it once this process has ended", display(&e));
    }
}

fn held() -> std::sync::MutexGuard<'static, Vec<Held>> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

fn timed_out(locks: &Locks, blocker: &Found, waited: Duration) -> LockError {
    let hostname = os_hostname();
    let here = Here {
        now: Timestamp::now(),
        hostname: &hostname,
        alive: &process_alive,
    };
    LockError::Locked {
        repo: locks.repo.clone(),
        holder: Holder(blocker, here.now).to_string(),
        waited: age_text(waited),
        hint: hint(blocker, &here),
    }
}

/// Up to a quarter more, so that two waiters polling alike do not meet again and again.
fn jitter(d: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    d + d.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

/// Removes the stale locks (every lock with `all`); returns those removed and those kept.
pub fn remove_locks(locks: &Locks, all: bool) -> Result<(Vec<Found>, Vec<Found>), LockError> {
    let found = locks.load(None)?;
    let hostname = os_hostname();
    let here = Here {
        now: Timestamp::now(),
        hostname: &hostname,
        alive: &process_alive,
    };
    let (mut removed, mut kept) = (Vec::new(), Vec::new());
    for f in found {
        if all || f.lock.as_ref().is_ok_and(|l| l.is_stale(&here)) {
            locks
                .dir
                .remove(&f.id)
                .map_err(|e| locks.storage("remove a lock", &e))?;
            removed.push(f);
        } else {
            kept.push(f);
        }
    }
    Ok((removed, kept))
}

/// Every lock this process holds, for [`release_all`]: a process ended by a signal runs no
/// destructors.
static HELD: Mutex<Vec<Held>> = Mutex::new(Vec::new());
/// A held lock's repository and the name of its current file.
type Held = (Arc<Locks>, Arc<Mutex<String>>);
/// Set by [`release_all`]: no refresh may write a lock after it.
static RELEASED: AtomicBool = AtomicBool::new(false);

/// Removes every lock this process holds; for the signal path, just before the process exits
/// (a lock left behind blocks restic's exclusive commands until someone unlocks it). Gives up
/// after a few seconds: a stalled remote must not keep a stopped process alive.
pub fn release_all() {
    RELEASED.store(true, Ordering::SeqCst);
    let (done, finished) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("dxbackup-unlock".into())
        .spawn(move || {
            release(|_| true);
            let _ = done.send(());
        });
    if spawned.is_ok() {
        let _ = finished.recv_timeout(Duration::from_secs(3));
    }
}

/// Removes the held locks whose `Locks` match.
pub(super) fn release(matching: impl Fn(&Locks) -> bool) {
    held().retain(|(locks, current)| {
        if !matching(locks) {
            return true;
        }
        let id = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let _ = locks.dir.remove(&id);
        false
    });
}

/// A held lock: refreshed in the background, removed when dropped. A process killed outright
/// leaves it behind; the next process on this host finds its PID gone and removes it.
pub struct LockGuard {
    stop: Option<mpsc::Sender<()>>,
    refresher: Option<JoinHandle<()>>,
    current: Arc<Mutex<String>>,
    locks: Arc<Locks>,
}

impl LockGuard {
    fn hold(
        locks: Arc<Locks>,
        kind: LockKind,
        current: Arc<Mutex<String>>,
        every: Duration,
    ) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let (l, c) = (locks.clone(), current.clone());
        let refresher = std::thread::Builder::new()
            .name("dxbackup-lock".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    refresh(&l, kind, &c);
                }
            })
            .ok();
        if refresher.is_none() {
            tracing::warn!(repository = %locks.repo, "cannot start the thread that refreshes the lock; it goes stale after 30 minutes");
        }
        Self {
            stop: Some(stop),
            refresher,
            current,
            locks,
        }
    }

    /// The name of the lock file held now (it changes on every refresh).
    #[cfg(test)]
    pub fn id(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// restic's `Refresh`: a new lock with the time of now, then the old one removed. A failed
/// write keeps the old lock (it holds for 30 minutes from its last refresh) and is retried.
fn refresh(locks: &Locks, kind: LockKind, current: &Mutex<String>) {
    if RELEASED.load(Ordering::SeqCst) {
        return;
    }
    let new = match locks.write(&LockFile::mine(kind)) {
        Ok(id) => id,
        Err(e) => return tracing::warn!("cannot refresh the lock: {e}"),
    };
    let old = std::mem::replace(&mut *current.lock().unwrap_or_else(|e| e.into_inner()), new);
    if let Err(e) = locks.dir.remove(&old) {
        tracing::warn!(repository = %locks.repo, "cannot remove the lock {old} after refreshing it: {}", display(&e));
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.refresher.take() {
            let _ = t.join();
        }
        withdraw(&self.locks, &self.current);
    }
}
