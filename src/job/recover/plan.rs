//! The recovery's plan, from the repository alone: which snapshot or chain each source comes
//! from, where it goes, its bytes and the estimate from the recorded RTOs.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};

use super::{Part, RecoverMode, RecoverRequest, Step, Work};
use crate::config::SourceKind;
use crate::job::restore::RestoreRequest;
use crate::job::restore_db::{self, RestoreDbRequest};
use crate::job::rto::RtoBook;
use crate::job::Site;
use crate::restore::{Mode, Overwrite};
use crate::source::mysql::replay::{self, Until};

/// Where each files source goes: `--datax-home` for the DataX home, `--root NAME=DIR` for
/// others, else the root it had on the lost machine.
pub(super) fn roots(
    req: &RecoverRequest,
    stored: &crate::config::Config,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let files: Vec<&String> = stored
        .source
        .iter()
        .filter(|(_, s)| s.kind == SourceKind::Files)
        .map(|(n, _)| n)
        .collect();
    let mut out = req.roots.clone();
    for (n, _) in &req.roots {
        if !files.contains(&n) {
            bail!(
                "--root {n}=...: the stored config has no files source `{n}` (it has: {files:?})"
            );
        }
    }
    if let Some(home) = &req.datax_home {
        let datax = match files.as_slice() {
            [one] => (*one).clone(),
            _ if files.iter().any(|n| *n == "datax") => "datax".into(),
            _ => bail!(
                "--datax-home: the stored config has several files sources ({files:?}); name each with --root NAME=DIR"
            ),
        };
        out.retain(|(n, _)| *n != datax);
        out.push((datax, home.clone()));
    }
    Ok(out)
}

/// The folders of a files source `--only` selects (empty: all), or `None` to skip the source.
pub(super) fn selected(req: &RecoverRequest, name: &str, kind: SourceKind) -> Option<Vec<String>> {
    if req.mode != RecoverMode::Partial {
        return Some(Vec::new());
    }
    if req.only.contains(&Part::Source(name.into())) {
        return Some(Vec::new());
    }
    match kind {
        SourceKind::Mysql => req.only.contains(&Part::Data).then(Vec::new),
        SourceKind::Files => {
            let folders: Vec<String> = req
                .only
                .iter()
                .filter_map(|p| match p {
                    Part::Folder(f) => Some(f.clone()),
                    _ => None,
                })
                .collect();
            (!folders.is_empty()).then_some(folders)
        }
    }
}

/// The tier with the shortest RTO among the mysql sources: restored first in fast mode.
pub(super) fn critical_tier(site: &Site) -> Option<String> {
    site.config
        .source
        .values()
        .filter(|s| s.kind == SourceKind::Mysql)
        .filter_map(|s| Some((site.config.tier.get(&s.tier)?.rto.0, s.tier.clone())))
        .min()
        .map(|(_, t)| t)
}

pub(super) fn plan_files(
    site: &Site,
    req: &RecoverRequest,
    name: &str,
    snaps: &[crate::repo::Snapshot],
    until: &Until,
    folders: Vec<String>,
) -> anyhow::Result<(Step, Work)> {
    let limit = match until {
        Until::Time(t) => Some(*t),
        _ => None,
    };
    let snap = snaps
        .iter()
        .rfind(|s| {
            s.source.as_deref() == Some(name)
                && s.kind.as_deref() == Some("files")
                && limit.is_none_or(|t| s.time.as_second() <= t)
        })
        .with_context(|| match limit {
            Some(_) => format!("no files snapshot of `{name}` at or before --until"),
            None => format!("no files snapshot of `{name}`"),
        })?;
    let src = &site.config.source[name];
    // The old machine's root, unless a flag names a new one (`working_config` made it
    // absolute); a relative one meant the old config's folder, unknown here.
    let target = match &src.root {
        Some(r) if r.is_absolute() => r.clone(),
        _ => bail!(
            "the stored config gives `{name}` a relative root; say where it goes with --datax-home DIR or --root {name}=DIR"
        ),
    };
    let fast = req.mode == RecoverMode::Fast;
    let only = folders;
    let step = Step {
        source: name.into(),
        kind: "files",
        tier: String::new(),
        rto_target_secs: 0.0,
        first: true,
        snapshot: snap.id.clone(),
        snapshot_time: snap.time.to_string(),
        target: target.display().to_string(),
        only: only.clone(),
        bytes: snap.summary.as_ref().map_or(0, |s| s.bytes_processed),
        chain: None,
        estimate_secs: None,
        estimate_from: None,
    };
    let restore = RestoreRequest {
        repo: None,
        snapshot: snap.id.clone(),
        target,
        mode: match (fast, only.is_empty()) {
            (true, _) => Mode::Fast,
            (false, true) => Mode::Full,
            (false, false) => Mode::Partial,
        },
        only,
        overwrite: req.overwrite,
        threads: None,
    };
    Ok((step, Work::Files(restore)))
}

pub(super) fn plan_mysql(
    site: &Site,
    req: &RecoverRequest,
    name: &str,
    until: &Until,
) -> anyhow::Result<Vec<(Step, Work)>> {
    let src = &site.config.source[name];
    let base = RestoreDbRequest {
        source: name.into(),
        // Planned once for the chain; each database then gets its own name.
        into: "dxbackup_recover".into(),
        database: None,
        until: until.clone(),
        server: None,
        force: req.overwrite == Overwrite::Always || (req.mysql_datadir.is_some() && !req.serve),
        datadir: req.mysql_datadir.clone(),
        serve: req.serve,
        jobs: req.jobs,
    };
    let plan = restore_db::plan_chain(site, &base)?;
    match (plan.is_physical(), &req.mysql_datadir) {
        (true, None) => bail!(
            "full {} of `{name}` is a physical backup (mariabackup): give --mysql-datadir DIR (a stopped server's data directory, or a new one with --serve)",
            plan.chain.full.short()
        ),
        (false, Some(_)) => bail!(
            "full {} of `{name}` is a logical dump: give --into-server HOST:PORT (a running server) instead of --mysql-datadir",
            plan.chain.full.short()
        ),
        _ => {}
    }
    let bytes = restore_db::chain_full(&plan.snaps, &plan.chain)
        .ok()
        .and_then(|s| s.summary.as_ref())
        .map_or(0, |s| s.bytes_processed)
        + plan.chain.binlogs.iter().map(|b| b.size).sum::<u64>();
    let step = |target: String, bytes: u64| Step {
        source: name.into(),
        kind: "mysql",
        tier: String::new(),
        rto_target_secs: 0.0,
        first: false,
        snapshot: plan.chain.full.snapshot.clone(),
        snapshot_time: jiff::Timestamp::from_second(plan.chain.full.at)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        target,
        only: Vec::new(),
        bytes,
        chain: Some(plan.chain.clone()),
        estimate_secs: None,
        estimate_from: None,
    };
    if let Some(dir) = &req.mysql_datadir {
        let s = step(dir.display().to_string(), bytes);
        return Ok(vec![(s, Work::Mysql(base, Arc::new(plan)))]);
    }
    if req.into_server.is_none() && src.host.is_none() && src.socket.is_none() {
        bail!("give --into-server HOST:PORT (the server to load `{name}` into)");
    }
    // A logical full: each database into the one of the same name, one restore each, all
    // from the one chain planned above.
    let dbs = restore_db::databases(&plan)?;
    let n = dbs.len().max(1) as u64;
    let mut out = Vec::new();
    for db in &dbs {
        replay::check_database_name(db)?;
        let target = format!("database `{db}` on {}", plan.server.describe());
        out.push((step(target, bytes / n), db.clone()));
    }
    let plan = Arc::new(plan);
    Ok(out
        .into_iter()
        .map(|(s, db)| {
            let req = RestoreDbRequest {
                into: db.clone(),
                database: Some(db),
                ..base.clone()
            };
            (s, Work::Mysql(req, plan.clone()))
        })
        .collect())
}

/// The estimate from the newest successful drill or recovery of the source, scaled by bytes
/// when both are known, else this step's `share` of the source's steps (a source's databases
/// are restored one after the other).
pub(super) fn estimate(step: &mut Step, book: &RtoBook, share: f64) {
    let Some(r) = book.last_ok(&step.source) else {
        return;
    };
    let scale = match r.bytes {
        Some(b) if b > 0 && step.bytes > 0 => step.bytes as f64 / b as f64,
        _ => share,
    };
    step.estimate_secs = Some(r.rto_secs * scale);
    step.estimate_from = Some(format!("{} of {}", r.how, r.at));
}
