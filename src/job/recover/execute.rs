//! Runs a recovery plan: the files sources on one lane and the databases on another (they
//! write to different places: a folder, a server), fast mode's first wave at the head of each
//! lane. Each source is measured from the start of the recovery to the moment it is usable;
//! a source that fails is reported and the others go on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;

use super::{Prepared, Step, Work};
use crate::job::rto::{self, RtoRecord};
use crate::job::{restore, restore_db};

/// What the recovery did, per source and in all.
#[derive(Debug, Serialize)]
pub struct RecoverOutcome {
    pub results: Vec<SourceResult>,
    pub total_secs: f64,
    /// Every planned source came back.
    pub ok: bool,
    pub config_written: Option<PathBuf>,
    /// The measured times were added to the repository's RTO records.
    pub rto_recorded: bool,
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct SourceResult {
    pub source: String,
    pub kind: &'static str,
    pub target: String,
    pub ok: bool,
    pub error: Option<String>,
    /// Seconds from the start until the step was usable (fast mode: `conf/` and `job/` of a
    /// files source; otherwise its end).
    pub usable_after_secs: Option<f64>,
    pub done_after_secs: f64,
    /// Seconds this step itself took.
    pub took_secs: f64,
    pub rto_target_secs: f64,
    pub within_rto: bool,
    pub detail: String,
    pub bytes: u64,
    /// A physical full's data directory and, with `--serve`, the server left running on it
    /// (port, pid, socket): what a script needs to connect or stop it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical: Option<restore_db::physical::Placed>,
}

/// Restores everything planned; `on_done` is called as each step ends (from the lanes'
/// threads).
pub fn execute(
    p: &Prepared,
    on_done: &(dyn Fn(&SourceResult) + Sync),
) -> anyhow::Result<RecoverOutcome> {
    let started = Instant::now();
    let mut files = Vec::new();
    let mut dbs = Vec::new();
    for (step, work) in p.plan.steps.iter().zip(&p.work) {
        match work {
            Work::Files(..) => files.push((step, work)),
            Work::Mysql(..) => dbs.push((step, work)),
        }
    }
    // The first wave heads each lane (fast mode), the order of the config otherwise.
    dbs.sort_by_key(|(s, _)| !s.first);
    let site = &p.site;
    let run_lane = |lane: Vec<(&Step, &Work)>| -> Vec<SourceResult> {
        lane.into_iter()
            .map(|(step, work)| {
                let t0 = Instant::now();
                let offset = started.elapsed().as_secs_f64();
                let mut usable = None;
                let mut physical = None;
                let result = match work {
                    Work::Files(req) => files_step(site, req).map(|(detail, core)| {
                        usable = core.map(|c| offset + c);
                        detail
                    }),
                    Work::Mysql(req, plan) => mysql_step(site, req, plan).map(|(detail, p)| {
                        physical = p;
                        detail
                    }),
                };
                let done = started.elapsed().as_secs_f64();
                let ok = result.is_ok();
                let usable = if ok { usable.or(Some(done)) } else { usable };
                let r = SourceResult {
                    source: step.source.clone(),
                    kind: step.kind,
                    target: step.target.clone(),
                    ok,
                    error: result.as_ref().err().map(|e| format!("{e:#}")),
                    usable_after_secs: usable,
                    done_after_secs: done,
                    took_secs: t0.elapsed().as_secs_f64(),
                    rto_target_secs: step.rto_target_secs,
                    within_rto: ok && usable.unwrap_or(done) <= step.rto_target_secs,
                    detail: result.unwrap_or_default(),
                    bytes: step.bytes,
                    physical,
                };
                on_done(&r);
                r
            })
            .collect()
    };
    let (mut results, db_results) = std::thread::scope(|s| {
        let db_lane = s.spawn(|| run_lane(dbs));
        let files = run_lane(files);
        (files, db_lane.join().expect("the database lane panicked"))
    });
    results.extend(db_results);
    for r in &p.plan.refused {
        results.push(SourceResult {
            source: r.source.clone(),
            kind: "refused",
            target: String::new(),
            ok: false,
            error: Some(r.error.clone()),
            usable_after_secs: None,
            done_after_secs: 0.0,
            took_secs: 0.0,
            rto_target_secs: 0.0,
            within_rto: false,
            detail: String::new(),
            bytes: 0,
            physical: None,
        });
    }
    let rto_recorded = record(site, &results);
    let config_written = match &p.write_to {
        Some(path) => {
            super::write_config(p, path)?;
            Some(path.clone())
        }
        None => None,
    };
    Ok(RecoverOutcome {
        ok: results.iter().all(|r| r.ok),
        results,
        total_secs: started.elapsed().as_secs_f64(),
        config_written,
        rto_recorded,
    })
}

/// Restores a files snapshot (fast mode: `conf/` and `job/` first); returns what it wrote
/// and when, from its own start, the core was usable.
fn files_step(
    site: &crate::job::Site,
    req: &restore::RestoreRequest,
) -> anyhow::Result<(String, Option<f64>)> {
    let prepared = restore::prepare(site, req)?;
    let o = restore::apply(req, &prepared, &ProgressBar::hidden())?;
    let failed = &o.report.failed;
    if !failed.is_empty() {
        anyhow::bail!(
            "{} file(s) could not be restored: {}",
            failed.len(),
            failed
                .iter()
                .map(|(p, why)| format!("{} ({why})", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok((
        format!(
            "{} files, {} into {}",
            o.report.files,
            crate::units::bytes(o.report.bytes),
            req.target.display()
        ),
        o.report.core_ready_after.map(|d| d.as_secs_f64()),
    ))
}

fn mysql_step(
    site: &crate::job::Site,
    req: &restore_db::RestoreDbRequest,
    plan: &restore_db::Plan,
) -> anyhow::Result<(String, Option<restore_db::physical::Placed>)> {
    let o = restore_db::restore(site, req, plan)?;
    let rows: u64 = o.tables.iter().map(|(_, n)| n).sum();
    let detail = match &o.physical {
        Some(p) => match p.port {
            Some(port) => format!(
                "the server in {} ({} tables), served on 127.0.0.1:{port}",
                p.datadir.display(),
                o.tables.len()
            ),
            None => format!(
                "the server into {} ({} tables); start your server on it",
                p.datadir.display(),
                o.tables.len()
            ),
        },
        None => format!(
            "`{}` on {}: {} tables, {rows} rows, {} binlog file(s) replayed",
            o.database,
            o.server,
            o.tables.len(),
            o.chain.binlogs.len()
        ),
    };
    Ok((detail, o.physical))
}

/// Adds one record per source (its steps summed) to the repository; false if it cannot (a
/// read-only credential), which is only a warning.
fn record(site: &crate::job::Site, results: &[SourceResult]) -> bool {
    let mut per: BTreeMap<&str, RtoRecord> = BTreeMap::new();
    for r in results.iter().filter(|r| r.kind != "refused") {
        let e = per.entry(&r.source).or_insert_with(|| RtoRecord {
            source: r.source.clone(),
            at: jiff::Timestamp::now(),
            how: "recover".into(),
            ok: true,
            rto_secs: 0.0,
            bytes: Some(0),
            snapshot: None,
            detail: String::new(),
        });
        e.ok &= r.ok;
        e.rto_secs += r.took_secs;
        e.bytes = e.bytes.map(|b| b + r.bytes);
        if !e.detail.is_empty() {
            e.detail.push_str("; ");
        }
        e.detail
            .push_str(r.error.as_deref().unwrap_or(r.detail.as_str()));
    }
    let records: Vec<RtoRecord> = per.into_values().collect();
    if records.is_empty() {
        return false;
    }
    match site
        .open_primary()
        .and_then(|repo| rto::add(site, &repo, records))
    {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("cannot record the recovery's times in the repository: {e:#}");
            false
        }
    }
}
