//! What the dashboard shows and `dxbackup report` writes, as data: the overview (every
//! source against its RPO and RTO, the repositories, 3-2-1, findings), one source in detail
//! (runs, trends, snapshots, restore chain), a restore plan to a time, and the report for a
//! period (the seed's weekly monitor report and more). Built from the catalog and the last
//! observation of the repositories (`observe`), never by opening a repository per view.
//!
//! The web pages render these models as HTML and JSON; `html` and `markdown` render the
//! period report as one self-contained file.

pub mod compliance;
pub mod detail;
mod html;
mod markdown;
pub mod observe;
pub mod overview;
pub mod period;
pub mod restore_plan;
pub mod sources;
pub mod trend;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::job::Site;
pub use period::PeriodReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "markdown",
        }
    }
}

/// What was written.
#[derive(Debug, Serialize)]
pub struct Written {
    pub path: PathBuf,
    pub format: &'static str,
    pub bytes: usize,
    pub sources: usize,
    pub since: jiff::Timestamp,
    pub until: jiff::Timestamp,
}

/// The report of the last `period` as text, every secret of the config removed.
pub fn render(site: &Site, report: &PeriodReport, format: Format) -> String {
    let text = match format {
        Format::Html => html::render(report),
        Format::Markdown => markdown::render(report),
    };
    let token = crate::web::token_problem(site)
        .is_none()
        .then(|| {
            site.config
                .web
                .as_ref()?
                .token_file
                .as_ref()
                .map(|p| site.resolve(p))
        })
        .flatten()
        .and_then(|p| crate::web::read_token(&p).ok())
        .unwrap_or_default();
    crate::web::Redactor::for_site(site, &token)
        .clean(&text, format == Format::Html)
        .unwrap_or(text)
}

/// Observes the repositories (unless `observe` is off: the daemon's dashboard keeps the
/// observation fresh), builds the report of the last `period`, writes it to `path` whole
/// (a temporary file renamed into place) and returns it with what was written.
pub fn write(
    site: &Site,
    path: &Path,
    format: Format,
    period: Duration,
    observe: bool,
) -> anyhow::Result<(Written, String)> {
    if observe {
        observe::refresh(site).context("observing the repositories")?;
    }
    let now = jiff::Timestamp::now();
    let since = now.checked_sub(jiff::SignedDuration::try_from(period)?)?;
    let report = period::build(site, &site.catalog()?, since, now)?;
    let text = render(site, &report, format);
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok((
        Written {
            path: path.to_path_buf(),
            format: format.as_str(),
            bytes: text.len(),
            sources: report.sources.len(),
            since,
            until: now,
        },
        text,
    ))
}
