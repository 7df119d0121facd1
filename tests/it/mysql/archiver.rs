//! The binlog archiver as an operator lives with it: SIGTERM stores what was read and leaves no
//! reader behind, a server that is down (at the start, or for 30 s) is waited for and resumed
//! without a gap, every stored part is shown, and `status` notices when no archiver reports.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use super::{env_for, processes, wait_for_archive};
use crate::services::MariaDb;
use crate::util::Env;

/// `dxbackup binlog db` in the background, its stdout and stderr in files.
struct Running {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Running {
    fn start(env: &Env, args: &[&str]) -> Self {
        let (out, err) = (env.path("archiver.out"), env.path("archiver.err"));
        let child = env
            .cmd(args)
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Self { child, out, err }
    }
    fn stdout(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }
    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }
    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
    /// Sends SIGTERM; returns the exit code and how long the stop took.
    fn terminate(&mut self) -> (Option<i32>, Duration) {
        let t0 = Instant::now();
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        wait_until(
            "the archiver exits after SIGTERM",
            Duration::from_secs(60),
            || !self.alive(),
        );
        (self.child.wait().unwrap().code(), t0.elapsed())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out ({timeout:?}): {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The binlog readers writing into `spool`, found by their command line.
fn readers(spool: &Path) -> Vec<(i32, String)> {
    let needle = spool.display().to_string();
    processes()
        .into_iter()
        .filter(|(_, cmd)| cmd.starts_with("mariadb-binlog") && cmd.contains(&needle))
        .collect()
}

fn master_status(db: &MariaDb) -> (String, u64) {
    let status = db.sql("SHOW MASTER STATUS");
    let mut it = status.split('\t');
    let file = it.next().unwrap().to_string();
    (file, it.next().unwrap().parse().unwrap())
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn sigterm_stores_what_was_read_and_leaves_no_reader() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    db.sql("DROP DATABASE IF EXISTS it_term; CREATE DATABASE it_term; CREATE TABLE it_term.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(50));");
    let env = env_for(db, "[\"it_term\"]");
    // One flush an hour: what is read after the start can only be stored by the final flush.
    let toml = db.source_toml("db", "[\"it_term\"]", &env.path("dbpw"));
    env.write_sources(&toml.replace("binlog-flush = \"1s\"", "binlog-flush = \"1h\""));
    env.ok(&["backup"]);
    let spool = env.path("state/binlog/db");
    let mut archiver = Running::start(&env, &["binlog", "db"]);
    wait_until("the reader runs", Duration::from_secs(30), || {
        !readers(&spool).is_empty()
    });
    db.sql("INSERT INTO it_term.t(v) VALUES ('read before the signal')");
    let (file, pos) = master_status(db);
    wait_until(
        "the reader spooled the insert",
        Duration::from_secs(30),
        || fs::metadata(spool.join(&file)).is_ok_and(|m| m.len() >= pos),
    );
    assert_eq!(mode(&spool), 0o700, "the spool holds row data");
    assert_eq!(mode(&spool.join(&file)), 0o600, "the spool holds row data");

    let (code, took) = archiver.terminate();
    eprintln!("SIGTERM to exit: {took:?}");
    assert_eq!(code, Some(0), "a clean stop\n{}", archiver.stderr());
    wait_until("no reader left", Duration::from_secs(5), || {
        readers(&spool).is_empty()
    });
    let out = archiver.stdout();
    assert!(
        out.contains(&format!("db: {file} ")) && out.contains(", snapshot "),
        "one line per stored part\n{out}"
    );
    // The final flush stored it: the archive reaches the position now, without waiting.
    let started = Instant::now();
    wait_for_archive(&env, db);
    assert!(started.elapsed() < Duration::from_secs(5), "already stored");
}

#[test]
fn archiver_waits_for_its_server_and_outlives_a_30s_outage_without_a_gap() {
    let Some(db) = MariaDb::shared() else { return };
    let _only_me = db.exclusive();
    db.sql("DROP DATABASE IF EXISTS it_outage; CREATE DATABASE it_outage; CREATE TABLE it_outage.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(50));");
    let env = env_for(db, "[\"it_outage\"]");
    env.ok(&["backup"]);

    // Started while the server is down: it waits, saying so, and archives once it is up.
    db.kill();
    let mut archiver = Running::start(&env, &["binlog", "db"]);
    wait_until(
        "two failed attempts reported",
        Duration::from_secs(30),
        || archiver.stderr().contains("attempt 2 failed"),
    );
    assert!(archiver.alive(), "{}", archiver.stderr());
    db.spawn();
    db.sql("INSERT INTO it_outage.t(v) VALUES ('after the late start')");
    wait_for_archive(&env, db);

    // Down for 30 s, with writes just before that may not have been stored yet.
    db.sql("INSERT INTO it_outage.t(v) VALUES ('just before the outage')");
    db.kill();
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(30) {
        assert!(archiver.alive(), "{}", archiver.stderr());
        std::thread::sleep(Duration::from_millis(500));
    }
    db.spawn();
    let up = Instant::now();
    db.sql("INSERT INTO it_outage.t(v) VALUES ('after the outage')");
    wait_for_archive(&env, db);
    eprintln!(
        "archived again {:?} after the server was back",
        up.elapsed()
    );
    assert!(archiver.alive(), "no manual restart\n{}", archiver.stderr());
    let err = archiver.stderr();
    eprintln!("{err}");
    assert!(
        err.contains("connected to 127.0.0.1:") && err.contains(" again after "),
        "{err}"
    );

    let out = env.ok(&["restore-db", "db", "--into", "it_outage_restored"]);
    assert!(!out.stdout.contains("gap"), "{out}");
    assert_eq!(
        db.fingerprint("it_outage_restored"),
        db.fingerprint("it_outage"),
        "{out}"
    );
    let (code, _) = archiver.terminate();
    assert_eq!(code, Some(0), "{}", archiver.stderr());
}

#[test]
fn status_warns_when_no_archiver_reports_and_json_prints_one_document() {
    let Some(db) = MariaDb::shared() else { return };
    let _shared = db.share();
    db.sql("CREATE DATABASE IF NOT EXISTS it_beat; CREATE TABLE IF NOT EXISTS it_beat.t (id INT PRIMARY KEY);");
    let env = env_for(db, "[\"it_beat\"]");
    let toml = db.source_toml("db", "[\"it_beat\"]", &env.path("dbpw"));
    env.write_sources(&format!("{toml}binlog = true\n"));
    env.ok(&["backup"]);
    let out = env.run(&["status"]);
    assert!(
        out.stdout
            .contains("binlog archiver not running (never reported): start 'dxbackup binlog db'"),
        "{out}"
    );

    // Reporting every flush (1 s): no such warning.
    let mut archiver = Running::start(&env, &["binlog", "db"]);
    wait_until("status sees the archiver", Duration::from_secs(60), || {
        !env.run(&["status"])
            .stdout
            .contains("binlog archiver not running")
    });
    archiver.terminate();

    // --json: progress on stderr, one document on stdout.
    let out = env.ok(&["--json", "binlog", "db", "--duration", "2s"]);
    let summary: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("one JSON document: {e}\n{out}"));
    assert_eq!(summary["source"], "db", "{out}");
    assert!(summary["error"].is_null(), "{out}");

    // Silent for more than two flushes: a warning, exposure no longer from the heartbeat.
    wait_until(
        "status notices the silence",
        Duration::from_secs(30),
        || {
            env.run(&["status"])
                .stdout
                .contains("binlog archiver not running (last report ")
        },
    );
    let out = env.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(!v["sources"][0]["last_binlog_event"].is_null(), "{out}");
}
