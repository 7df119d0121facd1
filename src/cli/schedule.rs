//! `dxbackup schedule`: every schedule, its last run, its next time, and a catch-up due.

use clap::Args;
use serde::Serialize;

use super::{print_json, Ctx, Exit};
use crate::catalog::ScheduleRun;
use crate::schedule::{self, Decision};

#[derive(Debug, Args)]
pub struct ScheduleArgs {}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    job: String,
    cron: String,
    sources: Vec<String>,
    mode: String,
    /// From the seed's default plan (no `[schedule]` configured).
    default: bool,
    next: Option<String>,
    /// A missed slot the daemon will run once when it (re)starts.
    catch_up_due: Option<String>,
    last: Option<ScheduleRun>,
}

pub fn run(ctx: &Ctx, _args: &ScheduleArgs) -> anyhow::Result<Exit> {
    let catalog = ctx.catalog()?;
    let now = jiff::Zoned::now();
    let mut rows = Vec::new();
    for s in schedule::effective(&ctx.config)? {
        let handled = catalog.last_slot_handled(&s.name)?;
        let catch_up_due = match schedule::due(&s, handled, false, &now)? {
            Decision::Run {
                slot,
                catch_up: true,
            } => Some(local(&slot)),
            _ => None,
        };
        rows.push(Row {
            job: s.job.as_str().into(),
            cron: s.cron.to_string(),
            sources: s.sources.clone(),
            mode: format!("{:?}", s.mode).to_lowercase(),
            default: s.default,
            next: schedule::next_after(&s, &now).ok().map(|t| local(&t)),
            catch_up_due,
            last: catalog.schedule_runs(Some(&s.name), 1)?.into_iter().next(),
            name: s.name,
        });
    }
    let daemon = crate::daemon::last_heartbeat(&catalog);
    if ctx.global.json {
        print_json(&serde_json::json!({ "schedules": rows, "daemon": daemon }))?;
        return Ok(Exit::Ok);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let last = r.last.as_ref().map_or("never".to_string(), |l| {
                format!(
                    "{} {}{}",
                    l.status.as_str(),
                    local(&l.started_at.to_zoned(jiff::tz::TimeZone::system())),
                    l.mode.as_ref().map_or(String::new(), |m| format!(" ({m})"))
                )
            });
            vec![
                r.name.clone(),
                r.job.clone(),
                r.cron.clone(),
                r.next.clone().unwrap_or_default(),
                last,
                r.catch_up_due
                    .as_ref()
                    .map_or(String::new(), |s| format!("catch-up of {s} due")),
            ]
        })
        .collect();
    super::table::print(
        &["schedule", "job", "cron", "next", "last run", ""],
        &[false; 6],
        &table,
    );
    match daemon {
        Some(hb) => println!(
            "daemon: pid {} on {}, last heartbeat {}",
            hb.pid,
            hb.host,
            local(&hb.at.to_zoned(jiff::tz::TimeZone::system()))
        ),
        None => println!("daemon: never ran with this state directory (start 'dxbackup daemon')"),
    }
    if rows.iter().any(|r| r.default) {
        println!("(no [schedule] configured: the seed's default plan)");
    }
    Ok(Exit::Ok)
}

fn local(t: &jiff::Zoned) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}
