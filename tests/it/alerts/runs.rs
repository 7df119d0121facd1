//! Around `dxbackup run`: channels that fail (500, nobody listening) change nothing about the
//! run and are recorded; the dead man's ping goes /start, then success or /fail.

use std::fs;

use super::{alerts_sent, json_of, write_config, Seen, HOOK_TOKEN, PING_UUID, SLACK_SECRET};
use crate::services::{free_port, HttpSink};
use crate::util::Env;

#[test]
fn failing_channels_do_not_change_runs_exit_code_and_are_recorded() {
    let http = HttpSink::start();
    http.answer(500);
    let down = free_port();
    let channels = format!(
        "[alert.broken]\nkind = \"webhook\"\nurl = \"{}\"\ntimeout = \"5s\"\nretries = 1\n\n\
         [alert.down]\nkind = \"slack\"\nurl = \"http://127.0.0.1:{down}/services/{SLACK_SECRET}\"\ntimeout = \"5s\"\nretries = 1\n",
        http.url(&format!("/broken?token={HOOK_TOKEN}"))
    );
    // The same run without channels says what the exit code should be.
    let plain = Env::new();
    fs::write(plain.src().join("job.json"), b"{}").unwrap();
    write_config(&plain, "1h", "");
    let want = plain.run(&["run"]).code;

    let env = Env::new();
    let mut seen = Seen::default();
    fs::write(env.src().join("job.json"), b"{}").unwrap();
    write_config(&env, "1h", &channels);
    let out = env.run(&["-v", "--json", "run"]);
    seen.add(&out);
    assert_eq!(
        out.code, want,
        "the channels changed run's exit code\n{out}"
    );
    // The run's findings (warnings: never verified, 3-2-1...) went to both, and both failed.
    let v = json_of(&out);
    let deliveries = v["alerts"]["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(deliveries.len(), 2, "{out}");
    assert!(deliveries.iter().all(|d| d["ok"] == false), "{out}");
    assert!(out.stderr.contains("alert not sent"), "logged\n{out}");
    assert_eq!(http.at("/broken").len(), 2, "one try and one retry");
    let broken = alerts_sent(&env, "broken");
    assert!(!broken.is_empty());
    for (kind, ok, attempts, error) in &broken {
        assert_eq!((kind.as_str(), *ok, *attempts), ("alert", false, 2));
        assert!(error.as_deref().unwrap().contains("500"), "{error:?}");
    }
    let gone = alerts_sent(&env, "down");
    assert!(!gone.is_empty());
    assert!(
        gone.iter().all(|(_, ok, _, e)| !ok && e.is_some()),
        "{gone:?}"
    );

    // Not told, so told again by the next monitor, which now gets through.
    http.answer(200);
    let out = env.run(&["--json", "monitor"]);
    seen.add(&out);
    assert!(out.code == 1 || out.code == 0, "{out}");
    assert_eq!(http.at("/broken").len(), 3, "{out}");
    assert!(alerts_sent(&env, "broken").last().unwrap().1);
    // The human form names the failure too.
    let out = env.run(&["monitor"]);
    seen.add(&out);
    assert!(out.stdout.contains("alert to down FAILED"), "{out}");
    seen.add_catalog(&env);
    seen.assert_no_secret();
}

#[test]
fn ping_start_then_success_or_fail_around_run() {
    let http = HttpSink::start();
    let env = Env::new();
    let mut seen = Seen::default();
    fs::write(env.src().join("job.json"), b"{}").unwrap();
    let ping = format!(
        "[alert.deadman]\nkind = \"ping\"\nurl = \"{}\"\ntimeout = \"5s\"\n",
        http.url(&format!("/ping/{PING_UUID}"))
    );
    write_config(&env, "1h", &ping);
    let out = env.run(&["-v", "run"]);
    seen.add(&out);
    assert!(out.code == 0 || out.code == 1, "{out}");
    let paths: Vec<String> = http.requests().iter().map(|r| r.target.clone()).collect();
    let base = format!("/ping/{PING_UUID}");
    assert_eq!(paths, [format!("{base}/start"), base.clone()], "{out}");
    assert!(http.requests().iter().all(|r| r.method == "GET"));

    // A run that fails (its source is gone) pings /start, then /fail.
    fs::remove_dir_all(env.src()).unwrap();
    let out = env.run(&["-v", "run"]);
    seen.add(&out);
    assert_eq!(out.code, 2, "{out}");
    let paths: Vec<String> = http.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        paths[2..],
        [format!("{base}/start"), format!("{base}/fail")],
        "{out}"
    );
    let rows = alerts_sent(&env, "deadman");
    let kinds: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        kinds,
        ["ping-start", "ping-success", "ping-start", "ping-fail"]
    );
    assert!(rows.iter().all(|r| r.1));
    seen.add_catalog(&env);
    seen.assert_no_secret();
}
