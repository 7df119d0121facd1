use super::super::{check, parse, Path};
use super::*;
use rstest::rstest;

const BASE: &str = r#"[repository.local]
url = "/backup/dx"

[source.datax]
kind = "files"
root = "/opt/datax"

[source.shop]
kind = "mysql"
host = "db1"
user = "backup"
"#;

#[test]
fn the_issue_example_parses() {
    let text = format!(
        "{BASE}
[schedule.nightly]
cron = \"0 2 * * *\"
job = \"run\"
sources = [\"datax\", \"shop\"]
mode = \"auto\"
timeout = \"6h\"

[schedule.verify]
cron = \"0 9 * * *\"
job = \"verify\"
read-data = \"5%\"

[load]
light-above = 0.8
max-defer = \"12h\"
"
    );
    let c = check(&text).unwrap_or_else(|p| panic!("{p:?}"));
    let n = &c.schedule["nightly"];
    assert_eq!((n.job, n.mode()), (JobKind::Run, ModeSetting::Auto));
    assert_eq!(
        n.timeout,
        Some(HumanDuration(Duration::from_secs(6 * 3600)))
    );
    assert_eq!(c.schedule["verify"].read_data, Some(Percent(5.0)));
    assert_eq!(c.load.light_above, 0.8);
    assert_eq!(
        c.load.minimal_above, 3.0,
        "a key left out keeps its default"
    );
    assert_eq!(c.load.max_defer.0, Duration::from_secs(12 * 3600));
}

#[test]
fn defaults_without_schedule_or_load() {
    let c = check(BASE).unwrap();
    assert!(c.schedule.is_empty());
    assert_eq!(c.load, LoadConfig::default());
    assert_eq!(c.load.max_defer.0, Duration::from_secs(24 * 3600));
}

#[rstest]
#[case::percent_sign("\"5%\"", 5.0)]
#[case::spaced("\" 0.5 % \"", 0.5)]
#[case::number("5", 5.0)]
#[case::float("2.5", 2.5)]
fn read_data_is_a_percentage(#[case] value: &str, #[case] want: f64) {
    let text = format!(
        "{BASE}[schedule.v]\ncron = \"0 9 * * *\"\njob = \"verify\"\nread-data = {value}\n"
    );
    assert_eq!(
        check(&text).unwrap().schedule["v"].read_data,
        Some(Percent(want))
    );
}

/// Each mistake, on its own line of a `[schedule.s]`, is reported at that line with a hint.
#[rstest]
#[case::bad_cron(
    "cron = \"0 25 * * *\"\njob = \"run\"",
    "cron",
    "`0 25 * * *` is not a cron expression: number out of bounds",
    "minute hour day-of-month"
)]
#[case::six_words(
    "cron = \"every day at 2\"\njob = \"run\"",
    "cron",
    "`every day at 2` is not a cron expression: pattern must have 5 or 6 fields",
    "e.g. \"0 2 * * *\""
)]
#[case::never(
    "cron = \"0 0 30 2 *\"\njob = \"run\"",
    "cron",
    "`0 0 30 2 *` matches no date (such as February 30), so it would never run",
    "minute hour"
)]
#[case::unknown_job(
    "cron = \"0 2 * * *\"\njob = \"bakup\"",
    "job",
    "unknown variant `bakup`",
    "did you mean `backup`?"
)]
#[case::unknown_source(
    "cron = \"0 2 * * *\"\njob = \"backup\"\nsources = [\"shpo\"]",
    "sources",
    "unknown source `shpo`",
    "did you mean `shop`?"
)]
#[case::far_source(
    "cron = \"0 2 * * *\"\njob = \"drill\"\nsources = [\"crm\"]",
    "sources",
    "unknown source `crm`",
    "the sources are datax, shop"
)]
#[case::no_sources(
    "cron = \"0 2 * * *\"\njob = \"run\"\nsources = []",
    "sources",
    "is empty: the schedule would do nothing",
    "remove the key to take every source"
)]
#[case::sources_on_verify(
    "cron = \"0 9 * * *\"\njob = \"verify\"\nsources = [\"shop\"]",
    "sources",
    "has no meaning for job = \"verify\"",
    "sources applies to run, backup, drill; remove it"
)]
#[case::zero_read_data(
    "cron = \"0 9 * * *\"\njob = \"verify\"\nread-data = \"0%\"",
    "read-data",
    "0% is not a share of the packs: it must be above 0% and at most 100%",
    "\"5%\" reads a twentieth"
)]
#[case::over_100(
    "cron = \"0 9 * * *\"\njob = \"verify\"\nread-data = \"150%\"",
    "read-data",
    "150% is not a share of the packs",
    "remove the key to check the structure only"
)]
#[case::bad_percentage(
    "cron = \"0 9 * * *\"\njob = \"verify\"\nread-data = \"most\"",
    "read-data",
    "bad percentage `most`: write it as \"5%\"",
    ""
)]
#[case::read_data_on_run(
    "cron = \"0 2 * * *\"\njob = \"run\"\nread-data = \"5%\"",
    "read-data",
    "has no meaning for job = \"run\"",
    "read-data applies to verify; remove it"
)]
#[case::mode_on_forget(
    "cron = \"0 3 * * 0\"\njob = \"forget\"\nmode = \"light\"",
    "mode",
    "has no meaning for job = \"forget\"",
    "mode applies to run, backup; remove it"
)]
#[case::unknown_mode(
    "cron = \"0 2 * * *\"\njob = \"run\"\nmode = \"nromal\"",
    "mode",
    "unknown variant `nromal`",
    "did you mean `normal`?"
)]
#[case::zero_timeout(
    "cron = \"0 2 * * *\"\njob = \"run\"\ntimeout = \"0s\"",
    "timeout",
    "must be greater than zero",
    "remove the key for no limit"
)]
#[case::unknown_key(
    "cron = \"0 2 * * *\"\njob = \"run\"\ntimout = \"1h\"",
    "timout",
    "unknown field `timout`",
    "did you mean `timeout`?"
)]
fn schedule_mistakes_are_located_with_a_hint(
    #[case] body: &str,
    #[case] key: &str,
    #[case] message: &str,
    #[case] hint: &str,
) {
    let text = format!("{BASE}\n[schedule.s]\n{body}\n");
    let problems = check(&text).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with(&format!("{key} =")))
        .unwrap();
    let rendered = p.render(Path::new("dx.toml"));
    let head = format!("dx.toml:{line}:1: schedule.s.{key}: {message}");
    assert!(rendered.starts_with(&head), "{rendered}\nwanted: {head}");
    assert!(
        p.hint.as_deref().unwrap_or_default().contains(hint),
        "{rendered}"
    );
}

#[rstest]
#[case::light_zero("light-above = 0.0", "load.light-above", "must be greater than zero")]
#[case::minimal_below_light(
    "light-above = 2.0\nminimal-above = 1.5",
    "load.minimal-above",
    "must be above light-above (2)"
)]
#[case::minimal_equal(
    "minimal-above = 1.0",
    "load.minimal-above",
    "must be above light-above (1)"
)]
#[case::bad_defer("max-defer = \"a while\"", "load.max-defer", "bad duration `a while`")]
#[case::unknown_key(
    "max-deferral = \"1h\"",
    "load.max-deferral",
    "unknown field `max-deferral`"
)]
fn load_mistakes(#[case] body: &str, #[case] key: &str, #[case] message: &str) {
    let text = format!("{BASE}\n[load]\n{body}\n");
    let problems = check(&text).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, key);
    assert!(problems[0].message.starts_with(message), "{problems:?}");
    assert!(problems[0].line.is_some(), "{problems:?}");
}

#[test]
fn a_bad_schedule_name_is_refused() {
    let text = format!("{BASE}\n[schedule.\"every night\"]\ncron = \"0 2 * * *\"\njob = \"run\"\n");
    let problems = check(&text).unwrap_err();
    assert_eq!(problems[0].key, "schedule.every night", "{problems:?}");
}

#[test]
fn a_schedule_missing_its_cron_says_so_once() {
    let text = format!("{BASE}\n[schedule.s]\njob = \"run\"\n");
    let problems = parse(&text).unwrap_err();
    let shown: Vec<_> = problems
        .iter()
        .map(|p| format!("{} {}", p.key, p.message))
        .collect();
    assert_eq!(shown, ["schedule.s missing field `cron`"]);
    assert_eq!(check(&text).unwrap_err().len(), 1);
}
