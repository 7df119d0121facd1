use super::*;

const FDE: u8 = FORMAT_DESCRIPTION_EVENT;
const ROTATE: u8 = ROTATE_EVENT;
const GTID: u8 = MARIADB_GTID_EVENT;
const CHECKPOINT: u8 = BINLOG_CHECKPOINT;
const TABLE_MAP: u8 = 19;
const WRITE_ROWS: u8 = 30;
const XID: u8 = 16;
const QUERY: u8 = 2;

fn ev(pos: u64, ts: u32, kind: u8) -> Event {
    Event { pos, ts, kind }
}

/// One file's events: a format description and GTID list, then transactions of four events
/// (GTID, table map, rows, XID) 100 bytes apart, each stamped `ts`, then a rotate.
fn file(txs: &[u32], created: u32) -> Vec<Event> {
    let mut v = vec![ev(4, created, FDE), ev(256, created, GTID_LIST)];
    let mut pos = 300;
    for &ts in txs {
        for kind in [GTID, TABLE_MAP, WRITE_ROWS, XID] {
            v.push(ev(pos, ts, kind));
            pos += 100;
        }
    }
    v.push(ev(pos, txs.last().copied().unwrap_or(created), ROTATE));
    v
}

fn cut(stop: Stop, files: &[Vec<Event>]) -> Option<Cut> {
    let mut c = Cutter::new(stop);
    files
        .iter()
        .enumerate()
        .find_map(|(i, evs)| evs.iter().find_map(|e| c.feed(i, *e)))
}

#[test]
fn a_time_cut_goes_before_the_first_transaction_stamped_after_the_second() {
    let files = [file(&[10, 11, 12, 13], 10)];
    // The third transaction (stamped 12) starts at 300 + 2 * 400.
    assert_eq!(
        cut(Stop::After(11), &files),
        Some(Cut { file: 0, pos: 1100 })
    );
    // Nothing after the last one: no cut, everything applies.
    assert_eq!(cut(Stop::After(13), &files), None);
    assert_eq!(cut(Stop::Latest, &files), None);
}

#[test]
fn a_transaction_with_one_late_event_is_left_out_whole() {
    // The second transaction's XID carries 12 while its other events carry 11.
    let mut f = file(&[10, 11, 13], 10);
    f[2 + 4 + 3].ts = 12;
    assert_eq!(cut(Stop::After(11), &[f]), Some(Cut { file: 0, pos: 700 }));
}

#[test]
fn an_event_between_transactions_stamped_late_cuts_at_itself() {
    // A binlog checkpoint stamped 12 between two transactions of 11: the first stays whole.
    let mut f = file(&[11, 11], 10);
    f.insert(6, ev(699, 12, CHECKPOINT));
    assert_eq!(cut(Stop::After(11), &[f]), Some(Cut { file: 0, pos: 699 }));
}

#[test]
fn a_later_file_created_after_the_second_is_cut_at_its_start() {
    // The second file was created at 20: what it holds committed after, whatever the stamps
    // of its statements say.
    let files = [file(&[10, 11], 10), file(&[11, 25], 20)];
    assert_eq!(cut(Stop::After(15), &files), Some(Cut { file: 1, pos: 4 }));
}

#[test]
fn a_position_cut_applies_to_its_file_and_leaves_out_a_transaction_it_falls_inside() {
    let files = [file(&[10, 11], 10), file(&[12, 13, 14], 12)];
    // Exactly at the second transaction's GTID event of file 1.
    assert_eq!(
        cut(Stop::At { file: 1, pos: 700 }, &files),
        Some(Cut { file: 1, pos: 700 })
    );
    // Inside it: the whole transaction is left out.
    assert_eq!(
        cut(Stop::At { file: 1, pos: 950 }, &files),
        Some(Cut { file: 1, pos: 700 })
    );
    // File 0's bytes past 700 do not count: the position is file 1's.
    assert_eq!(
        cut(Stop::At { file: 1, pos: 300 }, &files),
        Some(Cut { file: 1, pos: 300 })
    );
}

#[test]
fn events_outside_any_gtid_transaction_are_cut_where_they_start() {
    // A statement-logged BEGIN ... COMMIT without a GTID event (not written by MariaDB 10,
    // but the cut must still not split it).
    let f = vec![
        ev(4, 10, FDE),
        ev(120, 11, QUERY),
        ev(220, 11, WRITE_ROWS),
        ev(320, 12, QUERY),
    ];
    assert_eq!(cut(Stop::After(11), &[f]), Some(Cut { file: 0, pos: 120 }));
}

#[test]
fn the_last_gtid_event_is_where_a_torn_tail_would_start() {
    let files = [file(&[10, 11], 10), file(&[12, 13], 12)];
    let mut c = Cutter::new(Stop::Latest);
    for (i, f) in files.iter().enumerate() {
        for e in f {
            assert_eq!(c.feed(i, *e), None);
        }
    }
    assert_eq!(c.last_group, Some(Cut { file: 1, pos: 700 }));
}

#[test]
fn scan_reads_every_whole_event_from_a_position_and_skips_a_torn_one() {
    let mut bytes = b"\xfebin".to_vec();
    let mut starts = Vec::new();
    for (ts, kind, body) in [
        (10u32, FDE, 80usize),
        (11, GTID, 20),
        (11, XID, 8),
        (12, GTID, 20),
    ] {
        starts.push(bytes.len() as u64);
        let len = (HEADER + body) as u32;
        bytes.extend_from_slice(&ts.to_le_bytes());
        bytes.push(kind);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&[0; 6]);
        bytes.extend(std::iter::repeat_n(0xab, body));
    }
    // The last event torn in half.
    bytes.truncate(bytes.len() - 10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mysql-bin.000001");
    std::fs::write(&path, &bytes).unwrap();
    let mut seen = Vec::new();
    scan(&path, 4, |e| {
        seen.push(e);
        true
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![
            ev(starts[0], 10, FDE),
            ev(starts[1], 11, GTID),
            ev(starts[2], 11, XID)
        ]
    );
    let mut from = Vec::new();
    scan(&path, starts[1], |e| {
        from.push(e.pos);
        true
    })
    .unwrap();
    assert_eq!(from, vec![starts[1], starts[2]]);
}

#[test]
fn files_are_placed_as_relay_logs_cut_and_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let relay = dir.path().join("relay");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&relay).unwrap();
    let files: Vec<PathBuf> = (1..=3)
        .map(|i| {
            let p = src.join(format!("mysql-bin.00000{i}"));
            std::fs::write(&p, vec![7u8; 1000]).unwrap();
            p
        })
        .collect();
    let placed = place(&relay, &files, Some(Cut { file: 1, pos: 600 })).unwrap();
    assert_eq!(placed.len(), 2);
    assert_eq!(std::fs::metadata(&placed[0]).unwrap().len(), 1000);
    assert_eq!(std::fs::metadata(&placed[1]).unwrap().len(), 600);
    assert!(placed[1].ends_with("relay-bin.000002"));
    let index = std::fs::read_to_string(relay.join("relay-bin.index")).unwrap();
    assert_eq!(
        index,
        format!("{}\n{}\n", placed[0].display(), placed[1].display())
    );
    // A cut at a file's very start leaves that file out.
    let again: Vec<PathBuf> = (1..=2)
        .map(|i| {
            let p = src.join(format!("b.00000{i}"));
            std::fs::write(&p, vec![7u8; 100]).unwrap();
            p
        })
        .collect();
    let relay2 = dir.path().join("relay2");
    std::fs::create_dir_all(&relay2).unwrap();
    assert_eq!(
        place(&relay2, &again, Some(Cut { file: 1, pos: 4 }))
            .unwrap()
            .len(),
        1
    );
}
