//! `dxbackup snapshots [--source S]`

use clap::Args;

use super::{bytes, print_json, Ctx, Exit};

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    /// Read from this repository instead of the primary (a copy target)
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,
    /// Only snapshots of this source
    #[arg(long)]
    pub source: Option<String>,
}

pub fn run(ctx: &Ctx, args: &SnapshotsArgs) -> anyhow::Result<Exit> {
    let repo = ctx.open_repo(args.repo.as_deref())?;
    let all = repo.snapshots()?;
    if let Some(want) = &args.source {
        // A source no longer configured still has its snapshots listed; a name that is
        // neither configured nor in the repository is a mistake, as for `backup`.
        let known = ctx.config.source.contains_key(want)
            || all
                .iter()
                .any(|s| s.source.as_deref() == Some(want.as_str()));
        if !known {
            let configured: Vec<&str> = ctx.config.source.keys().map(String::as_str).collect();
            anyhow::bail!(
                "no source `{want}`; configured: {}",
                if configured.is_empty() {
                    "none".to_string()
                } else {
                    configured.join(", ")
                }
            );
        }
    }
    let snaps: Vec<_> = all
        .into_iter()
        .filter(|s| args.source.is_none() || s.source == args.source)
        .collect();
    if ctx.global.json {
        print_json(&snaps)?;
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<String>> = snaps
        .iter()
        .map(|s| {
            let (files, size) = s
                .summary
                .as_ref()
                .map_or((String::new(), String::new()), |m| {
                    (
                        (m.files_new + m.files_changed + m.files_unmodified).to_string(),
                        bytes(m.bytes_processed),
                    )
                });
            let time = s
                .time
                .to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S %z")
                .to_string();
            vec![
                s.short_id().to_string(),
                time,
                s.source.clone().unwrap_or_else(|| "-".into()),
                s.kind.clone().unwrap_or_else(|| "-".into()),
                s.host.clone(),
                files,
                size,
            ]
        })
        .collect();
    super::table::print(
        &["id", "time", "source", "kind", "host", "files", "size"],
        &[false, false, false, false, false, true, true],
        &rows,
    );
    println!(
        "{} in `{}`",
        super::count(snaps.len(), "snapshot", "snapshots"),
        repo.name
    );
    Ok(Exit::Ok)
}
