//! The robustness loop: a seeded random sequence of real operations (files backups of a tree
//! that mutates between steps, mysql fulls under a write load, binlog archiving, copies to an
//! SFTP and an S3 target, forget with prune, verify, restores compared with what each snapshot
//! saw) on a real repository, with dxbackup killed at random moments (SIGKILL, SIGTERM) or the
//! network to a target cut. After every fault: `restic check` is clean on every repository
//! (a stale lock removed by `dxbackup unlock` if restic refuses it), the next operation
//! succeeds, and no snapshot reported done (exit 0 and an id) is lost.
//!
//! The short variant runs in the suite; `scripts/robustness` runs the long one (same code,
//! `DXBACKUP_ROBUST_STEPS=500`). `DXBACKUP_ROBUST_SEED` replays a run: the seed decides the
//! operations, the faults and their moments (what a process had done by then is up to the
//! machine).

mod model;
mod ops;
mod restore;
mod run;
mod world;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Instant;

use model::{Db, Tree};
use ops::Model;
use run::Fault;
use world::{World, TARGETS};

/// SplitMix64: small, seedable, good enough to pick operations.
pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// The figures of a run, printed at the end (and on failure).
#[derive(Default)]
pub struct Stats {
    steps: usize,
    ops: BTreeMap<&'static str, usize>,
    faults: BTreeMap<&'static str, usize>,
    /// Faults planned but the run had already ended.
    missed: usize,
    /// Checks that needed `dxbackup unlock` first.
    lock_retries: usize,
    restores: BTreeMap<&'static str, usize>,
    notes: Vec<String>,
}

impl Stats {
    pub fn restored(&mut self, what: &'static str) {
        *self.restores.entry(what).or_default() += 1;
    }
    pub fn note(&mut self, n: String) {
        if !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }
    fn kills(&self) -> usize {
        self.faults.values().sum()
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "steps {}, faults {} {:?} (+{} missed: the run had ended)",
            self.steps,
            self.kills(),
            self.faults,
            self.missed
        )?;
        writeln!(f, "operations {:?}", self.ops)?;
        writeln!(f, "restores compared {:?}", self.restores)?;
        writeln!(
            f,
            "restic checks that needed an unlock first: {}",
            self.lock_retries
        )?;
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    FilesBackup,
    Full,
    Binlog,
    Copy,
    Forget,
    Verify,
    RestoreFiles,
    RestoreDb,
    Mark,
}

const WEIGHTS: [(Op, u64); 9] = [
    (Op::FilesBackup, 6),
    (Op::Full, 3),
    (Op::Binlog, 3),
    (Op::Copy, 4),
    (Op::Forget, 2),
    (Op::Verify, 1),
    (Op::RestoreFiles, 3),
    (Op::RestoreDb, 3),
    (Op::Mark, 2),
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::FilesBackup => "files backup",
            Op::Full => "mysql full",
            Op::Binlog => "binlog",
            Op::Copy => "copy",
            Op::Forget => "forget",
            Op::Verify => "verify",
            Op::RestoreFiles => "restore files",
            Op::RestoreDb => "restore-db",
            Op::Mark => "mark",
        }
    }
}

const FIRST: [Op; 10] = [
    Op::FilesBackup,
    Op::Full,
    Op::Binlog,
    Op::Copy,
    Op::Mark,
    Op::FilesBackup,
    Op::Forget,
    Op::RestoreFiles,
    Op::RestoreDb,
    Op::Verify,
];

fn choose(rng: &mut Rng) -> Op {
    let total: u64 = WEIGHTS.iter().map(|w| w.1).sum();
    let mut x = rng.below(total);
    for (op, w) in WEIGHTS {
        if x < w {
            return op;
        }
        x -= w;
    }
    unreachable!()
}

/// The fault for `op`: none, or a kill or cut of the kinds that apply to it.
fn fault_for(op: Op, rng: &mut Rng, rate: f64) -> Fault {
    if op == Op::Mark || !rng.chance(rate) {
        return Fault::None;
    }
    let x = rng.below(10);
    match op {
        Op::Copy | Op::Verify | Op::Forget if x < 3 => {
            if x == 0 {
                Fault::CutNas
            } else {
                Fault::CutCloud
            }
        }
        _ if x < 6 => Fault::Kill,
        _ if x < 8 => Fault::Term,
        _ => Fault::Kill,
    }
}

fn env_num(key: &str) -> Option<u64> {
    let v = std::env::var(key).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{key}={v}: not a number")),
    )
}

/// Prints the seed and the figures if the loop panics.
struct OnFailure<'a> {
    seed: u64,
    step: &'a Cell<usize>,
}

impl Drop for OnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "robustness: FAILED at step {} with seed {}; replay: DXBACKUP_ROBUST_SEED={} (same DXBACKUP_ROBUST_STEPS)",
                self.step.get(),
                self.seed,
                self.seed
            );
        }
    }
}

#[test]
fn random_operations_killed_at_random_moments_lose_nothing() {
    let seed = env_num("DXBACKUP_ROBUST_SEED").unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        t.as_nanos() as u64 ^ u64::from(std::process::id())
    });
    let steps = env_num("DXBACKUP_ROBUST_STEPS").unwrap_or(40) as usize;
    let min_faults = (steps / 4).max(10);
    let rate = env_num("DXBACKUP_ROBUST_FAULT_PERCENT").unwrap_or(40) as f64 / 100.0;
    eprintln!("robustness: seed {seed} (DXBACKUP_ROBUST_SEED={seed}), {steps} steps, at least {min_faults} faults");
    let Some(mut w) = World::start(4) else { return };
    let _shared = w.db.share();
    let step = Cell::new(0);
    let _guard = OnFailure { seed, step: &step };
    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut tree = Tree::create(&w.env.src(), &mut rng);
    let mut db = Db::create(w.db, &w.dbname);
    let mut m = Model::default();
    let mut stats = Stats::default();
    let mut took: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut after_fault = false;
    let mut i = 0;
    while i < steps || (stats.kills() < min_faults && i < steps * 3) {
        i += 1;
        step.set(i);
        if rng.chance(0.6) {
            tree.mutate(&mut rng);
        }
        if rng.chance(0.5) {
            db.mutate(&mut rng);
        }
        // The first steps do each operation once (something to copy and restore first), so a
        // short run covers them all; then chance decides.
        let op = match FIRST.get(i - 1) {
            Some(op) => *op,
            None => choose(&mut rng),
        };
        let planned = fault_for(op, &mut rng, rate);
        // After a fault, the next operation runs undisturbed and must succeed; so do the
        // first ones, which leave something to copy and restore.
        let fault = if after_fault || i <= FIRST.len() {
            Fault::None
        } else {
            planned
        };
        let key = op.name();
        let typical = *took.get(key).unwrap_or(&1500);
        let delay = rng.below(typical * 9 / 10);
        let p = run::Plan {
            step: i,
            fault,
            delay_ms: delay,
        };
        let result = match op {
            Op::FilesBackup => ops::files_backup(&mut w, &mut m, &tree, p),
            Op::Full => ops::full(&mut w, &mut m, &db, p),
            Op::Binlog => ops::binlog(&mut w, &db, &mut rng, p),
            Op::Copy => ops::copy(&mut w, &mut m, &mut rng, p),
            Op::Forget => ops::forget(&mut w, &mut m, p),
            Op::Verify => ops::verify(&mut w, &mut stats, p),
            Op::RestoreFiles => restore::files(&mut w, &m, &mut rng, &mut stats, p),
            Op::RestoreDb => restore::database(&mut w, &m, &db, &mut rng, &mut stats, p),
            Op::Mark => {
                restore::mark(&mut m, &mut db, &mut rng);
                Ok(None)
            }
        };
        let ran = result
            .unwrap_or_else(|e| panic!("step {i} {op:?} (fault {}): {e}\n{stats}", fault.name()));
        *stats.ops.entry(key).or_default() += 1;
        let Some(ran) = ran else {
            after_fault = false;
            continue;
        };
        if !ran.landed {
            took.insert(key, (typical + ran.ms) / 2);
        }
        eprintln!(
            "step {i}: {op:?} fault {} {} exit {} in {} ms",
            fault.name(),
            if ran.landed { "landed" } else { "-" },
            ran.out.code,
            ran.ms
        );
        let left = w.reap_ssh();
        if !left.is_empty() {
            stats.note(format!(
                "ssh left running after {op:?} ({}): {}",
                fault.name(),
                left.len()
            ));
        }
        after_fault = fault != Fault::None;
        if fault != Fault::None && !ran.landed {
            stats.missed += 1;
        }
        if ran.landed {
            *stats.faults.entry(fault.name()).or_default() += 1;
            let unlocked = w
                .check_all(false)
                .unwrap_or_else(|e| panic!("step {i} after {op:?} with {}: {e}", fault.name()));
            for repo in unlocked {
                stats.lock_retries += 1;
                stats.note(format!(
                    "restic check of {repo} refused a stale lock after {} with {}; dxbackup unlock removed it",
                    op.name(),
                    fault.name()
                ));
            }
        }
        nothing_lost(&w, &m, ran.landed)
            .unwrap_or_else(|e| panic!("step {i} after {op:?} with {}: {e}", fault.name()));
        stats.steps = i;
    }
    // The end: one more copy everywhere, every repository read whole, nothing lost.
    step.set(i + 1);
    let calm = run::Plan {
        step: i + 1,
        fault: Fault::None,
        delay_ms: 0,
    };
    let last = run::run(&mut w, calm, &["--json", "copy"]);
    assert!(last.ok(), "the final copy\n{}", last.out);
    // Each kind of restore compared at least once, however chance went.
    for n in 0..8 {
        let has = |k: &str| stats.restores.contains_key(k);
        if has("files") && has("mysql full") && has("mysql point in time") {
            break;
        }
        let p = run::Plan {
            step: i + 2 + n,
            ..calm
        };
        let r = if n % 2 == 0 && !has("files") {
            restore::files(&mut w, &m, &mut rng, &mut stats, p)
        } else {
            restore::database(&mut w, &m, &db, &mut rng, &mut stats, p)
        };
        r.unwrap_or_else(|e| panic!("final restore: {e}\n{stats}"));
    }
    w.check_all(true)
        .unwrap_or_else(|e| panic!("final check: {e}"));
    nothing_lost(&w, &m, true).unwrap_or_else(|e| panic!("final: {e}"));
    eprintln!(
        "robustness: seed {seed}, {:.0} s\n{stats}",
        started.elapsed().as_secs_f64()
    );
    for kind in ["files", "mysql full"] {
        assert!(
            stats.restores.contains_key(kind),
            "no {kind} restore compared\n{stats}"
        );
    }
    assert!(
        stats.kills() >= min_faults,
        "only {} faults landed\n{stats}",
        stats.kills()
    );
    db.drop_db(&w.dbname);
}

/// Every snapshot reported done (and not reported forgotten) is still listed: on the
/// primary always, on the targets when `targets`.
fn nothing_lost(w: &World, m: &Model, targets: bool) -> Result<(), String> {
    let main = w.snapshots("main")?;
    for (id, (_, _, step)) in &m.files {
        if !main.iter().any(|s| &s.id == id) {
            return Err(format!(
                "files snapshot {id} of step {step} is gone from main"
            ));
        }
    }
    for (id, full) in &m.fulls {
        if !main.iter().any(|s| &s.id == id) {
            return Err(format!("full {id} of step {} is gone from main", full.step));
        }
    }
    if targets {
        for t in TARGETS {
            let Some(want) = m.copies.get(t) else {
                continue;
            };
            let have = w.snapshots(t)?;
            if let Some(lost) = want
                .iter()
                .find(|time| !have.iter().any(|s| &s.time == *time))
            {
                return Err(format!("{t} lost the copy of the snapshot of {lost}"));
            }
        }
    }
    Ok(())
}
