//! Actions: run a schedule now, drill a source now, verify now, look at the repositories
//! now. Each is a POST (CSRF-checked by `auth`) that starts the daemon's own command line for
//! the job (`daemon::child_command`: the same child process, priority, log file and catalog
//! records as a scheduled slot) and answers with a page that follows its progress; what the
//! job does lands in the catalog's runs, drills and verifications like any other.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use maud::html;
use serde::Serialize;

use super::auth::Auth;
use super::layout::{page, page_reloading, Nav};
use super::views::{badge, local};
use super::{AppState, Error};
use crate::catalog::{RunStatus, ScheduleRunEnd, ScheduleRunStart};
use crate::schedule::{CronExpr, JobKind, Mode, ModeSetting, Schedule};

/// What actions started outside a schedule are recorded under.
pub const DASHBOARD: &str = "dashboard";

#[derive(Default)]
pub struct Actions {
    next: AtomicU64,
    list: Mutex<BTreeMap<u64, Action>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub id: u64,
    pub what: String,
    pub schedule: String,
    pub job: &'static str,
    pub started_at: jiff::Timestamp,
    pub finished_at: Option<jiff::Timestamp>,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub log: String,
    /// Its record among the schedule runs.
    pub schedule_run: i64,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/actions", get(list_page))
        .route("/actions/{id}", get(action_page))
        .route("/actions/schedule/{name}", post(run_schedule))
        .route("/actions/drill/{source}", post(drill))
        .route("/actions/verify", post(verify))
        .route("/actions/observe", post(observe))
        .route(
            "/api/v1/actions",
            get(|State(st): State<AppState>| async move { Json(list(&st)) }),
        )
        .route("/api/v1/actions/{id}", get(action_json))
        .route("/api/v1/actions/schedule/{name}", post(api_run_schedule))
        .route("/api/v1/actions/drill/{source}", post(api_drill))
        .route("/api/v1/actions/verify", post(api_verify))
}

fn list(st: &AppState) -> Vec<Action> {
    st.0.actions
        .list
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .rev()
        .cloned()
        .collect()
}

fn get_action(st: &AppState, id: u64) -> Result<Action, Error> {
    st.0.actions
        .list
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .cloned()
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no action #{id} (actions are kept until the daemon restarts)"
            ))
        })
}

/// A schedule of the config by name, as the daemon runs it.
fn configured(st: &AppState, name: &str) -> Result<Schedule, Error> {
    crate::schedule::effective(&st.site().config)
        .map_err(|e| Error::Internal(e.into()))?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::NotFound(format!("no schedule `{name}`")))
}

/// A one-off job, recorded under `dashboard`.
fn one_off(job: JobKind, sources: Vec<String>) -> Schedule {
    Schedule {
        name: DASHBOARD.into(),
        cron: CronExpr::parse("0 0 1 1 *").expect("a valid cron"),
        job,
        sources,
        mode: ModeSetting::Auto,
        read_data: None,
        timeout: None,
        default: false,
    }
}

async fn start(st: &AppState, s: Schedule, what: String) -> Result<Action, Error> {
    let Some(opts) = st.0.daemon.clone() else {
        return Err(Error::Unavailable(
            "actions start jobs through the daemon; this dashboard runs without one".into(),
        ));
    };
    let state = st.clone();
    st.blocking(move |site, catalog| {
        let busy = state
            .0
            .actions
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|a| {
                a.status == RunStatus::Running && a.schedule == s.name && a.job == s.job.as_str()
            });
        let scheduled = catalog
            .schedule_runs(Some(&s.name), 1)?
            .first()
            .is_some_and(|r| r.status == RunStatus::Running);
        if busy || (scheduled && s.name != DASHBOARD) {
            return Err(Error::Conflict(format!("{what}: already running")));
        }
        let (mode, reason) = if s.job.backs_up() {
            let o = crate::job::backup::BackupOptions::for_setting(site, s.mode);
            (Some(o.mode), o.reason)
        } else {
            (None, "as configured".into())
        };
        let now = jiff::Timestamp::now();
        let logs = opts.state_dir.join("logs");
        crate::private::dir(&logs).map_err(|e| Error::Internal(e.into()))?;
        let log = logs.join(format!(
            "{}-{}-{}.log",
            s.name,
            s.job.as_str(),
            now.strftime("%Y%m%dT%H%M%S%.3f")
        ));
        let record = catalog.start_schedule_run(&ScheduleRunStart {
            schedule: &s.name,
            job: s.job.as_str(),
            slot: now,
            attempt: 1,
            catch_up: false,
            mode: mode.map(Mode::as_str),
            mode_reason: Some(&format!("started from the dashboard; {reason}")),
            log: Some(&log.to_string_lossy()),
        })?;
        let id = state.0.actions.next.fetch_add(1, Ordering::SeqCst) + 1;
        let action = Action {
            id,
            what,
            schedule: s.name.clone(),
            job: s.job.as_str(),
            started_at: now,
            finished_at: None,
            status: RunStatus::Running,
            exit_code: None,
            log: log.to_string_lossy().into_owned(),
            schedule_run: record,
        };
        state
            .0
            .actions
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, action.clone());
        spawn(state.clone(), opts, s, mode, &log, id, record)?;
        tracing::warn!(action = id, "dashboard: started {}", action.what);
        Ok(action)
    })
    .await
}

/// Starts the child on a thread of its own that waits for it: the parent-death signal
/// follows the thread that forked, which must live as long as the child.
fn spawn(
    st: AppState,
    opts: crate::daemon::DaemonOptions,
    s: Schedule,
    mode: Option<Mode>,
    log: &Path,
    id: u64,
    record: i64,
) -> Result<(), Error> {
    let file = crate::private::append(log).map_err(|e| Error::Internal(e.into()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = st.clone();
    std::thread::Builder::new()
        .name(format!("dxbackup-action-{id}"))
        .spawn(move || {
            let mut cmd = crate::daemon::child_command(&opts, &s, mode);
            let out = file.try_clone();
            let Ok(out) = out else { return };
            cmd.stdout(out).stderr(file).stdin(Stdio::null());
            // SAFETY: runs in the forked child before exec; only async-signal-safe calls.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    libc::setpriority(libc::PRIO_PROCESS, 0, 10);
                    Ok(())
                });
            }
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok(()));
            let code = child.wait().ok().and_then(|s| s.code());
            finish(&waiter, id, record, code);
        })
        .map_err(|e| Error::Internal(e.into()))?;
    match rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            finish(&st, id, record, None);
            Err(Error::Internal(anyhow::anyhow!(
                "cannot start the job: {e}"
            )))
        }
        Err(_) => Err(Error::Internal(anyhow::anyhow!(
            "the job's thread ended early"
        ))),
    }
}

fn finish(st: &AppState, id: u64, record: i64, code: Option<i32>) {
    let (status, error) = match code {
        Some(0) => (RunStatus::Ok, None),
        Some(1) => (RunStatus::Warning, None),
        Some(c) => (
            RunStatus::Failed,
            Some(format!("exit code {c}; see its log")),
        ),
        None => (
            RunStatus::Failed,
            Some("killed by a signal, or not started".to_string()),
        ),
    };
    if let Err(e) = st
        .site()
        .catalog()
        .and_then(|c| Ok(c.finish_schedule_run(record, &ScheduleRunEnd { status, error })?))
    {
        tracing::warn!("cannot record the end of dashboard action {id}: {e:#}");
    }
    if let Some(a) =
        st.0.actions
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
    {
        a.status = status;
        a.exit_code = code;
        a.finished_at = Some(jiff::Timestamp::now());
    }
    st.0.observer.wake();
}

fn see(a: &Action) -> Response {
    Redirect::to(&format!("/actions/{}", a.id)).into_response()
}

async fn run_schedule(
    State(st): State<AppState>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, Error> {
    let s = configured(&st, &name)?;
    let what = format!("schedule {name} ({})", s.job);
    Ok(see(&start(&st, s, what).await?))
}

async fn drill(
    State(st): State<AppState>,
    UrlPath(source): UrlPath<String>,
) -> Result<Response, Error> {
    Ok(see(&start_drill(&st, source).await?))
}

async fn start_drill(st: &AppState, source: String) -> Result<Action, Error> {
    if !st.site().config.source.contains_key(&source) {
        return Err(Error::NotFound(format!("no source `{source}`")));
    }
    start(
        st,
        one_off(JobKind::Drill, vec![source.clone()]),
        format!("drill of {source}"),
    )
    .await
}

async fn verify(State(st): State<AppState>) -> Result<Response, Error> {
    Ok(see(&start(
        &st,
        one_off(JobKind::Verify, vec![]),
        "verify of every repository".into(),
    )
    .await?))
}

async fn observe(State(st): State<AppState>) -> Response {
    st.0.observer.wake();
    Redirect::to("/").into_response()
}

async fn api_run_schedule(State(st): State<AppState>, UrlPath(name): UrlPath<String>) -> Response {
    let result = match configured(&st, &name) {
        Ok(s) => start(&st, s, format!("schedule {name}")).await,
        Err(e) => Err(e),
    };
    accepted(result)
}

async fn api_drill(State(st): State<AppState>, UrlPath(source): UrlPath<String>) -> Response {
    accepted(start_drill(&st, source).await)
}

async fn api_verify(State(st): State<AppState>) -> Response {
    accepted(
        start(
            &st,
            one_off(JobKind::Verify, vec![]),
            "verify of every repository".into(),
        )
        .await,
    )
}

fn accepted(r: Result<Action, Error>) -> Response {
    match r {
        Ok(a) => (axum::http::StatusCode::ACCEPTED, Json(a)).into_response(),
        Err(e) => e.json(),
    }
}

async fn action_json(State(st): State<AppState>, UrlPath(id): UrlPath<u64>) -> Response {
    match get_action(&st, id) {
        Ok(a) => Json(serde_json::json!({ "action": a, "log": tail(Path::new(&a.log), 200) }))
            .into_response(),
        Err(e) => e.json(),
    }
}

async fn list_page(State(st): State<AppState>, Extension(auth): Extension<Auth>) -> Response {
    let actions = list(&st);
    let body = html! {
        h1 { "Actions" }
        p.note { "Started from this dashboard since the daemon started. Run a schedule from the overview's job list, drill from a source's page." }
        (table(&actions))
    };
    page("Actions", Nav::Actions, &auth, None, body).into_response()
}

fn table(actions: &[Action]) -> maud::Markup {
    html! {
        table.actions-list { thead { tr { th { "#" } th { "What" } th { "Started" } th { "Status" } } }
            tbody { @for a in actions { tr data-action=(a.id) {
                td { a href={ "/actions/" (a.id) } { (a.id) } } td { (a.what) } td { (local(a.started_at)) }
                td { (badge(a.status.as_str(), a.status.as_str())) } } } } }
    }
}

async fn action_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
    UrlPath(id): UrlPath<u64>,
) -> Result<Response, Error> {
    let a = get_action(&st, id)?;
    let log_path = a.log.clone();
    let lines = st
        .blocking(move |_, _| Ok(tail(Path::new(&log_path), 200)))
        .await?;
    let running = a.status == RunStatus::Running;
    let body = html! {
        h1 { "Action #" (a.id) ": " (a.what) }
        p id="action-status" data-status=(a.status.as_str()) { (badge(a.status.as_str(), a.status.as_str()))
            " started " (local(a.started_at))
            @if let Some(f) = a.finished_at { ", ended " (local(f)) }
            @if running { " (this page follows it)" } }
        p { "What it does lands in " a href="/runs" { "Runs" } "." }
        h2 { "Log" }
        pre.log { (lines.join("\n")) }
    };
    let title = format!("Action {id}");
    Ok(if running {
        page_reloading(&title, Nav::Actions, &auth, 2, body)
    } else {
        page(&title, Nav::Actions, &auth, None, body)
    }
    .into_response())
}

/// The last `n` lines of a log (its last 256 KiB).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return vec![];
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(256 << 10)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}
