//! Property tests of the job JSON readers: any two documents diff without a panic, and no
//! value under a secret key (`is_secret_key`: ends with `password`, `accessKey`, `secret` or
//! `secretKey`, ASCII case ignored) ever reaches the diff, its JSON, or what `log --show` prints, at any depth, also
//! for job files that are not strict JSON.
//!
//! Secret values carry a `!` (or are the number 987654321) and nothing else generated does,
//! so a leak is a `!` in the output.

use proptest::prelude::*;
use proptest::test_runner::Config as Cases;
use serde_json::{Map, Value};

use super::*;

const SECRET_NUMBER: i64 = 987_654_321;

fn cases(n: u32) -> Cases {
    Cases {
        cases: n,
        failure_persistence: None,
        ..Cases::default()
    }
}

/// `password`/`accessKey`/`secret`/`secretKey` in any ASCII case, after any prefix (also a non-ASCII one).
fn secret_key() -> impl Strategy<Value = String> {
    let suffix = prop::sample::select(vec!["password", "accessKey", "secret", "secretKey"]);
    ("(|db|oss|x_|密码)", suffix, any::<u64>()).prop_map(|(prefix, s, case)| {
        let cased: String = s
            .chars()
            .enumerate()
            .map(|(i, c)| match case >> (i % 64) & 1 {
                1 => c.to_ascii_uppercase(),
                _ => c.to_ascii_lowercase(),
            })
            .collect();
        format!("{prefix}{cased}")
    })
}

/// What a secret holds: a marked string, the marked number, or a structure around them.
fn secret_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "![a-z0-9]{0,6}".prop_map(Value::String),
        Just(Value::from(SECRET_NUMBER)),
        "![a-z]{0,4}".prop_map(|s| serde_json::json!([s, {"k": s}])),
    ]
}

/// Plain keys never end with a secret suffix, and include ones a path must quote.
fn plain_key() -> impl Strategy<Value = String> {
    "[a-zA-Z_.$ -]{0,7}".prop_filter("not a secret", |k| !is_secret_key(k))
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        "[a-z0-9 ._]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        let entry = prop_oneof![
            4 => (plain_key(), inner.clone()),
            1 => (secret_key(), secret_value()),
        ];
        prop_oneof![
            prop::collection::vec(inner, 0..5).prop_map(Value::Array),
            prop::collection::vec(entry, 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Replaces the `n`-th node (pre-order) with `with`; `n` counts down as nodes are passed.
fn replace_nth(v: &mut Value, n: &mut usize, with: &Value) {
    if *n == 0 {
        *v = with.clone();
        *n = usize::MAX;
        return;
    }
    *n -= 1;
    match v {
        Value::Array(items) => items.iter_mut().for_each(|x| replace_nth(x, n, with)),
        Value::Object(map) => map.values_mut().for_each(|x| replace_nth(x, n, with)),
        _ => {}
    }
}

fn leaks(shown: &str) -> bool {
    shown.contains('!') || shown.contains(&SECRET_NUMBER.to_string())
}

/// The diff as a person and as a program see it.
fn shown(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{c}\n{}\n", serde_json::to_string(c).unwrap()))
        .collect()
}

/// A copy with every secret masked, computed apart from `mask_secrets`.
fn expected_mask(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let x = if is_secret_key(k) {
                        Value::from(MASK)
                    } else {
                        expected_mask(x)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(expected_mask).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(cases(2000))]

    /// Any two texts: a diff or an error naming the side, never a panic.
    #[test]
    fn any_texts_diff_without_panic(old in "\\PC{0,40}", new in "[\\[\\]{}\":,0-9a-z ]{0,40}") {
        if let Err(e) = diff_json(&old, &new) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("old ") || msg.starts_with("new "), "{msg}");
        }
        let _ = parse_job(&old);
        let _ = parse_job(&new);
    }

    /// Two unrelated documents: secrets added, removed and changed at any depth stay masked.
    #[test]
    fn unrelated_documents_never_leak(old in json(), new in json()) {
        let changes = diff_json(&old.to_string(), &new.to_string()).unwrap();
        let text = shown(&changes);
        prop_assert!(!leaks(&text), "{text}");
        let _ = parse_job(&new.to_string());
    }

    /// A document and an edit of it: the diff is empty exactly when nothing changed (no
    /// floats in play: `1` and `1.0` are one value), and never leaks.
    #[test]
    fn edits_are_found_and_never_leak(
        old in json(),
        at in 0usize..64,
        with in json(),
    ) {
        let mut new = old.clone();
        replace_nth(&mut new, &mut at.clone(), &with);
        let changes = diff_json(&old.to_string(), &new.to_string()).unwrap();
        prop_assert!(!leaks(&shown(&changes)), "{}", shown(&changes));
        prop_assert!(diff_json(&new.to_string(), &new.to_string()).unwrap().is_empty());
        let floats = |v: &Value| v.to_string().contains('.');
        if !floats(&old) && !floats(&new) {
            prop_assert_eq!(changes.is_empty(), old == new, "{}", shown(&changes));
        }
    }

    /// A secret that changes is still reported, masked on both sides.
    #[test]
    fn a_changed_secret_is_reported_masked(key in secret_key(), a in secret_value(), b in secret_value()) {
        let doc = |v: &Value| serde_json::json!({"job": {"content": [{"reader": {"parameter": {&key: v}}}]}});
        let changes = diff_json(&doc(&a).to_string(), &doc(&b).to_string()).unwrap();
        if a == b {
            prop_assert!(changes.is_empty());
        } else {
            prop_assert_eq!(changes.len(), 1);
            prop_assert_eq!(changes[0].kind, ChangeKind::Modified);
            prop_assert_eq!(changes[0].old.clone(), Some(Value::from(MASK)));
            prop_assert_eq!(changes[0].new.clone(), Some(Value::from(MASK)));
        }
    }

    /// Masking replaces exactly the secrets, and twice is once.
    #[test]
    fn masking_replaces_exactly_the_secrets(doc in json()) {
        let mut v = doc.clone();
        mask_secrets(&mut v);
        prop_assert_eq!(&v, &expected_mask(&doc));
        prop_assert!(!leaks(&v.to_string()));
        let once = v.clone();
        mask_secrets(&mut v);
        prop_assert_eq!(v, once);
    }

    /// `log --show` of a job file, strict JSON or not (fastjson's comments, single quotes,
    /// bare keys, trailing commas), prints no secret.
    #[test]
    fn log_show_never_leaks(
        doc in json(),
        lenient in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4), 0..4),
        upper in any::<bool>(),
    ) {
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        for (at, how) in lenient {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                break;
            }
            let i = at.index(lines.len());
            let mut lines: Vec<String> = lines.into_iter().map(String::from).collect();
            match how {
                0 => lines.insert(i, "  // a comment".into()),
                1 => lines[i] = lines[i].replace('"', "'"),
                2 => lines[i] = lines[i].replacen('"', "", 2),
                _ => lines[i].push(','),
            }
            text = lines.join("\n");
        }
        let path = if upper { "job/x.JSON" } else { "job/x.json" };
        let out = crate::job::log::masked(path, text.clone().into_bytes());
        let out = String::from_utf8_lossy(&out);
        prop_assert!(!leaks(&out), "{text}\n->\n{out}");
    }

    /// The text masker on any text: no panic, and text without a secret key is untouched.
    #[test]
    fn text_masking_never_panics(text in "\\PC{0,80}") {
        let out = mask_secrets_text(&text);
        let lower = text.to_ascii_lowercase();
        if !lower.contains("password") && !lower.contains("accesskey") {
            prop_assert_eq!(out, text);
        }
    }
}

/// Found by the property tests: `log --show` printed a job file that is not strict JSON (a
/// comment, single quotes, a trailing comma: fastjson runs it) as stored, passwords and all,
/// and did not mask a `.JSON` file at all.
#[test]
fn log_show_masks_lenient_and_upper_case_json() {
    let text = "{\n  // nightly\n  'password': 'Pw!1',\n  accessKey: \"k!\",\n}";
    for path in ["job/a.json", "job/A.JSON"] {
        let out = String::from_utf8(crate::job::log::masked(path, text.into())).unwrap();
        assert!(!out.contains('!'), "{out}");
        assert!(out.contains("'password': \"******\","), "{out}");
    }
    let strict = r#"{"job":{"password":"Pw!"}}"#;
    let out = crate::job::log::masked("job/B.Json", strict.into());
    assert!(!String::from_utf8(out).unwrap().contains('!'));
}
