//! The database a restore writes into: a name that is safe everywhere it goes (SQL, the binlog
//! tool's `--rewrite-db`), the privileges the restore needs, checked before anything is
//! written, and what a failed restore leaves behind (nothing it created).

use mysql::prelude::Queryable;

use super::super::{ident, MysqlError, Result, Server};

/// What `prepare_database` found, so a failed restore knows what to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The restore created the database: drop it on failure.
    Created,
    /// It existed (emptied by `--force`, or empty): left in place, reported incomplete.
    Existing,
}

/// A database name the restore can use: letters, digits, `_`, `$`, `-`, at most 64
/// characters. Anything else (spaces, `;`, quotes, `.`, `->`) would have to be quoted in ways
/// the binlog tool's `--rewrite-db` cannot express.
pub fn check_database_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '-'));
    if ok {
        Ok(())
    } else {
        Err(MysqlError::Invalid(format!(
            "--into `{name}` is not a usable database name: use letters, digits, `_`, `$` or `-` (at most 64 characters)"
        )))
    }
}

/// Refuses to overwrite a database with tables in it, unless forced; then (re)creates it.
pub fn prepare_database(server: &Server, into: &str, force: bool) -> Result<Target> {
    let mut conn = server.connect()?;
    let exists: Option<String> = conn
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (into,),
        )
        .map_err(server.query_err("checking the target database"))?;
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
    Ok(if exists.is_some() {
        Target::Existing
    } else {
        Target::Created
    })
}

/// After a failed restore: drops a database the restore created; returns what to tell the user.
pub fn abandon(server: &Server, into: &str, target: Target) -> Result<String> {
    match target {
        Target::Created => {
            let mut conn = server.connect()?;
            conn.query_drop(format!("DROP DATABASE IF EXISTS {}", ident(into)))
                .map_err(server.query_err("dropping the half-restored database"))?;
            Ok(format!(
                "the restore failed; `{into}` (created by it) was dropped, nothing is left behind"
            ))
        }
        Target::Existing => Ok(format!(
            "the restore failed: database `{into}` existed before and is now INCOMPLETE; drop it or restore again with --force"
        )),
    }
}

/// Privileges a restore into `into` needs on that database.
const DB_PRIVILEGES: [&str; 17] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "ALTER",
    "INDEX",
    "REFERENCES",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "TRIGGER",
    "EVENT",
];

/// Checks, before anything is written, that the restore's user may do all it will do: the
/// grants on the target database (from `SHOW GRANTS`, roles followed), and, when binlogs are
/// replayed, the session's right to turn binary logging off and to apply `BINLOG` events
/// (probed, since those privileges have different names on MariaDB and MySQL 8).
pub fn check_privileges(server: &Server, into: &str, binlogs: bool) -> Result<()> {
    let mut conn = server.connect()?;
    let mut missing: Vec<String> = Vec::new();
    let grants = effective_grants(&mut conn, server)?;
    if !grants.is_empty() {
        for p in DB_PRIVILEGES {
            if !grants.iter().any(|g| g.allows(p, into)) {
                missing.push(format!("{p} ON `{into}`.*"));
            }
        }
    }
    if conn.query_drop("SET SESSION sql_log_bin = 0").is_err() {
        missing.push(
            "the right to SET sql_log_bin (MariaDB: BINLOG ADMIN or SUPER; MySQL 8: SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN)".into(),
        );
    }
    if binlogs {
        // Not valid base64: a user allowed to replay gets a decoding error, others error 1227.
        if let Err(mysql::Error::MySqlError(e)) = conn.query_drop("BINLOG 'AA=='") {
            if e.code == 1227 || e.code == 1044 || e.code == 1045 {
                missing.push(
                    "the right to apply binlog events (MariaDB: BINLOG REPLAY; MySQL 8: BINLOG_ADMIN or REPLICATION_APPLIER)".into(),
                );
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(MysqlError::Invalid(format!(
        "user `{}` on {} lacks what this restore needs: {}; grant it (see the README's privilege list), or restore with another user",
        server.user,
        server.describe(),
        missing.join(", ")
    )))
}

/// One `GRANT privs ON scope` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    privileges: Vec<String>,
    /// `*` for `*.*`, else the database name or LIKE pattern of `db.*` / `db.table`.
    database: String,
    /// The grant covers the whole database (`db.*` or `*.*`), not one table.
    whole: bool,
}

impl Grant {
    fn allows(&self, privilege: &str, db: &str) -> bool {
        self.whole
            && (self.database == "*" || like(&self.database, db))
            && self
                .privileges
                .iter()
                .any(|p| p == privilege || p == "ALL PRIVILEGES" || p == "ALL")
    }
}

/// The grants of the current user and of every role granted to it.
fn effective_grants(conn: &mut mysql::Conn, server: &Server) -> Result<Vec<Grant>> {
    let mut out = Vec::new();
    let mut todo = vec!["CURRENT_USER()".to_string()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(who) = todo.pop() {
        if !seen.insert(who.clone()) || seen.len() > 32 {
            continue;
        }
        let lines: Vec<String> = conn
            .query(format!("SHOW GRANTS FOR {who}"))
            .map_err(server.query_err("reading the user's grants"))?;
        for line in lines {
            match parse_grant(&line) {
                Some(ParsedGrant::Privileges(g)) => out.push(g),
                Some(ParsedGrant::Role(r)) => todo.push(r),
                None => {}
            }
        }
    }
    Ok(out)
}

enum ParsedGrant {
    Privileges(Grant),
    Role(String),
}

fn parse_grant(line: &str) -> Option<ParsedGrant> {
    let rest = line.strip_prefix("GRANT ")?;
    let Some((privs, after)) = rest.split_once(" ON ") else {
        // `GRANT role TO user`
        let role = rest.split(" TO ").next()?.trim();
        return Some(ParsedGrant::Role(role.to_string()));
    };
    let scope = after.split(" TO ").next()?.trim();
    let (db, table) = scope.rsplit_once('.')?;
    let db = db.trim_matches('`').replace("``", "`");
    let privileges = split_privileges(privs);
    Some(ParsedGrant::Privileges(Grant {
        privileges,
        database: db,
        whole: table == "*",
    }))
}

/// `SELECT, INSERT (col), CREATE VIEW` -> the privilege names (column lists dropped).
fn split_privileges(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ if depth == 0 => cur.push(c),
            _ => {}
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_ascii_uppercase())
        .filter(|p| !p.is_empty())
        .collect()
}

/// SQL LIKE as used in grant database names: `%`, `_`, and `\` escapes.
fn like(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('_', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                n.first() == Some(&rest[0]) && go(&rest[1..], &n[1..])
            }
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("shop_0915", true)]
    #[case("订单库", true)]
    #[case("a-b$c", true)]
    #[case("bad name; DROP DATABASE x", false)]
    #[case("a.b", false)]
    #[case("a->b", false)]
    #[case("", false)]
    fn database_names(#[case] name: &str, #[case] ok: bool) {
        assert_eq!(check_database_name(name).is_ok(), ok, "{name}");
    }

    #[test]
    fn grants_are_parsed_with_patterns_and_roles() {
        let Some(ParsedGrant::Privileges(g)) = parse_grant(
            "GRANT SELECT, INSERT (id, name), CREATE VIEW ON `shop\\_%`.* TO `dxb`@`%`",
        ) else {
            panic!()
        };
        assert_eq!(g.privileges, ["SELECT", "INSERT", "CREATE VIEW"]);
        assert!(g.allows("CREATE VIEW", "shop_0915"));
        assert!(
            !g.allows("CREATE VIEW", "shopx0915"),
            "escaped _ is literal"
        );
        assert!(!g.allows("DROP", "shop_0915"));
        let Some(ParsedGrant::Privileges(all)) =
            parse_grant("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION")
        else {
            panic!()
        };
        assert!(all.allows("EVENT", "anything"));
        let Some(ParsedGrant::Privileges(t)) =
            parse_grant("GRANT ALL PRIVILEGES ON `shop`.`t` TO `u`@`%`")
        else {
            panic!()
        };
        assert!(
            !t.allows("SELECT", "shop"),
            "a table grant is not a database grant"
        );
        assert!(matches!(
            parse_grant("GRANT `restorer` TO `dxb`@`%`"),
            Some(ParsedGrant::Role(r)) if r == "`restorer`"
        ));
    }
}
