//! The `[source.NAME]` blocks `discover` proposes for the MySQL servers the jobs reach.
//!
//! The output is pasted into a real config, so it must parse and pass `config check` as it is
//! (given the password files): names unique and usable as tags, values quoted as TOML quotes
//! them, and no block for a server that cannot be written down yet (a `${host}`, no database
//! named) but a comment saying why.

use std::collections::BTreeMap;

/// One MySQL server the jobs reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlServer {
    pub host: String,
    /// The port as written (`None`: the host is a placeholder that may carry it).
    pub port: Option<String>,
    /// Each database the jobs name on it, as written (`None`: the URL names none), with the
    /// jobs that use it.
    pub databases: Vec<(Option<String>, Vec<String>)>,
}

impl MysqlServer {
    fn port_number(&self) -> Option<u16> {
        self.port.as_deref()?.parse().ok()
    }

    /// The databases named outright, and the `${var}` ones, each once.
    fn names(&self) -> (Vec<&str>, Vec<&str>) {
        let mut all: Vec<&str> = Vec::new();
        for d in self.databases.iter().filter_map(|(d, _)| d.as_deref()) {
            if !all.contains(&d) {
                all.push(d);
            }
        }
        all.into_iter().partition(|d| !d.contains('$'))
    }
}

/// The proposed config: one block per server that can be written down, a comment for the
/// others. Servers come in the order given; names do not depend on it.
pub fn propose(servers: &[MysqlServer]) -> String {
    let names = source_names(servers);
    let mut out = String::from(
        "# Add to dxbackup.toml to protect the MySQL databases, one source per server. The user\n\
         # needs SELECT, RELOAD, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, REPLICATION CLIENT/SLAVE;\n\
         # its password goes into the password-file (relative to dxbackup.toml, mode 0600).\n",
    );
    for (server, name) in servers.iter().zip(&names) {
        out.push('\n');
        out += &block(server, name);
    }
    out
}

fn block(server: &MysqlServer, name: &str) -> String {
    let (names, variables) = server.names();
    let at = format!(
        "{}:{}",
        server.host,
        server.port.as_deref().unwrap_or("PORT")
    );
    let mut s = String::new();
    let port = server.port_number();
    if server.host.contains('$') || port.is_none() {
        s += &format!("# {at}: the host or port is a job variable; no source proposed. Add one\n# with the real address once you know it.\n");
    } else if names.is_empty() {
        let why = if variables.is_empty() {
            "the jobs name no database on it".to_string()
        } else {
            format!(
                "the jobs name its databases only through {}",
                variables.join(", ")
            )
        };
        s += &format!("# {at}: {why}; no source proposed. Add one with\n# databases = [\"...\"] (or databases = \"all\") once you know them.\n");
    } else {
        s += &format!(
            "[source.{name}]\nkind = \"mysql\"\nhost = {}\nport = {}\nuser = \"backup\"\npassword-file = {}\ndatabases = [{}]\nbinlog = true\ntier = \"important\"\n",
            quote(&server.host),
            port.unwrap_or(3306),
            quote(&format!("{name}.password")),
            names.iter().map(|d| quote(d)).collect::<Vec<_>>().join(", "),
        );
        if !variables.is_empty() {
            s += &format!(
                "# also used through job variables {}: add the databases they stand for\n",
                variables.join(", ")
            );
        }
    }
    for (db, jobs) in &server.databases {
        s += &format!("# {}: {}\n", db.as_deref().unwrap_or("-"), jobs.join(", "));
    }
    s
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A name per server, unique, usable as a key and a tag (`[A-Za-z0-9_-]`), and readable: the
/// host's first label (`trade-db` for trade-db.example; an IP address whole), `-PORT` when
/// not 3306. Servers whose names collide are named by their whole host instead, and any still
/// alike numbered in the order of their (host, port): the same jobs always give the same names.
pub fn source_names(servers: &[MysqlServer]) -> Vec<String> {
    let port_suffix = |s: &MysqlServer| match s.port_number() {
        Some(3306) => String::new(),
        Some(p) => format!("-{p}"),
        None => format!("-{}", sanitize(s.port.as_deref().unwrap_or("port"))),
    };
    let short: Vec<String> = servers
        .iter()
        .map(|s| sanitize(first_label(&s.host)) + &port_suffix(s))
        .collect();
    let mut names: Vec<String> = servers
        .iter()
        .zip(&short)
        .map(|(s, n)| {
            if short.iter().filter(|m| *m == n).count() > 1 {
                sanitize(&s.host) + &port_suffix(s)
            } else {
                n.clone()
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..servers.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| (&servers[i].host, &servers[i].port);
        key(a).cmp(&key(b))
    });
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for i in order {
        let n = seen.entry(names[i].clone()).or_default();
        *n += 1;
        if *n > 1 {
            names[i] = format!("{}-{n}", names[i]);
        }
    }
    names
}

/// `trade-db` of `trade-db.example`; an IP address (v4 or v6) is kept whole.
fn first_label(host: &str) -> &str {
    let ip = host.contains(':') || host.chars().all(|c| c.is_ascii_digit() || c == '.');
    if ip {
        host
    } else {
        host.split('.').next().unwrap_or(host)
    }
}

fn sanitize(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_');
    if s.is_empty() {
        "mysql".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn server(host: &str, port: &str, dbs: &[&str]) -> MysqlServer {
        MysqlServer {
            host: host.into(),
            port: (!port.is_empty()).then(|| port.into()),
            databases: dbs
                .iter()
                .map(|d| {
                    (
                        (*d != "-").then(|| d.to_string()),
                        vec!["job/a.json (reader mysqlreader)".into()],
                    )
                })
                .collect(),
        }
    }

    #[rstest]
    #[case::first_labels(&[("trade-db.example", "3306"), ("report-dw.example", "3306")], &["trade-db", "report-dw"])]
    #[case::ip_addresses_whole(&[("192.168.1.10", "3306"), ("192.168.1.11", "3306")], &["192_168_1_10", "192_168_1_11"])]
    #[case::other_port(&[("db.example", "3307"), ("db.example", "3306")], &["db-3307", "db"])]
    #[case::same_label_other_domain(&[("db.a.example", "3306"), ("db.b.example", "3306")], &["db_a_example", "db_b_example"])]
    #[case::alike_after_sanitizing(&[("db.a_b", "3306"), ("db.a.b", "3306")], &["db_a_b-2", "db_a_b"])]
    #[case::ipv6(&[("[::1]", "3306")], &["1"])]
    fn names_are_unique_and_readable(#[case] hosts: &[(&str, &str)], #[case] want: &[&str]) {
        let servers: Vec<_> = hosts.iter().map(|(h, p)| server(h, p, &["d"])).collect();
        assert_eq!(source_names(&servers), want);
        let mut reversed = servers.clone();
        reversed.reverse();
        let mut names = source_names(&reversed);
        names.reverse();
        assert_eq!(names, want, "names do not depend on the order");
    }

    #[test]
    fn blocks_are_valid_toml_with_the_named_databases() {
        let servers = [
            server("trade-db.example", "3306", &["shop_oltp", "${srcDb}"]),
            server("192.168.1.10", "3307", &["a\"b", "a\"b"]),
        ];
        let text = propose(&servers);
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let src = doc["source"].as_table().unwrap();
        assert_eq!(
            src["trade-db"]["databases"].as_array().unwrap().len(),
            1,
            "{text}"
        );
        assert_eq!(
            src["trade-db"]["password-file"].as_str(),
            Some("trade-db.password")
        );
        assert_eq!(src["192_168_1_10-3307"]["port"].as_integer(), Some(3307));
        let dbs = src["192_168_1_10-3307"]["databases"].as_array().unwrap();
        assert_eq!(dbs.len(), 1, "each database once: {text}");
        assert_eq!(dbs[0].as_str(), Some("a\"b"));
        assert!(
            text.contains("# also used through job variables ${srcDb}"),
            "{text}"
        );
    }

    #[rstest]
    #[case::only_variables(server("trade-db.example", "3306", &["${srcDb}"]), "only through ${srcDb}")]
    #[case::no_database(server("trade-db.example", "3306", &["-"]), "name no database")]
    #[case::host_variable(server("${host}", "", &["shop"]), "is a job variable")]
    #[case::port_variable(server("db.example", "${port}", &["shop"]), "is a job variable")]
    fn servers_that_cannot_be_written_down_get_a_comment(
        #[case] s: MysqlServer,
        #[case] why: &str,
    ) {
        let text = propose(&[s]);
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert!(doc.is_empty(), "no block: {text}");
        assert!(text.contains(why), "{text}");
        assert!(!text.contains("databases = []"), "{text}");
    }
}
