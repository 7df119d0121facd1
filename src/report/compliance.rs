//! RPO compliance over a period: the share of time during which a disaster would have lost
//! no more than the tier's RPO. Recovery points are what became restorable when (a backup
//! finished, a binlog part was stored); between two of them the exposure grows with the
//! clock. Pure.

use serde::Serialize;

/// Data as of `point` became restorable at `available` (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPoint {
    pub available: i64,
    pub point: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Compliance {
    /// Share of the period inside the RPO, 0..=1.
    pub share: f64,
    pub outside_secs: u64,
    /// The largest exposure seen in the period; `None` when nothing was restorable at some
    /// point of it (no backup yet).
    pub worst_exposure_secs: Option<u64>,
}

/// Judges `[from, to)` against `rpo` seconds. Points restorable before `from` count (the
/// period starts with their exposure).
pub fn compliance(points: &[RecoveryPoint], rpo: i64, from: i64, to: i64) -> Compliance {
    let mut pts: Vec<RecoveryPoint> = points
        .iter()
        .copied()
        .filter(|p| p.available < to)
        .collect();
    pts.sort_by_key(|p| p.available);
    let span = (to - from).max(1);
    let mut best: Option<i64> = None;
    let mut outside = 0i64;
    let mut worst: Option<i64> = Some(0);
    let mut at = from;
    let mut i = 0;
    while i < pts.len() && pts[i].available <= from {
        best = best.max(Some(pts[i].point));
        i += 1;
    }
    loop {
        let next = pts.get(i).map_or(to, |p| p.available.min(to));
        if next > at {
            match best {
                None => {
                    outside += next - at;
                    worst = None;
                }
                Some(b) => {
                    outside += (next - at.max(b + rpo)).max(0);
                    worst = worst.map(|w| w.max(next - b));
                }
            }
            at = next;
        }
        let Some(p) = pts.get(i) else { break };
        best = best.max(Some(p.point));
        i += 1;
    }
    let outside = outside.clamp(0, span);
    Compliance {
        share: 1.0 - outside as f64 / span as f64,
        outside_secs: outside as u64,
        worst_exposure_secs: worst.map(|w| w.max(0) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn p(available: i64, point: i64) -> RecoveryPoint {
        RecoveryPoint { available, point }
    }

    #[rstest]
    // Hourly backups against a 15-minute RPO: 45 minutes of every hour outside.
    #[case::hourly_vs_15m(vec![p(0, 0), p(3600, 3600), p(7200, 7200)], 900, 0, 10800, 0.25, Some(3600))]
    // Hourly backups against a 2-hour RPO: always inside.
    #[case::hourly_vs_2h(vec![p(0, 0), p(3600, 3600)], 7200, 0, 7200, 1.0, Some(3600))]
    // Nothing before the first backup at half time: the first half is outside.
    #[case::no_backup_yet(vec![p(500, 500)], 10_000, 0, 1000, 0.5, None)]
    // A backup taking 10 minutes: its data is as old as its start when it lands.
    #[case::slow_backup(vec![p(-3600, -3600), p(600, 0)], 3600, 0, 600, 1.0 - 600.0 / 600.0, Some(4200))]
    fn share_inside_the_rpo(
        #[case] points: Vec<RecoveryPoint>,
        #[case] rpo: i64,
        #[case] from: i64,
        #[case] to: i64,
        #[case] share: f64,
        #[case] worst: Option<u64>,
    ) {
        let c = compliance(&points, rpo, from, to);
        assert!((c.share - share).abs() < 1e-9, "{c:?}");
        assert_eq!(c.worst_exposure_secs, worst, "{c:?}");
    }
}
