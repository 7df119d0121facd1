//! `dxbackup diff A B`

use clap::Args;

use super::{bytes, print_json, Ctx, Exit};
use crate::job::diff::{diff, Diff};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older snapshot (id prefix, `latest` or `latest:SOURCE`)
    pub a: String,
    /// The newer snapshot
    pub b: String,
}

pub fn run(ctx: &Ctx, args: &DiffArgs) -> anyhow::Result<Exit> {
    let Diff { a, b, changes } = diff(ctx, &args.a, &args.b)?;
    if ctx.global.json {
        print_json(&changes)?;
        return Ok(Exit::Ok);
    }
    for c in &changes {
        let sign = match c.change {
            "added" => "+",
            "removed" => "-",
            "metadata" => "U",
            _ => "M",
        };
        let size = match (c.old_size, c.new_size) {
            (Some(o), Some(n)) if o != n => format!("  ({} -> {})", bytes(o), bytes(n)),
            _ => String::new(),
        };
        println!("{sign} {}{size}", c.path.display());
        for j in &c.json {
            println!("    {j}");
        }
    }
    let count = |k| changes.iter().filter(|c| c.change == k).count();
    println!(
        "{} -> {}: {} added, {} removed, {} modified",
        a.short_id(),
        b.short_id(),
        count("added"),
        count("removed"),
        count("modified") + count("metadata")
    );
    Ok(Exit::Ok)
}
