//! The daemon's jobs: each slot run as a child `dxbackup --json JOB ...` (the CLI's own code
//! path), at lowered CPU and I/O priority, with a log file, a timeout, and retries with backoff
//! when it fails; every attempt recorded as a schedule run.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::DaemonOptions;
use crate::catalog::{Catalog, RunStatus, ScheduleRunEnd, ScheduleRunStart};
use crate::job::Site;
use crate::schedule::{self, JobKind, Mode, ModeSetting, Schedule};

/// Nice value of the children (the seed's backups ran beside the ETL they protect).
const NICE: i32 = 10;

struct Running {
    schedule: Schedule,
    slot: jiff::Timestamp,
    attempt: u32,
    record: i64,
    child: Child,
    started: Instant,
    /// Set once a timeout asked the child to stop.
    timed_out: Option<Instant>,
}

/// A failed slot waiting to be tried again.
struct Retry {
    schedule: Schedule,
    slot: jiff::Timestamp,
    attempt: u32,
    at: Instant,
}

pub struct Runner {
    opts: DaemonOptions,
    running: BTreeMap<String, Running>,
    retries: Vec<Retry>,
}

impl Runner {
    pub fn new(opts: DaemonOptions) -> Self {
        Self {
            opts,
            running: BTreeMap::new(),
            retries: Vec::new(),
        }
    }

    pub fn is_running(&self, schedule: &str) -> bool {
        self.running.contains_key(schedule)
    }

    /// Starts `attempt` of `s`'s `slot`: a child process, or (monitor) a check in process.
    pub fn start(
        &mut self,
        s: &Schedule,
        slot: jiff::Timestamp,
        attempt: u32,
        catch_up: bool,
        catalog: &Catalog,
        site: &Site,
    ) -> anyhow::Result<()> {
        let (mode, reason) = mode_for(s, site);
        if s.job == JobKind::Monitor {
            return run_in_process(s, slot, catch_up, catalog, site);
        }
        let logs = self.opts.state_dir.join("logs");
        crate::private::dir(&logs)?;
        let log_path = logs.join(format!(
            "{}-{}-{attempt}.log",
            s.name,
            slot.strftime("%Y%m%dT%H%M%S")
        ));
        let log = crate::private::append(&log_path)?;
        let record = catalog.start_schedule_run(&ScheduleRunStart {
            schedule: &s.name,
            job: s.job.as_str(),
            slot,
            attempt,
            catch_up,
            mode: mode.map(Mode::as_str),
            mode_reason: Some(&reason),
            log: Some(&log_path.to_string_lossy()),
        })?;
        let mut cmd = child_command(&self.opts, s, mode);
        cmd.stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null());
        lower_priority(&mut cmd);
        tracing::info!(schedule = %s.name, attempt, mode = mode.map_or("-", Mode::as_str), "job started: {reason}");
        match cmd.spawn() {
            Ok(child) => {
                self.running.insert(
                    s.name.clone(),
                    Running {
                        schedule: s.clone(),
                        slot,
                        attempt,
                        record,
                        child,
                        started: Instant::now(),
                        timed_out: None,
                    },
                );
                Ok(())
            }
            Err(e) => {
                catalog.finish_schedule_run(
                    record,
                    &ScheduleRunEnd {
                        status: RunStatus::Failed,
                        error: Some(format!("cannot start the job: {e}")),
                    },
                )?;
                Err(e.into())
            }
        }
    }

    /// Records the jobs that ended; a failed one is retried with backoff (1, 2, 4 min).
    pub fn reap(&mut self, catalog: &Catalog) {
        let done: Vec<String> = self
            .running
            .iter_mut()
            .filter_map(|(name, r)| match r.child.try_wait() {
                Ok(Some(_)) | Err(_) => Some(name.clone()),
                Ok(None) => None,
            })
            .collect();
        for name in done {
            let Some(mut r) = self.running.remove(&name) else {
                continue;
            };
            let status = r.child.wait().ok();
            let (run_status, error) = match (status.and_then(|s| s.code()), r.timed_out) {
                (_, Some(_)) => (
                    RunStatus::Failed,
                    Some(format!(
                        "timed out after {}: cancelled",
                        humantime::format_duration(r.schedule.timeout.unwrap_or_default())
                    )),
                ),
                (Some(0), None) => (RunStatus::Ok, None),
                (Some(1), None) => (RunStatus::Warning, None),
                (Some(c), None) => (
                    RunStatus::Failed,
                    Some(format!("exit code {c}; see its log")),
                ),
                (None, None) => (RunStatus::Failed, Some("killed by a signal".to_string())),
            };
            tracing::info!(schedule = %name, status = run_status.as_str(), secs = r.started.elapsed().as_secs(), "job ended");
            let _ = catalog.finish_schedule_run(
                r.record,
                &ScheduleRunEnd {
                    status: run_status,
                    error: error.clone(),
                },
            );
            if run_status == RunStatus::Failed {
                match schedule::retry_delay(r.attempt) {
                    Some(delay) => {
                        tracing::warn!(schedule = %name, "job failed ({}); retry {} in {}", error.unwrap_or_default(), r.attempt, humantime::format_duration(delay));
                        self.retries.push(Retry {
                            schedule: r.schedule,
                            slot: r.slot,
                            attempt: r.attempt + 1,
                            at: Instant::now() + delay,
                        });
                    }
                    None => {
                        tracing::error!(schedule = %name, "job failed {} times; giving up on this slot", r.attempt)
                    }
                }
            }
        }
    }

    /// Starts the retries whose backoff has passed (unless the schedule runs again already).
    pub fn run_due_retries(&mut self, catalog: &Catalog, site: &Site) {
        let now = Instant::now();
        let (due, later): (Vec<Retry>, Vec<Retry>) =
            self.retries.drain(..).partition(|r| r.at <= now);
        self.retries = later;
        for r in due {
            if self.is_running(&r.schedule.name) {
                continue;
            }
            if let Err(e) = self.start(&r.schedule, r.slot, r.attempt, false, catalog, site) {
                tracing::warn!(schedule = %r.schedule.name, "retry not started: {e:#}");
            }
        }
    }

    /// Asks a job past its timeout to stop (SIGTERM: a backup leaves no snapshot), and kills
    /// one that does not within the grace.
    pub fn enforce_timeouts(&mut self) {
        for r in self.running.values_mut() {
            let Some(limit) = r.schedule.timeout else {
                continue;
            };
            match r.timed_out {
                None if r.started.elapsed() > limit => {
                    tracing::warn!(schedule = %r.schedule.name, "job ran past its timeout of {}: cancelling it", humantime::format_duration(limit));
                    signal(&r.child, libc::SIGTERM);
                    r.timed_out = Some(Instant::now());
                }
                Some(t) if t.elapsed() > super::STOP_GRACE => {
                    let _ = r.child.kill();
                }
                _ => {}
            }
        }
    }

    /// Stops every job: SIGTERM, then SIGKILL after `grace`; records them interrupted.
    pub fn stop_all(&mut self, catalog: &Catalog, grace: Duration) {
        for r in self.running.values() {
            signal(&r.child, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline
            && self
                .running
                .values_mut()
                .any(|r| matches!(r.child.try_wait(), Ok(None)))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        for (name, mut r) in std::mem::take(&mut self.running) {
            let _ = r.child.kill();
            let _ = r.child.wait();
            tracing::warn!(schedule = %name, "job interrupted by the daemon's stop");
            let _ = catalog.finish_schedule_run(
                r.record,
                &ScheduleRunEnd {
                    status: RunStatus::Interrupted,
                    error: Some("the daemon was stopped while the job ran".into()),
                },
            );
        }
    }
}

/// The mode a backup runs in and why; `None` for jobs without modes.
fn mode_for(s: &Schedule, site: &Site) -> (Option<Mode>, String) {
    if !matches!(s.job, JobKind::Run | JobKind::Backup) {
        return (None, format!("{} as configured", s.job));
    }
    let o = crate::job::backup::BackupOptions::for_setting(site, s.mode);
    (Some(o.mode), o.reason)
}

/// The command line of a schedule's job: the CLI of this very binary, `--json` so its log
/// ends with the outcome.
pub fn child_command(opts: &DaemonOptions, s: &Schedule, mode: Option<Mode>) -> Command {
    let mut cmd = Command::new(&opts.exe);
    cmd.arg("-c")
        .arg(super::in_force(opts))
        .arg("--config-base")
        .arg(opts.config.parent().unwrap_or(std::path::Path::new("/")))
        .arg("--state-dir")
        .arg(&opts.state_dir)
        .arg("--json");
    match s.job {
        JobKind::Run => {
            cmd.arg("run");
            for src in &s.sources {
                cmd.arg("--source").arg(src);
            }
        }
        JobKind::Backup => {
            cmd.arg("backup").args(&s.sources);
        }
        JobKind::Copy => {
            cmd.arg("copy");
        }
        JobKind::Verify => {
            cmd.arg("verify");
            if let Some(p) = s.read_data {
                cmd.arg(format!("--read-data={}", p.0));
            }
        }
        JobKind::Drill => {
            cmd.arg("drill").args(&s.sources);
        }
        JobKind::Forget => {
            cmd.args(["forget", "--prune"]);
        }
        JobKind::Report => {
            // The last week's report, written where the daemon keeps its files (`report`
            // observes the repositories first).
            let day = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
            cmd.arg("report")
                .arg("--html")
                .arg(
                    opts.state_dir
                        .join("reports")
                        .join(format!("report-{day}.html")),
                )
                .args(["--since", "7d"]);
        }
        JobKind::Monitor => unreachable!("run in process"),
    }
    if let Some(m) = mode {
        cmd.arg("--mode").arg(m.as_str());
    }
    let _ = ModeSetting::Auto;
    cmd
}

/// `monitor` evaluates in the daemon itself (it only reads) and sends the alerts due, as
/// `dxbackup monitor` does; a channel that fails is recorded there and fails nothing here.
fn run_in_process(
    s: &Schedule,
    slot: jiff::Timestamp,
    catch_up: bool,
    catalog: &Catalog,
    site: &Site,
) -> anyhow::Result<()> {
    let record = catalog.start_schedule_run(&ScheduleRunStart {
        schedule: &s.name,
        job: s.job.as_str(),
        slot,
        attempt: 1,
        catch_up,
        mode: None,
        mode_reason: None,
        log: None,
    })?;
    let end = match crate::job::monitor::monitor(site, &Default::default()) {
        Ok(out) => {
            let notes: Vec<String> = out
                .findings
                .iter()
                .map(|f| format!("{}: {}", f.key, f.message))
                .collect();
            for n in &notes {
                tracing::warn!(schedule = %s.name, "{n}");
            }
            ScheduleRunEnd {
                status: crate::job::run::run_status(out.level),
                error: (!notes.is_empty()).then(|| notes.join("\n")),
            }
        }
        Err(e) => ScheduleRunEnd {
            status: RunStatus::Failed,
            error: Some(format!("{e:#}")),
        },
    };
    catalog.finish_schedule_run(record, &end)?;
    Ok(())
}

fn signal(child: &Child, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill has no memory preconditions; `pid` is our own child, not yet reaped.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Lower CPU and I/O priority, and death with the daemon: a job must never outlive it.
fn lower_priority(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-
    // safe system calls (prctl, setpriority, syscall), touching no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::setpriority(libc::PRIO_PROCESS, 0, NICE);
            // ioprio_set(IOPRIO_WHO_PROCESS, self, best-effort class 2, lowest level 7).
            libc::syscall(libc::SYS_ioprio_set, 1, 0, (2 << 13) | 7);
            Ok(())
        });
    }
}
