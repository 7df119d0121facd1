//! `dxbackup init`

use super::{print_json, Ctx, Exit};
use crate::job::init::init;

pub fn run(ctx: &Ctx) -> anyhow::Result<Exit> {
    let results = init(ctx)?;
    if ctx.global.json {
        print_json(&results)?;
    } else {
        for r in &results {
            let what = if r.created {
                "created"
            } else {
                "already exists, password ok"
            };
            println!("{}: {} ({})", r.repository, what, r.url);
        }
    }
    Ok(Exit::Ok)
}
