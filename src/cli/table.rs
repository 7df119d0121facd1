//! Text tables whose columns line up with their headers whatever the values' widths.

/// Prints `headers` and `rows`, each column as wide as its widest cell; columns flagged in
/// `right` are right-aligned (numbers). Two spaces between columns.
pub fn print(headers: &[&str], right: &[bool], rows: &[Vec<String>]) {
    for line in render(headers, right, rows) {
        println!("{line}");
    }
}

pub fn render(headers: &[&str], right: &[bool], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = w.saturating_sub(c.chars().count());
            if right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        s.trim_end().to_string()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_headers() {
        let rows = vec![
            vec![
                "1a2b3c4d".to_string(),
                "mysql-full".into(),
                "1.2 GiB".into(),
            ],
            vec!["5e6f7a8b".to_string(), "files".into(), "3 KiB".into()],
        ];
        let lines = render(&["id", "kind", "size"], &[false, false, true], &rows);
        assert_eq!(lines[0], "id        kind           size");
        assert_eq!(lines[1], "1a2b3c4d  mysql-full  1.2 GiB");
        assert_eq!(lines[2], "5e6f7a8b  files         3 KiB");
    }
}
