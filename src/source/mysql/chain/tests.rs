use super::*;
use rstest::rstest;

fn full(id: &str, at: i64, file: &str, pos: u64, gtid: &str) -> FullRef {
    FullRef {
        snapshot: id.into(),
        at,
        binlog: Some(Coordinates {
            file: file.into(),
            position: pos,
        }),
        gtid: Some(gtid.into()),
    }
}

/// A part of `file` covering `offset..offset+len`, whose last event is at `last` with GTID
/// sequence `seq`.
fn part(file: &str, offset: u64, len: u64, last: i64, seq: u64, closed: bool) -> PartRef {
    PartRef {
        snapshot: format!("s-{file}@{offset}"),
        file: file.into(),
        offset,
        len,
        // The file's first event, the same in every part of it (as the archiver stores them).
        first_event: sequence(file).map(|s| s as i64 * 1000),
        last_event: Some(last),
        last_gtid: Some(Gtid {
            domain: 0,
            server: 1,
            seq,
        }),
        closed,
    }
}

/// Two fulls (at 1000 in file 1, at 2000 in file 3) and four files, each stored in two parts.
fn history() -> (Vec<FullRef>, Vec<PartRef>) {
    let fulls = vec![
        full("f1aaaaaa", 1000, "bin.000001", 400, "0-1-10"),
        full("f2bbbbbb", 2000, "bin.000003", 120, "0-1-30"),
    ];
    let mut parts = Vec::new();
    for (file, mid, end, seq) in [
        ("bin.000001", 1200, 1500, 20),
        ("bin.000002", 1700, 1999, 29),
        ("bin.000003", 2200, 2500, 40),
    ] {
        parts.push(part(file, 0, 500, mid, seq - 5, false));
        parts.push(part(file, 500, 500, end, seq, true));
    }
    parts.push(part("bin.000004", 0, 500, 2800, 45, false));
    parts.push(part("bin.000004", 500, 500, 3000, 50, false));
    (fulls, parts)
}

fn plan_of(fulls: &[FullRef], parts: &[PartRef], until: Until) -> Result<Chain, ChainError> {
    plan(fulls, &Coverage::build(parts), &until)
}

#[rstest]
#[case::latest(Until::Latest, "f2bbbbbb", &["bin.000003", "bin.000004"], 3000)]
#[case::before_second_full(Until::Time(1800), "f1aaaaaa", &["bin.000001", "bin.000002"], 1999)]
#[case::right_after_second_full(Until::Time(2100), "f2bbbbbb", &["bin.000003"], 2500)]
#[case::last_archived_second(Until::Time(3000), "f2bbbbbb", &["bin.000003", "bin.000004"], 3000)]
#[case::gtid_in_first_chain(Until::Gtid(Gtid { domain: 0, server: 1, seq: 25 }), "f1aaaaaa", &["bin.000001", "bin.000002"], 1999)]
#[case::position(Until::Position(Coordinates { file: "bin.000004".into(), position: 500 }), "f2bbbbbb", &["bin.000003", "bin.000004"], 3000)]
fn chains(#[case] until: Until, #[case] full: &str, #[case] files: &[&str], #[case] reaches: i64) {
    let (fulls, parts) = history();
    let c = plan_of(&fulls, &parts, until).unwrap();
    assert_eq!(c.full.snapshot, full);
    let got: Vec<_> = c.binlogs.iter().map(|s| s.file.as_str()).collect();
    assert_eq!(got, files);
    assert_eq!(c.reaches, reaches);
    for f in &c.binlogs {
        let stored: u64 = f.parts.iter().map(|p| p.len).sum();
        assert_eq!(stored, f.size, "{} is rebuilt from its parts", f.file);
    }
}

/// The error, or a panic naming the plan that should not have been made.
fn refused(fulls: &[FullRef], parts: &[PartRef], until: Until) -> ChainError {
    match plan_of(fulls, parts, until.clone()) {
        Ok(c) => panic!("planned {until:?} although the archive cannot cover it: {c:#?}"),
        Err(e) => e,
    }
}

fn not_covered(e: ChainError) -> (Missing, i64, Option<i64>) {
    match e {
        ChainError::NotCovered {
            missing,
            restorable,
            next_full,
            ..
        } => (missing, restorable, next_full),
        other => panic!("expected NotCovered, got {other:?}"),
    }
}

#[test]
fn a_missing_file_breaks_the_chain_and_names_the_last_exact_time() {
    let (fulls, mut parts) = history();
    parts.retain(|p| p.file != "bin.000002");
    let (missing, restorable, next) = not_covered(refused(&fulls, &parts, Until::Time(1800)));
    assert_eq!(
        missing,
        Missing::File {
            file: "bin.000002".into()
        }
    );
    assert_eq!((restorable, next), (1500, Some(2000)));
    // The second full starts a new chain that does not need the lost file.
    assert!(plan_of(&fulls, &parts, Until::Latest).is_ok());
    // Before the hole the first chain is still exact.
    assert!(plan_of(&fulls, &parts, Until::Time(1400)).is_ok());
}

#[test]
fn a_hole_inside_a_file_is_never_skipped() {
    let (fulls, mut parts) = history();
    // The second half of bin.000003 forgotten, bin.000004 still there.
    parts.retain(|p| !(p.file == "bin.000003" && p.offset == 500));
    let e = refused(&fulls, &parts, Until::Time(2900));
    let msg = e.to_string();
    let (missing, restorable, _) = not_covered(e);
    assert_eq!(
        missing,
        Missing::Rest {
            file: "bin.000003".into(),
            from: 500
        }
    );
    assert_eq!(restorable, 2200);
    assert!(msg.contains("bin.000003 from byte 500"), "{msg}");
    // "Latest" would skip the hole: refused too.
    refused(&fulls, &parts, Until::Latest);
    // A target inside the stored prefix is fine.
    assert!(plan_of(&fulls, &parts, Until::Time(2150)).is_ok());
}

#[test]
fn a_hole_between_stored_parts_is_never_skipped() {
    let (fulls, mut parts) = history();
    parts.push(part("bin.000004", 1200, 100, 3100, 55, false));
    let (missing, restorable, _) = not_covered(refused(&fulls, &parts, Until::Time(3050)));
    assert_eq!(
        missing,
        Missing::Hole {
            file: "bin.000004".into(),
            from: 1000,
            to: 1200
        }
    );
    assert_eq!(restorable, 3000);
    refused(&fulls, &parts, Until::Latest);
}

#[test]
fn a_lost_file_start_is_a_hole_at_byte_zero() {
    let (fulls, mut parts) = history();
    parts.retain(|p| !(p.file == "bin.000003" && p.offset == 0));
    let (missing, _, _) = not_covered(refused(&fulls, &parts, Until::Latest));
    assert!(
        matches!(missing, Missing::Hole { ref file, from: 0, to: 500 } if file == "bin.000003"),
        "{missing:?}"
    );
}

#[test]
fn a_target_after_the_archive_end_is_refused_with_the_end_time() {
    let (fulls, parts) = history();
    let e = refused(&fulls, &parts, Until::Time(3001));
    let msg = e.to_string();
    let (missing, restorable, _) = not_covered(e);
    assert!(matches!(missing, Missing::End { ref file, stored: 1000 } if file == "bin.000004"));
    assert_eq!(restorable, 3000);
    assert!(
        msg.contains("dxbackup binlog"),
        "the hint names the archiver: {msg}"
    );
    // "Latest" is what the archive holds: fine.
    assert_eq!(
        plan_of(&fulls, &parts, Until::Latest).unwrap().reaches,
        3000
    );
}

#[test]
fn a_growing_file_stored_only_partly_ends_the_archive() {
    let (fulls, mut parts) = history();
    parts.retain(|p| !(p.file == "bin.000004" && p.offset == 500));
    let (_, restorable, _) = not_covered(refused(&fulls, &parts, Until::Time(2900)));
    assert_eq!(restorable, 2800);
}

#[test]
fn a_full_whose_position_is_not_covered_is_refused() {
    let (mut fulls, parts) = history();
    fulls.push(full("f3cccccc", 3100, "bin.000004", 1500, "0-1-60"));
    let (missing, restorable, _) = not_covered(refused(&fulls, &parts, Until::Time(3200)));
    assert!(
        matches!(
            missing,
            Missing::FullPosition {
                stored: 1000,
                needed: 1500,
                ..
            }
        ),
        "{missing:?}"
    );
    assert_eq!(restorable, 3100);
    // The full alone is the latest state the archive has.
    let c = plan_of(&fulls, &parts, Until::Latest).unwrap();
    assert_eq!((c.full.snapshot.as_str(), c.binlogs.len()), ("f3cccccc", 0));
}

#[test]
fn gtid_and_position_past_the_archive_are_refused() {
    let (fulls, parts) = history();
    refused(
        &fulls,
        &parts,
        Until::Gtid(Gtid {
            domain: 0,
            server: 1,
            seq: 51,
        }),
    );
    refused(
        &fulls,
        &parts,
        Until::Position(Coordinates {
            file: "bin.000004".into(),
            position: 1001,
        }),
    );
    refused(
        &fulls,
        &parts,
        Until::Position(Coordinates {
            file: "bin.000005".into(),
            position: 4,
        }),
    );
}

#[test]
fn targets_before_every_full_are_refused() {
    let (fulls, parts) = history();
    assert!(matches!(
        plan_of(&fulls, &parts, Until::Time(10)),
        Err(ChainError::NoFullBefore(1000))
    ));
    assert_eq!(
        plan_of(&[], &parts, Until::Latest).unwrap_err(),
        ChainError::NoFull
    );
}

#[test]
fn a_full_without_coordinates_restores_only_itself() {
    let mut f = full("f1aaaaaa", 1000, "x", 0, "");
    f.binlog = None;
    let (_, parts) = history();
    assert_eq!(
        plan_of(std::slice::from_ref(&f), &parts, Until::Latest)
            .unwrap()
            .reaches,
        1000
    );
    assert!(matches!(
        plan_of(std::slice::from_ref(&f), &parts, Until::Time(1500)),
        Err(ChainError::NoCoordinates { .. })
    ));
}

#[test]
fn health_reports_the_window_and_every_hole() {
    let (fulls, mut parts) = history();
    let h = health(&fulls, &Coverage::build(&parts));
    assert_eq!((h.window, h.holes.len()), (Some((1000, 3000)), 0));
    parts.retain(|p| p.file != "bin.000002");
    let h = health(&fulls, &Coverage::build(&parts));
    assert_eq!(h.window, Some((1000, 3000)));
    assert_eq!(h.holes.len(), 1, "{h:?}");
    let hole = &h.holes[0];
    assert_eq!(
        (hole.from, hole.until, hole.full.as_str()),
        (1500, Some(2000), "f1aaaaaa")
    );
    assert!(hole.to_string().contains("bin.000002"), "{hole}");
}

/// Found by the property tests: a position past the end of a closed file was "reached" at the
/// next file's start, and the restore replayed the whole file as if the position existed.
#[test]
fn a_position_past_a_closed_file_is_refused() {
    let (fulls, parts) = history();
    let until = Until::Position(Coordinates {
        file: "bin.000003".into(),
        position: 1500,
    });
    let e = refused(&fulls, &parts, until);
    assert_eq!(
        e,
        ChainError::PositionPastEnd {
            file: "bin.000003".into(),
            position: 1500,
            size: 1000
        }
    );
    assert!(e.to_string().contains("ends at byte 1000"), "{e}");
}

#[test]
fn a_file_name_archived_from_two_servers_stops_the_chain_instead_of_mixing_them() {
    // Server A archived bin.000001 (closed) and bin.000002; then its binary log was reset (or
    // a rebuilt server took its place): B's bin.000001 starts again, and an archiver of before
    // the identity check stored B's bytes after A's, at A's size.
    let (mut fulls, _) = history();
    fulls.truncate(1);
    let mut parts = vec![
        part("bin.000001", 0, 1000, 1500, 20, true),
        part("bin.000002", 0, 500, 1999, 29, true),
    ];
    fulls.push(full("fbbbbbbb", 5000, "bin.000001", 400, "0-2-3"));
    let mut b = part("bin.000001", 1000, 600, 5600, 9, true);
    b.first_event = Some(4900);
    parts.push(b);
    for until in [Until::Time(5500), Until::Latest, Until::Time(1800)] {
        let (missing, _, _) = not_covered(refused(&fulls, &parts, until));
        assert!(
            matches!(missing, Missing::Mixed { ref file, first: 1000, other: 4900 } if file == "bin.000001"),
            "{missing:?}"
        );
        assert!(missing
            .to_string()
            .contains("two different binlog files named bin.000001"));
    }
    // Health names it as what breaks every chain.
    let h = health(&fulls, &Coverage::build(&parts));
    assert!(
        h.holes
            .iter()
            .any(|r| matches!(r.missing, Missing::Mixed { .. })),
        "{h:?}"
    );
}
