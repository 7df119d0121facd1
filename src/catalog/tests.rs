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
