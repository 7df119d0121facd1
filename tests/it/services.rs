//! Real servers for the tests, each on 127.0.0.1 and a free port: `MariaDb` (one shared per
//! test run, binlog on), and per test, killed on drop, `Sshd` (own host key, own config, key
//! auth only) and `S3` (moto's standalone server), plus `Proxy`, a TCP forwarder whose cable
//! the test can pull and plug back in; `SmtpSink` (aiosmtpd) and `HttpSink` (a recording HTTP
//! server) receive the alerts.

mod http_sink;
mod mariadb;
mod proxy;
mod smtp_sink;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use http_sink::{HttpSink, Request};
pub use mariadb::{MariaDb, USER, USER_PASSWORD};
pub use proxy::Proxy;
pub use smtp_sink::{SmtpMode, SmtpSink};

use crate::util::require_tool;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within 30 s");
}

/// Spawns a server that dies with the test process even if a test aborts without unwinding.
fn spawn(cmd: &mut Command) -> Child {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
    // which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// SIGKILLs a process and every descendant (sshd forks one process per connection).
pub fn kill_tree(pid: u32) {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // Field 4 is the parent pid; the command name (field 2) may hold spaces.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(parent) && !all.contains(&child) {
                all.push(child);
            }
        }
        i += 1;
    }
    for p in all {
        // SAFETY: kill(2) has no memory preconditions; the pids are the tree just read.
        unsafe { libc::kill(p as i32, libc::SIGKILL) };
    }
}

/// Processes named `ssh` whose command line mentions `needle`.
pub fn ssh_processes(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_ssh = args
            .first()
            .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "ssh"));
        let line = args.join(" ");
        if is_ssh && line.contains(needle) {
            out.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
        }
    }
    out
}

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub user: String,
    child: Option<Child>,
}

impl Sshd {
    /// `None` (test skipped) when sshd is missing outside CI; under CI=true that fails.
    pub fn start() -> Option<Self> {
        if !Path::new("/usr/sbin/sshd").exists() && !require_tool("sshd") {
            return None;
        }
        if !require_tool("ssh-keygen") || !require_tool("ssh") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host_key", "client_key"] {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .status()
                .unwrap()
                .success();
            assert!(ok, "ssh-keygen failed");
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let mut fields = host_pub.split_whitespace();
        let (kind, key) = (fields.next().unwrap(), fields.next().unwrap());
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {kind} {key}\n"),
        )
        .unwrap();
        let sftp_server = ["/usr/lib/openssh/sftp-server", "/usr/libexec/sftp-server"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("internal-sftp");
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\n\
                 AuthorizedKeysFile {ak}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
                 MaxStartups 100\nMaxSessions 100\nLogLevel ERROR\nSubsystem sftp {sftp_server}\n",
                hk = d.join("host_key").display(),
                pid = d.join("sshd.pid").display(),
                ak = d.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        // sshd refuses to start without its privilege separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        // The `ssh` that dxbackup (through OpenDAL) runs: the real one, told to trust only this
        // server's host key, so the tests check host keys strictly and leave ~/.ssh alone.
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let real = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v ssh"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        crate::util::put(
            &bin.join("ssh"),
            format!(
                "#!/bin/sh\nexec {} -o UserKnownHostsFile={} \"$@\"\n",
                real.trim(),
                d.join("known_hosts").display()
            )
            .as_bytes(),
            0o755,
        );
        let mut s = Self {
            dir,
            port,
            user,
            child: None,
        };
        s.restart();
        Some(s)
    }

    /// Starts the server (again, after `kill`) on the same port with the same keys.
    pub fn restart(&mut self) {
        let sshd = if Path::new("/usr/sbin/sshd").exists() {
            "/usr/sbin/sshd".to_string()
        } else {
            "sshd".to_string()
        };
        let mut child = spawn(
            Command::new(sshd)
                .args(["-D", "-e", "-f"])
                .arg(self.dir.path().join("sshd_config"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        wait_for_port(self.port, "sshd", &mut child);
        self.child = Some(child);
    }

    /// The server and every connection it serves die at once: the network is gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_tree(c.id());
            let _ = c.wait();
        }
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// Prepended to PATH for dxbackup: the `ssh` wrapper with this server's known_hosts.
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    pub fn url(&self, path: &Path) -> String {
        format!(
            "sftp://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    /// The TOML of a repository entry on this server.
    pub fn repo_toml(&self, name: &str, path: &Path, extra: &str) -> String {
        format!(
            "\n[repository.{name}]\nurl = \"{}\"\npassword-file = \"pw\"\nssh-key = \"{}\"\nmedium = \"nas\"\nauto-init = true\ntimeout = \"20s\"\nretries = 1\n{extra}\n",
            self.url(path),
            self.client_key().display()
        )
    }

    /// restic's `-r` and `-o` options for a repository on this server.
    pub fn restic_args(&self, path: &Path) -> Vec<String> {
        vec![
            "-r".into(),
            format!("sftp:{}@127.0.0.1:{}", self.user, path.display()),
            "-o".into(),
            format!(
                "sftp.command=ssh -p {} -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes {}@127.0.0.1 -s sftp",
                self.port,
                self.client_key().display(),
                self.user
            ),
        ]
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where moto_server is: $DXBACKUP_TEST_MOTO, the venv scripts/test makes, or PATH.
fn moto_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DXBACKUP_TEST_MOTO").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    require_tool("moto_server").then(|| PathBuf::from("moto_server"))
}

pub struct S3 {
    pub port: u16,
    child: Child,
}

pub const S3_KEY_ID: &str = "AKIATESTDXBACKUP";
pub const S3_SECRET: &str = "moto-secret-never-printed";

impl S3 {
    pub fn start() -> Option<Self> {
        let moto = moto_server()?;
        let port = free_port();
        let mut child = spawn(
            Command::new(&moto)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        wait_for_port(port, "moto_server", &mut child);
        Some(Self { port, child })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto accepts unsigned requests).
    pub fn create_bucket(&self, bucket: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "create bucket: {reply}");
    }

    /// The TOML of a repository entry in `bucket` at `prefix`, reached through `endpoint`.
    pub fn repo_toml(
        &self,
        name: &str,
        bucket: &str,
        prefix: &str,
        endpoint: &str,
        keyfile: &Path,
    ) -> String {
        format!(
            "\n[repository.{name}]\nurl = \"s3://{bucket}/{prefix}\"\nendpoint = \"{endpoint}\"\naccess-key-file = \"{}\"\npassword-file = \"pw\"\nmedium = \"cloud\"\noffsite = true\nauto-init = true\ntimeout = \"20s\"\nretries = 1\n",
            keyfile.display()
        )
    }

    /// Writes a key file in the `KEY_ID:SECRET` form.
    pub fn write_key_file(path: &Path) {
        crate::util::put(path, format!("{S3_KEY_ID}:{S3_SECRET}\n").as_bytes(), 0o600);
    }

    /// restic's repository argument and environment for a prefix in a bucket.
    pub fn restic_repo(&self, bucket: &str, prefix: &str) -> String {
        format!("s3:{}/{bucket}/{prefix}", self.endpoint())
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        kill_tree(self.child.id());
        let _ = self.child.wait();
    }
}
