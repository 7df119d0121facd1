//! Best-effort reading of the JDBC URLs found in DataX jobs.
//!
//! `discover` wants to say "this installation talks to mysql on host X,
//! database Y"; it does not need a full driver-grade parser, and it must
//! never choke on the `${var}` placeholders DataX substitutes at run time.

use std::fmt;

use serde::Serialize;

/// Database family, from the JDBC sub-protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    Mysql,
    Mariadb,
    Postgresql,
    Oracle,
    Sqlserver,
    /// Apache Doris, whose front end speaks the MySQL protocol (`jdbc:mysql://fe:9030`).
    Doris,
    /// StarRocks, a MySQL-protocol front end too.
    Starrocks,
    /// SelectDB, the managed Doris.
    Selectdb,
    /// OceanBase, which DataX reaches through `jdbc:mysql://` or its own URL form.
    Oceanbase,
    /// Any other sub-protocol (clickhouse, hive2, dm, ...).
    Other,
}

impl DbKind {
    /// The port the vendor's driver uses when the URL names none.
    pub fn default_port(self) -> Option<u16> {
        match self {
            DbKind::Mysql | DbKind::Mariadb => Some(3306),
            DbKind::Postgresql => Some(5432),
            DbKind::Oracle => Some(1521),
            DbKind::Sqlserver => Some(1433),
            DbKind::Doris
            | DbKind::Starrocks
            | DbKind::Selectdb
            | DbKind::Oceanbase
            | DbKind::Other => None,
        }
    }

    /// Whether this is a MySQL or MariaDB server, one `mysqldump` and the binlogs protect.
    pub fn is_mysql_server(self) -> bool {
        matches!(self, DbKind::Mysql | DbKind::Mariadb)
    }

    /// The engine a DataX plugin is written for, when the plugin says more than its URL:
    /// `doriswriter` reaches Doris over `jdbc:mysql://`, yet Doris is no MySQL server.
    pub fn from_plugin(plugin: &str) -> Option<Self> {
        let p = plugin.to_ascii_lowercase();
        let engine = p
            .strip_suffix("reader")
            .or_else(|| p.strip_suffix("writer"))
            .unwrap_or(&p);
        match engine {
            "doris" => Some(DbKind::Doris),
            "starrocks" => Some(DbKind::Starrocks),
            "selectdb" => Some(DbKind::Selectdb),
            "oceanbasev10" | "oceanbase" => Some(DbKind::Oceanbase),
            _ => None,
        }
    }

    fn from_subprotocol(sub: &str) -> Self {
        match sub.to_ascii_lowercase().as_str() {
            "mysql" => DbKind::Mysql,
            "mariadb" => DbKind::Mariadb,
            "postgresql" => DbKind::Postgresql,
            "oracle" => DbKind::Oracle,
            "sqlserver" => DbKind::Sqlserver,
            _ => DbKind::Other,
        }
    }
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DbKind::Mysql => "mysql",
            DbKind::Mariadb => "mariadb",
            DbKind::Postgresql => "postgresql",
            DbKind::Oracle => "oracle",
            DbKind::Sqlserver => "sqlserver",
            DbKind::Doris => "doris",
            DbKind::Starrocks => "starrocks",
            DbKind::Selectdb => "selectdb",
            DbKind::Oceanbase => "oceanbase",
            DbKind::Other => "other",
        })
    }
}

/// Where a JDBC URL points.
///
/// Fields are strings, not numbers, because any of them may be a `${var}` or
/// `$var` placeholder, which is kept verbatim so users see what DataX will
/// substitute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JdbcTarget {
    pub kind: DbKind,
    /// The first host of the URL (MySQL allows a comma-separated list).
    /// Never empty.
    pub host: String,
    /// The explicit port, else the kind's default port; `None` for
    /// [`DbKind::Other`] without a port, and when the host is a placeholder
    /// (it may well carry the port, so a default would be a guess).
    pub port: Option<String>,
    /// Database, Oracle SID or service name, when the URL names one.
    pub database: Option<String>,
}

impl JdbcTarget {
    /// The port as a number; `None` when absent or a placeholder.
    pub fn port_number(&self) -> Option<u16> {
        self.port.as_deref()?.parse().ok()
    }
}

/// Reads the kind, host, port and database out of a JDBC URL.
///
/// Understands `jdbc:mysql://h:p/db?params` (also `mariadb`, `postgresql`
/// and other `//host` URLs), `jdbc:oracle:thin:@h:p:sid`,
/// `jdbc:oracle:thin:@//h:p/service`, Oracle TNS descriptors, and
/// `jdbc:sqlserver://h:p;DatabaseName=db`. Credentials embedded in the URL
/// (`user:pw@host`, Oracle's `user/pw@`) are skipped, never returned.
/// Returns `None` for anything that is not a JDBC URL with a host, such as
/// a URL that is a single `${jdbcUrl}` placeholder.
pub fn parse_jdbc_url(url: &str) -> Option<JdbcTarget> {
    let url = url.trim();
    let prefix = url.get(..5)?;
    if !prefix.eq_ignore_ascii_case("jdbc:") {
        return None;
    }
    let (sub, rest) = url[5..].split_once(':')?;
    let kind = DbKind::from_subprotocol(sub);
    let (host, port, database) = if kind == DbKind::Oracle {
        oracle_parts(rest)?
    } else {
        authority_parts(kind, rest)?
    };
    if host.is_empty() {
        return None;
    }
    let port = port.or_else(|| {
        if host.contains('$') {
            None
        } else {
            kind.default_port().map(|p| p.to_string())
        }
    });
    Some(JdbcTarget {
        kind,
        host,
        port,
        database,
    })
}

type Parts = (String, Option<String>, Option<String>);

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `//[user:pw@]host[:port][,host2...][/db][?params][;props]`, optionally
/// preceded by a sub-sub-protocol such as MySQL's `loadbalance:`.
fn authority_parts(kind: DbKind, rest: &str) -> Option<Parts> {
    let mut after = &rest[rest.find("//")? + 2..];
    if kind != DbKind::Sqlserver {
        // The credentials end at the last `@` before the path: a password may hold `;`, `,`
        // or `:` (a URL's userinfo allows them), never an unencoded `/`, `?` or `#`. SQL
        // Server URLs have none, and an `@` in their `;user=` property is no such end.
        let path = after.find(['/', '?', '#']).unwrap_or(after.len());
        after = after[..path].rfind('@').map_or(after, |i| &after[i + 1..]);
    }
    let end = after.find(['/', '?', ';', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let first = authority.split(',').next().unwrap_or_default();
    let (mut host, mut port) = split_host_port(first);

    let tail = &after[end..];
    let mut database = tail
        .strip_prefix('/')
        .and_then(|p| non_empty(&p[..p.find(['?', ';', '#']).unwrap_or(p.len())]));

    // SQL Server keeps everything in `;key=value` properties, and its keys
    // are case-insensitive (DatabaseName, databaseName, database...).
    if kind == DbKind::Sqlserver {
        for prop in tail.split(';').skip(1) {
            let Some((k, v)) = prop.split_once('=') else {
                continue;
            };
            let k = k.trim().to_ascii_lowercase();
            match k.as_str() {
                "databasename" | "database" if database.is_none() => database = non_empty(v),
                "servername" | "server" if host.is_empty() => host = v.trim().to_owned(),
                "portnumber" | "port" if port.is_none() => port = non_empty(v),
                _ => {}
            }
        }
    }
    Some((host, port, database))
}

fn split_host_port(hp: &str) -> (String, Option<String>) {
    if let Some(v6) = hp.strip_prefix('[') {
        if let Some((addr, rest)) = v6.split_once(']') {
            let port = rest.strip_prefix(':').and_then(non_empty);
            return (format!("[{addr}]"), port);
        }
    }
    match hp.rsplit_once(':') {
        Some((h, p)) => (h.trim().to_owned(), non_empty(p)),
        None => (hp.trim().to_owned(), None),
    }
}

/// `thin:[user/pw]@...` followed by `host:port:sid`, `//host[:port]/service`
/// (EZConnect) or a `(DESCRIPTION=...)` TNS descriptor.
fn oracle_parts(rest: &str) -> Option<Parts> {
    // rfind: a password may itself contain '@', a connect string never does.
    let spec = rest[rest.rfind('@')? + 1..].trim();
    if spec.starts_with('(') {
        let host = tns_value(spec, "HOST").unwrap_or_default();
        let port = tns_value(spec, "PORT");
        let db = tns_value(spec, "SERVICE_NAME").or_else(|| tns_value(spec, "SID"));
        return Some((host, port, db));
    }
    // EZConnect Plus may name the protocol: `tcp://host...`, `tcps://host...`.
    let spec = match spec.split_once("://") {
        Some((proto, s)) if proto.chars().all(|c| c.is_ascii_alphabetic()) => s,
        _ => spec.strip_prefix("//").unwrap_or(spec),
    };
    let spec = &spec[..spec.find('?').unwrap_or(spec.len())];
    // The host first, up to a `:` or `/` outside its brackets (an IPv6 address has colons).
    let end = match spec.strip_prefix('[') {
        Some(v6) => v6.find(']').map_or(spec.len(), |i| i + 2),
        None => spec.find([':', '/']).unwrap_or(spec.len()),
    };
    let host = spec[..end].trim().to_owned();
    let mut rest = &spec[end..];
    let mut port = None;
    if let Some(r) = rest.strip_prefix(':') {
        let e = r.find([':', '/']).unwrap_or(r.len());
        (port, rest) = (non_empty(&r[..e]), &r[e..]);
    }
    // `:sid`, or EZConnect's `/service`, which may go on with `:server_type` or `/instance`.
    let db = match rest.strip_prefix('/') {
        Some(service) => service.split([':', '/']).next().and_then(non_empty),
        None => rest.strip_prefix(':').and_then(non_empty),
    };
    Some((host, port, db))
}

/// The value of `(KEY = value)` in a TNS descriptor, matched case-insensitively.
fn tns_value(spec: &str, key: &str) -> Option<String> {
    // ASCII uppercasing keeps byte offsets, so indexes found in `upper`
    // are valid in `spec`.
    let upper = spec.to_ascii_uppercase();
    let needle = format!("({key}");
    let mut from = 0;
    while let Some(i) = upper[from..].find(&needle) {
        let after = from + i + needle.len();
        let rest = spec[after..].trim_start();
        if let Some(v) = rest.strip_prefix('=') {
            return non_empty(&v[..v.find(')').unwrap_or(v.len())]);
        }
        from = after;
    }
    None
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests;
