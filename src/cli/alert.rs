//! `dxbackup alert test [CHANNEL]`: a test message to every channel (or one), and how it went.

use clap::{Args, Subcommand};

use super::{print_json, Ctx, Exit};

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Send a test message to every channel, or to the one named
    #[command(
        after_help = "Examples:\n  dxbackup alert test\n  dxbackup alert test ops-mail\n  dxbackup --json alert test dingtalk\n\n\
Exit 0 when every channel took the message, 2 when one failed (the error says why)."
    )]
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Only this channel ([alert.NAME])
    pub channel: Option<String>,
}

pub fn run(ctx: &Ctx, cmd: &AlertCommand) -> anyhow::Result<Exit> {
    let AlertCommand::Test(args) = cmd;
    anyhow::ensure!(
        !ctx.config.alert.is_empty(),
        "no alert channel configured: add [alert.NAME] (see README, \"Monitoring and alerts\")"
    );
    let deliveries = crate::job::monitor::test(ctx, args.channel.as_deref())?;
    if ctx.global.json {
        print_json(&deliveries)?;
    } else {
        for d in &deliveries {
            match &d.error {
                None => println!(
                    "{} ({}): sent in {:.1} s",
                    d.channel, d.kind, d.duration_secs
                ),
                Some(e) if d.channel.is_empty() => println!("FAILED: {e}"),
                Some(e) => println!(
                    "{} ({}): FAILED after {} attempt(s): {e}",
                    d.channel, d.kind, d.attempts
                ),
            }
        }
    }
    Ok(if deliveries.iter().all(|d| d.ok) {
        Exit::Ok
    } else {
        Exit::Error
    })
}
