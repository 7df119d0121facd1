//! Restoring a physical full: the stream extracted into a new data directory (`mbstream -x`),
//! prepared (`mariabackup --prepare`: crash recovery up to the copy's point), then served by
//! a throwaway `mariadbd` (binlogs replayed into it, drills compared against it), or moved
//! into a stopped server's data directory.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::super::replay::{self, Replay, Until};
use super::super::{die_with_parent, spawn_tool, Flavor, MysqlError, Result, Server};

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> MysqlError {
    let context = context.into();
    move |source| MysqlError::Io { context, source }
}

/// Extracts the stream written by `write` (the repository's bytes) into `dir`.
pub fn extract(
    dir: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    let mut cmd = Command::new("mbstream");
    cmd.arg("-x").arg("-C").arg(dir);
    let (mut child, stderr) = spawn(&mut cmd, Stdio::piped())?;
    let mut stdin = child.stdin.take().expect("piped");
    let written = write(&mut stdin);
    drop(stdin);
    finish(child, stderr, "mbstream")?;
    written.map_err(io("streaming the backup into mbstream"))
}

/// `mariabackup --prepare`: applies the copied redo log, so the files are a consistent
/// server state at the backup's point.
pub fn prepare(dir: &Path) -> Result<()> {
    let mut cmd = Command::new("mariabackup");
    cmd.arg("--no-defaults")
        .arg("--prepare")
        .arg(format!("--target-dir={}", dir.display()));
    let (child, stderr) = spawn(&mut cmd, Stdio::null())?;
    let err = finish(child, stderr, "mariabackup --prepare")?;
    if !err.contains("completed OK!") {
        return Err(MysqlError::tool(
            "mariabackup --prepare",
            "did not say \"completed OK!\"",
            &err,
        ));
    }
    Ok(())
}

/// A mariadb-backup tool, as every client tool is started (it dies with us).
fn spawn(cmd: &mut Command, stdin: Stdio) -> Result<(Child, std::thread::JoinHandle<String>)> {
    spawn_tool(cmd, stdin, Stdio::null()).map_err(|e| match e {
        MysqlError::Io { source, .. } => MysqlError::Io {
            context: format!(
                "cannot run {} (install the mariadb-backup package)",
                cmd.get_program().to_string_lossy()
            ),
            source,
        },
        other => other,
    })
}

/// Waits for a tool; its stderr, or an error carrying its tail when it failed.
fn finish(mut child: Child, stderr: std::thread::JoinHandle<String>, tool: &str) -> Result<String> {
    let status = child
        .wait()
        .map_err(io(format!("cannot wait for {tool}")))?;
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(MysqlError::tool(tool, status.to_string(), &err));
    }
    Ok(err)
}

/// How a throwaway server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A private socket only and no grant checks: for replaying binlogs and drills, where
    /// the restored server's own users may lack the rights (or their passwords be unknown).
    Private,
    /// TCP on 127.0.0.1:`port` with the restored server's own users and passwords.
    Serve(u16),
}

/// A `mariadbd` on a restored data directory, stopped on drop.
pub struct Sandbox {
    child: Option<Child>,
    pub datadir: PathBuf,
    pub socket: PathBuf,
    pub port: Option<u16>,
    log: PathBuf,
    /// A private server's relay log directory: binlogs are replayed as relay logs there.
    relay_dir: Option<PathBuf>,
}

impl Sandbox {
    /// Starts `mariadbd` on `datadir`, its socket, pid file and log in `run_dir`, and waits
    /// until it answers (at most 5 minutes: crash recovery of a big buffer).
    pub fn start(datadir: &Path, run_dir: &Path, access: Access) -> Result<Self> {
        std::fs::create_dir_all(run_dir)
            .map_err(io(format!("cannot create {}", run_dir.display())))?;
        let _ = std::fs::set_permissions(run_dir, std::fs::Permissions::from_mode(0o700));
        let socket = run_dir.join("mysqld.sock");
        let log = run_dir.join("mysqld.log");
        let mut cmd = Command::new(mariadbd());
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!(
                "--pid-file={}",
                run_dir.join("mysqld.pid").display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .arg("--skip-log-bin")
            .arg("--innodb-buffer-pool-size=256M")
            // One transaction's row events replay as one statement (see replay.rs).
            .arg("--max-allowed-packet=1G");
        if crate::is_root() {
            cmd.arg("--user=root");
        }
        let mut relay_dir = None;
        let port = match access {
            Access::Private => {
                cmd.args(["--skip-networking", "--skip-grant-tables"]);
                // Ready to replay binlogs as relay logs (relay.rs); the replication state files
                // stay in the run directory, so the data directory is served or installed
                // without them. Every event is applied whatever server id it carries.
                let relay = run_dir.join("relay");
                std::fs::create_dir_all(&relay)
                    .map_err(io(format!("cannot create {}", relay.display())))?;
                cmd.arg(format!(
                    "--relay-log={}",
                    relay.join(super::relay::BASE).display()
                ))
                .arg(format!(
                    "--relay-log-index={}",
                    relay
                        .join(format!("{}.index", super::relay::BASE))
                        .display()
                ))
                .arg(format!(
                    "--master-info-file={}",
                    run_dir.join("master.info").display()
                ))
                .arg(format!(
                    "--relay-log-info-file={}",
                    run_dir.join("relay-log.info").display()
                ))
                .args(["--skip-slave-start", "--replicate-same-server-id"]);
                relay_dir = Some(relay);
                // Binlog replay commits once per source transaction; a flush per commit made
                // 300,000 archived transactions take minutes. Safe here: a private server is
                // only ever stopped cleanly (which writes everything) before its directory is
                // served or installed, and one that dies takes its restore down with it.
                cmd.arg("--innodb-flush-log-at-trx-commit=0");
                // Scratch, never left running: it dies with us, as every tool does. A served
                // one is meant to outlive the restore.
                die_with_parent(&mut cmd);
                None
            }
            Access::Serve(port) => {
                cmd.arg("--bind-address=127.0.0.1")
                    .arg(format!("--port={port}"));
                Some(port)
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io("cannot run mariadbd (install mariadb-server)"))?;
        let sandbox = Self {
            child: Some(child),
            datadir: datadir.to_path_buf(),
            socket,
            port,
            log,
            relay_dir,
        };
        sandbox.wait_ready()?;
        Ok(sandbox)
    }

    fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if self.server().connect_with(Duration::from_secs(5)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failed("did not answer within 5 minutes"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn failed(&self, what: &str) -> MysqlError {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        MysqlError::tool("mariadbd", what, &log)
    }

    /// The sandbox as a server to talk to (over its private socket, as root).
    pub fn server(&self) -> Server {
        Server {
            host: None,
            port: 3306,
            socket: Some(self.socket.clone()),
            user: "root".into(),
            password: None,
        }
    }

    /// Replays `binlogs` (extracted, named as on the source, in order) from byte `start` of the
    /// first up to `until`: as relay logs by the server itself when it is a private one (much
    /// faster, see relay.rs), else (a GTID bound, a served one, or
    /// `DXBACKUP_BINLOG_APPLY=client`) through `mariadb-binlog | mariadb` in one session.
    pub fn replay(&self, binlogs: Vec<PathBuf>, start: u64, until: &Until) -> Result<()> {
        if binlogs.is_empty() {
            return Ok(());
        }
        let client = std::env::var("DXBACKUP_BINLOG_APPLY").is_ok_and(|v| v == "client");
        let t = Instant::now();
        let server = self.server();
        let relay = match (&self.relay_dir, client) {
            (Some(dir), false) => super::relay::replay(&server, dir, &binlogs, start, until)?,
            _ => None,
        };
        if let Some(done) = relay {
            tracing::info!(
                files = done.files,
                cut = ?done.cut,
                torn_tail = done.torn_tail,
                secs = t.elapsed().as_secs_f64(),
                "binlogs replayed as relay logs"
            );
            return Ok(());
        }
        let r = Replay {
            server: &server,
            flavor: Flavor::MariaDb,
            source_db: "",
            into: "",
            binlogs,
            start_position: start,
            until: until.clone(),
        };
        replay::apply(&r, |_| Ok(()))?;
        tracing::info!(
            secs = t.elapsed().as_secs_f64(),
            "binlogs replayed through mariadb-binlog"
        );
        Ok(())
    }

    /// Stops the server cleanly (so the data directory is consistent for whoever comes next).
    pub fn shutdown(mut self) -> Result<()> {
        self.stop()
    }

    /// Leaves the server running (a `--serve` restore); returns its pid.
    pub fn detach(mut self) -> u32 {
        let child = self.child.take().expect("running");
        let pid = child.id();
        std::mem::forget(child);
        pid
    }

    fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill on our own child, not yet reaped; SIGTERM is mariadbd's clean stop.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(self.failed("did not stop within 2 minutes; killed"))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Where `mariadbd` is: Debian keeps it in /usr/sbin, which is not on every user's PATH.
fn mariadbd() -> PathBuf {
    let sbin = Path::new("/usr/sbin/mariadbd");
    if sbin.exists() {
        sbin.to_path_buf()
    } else {
        PathBuf::from("mariadbd")
    }
}

/// Moves a prepared data directory into `target` (a stopped server's): the old contents go
/// aside to `TARGET.before-restore-TIME` (never deleted), ownership follows `target`'s own
/// (or the `mysql` user's), directories 0750 and files 0640 like a fresh install.
pub fn install(prepared: &Path, target: &Path) -> Result<PathBuf> {
    let pid = target.join(format!("{}.pid", crate::host_name()));
    if pid.exists() || target.join("mysql.sock").exists() {
        return Err(MysqlError::Invalid(format!(
            "{} looks in use by a running server ({} exists); stop the server first",
            target.display(),
            pid.display()
        )));
    }
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(target).ok().map(|m| (m.uid(), m.gid()));
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S").to_string();
    let aside = PathBuf::from(format!("{}.before-restore-{stamp}", target.display()));
    if target.exists() {
        std::fs::rename(target, &aside)
            .map_err(io(format!("cannot move {} aside", target.display())))?;
    }
    if std::fs::rename(prepared, target).is_err() {
        // Another file system: copy, then the prepared folder goes with the scratch space.
        copy_tree(prepared, target)?;
    }
    if let Some((uid, gid)) = owner {
        for e in walkdir::WalkDir::new(target).into_iter().flatten() {
            let _ = std::os::unix::fs::lchown(e.path(), Some(uid), Some(gid));
            let mode = if e.file_type().is_dir() { 0o750 } else { 0o640 };
            let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode));
        }
    }
    Ok(aside)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for e in walkdir::WalkDir::new(from).into_iter() {
        let e = e.map_err(|e| MysqlError::Invalid(e.to_string()))?;
        let rel = e.path().strip_prefix(from).expect("below the root");
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest)
                .map_err(io(format!("cannot create {}", dest.display())))?;
        } else {
            std::fs::copy(e.path(), &dest)
                .map_err(io(format!("cannot copy to {}", dest.display())))?;
        }
    }
    Ok(())
}

/// A free TCP port on 127.0.0.1 for a served sandbox.
pub fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io("cannot find a free port"))
}
