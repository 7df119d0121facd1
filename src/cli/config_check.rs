//! `dxbackup config check`: every problem at once, in line order, each as
//! `FILE:LINE:COL: KEY: message`; then, for a config that parses, what it resolves to: password
//! sources (never shown), roots, and what a config stored in a snapshot had removed.

use std::path::Path;

use anyhow::Context as _;

use super::{print_json, Ctx, Exit, GlobalArgs};
use crate::config::{self, ConfigError, Problem, SourceConfig, SourceKind};

pub fn run(global: &GlobalArgs) -> anyhow::Result<Exit> {
    let path = config::find(global.config.as_deref())?;
    let (problems, ctx) = match config::load(&path) {
        Ok(_) => {
            let ctx = Ctx::load(global.clone()).context("config check")?;
            (resolve(&ctx, &path)?, Some(ctx))
        }
        Err(ConfigError::Invalid { problems, .. }) => (problems, None),
        Err(e) => return Err(e.into()),
    };
    let ok = problems.is_empty();
    if global.json {
        print_json(&serde_json::json!({ "file": path, "ok": ok, "problems": problems }))?;
    } else {
        for p in &problems {
            println!("{}", p.render(&path));
        }
        match &ctx {
            Some(ctx) if ok => {
                let (primary, _) = ctx.primary();
                println!(
                    "{}: {} (primary `{primary}`), {}, ok",
                    path.display(),
                    super::count(ctx.config.repository.len(), "repository", "repositories"),
                    super::count(ctx.config.source.len(), "source", "sources"),
                );
            }
            _ => println!("{}", super::count(problems.len(), "problem", "problems")),
        }
    }
    Ok(if ok { Exit::Ok } else { Exit::Error })
}

/// What a valid config still needs from the world, located in its text.
fn resolve(ctx: &Ctx, path: &Path) -> anyhow::Result<Vec<Problem>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let env_password = std::env::var("DXBACKUP_PASSWORD").is_ok_and(|p| !p.is_empty());
    // A stored config's `<removed>` keys: named with what to supply, not tried.
    let mut problems = config::removed_secrets(&ctx.config, env_password);
    for name in ctx.config.repository.keys() {
        let key = format!("repository.{name}");
        if problems
            .iter()
            .any(|p| p.key.starts_with(&format!("{key}.")))
        {
            continue;
        }
        // Resolving proves the password source works; the password itself is never shown.
        if let Err(e) = ctx.spec(name) {
            problems.push(Problem::new(key, unprefixed(&e, "repository", name)));
        }
    }
    for (name, src) in &ctx.config.source {
        let key = format!("source.{name}");
        if problems
            .iter()
            .any(|p| p.key.starts_with(&format!("{key}.")))
        {
            continue;
        }
        let (key, result) = match src.kind {
            SourceKind::Files => (format!("{key}.root"), ctx.source_root(name, src).map(drop)),
            SourceKind::Mysql => (
                password_key(&key, src),
                ctx.mysql_password(name, src).map(drop),
            ),
        };
        if let Err(e) = result {
            problems.push(Problem::new(key, unprefixed(&e, "source", name)));
        }
    }
    config::locate_sorted(&text, &mut problems);
    Ok(problems)
}

/// The key a mysql source's password comes from.
fn password_key(key: &str, src: &SourceConfig) -> String {
    match (&src.password_file, &src.password_env) {
        (Some(_), _) => format!("{key}.password-file"),
        (None, Some(_)) => format!("{key}.password-env"),
        (None, None) => key.to_string(),
    }
}

/// The error chain without its "repository `NAME`: " start: the key in front names it.
fn unprefixed(e: &anyhow::Error, what: &str, name: &str) -> String {
    let text = format!("{e:#}");
    let prefix = format!("{what} `{name}`: ");
    text.strip_prefix(&prefix).unwrap_or(&text).to_string()
}
