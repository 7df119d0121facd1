//! What the loop backs up and how it knows the right answer: a files tree that mutates between
//! steps (its digest kept per snapshot), and a database of two tables: `acct`, changed by the
//! loop between steps only, and `ledger`, appended to by a write load while fulls run. A full
//! must restore `acct` exactly as it was and a prefix of `ledger`; a recorded point in time
//! (taken with the load stopped) must restore both exactly.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::Rng;
use crate::services::MariaDb;
use crate::util::{data, put, snapshot_tree};

pub type Digest = BTreeMap<PathBuf, String>;

/// The files source's tree.
pub struct Tree {
    pub root: PathBuf,
    files: Vec<PathBuf>,
    serial: u64,
}

const DIRS: [&str; 5] = ["conf", "job", "job/daily", "plugin/reader", "script"];

impl Tree {
    /// A first tree: a few dozen small files and two large ones (so a backup or a copy takes
    /// long enough to be cut).
    pub fn create(root: &Path, rng: &mut Rng) -> Self {
        let mut t = Self {
            root: root.to_path_buf(),
            files: Vec::new(),
            serial: rng.next(),
        };
        for _ in 0..30 {
            t.add(rng);
        }
        for name in ["plugin/reader/big-a.jar", "plugin/reader/big-b.jar"] {
            t.serial += 1;
            put(&root.join(name), &data(6 << 20, t.serial), 0o644);
            t.files.push(name.into());
        }
        t
    }

    pub fn digest(&self) -> Digest {
        snapshot_tree(&self.root)
    }

    fn add(&mut self, rng: &mut Rng) {
        self.serial += 1;
        let dir = DIRS[rng.below(DIRS.len() as u64) as usize];
        let rel = PathBuf::from(format!("{dir}/f{}.json", self.serial));
        let len = [10, 900, 40_000, 700_000][rng.below(4) as usize];
        put(&self.root.join(&rel), &data(len, self.serial), 0o644);
        self.files.push(rel);
    }

    /// A few random changes: files added, rewritten, appended to, truncated, removed,
    /// renamed, chmodded, a link made.
    pub fn mutate(&mut self, rng: &mut Rng) -> usize {
        let n = 1 + rng.below(6) as usize;
        for _ in 0..n {
            if self.files.len() < 5 {
                self.add(rng);
                continue;
            }
            let i = rng.below(self.files.len() as u64) as usize;
            let path = self.root.join(&self.files[i]);
            self.serial += 1;
            match rng.below(8) {
                0 | 1 => self.add(rng),
                2 => {
                    let len = fs::metadata(&path).map_or(100, |m| m.len() as usize);
                    fs::write(&path, data(len.max(1), self.serial)).unwrap();
                }
                3 => {
                    let mut v = fs::read(&path).unwrap();
                    v.extend(data(1 + rng.below(5000) as usize, self.serial));
                    fs::write(&path, v).unwrap();
                }
                4 => {
                    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
                    let len = f.metadata().unwrap().len();
                    f.set_len(len / 2).unwrap();
                }
                5 => {
                    fs::remove_file(&path).unwrap();
                    self.files.swap_remove(i);
                }
                6 => {
                    let dir = DIRS[rng.below(DIRS.len() as u64) as usize];
                    let to = PathBuf::from(format!("{dir}/r{}.json", self.serial));
                    fs::create_dir_all(self.root.join(dir)).unwrap();
                    fs::rename(&path, self.root.join(&to)).unwrap();
                    self.files[i] = to;
                }
                _ => {
                    let mode = [0o600, 0o640, 0o644, 0o755][rng.below(4) as usize];
                    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
                    let link = self.root.join(format!("conf/link{}", self.serial));
                    let _ = std::os::unix::fs::symlink(&self.files[i], link);
                }
            }
        }
        n
    }
}

/// The mysql source's database.
pub struct Db {
    pub db: &'static MariaDb,
    pub name: String,
    serial: u64,
}

/// The write load: inserts into `ledger` until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Load {
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap();
    }
}

impl Db {
    pub fn create(db: &'static MariaDb, name: &str) -> Self {
        db.sql(&format!(
            "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};
             CREATE TABLE {name}.acct (id INT PRIMARY KEY, owner VARCHAR(40), balance BIGINT, note TEXT);
             CREATE TABLE {name}.ledger (id BIGINT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(60), at DATETIME(6));"
        ));
        let rows: Vec<String> = (0..50)
            .map(|i| format!("({i}, 'owner{i}', {}, NULL)", i * 100))
            .collect();
        db.sql(&format!(
            "INSERT INTO {name}.acct VALUES {}",
            rows.join(",")
        ));
        Self {
            db,
            name: name.to_string(),
            serial: 0,
        }
    }

    /// A few random changes to `acct`, in one transaction or several.
    pub fn mutate(&mut self, rng: &mut Rng) {
        let mut sql = String::new();
        for _ in 0..1 + rng.below(4) {
            self.serial += 1;
            let id = rng.below(80);
            let s = self.serial;
            sql += &match rng.below(4) {
                0 => format!(
                    "REPLACE INTO {}.acct VALUES ({id}, 'new{s}', {s}, 'n{s}');",
                    self.name
                ),
                1 => format!("DELETE FROM {}.acct WHERE id = {id};", self.name),
                2 => format!(
                    "UPDATE {}.acct SET balance = balance + {s} WHERE id % 7 = {};",
                    self.name,
                    id % 7
                ),
                _ => format!(
                    "UPDATE {}.acct SET note = CONCAT(COALESCE(note, ''), '{s}') WHERE id = {id};",
                    self.name
                ),
            };
        }
        self.db.sql(&sql);
    }

    /// Starts inserting into `ledger` through one connection after another until stopped.
    pub fn start_load(&self) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, socket, name) = (stop.clone(), self.db.socket.clone(), self.name.clone());
        let handle = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(Ordering::SeqCst) {
                let rows: Vec<String> = (0..20).map(|i| format!("('w{n}-{i}', NOW(6))")).collect();
                let out = std::process::Command::new("mariadb")
                    .args(["--no-defaults", "-uroot"])
                    .arg(format!("--socket={}", socket.display()))
                    .arg("-e")
                    .arg(format!(
                        "INSERT INTO {name}.ledger(v, at) VALUES {}",
                        rows.join(",")
                    ))
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                n += 1;
            }
        });
        Load { stop, handle }
    }

    /// `CHECKSUM TABLE` and row count of every table.
    pub fn fingerprint(&self, name: &str) -> Vec<String> {
        self.db.fingerprint(name)
    }

    pub fn acct(&self, name: &str) -> String {
        let sum = self.db.sql(&format!("CHECKSUM TABLE {name}.acct"));
        let rows = self.db.sql(&format!("SELECT COUNT(*) FROM {name}.acct"));
        format!(
            "rows={rows} checksum={}",
            sum.split('\t').nth(1).unwrap_or("")
        )
    }

    pub fn ledger_max(&self) -> u64 {
        self.db
            .sql(&format!(
                "SELECT COALESCE(MAX(id), 0) FROM {}.ledger",
                self.name
            ))
            .parse()
            .unwrap()
    }

    /// Whether `restored`'s ledger is exactly the source's ledger up to some id: returns
    /// that id, or what differs.
    pub fn ledger_prefix(&self, restored: &str) -> Result<u64, String> {
        let q = |db: &str, max: &str| {
            self.db.sql(&format!(
                "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, v, at))), 0) FROM {db}.ledger WHERE id <= {max}"
            ))
        };
        let got = q(restored, "18446744073709551615");
        let max = got.split('\t').nth(1).unwrap_or("0").to_string();
        let want = q(&self.name, &max);
        if got == want {
            Ok(max.parse().unwrap())
        } else {
            Err(format!(
                "ledger of {restored} is no prefix of the source's: {got} vs {want}"
            ))
        }
    }

    /// The server's binlog position now.
    pub fn master(&self) -> (String, u64) {
        let status = self.db.sql("SHOW MASTER STATUS");
        let mut it = status.split('\t');
        (
            it.next().unwrap().to_string(),
            it.next().unwrap().parse().unwrap(),
        )
    }

    pub fn now_local(&self) -> String {
        self.db
            .sql("SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s')")
    }

    pub fn drop_db(&self, name: &str) {
        self.db.sql(&format!("DROP DATABASE IF EXISTS {name}"));
    }
}
