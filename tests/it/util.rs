//! Test helpers: a temporary workspace with a config, a command runner that prints everything
//! on failure, and tree comparison.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

pub const PASSWORD: &str = "correct horse battery staple";

/// A temporary folder holding a source tree, a repository, a state dir and a config.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// Extra environment for every dxbackup run (PATH with a test `ssh`, bucket keys...).
    envs: std::cell::RefCell<Vec<(String, String)>>,
}

impl Env {
    pub fn new() -> Self {
        let env = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            envs: Default::default(),
        };
        fs::create_dir_all(env.src()).unwrap();
        fs::write(env.path("pw"), format!("{PASSWORD}\n")).unwrap();
        env.write_config("");
        env
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    pub fn src(&self) -> PathBuf {
        self.path("src")
    }
    pub fn repo(&self) -> PathBuf {
        self.path("repo")
    }
    pub fn config(&self) -> PathBuf {
        self.path("dxbackup.toml")
    }

    /// The default config (everything under the root included) plus `extra` TOML.
    pub fn write_config(&self, extra: &str) {
        let text = format!(
            "[repository.main]\nurl = \"{}\"\npassword-file = \"pw\"\nauto-init = true\n\n\
             [source.tree]\nkind = \"files\"\nroot = \"src\"\ninclude = [\"**\"]\nexclude = [\"*.hprof\"]\ntier = \"critical\"\n{extra}{}",
            self.repo().display(),
            host_disk_ignored(extra)
        );
        fs::write(self.config(), text).unwrap();
    }

    /// A config with the repository and `sources` (TOML) only.
    pub fn write_sources(&self, sources: &str) {
        let text = format!(
            "[repository.main]\nurl = \"{}\"\npassword-file = \"pw\"\nauto-init = true\n\n{sources}{}",
            self.repo().display(),
            host_disk_ignored(sources)
        );
        fs::write(self.config(), text).unwrap();
    }

    /// `dxbackup -c CONFIG --state-dir STATE ARGS...`, environment scrubbed.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(dxbackup_bin());
        c.arg("-c")
            .arg(self.config())
            .arg("--state-dir")
            .arg(self.path("state"));
        c.args(args);
        c.env_remove("DXBACKUP_PASSWORD")
            .env_remove("DXBACKUP_CONFIG")
            .env_remove("DXBACKUP_LOG");
        for (k, v) in self.envs.borrow().iter() {
            c.env(k, v);
        }
        c
    }

    /// Sets an environment variable for every later dxbackup run.
    pub fn set_env(&self, key: &str, value: &str) {
        self.envs.borrow_mut().push((key.into(), value.into()));
    }

    /// Runs and returns the output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Out {
        Out::of(self.cmd(args).output().expect("spawn dxbackup"), args)
    }

    /// Runs and requires exit code `code`.
    pub fn expect(&self, code: i32, args: &[&str]) -> Out {
        let out = self.run(args);
        assert_eq!(out.code, code, "wrong exit code\n{out}");
        out
    }

    pub fn ok(&self, args: &[&str]) -> Out {
        self.expect(0, args)
    }

    /// The id of the newest snapshot.
    pub fn latest_id(&self) -> String {
        let out = self.ok(&["snapshots", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v.as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The binary under test: `$DXBACKUP_BIN` when set (scripts/robustness runs a release build
/// or a copy that a rebuild cannot replace mid-run), else the one cargo built for the tests.
pub fn dxbackup_bin() -> PathBuf {
    std::env::var_os("DXBACKUP_BIN")
        .filter(|p| !p.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_dxbackup")),
            PathBuf::from,
        )
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub args: String,
}

impl Out {
    pub fn of(o: Output, args: &[&str]) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            args: args.join(" "),
        }
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ dxbackup {}\nexit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

/// What a tree holds, for byte-for-byte comparison: per relative path, its kind, mode,
/// content hash (or link target) and mtime in seconds.
pub fn snapshot_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
        let m = fs::symlink_metadata(e.path()).unwrap();
        let desc = if m.file_type().is_symlink() {
            format!("link {}", fs::read_link(e.path()).unwrap().display())
        } else if m.is_dir() {
            format!("dir {:o} {}", m.permissions().mode() & 0o7777, m.mtime())
        } else {
            format!(
                "file {:o} {} {}",
                m.permissions().mode() & 0o7777,
                m.mtime(),
                hash_file(e.path())
            )
        };
        out.insert(rel, desc);
    }
    out
}

pub fn hash_file(p: &Path) -> String {
    let mut f = fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Asserts two trees are identical, listing the differences if not.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (snapshot_tree(a), snapshot_tree(b));
    if ta != tb {
        let mut diff = String::new();
        for (k, v) in &ta {
            if tb.get(k) != Some(v) {
                diff += &format!("  {}: {v} vs {:?}\n", k.display(), tb.get(k));
            }
        }
        for k in tb.keys().filter(|k| !ta.contains_key(*k)) {
            diff += &format!("  only in {}: {}\n", b.display(), k.display());
        }
        panic!("trees differ ({} vs {}):\n{diff}", a.display(), b.display());
    }
}

/// Deterministic pseudo-random bytes (xorshift), partly compressible like real data.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        // Every other word is text-like, so compression has something to do.
        if (x >> 60) & 1 == 0 {
            v.extend_from_slice(b"INSERT I");
        } else {
            v.extend_from_slice(&bytes);
        }
    }
    v.truncate(len);
    v
}

/// Writes a file and sets its mode.
pub fn put(path: &Path, content: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// `true` when a tool is on PATH. Under `CI=true` a missing tool fails the test loudly.
pub fn require_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is required under CI=true; scripts/test installs it"
        );
        eprintln!("SKIPPED: {name} is not installed (scripts/test installs it)");
    }
    found
}

/// The newest snapshot's manifest, read by restic (which must be able to).
pub fn manifest_via_restic(env: &Env) -> String {
    file_via_restic(env, "/.dxbackup/manifest.json")
}

/// A file of the latest snapshot, read by restic (so restic can read it too).
pub fn file_via_restic(env: &Env, path: &str) -> String {
    restic(env, &["dump", "latest", path]).stdout
}

/// Runs restic on the Env's repository; it must succeed.
pub fn restic(env: &Env, args: &[&str]) -> Out {
    restic_at(env, &env.repo(), args)
}

/// Runs restic on the repository at `repo`, with the Env's password; it must succeed.
pub fn restic_at(env: &Env, repo: &Path, args: &[&str]) -> Out {
    let out = Command::new("restic")
        .arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD_FILE", env.path("pw"))
        .env("RESTIC_CACHE_DIR", env.path("restic-cache"))
        .output()
        .expect("spawn restic");
    let out = Out::of(out, args);
    assert_eq!(out.code, 0, "restic failed\n{out}");
    out
}

/// The repositories of the tests live on the machine's own disk, whose fill level no test
/// controls (a CI machine after a clean build is often past 90 %): unless a test sets its own
/// `[monitor]`, the space findings only fire on a disk that is 100 % full.
fn host_disk_ignored(extra: &str) -> &'static str {
    if extra.contains("[monitor]") {
        ""
    } else {
        "\n[monitor]\nspace-warning = 100.0\nspace-critical = 100.0\n"
    }
}
