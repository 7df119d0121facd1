//! `config check` on real files: every source kind with its password proven (never shown),
//! every mistake of a file in one run, the config a snapshot stores, and `discover`'s proposal
//! pasted into a config.

use std::fs;
use std::path::Path;

use crate::util::{file_via_restic, require_tool, Env, Out};

/// `dxbackup -c CONFIG config check` in a scrubbed environment, DXBACKUP_PASSWORD optional.
fn check(env: &Env, config: &Path, password: Option<&str>) -> Out {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dxbackup"));
    cmd.arg("-c")
        .arg(config)
        .arg("--state-dir")
        .arg(env.path("state"));
    cmd.args(["config", "check"]);
    cmd.env_remove("DXBACKUP_PASSWORD")
        .env_remove("DXBACKUP_CONFIG")
        .env_remove("DXBACKUP_LOG");
    if let Some(pw) = password {
        cmd.env("DXBACKUP_PASSWORD", pw);
    }
    Out::of(
        cmd.output().unwrap(),
        &["-c", &config.display().to_string(), "config", "check"],
    )
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

const MYSQL_SOURCES: &str = r#"
[source.shop]
kind = "mysql"
host = "db.example"
user = "backup"
password-file = "shop.password"
databases = ["shop"]

[source.dw]
kind = "mysql"
socket = "/run/mysqld/mysqld.sock"
user = "backup"
password-env = "DW_PASSWORD"
databases = "all"
"#;

#[test]
fn config_check_proves_mysql_passwords_without_showing_them() {
    let env = Env::new();
    fs::write(env.path("shop.password"), "shop-secret-1\n").unwrap();
    env.set_env("DW_PASSWORD", "dw-secret-2");
    env.write_config(MYSQL_SOURCES);
    let out = env.ok(&["config", "check"]);
    assert!(out.stdout.contains("3 sources, ok"), "{out}");
    for secret in ["shop-secret-1", "dw-secret-2", crate::util::PASSWORD] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{out}"
        );
    }

    // An empty password file or variable is refused, as for repositories.
    fs::write(env.path("shop.password"), "").unwrap();
    env.set_env("DW_PASSWORD", "");
    let out = env.expect(2, &["config", "check"]);
    let text = fs::read_to_string(env.config()).unwrap();
    let cfg = env.config().display().to_string();
    let file_line = line_of(&text, "password-file = \"shop.password\"");
    let env_line = line_of(&text, "password-env");
    let want = [
        format!("{cfg}:{file_line}:1: source.shop.password-file: password-file "),
        format!("{cfg}:{env_line}:1: source.dw.password-env: environment variable DW_PASSWORD (password-env) is empty"),
    ];
    for w in &want {
        assert!(out.stdout.contains(w), "missing `{w}`\n{out}");
    }
    assert!(out.stdout.contains("is empty"), "{out}");
    assert!(out.stdout.contains("2 problems"), "{out}");

    fs::remove_file(env.path("shop.password")).unwrap();
    let out = env.expect(2, &["config", "check"]);
    assert!(out.stdout.contains("cannot read password-file"), "{out}");
}

#[test]
fn seven_mistakes_in_several_tables_are_reported_in_one_run_in_line_order() {
    let env = Env::new();
    let text = format!(
        "[repository.main]\nurl = \"{}\"\npasword-file = \"pw\"\ncompression = 99\nmedium = \"dsk\"\n\n\
         [source.tree]\nkind = \"files\"\nrot = \"src\"\ntier = \"gold\"\n\n\
         [source.db]\nkind = \"mysql\"\nhost = \"db.example\"\nport = \"x\"\nuser = \"backup\"\n\n\
         [retention]\nkeep_daily = 7\n",
        env.repo().display()
    );
    fs::write(env.config(), text).unwrap();
    let out = env.expect(2, &["config", "check"]);
    let cfg = env.config().display().to_string();
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("  hint:"))
        .collect();
    let want = [
        "3:1: repository.main.pasword-file: unknown field `pasword-file`",
        "4:1: repository.main.compression: must be a zstd level from -7 to 22",
        "5:1: repository.main.medium: unknown variant `dsk`",
        "9:1: source.tree.rot: unknown field `rot`",
        "10:1: source.tree.tier: unknown tier `gold`",
        "15:1: source.db.port: invalid type: string \"x\", expected u16",
        "19:1: retention.keep_daily: unknown field `keep_daily`",
    ];
    assert_eq!(lines.len(), want.len() + 1, "{out}");
    for (line, w) in lines.iter().zip(want) {
        assert!(
            line.starts_with(&format!("{cfg}:{w}")),
            "`{line}` is not `{w}`\n{out}"
        );
    }
    assert_eq!(lines[7], "7 problems", "{out}");
    for hint in ["password-file", "disk", "root", "keep-daily"] {
        let h = format!("  hint: did you mean `{hint}`?");
        assert!(out.stdout.contains(&h), "missing `{h}`\n{out}");
    }
}

#[test]
fn the_config_stored_in_a_snapshot_passes_config_check_once_its_secrets_are_supplied() {
    if !require_tool("restic") {
        return;
    }
    let env = Env::new();
    crate::util::put(&env.src().join("conf/core.json"), b"{}", 0o644);
    fs::write(env.path("shop.password"), "shop-secret-1\n").unwrap();
    let text = format!(
        "host = \"etl-07\"\n\n[repository.main]\nurl = \"{}\"\npassword-file = \"pw\"\n\n\
         [source.tree]\nkind = \"files\"\nroot = \"src\"\ntier = \"gold\"\n\n\
         [source.shop]\nkind = \"mysql\"\nhost = \"db.example\"\nport = 3307\nuser = \"backup\"\n\
         password-file = \"shop.password\"\ndatabases = \"all\"\n\n\
         [tier.gold]\nrto = \"2h\"\nrpo = \"30m\"\n\n[retention]\nkeep-daily = 7\n\n\
         [stats]\nwarn-min-mb-per-s = 2.5\n",
        env.repo().display()
    );
    fs::write(env.config(), text).unwrap();
    env.ok(&["init"]);
    env.ok(&["backup", "tree"]);
    let stored = file_via_restic(&env, "/.dxbackup/dxbackup.toml");
    for kept in [
        "etl-07",
        "[tier.gold]",
        "keep-daily = 7",
        "warn-min-mb-per-s = 2.5",
        "databases = \"all\"",
        "port = 3307",
    ] {
        assert!(stored.contains(kept), "`{kept}` lost\n{stored}");
    }
    let copy = env.path("c.toml");
    fs::write(&copy, &stored).unwrap();

    let out = check(&env, &copy, None);
    assert_eq!(out.code, 2, "{out}");
    let why = "removed when this config was stored in the snapshot";
    let problems: Vec<&str> = out.stdout.lines().filter(|l| l.contains(": ")).collect();
    assert_eq!(problems.len(), 2, "only the removed secrets\n{out}");
    let pw_line = line_of(&stored, "password-file = \"<removed>\"");
    let cfg = copy.display();
    let repo = format!("{cfg}:{pw_line}:1: repository.main.password-file: {why}; point it at the file holding the repository password, or set DXBACKUP_PASSWORD");
    assert!(problems[0].starts_with(&repo), "{out}");
    let src = format!("source.shop.password-file: {why}; point it at the file holding the MySQL password of `backup`");
    assert!(problems[1].contains(&src), "{out}");
    assert_eq!(out.stdout.lines().last(), Some("2 problems"), "{out}");

    // Supplied, the stored config is a working config: it opens the repository.
    let removed = "\"<removed>\"";
    let supplied = stored
        .replacen(removed, "\"pw\"", 1)
        .replacen(removed, "\"shop.password\"", 1);
    fs::write(&copy, &supplied).unwrap();
    let out = check(&env, &copy, None);
    assert_eq!(out.code, 0, "{out}");
    fs::copy(&copy, env.config()).unwrap();
    let out = env.ok(&["snapshots", "--json"]);
    assert!(out.stdout.contains("\"id\""), "{out}");

    // DXBACKUP_PASSWORD supplies the repository's password; the source's must be pointed at.
    let second = stored.rfind(removed).unwrap();
    let half = format!(
        "{}\"shop.password\"{}",
        &stored[..second],
        &stored[second + removed.len()..]
    );
    fs::write(&copy, &half).unwrap();
    let out = check(&env, &copy, Some(crate::util::PASSWORD));
    assert_eq!(out.code, 0, "{out}");
}

/// Jobs the examples lack: two servers whose addresses share their first number, a Doris
/// front end reached over jdbc:mysql, and servers named only through job variables.
const EXTRA_JOBS: [(&str, &str); 3] = [
    (
        "ips.json",
        r#"{"job":{"content":[{
        "reader":{"name":"mysqlreader","parameter":{"connection":[{"table":["t"],"jdbcUrl":["jdbc:mysql://192.168.1.10:3306/sales"]}]}},
        "writer":{"name":"mysqlwriter","parameter":{"connection":[{"table":["t"],"jdbcUrl":"jdbc:mysql://192.168.1.11:3306/sales_copy"}]}}}]}}"#,
    ),
    (
        "doris.json",
        r#"{"job":{"content":[{
        "reader":{"name":"mysqlreader","parameter":{"connection":[{"table":["t"],"jdbcUrl":["jdbc:mysql://192.168.1.10/crm"]}]}},
        "writer":{"name":"doriswriter","parameter":{"loadUrl":["doris-fe.example:8030"],"connection":[{"table":["t"],"jdbcUrl":"jdbc:mysql://doris-fe.example:9030/ods","selectedDatabase":"ods"}]}}}]}}"#,
    ),
    (
        "vars.json",
        r#"{"job":{"content":[{
        "reader":{"name":"mysqlreader","parameter":{"connection":[{"table":["t"],"jdbcUrl":["jdbc:mysql://${srcHost}:3306/x"]}]}},
        "writer":{"name":"mysqlwriter","parameter":{"connection":[{"table":["t"],"jdbcUrl":"jdbc:mysql://var-only.example:3306/${db}"}]}}}]}}"#,
    ),
];

#[test]
fn discover_proposal_pastes_into_a_config_that_passes_check() {
    let env = Env::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/datax-home/job");
    let jobs = env.path("home/job");
    fs::create_dir_all(&jobs).unwrap();
    for e in fs::read_dir(examples).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), jobs.join(e.file_name())).unwrap();
    }
    for (name, text) in EXTRA_JOBS {
        fs::write(jobs.join(name), text).unwrap();
    }
    let out = env.ok(&["discover", env.path("home").to_str().unwrap()]);
    assert!(!out.stdout.contains("databases = []"), "{out}");
    for comment in [
        "doris doris-fe.example:9030 / ods",
        "a doris server speaking the MySQL protocol",
        "var-only.example:3306: the jobs name its databases only through ${db}; no source proposed",
        "${srcHost}:3306: the host or port is a job variable; no source proposed",
    ] {
        assert!(out.stdout.contains(comment), "missing `{comment}`\n{out}");
    }

    let pasted = format!(
        "[repository.main]\nurl = \"{}\"\npassword-file = \"pw\"\n\n{}",
        env.repo().display(),
        out.stdout
    );
    let doc: toml::Table = toml::from_str(&pasted).unwrap_or_else(|e| panic!("{e}\n{pasted}"));
    let sources = doc["source"].as_table().unwrap();
    let names: Vec<&str> = sources.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "192_168_1_10",
            "192_168_1_11",
            "report-dw",
            "trade-db",
            "trade-db-replica"
        ],
        "{pasted}"
    );
    assert_eq!(
        sources["192_168_1_10"]["databases"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{pasted}"
    );
    for (name, src) in sources {
        assert_eq!(src["kind"].as_str(), Some("mysql"));
        fs::write(env.path(&format!("{name}.password")), "db-secret\n").unwrap();
    }
    fs::write(env.config(), &pasted).unwrap();
    let out = env.ok(&["config", "check"]);
    assert!(out.stdout.contains("5 sources, ok"), "{out}");
}
