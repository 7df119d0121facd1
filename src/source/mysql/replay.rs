//! Point-in-time restores: the chain is chosen and proven by `chain::plan`; this plays it into
//! one client session (`apply`): the dump's section for the database, then every binlog
//! through one `mariadb-binlog` run, so temporary tables and session state carry across files.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use mysql::prelude::Queryable;

mod filter;
pub mod parallel;
mod split;
mod target;

use super::{ident, spawn_tool, Flavor, MysqlError, Result, Server};

pub use super::chain::{plan, Chain, ChainError, FullRef, Until};
pub use filter::DatabaseFilter;
pub use target::{abandon, check_database_name, check_privileges, prepare_database, Target};

/// Everything a replay needs, besides the dump bytes.
pub struct Replay<'a> {
    pub server: &'a Server,
    pub flavor: Flavor,
    /// The database inside the dump and the binlogs; empty: every database, as it is (a
    /// physical restore replaying the whole server's binlogs).
    pub source_db: &'a str,
    pub into: &'a str,
    /// Binlog files extracted from the repository, in order.
    pub binlogs: Vec<PathBuf>,
    pub start_position: u64,
    pub until: Until,
}

/// Plays the dump (written by `write_dump` into the session) and then the binlogs into one
/// client session. Returns the number of dump lines applied.
pub fn apply(
    r: &Replay<'_>,
    write_dump: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64> {
    let defaults = r.server.defaults_file()?;
    let client = r.flavor.client_tool();
    let mut cmd = r.server.tool(client, &defaults);
    cmd.args([
        "--batch",
        "--binary-mode",
        "--default-character-set=utf8mb4",
        MAX_PACKET_ARG,
    ]);
    if !r.into.is_empty() {
        cmd.args(["--database", r.into]);
    }
    let raised = PacketLimit::raise(r.server);
    let played = play(r, cmd, write_dump);
    if let Some(raised) = raised {
        raised.restore(r.server);
    }
    played.map_err(|e| match e {
        MysqlError::Tool { .. } if e.to_string().contains("ERROR 2006") => MysqlError::Invalid(format!(
            "{e}\n  hint: a binlog statement (one transaction's row events, such as a big DELETE) may exceed the server's max_allowed_packet ({}); raise it (SET GLOBAL max_allowed_packet = 1073741824) and run the restore again",
            PacketLimit::current(r.server).map_or_else(|| "unknown".into(), |v| bytesize::ByteSize::b(v).to_string())
        )),
        e => e,
    })
}

/// The client's and a restore server's packet limit: mariadb-binlog prints all row events of
/// one statement as one `BINLOG '...'` statement, so a DELETE of 120,000 TPC-H rows is one
/// packet of tens of MB, past the 16 MiB default ("Server has gone away").
const MAX_PACKET_ARG: &str = "--max-allowed-packet=1G";
const MAX_PACKET: u64 = 1 << 30;

/// A user's server's `max_allowed_packet`, raised for the replay session (which reads the
/// global value when it connects) and put back afterwards.
struct PacketLimit {
    old: u64,
}

impl PacketLimit {
    fn current(server: &Server) -> Option<u64> {
        Self::read(&mut server.connect().ok()?)
    }

    fn read(conn: &mut mysql::Conn) -> Option<u64> {
        conn.query_first("SELECT @@GLOBAL.max_allowed_packet")
            .ok()?
    }

    /// Without the privilege (SUPER / SYSTEM_VARIABLES_ADMIN) the limit stays as it is; a
    /// statement past it then fails with a hint that says so.
    fn raise(server: &Server) -> Option<Self> {
        let mut conn = server.connect().ok()?;
        let old = Self::read(&mut conn)?;
        if old >= MAX_PACKET {
            return None;
        }
        conn.query_drop(format!("SET GLOBAL max_allowed_packet = {MAX_PACKET}"))
            .ok()?;
        tracing::info!(
            old,
            "max_allowed_packet raised to 1 GiB for the binlog replay"
        );
        Some(Self { old })
    }

    fn restore(self, server: &Server) {
        let put_back = server.connect().and_then(|mut c| {
            c.query_drop(format!("SET GLOBAL max_allowed_packet = {}", self.old))
                .map_err(server.query_err("putting max_allowed_packet back"))
        });
        if let Err(e) = put_back {
            tracing::warn!(old = self.old, "max_allowed_packet stays at 1 GiB: {e}");
        }
    }
}

fn play(
    r: &Replay<'_>,
    mut cmd: std::process::Command,
    write_dump: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64> {
    let client = r.flavor.client_tool();
    let (mut child, stderr) = spawn_tool(&mut cmd, Stdio::piped(), Stdio::null())?;
    let mut stdin = child.stdin.take().expect("piped");
    let io = |context: &str| {
        let context = context.to_string();
        move |source| MysqlError::Io { context, source }
    };
    // Restored rows are not logged again: they would repeat the source's GTIDs in the binlog.
    let written = (|| -> Result<u64> {
        stdin
            .write_all(b"SET SESSION sql_log_bin = 0;\n")
            .map_err(io("writing to the client"))?;
        let mut filter = DatabaseFilter::new(&mut stdin, r.source_db);
        write_dump(&mut filter).map_err(io("streaming the dump into the client"))?;
        let kept = filter.lines_kept;
        filter
            .into_inner()
            .map_err(io("streaming the dump into the client"))?;
        if !r.binlogs.is_empty() {
            play_binlogs(r, &mut stdin)?;
        }
        Ok(kept)
    })();
    drop(stdin);
    let status = child.wait().map_err(io("waiting for the client"))?;
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(MysqlError::tool(client, status.to_string(), &err));
    }
    written
}

fn play_binlogs(r: &Replay<'_>, sink: &mut impl Write) -> Result<()> {
    let defaults = r.server.defaults_file()?;
    let tool = r.flavor.binlog_tool();
    let mut cmd = r.server.tool(tool, &defaults);
    cmd.arg(format!("--start-position={}", r.start_position));
    match &r.until {
        Until::Latest => {}
        // Events of the target second are included: `--stop-datetime` stops before its value.
        Until::Time(t) => {
            let stop = jiff::Timestamp::from_second(t + 1)
                .map_err(|e| MysqlError::Invalid(e.to_string()))?;
            let local = stop
                .to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string();
            cmd.arg(format!("--stop-datetime={local}"));
        }
        Until::Gtid(g) => {
            cmd.arg(format!("--stop-position={g}"));
        }
        Until::Position(p) => {
            cmd.arg(format!("--stop-position={}", p.position));
        }
    }
    // An empty source database replays every database as it is (a physical restore).
    if !r.source_db.is_empty() {
        cmd.arg(format!("--database={}", r.source_db));
        if r.source_db != r.into {
            cmd.arg(format!("--rewrite-db={}->{}", r.source_db, r.into));
        }
    }
    cmd.args(&r.binlogs);
    let (mut child, stderr) = spawn_tool(&mut cmd, Stdio::null(), Stdio::piped())?;
    let mut out = child.stdout.take().expect("piped");
    let copied = std::io::copy(&mut out, sink);
    let status = child.wait().map_err(|source| MysqlError::Io {
        context: format!("waiting for {tool}"),
        source,
    })?;
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(MysqlError::tool(tool, status.to_string(), &err));
    }
    copied.map_err(|source| MysqlError::Io {
        context: "streaming binlog events into the client".into(),
        source,
    })?;
    Ok(())
}

/// Row counts of every base table of a database, counted on up to `jobs` connections at
/// once, the biggest tables first: on TPC-H SF 1 one session took about 25 s, nearly all of it
/// `lineitem`, which now starts at once while the others are counted beside it.
pub fn row_counts(server: &Server, db: &str, jobs: usize) -> Result<Vec<(String, u64)>> {
    let tables: Vec<String> = server
        .connect()?
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY DATA_LENGTH + INDEX_LENGTH DESC, TABLE_NAME",
            (db,),
        )
        .map_err(server.query_err("listing restored tables"))?;
    let next = std::sync::Mutex::new(tables.into_iter());
    let count = || -> Result<Vec<(String, u64)>> {
        let mut conn = server.connect()?;
        let mut done = Vec::new();
        loop {
            let Some(t) = next.lock().unwrap_or_else(|p| p.into_inner()).next() else {
                return Ok(done);
            };
            let n: u64 = conn
                .query_first(format!("SELECT COUNT(*) FROM {}.{}", ident(db), ident(&t)))
                .map_err(server.query_err(format!("counting {t}")))?
                .unwrap_or(0);
            done.push((t, n));
        }
    };
    let mut counts = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.max(1)).map(|_| s.spawn(count)).collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a row-count thread panicked"))
            .collect::<Result<Vec<_>>>()
    })?
    .concat();
    counts.sort();
    Ok(counts)
}

#[cfg(test)]
mod tests;
