//! systemd integration: readiness and the watchdog through `sd_notify` (no-ops outside
//! systemd), and the unit file `dxbackup daemon --print-systemd-unit` prints (also shipped as
//! `dist/dxbackup.service`).

use std::path::Path;

use sd_notify::NotifyState;

/// Start-up done: schedules loaded, archivers started.
pub fn notify_ready(status: &str) {
    let _ = sd_notify::notify(false, &[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Called with every heartbeat; systemd restarts a daemon whose loop stopped beating.
pub fn notify_watchdog() {
    let _ = sd_notify::notify(false, &[NotifyState::Watchdog]);
}

pub fn notify_stopping() {
    let _ = sd_notify::notify(false, &[NotifyState::Stopping]);
}

/// The unit for this binary, config, state directory and the local repositories it writes.
pub fn unit(exe: &Path, config: &Path, state_dir: &Path, writable: &[String]) -> String {
    let mut paths = vec![state_dir.display().to_string()];
    paths.extend(writable.iter().cloned());
    format!(
        "[Unit]
Description=dxbackup: backups, binlog archiving and drills for DataX
Wants=network-online.target
After=network-online.target mariadb.service mysql.service

[Service]
Type=notify
ExecStart={exe} -c {config} --state-dir {state} daemon
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=10s
WatchdogSec=60s
TimeoutStopSec=30s
KillMode=mixed
Nice=10
IOSchedulingClass=idle
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=true
NoNewPrivileges=true
ReadWritePaths={paths}
UMask=0077

[Install]
WantedBy=multi-user.target
",
        exe = exe.display(),
        config = config.display(),
        state = state_dir.display(),
        paths = paths.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_the_paths_it_writes() {
        let u = unit(
            Path::new("/usr/bin/dxbackup"),
            Path::new("/etc/dxbackup/dxbackup.toml"),
            Path::new("/var/lib/dxbackup"),
            &["/backup/dxbackup".into()],
        );
        assert!(
            u.contains("Type=notify") && u.contains("WatchdogSec="),
            "{u}"
        );
        assert!(
            u.contains("ReadWritePaths=/var/lib/dxbackup /backup/dxbackup"),
            "{u}"
        );
        assert!(u.contains("ExecStart=/usr/bin/dxbackup -c /etc/dxbackup/dxbackup.toml --state-dir /var/lib/dxbackup daemon"), "{u}");
    }
}
