//! The period report as Markdown: the same sections as tables (a chart becomes a one-line
//! sparkline), for a wiki page or a chat message.

use std::fmt::Write as _;

use super::period::PeriodReport;
use super::trend::Point;
use crate::targets::human_age;
use crate::web::charts::secs;
use crate::web::views::{level_name, local};

fn spark(points: &[Point]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = points.iter().map(|p| p.value).fold(0.0, f64::max);
    if max <= 0.0 {
        return String::new();
    }
    points
        .iter()
        .map(|p| BARS[((p.value / max) * 7.0).round().clamp(0.0, 7.0) as usize])
        .collect()
}

/// A table cell: no pipes, no line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(r: &PeriodReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Backup report: {} ({})\n",
        r.host,
        level_name(r.overview.level)
    );
    let _ = writeln!(o, "{} to {}\n", local(r.since), local(r.until));
    o += "## Sources now\n\n| Source | Tier | Exposure / RPO | Last backup | Last drill | State |\n|---|---|---|---|---|---|\n";
    for s in &r.overview.sources {
        let drill = s.last_drill.as_ref().map_or("never".into(), |d| {
            format!(
                "{} {} of {}",
                if d.ok { "passed" } else { "FAILED" },
                secs(d.rto_secs),
                human_age(s.rto_secs)
            )
        });
        let _ = writeln!(
            o,
            "| {} | {} | {} / {} | {} | {} | {} {} |",
            s.name,
            s.tier,
            s.status.exposure_secs.map_or("no backup".into(), human_age),
            human_age(s.rpo_secs),
            s.status.facts.last_backup.map_or("never".into(), local),
            drill,
            level_name(s.status.level),
            cell(&s.status.notes.join("; "))
        );
    }
    o += "\n## RPO compliance over the period\n\n| Source | RPO | Inside the RPO | Worst exposure |\n|---|---|---|---|\n";
    for s in &r.sources {
        let _ = writeln!(
            o,
            "| {} | {} | {:.1} % | {} |",
            s.name,
            human_age(s.rpo_secs),
            s.compliance.share * 100.0,
            s.compliance
                .worst_exposure_secs
                .map_or("-".into(), human_age)
        );
    }
    let rule = &r.overview.rule;
    let _ = writeln!(
        o,
        "\n## 3-2-1\n\n{}: {} copies, {} media, off-site: {}\n",
        if rule.rule.holds { "holds" } else { "BROKEN" },
        rule.rule.copies.len(),
        rule.rule.media.len(),
        rule.rule
            .offsite
            .as_ref()
            .map_or("none", |c| c.name.as_str())
    );
    o += "## Storage\n\n| Repository | Free | Total | Days until full | Trend |\n|---|---|---|---|---|\n";
    for p in &r.repositories {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            p.name,
            p.free.map_or("?".into(), crate::units::bytes),
            p.total.map_or("?".into(), crate::units::bytes),
            p.days_until_full
                .map_or("not filling".into(), |d| format!("{d:.0}")),
            spark(&p.used)
        );
    }
    o += "\n## Backups in the period\n\n| Source | Backups | Failed | Added | Latest size | Avg duration | Durations |\n|---|---|---|---|---|---|---|\n";
    for s in &r.sources {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.name,
            s.backups,
            s.failed,
            crate::units::bytes(s.bytes_added),
            s.latest_size.map_or("?".into(), crate::units::bytes),
            s.avg_duration_secs.map_or("-".into(), secs),
            spark(&s.duration)
        );
    }
    o += "\n## Verifications\n\n| When | Repository | Errors | Warnings |\n|---|---|---|---|\n";
    for v in &r.verifications {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            local(v.at),
            v.repository,
            v.errors,
            v.warnings
        );
    }
    o += "\n## Drills against the tier's RTO\n\n| When | Source | Result | Measured | Target |\n|---|---|---|---|---|\n";
    for d in &r.drills {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            local(d.at),
            d.source,
            if !d.ok {
                "FAILED"
            } else if d.within_rto {
                "within RTO"
            } else {
                "over RTO"
            },
            secs(d.rto_secs),
            human_age(d.target_rto_secs)
        );
    }
    o += "\n## Findings\n\n";
    for f in &r.overview.findings {
        let _ = writeln!(
            o,
            "- {} {} (since {})",
            f.severity,
            cell(&f.message),
            local(f.since)
        );
    }
    if r.overview.findings.is_empty() {
        o += "No open findings.\n";
    }
    for a in &r.resolved {
        let _ = writeln!(o, "- resolved {}: {}", local(a.at), a.finding);
    }
    o
}
