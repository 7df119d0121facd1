//! Prometheus metrics, from the catalog only (never a repository during a scrape): what
//! `dxbackup metrics` prints for node_exporter's textfile collector and the daemon serves on
//! `/metrics`. The text comes from the `prometheus-client` encoder (types, escaping).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::catalog::{Catalog, RunStatus};
use crate::config::SourceKind;
use crate::job::Site;

type Labels = Vec<(String, String)>;
type G = Family<Labels, Gauge<f64, AtomicU64>>;
type C = Family<Labels, Counter<f64, AtomicU64>>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The registry under construction: each family registered once, by name.
struct Metrics {
    registry: Registry,
}

impl Metrics {
    fn gauge(&mut self, name: &str, help: &str) -> G {
        let g = G::default();
        self.registry.register(name, help, g.clone());
        g
    }
    fn counter(&mut self, name: &str, help: &str) -> C {
        let c = C::default();
        self.registry.register(name, help, c.clone());
        c
    }
}

fn set(g: &G, l: &[(&str, &str)], v: f64) {
    g.get_or_create(&labels(l)).set(v);
}

fn secs(t: jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// The exposition text (Prometheus text format 0.0.4).
pub fn render(site: &Site, now: jiff::Timestamp) -> anyhow::Result<String> {
    let catalog = site.catalog()?;
    let mut m = Metrics {
        registry: Registry::with_prefix("dxbackup"),
    };
    sources(site, &catalog, &mut m, now)?;
    repositories(site, &catalog, &mut m)?;
    let findings = m.gauge(
        "findings",
        "Open findings of the last evaluation, by severity",
    );
    let open = catalog.open_findings()?;
    for sev in ["warning", "critical"] {
        let n = open.iter().filter(|f| f.severity == sev).count();
        set(&findings, &[("severity", sev)], n as f64);
    }
    let alerts = m.counter("alerts_sent", "Messages sent to alert channels, by result");
    for (channel, ok, n) in catalog.alert_totals()? {
        let result = if ok { "ok" } else { "failed" };
        alerts
            .get_or_create(&labels(&[("channel", &channel), ("result", result)]))
            .inc_by(n as f64);
    }
    let mut text = String::new();
    encode(&mut text, &m.registry)?;
    Ok(to_prometheus_text(&text))
}

/// The encoder writes OpenMetrics; node_exporter's textfile collector and promtool read the
/// Prometheus text format, where a counter's HELP and TYPE name the `_total` series and
/// there is no end marker or unit line.
fn to_prometheus_text(open_metrics: &str) -> String {
    let counters: Vec<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::new();
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out += renamed.as_deref().unwrap_or(line);
        out.push('\n');
    }
    out
}

fn sources(
    site: &Site,
    catalog: &Catalog,
    m: &mut Metrics,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    let success = m.gauge(
        "last_success_timestamp_seconds",
        "When the last successful backup of a source finished",
    );
    let attempt = m.gauge(
        "last_attempt_timestamp_seconds",
        "When the last backup of a source started",
    );
    let duration = m.gauge(
        "run_duration_seconds",
        "How long the last successful backup of a source took",
    );
    let rpo = m.gauge("rpo_target_seconds", "The RPO of the source's tier");
    let rto = m.gauge("rto_target_seconds", "The RTO of the source's tier");
    let exposure = m.gauge(
        "rpo_exposure_seconds",
        "What a disaster now would lose: now minus the last recoverable point",
    );
    let drill = m.gauge(
        "last_drill_seconds",
        "How long the last drill's restore took (the measured RTO)",
    );
    let drill_ok = m.gauge(
        "last_drill_success",
        "1 when the last drill passed, 0 when it failed",
    );
    let drill_at = m.gauge("last_drill_timestamp_seconds", "When the last drill ran");
    let lag = m.gauge(
        "binlog_lag_seconds",
        "Since when the binlog archiver has not reported the archive current",
    );
    let runs = m.counter("runs", "Backup runs, by source, kind and status");
    let added = m.counter("bytes_added", "Bytes added to the repository by backups");
    // One GROUP BY over the whole history, read once: per source it was a full scan each.
    let totals = catalog.backup_totals()?;
    for (name, src) in &site.config.source {
        let kind = match src.kind {
            SourceKind::Files => "files",
            SourceKind::Mysql => "mysql",
        };
        let sk = [("source", name.as_str()), ("kind", kind)];
        let history = catalog.runs(Some("backup"), Some(name), 200)?;
        let last_ok = history
            .iter()
            .rfind(|r| matches!(r.status, RunStatus::Ok | RunStatus::Warning));
        let mut point = None;
        if let Some(r) = last_ok {
            let end = r.finished_at.unwrap_or(r.started_at);
            set(&success, &sk, secs(end));
            set(
                &duration,
                &sk,
                r.duration().map_or(0.0, |d| d.as_secs_f64()),
            );
            point = Some(end);
        }
        if let Some(r) = history.last() {
            set(&attempt, &sk, secs(r.started_at));
        }
        let tier = site.config.tier.get(&src.tier);
        if let Some(t) = tier {
            set(&rpo, &[("source", name)], t.rpo.0.as_secs_f64());
            set(&rto, &[("source", name)], t.rto.0.as_secs_f64());
        }
        if src.kind == SourceKind::Mysql {
            let heartbeat = catalog
                .meta(&format!("binlog-current:{name}"))?
                .and_then(|t| t.parse::<jiff::Timestamp>().ok());
            if let Some(h) = heartbeat {
                set(
                    &lag,
                    &[("source", name)],
                    (now.as_second() - h.as_second()).max(0) as f64,
                );
                point = point.max(Some(h));
            }
            if let Some(p) = catalog.last_binlog_part(name)? {
                let b = [("source", name.as_str()), ("kind", "binlog")];
                set(&success, &b, secs(p.stored_at));
                let event = p
                    .last_event
                    .and_then(|t| jiff::Timestamp::from_second(t).ok());
                point = point.max(event);
            }
        }
        if let Some(p) = point {
            set(
                &exposure,
                &[("source", name)],
                (now.as_second() - p.as_second()).max(0) as f64,
            );
        }
        if let Some(d) = catalog.last_drill(name)? {
            set(&drill, &[("source", name)], d.rto_ms as f64 / 1000.0);
            set(&drill_ok, &[("source", name)], if d.ok { 1.0 } else { 0.0 });
            set(&drill_at, &[("source", name)], secs(d.at));
        }
        for t in totals.iter().filter(|t| &t.source == name) {
            runs.get_or_create(&labels(&[
                ("source", name),
                ("kind", kind),
                ("status", &t.status),
            ]))
            .inc_by(t.runs as f64);
            added
                .get_or_create(&labels(&sk))
                .inc_by(t.bytes_added as f64);
        }
    }
    Ok(())
}

fn repositories(site: &Site, catalog: &Catalog, m: &mut Metrics) -> anyhow::Result<()> {
    let free = m.gauge(
        "repository_free_bytes",
        "Free bytes on the repository's file system, as last seen",
    );
    let total = m.gauge(
        "repository_size_bytes",
        "Size of the repository's file system, as last seen",
    );
    let snaps = m.gauge(
        "repository_snapshots",
        "Snapshots in the repository, as last seen",
    );
    let reach = m.gauge(
        "repository_reachable",
        "1 when the repository could be opened when last seen",
    );
    let seen = m.gauge(
        "repository_seen_timestamp_seconds",
        "When the repository was last seen",
    );
    let behind = m.gauge(
        "copy_behind_snapshots",
        "Snapshots of the primary a copy target lacks, as last seen",
    );
    let verify_ok = m.gauge(
        "verify_success",
        "1 when the last verify found no error, 0 when it did",
    );
    let verify_at = m.gauge(
        "verify_timestamp_seconds",
        "When the repository was last verified",
    );
    for name in site.config.repository.keys() {
        let r = [("repository", name.as_str())];
        if let Some(s) = catalog.last_repo_sample(name)? {
            set(&reach, &r, if s.reachable { 1.0 } else { 0.0 });
            set(&seen, &r, secs(s.at));
            if let Some(v) = s.free {
                set(&free, &r, v as f64);
            }
            if let Some(v) = s.total {
                set(&total, &r, v as f64);
            }
            if let Some(v) = s.snapshots {
                set(&snaps, &r, v as f64);
            }
            if let Some(v) = s.behind {
                set(&behind, &r, v as f64);
            }
        }
        if let Some((at, errors, _)) = catalog.last_verification_detail(name)? {
            set(&verify_ok, &r, if errors == 0 { 1.0 } else { 0.0 });
            set(&verify_at, &r, secs(at));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_are_named_as_their_series() {
        let om = "# HELP x_runs Runs.\n# TYPE x_runs counter\nx_runs_total{a=\"b\"} 1.0\n# HELP g G.\n# TYPE g gauge\ng 2.0\n# EOF\n";
        assert_eq!(
            super::to_prometheus_text(om),
            "# HELP x_runs_total Runs.\n# TYPE x_runs_total counter\nx_runs_total{a=\"b\"} 1.0\n# HELP g G.\n# TYPE g gauge\ng 2.0\n"
        );
    }
}
