//! Retention that knows chains: binlog parts are not judged by keep rules. A part lives as long
//! as a kept full needs it to reach any point after it (every file from the oldest kept full's
//! binlog file on, to the newest part), and is forgotten only together with the fulls below it.

use std::collections::BTreeMap;

use super::describe::{full_of, parts_of, BINLOG_KIND, FULL_KIND};
use super::{FullRef, PartRef};
use crate::repo::{Dependents, RetentionDecision, Snapshot};
use crate::source::mysql::binlog::sequence;

/// The fate of each binlog snapshot of one source, given the fulls the keep rules kept.
/// `parts` pairs each binlog snapshot id with the parts it stores.
pub fn binlog_fates(
    all_fulls: &[FullRef],
    kept_fulls: &[FullRef],
    parts: &[(String, Vec<PartRef>)],
) -> Vec<(String, bool, String)> {
    let keep_all = |why: &str| {
        parts
            .iter()
            .map(|(id, _)| (id.clone(), true, why.to_string()))
            .collect()
    };
    if all_fulls.is_empty() {
        return keep_all("binlog: no full of this source yet; kept until one exists");
    }
    let mut anchored: Vec<(u64, &FullRef)> = kept_fulls
        .iter()
        .filter_map(|f| Some((sequence(&f.binlog.as_ref()?.file)?, f)))
        .collect();
    if anchored.is_empty() {
        return keep_all("binlog: no kept full has binlog coordinates; kept");
    }
    anchored.sort_by_key(|(seq, f)| (*seq, f.at));
    let (oldest_seq, oldest) = anchored[0];
    parts
        .iter()
        .map(|(id, ps)| {
            let top = ps.iter().map(|p| sequence(&p.file)).max().flatten();
            match top {
                // A name without a sequence number: nothing can prove it unneeded.
                None if !ps.is_empty() => (id.clone(), true, "binlog: kept (unknown file name)".into()),
                Some(top) if top >= oldest_seq => {
                    let by = anchored
                        .iter()
                        .rev()
                        .find(|(seq, _)| *seq <= top)
                        .map_or(oldest, |(_, f)| f);
                    (id.clone(), true, format!("binlog: needed by the chain of full {}", by.short()))
                }
                _ => {
                    let start = oldest.binlog.as_ref().map_or(String::new(), |c| format!("{}:{}", c.file, c.position));
                    (
                        id.clone(),
                        false,
                        format!("binlog: below the chain of the oldest kept full {} (starts at {start})", oldest.short()),
                    )
                }
            }
        })
        .collect()
}

/// The chain rule plugged into the repository's retention: binlog snapshots follow the fulls
/// of their source.
pub struct BinlogChains;

impl Dependents for BinlogChains {
    fn is_dependent(&self, snap: &Snapshot) -> bool {
        snap.kind.as_deref() == Some(BINLOG_KIND)
    }

    fn decide(&self, ruled: &[RetentionDecision], dependents: &[Snapshot]) -> Vec<(bool, String)> {
        let mut by_source: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, s) in dependents.iter().enumerate() {
            by_source
                .entry(s.source.as_deref().unwrap_or(""))
                .or_default()
                .push(i);
        }
        let mut out = vec![(true, String::new()); dependents.len()];
        for (source, idx) in by_source {
            let fulls = ruled.iter().filter(|d| {
                d.snapshot.source.as_deref() == Some(source)
                    && d.snapshot.kind.as_deref() == Some(FULL_KIND)
            });
            let all: Vec<FullRef> = fulls.clone().filter_map(|d| full_of(&d.snapshot)).collect();
            let kept: Vec<FullRef> = fulls
                .filter(|d| d.keep)
                .filter_map(|d| full_of(&d.snapshot))
                .collect();
            let parts: Vec<(String, Vec<PartRef>)> = idx
                .iter()
                .map(|&i| (dependents[i].id.clone(), parts_of(&dependents[i])))
                .collect();
            for (&i, (_, keep, why)) in idx.iter().zip(binlog_fates(&all, &kept, &parts)) {
                out[i] = (keep, why);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::mysql::dump::Coordinates;

    fn full(id: &str, at: i64, file: &str) -> FullRef {
        FullRef {
            snapshot: id.into(),
            at,
            binlog: Some(Coordinates {
                file: file.into(),
                position: 400,
            }),
            gtid: None,
        }
    }

    fn part(snap: &str, file: &str) -> (String, Vec<PartRef>) {
        (
            snap.into(),
            vec![PartRef {
                snapshot: snap.into(),
                file: file.into(),
                offset: 0,
                len: 10,
                first_event: None,
                last_event: None,
                last_gtid: None,
                closed: false,
            }],
        )
    }

    #[test]
    fn parts_from_the_oldest_kept_full_on_are_kept() {
        let all = [
            full("f1aaaaaa", 100, "b.000001"),
            full("f2bbbbbb", 200, "b.000003"),
            full("f3cccccc", 300, "b.000005"),
        ];
        let kept = &all[1..];
        let parts = [
            part("p1", "b.000001"),
            part("p2", "b.000002"),
            part("p3", "b.000003"),
            part("p4", "b.000004"),
            part("p6", "b.000006"),
        ];
        let fates = binlog_fates(&all, kept, &parts);
        let keep: Vec<bool> = fates.iter().map(|f| f.1).collect();
        assert_eq!(keep, [false, false, true, true, true]);
        assert!(
            fates[0]
                .2
                .contains("below the chain of the oldest kept full f2bbbbbb"),
            "{fates:?}"
        );
        assert!(
            fates[3].2.contains("needed by the chain of full f2bbbbbb"),
            "{fates:?}"
        );
        assert!(
            fates[4].2.contains("needed by the chain of full f3cccccc"),
            "{fates:?}"
        );
    }

    #[test]
    fn without_fulls_or_coordinates_everything_is_kept() {
        let parts = [part("p1", "b.000001")];
        assert!(binlog_fates(&[], &[], &parts)[0].1);
        let mut f = full("f1", 100, "b.000005");
        f.binlog = None;
        assert!(binlog_fates(std::slice::from_ref(&f), std::slice::from_ref(&f), &parts)[0].1);
    }
}
