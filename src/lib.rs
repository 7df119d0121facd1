//! dxbackup: backup and disaster recovery for DataX deployments.
//!
//! The binary is a thin shell over this library: `cli` parses and prints, the modules below do
//! the work and never print.

pub mod alert;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod datax;
pub mod job;
pub mod manifest;
pub mod metrics;
pub mod monitor;
pub mod private;
pub mod repo;
pub mod report;
pub mod restore;
pub mod schedule;
pub mod source;
pub mod stats;
pub mod status;
pub mod targets;
pub mod units;
pub mod web;

/// This machine's name, as recorded in snapshots and runs.
pub fn host_name() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Whether this process runs as root (a server it starts must then be told `--user=root`).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
