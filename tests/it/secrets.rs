//! The secret sweep: every secret the tool knows, each a unique marker, looked for everywhere
//! it could leak while every command runs (`-vv` and `--json`): the argv and environment of
//! dxbackup and its children, stdout and stderr, every file of the state directory (the
//! catalog's rows read through SQLite too), the config stored in snapshots, the report files
//! and the dashboard's pages.

mod look;
mod watch;

use std::fs;

use crate::services::{HttpSink, MariaDb, SmtpMode, SmtpSink, Sshd, S3};
use crate::util::{put, require_tool, Env, Out};

const REPO_PW: &str = "sweep-repo-file-pw-K7f2Qx";
const CMD_PW: &str = "sweep-repo-command-pw-R4n8Zt";
const DB_PW: &str = "sweep-db-pw-W3j9Lm";
const S3_ID: &str = "AKIASWEEPMARK4Q7";
const S3_SECRET: &str = "sweep-s3-secret-P2v6Hc";
const SMTP_PW: &str = "sweep-smtp-pw-T8d1Ny";
const DING_TOKEN: &str = "sweep-ding-token-F6s0Ka";
const DING_SECRET: &str = "SECsweep-ding-secret-B9x4Ue";
const WECOM_KEY: &str = "sweep-wecom-key-J1c7Wo";
const SLACK_SECRET: &str = "sweep-slack-secret-M5q2Ri";
const HOOK_TOKEN: &str = "sweep-hook-token-G3z8Pn";
const HOOK_HEADER: &str = "sweep-hook-header-V0e6Yd";
const WEB_TOKEN: &str = "sweep-web-token-L4h9Ts";

const DB_USER: &str = "dxsweep";
const DB: &str = "it_sweep";

/// Every marker, and a line of the SSH private key's body (a path is no secret, the key is).
fn markers(sshd: &Sshd) -> Vec<String> {
    let key = fs::read_to_string(sshd.client_key()).unwrap();
    let key_line = key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .max_by_key(|l| l.len())
        .unwrap()
        .to_string();
    let mut all: Vec<String> = [
        REPO_PW,
        CMD_PW,
        DB_PW,
        S3_ID,
        S3_SECRET,
        SMTP_PW,
        DING_TOKEN,
        DING_SECRET,
        // The signing secret without its prefix, in case it were shown in parts.
        &DING_SECRET[3..],
        WECOM_KEY,
        SLACK_SECRET,
        HOOK_TOKEN,
        HOOK_HEADER,
        WEB_TOKEN,
    ]
    .map(String::from)
    .into();
    all.push(key_line);
    all
}

/// Panics naming the marker and where it showed.
fn assert_clean(markers: &[String], what: &str, text: &str) {
    for m in markers {
        if let Some(at) = text.find(m.as_str()) {
            let from = at.saturating_sub(200);
            let context: String = text[from..].chars().take(400).collect();
            panic!("secret `{m}` leaked in {what}:\n...{context}...");
        }
    }
}

/// The config: local primary (password-file), SFTP copy target (password-command), S3 copy
/// target (key file), a files and a mysql source, every alert channel, the dashboard.
fn configure(env: &Env, db: &MariaDb, sshd: &Sshd, s3: &S3, smtp: &SmtpSink, http: &HttpSink) {
    let secret =
        |name: &str, text: &str| put(&env.path(name), format!("{text}\n").as_bytes(), 0o600);
    secret("pw", REPO_PW);
    secret("cmd-pw", CMD_PW);
    secret("dbpw", DB_PW);
    secret("s3-keys", &format!("{S3_ID}:{S3_SECRET}"));
    secret("smtp-pw", SMTP_PW);
    secret("ding-secret", DING_SECRET);
    secret(
        "wecom-url",
        &http.url(&format!("/wecom/send?key={WECOM_KEY}")),
    );
    secret(
        "slack-url",
        &http.url(&format!("/slack/T0/B0/{SLACK_SECRET}")),
    );
    secret("web.token", WEB_TOKEN);
    put(&env.src().join("conf/core.json"), b"{\"core\": {}}", 0o644);
    put(&env.src().join("job/orders.json"), b"{\"job\": {}}", 0o644);

    let nas = sshd.repo_toml("nas", &env.path("nas-repo"), "").replace(
        "password-file = \"pw\"",
        &format!(
            "password-command = \"cat {}\"",
            env.path("cmd-pw").display()
        ),
    );
    let cloud = s3.repo_toml(
        "cloud",
        "dx-sweep",
        "prod",
        &s3.endpoint(),
        &env.path("s3-keys"),
    );
    let source = db
        .source_toml("db", &format!("[\"{DB}\"]"), &env.path("dbpw"))
        .replace("user = \"dxb\"", &format!("user = \"{DB_USER}\""));
    let crit = "min-severity = \"critical\"\ntimeout = \"10s\"\n";
    env.write_config(&format!(
        "{nas}{cloud}\n{source}\n\
         [alert.mail]\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"starttls\"\n\
         ca-file = \"{ca}\"\nuser = \"sweeper\"\npassword-file = \"smtp-pw\"\n\
         from = \"dxbackup@example.org\"\nto = [\"ops@example.org\"]\n{crit}\n\
         [alert.hook]\nkind = \"webhook\"\nurl = \"{hook}\"\nheaders = {{ Authorization = \"Bearer {HOOK_HEADER}\" }}\n{crit}\n\
         [alert.ding]\nkind = \"dingtalk\"\nurl = \"{ding}\"\nsecret-file = \"ding-secret\"\n{crit}\n\
         [alert.wecom]\nkind = \"wecom\"\nurl-file = \"wecom-url\"\n{crit}\n\
         [alert.slack]\nkind = \"slack\"\nurl-file = \"slack-url\"\n{crit}\n\
         [web]\nlisten = \"127.0.0.1:0\"\ntoken-file = \"web.token\"\n",
        port = smtp.port,
        ca = smtp.cert().display(),
        hook = http.url(&format!("/hook?token={HOOK_TOKEN}")),
        ding = http.url(&format!("/robot/send?access_token={DING_TOKEN}")),
    ));
    let text = fs::read_to_string(env.config()).unwrap();
    let text = text.replacen(
        "auto-init = true\n",
        "auto-init = true\nprimary = true\n",
        1,
    );
    fs::write(env.config(), text).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    env.set_env("PATH", &format!("{}:{path}", sshd.bin_dir().display()));
}

fn prepare_database(db: &MariaDb) {
    crate::mysql::rich_schema(db, DB);
    db.sql(&format!(
        "DROP USER IF EXISTS '{DB_USER}'@'%'; DROP USER IF EXISTS '{DB_USER}'@'localhost';
         CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_PW}'; GRANT ALL ON *.* TO '{DB_USER}'@'%';
         CREATE USER '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PW}'; GRANT ALL ON *.* TO '{DB_USER}'@'localhost';"
    ));
}

/// Every command, as a user would run it: `-vv` first, then `--json`.
fn commands(env: &Env, first: &str) -> Vec<Vec<String>> {
    let dir = |n: &str| env.path(n).display().to_string();
    let list: Vec<Vec<&str>> = vec![
        vec!["init"],
        vec!["backup"],
        vec!["run"],
        vec!["copy"],
        vec!["snapshots"],
        vec!["snapshots", "--repo", "cloud"],
        vec!["status"],
        vec!["monitor"],
        vec!["alert", "test"],
        vec!["verify"],
        vec!["forget", "--dry-run"],
        vec!["drill"],
        vec!["stats"],
        vec!["config", "check"],
        vec!["log", "conf/core.json"],
        vec!["diff", first, "latest"],
        vec!["metrics"],
    ];
    let mut all: Vec<Vec<String>> = list
        .into_iter()
        .map(|c| c.into_iter().map(String::from).collect())
        .collect();
    for (i, mode) in ["-vv", "--json"].iter().enumerate() {
        let target = dir(&format!("restored-{i}"));
        let html = dir(&format!("report-{i}.html"));
        let md = dir(&format!("report-{i}.md"));
        for extra in [
            vec!["restore", "latest:tree", "--target", &target],
            vec![
                "restore",
                "latest:tree",
                "--repo",
                "nas",
                "--target",
                &format!("{target}-nas"),
            ],
            vec!["report", "--html", &html],
            vec!["report", "--markdown", &md],
        ] {
            let mut c = vec![mode.to_string()];
            c.extend(extra.into_iter().map(String::from));
            all.push(c);
        }
    }
    all
}

#[test]
fn no_secret_shows_in_any_process_output_file_snapshot_or_page() {
    let Some(db) = MariaDb::shared() else { return };
    if !require_tool("restic") {
        return;
    }
    let (Some(sshd), Some(s3)) = (Sshd::start(), S3::start()) else {
        return;
    };
    let Some(smtp) = SmtpSink::start(SmtpMode::Starttls, Some(("sweeper", SMTP_PW))) else {
        return;
    };
    s3.create_bucket("dx-sweep");
    let http = HttpSink::start();
    let _shared = db.share();
    prepare_database(db);
    let env = Env::new();
    configure(&env, db, &sshd, &s3, &smtp, &http);
    let markers = markers(&sshd);
    let watch = watch::Watch::start(markers.clone());
    let check = |out: &Out| assert_clean(&markers, &format!("`{}`", out.args), &format!("{out}"));

    // A first backup, so that every later command has something to show.
    for mode in ["-vv", "--json"] {
        check(&env.ok(&[mode, "init"]));
        check(&env.ok(&[mode, "backup"]));
    }
    let snaps: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "snapshots"]).stdout).unwrap();
    let first = snaps[0]["id"].as_str().unwrap().to_string();
    let mut codes = Vec::new();
    for c in commands(&env, &first) {
        let modes: Vec<&str> = if c[0].starts_with('-') {
            vec![]
        } else {
            vec!["-vv", "--json"]
        };
        let runs: Vec<Vec<&str>> = if modes.is_empty() {
            vec![c.iter().map(String::as_str).collect()]
        } else {
            modes
                .iter()
                .map(|m| {
                    std::iter::once(*m)
                        .chain(c.iter().map(String::as_str))
                        .collect()
                })
                .collect()
        };
        for args in runs {
            let out = env.run(&args);
            check(&out);
            codes.push(format!("{}: {}", out.args, out.code));
            assert!(out.code <= 2 && out.code >= 0, "{out}");
        }
    }
    // The alerts went out (so their secrets were used), and through the right doors.
    assert!(!smtp.mails().is_empty(), "no mail sent\n{}", smtp.log());
    assert!(!http.at("/robot/send").is_empty(), "{codes:?}");

    look::dashboard(&env, &markers);
    let seen = watch.stop();
    assert!(seen.leaks.is_empty(), "{:#?}", seen.leaks);
    for tool in ["dxbackup", "mariadb-dump", "ssh"] {
        assert!(
            seen.commands.contains(tool),
            "the sampler never saw {tool}: {:?}",
            seen.commands
        );
    }
    for i in 0..2 {
        for f in [format!("report-{i}.html"), format!("report-{i}.md")] {
            let text = fs::read_to_string(env.path(&f)).unwrap();
            assert_clean(&markers, &f, &text);
        }
    }
    look::state_dir(&env, &markers);
    look::catalog(&env, &markers);
    look::stored_configs(&env, &markers);
}
