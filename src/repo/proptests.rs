//! Property tests of snapshot selectors (`latest`, `latest:SOURCE`, an id or a prefix of one)
//! against generated snapshot lists: the snapshot meant, or an error; never another one.

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

fn snapshot(id: String, second: i64, source: Option<&str>, kind: &str) -> Snapshot {
    Snapshot {
        id,
        time: jiff::Timestamp::from_second(second).unwrap(),
        host: "h".into(),
        tags: Vec::new(),
        paths: vec!["/opt/datax".into()],
        source: source.map(String::from),
        kind: Some(kind.into()),
        summary: None,
        description: None,
    }
}

/// Snapshots oldest first, as `Repo::snapshots` sorts them; ids unique, some sharing a prefix.
fn snapshots() -> impl Strategy<Value = Vec<Snapshot>> {
    let one = (
        "[0-9a-f]{8}",
        0i64..1_000_000,
        prop::sample::select(vec![Some("datax"), Some("db"), None]),
        prop::sample::select(vec!["files", "mysql-full", "binlog"]),
    );
    prop::collection::vec(one, 0..8).prop_map(|v| {
        let mut snaps: Vec<Snapshot> = v
            .into_iter()
            .enumerate()
            // The shared "ab" start makes prefixes of several ids.
            .map(|(i, (id, t, src, kind))| {
                let id = if i % 2 == 0 {
                    format!("ab{id}{i:02}")
                } else {
                    format!("{id}{i:02}")
                };
                snapshot(format!("{id:0<64}"), t, src, kind)
            })
            .collect();
        snaps.sort_by(|a, b| a.time.cmp(&b.time).then(a.id.cmp(&b.id)));
        snaps
    })
}

/// The selector's meaning, written out apart from `find_snapshot`.
fn expected<'a>(snaps: &'a [Snapshot], spec: &str, source: Option<&str>) -> Option<&'a Snapshot> {
    let (spec, source) = match spec.strip_prefix("latest:") {
        Some(s) => ("latest", Some(s)),
        None => (spec, source),
    };
    if spec == "latest" {
        return snaps.iter().rev().find(|s| match source {
            Some(src) => s.source.as_deref() == Some(src),
            None => s.kind.as_deref() == Some("files"),
        });
    }
    let mut hits = snaps
        .iter()
        .filter(|s| !spec.is_empty() && s.id.starts_with(spec));
    match (hits.next(), hits.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

fn selector(snaps: &[Snapshot]) -> impl Strategy<Value = String> {
    let ids: Vec<String> = snaps.iter().map(|s| s.id.clone()).collect();
    let prefix = if ids.is_empty() {
        Just(String::new()).boxed()
    } else {
        (prop::sample::select(ids), 0usize..=64)
            .prop_map(|(id, n)| id[..n].to_string())
            .boxed()
    };
    prop_oneof![
        Just("latest".to_string()),
        prop::sample::select(vec!["latest:datax", "latest:db", "latest:", "latest:nope"])
            .prop_map(String::from),
        prefix,
        "[0-9a-fA-F:]{0,6}",
        "\\PC{0,8}",
    ]
}

proptest! {
    #![proptest_config(cases(3000))]

    /// Every selector picks exactly the snapshot it means, or is an error saying why.
    #[test]
    fn selectors_pick_the_snapshot_meant(
        (snaps, spec) in snapshots().prop_flat_map(|s| { let sel = selector(&s); (Just(s), sel) }),
        source in prop::sample::select(vec![None, Some("datax"), Some("db")]),
    ) {
        let got = find_snapshot(&snaps, &spec, source);
        match expected(&snaps, &spec, source) {
            Some(want) => prop_assert_eq!(&got.unwrap().id, &want.id, "{:?}", spec),
            None => {
                let e = got.expect_err("no snapshot is meant").to_string();
                prop_assert!(e.contains("no snapshot matches") || e.contains("matches several"), "{e}");
            }
        }
    }
}

/// Found by the property tests: every id starts with "", so `""` picked a repository's only
/// snapshot instead of matching none.
#[test]
fn an_empty_selector_matches_nothing() {
    let snaps = [snapshot("ab".repeat(32), 1, Some("datax"), "files")];
    assert!(matches!(
        find_snapshot(&snaps, "", None),
        Err(RepoError::NoSnapshot(_))
    ));
}
