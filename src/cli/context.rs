//! What every command runs in: its global flags and the site (config, state directory) the
//! jobs take. `Ctx` dereferences to the [`Site`], so commands read `ctx.config` directly.

use std::path::PathBuf;

use super::GlobalArgs;
use crate::config;
use crate::job::Site;

pub struct Ctx {
    pub global: GlobalArgs,
    pub site: Site,
}

impl std::ops::Deref for Ctx {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
}

impl Ctx {
    pub fn load(global: GlobalArgs) -> anyhow::Result<Self> {
        let path = config::find(global.config.as_deref())?;
        let state_dir = global.state_dir.clone().unwrap_or_else(default_state_dir);
        let mut site = Site::load(&path, state_dir)?;
        if let (Some(base), Some(name)) = (&global.config_base, path.file_name()) {
            site.config.path = base.join(name);
        }
        site.progress = super::progress_visible(&global);
        if let Some(w) = global.lock_wait {
            site.lock_wait = w;
        }
        Ok(Self { global, site })
    }
}

/// Without `--state-dir`/`$DXBACKUP_STATE_DIR` (clap reads both): `$XDG_STATE_HOME/dxbackup`
/// when set, for root too (a root service may be given its own state dir this way); then
/// `/var/lib/dxbackup` for root, `~/.local/state/dxbackup` for anyone else.
pub fn default_state_dir() -> PathBuf {
    // As the user set it: main points the variable at the ssh control sockets' folder.
    if let Some(x) = crate::repo::user_state_home().filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("dxbackup");
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/dxbackup");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/state/dxbackup")
}
