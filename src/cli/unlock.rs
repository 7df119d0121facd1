//! `dxbackup unlock [--repo NAME] [--remove-all]`: removes the locks processes left behind.
//! Stale locks are removed by every operation that meets one; this is for doing it by hand,
//! and with `--remove-all` for locks of processes that are gone on other hosts.

use clap::Args;
use serde::Serialize;

use super::{print_json, Ctx, Exit};
use crate::repo::{LockInfo, Unlocked};

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Only this repository [default: all configured]
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,
    /// Remove every lock, also those of processes still running (restic's --remove-all)
    #[arg(long)]
    pub remove_all: bool,
}

#[derive(Serialize)]
struct Outcome {
    repository: String,
    #[serde(flatten)]
    result: Option<Unlocked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(ctx: &Ctx, args: &UnlockArgs) -> anyhow::Result<Exit> {
    let names: Vec<String> = match &args.repo {
        Some(r) => vec![r.clone()],
        None => ctx.config.repository.keys().cloned().collect(),
    };
    let outcomes: Vec<Outcome> = names
        .into_iter()
        .map(|name| {
            let result = ctx
                .open_repo(Some(&name))
                .and_then(|repo| Ok(repo.unlock(args.remove_all)?));
            let (result, error) = match result {
                Ok(u) => (Some(u), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            };
            Outcome {
                repository: name,
                result,
                error,
            }
        })
        .collect();
    if ctx.global.json {
        print_json(&outcomes)?;
    } else {
        outcomes.iter().for_each(print);
    }
    let failed = outcomes.iter().any(|o| o.error.is_some());
    Ok(if failed { Exit::Error } else { Exit::Ok })
}

fn print(o: &Outcome) {
    let name = &o.repository;
    let Some(u) = &o.result else {
        let error = o.error.as_deref().unwrap_or_default();
        return eprintln!("error: repository `{name}`: {error}");
    };
    let removed = |l: &LockInfo| if l.stale { "stale lock" } else { "lock" };
    for l in &u.removed {
        println!("{name}: removed {} of {}", removed(l), l.holder);
    }
    for l in &u.kept {
        println!(
            "{name}: kept the lock of {} (not stale; --remove-all removes it)",
            l.holder
        );
    }
    if u.removed.is_empty() && u.kept.is_empty() {
        println!("{name}: no locks");
    }
}
