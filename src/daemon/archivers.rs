//! The binlog archivers of every `binlog = true` source, kept alive by the daemon: each a
//! child `dxbackup binlog NAME` (which itself rides out server restarts and network cuts),
//! restarted with backoff if it ever exits, stopped cleanly (a final flush) with the daemon.
//! The archive's lag is recorded every minute.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::DaemonOptions;
use crate::catalog::Catalog;
use crate::config::SourceKind;
use crate::job::Site;

struct Archiver {
    child: Option<Child>,
    started: Instant,
    /// When to start it again after it exited.
    restart_at: Option<Instant>,
    backoff: Duration,
}

pub struct Archivers {
    opts: DaemonOptions,
    by_source: BTreeMap<String, Archiver>,
    last_lag: Instant,
}

const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl Archivers {
    pub fn new(opts: DaemonOptions) -> Self {
        Self {
            opts,
            by_source: BTreeMap::new(),
            last_lag: Instant::now(),
        }
    }

    /// Starts the archivers the config asks for and stops those it no longer does.
    pub fn reconcile(&mut self, site: &Site) {
        let wanted: Vec<String> = site
            .config
            .source
            .iter()
            .filter(|(_, s)| s.kind == SourceKind::Mysql && s.binlog == Some(true))
            .map(|(n, _)| n.clone())
            .collect();
        let gone: Vec<String> = self
            .by_source
            .keys()
            .filter(|n| !wanted.contains(n))
            .cloned()
            .collect();
        for name in gone {
            if let Some(mut a) = self.by_source.remove(&name) {
                tracing::warn!(source = %name, "binlog archiver no longer configured: stopping it");
                stop(&mut a, Duration::from_secs(8));
            }
        }
        for name in wanted {
            if !self.by_source.contains_key(&name) {
                let a = self.spawn(&name);
                self.by_source.insert(name, a);
            }
        }
    }

    fn spawn(&self, name: &str) -> Archiver {
        let logs = self.opts.state_dir.join("logs");
        let log = crate::private::dir(&logs)
            .and_then(|()| crate::private::append(&logs.join(format!("binlog-{name}.log"))));
        let mut cmd = Command::new(&self.opts.exe);
        cmd.arg("-c")
            .arg(super::in_force(&self.opts))
            .arg("--config-base")
            .arg(
                self.opts
                    .config
                    .parent()
                    .unwrap_or(std::path::Path::new("/")),
            )
            .arg("--state-dir")
            .arg(&self.opts.state_dir)
            .arg("binlog")
            .arg(name)
            .stdin(Stdio::null());
        match log {
            Ok(f) => {
                if let Ok(f2) = f.try_clone() {
                    cmd.stdout(f2);
                }
                cmd.stderr(f);
            }
            Err(e) => tracing::warn!(source = name, "cannot open the archiver's log: {e}"),
        }
        die_with_parent(&mut cmd);
        let child = match cmd.spawn() {
            Ok(c) => {
                tracing::info!(source = name, pid = c.id(), "binlog archiver started");
                Some(c)
            }
            Err(e) => {
                tracing::error!(source = name, "cannot start the binlog archiver: {e}");
                None
            }
        };
        Archiver {
            restart_at: child
                .is_none()
                .then(|| Instant::now() + Duration::from_secs(1)),
            child,
            started: Instant::now(),
            backoff: Duration::from_secs(1),
        }
    }

    /// Restarts archivers that exited (backoff 1 s doubling to a minute, back to 1 s after
    /// one that ran for a while) and records each source's lag every minute.
    pub fn supervise(&mut self, catalog: &Catalog) {
        let names: Vec<String> = self.by_source.keys().cloned().collect();
        for name in names {
            let restart = {
                let a = self.by_source.get_mut(&name).expect("listed above");
                if let Some(c) = a.child.as_mut() {
                    if let Ok(Some(status)) = c.try_wait() {
                        if a.started.elapsed() > Duration::from_secs(60) {
                            a.backoff = Duration::from_secs(1);
                        }
                        tracing::error!(source = %name, %status, "binlog archiver exited; restarting in {}", humantime::format_duration(a.backoff));
                        a.child = None;
                        a.restart_at = Some(Instant::now() + a.backoff);
                        a.backoff = (a.backoff * 2).min(MAX_BACKOFF);
                    }
                }
                a.child.is_none() && a.restart_at.is_some_and(|t| t <= Instant::now())
            };
            if restart {
                let backoff = self.by_source[&name].backoff;
                let mut a = self.spawn(&name);
                a.backoff = backoff;
                self.by_source.insert(name, a);
            }
        }
        if self.last_lag.elapsed() >= Duration::from_secs(60) {
            self.last_lag = Instant::now();
            for name in self.by_source.keys() {
                record_lag(catalog, name);
            }
        }
    }

    pub fn stop_all(&mut self, grace: Duration) {
        for a in self.by_source.values_mut() {
            if let Some(c) = &a.child {
                signal(c, libc::SIGTERM);
            }
        }
        for (name, mut a) in std::mem::take(&mut self.by_source) {
            stop(&mut a, grace);
            tracing::info!(source = %name, "binlog archiver stopped");
        }
    }
}

/// The age of the archiver's last report (it reports every flush): how far behind the
/// archive may be, recorded as `binlog-lag:NAME` (seconds).
fn record_lag(catalog: &Catalog, name: &str) {
    let heartbeat = catalog
        .meta(&format!("binlog-current:{name}"))
        .ok()
        .flatten()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    if let Some(t) = heartbeat {
        let lag = jiff::Timestamp::now().as_second() - t.as_second();
        let _ = catalog.set_meta(&format!("binlog-lag:{name}"), &lag.max(0).to_string());
    }
}

fn stop(a: &mut Archiver, grace: Duration) {
    let Some(c) = a.child.as_mut() else { return };
    signal(c, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn signal(child: &Child, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill has no memory preconditions; `pid` is our own child, not yet reaped.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: runs in the forked child before exec; prctl is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
