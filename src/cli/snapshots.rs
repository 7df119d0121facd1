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
    let snaps: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|s| args.source.is_none() || s.source == args.source)
        .collect();
    if ctx.global.json {
        print_json(&snaps)?;
        return Ok(Exit::Ok);
    }
    println!(
        "{:<8}  {:<25}  {:<12}  {:<6}  {:<16}  {:>8}  {:>10}",
        "id", "time", "source", "kind", "host", "files", "size"
    );
    for s in &snaps {
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
        println!(
            "{:<8}  {:<25}  {:<12}  {:<6}  {:<16}  {:>8}  {:>10}",
            s.short_id(),
            time,
            s.source.as_deref().unwrap_or("-"),
            s.kind.as_deref().unwrap_or("-"),
            s.host,
            files,
            size
        );
    }
    println!("{} snapshot(s) in `{}`", snaps.len(), repo.name);
    Ok(Exit::Ok)
}
