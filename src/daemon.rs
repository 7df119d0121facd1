//! `dxbackup daemon`: one long-running process that does unattended what the seed's crontab
//! and "smart scheduler" did. It runs the `[schedule.*]` entries (or the seed's plan) with
//! catch-up, skips and retries (`schedule::due`), picks the load-aware mode at the start of
//! each backup, keeps the binlog archivers of `binlog = true` sources alive, records every
//! attempt in the catalog, reloads its config on SIGHUP (a broken one is refused and the old
//! one kept) and stops cleanly on SIGTERM.
//!
//! Jobs and archivers run as child processes of the same binary (`dxbackup --json run`, ...):
//! each is the same code path as the CLI (the `job` layer), and a child can be cancelled at
//! any point, a timeout enforced and a crash contained, which in-process calls into rustic's
//! archiver and copy cannot offer (they have no cancellation). Children get a parent-death
//! signal, lowered CPU and I/O priority, and a log file each.

mod archivers;
mod jobs;
pub mod systemd;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::job::Site;
use crate::schedule::{self, Decision, Schedule};

pub use jobs::child_command;

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub config: PathBuf,
    pub state_dir: PathBuf,
    /// The binary its children run (this one).
    pub exe: PathBuf,
}

/// What a signal asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Reload,
    Stop,
}

/// The daemon's heartbeat, in the catalog's meta table every few seconds; `status` reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    pub at: jiff::Timestamp,
    pub pid: u32,
    pub host: String,
    pub started_at: jiff::Timestamp,
    pub version: String,
}

pub const HEARTBEAT_KEY: &str = "daemon-heartbeat";
/// How often the heartbeat is written; `status` calls the daemon down after a few missed.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// Children are asked to stop (SIGTERM) this long before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// Runs until a Stop event. An error only for what makes starting pointless (a broken
/// config at start-up, an unusable state directory).
pub fn run(opts: &DaemonOptions, events: Receiver<Event>) -> anyhow::Result<()> {
    let mut site = load(opts)?;
    let mut schedules = schedule::effective(&site.config)
        .context("the schedules cannot be evaluated; run 'dxbackup config check'")?;
    commit_config(opts)?;
    // The dashboard of `[web]`, on a thread and runtime of its own (`crate::web`).
    let web = crate::web::start(opts, &site);
    let catalog = site.catalog()?;
    // Opening the catalog marked the runs of a killed daemon (and its children) interrupted.
    release_stale_locks(&site);
    let started_at = jiff::Timestamp::now();
    let mut runner = jobs::Runner::new(opts.clone());
    let mut archivers = archivers::Archivers::new(opts.clone());
    archivers.reconcile(&site);
    log_plan(&schedules);
    systemd::notify_ready(&format!("{} schedules", schedules.len()));
    let mut last_beat = Instant::now() - HEARTBEAT_EVERY;
    loop {
        let now = jiff::Zoned::now();
        runner.reap(&catalog);
        runner.enforce_timeouts();
        for s in &schedules {
            if let Err(e) = tick(s, &catalog, &mut runner, &site, &now) {
                tracing::warn!(schedule = %s.name, "{e:#}");
            }
        }
        runner.run_due_retries(&catalog, &site);
        archivers.supervise(&catalog);
        if last_beat.elapsed() >= HEARTBEAT_EVERY {
            beat(&catalog, started_at);
            systemd::notify_watchdog();
            last_beat = Instant::now();
        }
        match events.recv_timeout(Duration::from_millis(250)) {
            Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Event::Reload) => match reload(opts).and_then(|r| commit_config(opts).map(|()| r)) {
                Ok((new_site, new_schedules)) => {
                    tracing::warn!(
                        "config reloaded: {} schedules; running jobs finish under the old config",
                        new_schedules.len()
                    );
                    site = new_site;
                    schedules = new_schedules;
                    archivers.reconcile(&site);
                    log_plan(&schedules);
                    if let Some(w) = &web {
                        w.reload(opts);
                    }
                }
                Err(e) => {
                    tracing::error!("config reload refused, the old config stays in force: {e:#}")
                }
            },
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    systemd::notify_stopping();
    tracing::warn!("daemon stopping: asking jobs and archivers to stop");
    runner.stop_all(&catalog, STOP_GRACE);
    archivers.stop_all(STOP_GRACE);
    let _ = catalog.interrupt_my_schedule_runs("the daemon was stopped while the job ran");
    if let Some(w) = web {
        w.stop();
    }
    Ok(())
}

/// One schedule at one instant: run its due slot, skip it, or wait.
fn tick(
    s: &Schedule,
    catalog: &Catalog,
    runner: &mut jobs::Runner,
    site: &Site,
    now: &jiff::Zoned,
) -> anyhow::Result<()> {
    let running = runner.is_running(&s.name);
    let handled = catalog.last_slot_handled(&s.name)?;
    match schedule::due(s, handled, running, now)? {
        Decision::Wait { .. } => Ok(()),
        Decision::Skip { slot, reason } => {
            tracing::warn!(schedule = %s.name, slot = %slot, "slot skipped: {reason}");
            catalog.record_schedule_skip(
                &s.name,
                s.job.as_str(),
                slot.timestamp(),
                &reason.to_string(),
            )?;
            Ok(())
        }
        Decision::Run { slot, catch_up } => {
            if catch_up {
                tracing::warn!(schedule = %s.name, slot = %slot, "catching up a missed slot (once)");
            }
            runner.start(s, slot.timestamp(), 1, catch_up, catalog, site)
        }
    }
}

/// Loads the config file and, when it is valid, makes it the one in force: a private copy in
/// the state directory that the daemon's children read (`-c COPY --config-base DIR`), so a
/// file edited into a broken state later never reaches a job before a reload accepted it.
fn load(opts: &DaemonOptions) -> anyhow::Result<Site> {
    let text = std::fs::read(&opts.config)
        .with_context(|| format!("cannot read config {}", opts.config.display()))?;
    let dir = opts.state_dir.join("daemon");
    crate::private::dir(&dir)?;
    let candidate = dir.join("config.toml.new");
    crate::private::write(&candidate, &text)?;
    let mut site = Site::load(&candidate, opts.state_dir.clone())?;
    // Relative paths in the config stay relative to the original file's folder.
    site.config.path = opts.config.clone();
    Ok(site)
}

/// Makes the candidate written by `load` the config in force.
fn commit_config(opts: &DaemonOptions) -> anyhow::Result<()> {
    let dir = opts.state_dir.join("daemon");
    std::fs::rename(dir.join("config.toml.new"), in_force(opts))?;
    Ok(())
}

/// The copy of the config the daemon's children read.
pub fn in_force(opts: &DaemonOptions) -> PathBuf {
    opts.state_dir.join("daemon").join("config.toml")
}

/// A new config is taken only when it is one `config check` would pass: parsed, valid, its
/// schedules evaluable, its password sources and roots resolvable.
fn reload(opts: &DaemonOptions) -> anyhow::Result<(Site, Vec<Schedule>)> {
    let site = load(opts)?;
    let schedules = schedule::effective(&site.config)?;
    for name in site.config.repository.keys() {
        site.spec(name)?;
    }
    for (name, src) in &site.config.source {
        match src.kind {
            crate::config::SourceKind::Files => {
                site.source_root(name, src)?;
            }
            crate::config::SourceKind::Mysql => {
                site.mysql_password(name, src)?;
            }
        }
    }
    Ok((site, schedules))
}

/// Locks this host's killed processes left behind: removed before anything runs, so no job
/// waits `lock-wait` for a dead holder.
fn release_stale_locks(site: &Site) {
    for name in site.config.repository.keys() {
        let result = site
            .open_repo(Some(name))
            .and_then(|r| Ok(r.unlock(false)?));
        match result {
            Ok(u) if !u.removed.is_empty() => {
                tracing::warn!(repository = %name, "removed {} stale lock(s)", u.removed.len())
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(repository = %name, "cannot check locks: {e:#}"),
        }
    }
}

fn beat(catalog: &Catalog, started_at: jiff::Timestamp) {
    let hb = Heartbeat {
        at: jiff::Timestamp::now(),
        pid: std::process::id(),
        host: crate::host_name(),
        started_at,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    if let Err(e) = serde_json::to_string(&hb)
        .map_err(anyhow::Error::from)
        .and_then(|t| Ok(catalog.set_meta(HEARTBEAT_KEY, &t)?))
    {
        tracing::warn!("cannot record the heartbeat: {e:#}");
    }
}

/// The last heartbeat recorded, if a daemon ever ran with this state directory.
pub fn last_heartbeat(catalog: &Catalog) -> Option<Heartbeat> {
    let text = catalog.meta(HEARTBEAT_KEY).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

fn log_plan(schedules: &[Schedule]) {
    let now = jiff::Zoned::now();
    for s in schedules {
        let next = schedule::next_after(s, &now)
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|e| e.to_string());
        tracing::info!(schedule = %s.name, job = s.job.as_str(), cron = %s.cron, next = %next, "scheduled");
    }
}
