//! Monitoring and alerts end to end, against real receivers on 127.0.0.1: aiosmtpd for the
//! mail (plain with AUTH, and STARTTLS with its own certificate), a recording HTTP server for
//! DingTalk (signature checked with the secret), WeCom, Slack, the webhook and the dead man's
//! ping, `promtool` for the metrics and the shipped rules, and the daemon's monitor job. No
//! secret of any channel may show in stdout, stderr, `--json`, the catalog or the snapshot.

use std::fs;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::services::{free_port, HttpSink, Request, SmtpMode, SmtpSink};
use crate::util::{require_tool, Env, Out};

mod daemon;
mod metrics;
mod runs;

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
    // Both findings the age makes critical, the source's and the repository's (under load the
    // second may turn a moment later, and would then be a new alert of the next monitor).
    wait_until(60, "the backup to be older than the 1 s RPO", || {
        let v = json_of(&env.run(&["--json", "status"]));
        let findings = v["findings"].as_array().unwrap();
        ["freshness:tree", "repo-age:main"].iter().all(|key| {
            findings
                .iter()
                .any(|f| f["key"] == *key && f["severity"] == "critical")
        })
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
