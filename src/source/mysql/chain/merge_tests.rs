use super::*;
use crate::source::mysql::binlog::Gtid;
use crate::source::mysql::chain::{plan as chain_plan, FullRef, Until};
use crate::source::mysql::dump::Coordinates;

fn info(file: &str, offset: u64, len: u64, closed: bool) -> PartInfo {
    let end = i64::try_from(offset + len).unwrap();
    PartInfo {
        file: file.into(),
        offset,
        len,
        first_event: Some(1000),
        last_event: Some(1000 + end),
        first_gtid: Some(Gtid {
            domain: 0,
            server: 1,
            seq: 1,
        }),
        last_gtid: Some(Gtid {
            domain: 0,
            server: 1,
            seq: offset + len,
        }),
        closed,
    }
}

fn snap(id: &str, t: i64, parts: Vec<PartInfo>) -> BinlogSnap {
    BinlogSnap {
        id: id.into(),
        time: jiff::Timestamp::from_second(t).unwrap(),
        parts,
        sha256: None,
    }
}

fn merged(id: &str, t: i64, file: &str, size: u64) -> BinlogSnap {
    BinlogSnap {
        sha256: Some("ab".repeat(32)),
        ..snap(id, t, vec![info(file, 0, size, true)])
    }
}

/// F (b.000001) in three flushes, the last also holding G's (b.000002) first part; G open.
fn day() -> Vec<BinlogSnap> {
    vec![
        snap("p1", 1, vec![info("b.000001", 0, 100, false)]),
        snap("p2", 2, vec![info("b.000001", 100, 100, false)]),
        snap(
            "p3",
            3,
            vec![
                info("b.000001", 200, 50, true),
                info("b.000002", 0, 80, false),
            ],
        ),
        snap("p4", 4, vec![info("b.000002", 80, 20, false)]),
    ]
}

fn ids(s: &[Superseded]) -> Vec<&str> {
    s.iter().map(|s| s.snapshot.as_str()).collect()
}

fn verified(ids: &[&str]) -> HashSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_closed_file_is_merged_from_its_parts_in_order_and_an_open_one_is_not() {
    let p = plan(&day());
    assert_eq!(p.merges.len(), 1, "{p:?}");
    let m = &p.merges[0];
    assert_eq!((m.file.as_str(), m.size), ("b.000001", 250));
    let offsets: Vec<u64> = m.parts.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, [0, 100, 200]);
    assert_eq!((m.info.offset, m.info.len, m.info.closed), (0, 250, true));
    assert_eq!(m.info.last_gtid.unwrap().seq, 250);
    assert_eq!(m.info.first_gtid.unwrap().seq, 1);
    assert_eq!(m.time.as_second(), 3, "the newest part's time");
    assert!(p.to_verify.is_empty() && p.overlapping.is_empty());
}

#[test]
fn parts_go_only_once_a_verified_merge_holds_them_and_a_mixed_snapshot_waits_for_both_files() {
    let mut snaps = day();
    snaps.push(merged("m1", 3, "b.000001", 250));
    // Not read back yet: nothing may go, and the merge is to be verified, not made again.
    assert!(superseded(&snaps, &verified(&[])).is_empty());
    let p = plan(&snaps);
    assert!(p.merges.is_empty(), "{p:?}");
    assert_eq!(p.to_verify, ["m1"]);
    // Verified: F's own snapshots go; p3 also holds G, which is open: it stays.
    let s = superseded(&snaps, &verified(&["m1"]));
    assert_eq!(ids(&s), ["p1", "p2"]);
    assert_eq!(s[0].by, ["m1"]);
    // G closes and is merged too: now p3 and p4 go, p3 named by both merges.
    snaps.push(snap("p5", 5, vec![info("b.000002", 100, 10, true)]));
    let p = plan(&snaps);
    assert_eq!(p.merges.len(), 1);
    assert_eq!(p.merges[0].file, "b.000002");
    snaps.push(merged("m2", 5, "b.000002", 110));
    let s = superseded(&snaps, &verified(&["m1", "m2"]));
    assert_eq!(ids(&s), ["p1", "p2", "p3", "p4", "p5"]);
    assert_eq!(s[2].by, ["m1", "m2"]);
}

#[test]
fn a_merge_is_never_forgotten_for_its_own_file_and_the_oldest_verified_one_is_kept() {
    let mut snaps = day();
    snaps.push(merged("m1", 3, "b.000001", 250));
    snaps.push(merged("m0", 9, "b.000001", 250));
    let s = superseded(&snaps, &verified(&["m1", "m0"]));
    assert!(ids(&s).contains(&"m0"), "the younger duplicate goes: {s:?}");
    assert!(!ids(&s).contains(&"m1"));
    // Only the younger one read back: it is the keeper, the older one goes.
    let s = superseded(&snaps, &verified(&["m0"]));
    assert!(ids(&s).contains(&"m1") && !ids(&s).contains(&"m0"), "{s:?}");
    assert_eq!(plan(&snaps).to_verify, ["m1"]);
}

#[test]
fn a_merge_shorter_than_the_file_or_a_file_with_a_hole_supersedes_nothing() {
    let mut snaps = day();
    snaps.push(merged("short", 3, "b.000001", 200));
    assert!(superseded(&snaps, &verified(&["short"])).is_empty());
    assert_eq!(plan(&snaps).merges.len(), 1, "merged again, whole");
    let mut holed = day();
    holed.remove(1);
    assert!(plan(&holed).merges.is_empty());
}

#[test]
fn overlapping_parts_are_left_alone_and_a_lone_whole_file_needs_nothing() {
    let snaps = vec![
        snap("p1", 1, vec![info("b.000001", 0, 100, false)]),
        snap("p2", 2, vec![info("b.000001", 50, 100, true)]),
    ];
    let p = plan(&snaps);
    assert!(p.merges.is_empty());
    assert_eq!(p.overlapping, ["b.000001"]);
    let lone = vec![snap("p1", 1, vec![info("b.000001", 0, 100, true)])];
    let p = plan(&lone);
    assert!(p.merges.is_empty() && p.to_verify.is_empty() && p.overlapping.is_empty());
}

#[test]
fn every_interrupted_state_restores_the_same_chain() {
    let full = FullRef {
        snapshot: "f1".into(),
        at: 900,
        binlog: Some(Coordinates {
            file: "b.000001".into(),
            position: 4,
        }),
        gtid: None,
    };
    let chain_of = |snaps: &[BinlogSnap]| {
        let c = chain_plan(
            std::slice::from_ref(&full),
            &Coverage::build(&refs(snaps)),
            &Until::Latest,
        )
        .unwrap();
        let files: Vec<(String, u64, bool)> = c
            .binlogs
            .iter()
            .map(|f| (f.file.clone(), f.size, f.closed))
            .collect();
        (files, c.reaches)
    };
    let parts = day();
    let before = chain_of(&parts);
    let mut both = parts.clone();
    both.push(merged("m1", 3, "b.000001", 250));
    assert_eq!(chain_of(&both), before, "parts and merge overlapping");
    let forgotten: Vec<String> = ids(&superseded(&both, &verified(&["m1"])))
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(forgotten, ["p1", "p2"]);
    for n in 0..=forgotten.len() {
        // Killed after forgetting `n` of them.
        let left: Vec<BinlogSnap> = both
            .iter()
            .filter(|s| !forgotten[..n].contains(&s.id))
            .cloned()
            .collect();
        assert_eq!(chain_of(&left), before, "{n} forgotten");
    }
    let c = Coverage::build(&refs(&both));
    assert_eq!(
        c.file(1).unwrap().parts.len(),
        1,
        "the merge alone is replayed"
    );
}

#[test]
fn a_file_archived_from_two_servers_is_neither_merged_nor_forgotten() {
    // b.000001 of a second server (its binary log reset) stored after the first one's.
    let mut other = info("b.000001", 250, 100, true);
    other.first_event = Some(9000);
    let mut snaps = day();
    snaps.push(merged("m1", 3, "b.000001", 250));
    snaps.push(snap("q1", 4, vec![other]));
    let p = plan(&snaps);
    assert!(
        p.merges.iter().all(|m| m.file != "b.000001") && p.to_verify.is_empty(),
        "{p:?}"
    );
    let gone = superseded(&snaps, &verified(&["m1"]));
    assert!(
        gone.is_empty(),
        "nothing of a mixed file goes: {:?}",
        ids(&gone)
    );
}
