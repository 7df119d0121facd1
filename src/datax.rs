//! Understanding DataX job files without running DataX.
//!
//! A DataX installation's real state lives in its `job/*.json` files, so a
//! backup tool has to read them: to show what changed between two snapshots
//! of a job (`diff`), and to list which databases an installation reads from
//! and writes to (`discover`). Both outputs end up in terminals, logs and CI
//! artefacts, so everything here masks credentials by the rule DataX itself
//! applies before it prints a job: no value stored under a secret key ever
//! leaves this module. Credentials written *inside* a value (a jdbc URL's
//! `password=` parameter) are outside that rule and are passed through.
//!
//! The module is pure: it takes text and returns data, it does no I/O.

mod diff;
#[cfg(test)]
mod fixtures;
mod jdbc;
mod job;
mod propose;
#[cfg(test)]
mod proptests;

pub use diff::{diff_json, Change, ChangeKind};
pub use jdbc::{parse_jdbc_url, DbKind, JdbcTarget};
pub use job::{parse_job, ContentSummary, Endpoint, JobSummary, Role};
pub use propose::{propose, source_names, MysqlServer};

use serde_json::Value;

/// The text every secret value is replaced with, whatever its JSON type.
///
/// DataX replaces each character with `*`, which leaks the secret's length;
/// a fixed-width mask does not.
pub const MASK: &str = "******";

/// Everything that can go wrong while reading a DataX job file.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DataxError {
    /// The text is not JSON. `what` names the input ("old", "new", "job").
    #[error("{what} is not valid json at line {line}, column {column}: {reason}; fix the file and try again")]
    Json {
        what: &'static str,
        line: usize,
        column: usize,
        reason: String,
    },
    /// Valid JSON, but not shaped like a DataX job.
    #[error("no `job.content` array found; this is not a datax job file (expected {{\"job\":{{\"content\":[...]}}}}), check that you pointed at a file under job/")]
    NotAJob,
    /// A content element lacks the reader or writer plugin DataX needs to run it.
    #[error("job.content[{index}].{role} has no plugin `name`; add the {role} block (e.g. \"name\": \"mysql{role}\") or remove the element")]
    MissingPlugin { index: usize, role: Role },
}

/// Whether a JSON object key holds a credential.
///
/// Contract: true exactly when `key` ends, ignoring ASCII case, with
/// `password`, `accessKey`, `secret` or `secretKey`. The first two are the rule of DataX's
/// `Engine.filterSensitiveConfiguration`, so what DataX users expect masked is masked; the
/// last two are how the S3/COS-style reader and writer plugins name their credential
/// (`secretKey`, `accessSecret`), which DataX's own rule misses. It deliberately does not
/// guess further (`passwordFile` is not a secret, `dbPassword` is).
pub fn is_secret_key(key: &str) -> bool {
    fn ends_with_ignore_case(key: &str, suffix: &str) -> bool {
        // Byte slicing is safe: an ASCII suffix can only match on a char boundary.
        let (k, s) = (key.as_bytes(), suffix.as_bytes());
        k.len() >= s.len() && k[k.len() - s.len()..].eq_ignore_ascii_case(s)
    }
    ["password", "accessKey", "secret", "secretKey"]
        .iter()
        .any(|suffix| ends_with_ignore_case(key, suffix))
}

/// Replaces, in place and at any depth, the value of every secret key
/// (see [`is_secret_key`]) with the string [`MASK`].
///
/// Contract: the whole value is replaced whatever its type (a password given
/// as a number or an array is still a password); the key itself is kept so
/// readers can see that a secret is configured. Idempotent.
pub fn mask_secrets(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if is_secret_key(key) {
                    *value = Value::String(MASK.to_owned());
                } else {
                    mask_secrets(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

/// Masks, in text that is not strict JSON, the value after every secret key followed by `:`.
///
/// DataX reads jobs with fastjson, which also takes comments, single quotes, bare keys and
/// trailing commas, so a job DataX runs may not parse here; showing such a file as stored
/// would print its passwords. Keys are quoted strings or bare words; a value is a quoted
/// string, a bracketed `[...]`/`{...}` group, or anything up to `,`, `}`, `]` or the end of
/// the line, and is replaced with `"******"` whole. Words inside strings are never keys; a
/// secret key in a comment is masked too (more than needed, never less).
pub fn mask_secrets_text(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let (key, end) = match c[i] {
            '"' | '\'' => {
                let end = string_end(&c, i);
                // Without its closing quote when it has one.
                let closed = end > i + 1 && c[end - 1] == c[i];
                let inner = &c[i + 1..if closed { end - 1 } else { end }];
                (inner.iter().collect::<String>(), end)
            }
            ch if is_word(ch) => {
                let end = (i..c.len()).find(|&k| !is_word(c[k])).unwrap_or(c.len());
                (c[i..end].iter().collect(), end)
            }
            ch => {
                out.push(ch);
                i += 1;
                continue;
            }
        };
        out.extend(&c[i..end]);
        i = end;
        let colon = skip_space(&c, end);
        if c.get(colon) == Some(&':') && is_secret_key(&key) {
            let value = skip_space(&c, colon + 1);
            out.extend(&c[end..value]);
            let value_end = value_end(&c, value);
            if value_end > value {
                out.push_str(&format!("\"{MASK}\""));
            }
            i = value_end;
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn skip_space(c: &[char], from: usize) -> usize {
    (from..c.len())
        .find(|&k| !c[k].is_whitespace())
        .unwrap_or(c.len())
}

/// The index after the string literal opening at `start` (the text's end when unclosed).
fn string_end(c: &[char], start: usize) -> usize {
    let mut k = start + 1;
    while k < c.len() {
        match c[k] {
            '\\' => k += 2,
            q if q == c[start] => return k + 1,
            _ => k += 1,
        }
    }
    c.len()
}

fn value_end(c: &[char], start: usize) -> usize {
    match c.get(start) {
        None => start,
        Some('"' | '\'') => string_end(c, start),
        Some('[' | '{') => {
            let mut depth = 0usize;
            let mut k = start;
            while k < c.len() {
                match c[k] {
                    '"' | '\'' => k = string_end(c, k),
                    '[' | '{' => (depth, k) = (depth + 1, k + 1),
                    ']' | '}' if depth == 1 => return k + 1,
                    ']' | '}' => (depth, k) = (depth - 1, k + 1),
                    _ => k += 1,
                }
            }
            c.len()
        }
        Some(_) => (start..c.len())
            .find(|&k| matches!(c[k], ',' | '}' | ']' | '\n' | '\r'))
            .unwrap_or(c.len()),
    }
}

/// Parses `text`, turning serde_json's error into one that names the input.
fn parse_value(text: &str, what: &'static str) -> Result<Value, DataxError> {
    serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        // serde_json appends its own " at line L column C"; we print the
        // position ourselves in a friendlier place, so drop the duplicate.
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        // Lowercased because serde_json says "EOF" and our messages are lowercase.
        let reason = full.strip_suffix(&suffix).unwrap_or(&full).to_lowercase();
        DataxError::Json {
            what,
            line,
            column,
            reason,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case("password", true)]
    #[case("Password", true)]
    #[case("PASSWORD", true)]
    #[case("dbPassword", true)]
    #[case("accessKey", true)]
    #[case("ossAccessKey", true)]
    #[case("accesskey", true)]
    #[case("accessId", false)]
    #[case("secretKey", true)]
    #[case("accessSecret", true)]
    #[case("SECRET", true)]
    #[case("secretId", false)]
    #[case("passwordFile", false)]
    #[case("username", false)]
    #[case("", false)]
    #[case("pass", false)]
    #[case("密码password", true)]
    #[case("密码", false)]
    fn secret_keys_follow_datax_rule(#[case] key: &str, #[case] expected: bool) {
        assert_eq!(is_secret_key(key), expected, "key {key:?}");
    }

    #[rstest]
    #[case::string(json!({"password": "s3cret"}), json!({"password": MASK}))]
    #[case::number(json!({"password": 1234}), json!({"password": MASK}))]
    #[case::null(json!({"password": null}), json!({"password": MASK}))]
    #[case::object(json!({"accessKey": {"a": 1}}), json!({"accessKey": MASK}))]
    #[case::nested_in_arrays(
        json!({"job": {"content": [{"reader": {"parameter": {"username": "u", "password": "p"}}}]}}),
        json!({"job": {"content": [{"reader": {"parameter": {"username": "u", "password": MASK}}}]}})
    )]
    #[case::non_secret_untouched(
        json!({"passwordFile": "/etc/p", "list": ["password"], "password_hint": "x"}),
        json!({"passwordFile": "/etc/p", "list": ["password"], "password_hint": "x"})
    )]
    #[case::scalar_root(json!("password"), json!("password"))]
    fn masking_replaces_every_secret(#[case] mut input: Value, #[case] expected: Value) {
        mask_secrets(&mut input);
        assert_eq!(input, expected);
        // Masking twice must not change anything further.
        mask_secrets(&mut input);
        assert_eq!(input, expected);
    }

    #[rstest]
    #[case("{\"job\": }", 1, 9)]
    #[case("{\n  \"job\": {\n    \"a\": 1,\n  }\n}", 4, 3)]
    #[case("", 1, 0)]
    fn json_errors_name_line_and_column(
        #[case] text: &str,
        #[case] line: usize,
        #[case] column: usize,
    ) {
        let err = parse_value(text, "job").unwrap_err();
        let DataxError::Json {
            line: l, column: c, ..
        } = &err
        else {
            panic!("wrong error {err:?}");
        };
        assert_eq!((*l, *c), (line, column));
        let msg = err.to_string();
        assert!(msg.starts_with("job is not valid json at line"), "{msg}");
        assert_eq!(msg.matches("at line").count(), 1, "{msg}");
        assert_eq!(msg, msg.to_lowercase(), "messages are lowercase");
    }
}
