//! `dxbackup log PATH [--show SNAP]`: the history of one file.

use std::io::Write;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use super::{bytes, print_json, Ctx, Exit};
use crate::repo::{Entry, EntryKind};

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Path relative to the source root, e.g. job/mysql2mysql_orders.json
    pub path: String,
    /// Print the file as it was in this snapshot (JSON secrets masked)
    #[arg(long, value_name = "SNAP")]
    pub show: Option<String>,
    /// Only snapshots of this source
    #[arg(long)]
    pub source: Option<String>,
}

#[derive(Debug, Serialize)]
struct Version {
    snapshot: String,
    time: jiff::Timestamp,
    size: Option<u64>,
    /// new, changed, unchanged, deleted
    state: &'static str,
}

pub fn run(ctx: &Ctx, args: &LogArgs) -> anyhow::Result<Exit> {
    let repo = ctx.open_primary()?;
    let reader = repo.reader()?;
    let rel = args.path.trim_start_matches("./").trim_start_matches('/');
    let find = |s: &crate::repo::Snapshot| -> Option<Entry> {
        let path = format!("{}/{rel}", s.root().trim_end_matches('/'));
        reader.entries(s, Some(&path)).ok()?.into_iter().next()
    };
    if let Some(spec) = &args.show {
        let snap = repo.find_snapshot(spec, args.source.as_deref())?;
        let entry =
            find(&snap).with_context(|| format!("no {rel} in snapshot {}", snap.short_id()))?;
        anyhow::ensure!(
            matches!(entry.kind, EntryKind::File { .. }),
            "{rel} is not a file in {}",
            snap.short_id()
        );
        let data = reader.read_to_vec(&entry)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&masked(rel, data))?;
        return Ok(Exit::Ok);
    }
    let mut versions: Vec<Version> = Vec::new();
    let mut last: Option<Entry> = None;
    let snaps = repo.snapshots()?;
    for s in snaps.iter().filter(|s| s.kind.as_deref() == Some("files")) {
        if args.source.is_some() && s.source != args.source {
            continue;
        }
        let entry = find(s);
        let state = match (&last, &entry) {
            (None, None) => continue,
            (Some(_), None) => "deleted",
            (None, Some(_)) => "new",
            (Some(l), Some(e)) if l.same_content(e) => "unchanged",
            _ => "changed",
        };
        versions.push(Version {
            snapshot: s.id.clone(),
            time: s.time,
            size: entry.as_ref().map(Entry::size),
            state,
        });
        last = entry;
    }
    anyhow::ensure!(
        !versions.is_empty(),
        "{rel} is in no snapshot; paths are relative to the source root, e.g. job/x.json"
    );
    if ctx.global.json {
        print_json(&versions)?;
    } else {
        for v in &versions {
            println!(
                "{}  {}  {:>10}  {}",
                &v.snapshot[..8],
                v.time.strftime("%Y-%m-%d %H:%M:%S"),
                v.size.map(bytes).unwrap_or_default(),
                v.state
            );
        }
        let changes = versions.iter().filter(|v| v.state != "unchanged").count();
        println!("{rel}: {} snapshots, {changes} versions", versions.len());
    }
    Ok(Exit::Ok)
}

/// JSON is shown with every password/accessKey masked; anything else as stored.
fn masked(path: &str, data: Vec<u8>) -> Vec<u8> {
    if !path.ends_with(".json") {
        return data;
    }
    match serde_json::from_slice::<serde_json::Value>(&data) {
        Ok(mut v) => {
            crate::datax::mask_secrets(&mut v);
            let mut out = serde_json::to_vec_pretty(&v).unwrap_or(data);
            out.push(b'\n');
            out
        }
        Err(_) => data,
    }
}
