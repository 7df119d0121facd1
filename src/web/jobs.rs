//! A DataX job file's history: the `job/*.json` files of a files source, the versions of one
//! across snapshots, one version shown and the semantic diff between any two, every secret
//! masked (`job::log`, `job::diff`). Read from the repository on demand, on the blocking
//! pool: this is the one place the dashboard opens a repository, when asked to.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use maud::html;
use serde::{Deserialize, Serialize};

use super::auth::Auth;
use super::layout::{page, Nav};
use super::views::local;
use super::{AppState, Error};
use crate::config::SourceKind;
use crate::datax::Change;
use crate::job::Site;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(jobs_page))
        .route("/api/v1/jobs", get(|st: State<AppState>, q: Query<JobQuery>| async move { api(jobs_model(&st, q.0).await) }))
}

#[derive(Debug, Default, Deserialize)]
pub struct JobQuery {
    pub source: Option<String>,
    /// `job/x.json`, relative to the source root.
    pub path: Option<String>,
    /// Two snapshots to compare, or one to show.
    pub a: Option<String>,
    pub b: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct JobsModel {
    pub source: String,
    pub sources: Vec<String>,
    /// The job files of the newest snapshot.
    pub files: Vec<String>,
    pub path: Option<String>,
    pub versions: Vec<crate::job::log::Version>,
    /// `b` alone: that version, masked.
    pub content: Option<String>,
    /// `a` and `b`: what changed in the file, by JSON path, masked.
    pub changes: Option<Vec<Change>>,
    pub file_change: Option<String>,
}

fn api(r: Result<JobsModel, Error>) -> Response {
    match r {
        Ok(m) => Json(m).into_response(),
        Err(e) => e.json(),
    }
}

async fn jobs_model(st: &AppState, q: JobQuery) -> Result<JobsModel, Error> {
    st.blocking(move |site, _| build(site, q)).await
}

fn build(site: &Site, q: JobQuery) -> Result<JobsModel, Error> {
    let sources: Vec<String> = site
        .config
        .source
        .iter()
        .filter(|(_, s)| s.kind == SourceKind::Files)
        .map(|(n, _)| n.clone())
        .collect();
    let source = match q.source.filter(|s| !s.is_empty()) {
        Some(s) if sources.contains(&s) => s,
        Some(s) => return Err(Error::NotFound(format!("no files source `{s}`"))),
        None => match sources.first() {
            Some(s) => s.clone(),
            None => return Ok(JobsModel::default()),
        },
    };
    let mut m = JobsModel {
        files: job_files(site, &source).map_err(Error::bad)?,
        source: source.clone(),
        sources,
        ..JobsModel::default()
    };
    let Some(path) = q.path.filter(|p| !p.is_empty()) else {
        return Ok(m);
    };
    m.versions = crate::job::log::history(site, &path, Some(&source)).map_err(Error::bad)?;
    match (q.a.filter(|a| !a.is_empty()), q.b.filter(|b| !b.is_empty())) {
        (Some(a), Some(b)) => {
            let d = crate::job::diff::diff(site, &a, &b).map_err(Error::bad)?;
            let rel = path.trim_start_matches("./").trim_start_matches('/');
            let c = d
                .changes
                .into_iter()
                .find(|c| c.path.to_string_lossy().trim_start_matches('/') == rel);
            m.file_change = Some(c.as_ref().map_or("unchanged", |c| c.change).to_string());
            m.changes = Some(c.map(|c| c.json).unwrap_or_default());
        }
        (None, Some(b)) | (Some(b), None) => {
            let (_, data) =
                crate::job::log::show(site, &path, &b, Some(&source)).map_err(Error::bad)?;
            m.content = Some(String::from_utf8_lossy(&data).into_owned());
        }
        (None, None) => {}
    }
    m.path = Some(path);
    Ok(m)
}

/// The `job/**/*.json` files of the source's newest snapshot.
fn job_files(site: &Site, source: &str) -> anyhow::Result<Vec<String>> {
    let repo = site.open_primary()?;
    let Ok(snap) = repo.find_snapshot("latest", Some(source)) else {
        return Ok(vec![]);
    };
    let reader = repo.reader()?;
    let dir = format!("{}/job", snap.root().trim_end_matches('/'));
    let Ok(entries) = reader.entries(&snap, Some(&dir)) else {
        return Ok(vec![]);
    };
    let mut files: Vec<String> = entries
        .iter()
        .filter(|e| matches!(e.kind, crate::repo::EntryKind::File { .. }))
        .map(|e| format!("job/{}", e.path.to_string_lossy().trim_start_matches('/')))
        .filter(|p| p.ends_with(".json"))
        .collect();
    files.sort();
    Ok(files)
}

async fn jobs_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
    Query(q): Query<JobQuery>,
) -> Result<Response, Error> {
    let (qa, qb) = (
        q.a.clone().unwrap_or_default(),
        q.b.clone().unwrap_or_default(),
    );
    let m = jobs_model(&st, q).await?;
    let body = html! {
        h1 { "Job history" }
        form.filters method="get" action="/jobs" {
            label { "Source" select name="source" { @for s in &m.sources { option value=(s) selected[*s == m.source] { (s) } } } }
            label { "Job file" select name="path" { @for f in &m.files { option value=(f) selected[m.path.as_deref() == Some(f.as_str())] { (f) } } } }
            button type="submit" { "Show its versions" }
        }
        @if m.sources.is_empty() { p.muted { "No files source is configured." } }
        @if let Some(path) = &m.path {
            h2 { (path) }
            form method="get" action="/jobs" {
                input type="hidden" name="source" value=(m.source);
                input type="hidden" name="path" value=(path);
                table.versions { thead { tr { th { "A" } th { "B" } th { "Snapshot" } th { "Time" } th { "State" } th.num { "Size" } } }
                    tbody { @for v in m.versions.iter().rev() { tr {
                        td { input type="radio" name="a" value=(v.snapshot) checked[qa == v.snapshot]; }
                        td { input type="radio" name="b" value=(v.snapshot) checked[qb == v.snapshot]; }
                        td { code { (&v.snapshot[..8.min(v.snapshot.len())]) } } td { (local(v.time)) } td { (v.state) }
                        td.num { (v.size.map_or(String::new(), crate::units::bytes)) }
                    } } } }
                p { button type="submit" id="compare" { "Compare A with B (or show B)" } }
            }
            @if let Some(changes) = &m.changes {
                h2 { "Changes" }
                p.note { "The file is " (m.file_change.as_deref().unwrap_or("")) "; values of keys ending in password or accessKey are masked." }
                @if changes.is_empty() { p.muted { "No change inside the JSON." } }
                @else { pre.diff { @for c in changes { (c.to_string()) "\n" } } }
            }
            @if let Some(text) = &m.content { h2 { "Content (secrets masked)" } pre { (text) } }
        }
    };
    Ok(page("Job history", Nav::Jobs, &auth, None, body).into_response())
}
