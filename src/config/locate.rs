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
    let parts: Vec<&str> = key.split('.').filter(|s| !s.is_empty()).collect();
    find_in(root, &parts).map(|(offset, _)| offset)
}

/// Keys are joined with dots, and a name may hold dots itself (`[source."db.main"]`): at each
/// table the key may be one or several of the dotted parts. The match reaching deepest wins,
/// as (offset, parts matched); `None` when not even the first key is there.
fn find_in(table: &DeTable<'_>, parts: &[&str]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for n in 1..=parts.len() {
        let name = parts[..n].join(".");
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            continue;
        };
        let rest = &parts[n..];
        let mut here = (k.span().start, n);
        match v.get_ref() {
            DeValue::Table(t) if !rest.is_empty() => {
                if let Some((o, d)) = find_in(t, rest) {
                    here = (o, n + d);
                }
            }
            DeValue::Array(a) if !rest.is_empty() => {
                if let Some(item) = rest[0].parse::<usize>().ok().and_then(|i| a.get(i)) {
                    here = (item.span().start, n + 1);
                    if let DeValue::Table(t) = item.get_ref() {
                        if let Some((o, d)) = find_in(t, &rest[1..]) {
                            here = (o, n + 1 + d);
                        }
                    }
                }
            }
            _ => {}
        }
        if best.is_none_or(|(_, d)| here.1 > d) {
            best = Some(here);
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
