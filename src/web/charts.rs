//! Charts as SVG, rendered on the server: readable without JavaScript, in the dashboard and in
//! the report file alike, with axes, units and the tier's targets drawn as lines. Hand-written
//! (a few shapes), styled by classes only: the dashboard's CSP allows no inline styles.

use maud::{html, Markup};

use crate::report::detail::{ChainView, TimelineRun};
use crate::report::sources::Bar;
use crate::report::trend::Point;

/// What the values of a chart are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Secs,
    Bytes,
    MbPerS,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Secs => secs(v),
            Unit::Bytes => crate::units::bytes(v.max(0.0) as u64),
            Unit::MbPerS => format!("{v:.1} MB/s"),
        }
    }
}

/// `850ms`, `12.5s`, `3m 10s`, `2h 5m`: durations on an axis.
pub fn secs(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0}ms", v * 1000.0)
    } else if v < 60.0 {
        format!("{v:.1}s")
    } else {
        crate::status::human(std::time::Duration::from_secs_f64(v))
    }
}

/// A horizontal line across a chart: a tier's target.
#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    pub value: f64,
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub unit: Unit,
    pub points: &'a [Point],
    /// The time axis, unix seconds.
    pub from: i64,
    pub to: i64,
    pub targets: Vec<Target>,
}

const W: f64 = 640.0;
const H: f64 = 200.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 26.0;

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

/// Local time of an axis tick, coarser for longer spans.
fn tick_label(t: i64, span: i64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(t) else {
        return String::new();
    };
    let z = ts.to_zoned(jiff::tz::TimeZone::system());
    let f = if span <= 2 * 86400 {
        "%H:%M"
    } else if span <= 120 * 86400 {
        "%m-%d"
    } else {
        "%Y-%m"
    };
    z.strftime(f).to_string()
}

/// Time ticks: about six, evenly spaced.
fn time_ticks(from: i64, to: i64) -> Vec<i64> {
    let span = (to - from).max(1);
    (0..=5).map(|i| from + span * i / 5).collect()
}

pub fn x_of(t: i64, from: i64, to: i64) -> f64 {
    LEFT + (t - from) as f64 / (to - from).max(1) as f64 * (W - LEFT - RIGHT)
}

/// A line chart of one figure per run, anomalies marked, targets as dashed lines.
pub fn line_chart(c: &Chart<'_>) -> Markup {
    let max = c
        .points
        .iter()
        .map(|p| p.value)
        .chain(c.targets.iter().map(|t| t.value))
        .fold(0.0, f64::max);
    let top = nice(max * 1.05);
    let y = |v: f64| TOP + (1.0 - v / top) * (H - TOP - BOTTOM);
    let x = |t: i64| x_of(t, c.from, c.to);
    let line: String = c
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.at), y(p.value)))
        .collect::<Vec<_>>()
        .join(" ");
    let anomalies = c.points.iter().filter(|p| p.anomaly).count();
    let span = c.to - c.from;
    html! {
        svg class="chart" viewBox={ "0 0 " (W) " " (H) } role="img"
            data-points=(c.points.len()) data-anomalies=(anomalies) {
            title { (c.title) " (" (c.points.len()) " points, " (anomalies) " anomalies)" }
            text class="chart-title" x=(LEFT) y="14" { (c.title) }
            @for i in 0..=4 {
                @let v = top * f64::from(i) / 4.0;
                line class="grid" x1=(LEFT) x2=(W - RIGHT) y1=(y(v)) y2=(y(v)) {}
                text class="tick" x=(LEFT - 6.0) y=(y(v) + 4.0) text-anchor="end" { (c.unit.format(v)) }
            }
            @for t in time_ticks(c.from, c.to) {
                text class="tick" x=(x(t)) y=(H - 8.0) text-anchor="middle" { (tick_label(t, span)) }
            }
            line class="axis" x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(H - BOTTOM) {}
            line class="axis" x1=(LEFT) x2=(W - RIGHT) y1=(H - BOTTOM) y2=(H - BOTTOM) {}
            @for t in &c.targets {
                line class="target" x1=(LEFT) x2=(W - RIGHT) y1=(y(t.value)) y2=(y(t.value)) {}
                text class="target-label" x=(W - RIGHT - 4.0) y=(y(t.value) - 4.0) text-anchor="end" {
                    (t.label) " " (c.unit.format(t.value))
                }
            }
            @if c.points.is_empty() {
                text class="empty" x=(W / 2.0) y=(H / 2.0) text-anchor="middle" { "no runs in this period" }
            } @else {
                polyline class="series" points=(line) {}
                @for p in c.points {
                    circle class={ "pt" @if p.anomaly { " anom" } } cx=(format!("{:.1}", x(p.at)))
                        cy=(format!("{:.1}", y(p.value))) r=(if p.anomaly { 4 } else { 2 }) {
                        title { (tick_label(p.at, 0)) " " (tick_label(p.at, 100 * 86400)) ": "
                            (c.unit.format(p.value)) @if p.anomaly { " (anomaly)" } }
                    }
                }
            }
        }
    }
}

/// The exposure against the RPO: the bar's full width is 125 % of the RPO, with marks at
/// 80 % (amber from there) and 100 % (red past it).
pub fn rpo_bar(used: Option<f64>, bar: Bar, label: &str) -> Markup {
    const BW: f64 = 160.0;
    let scale = |u: f64| (u / 1.25).clamp(0.0, 1.0) * BW;
    let fill = used.map_or(BW, scale);
    html! {
        svg class="rpo-bar" viewBox="0 0 160 14" width="160" height="14" role="img"
            data-bar=(bar.as_str()) data-used=(used.map_or("none".into(), |u| format!("{u:.3}"))) {
            title { (label) }
            rect class="track" x="0" y="2" width=(BW) height="10" rx="2" {}
            rect class={ "fill fill-" (bar.as_str()) } x="0" y="2" width=(format!("{fill:.1}")) height="10" rx="2" {}
            line class="mark" x1=(scale(0.8)) x2=(scale(0.8)) y1="0" y2="14" {}
            line class="mark target-mark" x1=(scale(1.0)) x2=(scale(1.0)) y1="0" y2="14" {}
        }
    }
}

/// Runs on a time axis: one bar each, as tall as it took, coloured by outcome, lighter for
/// light and minimal modes.
pub fn run_timeline(runs: &[TimelineRun], from: i64, to: i64) -> Markup {
    let max = runs.iter().map(|r| r.duration_secs).fold(1e-3, f64::max);
    let (h, base) = (90.0, 74.0);
    html! {
        svg class="chart timeline" viewBox={ "0 0 " (W) " " (h) } role="img" data-runs=(runs.len()) {
            title { "runs: " (runs.len()) }
            line class="axis" x1=(LEFT) x2=(W - RIGHT) y1=(base) y2=(base) {}
            text class="tick" x=(LEFT - 6.0) y=(14) text-anchor="end" { (secs(max)) }
            @for t in time_ticks(from, to) {
                text class="tick" x=(x_of(t, from, to)) y=(h - 4.0) text-anchor="middle" { (tick_label(t, to - from)) }
            }
            @for r in runs {
                @let bh = (r.duration_secs / max * 60.0).max(3.0);
                rect class={ "run st-" (r.status.as_str()) " mode-" (r.mode.as_deref().unwrap_or("normal")) }
                    x=(format!("{:.1}", x_of(r.at, from, to) - 1.0)) y=(format!("{:.1}", base - bh))
                    width="2.5" height=(format!("{bh:.1}")) {
                    title { "run " (r.id) ", " (tick_label(r.at, 0)) " " (tick_label(r.at, 100 * 86400)) ": "
                        (r.status.as_str()) ", " (r.mode.as_deref().unwrap_or("normal")) ", " (secs(r.duration_secs)) }
                }
            }
        }
    }
}

/// The restore chain on a time axis: fulls, the binlog coverage, holes in red.
pub fn chain_timeline(v: &ChainView) -> Markup {
    let h = 110.0;
    let x = |t: i64| x_of(t.clamp(v.from, v.to), v.from, v.to);
    html! {
        svg class="chart chain" viewBox={ "0 0 " (W) " " (h) } role="img"
            data-fulls=(v.fulls.len()) data-segments=(v.segments.len()) data-gaps=(v.holes.len()) {
            title { "restore chain: " (v.fulls.len()) " fulls, " (v.segments.len()) " binlog files, " (v.holes.len()) " gaps" }
            text class="tick" x=(LEFT - 6.0) y="34" text-anchor="end" { "fulls" }
            text class="tick" x=(LEFT - 6.0) y="64" text-anchor="end" { "binlogs" }
            line class="axis" x1=(LEFT) x2=(W - RIGHT) y1="80" y2="80" {}
            @for t in time_ticks(v.from, v.to) {
                text class="tick" x=(x(t)) y=(h - 12.0) text-anchor="middle" { (tick_label(t, v.to - v.from)) }
            }
            @if let Some((a, b)) = v.window {
                rect class="window" x=(x(a)) y="18" width=((x(b) - x(a)).max(1.0)) height="58" {
                    title { "restorable " (crate::source::mysql::chain::local(a)) " to " (crate::source::mysql::chain::local(b)) }
                }
            }
            @for s in &v.segments {
                rect class="cover" x=(format!("{:.1}", x(s.from))) y="52" width=(format!("{:.1}", (x(s.to) - x(s.from)).max(2.0))) height="18" {
                    title { (s.file) ": events " (crate::source::mysql::chain::local(s.from)) " to " (crate::source::mysql::chain::local(s.to)) ", " (crate::units::bytes(s.bytes)) }
                }
            }
            @for f in &v.fulls {
                rect class="full" x=(format!("{:.1}", x(f.at) - 3.0)) y="24" width="6" height="16" {
                    title { "full " (f.snapshot) " at " (crate::source::mysql::chain::local(f.at)) }
                }
            }
            @for g in &v.holes {
                @let end = g.until.unwrap_or(v.to);
                rect class="gap" x=(format!("{:.1}", x(g.from))) y="18" width=(format!("{:.1}", (x(end) - x(g.from)).max(4.0))) height="62" {
                    title { "gap: " (g.text) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_axes_units_points_and_target_lines() {
        let pts = [
            Point {
                at: 0,
                value: 10.0,
                anomaly: false,
            },
            Point {
                at: 3600,
                value: 90.0,
                anomaly: true,
            },
        ];
        let svg = line_chart(&Chart {
            title: "duration",
            unit: Unit::Secs,
            points: &pts,
            from: 0,
            to: 7200,
            targets: vec![Target {
                label: "RTO".into(),
                value: 120.0,
            }],
        })
        .into_string();
        assert!(
            svg.contains("data-points=\"2\"") && svg.contains("data-anomalies=\"1\""),
            "{svg}"
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(
            svg.contains("class=\"target\"") && svg.contains("RTO 2m 0s"),
            "{svg}"
        );
        assert!(!svg.contains("style="), "no inline styles under the CSP");
        assert_eq!(nice(0.7), 1.0);
        assert_eq!(nice(130.0), 200.0);
        let empty = line_chart(&Chart {
            title: "t",
            unit: Unit::Bytes,
            points: &[],
            from: 0,
            to: 1,
            targets: vec![],
        });
        assert!(empty.into_string().contains("no runs in this period"));
    }

    #[test]
    fn the_rpo_bar_marks_80_and_100_percent() {
        let svg = rpo_bar(Some(0.9), Bar::Amber, "x").into_string();
        assert!(
            svg.contains("fill-amber") && svg.contains("data-used=\"0.900\""),
            "{svg}"
        );
        assert!(
            svg.contains("x1=\"102.4\"") && svg.contains("x1=\"128\""),
            "{svg}"
        );
    }
}
