//! `dxbackup metrics` through the real `promtool check metrics`; the shipped rules through
//! `promtool check rules` and their unit test.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::write_config;
use crate::util::{require_tool, Env};

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "promtool {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn metrics_pass_promtool_and_the_shipped_rules_are_valid() {
    if !require_tool("promtool") {
        return;
    }
    let env = Env::new();
    fs::write(env.src().join("job.json"), b"{}").unwrap();
    write_config(&env, "1h", "");
    env.ok(&["init"]);
    env.ok(&["backup", "tree"]);
    env.run(&["monitor"]);
    let out = env.ok(&["metrics"]);
    let (ok, text) = promtool(&["check", "metrics"], Some(&out.stdout));
    assert!(ok, "{text}\n{out}");
    for name in [
        "dxbackup_last_success_timestamp_seconds{source=\"tree\",kind=\"files\"}",
        "dxbackup_last_attempt_timestamp_seconds",
        "dxbackup_rpo_target_seconds{source=\"tree\"} 3600",
        "dxbackup_rpo_exposure_seconds{source=\"tree\"}",
        "dxbackup_rto_target_seconds",
        "dxbackup_run_duration_seconds{source=\"tree\",kind=\"files\"}",
        "dxbackup_bytes_added_total",
        "dxbackup_runs_total{source=\"tree\",kind=\"files\",status=\"ok\"} 1",
        "dxbackup_repository_free_bytes{repository=\"main\"}",
        "dxbackup_repository_snapshots{repository=\"main\"} 1",
        "dxbackup_findings{severity=\"critical\"}",
    ] {
        assert!(out.stdout.contains(name), "{name} missing\n{out}");
    }
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/prometheus");
    let rules = dist.join("alerts.yml");
    let (ok, text) = promtool(&["check", "rules", rules.to_str().unwrap()], None);
    assert!(ok, "{text}");
    let tests = dist.join("alerts.test.yml");
    let (ok, text) = promtool(&["test", "rules", tests.to_str().unwrap()], None);
    assert!(ok, "{text}");
}
