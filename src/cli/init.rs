//! `dxbackup init`

use serde::Serialize;

use super::{print_json, Ctx, Exit};
use crate::repo::Repo;

#[derive(Serialize)]
struct InitResult {
    repository: String,
    url: String,
    created: bool,
}

pub fn run(ctx: &Ctx) -> anyhow::Result<Exit> {
    let mut results = Vec::new();
    for name in ctx.config.repository.keys() {
        let spec = ctx.spec(name)?;
        let (_, created) = Repo::init(&spec)?;
        results.push(InitResult {
            repository: name.clone(),
            url: spec.url.clone(),
            created,
        });
    }
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
