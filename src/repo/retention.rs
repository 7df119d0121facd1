//! Retention: which snapshots to keep, per source, with the keep rule that saved each one.
//! rustic_core's keep logic (restic's `forget` semantics) does the counting; we group by source
//! and never touch snapshots dxbackup did not make.

use std::collections::BTreeMap;

use jiff::Zoned;
use rustic_core::repofile::SnapshotFile;
use rustic_core::KeepOptions;
use serde::Serialize;

use super::{Context, Repo, Result, Snapshot};

/// restic's keep rules (`--keep-last` ...); `None` means the rule is not used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepRules {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
}

impl KeepRules {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// One snapshot's fate.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionDecision {
    pub snapshot: Snapshot,
    pub keep: bool,
    /// The keep rules that matched (`last`, `daily`, ...), or why it is removed.
    pub reasons: Vec<String>,
}

/// Snapshots whose fate follows from others' rather than from keep rules: a full's binlog
/// parts live as long as a kept full needs them. Implemented where the chains are understood
/// (`source::mysql::chain`), so the storage engine knows nothing of binlogs.
pub trait Dependents {
    /// Whether keep rules skip `snap`: its fate is decided by `decide`.
    fn is_dependent(&self, snap: &Snapshot) -> bool;
    /// The fate (keep, why) of each dependent, given every decision the keep rules took.
    fn decide(&self, ruled: &[RetentionDecision], dependents: &[Snapshot]) -> Vec<(bool, String)>;
}

/// No snapshot depends on another.
pub struct Independent;

impl Dependents for Independent {
    fn is_dependent(&self, _: &Snapshot) -> bool {
        false
    }
    fn decide(&self, _: &[RetentionDecision], d: &[Snapshot]) -> Vec<(bool, String)> {
        vec![(true, String::new()); d.len()]
    }
}

/// A repository's retention: keep rules, and the rule for snapshots that depend on others.
#[derive(Clone, Copy)]
pub struct Policy<'a> {
    pub rules: &'a KeepRules,
    pub dependents: &'a dyn Dependents,
}

impl Repo {
    /// The retention plan for every dxbackup snapshot of this repository.
    pub fn retention_plan(
        &self,
        policy: Policy<'_>,
        now: &Zoned,
    ) -> Result<Vec<RetentionDecision>> {
        let snaps = self.raw_snapshots()?;
        plan_retention(snaps, policy, now).ctx(|| "cannot apply retention rules".into())
    }
}

fn keep_options(r: &KeepRules) -> KeepOptions {
    let n = |v: Option<u32>| v.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
    let mut k = KeepOptions::default();
    k.keep_last = n(r.keep_last);
    k.keep_hourly = n(r.keep_hourly);
    k.keep_daily = n(r.keep_daily);
    k.keep_weekly = n(r.keep_weekly);
    k.keep_monthly = n(r.keep_monthly);
    k.keep_yearly = n(r.keep_yearly);
    k
}

/// Groups snapshots by source and kind and applies the rules to each group; snapshots without
/// a `source:` tag (made by restic or by hand) are always kept; dependents (binlog parts)
/// follow what the rules decided for the rest.
pub fn plan_retention(
    snaps: Vec<SnapshotFile>,
    policy: Policy<'_>,
    now: &Zoned,
) -> rustic_core::RusticResult<Vec<RetentionDecision>> {
    let rules = policy.rules;
    let mut groups: BTreeMap<String, Vec<SnapshotFile>> = BTreeMap::new();
    let mut dependents = Vec::new();
    let mut out = Vec::new();
    for s in snaps {
        let snap = Snapshot::from(&s);
        match (&snap.source, &snap.kind) {
            _ if policy.dependents.is_dependent(&snap) => dependents.push(snap),
            (Some(src), Some(kind)) => groups.entry(format!("{src}/{kind}")).or_default().push(s),
            _ => out.push(RetentionDecision {
                snapshot: snap,
                keep: true,
                reasons: vec!["not made by dxbackup".into()],
            }),
        }
    }
    let keep = keep_options(rules);
    for (_, group) in groups {
        if rules.is_empty() {
            out.extend(group.iter().map(|s| RetentionDecision {
                snapshot: Snapshot::from(s),
                keep: true,
                reasons: vec!["no retention rule configured".into()],
            }));
            continue;
        }
        for f in keep.apply(group, now)? {
            let reasons = if f.keep {
                f.reasons.iter().map(|r| rename_reason(r)).collect()
            } else {
                vec!["matched no keep rule".into()]
            };
            out.push(RetentionDecision {
                snapshot: Snapshot::from(&f.snapshot),
                keep: f.keep,
                reasons,
            });
        }
    }
    let fates = policy.dependents.decide(&out, &dependents);
    for (snapshot, (keep, why)) in dependents.into_iter().zip(fates) {
        out.push(RetentionDecision {
            snapshot,
            keep,
            reasons: vec![why],
        });
    }
    out.sort_by_key(|d| d.snapshot.time);
    Ok(out)
}

/// rustic says `last`, `daily`...; say which config key it was.
fn rename_reason(r: &str) -> String {
    match r {
        "last" | "hourly" | "daily" | "weekly" | "monthly" | "yearly" => format!("keep-{r}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use rustic_core::StringList;

    fn policy(rules: &KeepRules) -> Policy<'_> {
        Policy {
            rules,
            dependents: &Independent,
        }
    }

    fn snap(time: &str, source: &str) -> SnapshotFile {
        SnapshotFile {
            time: time.parse().unwrap(),
            tags: format!("dxbackup,source:{source},kind:files")
                .parse::<StringList>()
                .unwrap(),
            id: rustic_core::Id::random().into(),
            ..Default::default()
        }
    }

    /// Daily snapshots at 02:00 for 40 days ending 2026-11-25, plus extra ones on the last day.
    fn history() -> Vec<SnapshotFile> {
        let start: jiff::civil::Date = "2026-10-17".parse().unwrap();
        let mut v: Vec<_> = (0..40)
            .map(|d| {
                let day = start.checked_add(jiff::Span::new().days(d)).unwrap();
                snap(&format!("{day}T02:00:00+00:00[UTC]"), "datax")
            })
            .collect();
        v.push(snap("2026-11-25T10:00:00+00:00[UTC]", "datax"));
        v.push(snap("2026-11-25T14:00:00+00:00[UTC]", "datax"));
        v
    }

    #[rstest]
    #[case::nothing(KeepRules::default(), 42)]
    #[case::last3(KeepRules { keep_last: Some(3), ..Default::default() }, 3)]
    #[case::daily7(KeepRules { keep_daily: Some(7), ..Default::default() }, 7)]
    #[case::hourly2(KeepRules { keep_hourly: Some(2), ..Default::default() }, 2)]
    // 7 days + weeks not already covered + months not already covered
    #[case::seed_policy(KeepRules { keep_daily: Some(7), keep_weekly: Some(4), keep_monthly: Some(12), ..Default::default() }, 11)]
    // Fewer years than asked for: like restic 0.16+, the oldest snapshot is kept as well.
    #[case::last1_yearly(KeepRules { keep_last: Some(1), keep_yearly: Some(5), ..Default::default() }, 2)]
    fn keep_rules(#[case] rules: KeepRules, #[case] kept: usize) {
        let now: Zoned = "2026-11-25T15:00:00+00:00[UTC]".parse().unwrap();
        let plan = plan_retention(history(), policy(&rules), &now).unwrap();
        assert_eq!(plan.len(), 42);
        let n = plan.iter().filter(|d| d.keep).count();
        assert_eq!(
            n,
            kept,
            "{:#?}",
            plan.iter()
                .filter(|d| d.keep)
                .map(|d| (d.snapshot.time, &d.reasons))
                .collect::<Vec<_>>()
        );
        for d in &plan {
            assert!(!d.reasons.is_empty());
        }
    }

    #[test]
    fn reasons_name_the_rule_and_groups_are_per_source() {
        let now: Zoned = "2026-11-25T15:00:00+00:00[UTC]".parse().unwrap();
        let mut snaps = history();
        snaps.push(snap("2026-01-01T00:00:00+00:00[UTC]", "other"));
        let mut foreign = snap("2020-01-01T00:00:00+00:00[UTC]", "x");
        foreign.tags = StringList::default();
        snaps.push(foreign);
        let rules = KeepRules {
            keep_last: Some(1),
            ..Default::default()
        };
        let plan = plan_retention(snaps, policy(&rules), &now).unwrap();
        let kept: Vec<_> = plan.iter().filter(|d| d.keep).collect();
        assert_eq!(
            kept.len(),
            3,
            "latest of datax, latest of other, the foreign one"
        );
        assert!(kept.iter().any(|d| d.reasons == ["keep-last"]));
        assert!(kept.iter().any(|d| d.reasons == ["not made by dxbackup"]));
        assert!(plan
            .iter()
            .filter(|d| !d.keep)
            .all(|d| d.reasons == ["matched no keep rule"]));
    }

    fn db_snap(time: &str, kind: &str, description: &str) -> SnapshotFile {
        let mut s = snap(time, "shop");
        s.tags = format!("dxbackup,source:shop,kind:{kind}")
            .parse::<StringList>()
            .unwrap();
        s.description = Some(description.into());
        s
    }

    #[test]
    fn keep_last_keeps_the_binlog_chain_of_every_kept_full() {
        let now: Zoned = "2026-11-25T15:00:00+00:00[UTC]".parse().unwrap();
        let full = |t: &str, at: i64, file: &str| {
            db_snap(
                t,
                "mysql-full",
                &format!(
                    r#"{{"at":{at},"binlog":{{"file":"{file}","position":400}},"gtid":null}}"#
                ),
            )
        };
        let part = |t: &str, file: &str, offset: u64| {
            db_snap(
                t,
                "binlog",
                &format!(
                    r#"{{"parts":[{{"file":"{file}","offset":{offset},"len":100,"first_event":null,"last_event":null,"first_gtid":null,"last_gtid":null,"closed":false}}]}}"#
                ),
            )
        };
        let snaps = vec![
            full("2026-11-20T02:00:00+00:00[UTC]", 1, "b.000001"),
            part("2026-11-20T03:00:00+00:00[UTC]", "b.000001", 0),
            full("2026-11-21T02:00:00+00:00[UTC]", 2, "b.000002"),
            part("2026-11-21T03:00:00+00:00[UTC]", "b.000002", 0),
            part("2026-11-21T04:00:00+00:00[UTC]", "b.000002", 100),
            full("2026-11-22T02:00:00+00:00[UTC]", 3, "b.000003"),
            part("2026-11-22T03:00:00+00:00[UTC]", "b.000003", 0),
            part("2026-11-22T04:00:00+00:00[UTC]", "b.000003", 100),
            part("2026-11-22T05:00:00+00:00[UTC]", "b.000004", 0),
        ];
        let rules = KeepRules {
            keep_last: Some(2),
            ..Default::default()
        };
        let policy = Policy {
            rules: &rules,
            dependents: &crate::source::mysql::chain::BinlogChains,
        };
        let plan = plan_retention(snaps, policy, &now).unwrap();
        let fate: Vec<(String, bool)> = plan
            .iter()
            .map(|d| (d.snapshot.kind.clone().unwrap(), d.keep))
            .collect();
        let expect = [
            ("mysql-full", false),
            ("binlog", false),
            ("mysql-full", true),
            ("binlog", true),
            ("binlog", true),
            ("mysql-full", true),
            ("binlog", true),
            ("binlog", true),
            ("binlog", true),
        ];
        let expect: Vec<(String, bool)> = expect.iter().map(|(k, b)| (k.to_string(), *b)).collect();
        assert_eq!(fate, expect, "{plan:#?}");
        assert!(
            plan[4].reasons[0].starts_with("binlog: needed by the chain of full"),
            "{:?}",
            plan[4].reasons
        );
        assert!(
            plan[1].reasons[0].contains("below the chain of the oldest kept full"),
            "{:?}",
            plan[1].reasons
        );
    }
}
