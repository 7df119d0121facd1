//! `--json` is machine output: every command prints exactly one JSON document on stdout and
//! nothing else, errors included, and durations are seconds as numbers.

use std::fs;

use crate::util::{put, Env, Out};

/// Parses stdout as exactly one JSON document (trailing whitespace only).
fn one_document(out: &Out) -> serde_json::Value {
    let mut it = serde_json::Deserializer::from_str(&out.stdout).into_iter::<serde_json::Value>();
    let first = it
        .next()
        .unwrap_or_else(|| panic!("no JSON document on stdout\n{out}"))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{out}"));
    assert!(
        it.next().is_none(),
        "more than one document on stdout\n{out}"
    );
    first
}

/// Every number-or-object under a key ending in `duration`/`_secs` is a plain number.
fn durations_are_numbers(v: &serde_json::Value, path: &str, out: &Out) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if (k.contains("duration") || k.ends_with("_secs")) && !x.is_null() {
                    assert!(x.is_number(), "{p} is not a number of seconds: {x}\n{out}");
                }
                durations_are_numbers(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| durations_are_numbers(x, path, out)),
        _ => {}
    }
}

fn json(env: &Env, code: i32, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = env.expect(code, &full);
    let v = one_document(&out);
    durations_are_numbers(&v, "", &out);
    v
}

#[test]
fn every_files_command_prints_one_json_document() {
    let env = Env::new();
    put(&env.src().join("job/a.json"), br#"{"job": {"setting": {"speed": {"channel": 1}}, "content": [{"reader": {"name": "streamreader", "parameter": {"password": "p1"}}}]}}"#, 0o644);
    put(&env.src().join("conf/core.json"), b"{}", 0o644);
    json(&env, 0, &["init"]);
    json(&env, 0, &["backup"]);
    put(&env.src().join("job/a.json"), br#"{"job": {"setting": {"speed": {"channel": 4}}, "content": [{"reader": {"name": "streamreader", "parameter": {"password": "p2"}}}]}}"#, 0o644);
    let run = json(&env, 0, &["run"]);
    assert!(run["duration_secs"].is_number());
    let snaps = json(&env, 0, &["snapshots"]);
    let ids: Vec<String> = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let diff = json(&env, 0, &["diff", &ids[0], &ids[1]]);
    let text = diff.to_string();
    assert!(
        text.contains("******") && !text.contains("\\\"******\\\""),
        "masked once, not quoted twice: {text}"
    );
    assert!(!text.contains("p1") && !text.contains("p2"), "{text}");
    json(&env, 0, &["log", "job/a.json"]);
    json(&env, 0, &["log", "job/a.json", "--show", &ids[0]]);
    let target = env.path("restored");
    json(
        &env,
        0,
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().unwrap(),
            "--dry-run",
        ],
    );
    let r = json(
        &env,
        0,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    assert!(r.to_string().contains("duration"), "{r}");
    json(&env, 0, &["verify"]);
    json(&env, 0, &["forget", "--dry-run"]);
    json(&env, 0, &["stats"]);
    json(&env, 0, &["drill"]);
    let status = env.run(&["--json", "status"]);
    one_document(&status);
    json(&env, 0, &["config", "check"]);
    let home = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/datax-home");
    json(&env, 0, &["discover", home]);
    // Errors are a document too.
    let e = json(&env, 2, &["snapshots", "--source", "nosuch"]);
    assert!(
        e["error"]
            .as_str()
            .is_some_and(|m| m.contains("no source `nosuch`")),
        "{e}"
    );
    let e = json(&env, 2, &["copy"]);
    assert!(e["error"].is_string(), "{e}");
    fs::write(env.config(), "[repository.main]\nurl = 1\n").unwrap();
    let e = json(&env, 2, &["backup"]);
    assert!(e["error"].is_string(), "{e}");
}
