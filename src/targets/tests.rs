use super::*;
use rstest::rstest;

const NOW: &str = "2026-11-25T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn ago(mins: i64) -> Timestamp {
    now() - jiff::SignedDuration::from_mins(mins)
}

/// A reachable repository whose newest snapshot is `mins` old.
fn repo(name: &str, medium: Medium, offsite: bool, mins: i64) -> RepoState {
    RepoState {
        name: name.into(),
        primary: name == "local",
        medium,
        offsite,
        snapshots: Some(3),
        newest: Some(ago(mins)),
        behind: Some(0),
        last_copy: Some(ago(mins)),
        ..RepoState::default()
    }
}

fn good() -> Vec<RepoState> {
    vec![
        repo("local", Medium::Disk, false, 5),
        repo("nas", Medium::Nas, false, 5),
        repo("cloud", Medium::Cloud, true, 6),
    ]
}

const RPO: Option<Duration> = Some(Duration::from_secs(15 * 60));

#[test]
fn a_good_setup_holds_the_rule_with_ages() {
    let v = evaluate(&good(), RPO, now());
    assert_eq!(v.severity, Severity::Ok, "{:?}", v.findings);
    assert!(v.rule.holds);
    assert_eq!(v.rule.copies.len(), 4);
    assert_eq!(v.rule.copies[0].name, "source");
    assert_eq!(v.rule.copies[0].age_secs, None);
    assert_eq!(v.rule.copies[1].age_secs, Some(300));
    assert_eq!(
        v.rule.media,
        vec![
            (Medium::Disk, 300),
            (Medium::Nas, 300),
            (Medium::Cloud, 360)
        ]
    );
    assert_eq!(v.rule.offsite.as_ref().unwrap().name, "cloud");
}

type Tweak = fn(&mut Vec<RepoState>);

#[rstest]
#[case::only_primary(|r: &mut Vec<RepoState>| r.truncate(1), Severity::Warning, "3-2-1", "1 medium")]
#[case::two_copies(|r: &mut Vec<RepoState>| r.truncate(1), Severity::Warning, "3-2-1", "2 copies")]
#[case::same_medium(|r: &mut Vec<RepoState>| { r[1].medium = Medium::Disk; r[2].medium = Medium::Disk; }, Severity::Warning, "3-2-1", "1 medium")]
#[case::no_offsite(|r: &mut Vec<RepoState>| r[2].offsite = false, Severity::Warning, "3-2-1", "off-site")]
#[case::offsite_unreachable(|r: &mut Vec<RepoState>| r[2].unreachable = Some("connection refused".into()), Severity::Warning, "3-2-1", "off-site")]
#[case::unreachable_named(|r: &mut Vec<RepoState>| r[1].unreachable = Some("connection refused".into()), Severity::Warning, "nas", "unreachable: connection refused")]
#[case::behind(|r: &mut Vec<RepoState>| r[1].behind = Some(2), Severity::Warning, "nas", "2 snapshots behind")]
#[case::copy_failing(|r: &mut Vec<RepoState>| r[2].copy_failing = Some("timeout".into()), Severity::Warning, "cloud", "last copy failed: timeout")]
#[case::stale_target(|r: &mut Vec<RepoState>| r[2].newest = Some(ago(16)), Severity::Critical, "cloud", "nothing newer than 16m")]
#[case::empty_target(|r: &mut Vec<RepoState>| r[1].newest = None, Severity::Critical, "nas", "holds no snapshot")]
#[case::unreachable_and_stale(|r: &mut Vec<RepoState>| { r[1].unreachable = Some("x".into()); r[1].last_copy = Some(ago(120)); }, Severity::Critical, "nas", "nothing newer than 2h")]
#[case::disk_80(|r: &mut Vec<RepoState>| r[0].space = Some(Space { free: 15, total: 100 }), Severity::Warning, "local", "85 % full")]
#[case::disk_90(|r: &mut Vec<RepoState>| r[0].space = Some(Space { free: 5, total: 100 }), Severity::Critical, "local", "95 % full")]
fn findings(
    #[case] tweak: Tweak,
    #[case] severity: Severity,
    #[case] subject: &str,
    #[case] needle: &str,
) {
    let mut repos = good();
    tweak(&mut repos);
    let v = evaluate(&repos, RPO, now());
    assert_eq!(v.severity, severity, "{:#?}", v.findings);
    assert!(
        v.findings
            .iter()
            .any(|f| f.subject == subject && f.message.contains(needle) && f.severity == severity),
        "{:#?}",
        v.findings
    );
}

#[test]
fn an_unreachable_target_still_judged_by_its_last_copy() {
    let mut repos = good();
    repos[1].unreachable = Some("no route".into());
    repos[1].last_copy = Some(ago(3));
    let v = evaluate(&repos, RPO, now());
    assert_eq!(v.severity, Severity::Warning, "{:#?}", v.findings);
    assert!(!v.rule.copies.iter().any(|c| c.name == "nas"));
}

#[test]
fn empty_targets_are_no_copies() {
    let mut repos = good();
    repos[1].newest = None;
    repos[2].newest = None;
    let v = evaluate(&repos, RPO, now());
    assert_eq!(v.rule.copies.len(), 2);
    assert!(!v.rule.holds);
    assert_eq!(v.severity, Severity::Critical);
}

#[test]
fn without_sources_there_is_no_freshness_rule() {
    let mut repos = good();
    repos[2].newest = Some(ago(60 * 24 * 30));
    assert_eq!(evaluate(&repos, None, now()).severity, Severity::Ok);
}

#[rstest]
#[case(0, "0s")]
#[case(59, "59s")]
#[case(60, "1m")]
#[case(3600, "1h")]
#[case(3 * 3600 + 5 * 60, "3h 5m")]
#[case(86400, "1d")]
#[case(4 * 86400 + 2 * 3600 + 7, "4d 2h")]
fn ages(#[case] secs: u64, #[case] text: &str) {
    assert_eq!(human_age(secs), text);
}
