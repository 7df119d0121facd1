//! Point-in-time restores: choose the chain (`plan`: the newest full before the target, then
//! the binlog files after it, checked for holes), then play it into one client session
//! (`apply`): the dump's section for the database, then every binlog through one
//! `mariadb-binlog` run, so temporary tables and session state carry across files.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use mysql::prelude::Queryable;
use serde::Serialize;

mod filter;

use super::binlog::{gaps, sequence, Gtid};
use super::dump::Coordinates;
use super::{ident, spawn_tool, Flavor, MysqlError, Result, Server};

pub use filter::DatabaseFilter;

/// Where a restore stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Until {
    /// Everything archived.
    Latest,
    /// Every transaction committed up to and including this second (unix seconds).
    Time(i64),
    /// Up to and including this GTID.
    Gtid(Gtid),
    /// Up to this byte position of this binlog file.
    Position(Coordinates),
}

/// A full dump available in the repository.
#[derive(Debug, Clone, Serialize)]
pub struct FullRef {
    pub snapshot: String,
    /// Unix seconds of the dump's consistent point.
    pub at: i64,
    pub binlog: Option<Coordinates>,
    pub gtid: Option<String>,
}

/// The newest archived version of one binlog file.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentRef {
    pub file: String,
    pub snapshot: String,
    pub size: u64,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub last_gtid: Option<Gtid>,
    pub closed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub full: FullRef,
    pub binlogs: Vec<SegmentRef>,
    pub until: Until,
    /// The last event time the chain reaches: what "latest" means, and the limit of any target.
    pub reaches: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("no full backup before the target; the oldest full is from {0}")]
    NoFullBefore(String),
    #[error("no full backup of this source yet; run 'dxbackup backup SOURCE'")]
    NoFull,
    #[error("the binlog chain is broken: {0} missing from the archive (purged before it was archived?); a new full backup starts a new chain")]
    Gap(String),
    #[error("the full backup has no binlog coordinates (binary logging was off), so it cannot be rolled forward; restore it alone with --until omitted and no binlogs")]
    NoCoordinates,
}

/// Chooses the full and the binlog files for a target. `fulls` and `segments` in any order.
pub fn plan(
    fulls: &[FullRef],
    segments: &[SegmentRef],
    until: &Until,
) -> Result<Chain, ChainError> {
    let mut fulls: Vec<&FullRef> = fulls.iter().collect();
    fulls.sort_by_key(|f| f.at);
    let oldest = fulls.first().ok_or(ChainError::NoFull)?;
    let eligible = |f: &&&FullRef| match until {
        Until::Latest => true,
        Until::Time(t) => f.at <= *t,
        Until::Gtid(g) => f
            .gtid
            .as_deref()
            .and_then(|s| position_in_domain(s, g.domain))
            .is_none_or(|seq| seq <= g.seq),
        Until::Position(p) => f
            .binlog
            .as_ref()
            .is_none_or(|c| coord_key(c) <= coord_key(p)),
    };
    let full = *fulls.iter().rev().find(eligible).ok_or_else(|| {
        ChainError::NoFullBefore(
            jiff::Timestamp::from_second(oldest.at)
                .map(|t| t.to_string())
                .unwrap_or_default(),
        )
    })?;
    let mut segs: Vec<&SegmentRef> = segments
        .iter()
        .filter(|s| sequence(&s.file).is_some())
        .collect();
    segs.sort_by_key(|s| sequence(&s.file));
    let Some(start) = &full.binlog else {
        if segs.is_empty() || *until == Until::Latest {
            return Ok(Chain {
                full: (*full).clone(),
                binlogs: vec![],
                until: until.clone(),
                reaches: Some(full.at),
            });
        }
        return Err(ChainError::NoCoordinates);
    };
    let start_seq = sequence(&start.file).unwrap_or(0);
    let max_seq = segs.iter().filter_map(|s| sequence(&s.file)).max();
    let mut chain: Vec<SegmentRef> = Vec::new();
    for s in segs
        .into_iter()
        .filter(|s| sequence(&s.file).unwrap_or(0) >= start_seq)
    {
        let past_target = match until {
            Until::Latest => false,
            Until::Time(t) => s.first_event.is_some_and(|e| e > *t),
            Until::Gtid(g) => chain
                .last()
                .and_then(|p| p.last_gtid)
                .is_some_and(|l| l.domain == g.domain && l.seq >= g.seq),
            Until::Position(p) => sequence(&s.file) > sequence(&p.file),
        };
        if past_target {
            break;
        }
        chain.push(s.clone());
    }
    if chain.first().is_some_and(|c| c.file != start.file) {
        return Err(ChainError::Gap(start.file.clone()));
    }
    let mut names: Vec<String> = chain.iter().map(|s| s.file.clone()).collect();
    // A closed last file with later files archived: its successor must be there too, or the
    // events between them are lost.
    if let Some(last) = chain.last().filter(|l| l.closed) {
        let next = sequence(&last.file).unwrap_or(0) + 1;
        if max_seq.is_some_and(|m| m >= next) {
            names.push(super::binlog::with_sequence(&last.file, next));
            if !segments.iter().any(|s| sequence(&s.file) == Some(next)) {
                return Err(ChainError::Gap(names.pop().unwrap_or_default()));
            }
        }
    }
    if let Some(missing) = gaps(&names).into_iter().next() {
        return Err(ChainError::Gap(missing));
    }
    let reaches = chain
        .iter()
        .filter_map(|s| s.last_event)
        .max()
        .or(Some(full.at))
        .map(|r| r.max(full.at));
    Ok(Chain {
        full: full.clone(),
        binlogs: chain,
        until: until.clone(),
        reaches,
    })
}

fn coord_key(c: &Coordinates) -> (u64, u64) {
    (sequence(&c.file).unwrap_or(0), c.position)
}

/// The sequence number of `domain` in a GTID position list such as `0-1-100,1-2-5`.
fn position_in_domain(list: &str, domain: u32) -> Option<u64> {
    list.split(',')
        .filter_map(|g| g.parse::<Gtid>().ok())
        .find(|g| g.domain == domain)
        .map(|g| g.seq)
}

/// Everything a replay needs, besides the dump bytes.
pub struct Replay<'a> {
    pub server: &'a Server,
    pub flavor: Flavor,
    /// The database inside the dump and the binlogs.
    pub source_db: &'a str,
    pub into: &'a str,
    /// Binlog files extracted from the repository, in order.
    pub binlogs: Vec<PathBuf>,
    pub start_position: u64,
    pub until: Until,
}

/// Refuses to overwrite a database with tables in it, unless forced; then (re)creates it.
pub fn prepare_database(server: &Server, into: &str, force: bool) -> Result<()> {
    let mut conn = server.connect()?;
    let tables: u64 = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (into,),
        )
        .map_err(server.query_err("checking the target database"))?
        .unwrap_or(0);
    if tables > 0 && !force {
        return Err(MysqlError::Invalid(format!(
            "database `{into}` on {} already has {tables} tables; choose another --into or add --force to replace it",
            server.describe()
        )));
    }
    if tables > 0 {
        conn.query_drop(format!("DROP DATABASE {}", ident(into)))
            .map_err(server.query_err("dropping the target"))?;
    }
    conn.query_drop(format!(
        "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4",
        ident(into)
    ))
    .map_err(server.query_err("creating the target"))?;
    Ok(())
}

/// Plays the dump (written by `write_dump` into the session) and then the binlogs into one
/// client session. Returns the number of dump lines applied.
pub fn apply(
    r: &Replay<'_>,
    write_dump: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64> {
    let defaults = r.server.defaults_file()?;
    let client = r.flavor.client_tool();
    let (mut child, stderr) = spawn_tool(
        r.server.tool(client, &defaults).args([
            "--batch",
            "--binary-mode",
            "--default-character-set=utf8mb4",
            "--database",
            r.into,
        ]),
        Stdio::piped(),
        Stdio::null(),
    )?;
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
        return Err(MysqlError::Tool {
            tool: client.into(),
            status: status.to_string(),
            stderr: err,
        });
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
    cmd.arg(format!("--database={}", r.source_db));
    if r.source_db != r.into {
        cmd.arg(format!("--rewrite-db={}->{}", r.source_db, r.into));
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
        return Err(MysqlError::Tool {
            tool: tool.into(),
            status: status.to_string(),
            stderr: err,
        });
    }
    copied.map_err(|source| MysqlError::Io {
        context: "streaming binlog events into the client".into(),
        source,
    })?;
    Ok(())
}

/// Row counts of every base table of a database.
pub fn row_counts(server: &Server, db: &str) -> Result<Vec<(String, u64)>> {
    let mut conn = server.connect()?;
    let tables: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (db,),
        )
        .map_err(server.query_err("listing restored tables"))?;
    tables
        .into_iter()
        .map(|t| {
            let n: u64 = conn
                .query_first(format!("SELECT COUNT(*) FROM {}.{}", ident(db), ident(&t)))
                .map_err(server.query_err(format!("counting {t}")))?
                .unwrap_or(0);
            Ok((t, n))
        })
        .collect()
}

#[cfg(test)]
mod tests;
