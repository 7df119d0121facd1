//! Ctrl-C, SIGTERM and SIGHUP end dxbackup through one door: remote connections are closed
//! first (no `ssh` master of an SFTP repository may outlive us), then the process exits with
//! 128 + the signal number. A run cut off this way is marked `interrupted` in the catalog at
//! the next start, and the next backup or copy picks up what it left.

use std::sync::atomic::{AtomicBool, Ordering};

static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a signal is being handled: the process is about to exit with its code, and the
/// main thread must not exit first with another one.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Blocks the signals in every thread and waits for them in a dedicated one. Call first in
/// `main`, before any thread starts, so every later thread inherits the mask; child processes
/// do not (the standard library resets the mask when it spawns them).
pub fn install() {
    // SAFETY: plain POSIX calls on a local, zero-initialized signal set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        set
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: `set` is a valid, initialized signal set; `sig` is writable.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                return;
            }
            STOPPING.store(true, Ordering::SeqCst);
            eprintln!("dxbackup: stopped by signal {sig}; closing remote connections");
            crate::repo::close_remote_connections();
            std::process::exit(128 + sig);
        });
    if spawned.is_err() {
        // Without the waiting thread the signals must not stay blocked.
        // SAFETY: as above.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}
