//! Times the dashboard against the catalog of a big site: `--sources` sources (a quarter of
//! them MySQL) with a year of hourly backups each, weekly drills, hourly repository samples
//! and a kept set of snapshots as observed; then `--requests` sequential requests per page
//! and API through the router in process (`router().oneshot()`, no socket), and prints p50,
//! p95 and max per route. `scripts/bench web` runs it; see docs/BENCHMARKS.md.
//!
//! Examples:
//!   cargo run --release --example web_bench -- --dir /tmp/dxweb --sources 20 --days 365

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use clap::Parser;
use dxbackup::catalog::{Catalog, DrillRecord, RepoSample};
use dxbackup::job::Site;
use dxbackup::repo::Snapshot;
use dxbackup::report::observe;
use dxbackup::web::{router, AppState};
use rusqlite::params;
use tower::ServiceExt;

const TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";

#[derive(Parser)]
struct Args {
    /// Work directory (config, state, repository); emptied first.
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 20)]
    sources: usize,
    /// Days of hourly runs per source.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Timed requests per route (after 5 untimed ones).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Keep the catalog a previous run of the same size filled.
    #[arg(long)]
    reuse: bool,
}

fn name(i: usize, sources: usize) -> String {
    if i < sources / 4 {
        format!("db{i:02}")
    } else {
        format!("src{i:02}")
    }
}

fn write_config(dir: &Path, sources: usize) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir.join("data"))?;
    std::fs::write(dir.join("pw"), "bench-repository-password\n")?;
    std::fs::write(dir.join("dbpw"), "bench-db-password\n")?;
    std::fs::write(dir.join("web.token"), format!("{TOKEN}\n"))?;
    let mut c = format!(
        "[repository.local]\nurl = \"{}\"\npassword-file = \"pw\"\n\n[web]\ntoken-file = \"web.token\"\n\n",
        dir.join("repo").display()
    );
    let tiers = ["critical", "important", "general"];
    for i in 0..sources {
        let n = name(i, sources);
        let tier = tiers[i % 3];
        if n.starts_with("db") {
            c += &format!(
                "[source.{n}]\nkind = \"mysql\"\nhost = \"127.0.0.1\"\nuser = \"backup\"\npassword-file = \"dbpw\"\ndatabases = [\"{n}\"]\ntier = \"{tier}\"\n\n"
            );
        } else {
            c += &format!("[source.{n}]\nkind = \"files\"\nroot = \"data\"\ntier = \"{tier}\"\n\n");
        }
    }
    let path = dir.join("dxbackup.toml");
    std::fs::write(&path, c)?;
    Ok(path)
}

/// A year of hourly runs per source, straight into the catalog in one transaction (the
/// catalog's own `start_run`/`finish_run` stamp the current time).
fn fill_runs(db: &Path, sources: usize, days: i64, now: jiff::Timestamp) -> anyhow::Result<u64> {
    let mut conn = rusqlite::Connection::open(db)?;
    let tx = conn.transaction()?;
    let mut n = 0u64;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO runs (command, source, repository, host, pid, started_at, finished_at, status,
               snapshot_id, error, duration_ms, bytes_read, bytes_added, bytes_added_packed, files_new,
               files_changed, files_unmodified, mode)
             VALUES ('backup', ?1, 'local', 'bench', 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let hours = days * 24;
        for h in (1..=hours).rev() {
            for i in 0..sources {
                let src = name(i, sources);
                let k = (h as u64)
                    .wrapping_mul(2654435761)
                    .wrapping_add(i as u64 * 97);
                let started = now - jiff::SignedDuration::from_hours(h);
                let dur_ms = 20_000 + (k % 40_000) as i64 + (hours - h) * 2;
                let finished = started + jiff::SignedDuration::from_millis(dur_ms);
                let (status, error) = match k % 200 {
                    0 => (
                        "failed",
                        Some("mariadb-dump: Lost connection to server during query"),
                    ),
                    1 | 2 => ("warning", None),
                    _ => ("ok", None),
                };
                let mode = if k % 50 == 7 { "light" } else { "normal" };
                let read = 5_000_000_000 + (hours - h) as u64 * 200_000;
                stmt.execute(params![
                    src,
                    started.to_string(),
                    finished.to_string(),
                    status,
                    (status != "failed").then(|| format!("{k:064x}")),
                    error,
                    dur_ms,
                    read as i64,
                    (1_000_000 + k % 50_000_000) as i64,
                    (k % 100) as i64,
                    (k % 1000) as i64,
                    100_000i64,
                    mode,
                ])?;
                n += 1;
            }
        }
    }
    tx.commit()?;
    Ok(n)
}

fn fill_rest(site: &Site, sources: usize, days: i64, now: jiff::Timestamp) -> anyhow::Result<()> {
    let catalog = site.catalog()?;
    for w in 0..days / 7 {
        for i in 0..sources {
            catalog.record_drill(&DrillRecord {
                source: name(i, sources),
                at: now - jiff::SignedDuration::from_hours(w * 24 * 7 + 3),
                ok: w % 13 != 5,
                rto_ms: 600_000 + (w as u64 * 7919 + i as u64 * 31) % 900_000,
                snapshot_id: Some(format!("{w:08x}{i:056x}")),
                detail: "tables 42 compared, rows 1234567 equal, checksums equal".into(),
            })?;
        }
    }
    for h in (0..days * 24).step_by(1) {
        catalog.record_repo_sample(&RepoSample {
            repository: "local".into(),
            at: now - jiff::SignedDuration::from_hours(h),
            reachable: true,
            free: Some(2_000_000_000_000 + h as u64 * 50_000_000),
            total: Some(4_000_000_000_000),
            snapshots: Some(1500),
            behind: Some(0),
        })?;
    }
    observe::refresh(site)?;
    // What a retention of 24 hourly, 31 daily and 12 monthly leaves per files source.
    let mut snaps = Vec::new();
    for i in sources / 4..sources {
        let src = name(i, sources);
        let ages = (0..24)
            .chain((1..32).map(|d| d * 24))
            .chain((1..13).map(|m| m * 730));
        for (j, age) in ages.enumerate() {
            snaps.push(Snapshot {
                id: format!("{i:032x}{j:032x}"),
                time: now - jiff::SignedDuration::from_hours(age),
                host: "bench".into(),
                tags: vec![format!("source={src}"), "kind=files".into()],
                paths: vec!["/data".into()],
                source: Some(src.clone()),
                kind: Some("files".into()),
                summary: None,
                description: None,
            });
        }
    }
    catalog.replace_observed_snapshots("local", &snaps)?;
    for (name, src) in &site.config.source {
        let facts = observe::source_facts(name, src.kind, &snaps, now);
        catalog.set_meta(
            &format!("observed:source:{name}"),
            &serde_json::to_string(&facts)?,
        )?;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn time_route(
    app: &axum::Router,
    path: &str,
    n: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for k in 0..n + 5 {
        let req = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::empty())?;
        let t = Instant::now();
        let res = app.clone().oneshot(req).await?;
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 256 << 20).await?;
        let took = t.elapsed();
        anyhow::ensure!(
            status == StatusCode::OK,
            "{path}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if k >= 5 {
            times.push(took);
        }
        bytes = body.len();
    }
    times.sort();
    Ok((times, bytes))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let state = args.dir.join("state");
    let reuse = args.reuse && state.join("catalog.db").exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&args.dir);
        std::fs::create_dir_all(&args.dir)?;
    }
    let config = write_config(&args.dir, args.sources)?;
    let site = Site::load(&config, state.clone()).context("load the bench config")?;
    let t = Instant::now();
    let mut runs = 0;
    if !reuse {
        dxbackup::job::init::init(&site)?;
        drop(Catalog::open(&state)?);
        let now = jiff::Timestamp::now();
        runs = fill_runs(&state.join("catalog.db"), args.sources, args.days, now)?;
        fill_rest(&site, args.sources, args.days, now)?;
    }
    let db_mb = std::fs::metadata(state.join("catalog.db"))?.len() / 1_000_000;
    eprintln!(
        "catalog: {runs} runs of {} sources over {} days, {db_mb} MB, filled in {:.1} s",
        args.sources,
        args.days,
        t.elapsed().as_secs_f64()
    );
    let app = router(AppState::new(site, TOKEN.into(), None));
    let routes = [
        "/",
        "/api/v1/overview",
        "/sources/src10",
        "/sources/src10?days=365",
        "/api/v1/sources/src10?days=365",
        "/sources/db01?days=365",
        "/runs",
        "/runs?source=src10&status=failed",
        "/api/v1/runs",
        "/api/v1/runs?source=db01&kind=backup&since=30d",
        "/drills",
        "/api/v1/drills",
        "/metrics",
    ];
    // `/metrics` (src/metrics.rs) evaluates every source from scratch: fewer samples.
    let count = |path: &str| {
        if path == "/metrics" {
            args.requests.min(20)
        } else {
            args.requests
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!("| route | requests | p50 ms | p95 ms | max ms | body KB |");
    println!("|---|---:|---:|---:|---:|---:|");
    for path in routes {
        let (times, bytes) = rt.block_on(time_route(&app, path, count(path)))?;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| `{path}` | {} | {:.1} | {:.1} | {:.1} | {} |",
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(*times.last().unwrap()),
            bytes / 1000
        );
    }
    Ok(())
}
