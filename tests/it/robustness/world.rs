//! The world the loop runs in: a primary on local disk, an SFTP target on a real sshd and an
//! S3 target on moto reached through a `Proxy` (whose cable can be pulled), a files source and
//! a mysql source on the shared MariaDB; and what is checked on it: `restic check` on every
//! repository, the snapshot listings, stray `ssh` processes.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::services::{kill_tree, ssh_processes, MariaDb, Proxy, Sshd, S3, USER_PASSWORD};
use crate::util::{require_tool, Env, Out};

pub const BUCKET: &str = "dx-robust";
pub const TARGETS: [&str; 2] = ["nas", "cloud"];

pub struct World {
    pub env: Env,
    pub sshd: Sshd,
    pub s3: S3,
    pub proxy: Proxy,
    pub db: &'static MariaDb,
    /// The database the mysql source backs up.
    pub dbname: String,
}

impl World {
    /// `None` (skipped) when a service is missing outside CI.
    pub fn start(keep_last: u32) -> Option<Self> {
        if !require_tool("restic") {
            return None;
        }
        let db = MariaDb::shared()?;
        let sshd = Sshd::start()?;
        let s3 = S3::start()?;
        s3.create_bucket(BUCKET);
        let proxy = Proxy::start(s3.port);
        let env = Env::new();
        let dbname = format!("rb_{}", std::process::id());
        fs::write(env.path("dbpw"), format!("{USER_PASSWORD}\n")).unwrap();
        S3::write_key_file(&env.path("s3-keys"));
        let mut toml = format!(
            "[source.tree]\nkind = \"files\"\nroot = \"src\"\ninclude = [\"**\"]\ntier = \"critical\"\n\n{}\
             \n[retention]\nkeep-last = {keep_last}\n",
            db.source_toml("db", &format!("[\"{dbname}\"]"), &env.path("dbpw"))
        );
        toml += &sshd.repo_toml("nas", &env.path("nas-repo"), "");
        toml += &s3.repo_toml(
            "cloud",
            BUCKET,
            "robust",
            &proxy.endpoint(),
            &env.path("s3-keys"),
        );
        env.write_sources(&toml);
        let text = fs::read_to_string(env.config()).unwrap().replacen(
            "auto-init = true\n",
            "auto-init = true\nprimary = true\n",
            1,
        );
        fs::write(env.config(), text).unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        env.set_env("PATH", &format!("{}:{path}", sshd.bin_dir().display()));
        fs::create_dir_all(env.path("ops")).unwrap();
        env.ok(&["init"]);
        Some(Self {
            env,
            sshd,
            s3,
            proxy,
            db,
            dbname,
        })
    }

    /// restic's repository options and environment for `repo` (the S3 one directly, not
    /// through the proxy, so a pulled cable never hides the bucket from the check).
    fn restic_cmd(&self, repo: &str) -> Command {
        let mut c = Command::new("restic");
        match repo {
            "main" => {
                c.arg("-r").arg(self.env.repo());
            }
            "nas" => {
                c.args(self.sshd.restic_args(&self.env.path("nas-repo")));
            }
            _ => {
                c.arg("-r")
                    .arg(self.s3.restic_repo(BUCKET, "robust"))
                    .env("AWS_ACCESS_KEY_ID", crate::services::S3_KEY_ID)
                    .env("AWS_SECRET_ACCESS_KEY", crate::services::S3_SECRET)
                    .env("AWS_DEFAULT_REGION", "us-east-1");
            }
        }
        c.env("RESTIC_PASSWORD_FILE", self.env.path("pw"))
            .env("RESTIC_CACHE_DIR", self.env.path("restic-cache"));
        c
    }

    /// Whether `repo` exists yet (a target is created by its first copy).
    fn exists(&self, repo: &str) -> bool {
        let out = self
            .restic_cmd(repo)
            .args(["cat", "config"])
            .output()
            .unwrap();
        out.status.success()
    }

    /// `restic check` (with `--read-data` when `read`) on every repository that exists. A
    /// stale lock may make restic refuse (it removes stale locks only in `unlock`): then
    /// `dxbackup unlock` must remove it and the check pass.
    /// Returns the repositories that needed the unlock.
    pub fn check_all(&self, read: bool) -> Result<Vec<&'static str>, String> {
        let mut unlocked = Vec::new();
        for repo in ["main", "nas", "cloud"] {
            if !self.exists(repo) {
                continue;
            }
            let mut args = vec!["check"];
            if read {
                args.push("--read-data");
            }
            let mut out = Out::of(self.restic_cmd(repo).args(&args).output().unwrap(), &args);
            if out.code != 0 && out.stderr.contains("locked") {
                unlocked.push(repo);
                let unlock = self.env.run(&["unlock", "--repo", repo]);
                if unlock.code != 0 {
                    return Err(format!("unlock of {repo} failed\n{unlock}"));
                }
                out = Out::of(self.restic_cmd(repo).args(&args).output().unwrap(), &args);
            }
            if out.code != 0 {
                return Err(format!("restic check of {repo} failed\n{out}"));
            }
        }
        Ok(unlocked)
    }

    /// The snapshots of `repo` as dxbackup lists them: (id, time, source, kind, description).
    pub fn snapshots(&self, repo: &str) -> Result<Vec<Snap>, String> {
        let out = self.env.run(&["--json", "snapshots", "--repo", repo]);
        if out.code != 0 {
            return Err(format!("snapshots of {repo}\n{out}"));
        }
        let v: serde_json::Value =
            serde_json::from_str(&out.stdout).map_err(|e| format!("{e}\n{out}"))?;
        let s = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_string();
        Ok(v.as_array()
            .unwrap()
            .iter()
            .map(|x| Snap {
                id: s(&x["id"]),
                time: s(&x["time"]),
                kind: s(&x["kind"]),
                description: s(&x["description"]),
            })
            .collect())
    }

    /// `ssh` processes of this world's key still running; they are ended (by pid).
    pub fn reap_ssh(&self) -> Vec<String> {
        let left = ssh_processes(&self.sshd.client_key().to_string_lossy());
        for l in &left {
            if let Some(pid) = l.split(':').next().and_then(|p| p.parse().ok()) {
                kill_tree(pid);
            }
        }
        left
    }

    /// A fresh path for an operation's output files.
    pub fn op_file(&self, step: usize, ext: &str) -> PathBuf {
        self.env.path(&format!("ops/{step:04}.{ext}"))
    }
}

#[derive(Debug, Clone)]
pub struct Snap {
    pub id: String,
    pub time: String,
    pub kind: String,
    pub description: String,
}

impl Snap {
    /// A full's binlog coordinates, `FILE:POS`.
    pub fn coordinates(&self) -> Option<String> {
        let d: serde_json::Value = serde_json::from_str(&self.description).ok()?;
        let b = &d["binlog"];
        Some(format!(
            "{}:{}",
            b["file"].as_str()?,
            b["position"].as_u64()?
        ))
    }

    /// A binlog snapshot's parts: (file, end offset).
    pub fn part_ends(&self) -> Vec<(String, u64)> {
        let d: serde_json::Value = serde_json::from_str(&self.description).unwrap_or_default();
        d["parts"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| {
                        let end = p["offset"].as_u64()? + p["len"].as_u64()?;
                        Some((p["file"].as_str()?.to_string(), end))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
