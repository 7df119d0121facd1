//! Semantic diff of two versions of a DataX job.
//!
//! A line diff of job files is noisy (re-indentation, key order) and prints
//! passwords; this diff compares the parsed JSON instead and masks secrets,
//! while still saying that a secret changed.

use std::fmt::{self, Write as _};

use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::{is_secret_key, mask_secrets, parse_value, DataxError, MASK};

/// What happened at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Modified,
}

/// One difference between two job documents.
///
/// `old`/`new` are the (masked) values themselves: objects and arrays whole,
/// any secret as the string `"******"`; shown as compact JSON (strings quoted). `old` is
/// `None` exactly for [`ChangeKind::Added`], `new` exactly for
/// [`ChangeKind::Removed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Dotted path with array indices, e.g. `job.content[0].reader.name`.
    /// Keys that are not plain words are quoted: `hadoopConfig["dfs.nameservices"]`.
    /// The document root itself is `$`.
    pub path: String,
    pub kind: ChangeKind,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| v.as_ref().map_or("null".to_string(), Value::to_string);
        let (old, new) = (show(&self.old), show(&self.new));
        match self.kind {
            ChangeKind::Added => write!(f, "+ {}: {new}", self.path),
            ChangeKind::Removed => write!(f, "- {}: {old}", self.path),
            ChangeKind::Modified => write!(f, "{}: {old} -> {new}", self.path),
        }
    }
}

/// Compares two JSON documents (typically two versions of a job file).
///
/// Contract: objects are compared key by key (key order and formatting are
/// not changes), arrays index by index (extra elements are Added/Removed),
/// and numbers by value (`0` and `0.0` are equal). Changes come in document
/// order: old's order, then keys only present in new. A value under a secret
/// key ([`is_secret_key`]) that differs is reported as
/// [`ChangeKind::Modified`] with both sides masked; no secret ever appears in
/// the result. Errors name the side ("old"/"new") and its line and column.
pub fn diff_json(old: &str, new: &str) -> Result<Vec<Change>, DataxError> {
    let old = parse_value(old, "old")?;
    let new = parse_value(new, "new")?;
    let mut changes = Vec::new();
    diff_value(&mut String::new(), false, &old, &new, &mut changes);
    Ok(changes)
}

/// `path` is a shared buffer, truncated back after each child, so deep
/// documents do not allocate one string per visited node.
fn diff_value(path: &mut String, secret: bool, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if secret {
        if old != new {
            out.push(change(
                path,
                ChangeKind::Modified,
                Some(masked()),
                Some(masked()),
            ));
        }
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => diff_object(path, a, b, out),
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                // Writing into a String cannot fail.
                let _ = write!(path, "[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff_value(path, false, x, y, out),
                    (Some(x), None) => {
                        out.push(change(path, ChangeKind::Removed, Some(render(x)), None))
                    }
                    (None, Some(y)) => {
                        out.push(change(path, ChangeKind::Added, None, Some(render(y))))
                    }
                    (None, None) => unreachable!("index below the longer length"),
                }
                path.truncate(len);
            }
        }
        (Value::Number(a), Value::Number(b)) if same_number(a, b) => {}
        _ if old == new => {}
        _ => out.push(change(
            path,
            ChangeKind::Modified,
            Some(render(old)),
            Some(render(new)),
        )),
    }
}

fn diff_object(
    path: &mut String,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    out: &mut Vec<Change>,
) {
    for (key, x) in a {
        let len = path.len();
        push_key(path, key);
        let secret = is_secret_key(key);
        match b.get(key) {
            Some(y) => diff_value(path, secret, x, y, out),
            None => out.push(change(
                path,
                ChangeKind::Removed,
                Some(render_under(key, x)),
                None,
            )),
        }
        path.truncate(len);
    }
    for (key, y) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
        let len = path.len();
        push_key(path, key);
        out.push(change(
            path,
            ChangeKind::Added,
            None,
            Some(render_under(key, y)),
        ));
        path.truncate(len);
    }
}

fn change(path: &str, kind: ChangeKind, old: Option<Value>, new: Option<Value>) -> Change {
    let path = if path.is_empty() { "$" } else { path };
    Change {
        path: path.to_owned(),
        kind,
        old,
        new,
    }
}

/// Keys such as `dfs.nameservices` (hdfswriter's `hadoopConfig`) would make
/// a dotted path ambiguous, so anything beyond a plain word is quoted.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

/// Integers and floats compare by value: `"percentage": 0` and `0.0` mean
/// the same to DataX, and reporting them would bury real changes.
fn same_number(a: &Number, b: &Number) -> bool {
    a == b || ((a.is_f64() || b.is_f64()) && a.as_f64() == b.as_f64())
}

fn masked() -> Value {
    Value::String(MASK.to_owned())
}

fn render(v: &Value) -> Value {
    let mut v = v.clone();
    mask_secrets(&mut v);
    v
}

fn render_under(key: &str, v: &Value) -> Value {
    if is_secret_key(key) {
        masked()
    } else {
        render(v)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use rstest::rstest;

    const BASE: &str = r#"{"job":{"setting":{"speed":{"channel":2},"errorLimit":{"record":0}},
        "content":[{"reader":{"name":"mysqlreader","parameter":{"username":"u","password":"secret",
        "column":["id","name"],"connection":[{"table":["t"],"jdbcUrl":["jdbc:mysql://db1.example:3306/shop"]}]}},
        "writer":{"name":"mysqlwriter","parameter":{"username":"w","password":"p2","writeMode":"insert",
        "connection":[{"table":["t"],"jdbcUrl":"jdbc:mysql://db2.example:3306/dw"}]}}}]}}"#;

    /// BASE with `edit` applied, so each case states only what it changes.
    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(BASE).unwrap();
        edit(&mut v);
        v.to_string()
    }

    fn lines(changes: &[Change]) -> Vec<String> {
        changes.iter().map(ToString::to_string).collect()
    }

    const W: &str = "/job/content/0/writer/parameter";
    const R: &str = "/job/content/0/reader/parameter";

    #[rstest]
    #[case::channel(|v: &mut Value| v["job"]["setting"]["speed"]["channel"] = 4.into(),
        &["job.setting.speed.channel: 2 -> 4"])]
    #[case::string_quoted(|v: &mut Value| v.pointer_mut(W).unwrap()["writeMode"] = "replace".into(),
        &["job.content[0].writer.parameter.writeMode: \"insert\" -> \"replace\""])]
    #[case::added_key(|v: &mut Value| v.pointer_mut(W).unwrap()["preSql"] = serde_json::json!(["truncate t"]),
        &["+ job.content[0].writer.parameter.preSql: [\"truncate t\"]"])]
    #[case::removed_key(|v: &mut Value| { v["job"]["setting"].as_object_mut().unwrap().remove("errorLimit"); },
        &["- job.setting.errorLimit: {\"record\":0}"])]
    #[case::array_grows(|v: &mut Value| v.pointer_mut(R).unwrap()["column"].as_array_mut().unwrap().push("email".into()),
        &["+ job.content[0].reader.parameter.column[2]: \"email\""])]
    #[case::array_shrinks(|v: &mut Value| { v.pointer_mut(R).unwrap()["column"].as_array_mut().unwrap().remove(0); },
        &["job.content[0].reader.parameter.column[0]: \"id\" -> \"name\"",
          "- job.content[0].reader.parameter.column[1]: \"name\""])]
    #[case::password_masked(|v: &mut Value| v.pointer_mut(R).unwrap()["password"] = "n3w!".into(),
        &["job.content[0].reader.parameter.password: \"******\" -> \"******\""])]
    #[case::password_type_change(|v: &mut Value| v.pointer_mut(W).unwrap()["password"] = 42.into(),
        &["job.content[0].writer.parameter.password: \"******\" -> \"******\""])]
    #[case::added_block_is_masked(|v: &mut Value| v["job"]["content"].as_array_mut().unwrap()
            .push(serde_json::json!({"reader":{"name":"r","parameter":{"password":"x","accessKey":"k"}}})),
        &["+ job.content[1]: {\"reader\":{\"name\":\"r\",\"parameter\":{\"password\":\"******\",\"accessKey\":\"******\"}}}"])]
    #[case::added_secret(|v: &mut Value| v.pointer_mut(W).unwrap()["ossAccessKey"] = "k".into(),
        &["+ job.content[0].writer.parameter.ossAccessKey: \"******\""])]
    #[case::type_change(|v: &mut Value| v.pointer_mut(W).unwrap()["connection"][0]["jdbcUrl"] = serde_json::json!(["jdbc:x"]),
        &["job.content[0].writer.parameter.connection[0].jdbcUrl: \"jdbc:mysql://db2.example:3306/dw\" -> [\"jdbc:x\"]"])]
    #[case::dotted_key(|v: &mut Value| v["job"]["setting"]["a.b"] = serde_json::Value::Null,
        &["+ job.setting[\"a.b\"]: null"])]
    #[case::integer_vs_float_equal(|v: &mut Value| v["job"]["setting"]["errorLimit"]["record"] = serde_json::json!(0.0), &[])]
    #[case::same_password(|v: &mut Value| v.pointer_mut(R).unwrap()["password"] = "secret".into(), &[])]
    fn base_edits_are_reported(#[case] edit: fn(&mut Value), #[case] expected: &[&str]) {
        let changes = diff_json(BASE, &edited(edit)).unwrap();
        assert_eq!(lines(&changes), expected);
        for c in &changes {
            let shown = format!("{c} {}", serde_json::to_string(c).unwrap());
            assert!(
                !shown.contains("secret") && !shown.contains("n3w!"),
                "{shown}"
            );
        }
    }

    #[test]
    fn order_is_old_then_new_only_keys() {
        let old = r#"{"b":1,"a":1,"c":1}"#;
        let new = r#"{"z":1,"c":2,"a":1}"#;
        assert_eq!(
            lines(&diff_json(old, new).unwrap()),
            ["- b: 1", "c: 1 -> 2", "+ z: 1"]
        );
    }

    #[test]
    fn reformatting_and_reordering_is_no_change() {
        let reordered = r#"{"job":{"content":[{"writer":{"parameter":{"connection":[{"jdbcUrl":"jdbc:mysql://db2.example:3306/dw","table":["t"]}],
            "writeMode":"insert","password":"p2","username":"w"},"name":"mysqlwriter"},
            "reader":{"name":"mysqlreader","parameter":{"password":"secret","username":"u","column":["id","name"],
            "connection":[{"jdbcUrl":["jdbc:mysql://db1.example:3306/shop"],"table":["t"]}]}}}],
            "setting":{"errorLimit":{"record":0},"speed":{"channel":2}}}}"#;
        assert_eq!(diff_json(BASE, reordered).unwrap(), []);
    }

    #[test]
    fn root_scalars_and_serialized_kind() {
        let changes = diff_json("1", "\"x\"").unwrap();
        assert_eq!(lines(&changes), ["$: 1 -> \"x\""]);
        let json = serde_json::to_value(&changes[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"path":"$","kind":"modified","old":1,"new":"x"})
        );
    }

    #[rstest]
    #[case("{", "{}", "old is not valid json at line 1, column 1")]
    #[case("{}", "{\n\"a\" 1}", "new is not valid json at line 2, column 5")]
    fn malformed_side_is_named(#[case] old: &str, #[case] new: &str, #[case] prefix: &str) {
        let msg = diff_json(old, new).unwrap_err().to_string();
        assert!(msg.starts_with(prefix), "{msg}");
    }

    #[test]
    fn fixture_orders_to_incr() {
        let changes = diff_json(MYSQL2MYSQL_ORDERS, MYSQL2MYSQL_INCR).unwrap();
        let shown = lines(&changes).join("\n");
        for expected in [
            "job.setting.speed.channel: 4 -> 2",
            "+ job.setting.speed.byte: 10485760",
            "job.setting.errorLimit.percentage: 0.02 -> 0.01",
            "job.content[0].reader.parameter.column[1]: \"order_no\" -> \"order_id\"",
            "- job.content[0].reader.parameter.column[7]: \"updated_at\"",
            "- job.content[0].writer.parameter.preSql: [\"delete from @table where created_at < date_sub(curdate(), interval 400 day)\"]",
            "job.content[0].writer.parameter.connection[0].table[0]: \"orders_mirror\" -> \"${targetTable}\"",
        ] {
            assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
        }
        // Same passwords on both sides: nothing to report, nothing leaked.
        assert!(
            !shown.contains("password") && !shown.contains("Fx7"),
            "{shown}"
        );
    }

    #[test]
    fn fixture_hadoop_config_keys_are_quoted() {
        let changes = diff_json(MYSQL2HDFS_USER_EVENT, TXT2MYSQL_STORE).unwrap();
        let shown = lines(&changes).join("\n");
        assert!(
            shown
                .contains("- job.content[0].writer.parameter.hadoopConfig: {\"dfs.nameservices\":"),
            "{shown}"
        );
        assert!(
            shown.contains("job.content[0].writer.parameter.password: \"******\""),
            "{shown}"
        );
    }
}
