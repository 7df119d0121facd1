//! `recover`: disaster recovery on a machine that has nothing but the off-site repository's
//! URL and password. The config comes from the newest snapshot (`setup`), the plan from the
//! repository alone (every source's snapshot or chain, its bytes, an estimate from the RTO
//! records drills left in the repository, `rto`), and the restore runs the files sources and
//! the databases side by side (`execute`), each measured against its tier's RTO.

mod execute;
mod plan;
pub mod setup;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Serialize;

pub use self::execute::{execute, RecoverOutcome, SourceResult};
use self::plan::{critical_tier, estimate, plan_files, plan_mysql, roots, selected};
use super::restore::RestoreRequest;
use super::restore_db::{self, RestoreDbRequest};
use super::rto::{self, RtoBook};
use super::Site;
use crate::config::SourceKind;
use crate::restore::Overwrite;
use crate::source::mysql::chain::Chain;

/// Which parts a recovery brings back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RecoverMode {
    /// `conf/` and `job/` of every files source and the databases of the most critical tier
    /// first (reported usable as soon as they are), then the rest.
    Fast,
    /// Everything at once.
    Full,
    /// Only what `--only` names.
    Partial,
}

/// A part `--only` names: a DataX folder of every files source, every database (`data`), or
/// one source by name (`db:NAME`, `files:NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Folder(String),
    Data,
    Source(String),
}

impl std::str::FromStr for Part {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "conf" | "config" => Self::Folder("conf".into()),
            "job" | "jobs" => Self::Folder("job".into()),
            "script" | "scripts" => Self::Folder("script".into()),
            "plugin" | "plugins" => Self::Folder("plugin".into()),
            "data" => Self::Data,
            other => match other.split_once(':') {
                Some(("db" | "files", name)) if !name.is_empty() => Self::Source(name.into()),
                _ => {
                    return Err(format!(
                        "`{other}`: use conf, job, script, plugin, data, db:SOURCE or files:SOURCE"
                    ))
                }
            },
        })
    }
}

/// Everything `recover` is told; secrets come as files, never as values.
#[derive(Debug, Clone)]
pub struct RecoverRequest {
    pub from: String,
    pub password_file: PathBuf,
    pub access_key_file: Option<PathBuf>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub until: Option<String>,
    pub mode: RecoverMode,
    pub only: Vec<Part>,
    /// Where the DataX home goes (the files source `datax`, or the only files source).
    pub datax_home: Option<PathBuf>,
    /// Other files sources: `NAME=DIR`.
    pub roots: Vec<(String, PathBuf)>,
    /// Physical fulls: the data directory to install into (a stopped server's, or new).
    pub mysql_datadir: Option<PathBuf>,
    /// Physical fulls: serve the restored directory on a throwaway server instead.
    pub serve: bool,
    /// Logical fulls: the server to load into, `HOST:PORT` or a socket.
    pub into_server: Option<String>,
    pub mysql_password_file: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub write_config: Option<PathBuf>,
    pub overwrite: Overwrite,
    pub jobs: Option<usize>,
    pub dry_run: bool,
}

/// The plan, as printed before anything is written.
#[derive(Debug, Serialize)]
pub struct RecoverPlan {
    pub repository: String,
    /// The snapshot whose stored config the sources come from.
    pub config_from: String,
    pub until: Option<String>,
    pub mode: RecoverMode,
    pub steps: Vec<Step>,
    /// Sources that cannot be recovered as asked, and why.
    pub refused: Vec<Refused>,
    /// The longest of the two lanes (files, databases), from the recorded RTOs.
    pub estimate_secs: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Refused {
    pub source: String,
    pub error: String,
}

/// One source's part of the plan.
#[derive(Debug, Serialize)]
pub struct Step {
    pub source: String,
    pub kind: &'static str,
    pub tier: String,
    pub rto_target_secs: f64,
    /// Fast mode: restored in the first wave.
    pub first: bool,
    pub snapshot: String,
    pub snapshot_time: String,
    pub target: String,
    /// Files sources: the folders restored (empty: all).
    pub only: Vec<String>,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    pub estimate_secs: Option<f64>,
    pub estimate_from: Option<String>,
}

/// A plan with what executing it needs.
pub struct Prepared {
    pub plan: RecoverPlan,
    site: Site,
    work: Vec<Work>,
    /// `--write-config` (never in a dry run).
    write_to: Option<PathBuf>,
    /// Holds the working config (and, in a dry run, the state) until the end.
    _dir: tempfile::TempDir,
}

enum Work {
    Files(RestoreRequest),
    /// One database (logical) or the whole server (physical); a source's databases share
    /// the chain planned once.
    Mysql(RestoreDbRequest, std::sync::Arc<restore_db::Plan>),
}

/// Reads the repository and plans; writes nothing (a dry run's state lives in a temp dir).
pub fn prepare(req: &RecoverRequest) -> anyhow::Result<Prepared> {
    let dir = tempfile::Builder::new()
        .prefix("dxbackup-recover")
        .tempdir()?;
    let state = if req.dry_run {
        dir.path().join("state")
    } else {
        req.state_dir.clone()
    };
    let bare = setup::repository_site(req, dir.path(), &state)?;
    let repo = bare.open_primary()?;
    let reader = repo.reader()?;
    let (stored, config_from) = setup::stored_config(&repo, &reader)?;
    let book = rto::read(&repo, &reader).unwrap_or_else(|e| {
        tracing::warn!("cannot read the RTO records: {e:#}");
        RtoBook::default()
    });
    let roots = roots(req, &stored)?;
    let site = setup::load(
        &setup::working_config(req, &stored, &roots)?,
        dir.path(),
        &state,
    )?;
    let until = restore_db::parse_until(req.until.as_deref(), None, None)?;
    let snaps = repo.snapshots()?;
    let first_tier = critical_tier(&site);
    let (mut steps, mut work, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for (name, src) in &site.config.source {
        let Some(folders) = selected(req, name, src.kind) else {
            continue;
        };
        let planned = match src.kind {
            SourceKind::Files => {
                plan_files(&site, req, name, &snaps, &until, folders).map(|p| vec![p])
            }
            SourceKind::Mysql => plan_mysql(&site, req, name, &until),
        };
        let planned = match planned {
            Ok(v) => v,
            Err(e) => {
                refused.push(Refused {
                    source: name.clone(),
                    error: format!("{e:#}"),
                });
                continue;
            }
        };
        let share = 1.0 / planned.len() as f64;
        let rto = site
            .config
            .tier
            .get(&src.tier)
            .map_or(Duration::ZERO, |t| t.rto.0);
        let first = match src.kind {
            SourceKind::Files => true,
            SourceKind::Mysql => first_tier.as_deref() == Some(src.tier.as_str()),
        };
        for (mut step, w) in planned {
            step.tier.clone_from(&src.tier);
            step.rto_target_secs = rto.as_secs_f64();
            step.first = first;
            estimate(&mut step, &book, share);
            steps.push(step);
            work.push(w);
        }
    }
    if steps.is_empty() && refused.is_empty() {
        bail!("nothing to recover: no source of the stored config matches --only");
    }
    // Each lane runs its steps one after the other; the lanes run side by side.
    let lane = |kind: &str| -> Option<f64> {
        steps
            .iter()
            .filter(|s| s.kind == kind)
            .try_fold(0.0, |sum, s| Some(sum + s.estimate_secs?))
    };
    let estimate_secs = match (lane("files"), lane("mysql")) {
        (Some(a), Some(b)) if !steps.is_empty() => Some(a.max(b)),
        _ => None,
    };
    let plan = RecoverPlan {
        repository: req.from.clone(),
        config_from,
        until: req.until.clone(),
        mode: req.mode,
        steps,
        refused,
        estimate_secs,
    };
    Ok(Prepared {
        plan,
        site,
        work,
        write_to: req.write_config.clone().filter(|_| !req.dry_run),
        _dir: dir,
    })
}

/// Writes the working config for the new host: the off-site repository, the sources where
/// they were restored (secrets still as files to fill in).
pub fn write_config(p: &Prepared, path: &Path) -> anyhow::Result<()> {
    let text = format!(
        "# Written by `dxbackup recover` from the config stored in snapshot {}.\n# Check the sources' hosts and password files, add this host's repositories and schedules.\n{}",
        &p.plan.config_from[..8.min(p.plan.config_from.len())],
        toml::to_string(&p.site.config)?
    );
    crate::private::write(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
