//! The command line: argument types, the shared context every command runs in, and output
//! helpers. One file per command under `cli/`; each parses nothing itself and prints results
//! on stdout (`--json` for machines), logs and progress on stderr.

mod alert;
mod backup;
mod binlog;
mod config_check;
mod context;
mod copy;
mod daemon;
mod diff;
mod discover;
mod drill;
mod forget;
mod init;
mod log;
mod metrics;
mod monitor;
mod recover;
mod report;
mod restore;
mod restore_db;
mod run;
mod schedule;
mod signals;
mod snapshots;
mod stats;
mod status;
mod table;
mod unlock;
mod verify;
mod web;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use context::Ctx;

/// How a command ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: everything done.
    Ok = 0,
    /// 1: finished, with warnings or partial failures.
    Warning = 1,
    /// 2: error: bad config, wrong password, nothing done.
    Error = 2,
}

#[derive(Debug, Parser)]
#[command(
    name = "dxbackup",
    version,
    about = "Backup and disaster recovery for DataX deployments",
    long_about = "Backup and disaster recovery for DataX deployments: encrypted, deduplicated \
snapshots of a DataX home in a restic-compatible repository, with job history, verification, \
retention and performance figures.",
    after_help = "Examples:\n  dxbackup -c examples/quickstart.toml run\n  dxbackup init\n  dxbackup backup datax\n  dxbackup restore latest --target /opt/datax --mode fast\n\n\
Config: --config, then $DXBACKUP_CONFIG, ./dxbackup.toml, /etc/dxbackup/dxbackup.toml.\n\
Exit codes: 0 ok; 1 finished with warnings or partial failures; 2 error (bad config, wrong \
password, damaged repository, nothing done).\n"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file [default: $DXBACKUP_CONFIG, ./dxbackup.toml, /etc/dxbackup/dxbackup.toml]
    #[arg(short, long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the catalog lives [default: $XDG_STATE_HOME/dxbackup, /var/lib/dxbackup for root]
    #[arg(long, global = true, value_name = "DIR", env = "DXBACKUP_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Machine-readable output on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Only errors on stderr, no progress bars
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Resolve the config's relative paths against this folder (the daemon's children read
    /// its copy of the config in force)
    #[arg(long, global = true, hide = true, value_name = "DIR")]
    pub config_base: Option<PathBuf>,
    /// How long to wait for a repository another process has locked [default: 5m]
    #[arg(long, global = true, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub lock_wait: Option<std::time::Duration>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the configured repositories (an existing one is only opened)
    #[command(
        after_help = "Examples:\n  dxbackup init\n  dxbackup -c /etc/dxbackup/dxbackup.toml init\n\n\
An existing repository is never overwritten: init then opens it, which checks the password."
    )]
    Init,
    /// Back up sources into the primary repository
    #[command(
        after_help = "Examples:\n  dxbackup backup            # every source\n  dxbackup backup datax      # one source\n  dxbackup --json backup"
    )]
    Backup(backup::BackupArgs),
    /// The main job: init, back up every source, apply retention, verify, copy to the targets
    #[command(
        after_help = "Examples:\n  dxbackup -c examples/quickstart.toml run\n  dxbackup --json run\n\n\
Runs init for repositories with auto-init = true, backs up every source into the primary, \
forgets and prunes per [retention], checks the primary's structure, copies the new snapshots \
to every other repository and applies each one's own retention, and prints one summary. A \
target that cannot be reached is reported (exit 1); the next run catches it up."
    )]
    Run(run::RunArgs),
    /// Copy the primary's new snapshots to the other repositories
    #[command(
        after_help = "Examples:\n  dxbackup copy\n  dxbackup copy --to offsite\n  dxbackup --json copy\n\n\
Sends only what a target lacks (a second copy sends nothing) and only snapshots the target's \
own retention keeps. Data goes first and the snapshot last, so a copy cut off midway leaves \
nothing half-visible; the next copy resumes. Exit 1 when a target failed."
    )]
    Copy(copy::CopyArgs),
    /// List snapshots
    #[command(
        after_help = "Examples:\n  dxbackup snapshots\n  dxbackup snapshots --source datax --json"
    )]
    Snapshots(snapshots::SnapshotsArgs),
    /// Files added, removed and modified between two snapshots; DataX jobs by JSON path
    #[command(
        after_help = "Examples:\n  dxbackup diff 1a2b3c4d latest\n  dxbackup diff 1a2b3c4d 5e6f7a8b --json\n\n\
Job JSON changes are shown by path, e.g. `job.setting.speed.channel: 2 -> 4`; values of keys \
ending in password or accessKey are always masked."
    )]
    Diff(diff::DiffArgs),
    /// Every version of one file across snapshots
    #[command(
        after_help = "Examples:\n  dxbackup log job/mysql2mysql_orders.json\n  dxbackup log job/mysql2mysql_orders.json --show 1a2b3c4d"
    )]
    Log(log::LogArgs),
    /// Restore a snapshot (all, core first, or a selection) into a folder
    #[command(
        after_help = "Examples:\n  dxbackup restore latest --target /tmp/r\n  dxbackup restore latest --target /opt/datax --dry-run\n  \
dxbackup restore latest --target /opt/datax --mode fast --overwrite if-changed\n  \
dxbackup restore 1a2b3c4d --target /opt/datax --only conf,job/mysql2mysql_orders.json --force\n  \
dxbackup restore latest --target /opt/datax --overwrite never\n\n\
Paths the target already holds: a file identical to the snapshot's (size, mtime, mode) is left as \
it is; if any other would be replaced, the restore refuses (exit 2) and writes nothing, unless \
--overwrite if-changed (replace those that differ), --overwrite never (keep them, restore only \
what is missing) or --force (= --overwrite always: replace all). --dry-run lists what would be \
overwritten. A --target that is a file is an error (exit 2).\n\n\
Files are written under a temporary name and renamed into place. A damaged file is reported \
and skipped, the rest restored, and the exit code is 1."
    )]
    Restore(restore::RestoreArgs),
    /// Restore a mysql source's database to a point in time (full + binlogs)
    #[command(
        after_help = "Examples:\n  dxbackup restore-db shop --into shop_restored\n  dxbackup restore-db shop --into shop_0915 --until \"2026-11-25 09:15:00\"\n  \
dxbackup restore-db shop --into shop_x --until-gtid 0-1-1234 --dry-run\n\n\
Picks the newest full before the target and the binlog chain after it, prints the chain, \
restores into the database (an existing non-empty one needs --force), replays every binlog in \
one session, stops exactly at the target, and reports row counts. Restored rows are not written \
to the server's binlog."
    )]
    RestoreDb(restore_db::RestoreDbArgs),
    /// Archive a mysql source's binlogs continuously (foreground)
    #[command(
        after_help = "Examples:\n  dxbackup binlog shop\n  dxbackup binlog shop --duration 10m\n\n\
Stores each closed binlog at once and the growing one every binlog-flush (default 5s); \
restarts after disconnects; a binlog purged before it was archived is reported as a gap."
    )]
    Binlog(binlog::BinlogArgs),
    /// Restore each backup into a sandbox, compare it, record the measured RTO
    #[command(
        after_help = "Examples:\n  dxbackup drill\n  dxbackup drill shop --json\n\n\
mysql: the latest full into a scratch database dxb_drill_* on the restore-server, row counts and \
CHECKSUM TABLE compared with the manifest, then the binlog chain replayed on top; the scratch \
database is dropped. files: restored to a temp folder and compared with the repository. Exit 2 \
when any comparison fails or nothing was restored."
    )]
    Drill(drill::DrillArgs),
    /// Per source its RPO exposure and last drill; per repository its state; the 3-2-1 rule
    #[command(
        after_help = "Examples:\n  dxbackup status\n  dxbackup --json status\n\n\
Exit codes follow Nagios: 0 ok; 1 warning (close to the RPO, never drilled, slow or stale drill, \
a target unreachable or behind, a 3-2-1 rule broken); 2 critical (RPO exceeded, no backup, failed \
drill, a target holding nothing newer than the smallest RPO of the sources' tiers)."
    )]
    Status(status::StatusArgs),
    /// Every check (freshness, integrity, drills, space, copies, performance, runs); alerts
    #[command(
        after_help = "Examples:\n  dxbackup monitor\n  dxbackup monitor --no-alert --json\n\n\
Prints the findings as status does and sends what is due to every [alert.NAME] channel: a new \
finding or a worse one at once, an unchanged one every `repeat` (24h), a recovery when it clears. \
A failing channel is recorded and retried next time; it never changes the exit code. Exit codes \
follow Nagios: 0 ok, 1 warning, 2 critical."
    )]
    Monitor(monitor::MonitorArgs),
    /// Prometheus metrics from the catalog (text format, for node_exporter's textfile collector)
    #[command(
        after_help = "Examples:\n  dxbackup metrics\n  dxbackup metrics > /var/lib/node_exporter/textfile/dxbackup.prom.$$ && mv /var/lib/node_exporter/textfile/dxbackup.prom.$$ /var/lib/node_exporter/textfile/dxbackup.prom\n\n\
Read from the catalog only: no repository is opened."
    )]
    Metrics(metrics::MetricsArgs),
    /// Alert channels: send a test message
    #[command(subcommand)]
    Alert(alert::AlertCommand),
    /// Check repositories; with --read-data also read and hash the data
    #[command(
        after_help = "Examples:\n  dxbackup verify\n  dxbackup verify --read-data\n  dxbackup verify --read-data=10"
    )]
    Verify(verify::VerifyArgs),
    /// Apply the retention policy
    #[command(after_help = "Examples:\n  dxbackup forget --dry-run\n  dxbackup forget --prune")]
    Forget(forget::ForgetArgs),
    /// Remove stale repository locks (left by processes that are gone)
    #[command(
        after_help = "Examples:\n  dxbackup unlock\n  dxbackup unlock --repo nas --json\n  dxbackup unlock --repo main --remove-all\n\n\
Every operation that writes holds a lock in the repository's locks/ folder, in restic's format, \
and removes stale ones it meets (not refreshed for 30 minutes, or made on this host by a process \
that is gone). --remove-all also removes the locks of running processes: use it only when no \
other dxbackup or restic uses the repository."
    )]
    Unlock(unlock::UnlockArgs),
    /// Per-run figures with averages and warnings
    #[command(
        after_help = "Examples:\n  dxbackup stats\n  dxbackup stats --source datax --last 50 --json"
    )]
    Stats(stats::StatsArgs),
    /// The databases a DataX home's jobs read and write, with config to protect them
    #[command(
        after_help = "Examples:\n  dxbackup discover /opt/datax\n  dxbackup discover /opt/datax --json\n\n\
Reads every job JSON, parses each jdbcUrl (${var} placeholders stay visible), groups the \
endpoints with the jobs that use them, and prints a ready [source.*] block for the MySQL ones. \
Passwords are never shown."
    )]
    Discover(discover::DiscoverArgs),
    /// Disaster recovery on a new machine from the off-site repository alone: plan, restore,
    /// measure
    #[command(
        after_help = "Examples:\n  dxbackup recover --from s3://etl-dr-backup/dxbackup/etl-01 --password-file pw --access-key-file keys --dry-run\n  dxbackup recover --from s3://etl-dr-backup/dxbackup/etl-01 --password-file pw --access-key-file keys \\\n      --until \"2026-12-01 09:15:00\" --datax-home /opt/datax --into-server 127.0.0.1:3306 --mysql-password-file dbpw\n  dxbackup recover --from sftp://backup@dr.example/srv/dxbackup --password-file pw --mode fast --mysql-datadir /var/lib/mysql\n  dxbackup recover --from /mnt/usb/dxbackup --password-file pw --mode partial --only conf,job,db:shop --into-server db2:3306\n\n\
Needs no config, catalog or state: the sources come from the config stored in the newest \
snapshot (secrets were removed from it: give them as files). Prints the plan first (every source, \
its snapshot or binlog chain, bytes, an estimate from the drills recorded in the repository), \
restores files sources and databases side by side, then prints each source's measured time \
against its tier's RTO and records it in the repository. Exit 0: everything recovered; 1: some \
sources failed (the others stay restored); 2: nothing could be done."
    )]
    Recover(recover::RecoverArgs),
    /// Run the schedules, the binlog archivers and the checks unattended (foreground)
    #[command(
        after_help = "Examples:\n  dxbackup daemon\n  dxbackup daemon --print-systemd-unit > /etc/systemd/system/dxbackup.service\n\n\
Runs every [schedule.NAME] (without any: the seed's plan: run at 02:00, files sources every 4 h, \
verify 5 % at 09:00, forget with prune Sundays 03:00, drill Sundays 04:00, monitor every minute). \
A slot missed while the daemon was down runs once at start-up; a schedule still running when its \
next slot comes is skipped (and recorded); a failed job is retried after 1, 2 and 4 minutes. \
Backups with mode = \"auto\" pick normal/light/minimal from the load average per core. Jobs run \
as child processes at lowered CPU and I/O priority, each with a log under STATE_DIR/logs. The \
binlog archiver of every binlog = true source runs under the daemon and is restarted if it exits. \
SIGHUP reloads the config (a broken one is refused, the old one stays); SIGTERM stops within \
seconds (archivers flush, running jobs are cancelled and leave no snapshot)."
    )]
    Daemon(daemon::DaemonArgs),
    /// Every schedule with its last run, its next time and any catch-up due
    #[command(after_help = "Examples:\n  dxbackup schedule\n  dxbackup --json schedule")]
    Schedule(schedule::ScheduleArgs),
    /// The backup report of a period as one file: HTML (to mail or archive) or Markdown
    #[command(
        after_help = "Examples:\n  dxbackup report --html /tmp/backup-report.html\n  dxbackup report --markdown week.md --since 7d\n  dxbackup report --html month.html --since 30d\n\n\
Per source the backups of the period with sizes and durations and the share of the time it was \
inside its RPO; per repository its storage and trend; verifications; drills against the tier's \
RTO; the 3-2-1 state; findings open and resolved. The HTML file is self-contained (inline CSS and \
SVG charts, no script, nothing fetched), and no secret of the config is in it."
    )]
    Report(report::ReportArgs),
    /// The dashboard: its token
    #[command(subcommand)]
    Web(web::WebCommand),
    /// Configuration tools
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report every problem of the config file at once, as FILE:LINE:COL: KEY: message
    #[command(
        after_help = "Examples:\n  dxbackup config check\n  dxbackup -c /etc/dxbackup/dxbackup.toml config check"
    )]
    Check,
}

/// Parses arguments, runs the command, returns the exit code.
pub fn main() -> i32 {
    // While this is the only thread: it sets an environment variable.
    crate::repo::claim_ssh_control_dir();
    signals::install();
    let cli = Cli::parse();
    init_logging(&cli.global);
    let json = cli.global.json;
    let result = dispatch(cli);
    if signals::stopping() {
        // The signal thread is closing connections and sets the exit code.
        loop {
            std::thread::park();
        }
    }
    // Every ssh master started for an SFTP repository exits with us, error or not.
    crate::repo::close_remote_connections();
    match result {
        Ok(code) => code as i32,
        Err(e) => {
            if is_broken_pipe(&e) {
                return 0;
            }
            eprintln!("error: {e:#}");
            if json {
                // Machine output stays one document, errors included.
                let _ = print_json(&serde_json::json!({ "error": format!("{e:#}") }));
            }
            Exit::Error as i32
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    match &cli.command {
        Command::Config(ConfigCommand::Check) => return config_check::run(&cli.global),
        Command::Discover(a) => return discover::run(&cli.global, a),
        Command::Recover(a) => return recover::run(&cli.global, a),
        _ => {}
    }
    let ctx = Ctx::load(cli.global)?;
    match cli.command {
        Command::Init => init::run(&ctx),
        Command::Backup(a) => backup::run(&ctx, &a),
        Command::Run(a) => run::run(&ctx, &a),
        Command::Copy(a) => copy::run(&ctx, &a),
        Command::Status(a) => status::run(&ctx, &a),
        Command::Monitor(a) => monitor::run(&ctx, &a),
        Command::Metrics(a) => metrics::run(&ctx, &a),
        Command::Alert(a) => alert::run(&ctx, &a),
        Command::Snapshots(a) => snapshots::run(&ctx, &a),
        Command::Diff(a) => diff::run(&ctx, &a),
        Command::Log(a) => log::run(&ctx, &a),
        Command::Restore(a) => restore::run(&ctx, &a),
        Command::Verify(a) => verify::run(&ctx, &a),
        Command::RestoreDb(a) => restore_db::run(&ctx, &a),
        Command::Drill(a) => drill::run(&ctx, &a),
        Command::Binlog(a) => binlog::run(&ctx, &a),
        Command::Forget(a) => forget::run(&ctx, &a),
        Command::Stats(a) => stats::run(&ctx, &a),
        Command::Daemon(a) => daemon::run(&ctx, &a),
        Command::Schedule(a) => schedule::run(&ctx, &a),
        Command::Unlock(a) => unlock::run(&ctx, &a),
        Command::Report(a) => report::run(&ctx, &a),
        Command::Web(c) => web::run(&ctx, &c),
        Command::Config(_) | Command::Discover(_) | Command::Recover(_) => {
            unreachable!("handled above")
        }
    }
}

/// Log targets never shown below info (`-vv`, `DXBACKUP_LOG=debug`): they log secrets.
const QUIET_BELOW_INFO: [&str; 1] = ["reqsign=info"];

fn init_logging(g: &GlobalArgs) {
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info,rustic_core=warn",
        _ => "debug",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("DXBACKUP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Libraries that print credentials in their debug lines stay at info whatever was asked:
    // reqsign (the S3/OSS/COS signer) logs its credential providers with their keys.
    for quiet in QUIET_BELOW_INFO {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

/// The exit code of a job that ended at `level` (Nagios: 0 ok, 1 warning, 2 critical).
pub fn exit_of(level: crate::status::Level) -> Exit {
    match level {
        crate::status::Level::Ok => Exit::Ok,
        crate::status::Level::Warning => Exit::Warning,
        crate::status::Level::Critical => Exit::Error,
    }
}

fn progress_visible(g: &GlobalArgs) -> bool {
    use std::io::IsTerminal;
    !g.quiet && !g.json && std::io::stderr().is_terminal()
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

pub use crate::job::count;
pub use crate::units::{bytes, mb_per_s};

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples() {
        for sub in Cli::command().get_subcommands() {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let nested = sub.get_subcommands().all(|s| s.get_after_help().is_some());
            assert!(
                help.contains("Examples:") || (sub.has_subcommands() && nested),
                "{}",
                sub.get_name()
            );
        }
    }
}
