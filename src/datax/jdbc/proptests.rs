//! Property tests of `parse_jdbc_url`: URLs of every DataX reader/writer family, generated
//! with credentials, placeholders, IPv6 hosts and extra hosts, read back to the host, port
//! and database they were written with; the credentials never come back; nothing panics.

use proptest::prelude::*;
use proptest::test_runner::Config as Cases;

use super::*;

fn cases(n: u32) -> Cases {
    Cases {
        cases: n,
        failure_persistence: None,
        ..Cases::default()
    }
}

/// What a URL was written with; `port: None` means the URL names none.
#[derive(Debug, Clone)]
struct Want {
    kind: DbKind,
    host: String,
    port: Option<String>,
    database: Option<String>,
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,5}){0,2}",
        1 => (0u8..=255, 0u8..=255, 0u8..=255, 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        1 => prop::sample::select(vec!["[::1]", "[fe80::1:2]", "[2001:db8::7]"]).prop_map(String::from),
        1 => "\\$\\{[a-zA-Z]{1,6}\\}",
    ]
}

fn port() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        3 => (1u16..=65535).prop_map(|p| Some(p.to_string())),
        1 => "\\$\\{[a-z]{1,4}\\}".prop_map(Some),
    ]
}

fn database() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z_][A-Za-z0-9_]{0,10}",
        1 => "\\$\\{[a-zA-Z]{1,6}\\}",
    ]
}

/// A password that URLs allow unencoded in their userinfo (sub-delims, `@`, `:`), and that
/// nothing else generated holds: `Pw!`.
fn password() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!$&'()*+,;=~._@:-]{0,6}".prop_map(|s| format!("Pw!{s}"))
}

fn hp(host: &str, port: &Option<String>) -> String {
    match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// `jdbc:SUB://[user:pw@]host[:port][,more][/db][?params]`: mysql, mariadb, postgresql and
/// the families DataX reaches through their own sub-protocol.
fn authority_url() -> impl Strategy<Value = (String, Want)> {
    let sub = prop::sample::select(vec![
        ("mysql", DbKind::Mysql),
        ("mysql:loadbalance", DbKind::Mysql),
        ("mysql:replication", DbKind::Mysql),
        ("mariadb", DbKind::Mariadb),
        ("postgresql", DbKind::Postgresql),
        ("clickhouse", DbKind::Other),
        ("hive2", DbKind::Other),
    ]);
    let creds = prop::option::of(("[a-z]{1,6}", password()));
    let extra = prop::option::of((host(), port()));
    let params = prop::sample::select(vec!["", "?useSSL=false", "?user=u&password=Pw!q", "#x"]);
    (
        sub,
        creds,
        host(),
        port(),
        extra,
        prop::option::of(database()),
        params,
    )
        .prop_map(|((sub, kind), creds, h, p, extra, db, params)| {
            let mut url = format!("jdbc:{sub}://");
            if let Some((u, pw)) = creds {
                url += &format!("{u}:{pw}@");
            }
            url += &hp(&h, &p);
            if let Some((h2, p2)) = extra {
                url += &format!(",{}", hp(&h2, &p2));
            }
            if let Some(d) = &db {
                url += &format!("/{d}");
            }
            url += params;
            (
                url,
                Want {
                    kind,
                    host: h,
                    port: p,
                    database: db,
                },
            )
        })
}

/// Oracle's SID, EZConnect and TNS forms, with and without `user/pw@`.
fn oracle_url() -> impl Strategy<Value = (String, Want)> {
    let creds = prop::option::of(("[a-z]{1,6}", password()));
    (creds, host(), port(), database(), 0u8..5).prop_map(|(creds, h, p, db, form)| {
        let who = creds.map_or(String::new(), |(u, pw)| format!("{u}/{pw}"));
        let (spec, port) = match form {
            // The SID form needs its port.
            0 => {
                let p = p.unwrap_or_else(|| "1521".into());
                (format!("{h}:{p}:{db}"), Some(p))
            }
            1 => (format!("//{}/{db}", hp(&h, &p)), p),
            2 => (format!("{}/{db}", hp(&h, &p)), p),
            3 => (format!("tcp://{}/{db}", hp(&h, &p)), p),
            _ => {
                let p = p.unwrap_or_else(|| "1521".into());
                let tns = format!(
                    "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST={h})(PORT={p}))\
                     (CONNECT_DATA=(SERVICE_NAME={db})))"
                );
                (tns, Some(p))
            }
        };
        let url = format!("jdbc:oracle:thin:{who}@{spec}");
        let want = Want {
            kind: DbKind::Oracle,
            host: h,
            port,
            database: Some(db),
        };
        (url, want)
    })
}

/// `jdbc:sqlserver://host[\INSTANCE][:port];databaseName=db;...`, or everything in properties.
fn sqlserver_url() -> impl Strategy<Value = (String, Want)> {
    let key = prop::sample::select(vec!["databaseName", "DatabaseName", "database"]);
    (host(), port(), database(), key, password(), any::<bool>()).prop_map(
        |(h, p, db, key, pw, props)| {
            let url = if props {
                let port = p
                    .as_ref()
                    .map_or(String::new(), |p| format!(";portNumber={p}"));
                format!("jdbc:sqlserver://;serverName={h}{port};{key}={db};password={pw}")
            } else {
                format!(
                    "jdbc:sqlserver://{};{key}={db};user=sa;password={pw};encrypt=true",
                    hp(&h, &p)
                )
            };
            (
                url,
                Want {
                    kind: DbKind::Sqlserver,
                    host: h,
                    port: p,
                    database: Some(db),
                },
            )
        },
    )
}

fn any_url() -> impl Strategy<Value = (String, Want)> {
    prop_oneof![3 => authority_url(), 2 => oracle_url(), 1 => sqlserver_url()]
}

proptest! {
    #![proptest_config(cases(3000))]

    /// Every generated URL reads back to what it was written with, default port included
    /// (none for a placeholder host, which may carry it), and no credential comes back.
    #[test]
    fn generated_urls_round_trip((url, want) in any_url()) {
        let got = parse_jdbc_url(&url);
        prop_assert!(got.is_some(), "{url}");
        let got = got.unwrap();
        let port = want.port.clone().or_else(|| {
            (!want.host.contains('$')).then(|| want.kind.default_port().map(|p| p.to_string())).flatten()
        });
        prop_assert_eq!(got.kind, want.kind, "{}", url);
        prop_assert_eq!(&got.host, &want.host, "{}", url);
        prop_assert_eq!(&got.port, &port, "{}", url);
        prop_assert_eq!(&got.database, &want.database, "{}", url);
        let fields = format!("{} {:?} {:?}", got.host, got.port, got.database);
        prop_assert!(!fields.contains("Pw!"), "{url} -> {fields}");
    }

    /// Anything, and URL-shaped noise: `None` or a target with a host, never a panic.
    #[test]
    fn any_text_never_panics(
        head in prop::sample::select(vec!["", "jdbc:", "JDBC:", "jdbc:mysql:", "jdbc:oracle:thin:",
            "jdbc:sqlserver:", "jdbc:mysql://", "jdbc:oracle:thin:@", "jdbc:oracle:thin:@//"]),
        tail in "[\\[\\]()@/:;,?#=${}a-zA-Z0-9.\\\\ 数é-]{0,30}",
        noise in "\\PC{0,20}",
    ) {
        for url in [format!("{head}{tail}"), noise.clone(), format!("{head}{noise}")] {
            if let Some(t) = parse_jdbc_url(&url) {
                prop_assert!(!t.host.is_empty(), "{url}");
            }
        }
    }
}
