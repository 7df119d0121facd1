//! Keeping the `ssh` processes of SFTP repositories on a leash. OpenDAL's SFTP service (through
//! the `openssh` crate) starts one `ssh` ControlMaster per pooled connection, daemonized with
//! `ControlPersist=yes`: nothing ends it when dxbackup exits unless dxbackup does.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Gives this process its own folder for the control sockets of the `ssh` masters that the
/// SFTP service starts (the `openssh` crate puts them under `$XDG_STATE_HOME`), so that at
/// exit every master left is known to be ours and can be told to exit.
///
/// Called once, before the first remote connection; dxbackup's own state folder was resolved
/// earlier. Children started later (a password command) inherit the variable, harmlessly.
pub fn control_dir() -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("dxbackup-ssh-{}", std::process::id()));
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    if let Err(e) = made {
        tracing::warn!(
            "cannot create {}: {e}; ssh control sockets go to the default place",
            dir.display()
        );
        return None;
    }
    std::env::set_var("XDG_STATE_HOME", &dir);
    Some(dir)
}

/// The sessions close on the runtime's threads once their operators are gone; give them a
/// moment, then send `ssh -O exit` to every master whose socket is still there.
pub fn close_masters(dir: &Path) {
    let sockets = || -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path().join("master"))
                    .filter(|p| p.exists())
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    while !sockets().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for socket in sockets() {
        tracing::debug!(socket = %socket.display(), "stopping ssh master");
        let _ = std::process::Command::new("ssh")
            .arg("-S")
            .arg(&socket)
            .args(["-O", "exit", "dxbackup"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Terminates every `ssh` process whose command line names `dir` (SIGTERM, then SIGKILL).
pub fn stop_strays(dir: &Path) {
    // With the separator: `dxbackup-ssh-12` must not match another process's `dxbackup-ssh-123`.
    let needle = format!("{}/", dir.display());
    let strays = || -> Vec<i32> {
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .parse::<i32>()
                    .ok()
                    .map(|p| (p, e.path()))
            })
            .filter(|(_, path)| {
                std::fs::read(path.join("cmdline")).is_ok_and(|raw| {
                    let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                    line.contains(&needle)
                        && line.split(' ').next().is_some_and(|a| a.ends_with("ssh"))
                })
            })
            .map(|(p, _)| p)
            .collect()
    };
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let pids = strays();
        if pids.is_empty() {
            return;
        }
        for pid in &pids {
            tracing::debug!(pid, "stopping a stray ssh");
            // SAFETY: plain kill(2) on a pid we just read; at worst it is gone already.
            unsafe { libc::kill(*pid, signal) };
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while !strays().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
