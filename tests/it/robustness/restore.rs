//! Restores compared with what the model remembers: a random earlier files snapshot (from the
//! primary or from a target that holds its copy) must give byte for byte the tree that backup
//! saw; a full (restored to its own binlog position) `acct` exactly and a prefix of the
//! ledger; a recorded point in time the whole database. A killed restore is run again into
//! the same place and must then be right.

use std::fs;

use super::model::Db;
use super::ops::{catch_up, Mark, Model, Step};
use super::run::{run, Plan};
use super::world::{World, TARGETS};
use super::{Rng, Stats};
use crate::util::snapshot_tree;

fn pick<T: Clone>(rng: &mut Rng, v: &[T]) -> Option<T> {
    (!v.is_empty()).then(|| v[rng.below(v.len() as u64) as usize].clone())
}

pub fn files(w: &mut World, m: &Model, rng: &mut Rng, stats: &mut Stats, p: Plan) -> Step {
    let ids: Vec<String> = m.files.keys().cloned().collect();
    let Some(id) = pick(rng, &ids) else {
        return Ok(None);
    };
    let (time, digest, made) = &m.files[&id];
    // From a target holding its copy, half of the time.
    let holders: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| m.copies.get(t).is_some_and(|s| s.contains(time)))
        .collect();
    let mut repo = "main";
    let mut snap = id.clone();
    if rng.chance(0.5) {
        if let Some(t) = pick(rng, &holders) {
            let listed = w.snapshots(t)?;
            let s = listed
                .iter()
                .find(|s| &s.time == time && s.kind == "files")
                .ok_or_else(|| format!("{t} lost the copy of {id} (time {time})"))?;
            repo = t;
            snap = s.id.clone();
        }
    }
    let dest = w.env.path(&format!("restore/{}", p.step));
    let dest_s = dest.to_str().unwrap().to_string();
    let args = [
        "restore",
        snap.as_str(),
        "--target",
        dest_s.as_str(),
        "--repo",
        repo,
    ];
    let r = run(w, p, &args);
    if r.landed {
        // Interrupted: the same restore again finishes it.
        let again = run(w, p.calm(), &args);
        if !again.ok() {
            return Err(format!(
                "restore after an interrupted one failed\n{}",
                again.out
            ));
        }
    } else if !r.ok() {
        return Err(format!("restore failed\n{}", r.out));
    }
    let got = snapshot_tree(&dest);
    if &got != digest {
        let mut diff = String::new();
        for (k, v) in digest {
            if got.get(k) != Some(v) {
                diff += &format!("  {}: want {v}, got {:?}\n", k.display(), got.get(k));
            }
        }
        for k in got.keys().filter(|k| !digest.contains_key(*k)) {
            diff += &format!("  not in the snapshot: {}\n", k.display());
        }
        return Err(format!(
            "files snapshot {id} (step {made}) restored from {repo} differs from the tree it saved:\n{diff}"
        ));
    }
    stats.restored(if repo == "main" {
        "files"
    } else {
        "files from a target"
    });
    fs::remove_dir_all(&dest).unwrap();
    Ok(Some(r))
}

/// Which database state a restore-db must give.
enum Want<'a> {
    Full(&'a str),
    At(&'a Mark),
}

pub fn database(
    w: &mut World,
    m: &Model,
    db: &Db,
    rng: &mut Rng,
    stats: &mut Stats,
    p: Plan,
) -> Step {
    let fulls: Vec<String> = m.fulls.keys().cloned().collect();
    // A point in time whose full is still kept (its chain, and so the point, must be).
    let marks: Vec<usize> = (0..m.marks.len())
        .filter(|i| m.marks[*i].fulls.iter().any(|f| m.fulls.contains_key(f)))
        .collect();
    let want = match (rng.chance(0.5), pick(rng, &fulls), pick(rng, &marks)) {
        (true, Some(id), _) | (false, Some(id), None) => {
            Want::Full(m.fulls.get_key_value(&id).unwrap().0)
        }
        (_, _, Some(i)) => Want::At(&m.marks[i]),
        _ => return Ok(None),
    };
    catch_up(w, db, p)?;
    let into = format!("{}_r{}", db.name, p.step);
    let until = match &want {
        Want::Full(id) => vec![
            "--until-position".to_string(),
            m.fulls[*id].coordinates.clone(),
        ],
        Want::At(mark) => vec!["--until".to_string(), mark.t.clone()],
    };
    let mut args = vec![
        "restore-db",
        "db",
        "--into",
        into.as_str(),
        until[0].as_str(),
        until[1].as_str(),
    ];
    let r = run(w, p, &args);
    if r.landed {
        args.push("--force");
        let again = run(w, p.calm(), &args);
        if !again.ok() {
            return Err(format!(
                "restore-db after an interrupted one failed\n{}",
                again.out
            ));
        }
    } else if !r.ok() {
        return Err(format!("restore-db failed\n{}", r.out));
    }
    match want {
        Want::Full(id) => {
            let full = &m.fulls[id];
            let acct = db.acct(&into);
            if acct != full.acct {
                return Err(format!(
                    "full {id} (step {}): acct {acct}, saved {}",
                    full.step, full.acct
                ));
            }
            let n = db.ledger_prefix(&into)?;
            if n < full.ledger.0 || n > full.ledger.1 {
                return Err(format!(
                    "full {id} (step {}): ledger up to {n}, the full ran while it went from {} to {}",
                    full.step, full.ledger.0, full.ledger.1
                ));
            }
            stats.restored("mysql full");
        }
        Want::At(mark) => {
            let got = db.fingerprint(&into);
            if got != mark.fingerprint {
                return Err(format!(
                    "restore-db --until {}: {got:?}, at that time {:?}",
                    mark.t, mark.fingerprint
                ));
            }
            stats.restored("mysql point in time");
        }
    }
    db.drop_db(&into);
    Ok(Some(r))
}

/// Records a point in time: the load is stopped, so the second holds the whole state.
pub fn mark(m: &mut Model, db: &mut Db, rng: &mut Rng) {
    crate::mysql::next_second();
    let t = db.now_local();
    let fingerprint = db.fingerprint(&db.name);
    crate::mysql::next_second();
    // An event after the second proves to the archive that the second is complete.
    db.mutate(rng);
    m.marks.push(Mark {
        t,
        fingerprint,
        fulls: m.fulls.keys().cloned().collect(),
    });
}
