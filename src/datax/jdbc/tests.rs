use super::*;
use rstest::rstest;

/// Expected values as "kind host port database", `-` for `None`, so the
/// table stays one line per URL.
#[rstest]
#[case(
    "jdbc:mysql://db1.example:3306/shop?useSSL=false",
    "mysql db1.example 3306 shop"
)]
#[case("jdbc:mysql://db2.example/dw", "mysql db2.example 3306 dw")]
#[case("jdbc:mysql://db2.example:3307", "mysql db2.example 3307 -")]
#[case("jdbc:mysql://h:3306/?useSSL=false", "mysql h 3306 -")]
#[case(
    "jdbc:mysql://trade:3306/${srcDb}?useSSL=false",
    "mysql trade 3306 ${srcDb}"
)]
#[case("jdbc:mysql://${host}:${port}/${db}", "mysql ${host} ${port} ${db}")]
#[case("jdbc:mysql://$host/$db", "mysql $host - $db")]
#[case("jdbc:mysql://u:pw@h:3306/db", "mysql h 3306 db")]
#[case("jdbc:mysql://h1:3310,h2:3311/db", "mysql h1 3310 db")]
#[case("jdbc:mysql:loadbalance://h1,h2/db", "mysql h1 3306 db")]
#[case("jdbc:mysql://[::1]:3306/db", "mysql [::1] 3306 db")]
#[case("JDBC:MySQL://H:1/D", "mysql H 1 D")]
#[case("jdbc:mariadb://m.example:3307/x", "mariadb m.example 3307 x")]
#[case(
    "jdbc:postgresql://pg.example:5432/billing",
    "postgresql pg.example 5432 billing"
)]
#[case(
    "jdbc:postgresql://pg/billing?sslmode=require",
    "postgresql pg 5432 billing"
)]
#[case(
    "jdbc:oracle:thin:@ora.example:1521:ORCL",
    "oracle ora.example 1521 ORCL"
)]
#[case(
    "jdbc:oracle:thin:@//crm-ora.example:1521/ERPPDB",
    "oracle crm-ora.example 1521 ERPPDB"
)]
#[case("jdbc:oracle:thin:@//crm-ora/ERPPDB", "oracle crm-ora 1521 ERPPDB")]
#[case(
    "jdbc:oracle:thin:@crm-ora:1522/ERPPDB:dedicated",
    "oracle crm-ora 1522 ERPPDB"
)]
#[case("jdbc:oracle:thin:scott/ti@ger@ora:1521:ORCL", "oracle ora 1521 ORCL")]
#[case(
    "jdbc:oracle:thin:@${oraHost}:${oraPort}:${sid}",
    "oracle ${oraHost} ${oraPort} ${sid}"
)]
#[case(
    "jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(host = scan.example)(PORT=1525))\
     (CONNECT_DATA=(SERVICE_NAME=erp)))",
    "oracle scan.example 1525 erp"
)]
#[case(
    "jdbc:sqlserver://ms.example:1433;DatabaseName=sales",
    "sqlserver ms.example 1433 sales"
)]
#[case(
    "jdbc:sqlserver://ms;databaseName=sales;encrypt=true",
    "sqlserver ms 1433 sales"
)]
#[case(
    r"jdbc:sqlserver://ms\SQLEXPRESS:1434;database=x",
    r"sqlserver ms\SQLEXPRESS 1434 x"
)]
#[case(
    "jdbc:sqlserver://;serverName=ms;portNumber=1500;databaseName=d",
    "sqlserver ms 1500 d"
)]
#[case(
    "jdbc:clickhouse://ch.example:8123/default",
    "other ch.example 8123 default"
)]
#[case("jdbc:hive2://hive.example", "other hive.example - -")]
fn jdbc_urls_are_understood(#[case] url: &str, #[case] expected: &str) {
    let t = parse_jdbc_url(url).unwrap_or_else(|| panic!("{url} should parse"));
    let shown = format!(
        "{} {} {} {}",
        t.kind,
        t.host,
        t.port.as_deref().unwrap_or("-"),
        t.database.as_deref().unwrap_or("-")
    );
    assert_eq!(shown, expected, "{url}");
}

#[rstest]
#[case("")]
#[case("jdbc:")]
#[case("mysql://h:3306/db")]
#[case("${jdbcUrl}")]
#[case("jdbc:sqlite:/tmp/x.db")]
#[case("jdbc:mysql:///db")]
#[case("jdbc:oracle:thin:@")]
#[case("jdbc:oracle:thin:ora:1521:ORCL")]
#[case("jdb数据库://h/db")]
fn non_urls_give_none(#[case] url: &str) {
    assert_eq!(parse_jdbc_url(url), None, "{url:?}");
}

#[rstest]
#[case("jdbc:mysql://h/db", Some(3306))]
#[case("jdbc:mysql://h:${p}/db", None)]
#[case("jdbc:hive2://h/db", None)]
fn port_number_only_for_real_ports(#[case] url: &str, #[case] expected: Option<u16>) {
    assert_eq!(parse_jdbc_url(url).unwrap().port_number(), expected);
}

#[rstest]
#[case("mysqlreader", None)]
#[case("mysqlwriter", None)]
#[case("doriswriter", Some(DbKind::Doris))]
#[case("starrockswriter", Some(DbKind::Starrocks))]
#[case("StarRocksReader", Some(DbKind::Starrocks))]
#[case("selectdbwriter", Some(DbKind::Selectdb))]
#[case("oceanbasev10writer", Some(DbKind::Oceanbase))]
#[case("rdbmsreader", None)]
fn plugins_name_their_engine(#[case] plugin: &str, #[case] expected: Option<DbKind>) {
    assert_eq!(DbKind::from_plugin(plugin), expected);
}

#[test]
fn kind_serializes_lowercase() {
    let t = parse_jdbc_url("jdbc:sqlserver://ms;databaseName=d").unwrap();
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        serde_json::json!({"kind": "sqlserver", "host": "ms", "port": "1433", "database": "d"})
    );
}

/// Found by the property tests: an EZConnect protocol (`tcp://`) was read as the host, an
/// IPv6 host of the SID form was cut at its first colon, and a password holding `;` (legal in
/// a URL's userinfo) ended the host early, so its start came back as host and port. The
/// bracketed EZConnect host already worked; it guards the rewrite of the Oracle forms.
#[rstest]
#[case("jdbc:oracle:thin:@tcp://a/a", "oracle a 1521 a")]
#[case("jdbc:oracle:thin:@tcps://ora:2484/svc", "oracle ora 2484 svc")]
#[case("jdbc:oracle:thin:@[::1]:1521:ORCL", "oracle [::1] 1521 ORCL")]
#[case("jdbc:oracle:thin:@//[fe80::1]:1522/svc", "oracle [fe80::1] 1522 svc")]
#[case("jdbc:mysql://u:Pw!;x@h:3307/db", "mysql h 3307 db")]
#[case("jdbc:postgresql://u:a;b,c@pg/billing", "postgresql pg 5432 billing")]
fn property_test_regressions(#[case] url: &str, #[case] expected: &str) {
    let t = parse_jdbc_url(url).unwrap_or_else(|| panic!("{url} should parse"));
    let port = t.port.as_deref().unwrap_or("-");
    let db = t.database.as_deref().unwrap_or("-");
    assert_eq!(
        format!("{} {} {port} {db}", t.kind, t.host),
        expected,
        "{url}"
    );
}
