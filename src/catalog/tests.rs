use super::*;

#[test]
fn runs_are_recorded_and_orphans_marked() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(dir.path()).unwrap();
    let a = cat
        .start_run("backup", Some("datax"), Some("local"))
        .unwrap();
    let end = RunEnd {
        status: RunStatus::Ok,
        snapshot_id: Some("abc".into()),
        error: None,
        duration: Duration::from_millis(1500),
        metrics: Some(Metrics {
            bytes_read: 10,
            ..Metrics::default()
        }),
    };
    cat.finish_run(a, &end).unwrap();
    // An attempt by a process that is gone (pid 2^31-1 does not exist).
    cat.conn
        .execute(
            "INSERT INTO runs (command, host, pid, started_at, status) VALUES ('backup', ?1, 2147483646, '2026-01-01T00:00:00Z', 'running')",
            [crate::host_name()],
        )
        .unwrap();
    drop(cat);
    let cat = Catalog::open(dir.path()).unwrap();
    let runs = cat.runs(None, None, 10).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status, RunStatus::Ok);
    assert_eq!(runs[0].duration_ms, Some(1500));
    assert_eq!(runs[0].metrics.as_ref().unwrap().bytes_read, 10);
    assert_eq!(runs[1].status, RunStatus::Interrupted);
    assert_eq!(
        cat.runs(Some("backup"), Some("datax"), 10).unwrap().len(),
        1
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Catalog::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join("catalog.db")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Catalog::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("upgrade dxbackup"), "{err}");
}

/// The child side of `processes_opening_a_new_catalog_together_all_succeed`: set only in the
/// processes that test starts.
const CONCURRENT_DIR: &str = "DXBACKUP_TEST_CATALOG_DIR";

/// An archiver and a backup started together on a new state directory both create and
/// migrate the catalog: each process must get a working catalog, not "table runs already
/// exists" or "database is locked". Processes, not threads: that is how it happens, and
/// SQLite's locks between processes are what is tested.
#[test]
fn processes_opening_a_new_catalog_together_all_succeed() {
    if let Ok(dir) = std::env::var(CONCURRENT_DIR) {
        let dir = PathBuf::from(dir);
        for i in 0..3 {
            let cat = Catalog::open(&dir).unwrap();
            let id = cat.start_run("backup", Some("db"), Some("main")).unwrap();
            cat.set_meta("k", &i.to_string()).unwrap();
            let end = RunEnd {
                status: RunStatus::Ok,
                snapshot_id: None,
                error: None,
                duration: Duration::from_millis(1),
                metrics: None,
            };
            cat.finish_run(id, &end).unwrap();
        }
        return;
    }
    let me = std::env::current_exe().unwrap();
    let name = "catalog::tests::processes_opening_a_new_catalog_together_all_succeed";
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let children: Vec<_> = (0..6)
            .map(|_| {
                std::process::Command::new(&me)
                    .args(["--exact", name, "--nocapture", "--test-threads", "1"])
                    .env(CONCURRENT_DIR, dir.path())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let failed: Vec<String> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .filter(|o| !o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect();
        assert!(
            failed.is_empty(),
            "round {round}:\n{}",
            failed.join("\n---\n")
        );
        let cat = Catalog::open(dir.path()).unwrap();
        assert_eq!(
            cat.runs(None, None, 100).unwrap().len(),
            18,
            "round {round}"
        );
    }
}
