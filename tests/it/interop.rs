//! The promise that a dxbackup repository is a restic repository: restic lists, checks (reading
//! every byte) and restores what we wrote, identically.

use crate::util::{assert_same_tree, data, put, require_tool, restic, Env};

#[test]
fn restic_lists_checks_and_restores_our_repository() {
    if !require_tool("restic") {
        return;
    }
    let env = Env::new();
    let s = env.src();
    put(&s.join("conf/core.json"), b"{\"core\":{}}", 0o644);
    put(&s.join("job/作业.json"), b"{\"job\":{}}", 0o600);
    put(&s.join("plugin/libs/a.jar"), &data(5 << 20, 3), 0o644);
    put(&s.join("script/empty"), b"", 0o755);
    std::os::unix::fs::symlink("../conf/core.json", s.join("job/link.json")).unwrap();
    std::fs::create_dir_all(s.join("hook/empty")).unwrap();
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let id = env.latest_id();

    let out = restic(&env, &["snapshots", "--json"]);
    let snaps: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(snaps[0]["id"], id.as_str(), "{out}");
    let tags: Vec<_> = snaps[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"source:tree") && tags.contains(&"kind:files"),
        "{tags:?}"
    );

    restic(&env, &["check", "--read-data"]);

    let target = env.path("restic-restore");
    let root = std::fs::canonicalize(&s).unwrap();
    // restic 0.14 (Debian 12) has no `ID:PATH`; it restores the absolute path below the target.
    restic(
        &env,
        &["restore", &id, "--target", target.to_str().unwrap()],
    );
    assert_same_tree(&s, &target.join(root.strip_prefix("/").unwrap()));

    // And the manifest is readable by restic alone: a bare-metal start needs nothing else.
    let manifest = restic(&env, &["dump", &id, "/.dxbackup/manifest.json"]);
    let m: serde_json::Value = serde_json::from_str(&manifest.stdout).unwrap();
    assert_eq!(m["source"], "tree");
    let config = restic(&env, &["dump", &id, "/.dxbackup/dxbackup.toml"]);
    assert!(
        config.stdout.contains("<removed>") && !config.stdout.contains("\"pw\""),
        "{config}"
    );
}
