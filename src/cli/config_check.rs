//! `dxbackup config check`: every problem at once, then what the config resolves to.

use anyhow::Context as _;

use super::{print_json, Ctx, Exit, GlobalArgs};
use crate::config::{self, ConfigError};

pub fn run(global: &GlobalArgs) -> anyhow::Result<Exit> {
    let path = config::find(global.config.as_deref())?;
    match config::load(&path) {
        Ok(_) => {}
        Err(ConfigError::Invalid { path, problems }) => {
            if global.json {
                print_json(
                    &serde_json::json!({ "file": path, "ok": false, "problems": problems }),
                )?;
            } else {
                for p in &problems {
                    println!("{}", p.render(&path));
                }
                println!("{} problem(s)", problems.len());
            }
            return Ok(Exit::Error);
        }
        Err(e) => return Err(e.into()),
    }
    let ctx = Ctx::load(global.clone()).context("config check")?;
    let mut notes = Vec::new();
    for name in ctx.config.repository.keys() {
        // Resolving proves the password source works; the password itself is never shown.
        if let Err(e) = ctx.spec(name) {
            notes.push(format!("{e:#}"));
        }
    }
    for (name, src) in &ctx.config.source {
        if let Err(e) = ctx.source_root(name, src) {
            notes.push(format!("{e:#}"));
        }
    }
    if global.json {
        print_json(
            &serde_json::json!({ "file": path, "ok": notes.is_empty(), "problems": notes }),
        )?;
    } else {
        for n in &notes {
            println!("{}: {n}", path.display());
        }
        let (primary, _) = ctx.primary();
        println!(
            "{}: {} repositories (primary `{primary}`), {} sources{}",
            path.display(),
            ctx.config.repository.len(),
            ctx.config.source.len(),
            if notes.is_empty() { ", ok" } else { "" }
        );
    }
    Ok(if notes.is_empty() {
        Exit::Ok
    } else {
        Exit::Error
    })
}
