use super::*;
use rstest::rstest;

const GOOD: &str = r#"
[repository.local]
url = "/backup/dx"
password-file = "/etc/dxbackup/pw"

[source.datax]
kind = "files"
root = "/opt/datax"
tier = "critical"

[retention]
keep-daily = 7
keep-weekly = 4
"#;

#[test]
fn parses_a_minimal_config_with_datax_defaults() {
    let c = parse(GOOD).unwrap();
    assert!(validate(&c).is_empty());
    let s = &c.source["datax"];
    assert_eq!(s.include(), default_include());
    assert_eq!(s.exclude(), default_exclude());
    assert_eq!(c.retention.keep_daily, Some(7));
    assert_eq!(c.tier["critical"].rpo.0.as_secs(), 900);
    assert_eq!(c.tier["general"].rto.0.as_secs(), 86400);
}

#[rstest]
#[case::unknown_top("colour = 1\n", "colour", 1)]
#[case::unknown_repo_key(
    "[repository.a]\nurl = \"/x\"\npasword-file = \"p\"\n",
    "repository.a.pasword-file",
    3
)]
#[case::bad_type(
    "[repository.a]\nurl = \"/x\"\nauto-init = \"yes\"\n",
    "repository.a.auto-init",
    3
)]
#[case::bad_duration("[tier.gold]\nrto = \"soon\"\nrpo = \"1h\"\n", "tier.gold.rto", 2)]
fn parse_problems_are_located(#[case] text: &str, #[case] key: &str, #[case] line: usize) {
    let problems = parse(text).unwrap_err();
    let p = problems
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("{problems:?}"));
    assert_eq!(p.line, Some(line), "{p:?}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "[repository.a]\nurl = \"/x\"\nbogus = 1\n[source.s]\nkind = \"files\"\nroot = \"/r\"\nwhat = 2\n";
    let problems = parse(text).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[test]
fn syntax_errors_have_line_and_column() {
    let problems = parse("[repository.a]\nurl = /x\n").unwrap_err();
    assert_eq!(problems[0].line, Some(2));
    let rendered = problems[0].render(Path::new("dx.toml"));
    assert!(rendered.starts_with("dx.toml:2:"), "{rendered}");
}

#[rstest]
#[case::two_primaries(
    "[repository.a]\nurl=\"/a\"\nprimary=true\n[repository.b]\nurl=\"/b\"\nprimary=true\n",
    "repository"
)]
#[case::no_primary(
    "[repository.a]\nurl=\"/a\"\n[repository.b]\nurl=\"/b\"\n",
    "repository"
)]
#[case::two_passwords(
    "[repository.a]\nurl=\"/a\"\npassword-file=\"p\"\npassword-command=\"c\"\n",
    "repository.a"
)]
#[case::unknown_tier(
    "[repository.a]\nurl=\"/a\"\n[source.s]\nkind=\"files\"\nroot=\"/r\"\ntier=\"gold\"\n",
    "source.s.tier"
)]
#[case::bad_name(
    "[repository.a]\nurl=\"/a\"\n[source.\"my src\"]\nkind=\"files\"\nroot=\"/r\"\n",
    "source.my src"
)]
#[case::missing_root("[repository.a]\nurl=\"/a\"\n[source.s]\nkind=\"files\"\n", "source.s")]
#[case::mysql_key_on_files(
    "[repository.a]\nurl=\"/a\"\n[source.s]\nkind=\"files\"\nroot=\"/r\"\ndatabases=\"all\"\n",
    "source.s.databases"
)]
#[case::mysql_without_user(
    "[repository.a]\nurl=\"/a\"\n[source.db]\nkind=\"mysql\"\nhost=\"h\"\n",
    "source.db"
)]
#[case::remote_url("[repository.a]\nurl=\"ftp://x/y\"\n", "repository.a.url")]
#[case::sftp_without_user("[repository.a]\nurl=\"sftp://nas/srv\"\n", "repository.a.url")]
#[case::s3_without_endpoint_or_region("[repository.a]\nurl=\"s3://b/p\"\n", "repository.a")]
#[case::endpoint_without_scheme(
    "[repository.a]\nurl=\"s3://b/p\"\nendpoint=\"127.0.0.1:9000\"\n",
    "repository.a.endpoint"
)]
#[case::ssh_key_on_a_bucket(
    "[repository.a]\nurl=\"s3://b/p\"\nregion=\"us-east-1\"\nssh-key=\"k\"\n",
    "repository.a.ssh-key"
)]
#[case::endpoint_on_sftp(
    "[repository.a]\nurl=\"sftp://u@h/r\"\nendpoint=\"http://x\"\n",
    "repository.a.endpoint"
)]
#[case::path_style_on_oss(
    "[repository.a]\nurl=\"oss://b/p\"\nregion=\"cn-hangzhou\"\npath-style=true\n",
    "repository.a.path-style"
)]
#[case::timeout_on_local("[repository.a]\nurl=\"/a\"\ntimeout=\"5s\"\n", "repository.a.timeout")]
#[case::figures_on_a_dump(
    "[source.s]\nkind=\"mysql\"\nhost=\"127.0.0.1\"\nuser=\"u\"\nfigures=\"drill\"\nbinlog=true\n",
    "source.s.figures"
)]
#[case::figures_at_drill_without_binlogs(
    "[source.s]\nkind=\"mysql\"\nhost=\"127.0.0.1\"\nuser=\"u\"\ndriver=\"mariabackup\"\nfigures=\"drill\"\n",
    "source.s.figures"
)]
#[case::figures_on_files(
    "[source.s]\nkind=\"files\"\nroot=\"/d\"\nfigures=\"backup\"\n",
    "source.s.figures"
)]
fn validation_rules(#[case] text: &str, #[case] key: &str) {
    let c = parse(text).unwrap();
    let problems = validate(&c);
    assert!(problems.iter().any(|p| p.key == key), "{problems:?}");
}

#[rstest]
#[case("[repository.a]\nurl=\"sftp://bak@nas:2222/srv/dx\"\nssh-key=\"/k\"\nknown-hosts=\"add\"\n")]
#[case("[repository.a]\nurl=\"s3://b/p\"\nendpoint=\"http://127.0.0.1:9000\"\npath-style=true\naccess-key-file=\"k\"\ntimeout=\"30s\"\nretries=3\n")]
#[case("[repository.a]\nurl=\"oss://b/p\"\nregion=\"cn-hangzhou\"\n")]
#[case(
    "[repository.a]\nurl=\"cos://b-125/p\"\nendpoint=\"https://cos.ap-guangzhou.myqcloud.com\"\n"
)]
fn remote_repositories_are_valid(#[case] text: &str) {
    let c = parse(text).unwrap();
    assert!(validate(&c).is_empty(), "{:?}", validate(&c));
}

#[test]
fn examples_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// Seven mistakes in four tables, of every sort: mistyped keys, a bad type, a bad enum value,
/// values the rules refuse.
const SEVEN_MISTAKES: &str = r#"[repository.local]
url = "/backup/dx"
pasword-file = "/etc/pw"
compression = 99
medium = "dsk"

[source.datax]
kind = "files"
rot = "/opt/datax"
tier = "gold"

[source.db]
kind = "mysql"
host = "db1"
port = "x"
user = "backup"

[retention]
keep_daily = 7
"#;

#[test]
fn every_mistake_of_a_file_is_reported_in_one_run_in_line_order() {
    let problems = check(SEVEN_MISTAKES).unwrap_err();
    let shown: Vec<String> = problems
        .iter()
        .map(|p| format!("{}:{} {}", p.line.unwrap(), p.col.unwrap(), p.key))
        .collect();
    assert_eq!(
        shown,
        [
            "3:1 repository.local.pasword-file",
            "4:1 repository.local.compression",
            "5:1 repository.local.medium",
            "9:1 source.datax.rot",
            "10:1 source.datax.tier",
            "15:1 source.db.port",
            "19:1 retention.keep_daily",
        ]
    );
    for p in &problems {
        let rendered = p.render(Path::new("dx.toml"));
        assert!(!rendered.contains("\nin `"), "no stray text: {rendered}");
        assert!(!rendered.contains("expected one of `kind`"), "{rendered}");
    }
}

#[rstest]
#[case::repository("pasword-file = \"p\"\n", "password-file")]
#[case::source("[source.s]\nkind = \"files\"\nrot = \"/r\"\n", "root")]
#[case::snake_case("[retention]\nkeep_daily = 7\n", "keep-daily")]
#[case::nested("[repository.main.retention]\nkeep-dayly = 7\n", "keep-daily")]
#[case::top_level("[retension]\nkeep-daily = 7\n", "retention")]
#[case::enum_value("medium = \"nsa\"\n", "nas")]
fn near_misses_get_a_did_you_mean(#[case] text: &str, #[case] want: &str) {
    let text = format!("[repository.main]\nurl = \"/m\"\n{text}");
    let problems = check(&text).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].hint.as_deref(),
        Some(format!("did you mean `{want}`?").as_str())
    );
}

/// A key serde refused is not reported again by the rules that miss it.
#[rstest]
#[case::mistyped_root("[source.s]\nkind = \"files\"\nrot = \"/r\"\n", "source.s.rot")]
#[case::root_of_wrong_type("[source.s]\nkind = \"files\"\nroot = 5\n", "source.s.root")]
#[case::mistyped_user(
    "[source.s]\nkind = \"mysql\"\nhost = \"h\"\nusr = \"u\"\n",
    "source.s.usr"
)]
#[case::primary_of_wrong_type(
    "[repository.b]\nurl = \"/b\"\nprimary = 1\n",
    "repository.b.primary"
)]
fn one_mistake_one_problem(#[case] text: &str, #[case] key: &str) {
    let text = format!("[repository.a]\nurl = \"/a\"\n{text}");
    let problems = check(&text).unwrap_err();
    let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, [key], "{problems:?}");
}

#[test]
fn missing_keys_do_not_hide_the_others() {
    let text = "[repository.a]\npasword-file = \"p\"\n[tier.gold]\nkind = 1\n";
    let problems = check(text).unwrap_err();
    let shown: Vec<_> = problems
        .iter()
        .map(|p| format!("{} {}", p.key, p.message))
        .collect();
    assert_eq!(
        shown,
        [
            "repository.a missing field `url`",
            "repository.a.pasword-file unknown field `pasword-file`",
            "tier.gold missing field `rto`",
            "tier.gold missing field `rpo`",
            "tier.gold.kind unknown field `kind`",
        ]
    );
}
