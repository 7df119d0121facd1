//! Opening a repository again without deriving its key: the derivation (scrypt) is what an
//! open costs, by design, and `status` or a daemon opens the same repository many times.

use rustic_core::repofile::MasterKey;
use rustic_core::Credentials;

use super::{backends, Context, Repo, RepoSpec, Result};

/// A repository's master key, as an open gave it: held in memory only, never printed.
#[derive(Clone)]
pub struct RepoKey(MasterKey);

impl Repo {
    /// Opens with the key of an earlier open ([`Repo::key`]), without deriving it again.
    pub fn open_with_key(spec: &RepoSpec, key: &RepoKey) -> Result<Self> {
        let inner = backends(spec)?
            .open(&Credentials::Masterkey(key.0.clone()))
            .ctx(|| format!("cannot open repository `{}`", spec.name))?;
        Ok(Self::wrap(spec, inner))
    }

    /// The repository's master key, to open it again at no cost ([`Repo::open_with_key`]).
    pub fn key(&self) -> RepoKey {
        RepoKey(self.key.clone())
    }
}
