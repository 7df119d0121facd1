//! Every table's row count and `CHECKSUM TABLE`, computed in our snapshot while the dump streams.
//!
//! Counting and checksumming read every row once more on the server; done before the dump's
//! stream is read they would stall it (the dump blocks on its full pipe) for as long as they
//! take. So they run on a thread, on the connection that holds the consistent snapshot, while
//! the archiver stores the dump; the figures are stored as `tables.json` beside the dump, which
//! sorts after `dump.sql`, so the archiver asks for them only once the dump is stored (or in
//! parallel with it), never before. The manifest says where they are.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};

use mysql::prelude::Queryable;

use super::TableCheck;
use crate::source::mysql::{ident, MysqlError, Result, Server};

/// The figures' file name, beside the dump.
pub const TABLES_FILE: &str = "tables.json";

/// Figures being computed: the result once there, for every reader that waits.
#[derive(Default)]
pub struct Pending {
    state: Mutex<Option<std::result::Result<Vec<TableCheck>, String>>>,
    ready: Condvar,
}

impl Pending {
    fn set(&self, r: std::result::Result<Vec<TableCheck>, String>) {
        *self.state.lock().expect("checks lock") = Some(r);
        self.ready.notify_all();
    }

    /// Blocks until the figures are computed (or failed).
    pub fn wait(&self) -> std::result::Result<Vec<TableCheck>, String> {
        let mut s = self.state.lock().expect("checks lock");
        loop {
            if let Some(r) = &*s {
                return r.clone();
            }
            s = self.ready.wait(s).expect("checks lock");
        }
    }
}

/// Computes the figures of `dbs` on a thread, in `conn`'s transaction, then commits it.
pub fn spawn(server: Server, mut conn: mysql::Conn, dbs: Vec<String>) -> Arc<Pending> {
    let pending = Arc::new(Pending::default());
    let p = pending.clone();
    // Detached: it ends with its queries, whether or not anyone waits for it.
    std::thread::spawn(move || {
        let r = table_checks(&server, &mut conn, &dbs).and_then(|t| {
            conn.query_drop("COMMIT")
                .map_err(server.query_err("COMMIT"))?;
            Ok(t)
        });
        p.set(r.map_err(|e| e.to_string()));
    });
    pending
}

/// The `tables.json` stream: waits for the figures when first read. A failure is a read error,
/// which leaves the file out of the snapshot; the dump's `finish` then fails the backup.
pub struct TablesReader {
    pending: Arc<Pending>,
    data: Option<std::io::Cursor<Vec<u8>>>,
}

impl TablesReader {
    pub fn new(pending: Arc<Pending>) -> Self {
        Self {
            pending,
            data: None,
        }
    }
}

impl Read for TablesReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.is_none() {
            let tables = self.pending.wait().map_err(std::io::Error::other)?;
            let json = serde_json::to_vec_pretty(&tables).map_err(std::io::Error::other)?;
            self.data = Some(std::io::Cursor::new(json));
        }
        self.data.as_mut().expect("set above").read(buf)
    }
}

/// Row count and `CHECKSUM TABLE` of every base table, in the caller's transaction.
pub fn table_checks(
    server: &Server,
    conn: &mut mysql::Conn,
    dbs: &[String],
) -> Result<Vec<TableCheck>> {
    let mut out = Vec::new();
    for db in dbs {
        let tables: Vec<String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (db,),
            )
            .map_err(server.query_err(format!("listing tables of {db}")))?;
        for t in tables {
            let name = format!("{}.{}", ident(db), ident(&t));
            out.push(TableCheck {
                database: db.clone(),
                rows: count(server, conn, &name)?,
                checksum: checksum(server, conn, &name)?,
                table: t,
            });
        }
    }
    Ok(out)
}

fn count(server: &Server, conn: &mut mysql::Conn, name: &str) -> Result<u64> {
    Ok(conn
        .query_first(format!("SELECT COUNT(*) FROM {name}"))
        .map_err(server.query_err(format!("counting {name}")))?
        .unwrap_or(0))
}

fn checksum(server: &Server, conn: &mut mysql::Conn, name: &str) -> Result<Option<u64>> {
    let row: Option<(String, Option<u64>)> = conn
        .query_first(format!("CHECKSUM TABLE {name}"))
        .map_err(server.query_err(format!("CHECKSUM TABLE {name}")))?;
    Ok(row.and_then(|r| r.1))
}

/// The same figures for one database no one writes meanwhile (a drill's scratch copy), on
/// `workers` connections at once, biggest tables first: a drill's RTO includes this pass, and
/// one connection leaves the server's other cores idle.
pub fn table_checks_parallel(server: &Server, db: &str, workers: usize) -> Result<Vec<TableCheck>> {
    let mut conn = server.connect()?;
    let tables = biggest_first(server, &mut conn, &[db.to_string()])?;
    let mut conns = vec![conn];
    for _ in 1..workers.max(1) {
        conns.push(server.connect()?);
    }
    checks_on(server, conns, tables)
}

/// The figures of `dbs` on connections that are all in one consistent snapshot (the caller
/// proved it), biggest tables first; each transaction is committed at the end. The result is
/// in the order of [`table_checks`].
pub fn table_checks_shared(
    server: &Server,
    mut conns: Vec<mysql::Conn>,
    dbs: &[String],
) -> Result<Vec<TableCheck>> {
    let tables = biggest_first(server, &mut conns[0], dbs)?;
    let mut out = checks_on(server, conns, tables)?;
    let rank = |db: &str| dbs.iter().position(|d| d == db);
    out.sort_by(|a, b| (rank(&a.database), &a.table).cmp(&(rank(&b.database), &b.table)));
    Ok(out)
}

/// (database, table) of every base table of `dbs`, the biggest first, so the longest checksum
/// starts at once and the small ones fill the other connections.
fn biggest_first(
    server: &Server,
    conn: &mut mysql::Conn,
    dbs: &[String],
) -> Result<Vec<(String, String)>> {
    let mut all: Vec<(u64, String, String)> = Vec::new();
    for db in dbs {
        let tables: Vec<(String, Option<u64>)> = conn
            .exec(
                "SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
                (db,),
            )
            .map_err(server.query_err(format!("listing tables of {db}")))?;
        all.extend(
            tables
                .into_iter()
                .map(|(t, len)| (len.unwrap_or(0), db.clone(), t)),
        );
    }
    all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| (&a.1, &a.2).cmp(&(&b.1, &b.2))));
    Ok(all.into_iter().map(|(_, db, t)| (db, t)).collect())
}

/// A count and a checksum of each table, spread over `conns` (each its own thread); then each
/// connection commits. Sorted by database and table.
fn checks_on(
    server: &Server,
    conns: Vec<mysql::Conn>,
    tables: Vec<(String, String)>,
) -> Result<Vec<TableCheck>> {
    // (table index, checksum?) for every table: a count and a checksum each.
    let jobs: Vec<(usize, bool)> = (0..tables.len())
        .flat_map(|i| [(i, true), (i, false)])
        .collect();
    let rows = Mutex::new(vec![0u64; tables.len()]);
    let sums = Mutex::new(vec![None; tables.len()]);
    spread(
        conns,
        jobs,
        |conn, (i, is_checksum)| {
            let (db, table) = &tables[i];
            let name = format!("{}.{}", ident(db), ident(table));
            if is_checksum {
                let sum = checksum(server, conn, &name)?;
                sums.lock().expect("sums lock")[i] = sum;
            } else {
                let n = count(server, conn, &name)?;
                rows.lock().expect("rows lock")[i] = n;
            }
            Ok(())
        },
        |mut conn| {
            conn.query_drop("COMMIT")
                .map_err(server.query_err("COMMIT"))
        },
    )?;
    let (rows, sums) = (
        rows.into_inner().expect("rows lock"),
        sums.into_inner().expect("sums lock"),
    );
    let mut out: Vec<TableCheck> = tables
        .into_iter()
        .zip(rows.into_iter().zip(sums))
        .map(|((database, table), (rows, checksum))| TableCheck {
            database,
            table,
            rows,
            checksum,
        })
        .collect();
    out.sort_by(|a, b| (&a.database, &a.table).cmp(&(&b.database, &b.table)));
    Ok(out)
}

/// Runs `jobs` in order on `workers` (each its own thread, taking the next job when it is
/// free), then `finish` on each worker; the first error wins once every thread has stopped.
fn spread<W: Send, J: Send>(
    workers: Vec<W>,
    jobs: Vec<J>,
    work: impl Fn(&mut W, J) -> Result<()> + Sync,
    finish: impl Fn(W) -> Result<()> + Sync,
) -> Result<()> {
    let queue = Mutex::new(VecDeque::from(jobs));
    std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .into_iter()
            .map(|mut worker| {
                let (queue, work, finish) = (&queue, &work, &finish);
                s.spawn(move || -> Result<()> {
                    loop {
                        // In its own statement: as a `while let` scrutinee the guard would live
                        // through the body, and the workers would run one job at a time.
                        let next = queue.lock().expect("jobs lock").pop_front();
                        let Some(job) = next else { break };
                        work(&mut worker, job)?;
                    }
                    finish(worker)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a table check thread panicked"))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<()>>()
    })
}

/// Figures that could not be computed: the dump is not trustworthy without them.
pub(in crate::source::mysql) fn failed(reason: String) -> MysqlError {
    MysqlError::Invalid(format!(
        "cannot compute the table figures of the dump: {reason}"
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;

    use super::spread;

    /// Two workers are inside a job at the same moment: each job waits (up to 10 s) for the
    /// other worker to arrive. Run one at a time, no job ever sees a second.
    #[test]
    fn workers_run_jobs_at_the_same_time() {
        let inside = Mutex::new((0usize, 0usize)); // (now, most at once)
        let changed = Condvar::new();
        let seen_by: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        spread(
            vec![0usize, 1],
            vec![(); 4],
            |worker, ()| {
                let mut g = inside.lock().unwrap();
                g.0 += 1;
                g.1 = g.1.max(g.0);
                changed.notify_all();
                let (mut g, _) = changed
                    .wait_timeout_while(g, Duration::from_secs(10), |g| g.1 < 2)
                    .unwrap();
                g.0 -= 1;
                seen_by.lock().unwrap().push(*worker);
                Ok(())
            },
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(inside.lock().unwrap().1, 2, "the jobs ran one at a time");
        assert_eq!(seen_by.lock().unwrap().len(), 4);
    }

    #[test]
    fn a_failed_job_is_the_result_and_finish_is_skipped_for_its_worker() {
        let finished = Mutex::new(0);
        let err = spread(
            vec![()],
            vec![1, 2, 3],
            |_, j| {
                if j == 2 {
                    Err(crate::source::mysql::MysqlError::Invalid("job 2".into()))
                } else {
                    Ok(())
                }
            },
            |_| {
                *finished.lock().unwrap() += 1;
                Ok(())
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("job 2"), "{err}");
        assert_eq!(*finished.lock().unwrap(), 0);
    }
}
