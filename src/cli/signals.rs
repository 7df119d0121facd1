//! Ctrl-C, SIGTERM and SIGHUP reach dxbackup through one door, a `signal-hook` thread (real
//! handlers writing to a self-pipe: no signal is blocked anywhere, so no handler is silently
//! never called, and children start with the default dispositions).
//!
//! Short commands: remote connections are closed first (no `ssh` master of an SFTP repository
//! may outlive us), then the process exits with 128 + the signal number; the client tools we
//! started die with us (they get a parent-death signal). A run cut off this way is marked
//! `interrupted` in the catalog at the next start, and the next backup or copy picks up what it
//! left. Long-running commands (the binlog archiver, later the daemon) call
//! [`cooperative_stop`] instead: the first signal sets a flag they poll, so they finish their
//! work (a final flush) and return normally; a second signal still ends the process at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Mutex, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::job::Cancel;

static STOPPING: AtomicBool = AtomicBool::new(false);
/// Set by [`cooperative_stop`]: where the first signal goes instead of exiting.
static COOPERATIVE: OnceLock<Cancel> = OnceLock::new();
/// Set by [`daemon_signals`]: SIGHUP reloads, the first SIGTERM/SIGINT stops cleanly.
static DAEMON: OnceLock<Mutex<Sender<DaemonSignal>>> = OnceLock::new();

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonSignal {
    /// SIGHUP: read the config again (a broken one is refused and the old one kept).
    Reload,
    /// SIGTERM/SIGINT: stop cleanly within seconds.
    Stop,
}

/// From now on SIGHUP and the first SIGTERM/SIGINT arrive on the returned channel instead of
/// ending the process (a second SIGTERM/SIGINT still exits at once). For the daemon.
pub fn daemon_signals() -> Receiver<DaemonSignal> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = DAEMON.set(Mutex::new(tx));
    rx
}

/// Whether a signal is being handled: the process is about to exit with its code, and the
/// main thread must not exit first with another one.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// From now on the first SIGINT/SIGTERM/SIGHUP sets the returned flag instead of ending the
/// process; the caller polls it, stops cleanly and returns. A second signal exits at once.
/// Called once per process (a second call returns the same flag).
pub fn cooperative_stop() -> Cancel {
    COOPERATIVE.get_or_init(Cancel::default).clone()
}

/// Installs the handlers and the thread that acts on them. Call first in `main`.
pub fn install() {
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            // The default dispositions stay: a signal still ends the process, only less tidily.
            eprintln!("dxbackup: cannot install signal handlers: {e}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut asked = false;
            for sig in signals.forever() {
                if let Some(tx) = DAEMON.get() {
                    let tx = tx.lock().unwrap_or_else(|e| e.into_inner());
                    let event = match sig {
                        SIGHUP => Some(DaemonSignal::Reload),
                        _ if !asked => {
                            asked = true;
                            Some(DaemonSignal::Stop)
                        }
                        _ => None,
                    };
                    if let Some(event) = event {
                        if tx.send(event).is_ok() {
                            continue;
                        }
                    }
                }
                if let (false, Some(flag)) = (asked, COOPERATIVE.get()) {
                    asked = true;
                    eprintln!(
                        "dxbackup: signal {sig}: stopping after the work in hand (send it again to stop at once)"
                    );
                    flag.cancel();
                    continue;
                }
                STOPPING.store(true, Ordering::SeqCst);
                if crate::repo::remote_connections_open() {
                    eprintln!("dxbackup: stopped by signal {sig}; closing remote connections");
                } else {
                    eprintln!("dxbackup: stopped by signal {sig}");
                }
                // No destructor runs after exit: a held repository lock would stay behind.
                crate::repo::release_locks();
                crate::repo::close_remote_connections();
                std::process::exit(128 + sig);
            }
        });
    if let Err(e) = spawned {
        eprintln!("dxbackup: cannot start the signal thread: {e}");
    }
}
