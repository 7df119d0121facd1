//! Property tests of the binlog names and GTIDs users type and the archive stores, and of the
//! event scanner on hostile bytes: never a panic; what was written reads back; anything else
//! is refused rather than read as some other value.

use proptest::prelude::*;
use proptest::test_runner::Config as Cases;

use super::*;

fn cases(n: u32) -> Cases {
    Cases {
        cases: n,
        failure_persistence: None,
        ..Cases::default()
    }
}

/// One event: header (time, type, server, length, next position, flags) and body.
fn event(ts: u32, kind: u8, server: u32, body: &[u8]) -> Vec<u8> {
    let mut v = ts.to_le_bytes().to_vec();
    v.push(kind);
    v.extend_from_slice(&server.to_le_bytes());
    v.extend_from_slice(&((HEADER + body.len()) as u32).to_le_bytes());
    v.extend_from_slice(&[0; 6]);
    v.extend_from_slice(body);
    v
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn gtids_round_trip(domain: u32, server: u32, seq: u64, pad in "[ \t]{0,2}") {
        let g = Gtid { domain, server, seq };
        prop_assert_eq!(format!("{pad}{g}{pad}").parse::<Gtid>(), Ok(g));
    }

    /// Anything that is not three plain numbers is refused.
    #[test]
    fn gtid_garbage_is_refused(text in "([+ ]?[0-9]{0,3}-){0,3}[+ ]?[0-9]{0,3}|\\PC{0,12}") {
        let plain = text.trim().split('-').count() == 3
            && text.trim().split('-').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        match text.parse::<Gtid>() {
            Ok(g) => {
                prop_assert!(plain, "{text:?} read as {g}");
                prop_assert_eq!(g.to_string().parse::<Gtid>(), Ok(g));
            }
            Err(e) => prop_assert!(e.contains("is not a GTID"), "{e}"),
        }
    }

    #[test]
    fn binlog_names_round_trip(base in "[a-z][a-z0-9_.-]{0,12}", n in 0u64..10_000_000, width in 1usize..8) {
        let name = format!("{base}.{n:0width$}");
        prop_assert_eq!(sequence(&name), Some(n));
        let next = with_sequence(&name, n + 1);
        prop_assert_eq!(sequence(&next), Some(n + 1));
        let stem = format!("{base}.");
        prop_assert!(next.starts_with(&stem), "{}", next);
    }

    /// A name whose last part is not plain digits, or has no base, has no sequence.
    #[test]
    fn binlog_name_garbage_has_no_sequence(name in "[a-z.]{0,4}\\.[+ -]?[0-9a-f]{0,4}|\\PC{0,16}") {
        if let Some(n) = sequence(&name) {
            let (base, digits) = name.rsplit_once('.').unwrap();
            prop_assert!(!base.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()), "{name:?}");
            prop_assert_eq!(digits.parse::<u64>().ok(), Some(n));
        }
    }

    /// Any bytes after the magic: no panic, and what is reported lies inside the data.
    #[test]
    fn scanning_hostile_bytes_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut file = MAGIC.to_vec();
        file.extend(&data);
        let seg = scan("mysql-bin.000001", &file).unwrap();
        prop_assert!(seg.size as usize <= file.len());
        let _ = scan("x", &data);
    }

    /// Whole events, then a torn one: the scan ends after the last whole event, in one go or
    /// continued from any event boundary.
    #[test]
    fn scanning_stops_at_the_last_whole_event(
        events in prop::collection::vec((1u32..=u32::MAX, 0u8..40, prop::collection::vec(any::<u8>(), 0..30)), 0..8),
        torn in 0usize..18,
        split in any::<prop::sample::Index>(),
    ) {
        let mut file = MAGIC.to_vec();
        let mut bounds = vec![4usize];
        for (ts, kind, body) in &events {
            // Rotate and stop events close the file; their bodies do not matter here.
            file.extend(event(*ts, *kind, 1, body));
            bounds.push(file.len());
        }
        let whole = file.len();
        file.extend(std::iter::repeat_n(0xff, torn));
        let seg = scan("mysql-bin.000001", &file).unwrap();
        prop_assert_eq!(seg.size as usize, whole);
        prop_assert_eq!(seg.events as usize, events.len());
        let at = bounds[split.index(bounds.len())];
        let mut part = scan("mysql-bin.000001", &file[..at]).unwrap();
        scan_more(&mut part, &file[at..]);
        prop_assert_eq!(part, seg);
    }
}
