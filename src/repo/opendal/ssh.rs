//! Keeping the `ssh` processes of SFTP repositories on a leash. OpenDAL's SFTP service (through
//! the `openssh` crate) starts one `ssh` ControlMaster per pooled connection, daemonized with
//! `ControlPersist=yes`: nothing ends it when dxbackup exits unless dxbackup does.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// This process's own folder for the control sockets of the `ssh` masters that the SFTP
/// service starts, so that at exit every master left is known to be ours and can be told to
/// exit.
fn own_dir() -> PathBuf {
    std::env::temp_dir().join(format!("dxbackup-ssh-{}", std::process::id()))
}

/// Points the `openssh` crate, which puts its control sockets under `$XDG_STATE_HOME` and has
/// no other way to be told through OpenDAL, at [`own_dir`]. Call first thing in `main`: the
/// environment may only change while no other thread can read it (glibc's getenv takes no
/// lock), and the daemon has threads. With more than one thread it changes nothing and
/// returns false. Children inherit the variable, harmlessly.
pub fn claim_control_dir() -> bool {
    let threads = std::fs::read_dir("/proc/self/task").map(|d| d.count());
    if threads.ok() != Some(1) {
        return false;
    }
    let _ = USER_STATE_HOME.set(std::env::var_os("XDG_STATE_HOME"));
    std::env::set_var("XDG_STATE_HOME", own_dir());
    true
}

/// `$XDG_STATE_HOME` as it was before [`claim_control_dir`] replaced it.
static USER_STATE_HOME: std::sync::OnceLock<Option<std::ffi::OsString>> =
    std::sync::OnceLock::new();

/// Gives a child process `$XDG_STATE_HOME` as the user set it (a password command or a tool
/// that keeps state must not find the control-socket folder there).
pub fn user_state_home_for(cmd: &mut std::process::Command) {
    if let Some(saved) = USER_STATE_HOME.get() {
        match saved {
            Some(v) => cmd.env("XDG_STATE_HOME", v),
            None => cmd.env_remove("XDG_STATE_HOME"),
        };
    }
}

/// `$XDG_STATE_HOME` as the user set it: dxbackup's default state folder is resolved from it,
/// never from the control-socket folder this process put there.
pub fn user_state_home() -> Option<std::ffi::OsString> {
    match USER_STATE_HOME.get() {
        Some(saved) => saved.clone(),
        None => std::env::var_os("XDG_STATE_HOME"),
    }
}

/// Creates the folder [`claim_control_dir`] named, before the first remote connection; `None`
/// (sockets in openssh's default place) when it was not claimed or cannot be made.
pub fn control_dir() -> Option<PathBuf> {
    let dir = own_dir();
    if std::env::var_os("XDG_STATE_HOME").as_deref() != Some(dir.as_os_str()) {
        tracing::debug!("ssh control sockets go to the default place: not claimed at start");
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The test harness runs tests on threads, as the daemon runs jobs: nothing may touch the
    /// environment then.
    #[test]
    fn the_environment_is_left_alone_once_threads_exist() {
        let before = std::env::var_os("XDG_STATE_HOME");
        assert!(!claim_control_dir());
        assert_eq!(control_dir(), None);
        assert_eq!(std::env::var_os("XDG_STATE_HOME"), before);
    }
}
