//! The period report as one HTML file to mail or archive: the dashboard's CSS inlined, the
//! charts as inline SVG, no script, no link or resource outside the file.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::compliance::Compliance;
use super::period::{PeriodReport, SourcePeriod};
use crate::targets::human_age;
use crate::web::charts::{line_chart, secs, Chart, Target, Unit};
use crate::web::views::{self, badge, local};

pub fn render(r: &PeriodReport) -> String {
    let (from, to) = (r.since.as_second(), r.until.as_second());
    let level = views::level_name(r.overview.level);
    let failed: usize = r.sources.iter().map(|s| s.failed).sum();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Backup report " (r.host) ", " (local(r.since)) " to " (local(r.until)) }
                style { (PreEscaped(crate::web::assets::STYLE)) }
            }
            body { main {
                h1 { "Backup report: " (r.host) " " (badge(level, level)) }
                p.note { (local(r.since)) " to " (local(r.until)) "; written by dxbackup " (env!("CARGO_PKG_VERSION")) "." }
                div.cards {
                    div.card { "sources" b { (r.sources.len()) } }
                    div.card { "backups in the period" b { (r.sources.iter().map(|s| s.backups).sum::<usize>()) } }
                    div.card { "failed or interrupted" b { (failed) } }
                    div.card { "drills" b { (r.drills.len()) } }
                    div.card { "3-2-1" b { (if r.overview.rule.rule.holds { "holds" } else { "BROKEN" }) } }
                }
                h2 { "Sources now" }
                (views::sources_table(&r.overview.sources, r.until, false))
                h2 { "RPO compliance over the period" }
                (compliance_table(r))
                h2 { "3-2-1" }
                (views::rule_321(&r.overview.rule))
                h2 { "Storage" }
                (views::repos_table(&r.overview.repositories, r.until))
                div.charts { @for repo in &r.repositories {
                    (line_chart(&Chart { title: &format!("{}: bytes in use on its disk", repo.name), unit: Unit::Bytes,
                        points: &repo.used, from, to, targets: vec![] }))
                } }
                h2 { "Backups in the period" }
                @for s in &r.sources { (source_section(s, from, to)) }
                h2 { "Verifications" }
                (verifications(r))
                h2 { "Drills against the tier's RTO" }
                (drills(r))
                h2 { "Findings" }
                h3 { "Open" }
                (views::findings(&r.overview.findings, r.until))
                h3 { "Resolved in the period" }
                @if r.resolved.is_empty() { p.muted { "None." } } @else {
                    table { thead { tr { th { "When" } th { "Finding" } th { "Told to" } } }
                        tbody { @for a in &r.resolved { tr { td { (local(a.at)) } td { (a.finding) } td { (a.channel) } } } } }
                }
            } }
        }
    };
    page.into_string()
}

fn share(c: &Compliance) -> String {
    format!("{:.1} %", c.share * 100.0)
}

fn compliance_table(r: &PeriodReport) -> Markup {
    html! {
        table.compliance { thead { tr { th { "Source" } th { "Tier" } th.num { "RPO" } th.num { "Inside the RPO" } th.num { "Time outside" } th.num { "Worst exposure" } } }
            tbody { @for s in &r.sources { tr data-source=(s.name) {
                td { b { (s.name) } } td { (s.tier) } td.num { (human_age(s.rpo_secs)) }
                td.num { (badge(if s.compliance.share >= 0.999 { "ok" } else if s.compliance.share >= 0.95 { "warning" } else { "critical" }, &share(&s.compliance))) }
                td.num { (human_age(s.compliance.outside_secs)) }
                td.num { (s.compliance.worst_exposure_secs.map_or("no backup at the start".into(), human_age)) }
            } } } }
    }
}

fn source_section(s: &SourcePeriod, from: i64, to: i64) -> Markup {
    html! {
        h3 { (s.name) " " span.note { (s.kind) ", tier " (s.tier) } }
        table { tbody { tr {
            td { (s.backups) " backups, " (s.ok) " ok, " (s.failed) " failed" }
            td { (crate::units::bytes(s.bytes_added)) " added" }
            td { "latest size " (s.latest_size.map_or("?".into(), crate::units::bytes)) }
            td { "duration avg " (s.avg_duration_secs.map_or("-".into(), secs)) ", max " (s.max_duration_secs.map_or("-".into(), secs)) }
        } } }
        div.charts {
            (line_chart(&Chart { title: &format!("{}: duration", s.name), unit: Unit::Secs, points: &s.duration, from, to,
                targets: vec![Target { label: "RTO".into(), value: s.rto_secs as f64 }] }))
            (line_chart(&Chart { title: &format!("{}: size", s.name), unit: Unit::Bytes, points: &s.size, from, to, targets: vec![] }))
        }
        @if !s.runs.is_empty() { (views::runs_table(&s.runs, false)) }
    }
}

fn verifications(r: &PeriodReport) -> Markup {
    html! {
        @if r.verifications.is_empty() { p.muted { "No verification in the period." } } @else {
            table { thead { tr { th { "When" } th { "Repository" } th { "Read data" } th.num { "Errors" } th.num { "Warnings" } th { "Findings" } } }
                tbody { @for v in &r.verifications { tr {
                    td { (local(v.at)) } td { (v.repository) }
                    td { (v.read_data_pct.map_or("structure only".into(), |p| format!("{p} %"))) }
                    td.num { (v.errors) } td.num { (v.warnings) } td { (v.findings.join("; ")) }
                } } } }
        }
    }
}

fn drills(r: &PeriodReport) -> Markup {
    html! {
        @if r.drills.is_empty() { p.muted { "No drill in the period." } } @else {
            table { thead { tr { th { "When" } th { "Source" } th { "Tier" } th { "Result" } th.num { "Measured RTO" } th.num { "Target" } th { "Compared" } } }
                tbody { @for d in &r.drills { tr {
                    td { (local(d.at)) } td { (d.source) } td { (d.tier) }
                    td { (badge(if !d.ok { "failed" } else if d.within_rto { "ok" } else { "warning" },
                        if !d.ok { "FAILED" } else if d.within_rto { "within RTO" } else { "over RTO" })) }
                    td.num { (secs(d.rto_secs)) } td.num { (human_age(d.target_rto_secs)) }
                    td { pre { (d.detail) } }
                } } } }
        }
    }
}
