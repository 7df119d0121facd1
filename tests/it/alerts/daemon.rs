//! The daemon's `monitor` schedule evaluates and alerts, de-duplicated like `dxbackup monitor`.

use std::fs;
use std::process::Stdio;

use super::{wait_until, write_config, Seen, HOOK_TOKEN};
use crate::services::HttpSink;
use crate::util::Env;

fn spawn_daemon(env: &Env) -> std::process::Child {
    let log = fs::File::create(env.path("daemon.log")).unwrap();
    env.cmd(&["-v", "daemon"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn schedule_runs(env: &Env, schedule: &str) -> i64 {
    let Ok(db) = rusqlite::Connection::open_with_flags(
        env.path("state").join("catalog.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return 0;
    };
    db.query_row(
        "SELECT COUNT(*) FROM schedule_runs WHERE schedule = ?1 AND status != 'running'",
        [schedule],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

#[test]
fn daemon_monitor_job_alerts_once() {
    let http = HttpSink::start();
    let env = Env::new();
    fs::write(env.src().join("job.json"), b"{}").unwrap();
    // Never backed up: critical from the first evaluation on.
    let channels = format!(
        "[alert.hook]\nkind = \"webhook\"\nurl = \"{}\"\nmin-severity = \"critical\"\ntimeout = \"5s\"\n\n\
         [schedule.watch]\ncron = \"* * * * * *\"\njob = \"monitor\"\n",
        http.url(&format!("/hook?token={HOOK_TOKEN}"))
    );
    write_config(&env, "1h", &channels);
    env.ok(&["init"]);
    let mut daemon = spawn_daemon(&env);
    wait_until(60, "the daemon's monitor job to alert", || {
        !http.at("/hook").is_empty()
    });
    let first = http.at("/hook")[0].json();
    assert!(
        first["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["key"] == "freshness:tree"),
        "{first}"
    );
    // Two more evaluations after it: still that one message.
    let after = schedule_runs(&env, "watch");
    wait_until(60, "two more monitor runs", || {
        schedule_runs(&env, "watch") >= after + 2
    });
    assert_eq!(http.at("/hook").len(), 1, "the daemon de-duplicates too");
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    let log = fs::read_to_string(env.path("daemon.log")).unwrap();
    assert!(status.success(), "daemon: {status}\n{log}");
    let mut seen = Seen::default();
    seen.add_text(&log);
    seen.add_catalog(&env);
    seen.assert_no_secret();
}
