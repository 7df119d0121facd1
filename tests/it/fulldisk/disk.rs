//! A small file system of its own for one folder of a test: a size-limited tmpfs mounted over
//! it (we run as root in CI; elsewhere through `sudo -n`), unmounted when the test ends, even
//! by a panic. A full disk cannot be simulated faithfully any other way: the repository, the
//! catalog and restic must all meet the real ENOSPC of the kernel.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of a given size mounted on a folder, unmounted on drop.
pub struct SmallFs {
    pub dir: PathBuf,
}

/// `cmd` as root: directly when we are, else through `sudo -n` (never prompting).
fn as_root(args: &[&str]) -> Command {
    // SAFETY: geteuid has no preconditions.
    let mut c = if unsafe { libc::geteuid() } == 0 {
        Command::new(args[0])
    } else {
        let mut c = Command::new("sudo");
        c.arg("-n").arg(args[0]);
        c
    };
    c.args(&args[1..]);
    c
}

impl SmallFs {
    /// Mounts a tmpfs of `mb` MiB on `dir` (created if missing, private as a repository or a
    /// state dir would be). `None` when this machine cannot mount: a skip with a message, a
    /// failure under `CI=true`, where a test that cannot make its disk must not pass.
    pub fn mount(dir: &Path, mb: u64) -> Option<Self> {
        fs::create_dir_all(dir).unwrap();
        let opts = format!("size={mb}m,mode=0700");
        let out = as_root(&["mount", "-t", "tmpfs", "-o", &opts, "tmpfs"])
            .arg(dir)
            .output();
        let why = match out {
            Ok(o) if o.status.success() => {
                return Some(Self {
                    dir: dir.to_path_buf(),
                })
            }
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cannot mount a {mb} MiB tmpfs on {} under CI=true (run as root or with passwordless sudo): {why}",
            dir.display()
        );
        eprintln!("SKIPPED: cannot mount a tmpfs (needs root or sudo -n): {why}");
        None
    }

    /// (available, total) bytes, as df reckons them.
    pub fn space(&self) -> (u64, u64) {
        let c = std::ffi::CString::new(self.dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: a zeroed statvfs is a valid out-parameter.
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is NUL-terminated and `s` writable.
        assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut s) }, 0);
        let f = s.f_frsize as u64;
        (s.f_bavail as u64 * f, s.f_blocks as u64 * f)
    }

    pub fn free(&self) -> u64 {
        self.space().0
    }

    pub fn used(&self) -> u64 {
        let (free, total) = self.space();
        total - free
    }

    /// Something else on the disk: a file taking all but `leave` bytes of the free space
    /// (all of it when `leave` is 0, written until the kernel says ENOSPC).
    pub fn fill(&self, leave: u64) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.filler())
            .unwrap();
        let chunk = vec![0xa5u8; 64 << 10];
        loop {
            let room = self.free().saturating_sub(leave);
            if room == 0 {
                break;
            }
            let n = room.min(chunk.len() as u64) as usize;
            match f.write_all(&chunk[..n]) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling {}: {e}", self.dir.display()),
            }
        }
        let _ = f.flush();
    }

    /// Frees what [`fill`](Self::fill) took.
    pub fn unfill(&self) {
        fs::remove_file(self.filler()).unwrap();
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Files under the mount whose name says they are a half-written temporary
    /// (`NAME-tmp-RANDOM`), with their sizes.
    pub fn temporaries(&self) -> Vec<(PathBuf, u64)> {
        walkdir::WalkDir::new(&self.dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter(|e| e.file_name().to_string_lossy().contains("-tmp-"))
            .map(|e| (e.path().to_path_buf(), e.metadata().unwrap().len()))
            .collect()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let out = as_root(&["umount"]).arg(&self.dir).output();
        if !out.as_ref().is_ok_and(|o| o.status.success()) {
            // Lazily, then: a process of the test may still have a file open there.
            let _ = as_root(&["umount", "-l"]).arg(&self.dir).output();
        }
    }
}

/// Bytes no compressor can shrink (xorshift, every byte of every word), so a source of N
/// bytes takes N bytes in the repository.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}
