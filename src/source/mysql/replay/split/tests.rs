use super::*;
use crate::source::mysql::replay::DatabaseFilter;
use rstest::rstest;

/// A real `mariadb-dump --single-transaction --master-data=2 --routines --triggers --events
/// --hex-blob --net-buffer-length=4096 --databases rich` of the tests' rich schema, plus an Aria
/// table whose rows look like section comments and lock statements, a table without rows, a
/// trigger whose body has a line starting with `INSERT`, and strings holding `;`, quotes and
/// escaped line breaks.
const RICH: &str = include_str!("rich_dump.sql");

#[derive(Default)]
struct Collect {
    header: Option<Vec<u8>>,
    pieces: Vec<Piece>,
    /// The header came before every piece.
    header_first: bool,
}

impl Sink for &mut Collect {
    fn header(&mut self, header: &[u8]) -> io::Result<()> {
        assert!(self.header.is_none(), "the header is given once");
        self.header_first = self.pieces.is_empty();
        self.header = Some(header.to_vec());
        Ok(())
    }
    fn piece(&mut self, piece: Piece) -> io::Result<()> {
        self.pieces.push(piece);
        Ok(())
    }
}

/// Splits `dump` (through the database filter, as a restore does), written in `cut`-byte pieces.
fn split(dump: &[u8], cut: usize, chunk: usize) -> (Collect, Split) {
    let mut c = Collect::default();
    let mut f = DatabaseFilter::new(Splitter::new(&mut c, chunk), "rich");
    for piece in dump.chunks(cut) {
        f.write_all(piece).unwrap();
    }
    let s = f.into_inner().unwrap().finish().unwrap();
    (c, s)
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

fn filtered(dump: &[u8]) -> String {
    let mut out = Vec::new();
    let mut f = DatabaseFilter::new(&mut out, "rich");
    f.write_all(dump).unwrap();
    f.into_inner().unwrap();
    text(&out)
}

fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

#[rstest]
fn every_line_lands_once_whatever_the_cut(
    #[values(1, 2, 3, 7, 13, 64, 4096, 1 << 20)] cut: usize,
    #[values(1, 4096, 1 << 20)] chunk: usize,
) {
    let (c, s) = split(RICH.as_bytes(), cut, chunk);
    assert!(c.header_first && c.header.as_deref() == Some(&s.header[..]));
    let mut all = text(&s.header);
    for p in &c.pieces {
        match p {
            Piece::Schema { sql, .. } | Piece::Rows { sql, .. } => all += &text(sql),
        }
    }
    all += &text(&s.tail);
    let want = filtered(RICH.as_bytes());
    let want: String = want
        .lines()
        .filter(|l| !l.starts_with("LOCK TABLES ") && !l.starts_with("UNLOCK TABLES"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(sorted_lines(&all), sorted_lines(&want));
    assert_eq!(s.tables, 4);
}

#[test]
fn tables_rows_and_tail_are_where_they_must_run() {
    let (c, s) = split(RICH.as_bytes(), 5, 1);
    let header = text(&s.header);
    assert!(
        header.contains("SET NAMES utf8mb4")
            && header.contains("FOREIGN_KEY_CHECKS=0")
            && header.contains("TIME_ZONE='+00:00'")
            && !header.contains("CREATE"),
        "{header}"
    );
    let mut schemas = Vec::new();
    let mut rows: Vec<(Option<TableId>, String, String)> = Vec::new();
    for p in &c.pieces {
        match p {
            Piece::Schema { table, name, sql } => {
                let sql = text(sql);
                assert!(sql.contains(&format!("CREATE TABLE `{name}`")), "{sql}");
                assert!(!sql.contains("\nLOCK TABLES") && !sql.contains("INSERT"));
                assert!(
                    !sql.contains("=@OLD_"),
                    "no session reset in a loading session"
                );
                schemas.push((*table, name.clone(), sql));
            }
            Piece::Rows { after, name, sql } => {
                let (id, ..) = schemas
                    .iter()
                    .find(|s| s.1 == *name)
                    .expect("a table's schema comes before its rows");
                assert_eq!(*after, Some(*id));
                rows.push((*after, name.clone(), text(sql)));
            }
        }
    }
    let names: Vec<&str> = schemas.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(names, ["audit", "empty_t", "notes", "orders"]);
    assert!(schemas[2].2.contains("DISABLE KEYS"), "{}", schemas[2].2);
    // A chunk of one byte: one statement per piece, each whole.
    let audit: Vec<_> = rows.iter().filter(|r| r.1 == "audit").collect();
    assert_eq!(audit.len(), 3);
    for (_, name, sql) in &rows {
        assert!(
            sql.starts_with(&format!("INSERT INTO `{name}` VALUES")),
            "{sql}"
        );
        assert!(sql.trim_end().ends_with(");"), "{sql}");
        assert_eq!(sql.matches("INSERT INTO `").count(), 1, "{sql}");
    }
    assert!(!rows.iter().any(|r| r.1 == "empty_t"));
    let orders = &rows.iter().find(|r| r.1 == "orders").unwrap().2;
    assert!(orders.contains("'a);\\nINSERT INTO x VALUES (1);'") && orders.contains("0x3B0A27"));
    let notes = &rows.iter().find(|r| r.1 == "notes").unwrap().2;
    assert!(
        notes.contains("LOCK TABLES `x` WRITE;"),
        "a row, not a lock"
    );

    let tail = text(&s.tail);
    let at = |what: &str| {
        tail.find(what)
            .unwrap_or_else(|| panic!("{what} in the tail:\n{tail}"))
    };
    assert!(at("TRIGGER notes_bi") < at("TRIGGER orders_ai"));
    assert!(at("INSERT INTO audit(order_id, at) VALUES (NEW.id, NOW(6));") > at("notes_bi"));
    assert!(at("Temporary table structure for view") < at("EVENT `nightly`"));
    assert!(at("EVENT `nightly`") < at("PROCEDURE `add_order`"));
    assert!(at("PROCEDURE `add_order`") < at("VIEW `big_orders` AS select"));
    assert!(at("VIEW `big_orders` AS select") < at("SET TIME_ZONE=@OLD_TIME_ZONE"));
    assert!(at("ENABLE KEYS") > 0 && !tail.contains("INSERT INTO `"));
    assert!(!tail.contains("LOCK TABLES `"), "{tail}");
}

/// Rows statements with what would end them early in a naive scan, cut at every byte.
#[test]
fn a_statement_stays_whole_across_any_cut() {
    let stmt = "INSERT INTO `t` VALUES (1,'a;b','it\\'s; \\\\',\"dq;\\\"\",'x'';y',0x3B27),\n(2,'raw\nline;','`;`');\n";
    let dump = format!(
        "/*!40101 SET NAMES utf8mb4 */;\n--\n-- Table structure for table `t`\n--\n\nCREATE TABLE `t` (a int);\n--\n-- Dumping data for table `t`\n--\n\nLOCK TABLES `t` WRITE;\n{stmt}{stmt}UNLOCK TABLES;\n"
    );
    for i in 0..dump.len() {
        let mut c = Collect::default();
        let mut sp = Splitter::new(&mut c, 1);
        sp.write_all(&dump.as_bytes()[..i]).unwrap();
        sp.write_all(&dump.as_bytes()[i..]).unwrap();
        let s = sp.finish().unwrap();
        let rows: Vec<String> = c
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Rows { sql, .. } => Some(text(sql)),
                _ => None,
            })
            .collect();
        assert_eq!(rows.len(), 2, "cut at {i}: {rows:?}");
        assert_eq!(rows[0], stmt, "cut at {i}");
        assert_eq!(rows[1], stmt, "cut at {i}");
        assert!(text(&s.header).contains("SET NAMES"));
    }
}

/// mysqldump writes each extended INSERT on one long line; a big chunk holds several.
#[test]
fn one_line_statements_are_grouped_into_chunks() {
    let row = "INSERT INTO `t` VALUES (1,'a;b'),(2,'c');\n";
    let dump = format!(
        "-- Table structure for table `t`\nCREATE TABLE `t` (a int);\n-- Dumping data for table `t`\nLOCK TABLES `t` WRITE;\n{}UNLOCK TABLES;\n",
        row.repeat(10)
    );
    let mut c = Collect::default();
    let mut sp = Splitter::new(&mut c, row.len() * 4);
    for piece in dump.as_bytes().chunks(3) {
        sp.write_all(piece).unwrap();
    }
    let s = sp.finish().unwrap();
    let sizes: Vec<usize> = c
        .pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Rows { sql, .. } => Some(text(sql).matches("INSERT").count()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(s.chunks, 3);
}

#[test]
fn a_dump_cut_inside_a_statement_is_an_error() {
    let mut c = Collect::default();
    let mut sp = Splitter::new(&mut c, 1 << 20);
    sp.write_all(b"-- Dumping data for table `t`\nINSERT INTO `t` VALUES (1,'a;")
        .unwrap();
    let err = sp.finish().unwrap_err();
    assert!(err.to_string().contains("inside a statement"), "{err}");
}

/// Without rows after the last table (`--no-data`), its schema ends before the closing lines.
#[test]
fn the_closing_lines_never_reach_a_loading_session() {
    let dump = "/*!40103 SET TIME_ZONE='+00:00' */;\n-- Table structure for table `t`\nCREATE TABLE `t` (a int);\n/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n";
    let mut c = Collect::default();
    let mut sp = Splitter::new(&mut c, 1 << 20);
    sp.write_all(dump.as_bytes()).unwrap();
    let s = sp.finish().unwrap();
    let [Piece::Schema { sql, .. }] = &c.pieces[..] else {
        panic!("{:?}", c.pieces)
    };
    assert_eq!(
        text(sql),
        "-- Table structure for table `t`\nCREATE TABLE `t` (a int);\n"
    );
    assert!(text(&s.tail).contains("@OLD_TIME_ZONE") && text(&s.tail).contains("@OLD_SQL_MODE"));
}

/// Rows whose table's structure is not in the dump (`--no-create-info`) wait for nothing.
#[test]
fn rows_without_a_schema_need_none() {
    let dump = "-- Dumping data for table `t`\nLOCK TABLES `t` WRITE;\n/*!40000 ALTER TABLE `t` DISABLE KEYS */;\nINSERT INTO `t` VALUES (1);\n/*!40000 ALTER TABLE `t` ENABLE KEYS */;\nUNLOCK TABLES;\n";
    let mut c = Collect::default();
    let mut sp = Splitter::new(&mut c, 1 << 20);
    sp.write_all(dump.as_bytes()).unwrap();
    let s = sp.finish().unwrap();
    let [Piece::Rows {
        after: None, sql, ..
    }] = &c.pieces[..]
    else {
        panic!("{:?}", c.pieces)
    };
    assert_eq!(
        text(sql),
        "/*!40000 ALTER TABLE `t` DISABLE KEYS */;\nINSERT INTO `t` VALUES (1);\n"
    );
    assert_eq!(
        text(&s.tail),
        "-- Dumping data for table `t`\n/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n"
    );
}
