//! Property tests of `--until`, `--until-gtid` and `--until-position`: what is written reads
//! back to the target meant; garbage is an error, never a target somewhere else.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use proptest::prelude::*;
use proptest::test_runner::Config as Cases;

use super::*;
use crate::source::mysql::binlog::Gtid;

fn cases(n: u32) -> Cases {
    Cases {
        cases: n,
        failure_persistence: None,
        ..Cases::default()
    }
}

fn datetime() -> impl Strategy<Value = DateTime> {
    (1971i16..2100, 1i8..=12, 1i8..=31, 0i8..24, 0i8..60, 0i8..60)
        .prop_filter_map("a real date", |(y, mo, d, h, mi, s)| {
            DateTime::new(y, mo, d, h, mi, s, 0).ok()
        })
}

fn time(text: &str) -> anyhow::Result<Until> {
    parse_until(Some(text), None, None)
}

proptest! {
    #![proptest_config(cases(2000))]

    /// A local time, with a space or a `T`: the instant the machine's zone gives it.
    #[test]
    fn local_times_read_back(dt in datetime(), t in any::<bool>()) {
        let text = dt.strftime(if t { "%Y-%m-%dT%H:%M:%S" } else { "%Y-%m-%d %H:%M:%S" }).to_string();
        let want = dt.to_zoned(TimeZone::system()).unwrap().timestamp().as_second();
        prop_assert_eq!(time(&text).unwrap(), Until::Time(want));
    }

    /// An offset written out is the instant meant, whatever the machine's zone.
    #[test]
    fn times_with_an_offset_are_exact(dt in datetime(), minutes in -14 * 60i32..=14 * 60) {
        let offset = Offset::from_seconds(minutes * 60).unwrap();
        let want = dt.to_zoned(TimeZone::fixed(offset)).unwrap().timestamp().as_second();
        let sign = if minutes < 0 { '-' } else { '+' };
        let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
        let text = format!("{}{sign}{h:02}:{m:02}", dt.strftime("%Y-%m-%dT%H:%M:%S"));
        prop_assert_eq!(time(&text).unwrap(), Until::Time(want), "{}", text);
        if minutes == 0 {
            let z = format!("{}Z", dt.strftime("%Y-%m-%dT%H:%M:%S"));
            prop_assert_eq!(time(&z).unwrap(), Until::Time(want), "{}", z);
        }
    }

    /// A field out of range, or words: an error.
    #[test]
    fn bad_times_are_refused(dt in datetime(), field in 0usize..6, words in "[a-zA-Z :]{1,12}") {
        let fields = ["2024-13-01 00:00:00", "2024-02-30 00:00:00", "2024-01-01 24:00:01",
            "2024-01-01 00:60:00", "2024-01-01 00:00:61", "24-01-01 00:00:00"];
        prop_assert!(time(fields[field]).is_err(), "{}", fields[field]);
        prop_assert!(time(&words).is_err(), "{words:?}");
        let cut = dt.strftime("%Y-%m-%d %H:%M:%S").to_string();
        let junk = format!("{cut} tomorrow");
        prop_assert!(time(&junk).is_err(), "{}", junk);
    }

    #[test]
    fn gtids_read_back(domain: u32, server: u32, seq: u64) {
        let g = Gtid { domain, server, seq };
        prop_assert_eq!(parse_until(None, Some(&g.to_string()), None).unwrap(), Until::Gtid(g));
    }

    #[test]
    fn positions_read_back(base in "[a-z][a-z0-9_-]{0,10}", n in 0u64..1_000_000, pos: u64) {
        let file = format!("{base}.{n:06}");
        let got = parse_until(None, None, Some(&format!("{file}:{pos}"))).unwrap();
        prop_assert_eq!(got, Until::Position(Coordinates { file, position: pos }));
    }

    /// A position whose file has no sequence number or whose POS is not plain digits is
    /// refused; one that is accepted says what was written.
    #[test]
    fn position_garbage_is_refused(text in "[a-z.:+0-9 -]{0,16}|\\PC{0,16}") {
        match parse_until(None, None, Some(&text)) {
            Ok(Until::Position(c)) => {
                let (file, pos) = text.trim().rsplit_once(':').unwrap();
                prop_assert_eq!(&c.file, file, "{:?}", text);
                prop_assert!(sequence(file).is_some() && pos.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(pos.parse::<u64>().ok(), Some(c.position));
            }
            Ok(other) => prop_assert!(false, "{text:?} read as {other:?}"),
            Err(_) => {}
        }
    }
}

/// Found by the property tests: an offset was dropped and the time taken as local, so on a
/// UTC machine `...+08:00` restored eight hours too far.
#[test]
fn an_offset_is_not_dropped() {
    assert_eq!(
        time("2024-01-02T03:04:05+08:00").unwrap(),
        Until::Time(1_704_135_845)
    );
}

/// Found by the property tests: `:4` and `+4` positions were accepted (an empty file name,
/// a signed number), and `123:4` got a file no chain could hold.
#[test]
fn position_needs_a_binlog_name_and_a_plain_number() {
    for bad in [
        ":4",
        "mysql-bin.000001:+4",
        "123:4",
        "mysql-bin.000001:",
        "mysql-bin:4",
    ] {
        assert!(parse_until(None, None, Some(bad)).is_err(), "{bad}");
    }
}
