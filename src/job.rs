//! The operations, as the CLI, the daemon, the web UI and the alerts call them alike: a
//! resolved [`Site`] (config, state directory), repository handles, the catalog, a cancel
//! token in; a `Serialize` outcome out. Nothing here prints or reads process-wide state:
//! rendering is the caller's, and two jobs can run in one process.

pub mod backup;
pub mod binlog;
pub mod copy;
pub mod dbarchive;
pub mod diff;
pub mod drill;
pub mod forget;
pub mod housekeep;
pub mod init;
pub mod log;
pub mod monitor;
pub mod mysql_full;
pub mod recover;
pub mod restore;
pub mod restore_db;
pub mod rto;
pub mod run;
mod site;
pub mod status;
pub mod verify;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use site::Site;

/// Asks a running job to stop at its next safe point (a backup leaves no snapshot, the
/// archiver stores what it holds). Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself, for loops that poll an `AtomicBool`.
    pub fn as_atomic(&self) -> &AtomicBool {
        &self.0
    }
}

/// `1 snapshot`, `2 snapshots`: counts agree in number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
