//! `dxbackup daemon [--print-systemd-unit]`

use clap::Args;

use super::signals::{self, DaemonSignal};
use super::{Ctx, Exit};
use crate::daemon::{self, DaemonOptions, Event};

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Print a systemd unit for this config and state directory, and exit
    #[arg(long)]
    pub print_systemd_unit: bool,
}

pub fn run(ctx: &Ctx, args: &DaemonArgs) -> anyhow::Result<Exit> {
    let opts = DaemonOptions {
        config: std::path::absolute(&ctx.config.path)?,
        state_dir: std::path::absolute(&ctx.state_dir)?,
        exe: std::env::current_exe()?,
    };
    if args.print_systemd_unit {
        let local: Vec<String> = ctx
            .config
            .repository
            .keys()
            .filter_map(|n| ctx.spec(n).ok())
            .filter(|s| !s.location.is_remote())
            .map(|s| s.url)
            .collect();
        print!(
            "{}",
            daemon::systemd::unit(&opts.exe, &opts.config, &opts.state_dir, &local)
        );
        return Ok(Exit::Ok);
    }
    let signals = signals::daemon_signals();
    let (tx, events) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("daemon-signals".into())
        .spawn(move || {
            for s in signals {
                let e = match s {
                    DaemonSignal::Reload => Event::Reload,
                    DaemonSignal::Stop => Event::Stop,
                };
                if tx.send(e).is_err() {
                    break;
                }
            }
        })?;
    daemon::run(&opts, events)?;
    Ok(Exit::Ok)
}
