//! One source: its RPO state, runs as a timeline, the charts over 7, 30 or 365 days with
//! anomalies and the tier's targets, the snapshots, its drills; for mysql the restore chain
//! on a time axis and "restore to a time" (the plan, its bytes, the time past drills
//! suggest, and the command to run: restoring stays a command-line action).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use maud::html;
use serde::Deserialize;

use super::auth::Auth;
use super::charts::{chain_timeline, line_chart, run_timeline, secs, Chart, Target, Unit};
use super::layout::{page, Nav};
use super::views::{self, ago, badge, local};
use super::{AppState, Error};
use crate::report::detail::{self, SourceDetail};
use crate::report::restore_plan::{self, RestorePlan};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sources/{name}", get(source_page))
        .route("/sources/{name}/restore", get(restore_page))
}

#[derive(Debug, Deserialize)]
pub struct DaysQuery {
    pub days: Option<u32>,
}

/// 7, 30 (default) or 365.
fn days(q: &DaysQuery) -> u32 {
    q.days.filter(|d| matches!(d, 7 | 30 | 365)).unwrap_or(30)
}

fn known(st: &AppState, name: &str) -> Result<(), Error> {
    if st.site().config.source.contains_key(name) {
        Ok(())
    } else {
        Err(Error::NotFound(format!("no source `{name}`")))
    }
}

pub async fn source_model(
    st: &AppState,
    name: String,
    q: &DaysQuery,
) -> Result<SourceDetail, Error> {
    known(st, &name)?;
    let days = days(q);
    st.blocking(move |site, catalog| {
        Ok(detail::build(
            site,
            catalog,
            &name,
            days,
            jiff::Timestamp::now(),
        )?)
    })
    .await
}

async fn source_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(name): Path<String>,
    Query(q): Query<DaysQuery>,
) -> Result<Response, Error> {
    let d = source_model(&st, name.clone(), &q).await?;
    let now = jiff::Timestamp::now();
    let (from, to) = (d.since.as_second(), now.as_second());
    let rto = d.row.rto_secs as f64;
    let chart = |title: &str, unit, pts, targets| {
        line_chart(&Chart {
            title,
            unit,
            points: pts,
            from,
            to,
            targets,
        })
    };
    let change = |c: Option<f64>| {
        c.map_or("not enough runs to tell".to_string(), |p| {
            format!("{p:+.0} %")
        })
    };
    let body = html! {
        h1 { (d.row.name) " " (badge(views::level_name(d.row.status.level), views::level_name(d.row.status.level))) }
        (views::sources_table(std::slice::from_ref(&d.row), now, false))
        p.actions {
            @for n in [7, 30, 365] {
                @if n == d.days { b { (n) " days" } } @else { a href={ "?days=" (n) } { (n) " days" } } " "
            }
            " · " form.inline method="post" action={ "/actions/drill/" (d.row.name) } {
                input type="hidden" name="csrf" value=(auth.csrf());
                button type="submit" id="drill-now" { "Drill now" } }
        }
        h2 { "Runs" }
        p.note { (d.runs_in_period) " backups in the last " (d.days) " days. Median duration over the last week vs the 30 days before: "
            (change(d.duration_change_pct)) "; size: " (change(d.size_change_pct)) "." }
        (run_timeline(&d.timeline, from, to))
        p.legend { span { "bar height: duration" } span { "green ok, amber warning, red failed" } span { "faded: light / minimal mode" } }
        div.charts {
            (chart("Duration", Unit::Secs, &d.duration, vec![Target { label: "RTO".into(), value: rto }]))
            (chart("Bytes added", Unit::Bytes, &d.bytes_added, vec![]))
            (chart("Size (read)", Unit::Bytes, &d.size, vec![]))
            (chart("Speed", Unit::MbPerS, &d.mb_per_s, vec![]))
        }
        p.note { "Red points are anomalies: far from the median of the 20 runs before them." }
        @if let Some(c) = &d.chain {
            h2 { "Restore chain" }
            (chain_timeline(c))
            p.legend { span { "dark: fulls" } span { "green: binlog coverage" } span { "red: gaps (not restorable)" } }
            @for h in &c.holes { p.error { "Gap: " (h.text) } }
            h2 { "Restore to a time" }
            form.filters method="get" action={ "/sources/" (d.row.name) "/restore" } {
                label { "Until (local time)" input type="text" name="until" placeholder="YYYY-MM-DD HH:MM:SS"
                    value=(c.window.map_or(String::new(), |w| crate::source::mysql::chain::local(w.1))); }
                label { "Into database" input type="text" name="into" placeholder=(restore_plan::default_into(&d.row.name)); }
                button type="submit" id="plan" { "Show the plan" }
            }
        }
        h2 { "Snapshots" }
        p.note { (d.snapshots.len()) " shown" @if d.binlog_snapshots > 0 { ", and " (d.binlog_snapshots) " binlog parts" } }
        table.snapshots { thead { tr { th { "Snapshot" } th { "Time" } th { "Kind" } th.num { "Size" } th.num { "Added" } } }
            tbody { @for s in &d.snapshots { tr {
                td { code { (s.short_id()) } } td { (local(s.time)) " (" (ago(s.time, now)) ")" } td { (s.kind.as_deref().unwrap_or("")) }
                td.num { (s.summary.as_ref().map_or(String::new(), |m| crate::units::bytes(m.bytes_processed))) }
                td.num { (s.summary.as_ref().map_or(String::new(), |m| crate::units::bytes(m.data_added_packed))) }
            } } } }
        h2 { "Recent runs" }
        (views::runs_table(&d.recent_runs, true))
        h2 { "Drills" }
        (super::pages::drills_table(&d.drills))
    };
    Ok(page(&d.row.name, Nav::Overview, &auth, None, body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct RestoreQuery {
    pub until: Option<String>,
    pub into: Option<String>,
}

pub async fn restore_model(
    st: &AppState,
    name: String,
    q: RestoreQuery,
) -> Result<RestorePlan, Error> {
    known(st, &name)?;
    st.blocking(move |site, catalog| {
        restore_plan::plan(
            site,
            catalog,
            &name,
            q.until.as_deref().unwrap_or(""),
            q.into.as_deref(),
        )
        .map_err(Error::bad)
    })
    .await
}

async fn restore_page(
    State(st): State<AppState>,
    Extension(auth): Extension<Auth>,
    Path(name): Path<String>,
    Query(q): Query<RestoreQuery>,
) -> Result<Response, Error> {
    let p = restore_model(&st, name, q).await?;
    let body = html! {
        h1 { "Restore " (p.source) " to " (if p.until.is_empty() { "the latest archived event" } else { p.until.as_str() }) }
        @match (&p.chain, &p.refused) {
            (Some(c), _) => {
                p { (badge("ok", "restorable exactly")) " reaches " (crate::source::mysql::chain::local(c.reaches)) }
                table { thead { tr { th { "Step" } th { "What" } th.num { "Bytes" } } } tbody {
                    tr { td { "full" } td { code { (c.full.short()) } " of " (crate::source::mysql::chain::local(c.full.at)) }
                        td.num { (p.full_bytes.map_or("?".into(), crate::units::bytes)) } }
                    @for b in &c.binlogs { tr { td { "binlog" } td { (b.file) @if b.closed { "" } @else { " (growing)" } }
                        td.num { (crate::units::bytes(b.size)) } } }
                } }
                p { "In all " b { (crate::units::bytes(p.full_bytes.unwrap_or(0) + p.binlog_bytes)) } "; estimated time "
                    b { (p.estimate_secs.map_or("unknown".into(), secs)) } " (" (p.estimate_basis) ")." }
            }
            (None, Some(why)) => { p.error { (why) } }
            _ => {}
        }
        h2 { "Command" }
        p.note { "Restoring is a command-line action: run this on the backup host." }
        code.cmd id="restore-command" { (p.command) }
        p { a href={ "/sources/" (p.source) } { "Back to " (p.source) } }
    };
    Ok(page("Restore plan", Nav::Overview, &auth, None, body).into_response())
}
