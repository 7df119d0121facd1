//! Cutting one database's dump (as `DatabaseFilter` passes it on) into what can load on
//! several connections at once, while it streams: mariadb-dump's (and mysqldump's) section
//! comments say where a table's structure and its rows begin, and its rows are extended
//! `INSERT`s, each a complete statement that any session can run once the table exists.
//!
//! - the **header** (the `SET` lines before the first section) is what every session replays;
//! - a table's **schema** (`DROP TABLE`, `CREATE TABLE`, the section comments up to its first
//!   row, its rows' `DISABLE KEYS`) is a piece that must run before any of its rows;
//! - its **rows**: whole `INSERT` statements and nothing else, in pieces of about `chunk` bytes,
//!   which may run on any connection in any order. `LOCK TABLES` / `UNLOCK TABLES` around them
//!   are dropped: a write lock held by one session would make the others wait for it. Comments
//!   and blank lines among them go to the tail;
//! - the **tail**, everything else in dump order: `ENABLE KEYS` and triggers (which come after
//!   their table's rows and must not exist while those load, or they would fire), view
//!   placeholders and final views (a view may name any table), events, routines and the dump's
//!   closing `SET`s (which undo the header's session settings). It runs in one session after
//!   every row is in. Deferring a table's triggers past the other tables' rows changes nothing:
//!   a trigger fires only on its own table's writes. The tail is kept in memory: it holds
//!   definitions, not rows.
//!
//! Statements are found with a quote-aware scan (`'`, `"`, backticks, backslash escapes), so a
//! `;` or a line break inside a string does not end one, wherever the writer's chunks are cut.

use std::io::{self, Write};

/// A table's number in the dump, in order of appearance.
pub type TableId = usize;

/// What the splitter hands on, in dump order.
#[derive(Debug)]
pub enum Piece {
    /// The table's structure: runs once, before any of its rows.
    Schema {
        table: TableId,
        name: String,
        sql: Vec<u8>,
    },
    /// Complete row statements of one table (`after`: the schema they need, when in the dump).
    Rows {
        after: Option<TableId>,
        name: String,
        sql: Vec<u8>,
    },
}

/// Where the pieces go. `header` is called once, before the first piece.
pub trait Sink {
    fn header(&mut self, header: &[u8]) -> io::Result<()>;
    fn piece(&mut self, piece: Piece) -> io::Result<()>;
}

/// What is left once the stream ended: the header and the tail, for the final session.
#[derive(Debug, Default)]
pub struct Split {
    pub header: Vec<u8>,
    pub tail: Vec<u8>,
    pub tables: usize,
    pub chunks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    Structure,
    Data(Phase),
    Tail,
}

/// Where a data section is: before its first `INSERT`, among them, after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pre,
    Rows,
    Post,
}

/// The scanner's state inside a statement.
#[derive(Debug, Clone, Copy, Default)]
enum Lex {
    #[default]
    Code,
    Quoted(u8),
    Escaped(u8),
}

impl Lex {
    /// Scans `buf`; returns the index just past the `;` that ends the statement, if in it.
    fn scan(&mut self, buf: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < buf.len() {
            match *self {
                Lex::Code => {
                    let rest = &buf[i..];
                    let j = rest
                        .iter()
                        .position(|&b| matches!(b, b'\'' | b'"' | b'`' | b';'))?;
                    i += j;
                    if buf[i] == b';' {
                        return Some(i + 1);
                    }
                    *self = Lex::Quoted(buf[i]);
                }
                Lex::Quoted(q) => {
                    let rest = &buf[i..];
                    let j = rest
                        .iter()
                        .position(|&b| b == q || (b == b'\\' && q != b'`'))?;
                    i += j;
                    // A doubled quote closes and reopens: the same as one string.
                    *self = if buf[i] == q {
                        Lex::Code
                    } else {
                        Lex::Escaped(q)
                    };
                }
                Lex::Escaped(q) => *self = Lex::Quoted(q),
            }
            i += 1;
        }
        None
    }
}

/// A `Write` that cuts a dump into pieces for `sink` (see the module's doc).
pub struct Splitter<S: Sink> {
    sink: S,
    chunk: usize,
    section: Section,
    line: Vec<u8>,
    /// Inside a row statement (bytes go to `rows` unsplit until its `;`).
    lex: Option<Lex>,
    header: Vec<u8>,
    header_sent: bool,
    tail: Vec<u8>,
    /// The table whose structure came last, and its schema while not yet handed on.
    table: Option<(TableId, String)>,
    schema: Option<Vec<u8>>,
    /// The table of the current data section (its schema's id, when it had one).
    data: Option<(Option<TableId>, String)>,
    rows: Vec<u8>,
    rows_statements: usize,
    /// A statement just ended: its line break goes with it, then the chunk may be full.
    after_statement: bool,
    tables: usize,
    chunks: u64,
}

impl<S: Sink> Splitter<S> {
    /// `chunk`: bytes of row statements per piece (a single bigger statement is one piece).
    pub fn new(sink: S, chunk: usize) -> Self {
        Self {
            sink,
            chunk,
            section: Section::Header,
            line: Vec::new(),
            lex: None,
            header: Vec::new(),
            header_sent: false,
            tail: Vec::new(),
            table: None,
            schema: None,
            data: None,
            rows: Vec::new(),
            rows_statements: 0,
            after_statement: false,
            tables: 0,
            chunks: 0,
        }
    }

    /// Hands on what is pending; the dump must not end inside a statement.
    pub fn finish(mut self) -> io::Result<Split> {
        if !self.line.is_empty() {
            self.line_done()?;
        }
        if self.lex.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the dump ends inside a statement (cut short?)",
            ));
        }
        self.close_section()?;
        self.send_header()?;
        Ok(Split {
            header: self.header,
            tail: self.tail,
            tables: self.tables,
            chunks: self.chunks,
        })
    }

    fn send_header(&mut self) -> io::Result<()> {
        if !self.header_sent {
            self.header_sent = true;
            self.sink.header(&self.header)?;
        }
        Ok(())
    }

    fn line_done(&mut self) -> io::Result<()> {
        let line = std::mem::take(&mut self.line);
        if let Some(m) = marker(&line) {
            return self.enter(m, line);
        }
        match self.section {
            Section::Header => self.header.extend(&line),
            Section::Structure if is_trailer(&line) => self.push_tail(line)?,
            Section::Structure => match &mut self.schema {
                Some(s) => s.extend(&line),
                None => self.tail.extend(&line),
            },
            Section::Data(phase) => self.data_line(phase, line)?,
            Section::Tail => self.tail.extend(&line),
        }
        Ok(())
    }

    fn data_line(&mut self, phase: Phase, line: Vec<u8>) -> io::Result<()> {
        let blank = line.iter().all(u8::is_ascii_whitespace) || line.starts_with(b"--");
        if line.starts_with(b"LOCK TABLES ") {
            return Ok(());
        }
        // After the rows come triggers, whose bodies may hold lines that look like rows.
        if phase != Phase::Post && is_row_statement(&line) {
            self.section = Section::Data(Phase::Rows);
            self.emit_schema()?;
            return self.begin_statement(line);
        }
        match phase {
            Phase::Rows if blank => {
                self.tail.extend(&line);
                Ok(())
            }
            Phase::Pre if blank || !line.starts_with(b"UNLOCK TABLES") && !ends_pre(&line) => {
                // `DISABLE KEYS`: with the schema, before the rows; without one, before them.
                match &mut self.schema {
                    Some(s) => s.extend(&line),
                    None if blank => self.tail.extend(&line),
                    None => self.rows.extend(&line),
                }
                Ok(())
            }
            Phase::Post if blank => {
                self.tail.extend(&line);
                Ok(())
            }
            _ => {
                self.emit_schema()?;
                self.flush_rows()?;
                self.section = Section::Data(Phase::Post);
                if !line.starts_with(b"UNLOCK TABLES") {
                    self.tail.extend(&line);
                }
                Ok(())
            }
        }
    }

    /// Switches to statement mode and feeds it the statement's first bytes.
    fn begin_statement(&mut self, start: Vec<u8>) -> io::Result<()> {
        self.lex = Some(Lex::Code);
        self.write_all(&start)
    }

    fn enter(&mut self, m: Marker, line: Vec<u8>) -> io::Result<()> {
        // A table's data right after its structure: the schema piece goes on (its comments,
        // `DISABLE KEYS`) until the first row, so nothing but whole statements reach a Rows piece.
        if let (Marker::Data(name), Some(schema), Some((id, t))) =
            (&m, &mut self.schema, &self.table)
        {
            if t == name {
                schema.extend(&line);
                self.data = Some((Some(*id), name.clone()));
                self.section = Section::Data(Phase::Pre);
                return Ok(());
            }
        }
        self.close_section()?;
        self.send_header()?;
        match m {
            Marker::Structure(name) => {
                self.tables += 1;
                self.table = Some((self.tables, name));
                self.schema = Some(line);
                self.section = Section::Structure;
            }
            Marker::Data(name) => {
                let id = match &self.table {
                    Some((id, t)) if *t == name => Some(*id),
                    _ => None,
                };
                self.data = Some((id, name));
                self.section = Section::Data(Phase::Pre);
                // A comment: harmless in the final session, and kept.
                self.tail.extend(&line);
            }
            Marker::Tail => self.push_tail(line)?,
        }
        Ok(())
    }

    fn push_tail(&mut self, line: Vec<u8>) -> io::Result<()> {
        self.close_section()?;
        self.section = Section::Tail;
        self.tail.extend(&line);
        Ok(())
    }

    fn close_section(&mut self) -> io::Result<()> {
        self.emit_schema()?;
        self.flush_rows()?;
        // A `DISABLE KEYS` of a data section without schema nor rows: kept, in order.
        if !self.rows.is_empty() {
            let rest = std::mem::take(&mut self.rows);
            self.tail.extend(&rest);
        }
        Ok(())
    }

    fn emit_schema(&mut self) -> io::Result<()> {
        let (Some(sql), Some((id, name))) = (self.schema.take(), &self.table) else {
            return Ok(());
        };
        let piece = Piece::Schema {
            table: *id,
            name: name.clone(),
            sql,
        };
        self.sink.piece(piece)
    }

    fn flush_rows(&mut self) -> io::Result<()> {
        if self.rows_statements == 0 {
            return Ok(());
        }
        let (after, name) = self.data.clone().unwrap_or_default();
        let sql = std::mem::replace(&mut self.rows, Vec::with_capacity(self.chunk + (64 << 10)));
        self.rows_statements = 0;
        self.chunks += 1;
        self.sink.piece(Piece::Rows { after, name, sql })
    }
}

impl<S: Sink> Write for Splitter<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if let Some(lex) = &mut self.lex {
                match lex.scan(rest) {
                    Some(end) => {
                        self.rows.extend_from_slice(&rest[..end]);
                        self.lex = None;
                        rest = &rest[end..];
                        self.rows_statements += 1;
                        self.after_statement = true;
                    }
                    None => {
                        self.rows.extend_from_slice(rest);
                        rest = &[];
                    }
                }
                continue;
            }
            if self.after_statement {
                self.after_statement = false;
                if rest[0] == b'\n' {
                    self.rows.push(b'\n');
                    rest = &rest[1..];
                }
                if self.rows.len() >= self.chunk {
                    self.flush_rows()?;
                }
                continue;
            }
            let rows_may_come = matches!(
                self.section,
                Section::Data(Phase::Pre) | Section::Data(Phase::Rows)
            );
            // A row statement starts here: scanned as it comes, no line gathered first.
            if rows_may_come && self.line.is_empty() && is_row_statement(rest) {
                self.section = Section::Data(Phase::Rows);
                self.emit_schema()?;
                self.lex = Some(Lex::Code);
                continue;
            }
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.line.extend_from_slice(&rest[..=i]);
                    rest = &rest[i + 1..];
                    self.line_done()?;
                }
                None => {
                    self.line.extend_from_slice(rest);
                    rest = &[];
                    // A long row statement on one line (mysqldump's) streams as it comes.
                    if rows_may_come && is_row_statement(&self.line) {
                        let start = std::mem::take(&mut self.line);
                        self.section = Section::Data(Phase::Rows);
                        self.emit_schema()?;
                        self.begin_statement(start)?;
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Marker {
    Structure(String),
    Data(String),
    Tail,
}

/// The section comments of mariadb-dump and mysqldump.
fn marker(line: &[u8]) -> Option<Marker> {
    const TAIL: [&[u8]; 7] = [
        b"-- Temporary table structure for view ",
        b"-- Temporary view structure for view ",
        b"-- Final view structure for view ",
        b"-- Dumping routines for database ",
        b"-- Dumping events for database ",
        b"-- Current Database: ",
        b"-- Dump completed",
    ];
    if let Some(rest) = line.strip_prefix(b"-- Table structure for table ") {
        return Some(Marker::Structure(quoted_name(rest)));
    }
    if let Some(rest) = line.strip_prefix(b"-- Dumping data for table ") {
        return Some(Marker::Data(quoted_name(rest)));
    }
    TAIL.iter()
        .any(|p| line.starts_with(p))
        .then_some(Marker::Tail)
}

/// `` `a``b` `` -> ``a`b``.
fn quoted_name(rest: &[u8]) -> String {
    let text = String::from_utf8_lossy(rest);
    let t = text.trim_end();
    let t = t.strip_prefix('`').unwrap_or(t);
    let t = t.strip_suffix('`').unwrap_or(t);
    t.replace("``", "`")
}

fn is_row_statement(line: &[u8]) -> bool {
    line.starts_with(b"INSERT ") || line.starts_with(b"REPLACE ")
}

/// The statements that close a data section's rows even before any came.
fn ends_pre(line: &[u8]) -> bool {
    contains(line, b"ENABLE KEYS") || is_trailer(line)
}

/// The dump's closing lines put back the session settings its header changed: they must run
/// in the final session only, never in a loading one.
fn is_trailer(line: &[u8]) -> bool {
    contains(line, b"=@OLD_") || line.starts_with(b"SET @@SESSION.SQL_LOG_BIN")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests;
