//! The operations of the loop and what each one teaches the model: a files backup or a mysql
//! full reported done (exit 0, a snapshot id) is remembered with the state it saw, a copy with
//! the snapshots it sent, a forget with what it removed; restores compare with what was
//! remembered. Each returns `Err` with what broke.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Db, Digest, Tree};
use super::run::{json, run, Fault, Plan, Ran};
use super::world::{World, TARGETS};
use super::{Rng, Stats};

/// A full reported done: `acct` as it was (nothing changed it during the full) and the
/// ledger's length before and after (the full holds a prefix in between).
pub struct Full {
    pub coordinates: String,
    pub acct: String,
    pub ledger: (u64, u64),
    pub step: usize,
}

/// A point in time recorded with the load stopped: the whole database then.
pub struct Mark {
    pub t: String,
    pub fingerprint: Vec<String>,
    pub fulls: Vec<String>,
}

#[derive(Default)]
pub struct Model {
    /// Files snapshots of the primary reported done: time, tree, step.
    pub files: BTreeMap<String, (String, Digest, usize)>,
    pub fulls: BTreeMap<String, Full>,
    pub marks: Vec<Mark>,
    /// Per target, the times of the snapshots a copy reported sent.
    pub copies: BTreeMap<&'static str, BTreeSet<String>>,
}

/// The outcome of one step: the run (if dxbackup ran) for the fault bookkeeping.
pub type Step = Result<Option<Ran>, String>;

fn must(r: &Ran, what: &str) -> Result<(), String> {
    if r.ok() {
        Ok(())
    } else {
        Err(format!("{what} failed without a fault\n{}", r.out))
    }
}

/// The one outcome of `source` in a `backup --json` document, when it made a snapshot.
fn snapshot_of(r: &Ran, source: &str) -> Result<Option<String>, String> {
    if !r.ok() {
        return Ok(None);
    }
    let v = json(&r.out)?;
    let o = v
        .as_array()
        .and_then(|a| a.iter().find(|o| o["source"] == source))
        .ok_or_else(|| format!("no outcome for {source}\n{}", r.out))?;
    match o["snapshot"].as_str() {
        Some(id) => Ok(Some(id.to_string())),
        None => Err(format!("exit 0 without a snapshot\n{}", r.out)),
    }
}

pub fn files_backup(w: &mut World, m: &mut Model, tree: &Tree, p: Plan) -> Step {
    let digest = tree.digest();
    let r = run(w, p, &["--json", "backup", "tree"]);
    if !r.landed {
        must(&r, "backup tree")?;
    }
    if let Some(id) = snapshot_of(&r, "tree")? {
        let time = w
            .snapshots("main")?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| format!("reported snapshot {id} is not listed"))?
            .time;
        m.files.insert(id, (time, digest, p.step));
    }
    Ok(Some(r))
}

pub fn full(w: &mut World, m: &mut Model, db: &Db, p: Plan) -> Step {
    let acct = db.acct(&db.name);
    let before = db.ledger_max();
    let load = db.start_load();
    let r = run(w, p, &["--json", "backup", "db"]);
    load.stop();
    let after = db.ledger_max();
    if !r.landed {
        must(&r, "backup db")?;
    }
    if let Some(id) = snapshot_of(&r, "db")? {
        let snap = w
            .snapshots("main")?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| format!("reported full {id} is not listed"))?;
        let coordinates = snap
            .coordinates()
            .ok_or_else(|| format!("full {id} has no binlog coordinates: {}", snap.description))?;
        m.fulls.insert(
            id,
            Full {
                coordinates,
                acct,
                ledger: (before, after),
                step: p.step,
            },
        );
    }
    Ok(Some(r))
}

/// `binlog db --duration`, under the write load. SIGTERM asks it to stop cleanly: exit 0.
pub fn binlog(w: &mut World, db: &Db, rng: &mut Rng, p: Plan) -> Step {
    let secs = format!("{}s", 1 + rng.below(3));
    let load = db.start_load();
    let r = run(w, p, &["binlog", "db", "--duration", &secs]);
    load.stop();
    if !r.landed || p.fault == Fault::Term {
        must(&r, "binlog db")?;
    }
    Ok(Some(r))
}

/// Runs the archiver until the archive holds the server's current position (each run stores
/// what it read before it stops). A slow machine can need more than one run for a long
/// backlog: the runs grow longer (1, 2, 4 ... 30 s), and only a generous deadline fails the
/// step.
pub fn catch_up(w: &mut World, db: &Db, p: Plan) -> Result<(), String> {
    let (file, pos) = db.master();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    let mut furthest = None;
    for secs in (0..).map(|i| (1u64 << i.min(5)).min(30)) {
        let r = run(
            w,
            p.calm(),
            &["binlog", "db", "--duration", &format!("{secs}s")],
        );
        must(&r, "binlog db (catching up)")?;
        let end = w
            .snapshots("main")?
            .iter()
            .filter(|s| s.kind == "binlog")
            .flat_map(|s| s.part_ends())
            .max();
        if end
            .as_ref()
            .is_some_and(|(f, e)| *f > file || (*f == file && *e >= pos))
        {
            return Ok(());
        }
        furthest = end;
        if std::time::Instant::now() > deadline {
            break;
        }
    }
    Err(format!(
        "archiver runs, each stopped cleanly, for 4 minutes and the archive does not reach \
         {file}:{pos} (it ends at {furthest:?})"
    ))
}

pub fn copy(w: &mut World, m: &mut Model, rng: &mut Rng, p: Plan) -> Step {
    let to = match rng.below(3) {
        0 => vec!["--json", "copy", "--to", "nas"],
        1 => vec!["--json", "copy", "--to", "cloud"],
        _ => vec!["--json", "copy"],
    };
    let primary = w.snapshots("main")?;
    let r = run(w, p, &to);
    if !r.landed {
        must(&r, "copy")?;
    }
    // A cut target fails (exit 1) while the others' copies stand: each ok outcome counts.
    if r.out.code <= 1 {
        for o in json(&r.out)?.as_array().cloned().unwrap_or_default() {
            let Some(target) = TARGETS.iter().find(|t| o["repository"] == **t) else {
                continue;
            };
            if o["status"] != "ok" {
                continue;
            }
            let listed = w.snapshots(target)?;
            for id in o["copied"].as_array().unwrap() {
                let id = id.as_str().unwrap();
                let s = primary.iter().chain(listed.iter()).find(|s| s.id == id);
                let s = s.ok_or_else(|| format!("copied {id} is in neither listing\n{}", r.out))?;
                m.copies.entry(target).or_default().insert(s.time.clone());
            }
        }
    }
    Ok(Some(r))
}

/// The ids a `forget --json` document removes, per repository.
fn removals(v: &serde_json::Value) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for o in v.as_array().unwrap() {
        let gone: Vec<(String, String)> = o["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["keep"] == false)
            .map(|d| {
                let s = &d["snapshot"];
                (
                    s["id"].as_str().unwrap().into(),
                    s["time"].as_str().unwrap().into(),
                )
            })
            .collect();
        out.insert(o["repository"].as_str().unwrap().to_string(), gone);
    }
    out
}

/// `forget --prune` on every repository. What a dry run named may be gone after a kill; what
/// a finished run reports removed is gone.
pub fn forget(w: &mut World, m: &mut Model, p: Plan) -> Step {
    let dry = run(w, p.calm(), &["--json", "forget", "--dry-run"]);
    must(&dry, "forget --dry-run")?;
    let mut gone = removals(&json(&dry.out)?);
    let r = run(w, p, &["--json", "forget", "--prune"]);
    if !r.landed {
        must(&r, "forget --prune")?;
    }
    if r.ok() {
        gone = removals(&json(&r.out)?);
    }
    for (repo, removed) in gone {
        for (id, time) in removed {
            if repo == "main" {
                m.files.remove(&id);
                m.fulls.remove(&id);
            } else if let Some(set) = m.copies.get_mut(repo.as_str()) {
                set.remove(&time);
            }
        }
    }
    Ok(Some(r))
}

pub fn verify(w: &mut World, stats: &mut Stats, p: Plan) -> Step {
    let r = run(w, p, &["--json", "verify"]);
    if r.landed {
        return Ok(Some(r));
    }
    if r.out.code > 1 {
        return Err(format!("verify found damage\n{}", r.out));
    }
    for o in json(&r.out)?.as_array().unwrap() {
        if o["errors"] != 0 {
            return Err(format!("verify found errors\n{}", r.out));
        }
        for finding in o["findings"].as_array().unwrap() {
            stats.note(format!(
                "step {}: verify {}: {}",
                p.step, o["repository"], finding["message"]
            ));
        }
    }
    Ok(Some(r))
}
