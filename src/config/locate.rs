//! Maps a dotted key path back to a line and column of the config text, so every problem can
//! be reported as `FILE:LINE:COL` even when it was found after deserialization.

use toml::de::{DeTable, DeValue};

use super::Problem;

/// A syntax error as a located problem (the TOML parser already knows the span).
pub fn syntax_problem(text: &str, err: &toml::de::Error) -> Problem {
    let mut p = Problem::new("", format!("invalid TOML: {}", err.message().trim()));
    if let Some(span) = err.span() {
        let (l, c) = line_col(text, span.start);
        p.line = Some(l);
        p.col = Some(c);
    }
    p.hint("fix the syntax at that line; strings need quotes, tables are written [name]")
}

/// Fills `line`/`col` of every problem whose key can be found in `text`.
pub fn locate_all(text: &str, problems: &mut [Problem]) {
    let Ok(doc) = DeTable::parse(text) else {
        return;
    };
    for p in problems.iter_mut().filter(|p| p.line.is_none()) {
        if let Some(offset) = find(doc.get_ref(), &p.key) {
            let (l, c) = line_col(text, offset);
            p.line = Some(l);
            p.col = Some(c);
        }
    }
}

/// Fills in line and column from the text and sorts by them: a file is fixed top to bottom.
/// Problems that cannot be located (a section missing altogether) come last.
pub fn locate_sorted(text: &str, problems: &mut [Problem]) {
    locate_all(text, problems);
    problems.sort_by_key(|p| (p.line.is_none(), p.line, p.col));
}

/// Byte offset of the deepest part of `key` that exists: a missing key is reported at its
/// parent table, which is where the user has to add it.
fn find(root: &DeTable<'_>, key: &str) -> Option<usize> {
    let mut table = root;
    let mut best = None;
    let mut parts = key.split('.').filter(|s| !s.is_empty()).peekable();
    while let Some(part) = parts.next() {
        let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == part)?;
        best = Some(k.span().start);
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            DeValue::Array(a) if parts.peek().is_some() => {
                let idx: usize = parts.next()?.parse().ok()?;
                let item = a.get(idx)?;
                best = Some(item.span().start);
                match item.get_ref() {
                    DeValue::Table(t) => table = t,
                    _ => break,
                }
            }
            _ => break,
        }
    }
    best
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
