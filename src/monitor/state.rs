//! Whom to tell what, from what each channel was told before: a new finding or a worse
//! severity is told at once; an unchanged one again only every `repeat`; a finding that
//! clears (or falls below the channel's `min-severity`) gets a recovery notice. Pure: the
//! caller records what was sent, and only a message that went through changes the state, so
//! a channel that failed is tried again at the next evaluation.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::Finding;
use crate::catalog::{AlertState, OpenFinding};
use crate::config::MinSeverity;
use crate::status::Level;

/// What a channel wants to hear.
#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    pub min: MinSeverity,
    pub repeat: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// New, or worse than last told.
    Alert,
    /// Unchanged for `repeat`.
    Repeat,
    /// Cleared.
    Recovery,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::Repeat => "repeat",
            Self::Recovery => "recovery",
        }
    }
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub channel: String,
    pub kind: NoticeKind,
    /// For a recovery: the finding as it last was (its severity what it was).
    pub finding: Finding,
}

pub fn level_name(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warning => "warning",
        Level::Critical => "critical",
    }
}

pub fn parse_level(s: &str) -> Level {
    match s {
        "critical" => Level::Critical,
        "warning" => Level::Warning,
        _ => Level::Ok,
    }
}

fn wants(c: &Channel, l: Level) -> bool {
    match c.min {
        MinSeverity::Warning => l >= Level::Warning,
        MinSeverity::Critical => l >= Level::Critical,
    }
}

/// The findings with `since` from the open ones (kept across evaluations), `now` for new.
pub fn with_since(findings: &[Finding], open: &[OpenFinding], now: Timestamp) -> Vec<Finding> {
    findings
        .iter()
        .map(|f| {
            let since = open
                .iter()
                .find(|o| o.key == f.key)
                .map_or(now, |o| o.since);
            Finding {
                since: Some(since),
                ..f.clone()
            }
        })
        .collect()
}

/// The notices due now. `open`: the findings open at the previous evaluation (what a
/// recovery notice quotes); `told`: what each channel was last told.
pub fn plan(
    findings: &[Finding],
    open: &[OpenFinding],
    told: &[AlertState],
    channels: &[Channel],
    now: Timestamp,
) -> Vec<Notice> {
    let mut out = Vec::new();
    for c in channels {
        let mine = |key: &str| {
            told.iter()
                .find(|t| t.channel == c.name && t.finding == key)
        };
        for f in findings.iter().filter(|f| wants(c, f.severity)) {
            let kind = match mine(&f.key) {
                None => NoticeKind::Alert,
                Some(t) if parse_level(&t.severity) < f.severity => NoticeKind::Alert,
                Some(t) if elapsed(t.sent_at, now) >= c.repeat => NoticeKind::Repeat,
                Some(_) => continue,
            };
            out.push(Notice {
                channel: c.name.clone(),
                kind,
                finding: f.clone(),
            });
        }
        for t in told.iter().filter(|t| t.channel == c.name) {
            let still = findings
                .iter()
                .any(|f| f.key == t.finding && wants(c, f.severity));
            if still {
                continue;
            }
            let last = open.iter().find(|o| o.key == t.finding);
            let subject = t.finding.split_once(':').map_or("", |(_, s)| s);
            out.push(Notice {
                channel: c.name.clone(),
                kind: NoticeKind::Recovery,
                finding: Finding {
                    key: t.finding.clone(),
                    severity: parse_level(&t.severity),
                    subject: subject.to_string(),
                    message: last.map_or(String::new(), |o| o.message.clone()),
                    since: last.map(|o| o.since),
                },
            });
        }
    }
    out
}

fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    Duration::from_secs((to.as_second() - from.as_second()).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn finding(key: &str, l: Level) -> Finding {
        let (check, subject) = key.split_once(':').unwrap();
        Finding::new(check, subject, l, format!("{key} is bad"))
    }

    fn told(key: &str, l: Level, at: i64) -> AlertState {
        AlertState {
            channel: "mail".into(),
            finding: key.into(),
            severity: level_name(l).into(),
            sent_at: t(at),
        }
    }

    fn channel(min: MinSeverity) -> Vec<Channel> {
        vec![Channel {
            name: "mail".into(),
            min,
            repeat: Duration::from_secs(3600),
        }]
    }

    fn kinds(n: &[Notice]) -> Vec<(&str, NoticeKind)> {
        n.iter().map(|n| (n.finding.key.as_str(), n.kind)).collect()
    }

    #[test]
    fn new_worse_repeated_and_cleared() {
        let c = channel(MinSeverity::Warning);
        let f = [finding("freshness:shop", Level::Critical)];
        // New: told at once.
        assert_eq!(
            kinds(&plan(&f, &[], &[], &c, t(0))),
            [("freshness:shop", NoticeKind::Alert)]
        );
        // Told 10 minutes ago: nothing; an hour ago: repeated.
        let s = [told("freshness:shop", Level::Critical, 0)];
        assert!(plan(&f, &[], &s, &c, t(600)).is_empty());
        assert_eq!(
            kinds(&plan(&f, &[], &s, &c, t(3600))),
            [("freshness:shop", NoticeKind::Repeat)]
        );
        // Told as a warning, now critical: worse, told at once.
        let w = [told("freshness:shop", Level::Warning, 0)];
        assert_eq!(
            kinds(&plan(&f, &[], &w, &c, t(60))),
            [("freshness:shop", NoticeKind::Alert)]
        );
        // Gone: a recovery quoting what it was.
        let open = [OpenFinding {
            key: "freshness:shop".into(),
            severity: "critical".into(),
            since: t(-100),
            message: "RPO exceeded".into(),
        }];
        let r = plan(&[], &open, &s, &c, t(60));
        assert_eq!(kinds(&r), [("freshness:shop", NoticeKind::Recovery)]);
        assert_eq!(r[0].finding.message, "RPO exceeded");
        assert_eq!(r[0].finding.subject, "shop");
    }

    #[test]
    fn min_severity_filters_and_a_drop_below_it_is_a_recovery() {
        let c = channel(MinSeverity::Critical);
        let warn = [finding("space:local", Level::Warning)];
        assert!(plan(&warn, &[], &[], &c, t(0)).is_empty());
        let s = [told("space:local", Level::Critical, 0)];
        assert_eq!(
            kinds(&plan(&warn, &[], &s, &c, t(60))),
            [("space:local", NoticeKind::Recovery)]
        );
    }

    #[test]
    fn since_is_kept_for_open_findings() {
        let open = [OpenFinding {
            key: "space:local".into(),
            severity: "warning".into(),
            since: t(-500),
            message: String::new(),
        }];
        let f = [
            finding("space:local", Level::Warning),
            finding("freshness:shop", Level::Critical),
        ];
        let s = with_since(&f, &open, t(0));
        assert_eq!(s[0].since, Some(t(-500)));
        assert_eq!(s[1].since, Some(t(0)));
    }
}
