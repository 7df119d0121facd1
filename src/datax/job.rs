//! What a DataX job reads from and writes to, for `discover`.
//!
//! Only the parts that identify a data source are kept (plugin, jdbc URL,
//! tables, user); passwords are never copied out of the job.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{parse_jdbc_url, parse_value, DataxError, DbKind, JdbcTarget};

/// Which side of a content element an endpoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Writer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
        })
    }
}

/// One place a job reads from or writes to.
///
/// Values are verbatim from the job, `${var}` placeholders included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub role: Role,
    /// Plugin name, e.g. `mysqlreader`.
    pub plugin: String,
    /// `None` for plugins without `connection[].jdbcUrl` (files, hdfs, ...).
    pub jdbc_url: Option<String>,
    /// `connection[].table`; empty when the reader uses `querySql` or the
    /// plugin has no tables.
    pub tables: Vec<String>,
    /// `parameter.username`, when present.
    pub username: Option<String>,
}

impl Endpoint {
    /// The database behind [`Endpoint::jdbc_url`], when it can be read; its kind is the
    /// plugin's engine where the plugin names one (a `doriswriter` on `jdbc:mysql://` is
    /// Doris), else the URL's.
    pub fn target(&self) -> Option<JdbcTarget> {
        let mut target = parse_jdbc_url(self.jdbc_url.as_deref()?)?;
        if let Some(kind) = DbKind::from_plugin(&self.plugin) {
            target.kind = kind;
        }
        Some(target)
    }
}

/// One element of `job.content`: a reader feeding a writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentSummary {
    /// Reader plugin name.
    pub reader: String,
    /// Writer plugin name.
    pub writer: String,
    /// Reader endpoints first, then writer endpoints; at least one of each.
    pub endpoints: Vec<Endpoint>,
}

/// The data sources of one DataX job file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSummary {
    /// One entry per `job.content` element, in file order.
    pub content: Vec<ContentSummary>,
}

impl JobSummary {
    /// Every endpoint of every content element, in file order.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.content.iter().flat_map(|c| c.endpoints.iter())
    }
}

/// Summarises a DataX job file's readers and writers.
///
/// Contract: each `connection[]` entry yields one [`Endpoint`] per jdbc URL
/// (readers list alternative URLs for the same database; each is reported
/// because each is a host the installation may contact), carrying that
/// entry's tables; a plugin with no jdbc URL yields one endpoint with
/// `jdbc_url: None`. `jdbcUrl` and `table` are accepted both as a string and
/// as a list, whatever the role, since hand-written jobs mix them up.
///
/// Errors: [`DataxError::Json`] (with line and column) for malformed text,
/// [`DataxError::NotAJob`] without a `job.content` array,
/// [`DataxError::MissingPlugin`] when a reader or writer has no `name`.
pub fn parse_job(text: &str) -> Result<JobSummary, DataxError> {
    let doc = parse_value(text, "job")?;
    let content = doc
        .pointer("/job/content")
        .and_then(Value::as_array)
        .ok_or(DataxError::NotAJob)?;
    let content = content
        .iter()
        .enumerate()
        .map(|(index, element)| {
            let (reader, mut endpoints) = side(element, Role::Reader, index)?;
            let (writer, writer_endpoints) = side(element, Role::Writer, index)?;
            endpoints.extend(writer_endpoints);
            Ok(ContentSummary {
                reader,
                writer,
                endpoints,
            })
        })
        .collect::<Result<_, DataxError>>()?;
    Ok(JobSummary { content })
}

fn side(element: &Value, role: Role, index: usize) -> Result<(String, Vec<Endpoint>), DataxError> {
    let block = element.get(role.to_string());
    let plugin = block
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or(DataxError::MissingPlugin { index, role })?
        .to_owned();
    let parameter = block.and_then(|b| b.get("parameter"));
    let username = parameter
        .and_then(|p| p.get("username"))
        .and_then(scalar_text);
    let endpoint = |jdbc_url: Option<String>, tables: Vec<String>| Endpoint {
        role,
        plugin: plugin.clone(),
        jdbc_url,
        tables,
        username: username.clone(),
    };

    let mut endpoints = Vec::new();
    // A lone object instead of a list is a common hand-editing slip that
    // DataX itself rejects; reading it anyway still tells the user where
    // the job points.
    let connections = match parameter.and_then(|p| p.get("connection")) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(obj @ Value::Object(_)) => vec![obj],
        _ => Vec::new(),
    };
    for conn in connections {
        let tables = texts(conn.get("table"));
        let urls = texts(conn.get("jdbcUrl"));
        if urls.is_empty() {
            endpoints.push(endpoint(None, tables));
        } else {
            endpoints.extend(urls.into_iter().map(|u| endpoint(Some(u), tables.clone())));
        }
    }
    if endpoints.is_empty() {
        endpoints.push(endpoint(None, Vec::new()));
    }
    Ok((plugin, endpoints))
}

/// Strings stay as they are; numbers and booleans become their JSON text,
/// because a table or user named `2024` is still a name.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
        Some(other) => scalar_text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use rstest::rstest;

    /// One line per endpoint: "role plugin user kind://host:port/db tables",
    /// `-` for anything absent, so each fixture's expectation fits a table row.
    fn describe(e: &Endpoint) -> String {
        let target = e.target().map_or("-".to_owned(), |t| {
            let port = t.port.as_deref().unwrap_or("-");
            let db = t.database.as_deref().unwrap_or("-");
            format!("{}://{}:{port}/{db}", t.kind, t.host)
        });
        let user = e.username.as_deref().unwrap_or("-");
        let tables = if e.tables.is_empty() {
            "-".to_owned()
        } else {
            e.tables.join(",")
        };
        format!("{} {} {user} {target} {tables}", e.role, e.plugin)
    }

    const DW: &str = "mysqlwriter dx_writer mysql://report-dw.example:3306";

    #[rstest]
    #[case::mysql2hdfs(MYSQL2HDFS_USER_EVENT, "mysqlreader", "hdfswriter", &[
        "reader mysqlreader dx_reader mysql://trade-db-replica.example:3306/app_log -",
        "writer hdfswriter - - -",
    ])]
    #[case::mysql2mysql_incr(MYSQL2MYSQL_INCR, "mysqlreader", "mysqlwriter", &[
        "reader mysqlreader dx_reader mysql://trade-db.example:3306/${srcDb} trade_order_item",
        &format!("writer {DW}/report_dw ${{targetTable}}"),
    ])]
    #[case::mysql2mysql_orders(MYSQL2MYSQL_ORDERS, "mysqlreader", "mysqlwriter", &[
        "reader mysqlreader dx_reader mysql://trade-db.example:3306/shop_oltp orders",
        &format!("writer {DW}/report_dw orders_mirror"),
    ])]
    #[case::oracle2mysql(ORACLE2MYSQL_CUSTOMER, "oraclereader", "mysqlwriter", &[
        "reader oraclereader ERP_RO oracle://crm-ora.example:1521/ERPPDB ERP.T_CUSTOMER",
        &format!("writer {DW}/crm_dw dim_customer"),
    ])]
    #[case::pg2mysql(PG2MYSQL_INVOICE, "postgresqlreader", "mysqlwriter", &[
        "reader postgresqlreader billing_ro postgresql://billing-pg.example:5432/billing public.invoice",
        &format!("writer {DW}/finance_dw invoice_snapshot"),
    ])]
    #[case::txt2mysql(TXT2MYSQL_STORE, "txtfilereader", "mysqlwriter", &[
        "reader txtfilereader - - -",
        &format!("writer {DW}/retail_dw dim_store"),
    ])]
    fn fixture_jobs_are_summarised(
        #[case] text: &str,
        #[case] reader: &str,
        #[case] writer: &str,
        #[case] endpoints: &[&str],
    ) {
        let summary = parse_job(text).unwrap();
        assert_eq!(summary.content.len(), 1);
        assert_eq!(
            (
                summary.content[0].reader.as_str(),
                summary.content[0].writer.as_str()
            ),
            (reader, writer)
        );
        assert_eq!(
            summary.endpoints().map(describe).collect::<Vec<_>>(),
            endpoints
        );
        // Summaries are shown to users: no password may leak into them.
        let shown = serde_json::to_string(&summary).unwrap();
        assert!(
            !shown.contains("2026") && !shown.contains("Pg!") && !shown.contains("Ora#"),
            "{shown}"
        );
    }

    #[test]
    fn urls_and_placeholders_are_kept_verbatim() {
        let s = parse_job(MYSQL2MYSQL_INCR).unwrap();
        let urls: Vec<_> = s
            .endpoints()
            .map(|e| e.jdbc_url.as_deref().unwrap())
            .collect();
        assert_eq!(
            urls,
            [
                "jdbc:mysql://trade-db.example:3306/${srcDb}?useUnicode=true&characterEncoding=utf8&useSSL=false",
                "jdbc:mysql://report-dw.example:3306/report_dw?useUnicode=true&characterEncoding=utf8&useSSL=false",
            ]
        );
    }

    #[test]
    fn several_urls_and_connections_each_give_an_endpoint() {
        let text = r#"{"job":{"content":[{
            "reader":{"name":"mysqlreader","parameter":{"username":"u","connection":[
                {"table":["a","b"],"jdbcUrl":["jdbc:mysql://m1/x","jdbc:mysql://m2/x"]},
                {"table":"c","jdbcUrl":"jdbc:mysql://m3/y"}]}},
            "writer":{"name":"streamwriter","parameter":{"print":true}}}]}}"#;
        let s = parse_job(text).unwrap();
        let urls: Vec<_> = s
            .endpoints()
            .map(|e| (e.jdbc_url.clone(), e.tables.len()))
            .collect();
        assert_eq!(
            urls,
            vec![
                (Some("jdbc:mysql://m1/x".into()), 2),
                (Some("jdbc:mysql://m2/x".into()), 2),
                (Some("jdbc:mysql://m3/y".into()), 1),
                (None, 0),
            ]
        );
        let json = serde_json::to_value(&s.content[0].endpoints[3]).unwrap();
        assert_eq!(json["role"], "writer");
    }

    #[test]
    fn doris_and_starrocks_over_mysql_urls_are_not_mysql() {
        let text = r#"{"job":{"content":[{
            "reader":{"name":"mysqlreader","parameter":{"connection":[
                {"table":["t"],"jdbcUrl":["jdbc:mysql://src.example/shop"]}]}},
            "writer":{"name":"doriswriter","parameter":{"loadUrl":["fe.example:8030"],
                "connection":[{"jdbcUrl":"jdbc:mysql://fe.example:9030/ods","table":["t"]}]}}},{
            "reader":{"name":"streamreader"},
            "writer":{"name":"starrockswriter","parameter":{
                "connection":[{"jdbcUrl":"jdbc:mysql://sr.example:9030/","table":["t"]}]}}}]}}"#;
        let s = parse_job(text).unwrap();
        let shown: Vec<_> = s.endpoints().map(describe).collect();
        assert_eq!(
            shown,
            [
                "reader mysqlreader - mysql://src.example:3306/shop t",
                "writer doriswriter - doris://fe.example:9030/ods t",
                "reader streamreader - - -",
                "writer starrockswriter - starrocks://sr.example:9030/- t",
            ]
        );
    }

    #[test]
    fn lone_connection_object_is_still_read() {
        let text = r#"{"job":{"content":[{"reader":{"name":"streamreader"},
            "writer":{"name":"mysqlwriter","parameter":{"username":"w",
            "connection":{"jdbcUrl":"jdbc:mysql://dw/x","table":["t"]}}}}]}}"#;
        let s = parse_job(text).unwrap();
        let shown: Vec<_> = s.endpoints().map(describe).collect();
        assert_eq!(
            shown,
            [
                "reader streamreader - - -",
                "writer mysqlwriter w mysql://dw:3306/x t"
            ]
        );
    }

    #[rstest]
    #[case::not_json("{\"job\": [", "job is not valid json at line 1, column 9")]
    #[case::no_content(r#"{"job":{"setting":{}}}"#, "no `job.content` array found")]
    #[case::core_json(r#"{"core":{"container":{}}}"#, "no `job.content` array found")]
    #[case::no_reader(
        r#"{"job":{"content":[{"writer":{"name":"w"}}]}}"#,
        "job.content[0].reader has no plugin `name`"
    )]
    #[case::empty_writer(
        r#"{"job":{"content":[{"reader":{"name":"r"},"writer":{"name":" "}}]}}"#,
        "job.content[0].writer has no plugin `name`"
    )]
    fn bad_jobs_are_explained(#[case] text: &str, #[case] expected: &str) {
        let msg = parse_job(text).unwrap_err().to_string();
        assert!(msg.starts_with(expected), "{msg}");
    }
}
