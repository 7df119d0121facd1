//! Retention: which snapshots to keep, per source, with the keep rule that saved each one.
//! rustic_core's keep logic (restic's `forget` semantics) does the counting; we group by source
//! and never touch snapshots dxbackup did not make.

use std::collections::BTreeMap;

use jiff::Zoned;
use rustic_core::repofile::SnapshotFile;
use rustic_core::KeepOptions;
use serde::Serialize;

use super::{Context, Repo, Result, Snapshot};
use crate::config::RetentionConfig;

/// One snapshot's fate.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionDecision {
    pub snapshot: Snapshot,
    pub keep: bool,
    /// The keep rules that matched (`last`, `daily`, ...), or why it is removed.
    pub reasons: Vec<String>,
}

impl Repo {
    /// The retention plan for every dxbackup snapshot of this repository.
    pub fn retention_plan(
        &self,
        rules: &RetentionConfig,
        now: &Zoned,
    ) -> Result<Vec<RetentionDecision>> {
        let snaps = self.raw_snapshots()?;
        plan_retention(snaps, rules, now).ctx(|| "cannot apply retention rules".into())
    }
}

fn keep_options(r: &RetentionConfig) -> KeepOptions {
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

/// Groups snapshots by source and applies the rules to each group; snapshots without a
/// `source:` tag (made by restic or by hand) are always kept.
pub fn plan_retention(
    snaps: Vec<SnapshotFile>,
    rules: &RetentionConfig,
    now: &Zoned,
) -> rustic_core::RusticResult<Vec<RetentionDecision>> {
    let mut groups: BTreeMap<String, Vec<SnapshotFile>> = BTreeMap::new();
    let mut out = Vec::new();
    for s in snaps {
        let snap = Snapshot::from(&s);
        match (&snap.source, &snap.kind) {
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
    #[case::nothing(RetentionConfig::default(), 42)]
    #[case::last3(RetentionConfig { keep_last: Some(3), ..Default::default() }, 3)]
    #[case::daily7(RetentionConfig { keep_daily: Some(7), ..Default::default() }, 7)]
    #[case::hourly2(RetentionConfig { keep_hourly: Some(2), ..Default::default() }, 2)]
    // 7 days + weeks not already covered + months not already covered
    #[case::seed_policy(RetentionConfig { keep_daily: Some(7), keep_weekly: Some(4), keep_monthly: Some(12), ..Default::default() }, 11)]
    // Fewer years than asked for: like restic 0.16+, the oldest snapshot is kept as well.
    #[case::last1_yearly(RetentionConfig { keep_last: Some(1), keep_yearly: Some(5), ..Default::default() }, 2)]
    fn keep_rules(#[case] rules: RetentionConfig, #[case] kept: usize) {
        let now: Zoned = "2026-11-25T15:00:00+00:00[UTC]".parse().unwrap();
        let plan = plan_retention(history(), &rules, &now).unwrap();
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
        let rules = RetentionConfig {
            keep_last: Some(1),
            ..Default::default()
        };
        let plan = plan_retention(snaps, &rules, &now).unwrap();
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
}
