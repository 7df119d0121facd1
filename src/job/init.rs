//! Creating the configured repositories: an existing one is only opened (which checks its
//! password), never overwritten.

use serde::Serialize;

use super::Site;
use crate::repo::Repo;

#[derive(Debug, Serialize)]
pub struct InitOutcome {
    pub repository: String,
    pub url: String,
    pub created: bool,
}

pub fn init(site: &Site) -> anyhow::Result<Vec<InitOutcome>> {
    site.config
        .repository
        .keys()
        .map(|name| {
            let spec = site.spec(name)?;
            let (_, created) = Repo::init(&spec)?;
            Ok(InitOutcome {
                repository: name.clone(),
                url: spec.url.clone(),
                created,
            })
        })
        .collect()
}
