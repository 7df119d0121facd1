//! Monitoring and alerts end to end, against real receivers on 127.0.0.1: aiosmtpd for the
//! mail (plain with AUTH, and STARTTLS with its own certificate), a recording HTTP server for
//! DingTalk (signature checked with the secret), WeCom, Slack, the webhook and the dead man's
//! ping, `promtool` for the metrics and the shipped rules, and the daemon's monitor job. No
//! secret of any channel may show in stdout, stderr, `--json`, the catalog or the snapshot.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::services::{free_port, HttpSink, Request, SmtpMode, SmtpSink};
use crate::util::{require_tool, Env, Out};

const SMTP_USER: &str = "dxalert";
const SMTP_PASSWORD: &str = "smtp-pw-never-printed";
const HOOK_TOKEN: &str = "hook-token-never-printed";
const DING_TOKEN: &str = "ding-token-never-printed";
const DING_SECRET: &str = "SECding-secret-never-printed";
const WECOM_KEY: &str = "wecom-key-never-printed";
const SLACK_SECRET: &str = "slack-secret-never-printed";
const PING_UUID: &str = "ping-uuid-never-printed";
const SECRETS: [&str; 8] = [
    SMTP_PASSWORD,
    HOOK_TOKEN,
    DING_TOKEN,
    DING_SECRET,
    WECOM_KEY,
    SLACK_SECRET,
    PING_UUID,
    // The signing secret without its prefix, in case it were logged in parts.
    "ding-secret-never",
];

/// Polls `cond` every 100 ms until it holds; panics naming `what` after `secs`.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json_of(out: &Out) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

/// Everything printed so far, checked for secrets at the end of each test.
#[derive(Default)]
struct Seen(String);

impl Seen {
    fn add(&mut self, out: &Out) {
        self.0 += &format!("{out}\n");
    }
    fn add_text(&mut self, text: &str) {
        self.0 += text;
        self.0.push('\n');
    }
    /// The catalog's files too (the database and its write-ahead log), as raw bytes.
    fn add_catalog(&mut self, env: &Env) {
        for f in ["catalog.db", "catalog.db-wal"] {
            if let Ok(b) = fs::read(env.path("state").join(f)) {
                self.add_text(&String::from_utf8_lossy(&b));
            }
        }
    }
    fn assert_no_secret(&self) {
        for s in SECRETS {
            assert!(!self.0.contains(s), "secret `{s}` leaked:\n{}", self.0);
        }
    }
}

/// The secret files of the channels, beside the config.
fn write_secrets(env: &Env, http: &HttpSink) {
    fs::write(env.path("smtp-pw"), format!("{SMTP_PASSWORD}\n")).unwrap();
    fs::write(env.path("ding-secret"), format!("{DING_SECRET}\n")).unwrap();
    fs::write(
        env.path("wecom-url"),
        http.url(&format!("/wecom/send?key={WECOM_KEY}\n")),
    )
    .unwrap();
    fs::write(
        env.path("slack-url"),
        http.url(&format!("/slack/T000/B000/{SLACK_SECRET}\n")),
    )
    .unwrap();
}

/// A files source in a tier with `rpo`, the disk-space checks out of the way (the test
/// machine's disk is what it is), and `channels`.
fn write_config(env: &Env, rpo: &str, channels: &str) {
    env.write_sources(&format!(
        "[tier.tiny]\nrpo = \"{rpo}\"\nrto = \"1h\"\n\n\
         [source.tree]\nkind = \"files\"\nroot = \"src\"\ninclude = [\"**\"]\ntier = \"tiny\"\n\n\
         [monitor]\nspace-warning = 100.0\nspace-critical = 100.0\n\n{channels}"
    ));
}

/// A mail channel to the sink; with a login (over STARTTLS only: dxbackup refuses to send a
/// password in the clear) when `password_file` is given.
fn mail_channel(name: &str, smtp: &SmtpSink, tls: &str, password_file: Option<&str>) -> String {
    let ca = if tls == "starttls" {
        format!("ca-file = \"{}\"\n", smtp.cert().display())
    } else {
        String::new()
    };
    let login = password_file.map_or(String::new(), |f| {
        format!("user = \"{SMTP_USER}\"\npassword-file = \"{f}\"\n")
    });
    format!(
        "[alert.{name}]\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"{tls}\"\n{ca}{login}\
         from = \"dxbackup@example.org\"\n\
         to = [\"ops@example.org\", \"dba@example.org\"]\nmin-severity = \"critical\"\ntimeout = \"10s\"\n\n",
        smtp.port
    )
}

/// Mail, webhook, DingTalk, WeCom and Slack, critical findings only.
fn all_channels(smtp: &SmtpSink, http: &HttpSink, hook_extra: &str) -> String {
    let crit = "min-severity = \"critical\"\ntimeout = \"10s\"\n";
    format!(
        "{}[alert.hook]\nkind = \"webhook\"\nurl = \"{}\"\n{crit}{hook_extra}\n\
         [alert.ding]\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret-file = \"ding-secret\"\n{crit}\n\
         [alert.wecom]\nkind = \"wecom\"\nurl-file = \"wecom-url\"\n{crit}\n\
         [alert.slack]\nkind = \"slack\"\nurl-file = \"slack-url\"\n{crit}\n",
        mail_channel("mail", smtp, "none", None),
        http.url(&format!("/hook?token={HOOK_TOKEN}")),
        http.url(&format!("/robot/send?access_token={DING_TOKEN}")),
    )
}

/// DingTalk's check of a signed robot call: `timestamp` (ms, within an hour of now) and
/// `sign` = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)).
fn assert_dingtalk_signed(r: &Request) {
    assert_eq!(r.query("access_token").as_deref(), Some(DING_TOKEN));
    let ts = r.query("timestamp").expect("timestamp parameter");
    let sign = r.query("sign").expect("sign parameter");
    let ms: i64 = ts.parse().expect("timestamp in milliseconds");
    let now = jiff::Timestamp::now().as_millisecond();
    assert!(
        (now - ms).abs() < 3_600_000,
        "timestamp {ms} is not near {now}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(DING_SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}\n{DING_SECRET}").as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(sign, want, "wrong DingTalk signature");
}

#[test]
fn stale_source_alerts_every_channel_once_repeats_and_recovers() {
    let Some(smtp) = SmtpSink::start(SmtpMode::Plain, None) else {
        return;
    };
    let http = HttpSink::start();
    let env = Env::new();
    let mut seen = Seen::default();
    fs::write(env.src().join("job.json"), b"{}").unwrap();
    write_secrets(&env, &http);
    write_config(&env, "1s", &all_channels(&smtp, &http, ""));
    env.ok(&["init"]);
    seen.add(&env.ok(&["-v", "backup", "tree"]));
    wait_until(60, "the backup to be older than the 1 s RPO", || {
        let v = json_of(&env.run(&["--json", "status"]));
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["key"] == "freshness:tree" && f["severity"] == "critical")
    });

    // Past its RPO: critical, one message on every channel.
    let out = env.expect(2, &["-v", "monitor"]);
    seen.add(&out);
    assert!(out.stdout.contains("CRITICAL freshness:tree"), "{out}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "one mail\n{out}\n{}", smtp.log());
    let mail = &mails[0];
    assert_eq!(
        mail.header("X-Sink-To").as_deref(),
        Some("ops@example.org,dba@example.org")
    );
    assert_eq!(
        mail.header("X-Sink-From").as_deref(),
        Some("dxbackup@example.org")
    );
    let subject = mail.header("Subject").unwrap();
    assert!(subject.starts_with("[dxbackup]"), "{subject}");
    assert!(mail.text.contains("freshness:tree"), "{}", mail.text);
    assert!(mail.text.contains("text/html"), "text and HTML parts");
    let hooks = http.at("/hook");
    assert_eq!(hooks.len(), 1, "one webhook call");
    assert_eq!(hooks[0].method, "POST");
    assert_eq!(
        hooks[0].headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let body = hooks[0].json();
    let keys: Vec<&str> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"freshness:tree"), "{body}");
    assert!(body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] == "firing" && f["severity"] == "critical"));
    let ding = http.at("/robot/send");
    assert_eq!(ding.len(), 1, "one DingTalk call");
    assert_dingtalk_signed(&ding[0]);
    let d = ding[0].json();
    assert_eq!(d["msgtype"], "markdown");
    assert!(d["markdown"]["text"].as_str().unwrap().contains("tree"));
    let wecom = http.at("/wecom/send");
    assert_eq!(wecom.len(), 1, "one WeCom call");
    assert_eq!(wecom[0].query("key").as_deref(), Some(WECOM_KEY));
    assert!(wecom[0].json()["markdown"]["content"]
        .as_str()
        .unwrap()
        .contains("freshness:tree"));
    let slack = http.at("/slack/");
    assert_eq!(slack.len(), 1, "one Slack call");
    assert!(slack[0].json()["text"]
        .as_str()
        .unwrap()
        .contains("freshness:tree"));

    // Unchanged: nothing is sent again.
    let out = env.expect(2, &["--json", "monitor"]);
    seen.add(&out);
    let v = json_of(&out);
    assert_eq!(v["notices"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(smtp.mails().len(), 1, "no second mail");
    assert_eq!(http.requests().len(), 4, "no second HTTP call");

    // The webhook repeats an unchanged finding after its `repeat`; the others stay quiet.
    write_config(&env, "1s", &all_channels(&smtp, &http, "repeat = \"1s\"\n"));
    wait_until(60, "the webhook's repeat", || {
        seen.add(&env.expect(2, &["monitor"]));
        http.at("/hook").len() >= 2
    });
    let repeat = http.at("/hook")[1].json();
    assert!(
        repeat["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] == "repeat" && f["status"] == "firing"),
        "{repeat}"
    );
    assert_eq!(smtp.mails().len(), 1, "the mail channel repeats after 24 h");

    // Fixed (a sensible RPO and a backup): every channel hears of the recovery, once.
    write_config(&env, "1h", &all_channels(&smtp, &http, ""));
    seen.add(&env.ok(&["-v", "backup", "tree"]));
    let out = env.run(&["-v", "--json", "monitor"]);
    seen.add(&out);
    let recovery = out.to_string();
    assert!(out.code == 0 || out.code == 1, "{out}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "a recovery mail\n{out}");
    assert!(
        mails[1].text.contains("freshness:tree"),
        "{}",
        mails[1].text
    );
    assert!(
        mails[1].text.to_lowercase().contains("recover"),
        "{}",
        mails[1].text
    );
    let hooks = http.at("/hook");
    assert_eq!(hooks.len(), 3, "a recovery webhook call");
    let rec = hooks[2].json();
    let fresh = rec["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "freshness:tree")
        .unwrap_or_else(|| panic!("{rec}"));
    assert_eq!(fresh["status"], "resolved");
    assert_eq!(fresh["kind"], "recovery");
    assert_eq!(http.at("/robot/send").len(), 2);
    assert_dingtalk_signed(&http.at("/robot/send")[1]);
    assert_eq!(http.at("/wecom/send").len(), 2);
    assert_eq!(http.at("/slack/").len(), 2);
    // And then silence (hook: alert, repeat, recovery; the others: alert, recovery).
    let out = env.run(&["monitor"]);
    seen.add(&out);
    let paths: Vec<String> = http.requests().iter().map(|r| r.path().into()).collect();
    assert_eq!(
        (smtp.mails().len(), paths.len()),
        (2, 9),
        "{out}\n{recovery}\n{paths:#?}"
    );

    // No secret anywhere: output, logs, config check, the catalog, the stored config.
    seen.add(&env.run(&["-v", "config", "check"]));
    seen.add(&env.run(&["--json", "config", "check"]));
    seen.add(&env.run(&["metrics"]));
    seen.add_catalog(&env);
    if require_tool("restic") {
        seen.add_text(&crate::util::file_via_restic(
            &env,
            "/.dxbackup/dxbackup.toml",
        ));
    }
    seen.assert_no_secret();
}

/// Rows of the catalog's `alerts_sent` for `channel`: (kind, ok, attempts, error).
fn alerts_sent(env: &Env, channel: &str) -> Vec<(String, bool, u32, Option<String>)> {
    let db = rusqlite::Connection::open_with_flags(
        env.path("state").join("catalog.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut q = db
        .prepare("SELECT kind, ok, attempts, error FROM alerts_sent WHERE channel = ?1 ORDER BY id")
        .unwrap();
    q.query_map([channel], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

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

#[test]
fn alert_test_over_starttls_with_auth_and_a_channel_down() {
    let Some(smtp) = SmtpSink::start(SmtpMode::Starttls, Some((SMTP_USER, SMTP_PASSWORD))) else {
        return;
    };
    let http = HttpSink::start();
    let env = Env::new();
    let mut seen = Seen::default();
    write_secrets(&env, &http);
    fs::write(env.path("wrong-pw"), "not the password\n").unwrap();
    let channels = format!(
        "{}{}[alert.hook]\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [alert.ding]\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret-file = \"ding-secret\"\n\n\
         [alert.down]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{}/x?token={HOOK_TOKEN}\"\ntimeout = \"3s\"\nretries = 0\n",
        mail_channel("mail", &smtp, "starttls", Some("smtp-pw")),
        mail_channel("badpw", &smtp, "starttls", Some("wrong-pw")),
        http.url(&format!("/hook?token={HOOK_TOKEN}")),
        http.url(&format!("/robot/send?access_token={DING_TOKEN}")),
        free_port()
    );
    write_config(&env, "1h", &channels);
    env.ok(&["init"]);

    let out = env.expect(2, &["-v", "alert", "test"]);
    seen.add(&out);
    assert!(out.stdout.contains("mail (email): sent"), "{out}");
    assert!(out.stdout.contains("hook (webhook): sent"), "{out}");
    assert!(out.stdout.contains("ding (dingtalk): sent"), "{out}");
    assert!(out.stdout.contains("badpw (email): FAILED"), "{out}");
    assert!(out.stdout.contains("down (webhook): FAILED"), "{out}");
    let mails = smtp.mails();
    assert_eq!(
        mails.len(),
        1,
        "only the right password gets in\n{}",
        smtp.log()
    );
    assert_eq!(mails[0].header("X-Sink-TLS").as_deref(), Some("True"));
    assert_eq!(mails[0].header("X-Sink-Auth").as_deref(), Some("True"));
    assert!(mails[0].text.contains("test"), "{}", mails[0].text);
    assert_eq!(http.at("/hook").len(), 1);
    assert_dingtalk_signed(&http.at("/robot/send")[0]);

    // One channel only.
    let out = env.ok(&["--json", "alert", "test", "hook"]);
    seen.add(&out);
    let v = json_of(&out);
    assert_eq!(v.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(v[0]["ok"], true);
    assert_eq!(http.at("/hook").len(), 2);
    assert_eq!(smtp.mails().len(), 1);
    let out = env.expect(2, &["alert", "test", "nosuch"]);
    assert!(out.stderr.contains("no channel `nosuch`"), "{out}");
    assert!(alerts_sent(&env, "mail")
        .iter()
        .all(|r| r.0 == "test" && r.1));
    seen.add_catalog(&env);
    seen.assert_no_secret();
}

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
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    let log = fs::read_to_string(env.path("daemon.log")).unwrap();
    assert!(status.success(), "daemon: {status}\n{log}");
    let mut seen = Seen::default();
    seen.add_text(&log);
    seen.add_catalog(&env);
    seen.assert_no_secret();
}

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
