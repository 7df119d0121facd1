//! The markup of what the overview and the report both show: the sources with their RPO
//! bars, drills and copies; the repositories; the 3-2-1 line; findings; the daemon and its
//! next jobs; runs and drills as tables. Plain HTML with links made optional, so the report
//! file (which links nowhere) renders the same pieces.

use maud::{html, Markup};

use super::charts::{rpo_bar, secs};
use crate::catalog::{OpenFinding, RunRecord};
use crate::job::status::DaemonState;
use crate::report::observe::medium_name;
use crate::report::overview::{NextJob, RepoRow};
use crate::report::sources::SourceRow;
use crate::status::Level;
use crate::targets::{human_age, Verdict};

/// Local wall-clock time, minutes.
pub fn local(t: jiff::Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::system())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// `5m ago`, `in 3h`.
pub fn ago(t: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let d = now.as_second() - t.as_second();
    if d >= 0 {
        format!("{} ago", human_age(d as u64))
    } else {
        format!("in {}", human_age((-d) as u64))
    }
}

pub fn level_name(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warning => "warning",
        Level::Critical => "critical",
    }
}

pub fn badge(class: &str, text: &str) -> Markup {
    html! { span class={ "badge " (class) } { (text) } }
}

/// How a page links a source: to its page, or (the report) not at all.
pub fn source_name(name: &str, links: bool) -> Markup {
    html! {
        @if links { a href={ "/sources/" (name) } { b { (name) } } } @else { b { (name) } }
    }
}

pub fn sources_table(rows: &[SourceRow], now: jiff::Timestamp, links: bool) -> Markup {
    html! {
        table.sources {
            thead { tr {
                th { "Source" } th { "Tier" } th { "RPO: exposure now" } th { "Last backup" }
                th { "Last drill: RTO" } th { "Copies (3-2-1)" } th { "State" }
            } }
            tbody {
                @for r in rows {
                    @let exposure = r.status.exposure_secs.map_or("no backup".to_string(), human_age);
                    @let rpo = human_age(r.rpo_secs);
                    tr.source data-source=(r.name) data-level=(level_name(r.status.level)) {
                        td { (source_name(&r.name, links)) br; span.muted { (r.kind) } }
                        td { (r.tier) br; span.note { "RPO " (rpo) ", RTO " (human_age(r.rto_secs)) } }
                        td {
                            (rpo_bar(r.rpo_used, r.bar, &format!("exposure {exposure} of RPO {rpo}")))
                            span { (exposure) " of " (rpo) }
                            @if let Some((a, b)) = r.window {
                                br; span.note { "restorable " (crate::source::mysql::chain::local(a)) " to "
                                    (crate::source::mysql::chain::local(b)) }
                            }
                        }
                        td {
                            @match r.status.facts.last_backup {
                                Some(t) => { (ago(t, now)) }
                                None => { span.muted { "never" } }
                            }
                            @if let Some(run) = &r.last_run {
                                br; span.note { "last run " (badge(run.status.as_str(), run.status.as_str()))
                                    " " (run.mode.as_deref().unwrap_or("normal"))
                                    @if let Some(d) = run.duration_secs { ", " (secs(d)) } }
                            }
                        }
                        td {
                            @match &r.last_drill {
                                Some(d) => {
                                    (badge(if !d.ok { "failed" } else if d.within_rto { "ok" } else { "warning" },
                                        if d.ok { "passed" } else { "FAILED" }))
                                    " " (secs(d.rto_secs)) " of " (human_age(r.rto_secs))
                                    br; span.note { (ago(d.at, now)) }
                                }
                                None => { span.muted { "never drilled" } }
                            }
                        }
                        td {
                            span.note { "source (live)" }
                            @for c in &r.copies {
                                br; span { (c.repository) } " " span.note { (medium_name(c.medium))
                                    @if c.offsite { ", off-site" } ", " (human_age(c.age_secs)) } }
                        }
                        td {
                            (badge(level_name(r.status.level), level_name(r.status.level)))
                            @if !r.status.notes.is_empty() {
                                ul.notes { @for n in &r.status.notes { li { (n) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn repos_table(rows: &[RepoRow], now: jiff::Timestamp) -> Markup {
    html! {
        table.repositories {
            thead { tr {
                th { "Repository" } th { "Role" } th { "Medium" } th.num { "Snapshots" } th { "Newest" }
                th.num { "Free" } th.num { "Used" } th.num { "Days until full" } th { "Last verify" } th { "Copy" }
            } }
            tbody {
                @for r in rows {
                    @let s = &r.state;
                    tr data-repository=(s.name) {
                        td { b { (s.name) } @if let Some(e) = &s.unreachable { br; span.error { "unreachable: " (e) } } }
                        td { @if s.primary { "primary" } @else { "target" } }
                        td { (medium_name(s.medium)) @if s.offsite { ", off-site" } }
                        td.num { (s.snapshots.map_or("?".into(), |n| n.to_string()))
                            @if let Some(b) = s.behind.filter(|b| *b > 0) { br; span.note { (b) " behind" } } }
                        td { (s.newest.map_or("none".into(), |t| ago(t, now))) }
                        td.num { @match s.space { Some(sp) => { (crate::units::bytes(sp.free)) " of " (crate::units::bytes(sp.total)) }
                            None => { span.muted { "unknown" } } } }
                        td.num { (r.used_pct.map_or("?".into(), |p| format!("{p:.0} %"))) }
                        td.num { (r.days_until_full.map_or("not filling".into(), |d| format!("{d:.0}"))) }
                        td { @match &r.last_verification {
                            Some(v) => { (badge(if v.errors == 0 { "ok" } else { "failed" }, if v.errors == 0 { "ok" } else { "errors" }))
                                " " (ago(v.at, now)) }
                            None => { span.muted { "never" } } } }
                        td { @if s.primary { "—" } @else {
                            (s.last_copy.map_or("never".into(), |t| ago(t, now)))
                            @if let Some(e) = &s.copy_failing { br; span.error { "failing: " (e) } } } }
                    }
                }
            }
        }
    }
}

pub fn rule_321(v: &Verdict) -> Markup {
    let age = |a: Option<u64>| a.map_or("live".to_string(), human_age);
    html! {
        div.cards {
            div.card { "3-2-1 rule" b { (badge(if v.rule.holds { "ok" } else { "warning" }, if v.rule.holds { "holds" } else { "BROKEN" })) } }
            div.card { (crate::job::count(v.rule.copies.len(), "copy", "copies")) b {
                @for (i, c) in v.rule.copies.iter().enumerate() { @if i > 0 { ", " } (c.name) " " (age(c.age_secs)) } } }
            div.card { (crate::job::count(v.rule.media.len(), "medium", "media")) b {
                @for (i, (m, a)) in v.rule.media.iter().enumerate() { @if i > 0 { ", " } (medium_name(*m)) " " (human_age(*a)) } } }
            div.card { "off-site" b { @match &v.rule.offsite { Some(c) => { (c.name) " " (age(c.age_secs)) } None => { "none" } } } }
        }
        @if !v.findings.is_empty() {
            ul.notes { @for f in &v.findings { li { (f.subject) ": " (f.message) } } }
        }
    }
}

pub fn findings(list: &[OpenFinding], now: jiff::Timestamp) -> Markup {
    html! {
        @if list.is_empty() {
            p.muted { "No open findings." }
        } @else {
            table.findings {
                thead { tr { th { "Severity" } th { "Finding" } th { "Since" } } }
                tbody { @for f in list {
                    tr { td { (badge(&f.severity, &f.severity)) } td { (f.message) br; span.note { (f.key) } } td { (ago(f.since, now)) } }
                } }
            }
        }
    }
}

pub fn daemon(d: &DaemonState, now: jiff::Timestamp) -> Markup {
    html! {
        @match &d.heartbeat {
            Some(hb) => {
                p { (badge(if d.running { "ok" } else { "warning" }, if d.running { "daemon running" } else { "daemon silent" }))
                    " heartbeat " (ago(hb.at, now)) ", pid " (hb.pid) " on " (hb.host) ", up since " (local(hb.started_at))
                    ", version " (hb.version) }
                @if let Some(n) = &d.note { p.error { (n) } }
            }
            None => { p.muted { "No daemon has run with this state directory." } }
        }
    }
}

pub fn next_jobs(jobs: &[NextJob], now: jiff::Timestamp, actions: Option<&str>) -> Markup {
    html! {
        table.jobs {
            thead { tr { th { "Schedule" } th { "Job" } th { "Cron" } th { "Next" } th { "Last" } @if actions.is_some() { th { "" } } } }
            tbody { @for j in jobs {
                tr data-schedule=(j.schedule) {
                    td { b { (j.schedule) } } td { (j.job) } td { code { (j.cron) } }
                    td { (j.next.map_or("never".into(), |t| format!("{} ({})", local(t), ago(t, now)))) }
                    td { @match (j.last_status, j.last_at) {
                        (Some(s), Some(t)) => { (badge(s.as_str(), s.as_str())) " " (ago(t, now)) }
                        _ => { span.muted { "never" } } } }
                    @if let Some(csrf) = actions {
                        td.actions { form.inline method="post" action={ "/actions/schedule/" (j.schedule) } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Run now" } } }
                    }
                }
            } }
        }
    }
}

pub fn runs_table(runs: &[RunRecord], links: bool) -> Markup {
    html! {
        table.runs {
            thead { tr {
                th { "Run" } th { "Started" } th { "Kind" } th { "Source" } th { "Status" } th { "Mode" }
                th.num { "Duration" } th.num { "Size" } th.num { "Added" } th { "Error" }
            } }
            tbody { @for r in runs {
                tr data-run=(r.id) data-status=(r.status.as_str()) {
                    td { @if links { a href={ "/runs/" (r.id) } { "#" (r.id) } } @else { "#" (r.id) } }
                    td { (local(r.started_at)) }
                    td { (r.command) }
                    td { (r.source.as_deref().or(r.repository.as_deref()).unwrap_or("")) }
                    td { (badge(r.status.as_str(), r.status.as_str())) }
                    td { (r.mode.as_deref().unwrap_or("")) }
                    td.num { (r.duration().map_or(String::new(), |d| secs(d.as_secs_f64()))) }
                    td.num { (r.metrics.as_ref().map_or(String::new(), |m| crate::units::bytes(m.bytes_read))) }
                    td.num { (r.metrics.as_ref().map_or(String::new(), |m| crate::units::bytes(m.bytes_added))) }
                    td { @if let Some(e) = &r.error { span.error { (first_line(e)) } } }
                }
            } }
        }
    }
}

/// The first line of an error, for tables (the run's page shows it whole).
pub fn first_line(e: &str) -> String {
    let line = e.lines().next().unwrap_or_default();
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_string()
    }
}
