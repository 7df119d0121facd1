//! What of a failed tool's stderr goes into its error: the lines that say why, bounded, for
//! the catalog, alerts and the terminal; the whole of it goes to the log.

use super::MysqlError;

impl MysqlError {
    /// A tool that failed, with the lines of its stderr that say why ([`stderr_summary`]): the
    /// message goes to the catalog and to alerts. All of its stderr, when that leaves some
    /// out, goes to the log (under the daemon, the run's log file).
    pub fn tool(tool: impl Into<String>, status: impl Into<String>, stderr: &str) -> Self {
        let tool = tool.into();
        let kept = stderr_summary(stderr);
        if kept != stderr.trim() {
            // A server's error log read from its file can be long: its end is what matters.
            let from = stderr.len().saturating_sub(64 * 1024);
            let from = (from..stderr.len())
                .find(|&i| stderr.is_char_boundary(i))
                .unwrap_or(0);
            tracing::warn!("{tool} failed; its stderr:\n{}", stderr[from..].trim());
        }
        MysqlError::Tool {
            tool,
            status: status.into(),
            stderr: kept,
        }
    }
}

/// At most this much of a tool's stderr goes into an error message.
const STDERR_KEPT: usize = 1536;
/// The last lines are kept whatever they say: a tool's last words are usually why it stopped.
const STDERR_LAST_LINES: usize = 5;
/// A longer line (a query echoed back, a dump of data) is cut.
const STDERR_LINE: usize = 300;

/// The lines of a tool's stderr that matter, at most [`STDERR_KEPT`] bytes: those naming an
/// error (ERROR, error:, fatal, denied, CRITICAL...), then the last ones, in their order, with
/// a note where lines were left out. A short stderr is kept whole.
pub fn stderr_summary(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.len() <= STDERR_KEPT {
        return stderr.to_string();
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let cut = |l: &str| match l.char_indices().nth(STDERR_LINE) {
        Some((at, _)) => format!("{}...", &l[..at]),
        None => l.to_string(),
    };
    let last = lines.len().saturating_sub(STDERR_LAST_LINES);
    let mut keep = vec![false; lines.len()];
    let mut budget = STDERR_KEPT;
    for (i, k) in keep.iter_mut().enumerate().skip(last) {
        *k = true;
        budget = budget.saturating_sub(cut(lines[i]).len() + 1);
    }
    for (i, line) in lines[..last].iter().enumerate() {
        let len = cut(line).len() + 1;
        if says_error(line) && len <= budget {
            keep[i] = true;
            budget -= len;
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut skipped = 0;
    for (line, k) in lines.iter().zip(&keep) {
        if !k {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            out.push(format!("[{skipped} lines left out; see the log]"));
            skipped = 0;
        }
        out.push(cut(line));
    }
    out.join("\n")
}

fn says_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "error", "fatal", "denied", "critical", "failed", "cannot", "can't",
    ]
    .iter()
    .any(|w| l.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_stderr_is_kept_whole() {
        let err = "mariadb-dump: Got error: 1045: Access denied for user 'backup'\n";
        assert_eq!(stderr_summary(err), err.trim());
    }

    #[test]
    fn a_long_stderr_keeps_its_error_lines_and_its_last_lines_within_the_bound() {
        let mut err = String::new();
        for i in 0..2000 {
            err += &format!("-- progress line {i} of a chatty tool\n");
            if i == 700 {
                err += "ERROR 1146 (42S02) at line 701: Table 'shop.t' doesn't exist\n";
            }
        }
        err += &"x".repeat(10_000);
        err += "\nmariadb: the last word\n";
        assert!(err.len() > 64 * 1024 / 2);
        let kept = stderr_summary(&err);
        assert!(kept.len() <= STDERR_KEPT + 200, "{} bytes", kept.len());
        assert!(kept.contains("ERROR 1146 (42S02) at line 701"), "{kept}");
        assert!(kept.ends_with("mariadb: the last word"), "{kept}");
        assert!(kept.contains("progress line 1999"), "{kept}");
        assert!(!kept.contains("progress line 5 "), "{kept}");
        assert!(kept.contains("lines left out; see the log"), "{kept}");
        // The message of the error carries the summary, not the whole stderr.
        let e = MysqlError::tool("mariadb", "exit status: 1", &err).to_string();
        assert!(e.len() < 2 * 1024, "{} bytes", e.len());
    }
}
