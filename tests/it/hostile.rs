//! Hostile snapshots and names at the limits: a restore never writes outside its target, and
//! restores every name restic restores.

use std::fs;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::util::{assert_same_tree, data, put, require_tool, restic, Env};

/// 255 bytes (85 three-byte characters): the longest name Linux takes.
fn name_255() -> String {
    "名".repeat(85)
}

#[test]
fn names_at_the_limits_restore_byte_identical_as_restic_restores_them() {
    let env = Env::new();
    let s = env.src();
    let long = name_255();
    // 243 bytes: the shortest name that failed when its temporary name was `.NAME.dxb-partial`.
    let first_too_long = "名".repeat(81);
    let long_dir = format!("{}目", "d".repeat(252));
    put(&s.join(&long), b"a 255-byte name", 0o644);
    put(&s.join(&first_too_long), &data(5000, 1), 0o600);
    put(
        &s.join(&long_dir).join(&long),
        b"in a 255-byte folder",
        0o640,
    );
    // A deep path of about 3 KB, as deep as restic's own target (which repeats the source's
    // absolute path) leaves room for below PATH_MAX.
    let mut deep = PathBuf::from("deep");
    for i in 0..28 {
        deep.push(format!("{i:02}{}", "x".repeat(98)));
    }
    put(&s.join(&deep).join(&long), &data(70_000, 2), 0o644);
    put(&s.join(&deep).join("short.txt"), b"short", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);

    let target = env.path("restored");
    env.ok(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert_same_tree(&s, &target);

    // An interrupted restore left its partial file of the long name behind: the next restore
    // still knows it for its own, removes it and writes the file.
    let again = env.path("again");
    let hash = hex::encode(&Sha256::digest(long.as_bytes())[..8]);
    let stale = again.join(&long_dir).join(format!(".{hash}.dxb-partial"));
    put(&stale, b"half of it", 0o600);
    env.ok(&["restore", "latest", "--target", again.to_str().unwrap()]);
    assert!(!stale.exists(), "the stale partial file is removed");
    assert_same_tree(&s, &again);

    if !require_tool("restic") {
        return;
    }
    let by_restic = env.path("by-restic");
    let id = env.latest_id();
    restic(
        &env,
        &["restore", &id, "--target", by_restic.to_str().unwrap()],
    );
    let root = fs::canonicalize(&s).unwrap();
    assert_same_tree(&target, &by_restic.join(root.strip_prefix("/").unwrap()));
}
