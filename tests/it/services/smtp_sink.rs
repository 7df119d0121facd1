//! `SmtpSink`: aiosmtpd (PyPI, in the test venv) on 127.0.0.1 and a free port, writing each
//! message it accepts to a folder (`smtp_sink.py`); plain or STARTTLS-only with its own
//! self-signed certificate, AUTH required when a user is given. Killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{free_port, kill_tree, spawn, wait_for_port};

const SCRIPT: &str = include_str!("smtp_sink.py");

/// A Python that imports aiosmtpd: $DXBACKUP_TEST_SMTPD_PYTHON, the venv scripts/test makes,
/// or python3. `None` (skip) when there is none; under CI=true that fails.
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DXBACKUP_TEST_SMTPD_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
    for p in [venv, PathBuf::from("python3")] {
        let ok = Command::new(&p)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(p);
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "aiosmtpd is required under CI=true; scripts/test installs it into target/test-venv"
    );
    eprintln!("SKIPPED: no Python with aiosmtpd (scripts/test installs it)");
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    Plain,
    Starttls,
}

/// One message as received: the sink's `X-Sink-*` lines, then the message itself.
#[derive(Debug, Clone)]
pub struct Mail {
    pub text: String,
}

impl Mail {
    /// The first header `name` (of the sink's or the message's own).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.text
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }
}

pub struct SmtpSink {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl SmtpSink {
    /// `user` `None`: no AUTH offered; otherwise AUTH required with `user` and `password`.
    pub fn start(mode: SmtpMode, login: Option<(&str, &str)>) -> Option<Self> {
        let python = python()?;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("smtp_sink.py");
        std::fs::write(&script, SCRIPT).unwrap();
        let port = free_port();
        let (user, password) = login.unwrap_or(("-", "-"));
        let mode_arg = match mode {
            SmtpMode::Plain => "none",
            SmtpMode::Starttls => "starttls",
        };
        let mut child = spawn(
            Command::new(python)
                .arg(&script)
                .arg(port.to_string())
                .arg(dir.path().join("mail"))
                .args([mode_arg, user, password])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("smtpd.log")).unwrap()),
        );
        wait_for_port(port, "aiosmtpd", &mut child);
        Some(Self { dir, port, child })
    }

    /// The server's certificate (STARTTLS mode), for the channel's `ca-file`.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("smtp-cert.pem")
    }

    /// Every message received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .map(|p| Mail {
                text: std::fs::read_to_string(p).unwrap(),
            })
            .collect()
    }

    /// What the server logged (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("smtpd.log")).unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        kill_tree(self.child.id());
        let _ = self.child.wait();
    }
}
