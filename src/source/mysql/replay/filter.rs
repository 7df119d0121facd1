//! Cutting one database out of a multi-database dump, as it streams.

use std::io::Write;

/// Passes through the header and one database's sections of a multi-database dump, without
/// its `CREATE DATABASE` and `USE` lines: the client session's own database receives it.
pub struct DatabaseFilter<W: Write> {
    inner: W,
    database: String,
    current: Option<String>,
    line: Vec<u8>,
    pub lines_kept: u64,
}

impl<W: Write> DatabaseFilter<W> {
    pub fn new(inner: W, database: &str) -> Self {
        Self {
            inner,
            database: database.to_string(),
            current: None,
            line: Vec::new(),
            lines_kept: 0,
        }
    }

    fn line_done(&mut self) -> std::io::Result<()> {
        let line = std::mem::take(&mut self.line);
        if let Some(rest) = line.strip_prefix(b"-- Current Database: `") {
            let name = rest.split(|&b| b == b'`').next().unwrap_or_default();
            self.current = Some(String::from_utf8_lossy(name).replace("``", "`"));
        }
        let keep = match &self.current {
            None => true,
            Some(db) if *db == self.database => {
                !(line.starts_with(b"CREATE DATABASE") || line.starts_with(b"USE `"))
            }
            Some(_) => false,
        };
        if keep {
            self.lines_kept += 1;
            self.inner.write_all(&line)?;
        }
        self.line = line;
        self.line.clear();
        Ok(())
    }

    pub fn into_inner(mut self) -> std::io::Result<W> {
        if !self.line.is_empty() {
            self.line_done()?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for DatabaseFilter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..=i]);
            self.line_done()?;
            rest = &rest[i + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
