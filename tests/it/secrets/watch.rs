//! A background sampler of the processes dxbackup starts: every few milliseconds it reads the
//! argv and environment of each `dxbackup` process and its descendants (`mariadb-dump`,
//! `mariadb-binlog`, `ssh`, `sh -c` of a password-command...), plus the `ssh` masters that
//! detach from it (found by their control-socket folder), and notes any marker in them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What the sampler saw: the names of the processes it read, and the leaks.
#[derive(Default)]
pub struct Seen {
    pub commands: BTreeSet<String>,
    pub leaks: BTreeSet<String>,
}

pub struct Watch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Seen>>,
}

impl Watch {
    pub fn start(markers: Vec<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = Seen::default();
            while !flag.load(Ordering::Relaxed) {
                sample(&markers, &mut seen);
                // Short-lived children (a password-command's `sh`) live for milliseconds.
                std::thread::sleep(Duration::from_millis(2));
            }
            seen
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// pid -> (parent pid, command name) of every process now.
fn processes() -> BTreeMap<u32, (u32, String)> {
    let mut all = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return all;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        all.insert(pid, (ppid, comm));
    }
    all
}

fn sample(markers: &[String], seen: &mut Seen) {
    let all = processes();
    let ours = |mut pid: u32| {
        for _ in 0..64 {
            match all.get(&pid) {
                Some((_, comm)) if comm == "dxbackup" => return true,
                Some((ppid, _)) if *ppid > 1 => pid = *ppid,
                _ => return false,
            }
        }
        false
    };
    for (pid, (_, comm)) in &all {
        let dir = format!("/proc/{pid}");
        let Ok(cmdline) = std::fs::read(format!("{dir}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !ours(*pid) && !cmdline.contains("dxbackup-ssh-") {
            continue;
        }
        seen.commands.insert(comm.clone());
        let environ = std::fs::read(format!("{dir}/environ")).unwrap_or_default();
        let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
        for m in markers {
            if cmdline.contains(m.as_str()) {
                seen.leaks
                    .insert(format!("argv of {comm} (pid {pid}): `{m}` in `{cmdline}`"));
            }
            if environ.contains(m.as_str()) {
                seen.leaks
                    .insert(format!("environment of {comm} (pid {pid}): `{m}`"));
            }
        }
    }
}
