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

fn seg(file: &str, first: i64, last: i64, last_seq: u64) -> SegmentRef {
    SegmentRef {
        file: file.into(),
        snapshot: format!("s-{file}"),
        size: 100,
        first_event: Some(first),
        last_event: Some(last),
        last_gtid: Some(Gtid {
            domain: 0,
            server: 1,
            seq: last_seq,
        }),
        closed: true,
    }
}

fn history() -> (Vec<FullRef>, Vec<SegmentRef>) {
    (
        vec![
            full("f1", 1000, "bin.000001", 400, "0-1-10"),
            full("f2", 2000, "bin.000003", 120, "0-1-30"),
        ],
        vec![
            seg("bin.000001", 900, 1500, 20),
            seg("bin.000002", 1500, 1999, 29),
            seg("bin.000003", 1999, 2500, 40),
            seg("bin.000004", 2500, 3000, 50),
        ],
    )
}

#[rstest]
#[case::latest(Until::Latest, "f2", &["bin.000003", "bin.000004"])]
#[case::before_second_full(Until::Time(1800), "f1", &["bin.000001", "bin.000002"])]
#[case::right_after_second_full(Until::Time(2100), "f2", &["bin.000003"])]
#[case::gtid_in_first_chain(Until::Gtid(Gtid { domain: 0, server: 1, seq: 25 }), "f1", &["bin.000001", "bin.000002"])]
#[case::position(Until::Position(Coordinates { file: "bin.000004".into(), position: 500 }), "f2", &["bin.000003", "bin.000004"])]
fn chains(#[case] until: Until, #[case] full: &str, #[case] files: &[&str]) {
    let (fulls, segs) = history();
    let c = plan(&fulls, &segs, &until).unwrap();
    assert_eq!(c.full.snapshot, full);
    let got: Vec<_> = c.binlogs.iter().map(|s| s.file.as_str()).collect();
    assert_eq!(got, files);
}

#[test]
fn a_missing_file_breaks_the_chain() {
    let (fulls, mut segs) = history();
    segs.remove(1);
    assert_eq!(
        plan(&fulls, &segs, &Until::Time(1800)).unwrap_err(),
        ChainError::Gap("bin.000002".into())
    );
    // The second full starts a new chain that does not need the lost file.
    assert!(plan(&fulls, &segs, &Until::Latest).is_ok());
}

#[test]
fn targets_before_every_full_are_refused() {
    let (fulls, segs) = history();
    assert!(matches!(
        plan(&fulls, &segs, &Until::Time(10)),
        Err(ChainError::NoFullBefore(_))
    ));
    assert_eq!(
        plan(&[], &segs, &Until::Latest).unwrap_err(),
        ChainError::NoFull
    );
}

#[test]
fn filter_keeps_one_database_without_create_and_use() {
    let dump = "-- MariaDB dump\n/*!40101 SET NAMES utf8mb4 */;\n--\n-- Current Database: `shop`\n--\n\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\n\nUSE `shop`;\nCREATE TABLE `t` (id int);\nINSERT INTO `t` VALUES (1);\n--\n-- Current Database: `other`\n--\nCREATE DATABASE `other`;\nUSE `other`;\nCREATE TABLE `o` (id int);\n--\n-- Current Database: `shop`\n--\nUSE `shop`;\nCREATE VIEW `v` AS select 1;\n";
    let mut out = Vec::new();
    let mut f = DatabaseFilter::new(&mut out, "shop");
    // Written in awkward pieces, as blobs arrive.
    for chunk in dump.as_bytes().chunks(7) {
        f.write_all(chunk).unwrap();
    }
    f.into_inner().unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("SET NAMES")
            && text.contains("CREATE TABLE `t`")
            && text.contains("CREATE VIEW `v`"),
        "{text}"
    );
    assert!(
        !text.contains("CREATE DATABASE") && !text.contains("USE `") && !text.contains("`o`"),
        "{text}"
    );
}
