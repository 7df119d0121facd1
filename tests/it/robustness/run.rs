//! One dxbackup run with a fault at a random moment: SIGKILL or SIGTERM to dxbackup, or the
//! cable to a target pulled (the sshd killed, the S3 proxy cut) and plugged back in once the
//! run has ended. The moment is a seeded random delay after the spawn (for a cut: after the
//! run has started talking to the bucket), so it is replayed with the seed.

use std::fs;
use std::process::Child;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::world::World;
use crate::util::Out;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Kill,
    Term,
    CutNas,
    CutCloud,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Kill => "SIGKILL",
            Fault::Term => "SIGTERM",
            Fault::CutNas => "sftp cut",
            Fault::CutCloud => "s3 cut",
        }
    }
}

/// One run's place in the loop and its fault: which, and how long after the spawn.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub step: usize,
    pub fault: Fault,
    pub delay_ms: u64,
}

impl Plan {
    /// The same step, undisturbed.
    pub fn calm(self) -> Self {
        Self {
            fault: Fault::None,
            ..self
        }
    }
}

pub struct Ran {
    pub out: Out,
    /// The fault hit a running process (it had not ended yet).
    pub landed: bool,
    pub ms: u64,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.out.code == 0
    }
}

fn exited(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_some()
}

/// Runs `dxbackup ARGS` (a lock held by someone else is waited for at most 60 s: nothing else
/// runs, so a wait means a stale lock that blocks), with `fault` after `delay_ms`.
pub fn run(w: &mut World, p: Plan, args: &[&str]) -> Ran {
    let (step, fault, delay_ms) = (p.step, p.fault, p.delay_ms);
    let mut all = vec!["--lock-wait", "60s"];
    all.extend_from_slice(args);
    let (out_p, err_p) = (w.op_file(step, "out"), w.op_file(step, "err"));
    let sent_before = w.proxy.sent.load(Ordering::Relaxed);
    let mut child = w
        .env
        .cmd(&all)
        .stdout(fs::File::create(&out_p).unwrap())
        .stderr(fs::File::create(&err_p).unwrap())
        .spawn()
        .expect("spawn dxbackup");
    let t0 = Instant::now();
    let mut landed = false;
    if fault != Fault::None {
        if fault == Fault::CutCloud {
            // Observable state: the run has begun talking to the bucket (or has ended).
            while !exited(&mut child) && w.proxy.sent.load(Ordering::Relaxed) == sent_before {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        if !exited(&mut child) {
            landed = true;
            match fault {
                Fault::Kill => signal(&child, libc::SIGKILL),
                Fault::Term => signal(&child, libc::SIGTERM),
                Fault::CutNas => w.sshd.kill(),
                Fault::CutCloud => w.proxy.cut(),
                Fault::None => unreachable!(),
            }
        }
    }
    let status = child.wait().unwrap();
    let ms = t0.elapsed().as_millis() as u64;
    if landed {
        match fault {
            Fault::CutNas => w.sshd.restart(),
            Fault::CutCloud => w.proxy.restore(),
            _ => {}
        }
    }
    let mut out = Out::of(
        std::process::Output {
            status,
            stdout: fs::read(&out_p).unwrap(),
            stderr: fs::read(&err_p).unwrap(),
        },
        &all,
    );
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        out.code = 128 + sig;
    }
    Ran { out, landed, ms }
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
}

/// The JSON document a `--json` run printed.
pub fn json(out: &Out) -> Result<serde_json::Value, String> {
    serde_json::from_str(&out.stdout).map_err(|e| format!("not one JSON document: {e}\n{out}"))
}
