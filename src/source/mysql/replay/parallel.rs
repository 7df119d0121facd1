//! Parallel logical restore of a dump: the stream is cut while it is read (`split`), each
//! table's schema and its row statements are loaded on `jobs` client sessions at once (a big
//! table's statements spread over all of them, as myloader does with its chunks), then the tail
//! (triggers, views, events, routines) and the binlogs run in one last session, as `apply` does
//! with the whole dump when `jobs` is 1.
//!
//! Sessions are `mariadb` client processes, each replaying the dump's header, so they parse and
//! run the bytes exactly as the one-session restore does (binary data, `--binary-mode`). A
//! session says its table exists by printing a marker after the `CREATE TABLE`; rows of that
//! table wait for it. Memory stays bounded: at most `2 * jobs` chunks of `CHUNK_BYTES` wait.
//! A session that fails stops the restore: the others are killed, the reader stops at its next
//! chunk, and the error carries that session's stderr.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Write};
use std::process::{ChildStdout, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

use super::split::{Piece, Sink, Split, Splitter, TableId};
use super::{apply, DatabaseFilter, Replay};
use crate::source::mysql::{spawn_tool, DefaultsFile, MysqlError, Result};

/// Bytes of row statements per chunk: big enough that a session's round trips do not count,
/// small enough that a big table spreads over every session.
const CHUNK_BYTES: usize = 4 << 20;
/// The failure's author when it is the reader (the repository, the dump's shape).
const READER: usize = usize::MAX;

/// How a dump was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Client sessions that loaded tables at once (1: the dump went through one session).
    pub connections: usize,
    pub tables: usize,
    pub chunks: u64,
}

/// Connections a restore uses unless told: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Loads the dump written by `write_dump` into `r.into` on `jobs` sessions, then the tail and
/// the binlogs in one. `jobs` 1 is `apply`: the whole stream through one session.
pub fn load(
    r: &Replay<'_>,
    jobs: usize,
    write_dump: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<Loaded> {
    if jobs <= 1 {
        apply(r, write_dump)?;
        return Ok(Loaded {
            connections: 1,
            tables: 0,
            chunks: 0,
        });
    }
    let split = load_tables(r, jobs, write_dump)?;
    // Every row is in: the triggers may exist now, the views find their tables.
    apply(r, |w| {
        w.write_all(&split.header)?;
        w.write_all(&split.tail)
    })?;
    Ok(Loaded {
        connections: jobs,
        tables: split.tables,
        chunks: split.chunks,
    })
}

/// What the sessions share: which tables exist, who failed first, whom to stop.
#[derive(Default)]
struct Board {
    state: Mutex<BoardState>,
    changed: Condvar,
}

#[derive(Default)]
struct BoardState {
    created: HashSet<TableId>,
    failed: Option<usize>,
    /// Clients still running, by session (removed before they are waited for).
    pids: HashMap<usize, u32>,
}

impl Board {
    fn lock(&self) -> std::sync::MutexGuard<'_, BoardState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn failed(&self) -> Option<usize> {
        self.lock().failed
    }

    /// Records the first failure and kills every client, so none goes on loading.
    fn fail(&self, who: usize) {
        let mut s = self.lock();
        if s.failed.is_none() {
            s.failed = Some(who);
        }
        for pid in s.pids.values() {
            // SAFETY: a plain syscall; the pid is still our unreaped child (it is removed from
            // the map, under this lock, before it is waited for), so it names no other process.
            unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
        }
        drop(s);
        self.changed.notify_all();
    }

    fn created(&self, table: TableId) {
        self.lock().created.insert(table);
        self.changed.notify_all();
    }

    /// Waits until `table` exists; false if the restore failed meanwhile.
    fn wait_created(&self, table: TableId) -> bool {
        let mut s = self.lock();
        while !s.created.contains(&table) && s.failed.is_none() {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.failed.is_none()
    }
}

/// Runs the splitter over the dump, feeding the sessions; returns the header and the tail.
fn load_tables(
    r: &Replay<'_>,
    jobs: usize,
    write_dump: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<Split> {
    let defaults = r.server.defaults_file()?;
    let board = Board::default();
    let (tx, rx) = mpsc::sync_channel::<Piece>(jobs * 2);
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        let mut pool = Pool {
            scope: s,
            r,
            jobs,
            defaults: &defaults,
            board: &board,
            rx: &rx,
            tx: Some(tx),
            header: Vec::new(),
            sessions: Vec::new(),
        };
        let read = (|| {
            let mut filter =
                DatabaseFilter::new(Splitter::new(&mut pool, CHUNK_BYTES), r.source_db);
            write_dump(&mut filter)?;
            filter.into_inner()?.finish()
        })();
        if read.is_err() {
            board.fail(READER);
        }
        // No more jobs: the sessions finish what is queued and end.
        pool.tx = None;
        let ends: Vec<Result<()>> = pool
            .sessions
            .drain(..)
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(MysqlError::Invalid("a loading session panicked".into()))
                })
            })
            .collect();
        settle(&board, read, ends)
    })
}

/// The restore's error is the first failure's: a session's own (its stderr), or the reader's.
fn settle(board: &Board, read: io::Result<Split>, mut ends: Vec<Result<()>>) -> Result<Split> {
    match board.failed() {
        Some(READER) | None => {
            let split = read.map_err(|source| MysqlError::Io {
                context: "streaming the dump into the loading sessions".into(),
                source,
            })?;
            ends.into_iter().collect::<Result<()>>()?;
            Ok(split)
        }
        Some(n) => Err(std::mem::replace(&mut ends[n], Ok(()))
            .err()
            .unwrap_or_else(|| MysqlError::Invalid(format!("loading session {} failed", n + 1)))),
    }
}

/// The splitter's sink: starts the sessions with the first piece, queues every piece.
struct Pool<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    r: &'env Replay<'env>,
    jobs: usize,
    defaults: &'env DefaultsFile,
    board: &'env Board,
    rx: &'env Mutex<Receiver<Piece>>,
    tx: Option<SyncSender<Piece>>,
    header: Vec<u8>,
    sessions: Vec<ScopedJoinHandle<'scope, Result<()>>>,
}

impl Sink for &mut Pool<'_, '_> {
    fn header(&mut self, header: &[u8]) -> io::Result<()> {
        self.header = header.to_vec();
        Ok(())
    }

    fn piece(&mut self, piece: Piece) -> io::Result<()> {
        if self.sessions.is_empty() {
            let header: Arc<[u8]> = self.header.clone().into();
            for n in 0..self.jobs {
                let (r, defaults, board, rx) = (self.r, self.defaults, self.board, self.rx);
                let header = header.clone();
                // Spawned on the thread that waits for it (its parent-death signal follows it).
                self.sessions.push(
                    self.scope
                        .spawn(move || session(r, defaults, &header, n, rx, board)),
                );
            }
        }
        if self.board.failed().is_some() {
            return Err(io::Error::other("a loading session failed"));
        }
        let tx = self.tx.as_ref().expect("open until the end");
        tx.send(piece)
            .map_err(|_| io::Error::other("every loading session ended"))
    }
}

/// One loading session: a client fed the header, then jobs until none are left.
fn session(
    r: &Replay<'_>,
    defaults: &DefaultsFile,
    header: &[u8],
    n: usize,
    rx: &Mutex<Receiver<Piece>>,
    board: &Board,
) -> Result<()> {
    let client = r.flavor.client_tool();
    let mut cmd = r.server.tool(client, defaults);
    cmd.args([
        "--batch",
        "--binary-mode",
        "--skip-column-names",
        // The table markers must reach `watch` at once: rows wait for them.
        "--unbuffered",
        "--default-character-set=utf8mb4",
        "--database",
        r.into,
    ]);
    let spawned = spawn_tool(&mut cmd, Stdio::piped(), Stdio::piped());
    let (mut child, stderr) = match spawned {
        Ok(c) => c,
        Err(e) => {
            board.fail(n);
            return Err(e);
        }
    };
    board.lock().pids.insert(n, child.id());
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let closing = AtomicBool::new(false);
    // The table being loaded, named in the error when the session fails.
    let current = Mutex::new(String::new());
    let fed = std::thread::scope(|s| {
        s.spawn(|| watch(stdout, board, n, &closing));
        let fed = feed(&mut stdin, header, rx, board, &current);
        closing.store(true, Ordering::SeqCst);
        drop(stdin);
        fed
    });
    board.lock().pids.remove(&n);
    if board.failed().is_some() {
        // The reader may be blocked on a full queue: free it, it then sees the failure.
        let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
        while rx.try_recv().is_ok() {}
    }
    let status = child.wait();
    let err = stderr.join().unwrap_or_default();
    let ok = matches!(&status, Ok(s) if s.success());
    if !ok {
        board.fail(n);
        let table = current.into_inner().unwrap_or_else(|e| e.into_inner());
        let at = if table.is_empty() {
            String::new()
        } else {
            format!(", at table `{table}`")
        };
        return Err(MysqlError::tool(
            format!("{client} (loading session {} of the restore{at})", n + 1),
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            &err,
        ));
    }
    fed.map_err(|source| MysqlError::Io {
        context: format!("feeding loading session {}", n + 1),
        source,
    })
}

/// Writes the session's setup, then each job it takes; a table's rows wait for its schema.
fn feed(
    stdin: &mut impl Write,
    header: &[u8],
    rx: &Mutex<Receiver<Piece>>,
    board: &Board,
    current: &Mutex<String>,
) -> io::Result<()> {
    // Restored rows are not logged again, as in the one-session restore.
    stdin.write_all(b"SET SESSION sql_log_bin = 0;\n")?;
    stdin.write_all(header)?;
    loop {
        if board.failed().is_some() {
            return Ok(());
        }
        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(job) = job else { return Ok(()) };
        match job {
            Piece::Schema { table, name, sql } => {
                *current.lock().unwrap_or_else(|e| e.into_inner()) = name;
                stdin.write_all(&sql)?;
                writeln!(stdin, "\nSELECT '{}';", created_marker(table))?;
            }
            Piece::Rows { after, name, sql } => {
                *current.lock().unwrap_or_else(|e| e.into_inner()) = name;
                if let Some(t) = after {
                    if !board.wait_created(t) {
                        return Ok(());
                    }
                }
                stdin.write_all(&sql)?;
            }
        }
        stdin.flush()?;
    }
}

fn created_marker(table: TableId) -> String {
    format!("dxbackup: created table {table}")
}

/// Reads the session's output: each marker opens a table's rows to every session. An end
/// before the session was closed is a failure (the client stopped at an error).
fn watch(out: ChildStdout, board: &Board, n: usize, closing: &AtomicBool) {
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        if let Some(t) = line.strip_prefix("dxbackup: created table ") {
            if let Ok(t) = t.trim().parse() {
                board.created(t);
            }
        }
    }
    if !closing.load(Ordering::SeqCst) {
        board.fail(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_wakes_who_waits_for_a_table() {
        let board = Board::default();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| board.wait_created(7));
            board.created(3);
            board.fail(1);
            assert!(!waiter.join().unwrap());
        });
        assert_eq!(board.failed(), Some(1));
        board.fail(2);
        assert_eq!(
            board.failed(),
            Some(1),
            "the first failure is the one reported"
        );
        let board = Board::default();
        board.created(7);
        assert!(board.wait_created(7));
    }

    #[test]
    fn the_first_failure_is_reported() {
        let board = Board::default();
        board.fail(1);
        let ends = vec![
            Err(MysqlError::Invalid("killed".into())),
            Err(MysqlError::Invalid("ERROR 4025 (23000) at line 9".into())),
        ];
        let err = settle(&board, Ok(Split::default()), ends).unwrap_err();
        assert!(err.to_string().contains("ERROR 4025"), "{err}");
        let board = Board::default();
        board.fail(READER);
        let read = Err(io::Error::other("blob damaged"));
        let err = settle(&board, read, vec![Ok(()), Ok(())]).unwrap_err();
        assert!(err.to_string().contains("blob damaged"), "{err}");
    }
}
