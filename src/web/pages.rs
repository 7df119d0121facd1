//! The pages: the overview, runs (filtered) and one run with its log, drills, the config as
//! stored (secrets' sources removed). Each model is fetched on the blocking pool from the
//! catalog and shared with the JSON API (`api.rs`); the source page is `source_page.rs`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::auth::Auth;
use super::charts::{line_chart, secs, Chart, Target, Unit};
use super::layout::{page, Nav};
use super::views::{self, ago, badge, local};
use super::{AppState, Error};
use crate::catalog::{DrillRecord, RunFilter, RunRecord, ScheduleRun, VerificationRecord};
use crate::report::overview::{self, Overview};
use crate::report::trend::Point;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview_page))
        .route("/runs", get(runs_page))
        .route("/runs/{id}", get(run_page))
        .route("/drills", get(drills_page))
        .route("/config", get(config_page))
        .merge(super::source_page::routes())
}

pub async fn overview_model(st: &AppState) -> Result<Overview, Error> {
    st.blocking(|site, catalog| Ok(overview::build(site, catalog, jiff::Timestamp::now())?))
        .await
}

async fn overview_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
) -> Result<Response, Error> {
    let o = overview_model(&st).await?;
    let now = o.generated_at;
    let csrf = auth.csrf().to_string();
    let body = html! {
        h1 { (o.host) " " (badge(views::level_name(o.level), views::level_name(o.level))) }
        p.note {
            "Repositories observed " (o.observed_at.map_or("not yet".into(), |t| ago(t, now)))
            "; this page refreshes itself every 30 s. "
            form.inline.actions method="post" action="/actions/observe" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Look at the repositories now" }
            }
        }
        (views::sources_table(&o.sources, now, true))
        h2 { "3-2-1" }
        (views::rule_321(&o.rule))
        h2 { "Repositories" }
        (views::repos_table(&o.repositories, now))
        h2 { "Open findings" }
        (views::findings(&o.findings, now))
        h2 { "Daemon and next jobs" }
        (views::daemon(&o.daemon, now))
        (views::next_jobs(&o.next_jobs, now, Some(&csrf)))
        p.actions { form.inline method="post" action="/actions/verify" {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" id="verify-now" { "Verify every repository now" } } }
    };
    Ok(page("Overview", Nav::Overview, &auth, Some(30), body).into_response())
}

/// The Runs page's filters, as query parameters.
#[derive(Debug, Default, Deserialize)]
pub struct RunsQuery {
    pub source: Option<String>,
    /// backup, run, copy, restore-db (runs); drill; verify; job (the daemon's attempts).
    pub kind: Option<String>,
    pub status: Option<String>,
    /// `YYYY-MM-DD` (local days), or a period back from now: `7d`, `30d`.
    pub since: Option<String>,
    pub until: Option<String>,
    pub page: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct RunsModel {
    pub kind: String,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub runs: Vec<RunRecord>,
    pub drills: Vec<DrillRecord>,
    pub verifications: Vec<VerificationRecord>,
    pub jobs: Vec<ScheduleRun>,
}

const PER_PAGE: usize = 100;

fn when(text: Option<&str>, end_of_day: bool) -> Result<Option<jiff::Timestamp>, Error> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let Ok(d) = humantime::parse_duration(t) {
        let back =
            jiff::SignedDuration::try_from(d).map_err(|e| Error::BadRequest(e.to_string()))?;
        return Ok(jiff::Timestamp::now().checked_sub(back).ok());
    }
    let date: jiff::civil::Date = t
        .parse()
        .map_err(|_| Error::BadRequest(format!("`{t}`: use YYYY-MM-DD or a period such as 7d")))?;
    let date = if end_of_day {
        date.tomorrow().unwrap_or(date)
    } else {
        date
    };
    let z = date
        .to_zoned(jiff::tz::TimeZone::system())
        .map_err(|e| Error::BadRequest(e.to_string()))?;
    Ok(Some(z.timestamp()))
}

pub async fn runs_model(st: &AppState, q: RunsQuery) -> Result<RunsModel, Error> {
    let since = when(q.since.as_deref(), false)?;
    let until = when(q.until.as_deref(), true)?;
    let some = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let (source, status, kind) = (some(&q.source), some(&q.status), some(&q.kind));
    let page = q.page.unwrap_or(1).max(1);
    st.blocking(move |_, catalog| {
        let mut m = RunsModel {
            kind: kind.clone().unwrap_or_default(),
            total: 0,
            page,
            per_page: PER_PAGE,
            runs: vec![],
            drills: vec![],
            verifications: vec![],
            jobs: vec![],
        };
        let from = since.unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let before = |t: jiff::Timestamp| until.is_none_or(|u| t < u);
        match kind.as_deref() {
            Some("drill") => {
                m.drills = catalog
                    .drills_since(source.as_deref(), from, 5000)?
                    .into_iter()
                    .map(|(_, d)| d)
                    .filter(|d| {
                        before(d.at) && status.as_deref().is_none_or(|s| (s == "ok") == d.ok)
                    })
                    .collect();
                m.total = m.drills.len();
            }
            Some("verify") => {
                m.verifications = catalog
                    .verifications_since(source.as_deref(), from, 5000)?
                    .into_iter()
                    .filter(|v| {
                        before(v.at)
                            && status
                                .as_deref()
                                .is_none_or(|s| (s == "ok") == (v.errors == 0))
                    })
                    .collect();
                m.total = m.verifications.len();
            }
            Some("job") => {
                m.jobs = catalog
                    .schedule_runs(None, 5000)?
                    .into_iter()
                    .filter(|j| j.started_at >= from && before(j.started_at))
                    .filter(|j| status.as_deref().is_none_or(|s| j.status.as_str() == s))
                    .collect();
                m.total = m.jobs.len();
            }
            _ => {
                let (runs, total) = catalog.runs_filtered(&RunFilter {
                    source,
                    command: kind,
                    status,
                    since,
                    until,
                    limit: PER_PAGE,
                    offset: (page - 1) * PER_PAGE,
                })?;
                m.runs = runs;
                m.total = total;
            }
        }
        Ok(m)
    })
    .await
}

async fn runs_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
    Query(q): Query<RunsQuery>,
) -> Result<Response, Error> {
    let echo = (
        q.source.clone(),
        q.status.clone(),
        q.since.clone(),
        q.until.clone(),
    );
    let m = runs_model(&st, q).await?;
    let sources: Vec<String> = st.site().config.source.keys().cloned().collect();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let body = html! {
        h1 { "Runs" }
        form.filters method="get" action="/runs" {
            label { "Source" select name="source" { option value="" { "any" }
                @for s in &sources { option value=(s) selected[echo.0.as_deref() == Some(s.as_str())] { (s) } } } }
            label { "Kind" select name="kind" { @for k in ["", "backup", "run", "copy", "restore-db", "drill", "verify", "job"] {
                option value=(k) selected[m.kind == k] { (if k.is_empty() { "any run" } else { k }) } } } }
            label { "Status" select name="status" { @for s in ["", "ok", "warning", "failed", "interrupted", "running", "skipped"] {
                option value=(s) selected[echo.1.as_deref() == Some(s)] { (if s.is_empty() { "any" } else { s }) } } } }
            label { "Since" input type="text" name="since" placeholder="YYYY-MM-DD or 7d" value=(opt(&echo.2)); }
            label { "Until" input type="text" name="until" placeholder="YYYY-MM-DD" value=(opt(&echo.3)); }
            button type="submit" { "Filter" }
        }
        p.note { (m.total) " found" }
        @match m.kind.as_str() {
            "drill" => { (drills_table(&m.drills)) }
            "verify" => { (verifications_table(&m.verifications)) }
            "job" => { (jobs_table(&m.jobs)) }
            _ => {
                (views::runs_table(&m.runs, true))
                @if m.total > m.page * m.per_page {
                    p { a href={ "?page=" (m.page + 1) "&source=" (opt(&echo.0)) "&kind=" (m.kind) "&status=" (opt(&echo.1))
                        "&since=" (opt(&echo.2)) "&until=" (opt(&echo.3)) } { "Older runs" } }
                }
            }
        }
    };
    Ok(page("Runs", Nav::Runs, &auth, None, body).into_response())
}

pub fn drills_table(drills: &[DrillRecord]) -> Markup {
    html! {
        table.drills {
            thead { tr { th { "When" } th { "Source" } th { "Result" } th.num { "Measured RTO" } th { "What was compared" } } }
            tbody { @for d in drills {
                tr { td { (local(d.at)) } td { (d.source) }
                    td { (badge(if d.ok { "ok" } else { "failed" }, if d.ok { "passed" } else { "FAILED" })) }
                    td.num { (secs(d.rto_ms as f64 / 1000.0)) }
                    td { pre { (d.detail) } } }
            } }
        }
    }
}

fn verifications_table(list: &[VerificationRecord]) -> Markup {
    html! {
        table { thead { tr { th { "When" } th { "Repository" } th { "Read data" } th.num { "Errors" } th.num { "Warnings" } th { "Findings" } } }
            tbody { @for v in list {
                tr { td { (local(v.at)) } td { (v.repository) }
                    td { (v.read_data_pct.map_or("structure only".into(), |p| format!("{p} %"))) }
                    td.num { (v.errors) } td.num { (v.warnings) }
                    td { @if !v.findings.is_empty() { pre { (v.findings.join("\n")) } } } }
            } } }
    }
}

fn jobs_table(list: &[ScheduleRun]) -> Markup {
    html! {
        table { thead { tr { th { "Started" } th { "Schedule" } th { "Job" } th { "Attempt" } th { "Status" } th { "Mode" } th { "Error" } } }
            tbody { @for j in list {
                tr { td { (local(j.started_at)) } td { (j.schedule) } td { (j.job) }
                    td { (j.attempt) @if j.catch_up { " (catch-up)" } }
                    td { (badge(j.status.as_str(), j.status.as_str())) }
                    td { (j.mode.as_deref().unwrap_or("")) } td { @if let Some(e) = &j.error { pre { (e) } } } }
            } } }
    }
}

#[derive(Debug, Serialize)]
pub struct RunModel {
    pub run: RunRecord,
    /// The daemon attempt that made it, and its log's last lines.
    pub schedule: Option<String>,
    pub log: Vec<String>,
}

pub async fn run_model(st: &AppState, id: i64) -> Result<RunModel, Error> {
    st.blocking(move |_, catalog| {
        let run = catalog
            .run_by_id(id)?
            .ok_or_else(|| Error::NotFound(format!("no run #{id}")))?;
        let attempt = catalog.attempt_log_at(run.started_at, None)?;
        let log = attempt
            .as_ref()
            .map(|a| super::actions::tail(std::path::Path::new(&a.log), 400))
            .unwrap_or_default();
        Ok(RunModel {
            run,
            schedule: attempt.map(|a| a.schedule),
            log,
        })
    })
    .await
}

async fn run_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let m = run_model(&st, id).await?;
    let r = &m.run;
    let body = html! {
        h1 { "Run #" (r.id) ": " (r.command) " " (r.source.as_deref().unwrap_or("")) " " (badge(r.status.as_str(), r.status.as_str())) }
        (views::runs_table(std::slice::from_ref(r), false))
        @if let Some(reason) = &r.mode_reason { p.note { "mode: " (reason) } }
        @if let Some(e) = &r.error { h2 { "Error" } pre.error { (e) } }
        h2 { "Log" }
        @match &m.schedule {
            Some(s) => { p.note { "from the daemon's attempt of schedule " b { (s) } } pre.log { (m.log.join("\n")) } }
            None => { p.muted { "Started by hand (not by the daemon): its log went to that terminal." } }
        }
    };
    Ok(page(&format!("Run {id}"), Nav::Runs, &auth, None, body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SourceQuery {
    pub source: Option<String>,
}

pub async fn drills_model(
    st: &AppState,
    source: Option<String>,
) -> Result<Vec<DrillRecord>, Error> {
    st.blocking(move |_, catalog| {
        Ok(catalog
            .drills_since(
                source.as_deref().filter(|s| !s.is_empty()),
                jiff::Timestamp::UNIX_EPOCH,
                500,
            )?
            .into_iter()
            .map(|(_, d)| d)
            .collect())
    })
    .await
}

async fn drills_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
    Query(q): Query<SourceQuery>,
) -> Result<Response, Error> {
    let drills = drills_model(&st, q.source).await?;
    let site = st.site();
    let now = jiff::Timestamp::now();
    let charts: Vec<Markup> = site
        .config
        .source
        .iter()
        .filter_map(|(name, src)| {
            let pts: Vec<Point> = drills
                .iter()
                .rev()
                .filter(|d| &d.source == name)
                .map(|d| Point {
                    at: d.at.as_second(),
                    value: d.rto_ms as f64 / 1000.0,
                    anomaly: !d.ok,
                })
                .collect();
            let first = pts.first()?.at;
            let rto = crate::report::sources::tier_of(&site, src)
                .rto
                .0
                .as_secs_f64();
            Some(line_chart(&Chart {
                title: &format!("{name}: measured RTO (failed drills in red)"),
                unit: Unit::Secs,
                points: &pts,
                from: first.min(now.as_second() - 86400),
                to: now.as_second(),
                targets: vec![Target {
                    label: format!("RTO ({})", src.tier),
                    value: rto,
                }],
            }))
        })
        .collect();
    let body = html! {
        h1 { "Drills" }
        p.note { "Each drill restores the newest backup into a sandbox, compares it (tables: rows and CHECKSUM TABLE; files: every byte) and measures the RTO." }
        div.charts { @for c in &charts { (c) } }
        (drills_table(&drills))
    };
    Ok(page("Drills", Nav::Drills, &auth, None, body).into_response())
}

async fn config_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
) -> Result<Response, Error> {
    let text = crate::config::stored_text(&st.site().config);
    let body = html! {
        h1 { "Config in force" }
        p.note { "As stored in every snapshot: where a secret's source was, " code { "<removed>" } " stands." }
        pre { (text) }
    };
    Ok(page("Config", Nav::Config, &auth, None, body).into_response())
}
