//! The verdict on the repositories and the 3-2-1 rule: pure (states and `now` in, findings and
//! an exit level out), so every rule is a table test. `dxbackup status` gathers the states.
//!
//! The rule, as the seed states it: three copies of the data (the live source counts as one),
//! on two distinct media, one of them off-site. A copy counts when its repository is
//! reachable and holds a snapshot. A broken rule, an unreachable or lagging target, or a
//! failing copy is a warning; a repository holding nothing newer than the smallest RPO of
//! the sources' tiers is critical, as is a disk more than 90 % full.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Medium;

/// What `status` learned about one repository.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RepoState {
    pub name: String,
    pub primary: bool,
    pub medium: Medium,
    pub offsite: bool,
    /// Why it could not be opened; `None` when it was.
    pub unreachable: Option<String>,
    pub snapshots: Option<usize>,
    pub newest: Option<Timestamp>,
    /// Snapshots of the primary this target lacks (and its retention would keep).
    pub behind: Option<usize>,
    pub last_copy: Option<Timestamp>,
    /// The error of the newest copy, when it failed after the last successful one.
    pub copy_failing: Option<String>,
    /// Known for local folders; `None` where it cannot be known (SFTP, buckets).
    pub space: Option<Space>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Space {
    pub free: u64,
    pub total: u64,
}

impl Space {
    pub fn used_pct(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        100.0 * (self.total - self.free.min(self.total)) as f64 / self.total as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable across runs, what alerts are de-duplicated by: `reach:nas`, `copy:nas`,
    /// `repo-age:local`, `space:local`, `3-2-1:copies`, `3-2-1:media`, `3-2-1:offsite`.
    pub key: String,
    pub severity: Severity,
    /// The repository concerned, or `3-2-1`.
    pub subject: String,
    pub message: String,
}

/// One copy of the data and how old its newest snapshot is (`None`: the live source).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CopyAge {
    pub name: String,
    pub age_secs: Option<u64>,
}

/// The 3-2-1 line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule321 {
    /// The source first, then each repository holding a snapshot, freshest first.
    pub copies: Vec<CopyAge>,
    /// Each medium holding a copy, with the age of its freshest copy.
    pub media: Vec<(Medium, u64)>,
    /// The freshest off-site copy.
    pub offsite: Option<CopyAge>,
    pub holds: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub rule: Rule321,
    pub findings: Vec<Finding>,
    pub severity: Severity,
}

/// Judges the repositories. `rpo`: the smallest RPO among the sources' tiers (`None` without
/// sources: no freshness rule).
pub fn evaluate(repos: &[RepoState], rpo: Option<Duration>, now: Timestamp) -> Verdict {
    let age = |t: Timestamp| now.duration_since(t).as_secs().max(0) as u64;
    let mut findings = Vec::new();
    let mut push = |severity, check: &str, subject: &str, message: String| {
        // The 3-2-1 findings are keyed by the rule they break, the others by repository.
        let key = if subject == "3-2-1" {
            format!("3-2-1:{check}")
        } else {
            format!("{check}:{subject}")
        };
        findings.push(Finding {
            key,
            severity,
            subject: subject.to_string(),
            message,
        })
    };
    for r in repos {
        repo_findings(r, rpo, &age, &mut push);
    }
    let holding: Vec<(&RepoState, u64)> = repos
        .iter()
        .filter(|r| r.unreachable.is_none())
        .filter_map(|r| r.newest.map(|t| (r, age(t))))
        .collect();
    let mut copies: Vec<CopyAge> = holding
        .iter()
        .map(|(r, a)| CopyAge {
            name: r.name.clone(),
            age_secs: Some(*a),
        })
        .collect();
    copies.sort_by_key(|c| c.age_secs);
    copies.insert(
        0,
        CopyAge {
            name: "source".into(),
            age_secs: None,
        },
    );
    let mut media: BTreeMap<Medium, u64> = BTreeMap::new();
    for (r, a) in &holding {
        let e = media.entry(r.medium).or_insert(*a);
        *e = (*e).min(*a);
    }
    let offsite = holding
        .iter()
        .filter(|(r, _)| r.offsite)
        .min_by_key(|(_, a)| *a)
        .map(|(r, a)| CopyAge {
            name: r.name.clone(),
            age_secs: Some(*a),
        });
    if copies.len() < 3 {
        push(
            Severity::Warning,
            "copies",
            "3-2-1",
            format!(
                "{} copies of the data counting the source, 3 wanted: add a repository and let `run` copy to it",
                copies.len()
            ),
        );
    }
    if media.len() < 2 {
        push(
            Severity::Warning,
            "media",
            "3-2-1",
            format!(
                "copies on {} medium, 2 wanted: put a target on another medium (medium = \"nas\" or \"cloud\")",
                media.len()
            ),
        );
    }
    if offsite.is_none() {
        push(
            Severity::Warning,
            "offsite",
            "3-2-1",
            "no reachable off-site copy: add a target away from this site and set offsite = true"
                .into(),
        );
    }
    let holds = copies.len() >= 3 && media.len() >= 2 && offsite.is_some();
    let severity = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok);
    Verdict {
        rule: Rule321 {
            copies,
            media: media.into_iter().collect(),
            offsite,
            holds,
        },
        findings,
        severity,
    }
}

fn repo_findings(
    r: &RepoState,
    rpo: Option<Duration>,
    age: &dyn Fn(Timestamp) -> u64,
    push: &mut dyn FnMut(Severity, &str, &str, String),
) {
    let name = r.name.as_str();
    if let Some(e) = &r.unreachable {
        push(
            Severity::Warning,
            "reach",
            name,
            format!("unreachable: {e}; check the network, the server and its credentials"),
        );
    }
    if let Some(e) = &r.copy_failing {
        push(
            Severity::Warning,
            "copy",
            name,
            format!(
                "the last copy failed: {e}; the next `dxbackup run` or `dxbackup copy` resumes it"
            ),
        );
    }
    if let Some(n) = r.behind.filter(|n| *n > 0) {
        push(
            Severity::Warning,
            "copy",
            name,
            format!(
                "{n} {} behind the primary; run `dxbackup copy --to {name}`",
                if n == 1 { "snapshot" } else { "snapshots" }
            ),
        );
    }
    // Freshness: what the repository holds, or, when it cannot be asked, what the last
    // successful copy put there.
    let newest = if r.unreachable.is_none() {
        r.newest
    } else {
        r.last_copy.or(r.newest)
    };
    if let Some(rpo) = rpo {
        let limit = rpo.as_secs();
        match newest.map(age) {
            None => push(
                Severity::Critical,
                "repo-age",
                name,
                "holds no snapshot: nothing to restore from here".into(),
            ),
            Some(a) if a > limit => push(
                Severity::Critical,
                "repo-age",
                name,
                format!(
                    "nothing newer than {} (the smallest RPO of the sources is {})",
                    human_age(a),
                    humantime::format_duration(rpo)
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(s) = r.space {
        let pct = s.used_pct();
        let sev = if pct >= 90.0 {
            Severity::Critical
        } else if pct >= 80.0 {
            Severity::Warning
        } else {
            Severity::Ok
        };
        if sev != Severity::Ok {
            push(
                sev,
                "space",
                name,
                format!("disk {pct:.0} % full; free space or run `dxbackup forget --prune`"),
            );
        }
    }
}

/// `45s`, `12m`, `3h 5m`, `4d 2h`: ages as a glance wants them.
pub fn human_age(secs: u64) -> String {
    let (d, h, m) = (secs / 86400, secs % 86400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests;
