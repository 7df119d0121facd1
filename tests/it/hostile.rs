//! Hostile snapshots and names at the limits: a restore never writes outside its target, and
//! restores every name restic restores.
//!
//! The hostile trees are made here through rustic_core itself (its archiver stores a node with
//! whatever name it is given), as an attacker with the repository password could write them:
//! dxbackup's own backup never makes such names.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustic_backend::local::LocalBackend;
use rustic_core::repofile::{Metadata, Node, NodeType};
use rustic_core::{
    BackupOptions, Credentials, ParentOptions, ReadSource, ReadSourceEntry, Repository,
    RepositoryBackends, RepositoryOptions, RusticResult, SnapshotOptions,
};
use sha2::{Digest, Sha256};

use crate::util::{assert_same_tree, data, put, require_tool, restic, snapshot_tree, Env};

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

/// The folders a hostile snapshot aims at, outside the restore target.
struct Outside {
    through_link: PathBuf,
    through_name: PathBuf,
    absolute: PathBuf,
}

#[test]
fn a_hostile_snapshot_writes_nothing_outside_the_target_and_restores_the_rest() {
    let env = Env::new();
    env.ok(&["init"]);
    let out = Outside {
        through_link: env.path("outside-a"),
        through_name: env.path("outside-l"),
        absolute: env.path("outside-abs"),
    };
    for d in [&out.through_link, &out.through_name, &out.absolute] {
        fs::create_dir(d).unwrap();
    }
    let id = craft_snapshot(&env, hostile_tree(&out));
    let refused = [
        "..".to_string(),
        "../escape".into(),
        ".".into(),
        format!("{}/absdir", out.absolute.display()),
        format!("{}/absfile", out.absolute.display()),
        "ok/planted.txt".into(),
        "dup.txt".into(),
        "a".into(),
        "l/through".into(),
    ];
    // Below a folder of its own, so that `..` of the target is a folder the test watches.
    let target = env.path("t/target");
    let t = target.to_str().unwrap();
    // Twice: the second restore finds the links the first one made (`l` to a folder outside)
    // and must not write through them either.
    let mut runs = Vec::new();
    for args in [&["--json"][..], &["--json", "--overwrite", "if-changed"]] {
        let run = env.expect(
            1,
            &[&["restore", id.as_str(), "--target", t][..], args].concat(),
        );
        for d in [&out.through_link, &out.through_name, &out.absolute] {
            let held: Vec<_> = fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            assert!(
                held.is_empty(),
                "written outside the target: {held:?}\n{run}"
            );
        }
        let beside: Vec<_> = fs::read_dir(env.path("t"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(beside, ["target"], "written beside the target\n{run}");
        runs.push(run);
    }
    for run in &runs {
        assert_refused(run, &refused);
    }
    assert_restored_rest(&target, &out);
}

/// Each of `refused` is reported as refused in the JSON and on stderr, and nothing else failed.
fn assert_refused(run: &crate::util::Out, refused: &[String]) {
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let failed: BTreeMap<String, String> = v["report"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().into(), f[1].as_str().unwrap().into()))
        .collect();
    for p in refused {
        let why = failed
            .get(p)
            .unwrap_or_else(|| panic!("{p} not refused\n{run}"));
        assert!(why.starts_with("refused: "), "{p}: {why}\n{run}");
        assert!(
            run.stderr.contains(&format!("not restored: {p}: refused")),
            "{p} reported on stderr\n{run}"
        );
    }
    assert_eq!(failed.len(), refused.len(), "nothing else failed\n{run}");
}

/// Every entry of the hostile tree that has a sound name, and nothing else.
fn assert_restored_rest(target: &Path, out: &Outside) {
    let tree = snapshot_tree(target);
    let paths: Vec<_> = tree.keys().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "a",
            "dup.txt",
            "l",
            "ok",
            "ok/inner.txt",
            "ok.txt",
            "zz.txt"
        ]
    );
    assert_eq!(
        tree[Path::new("a")],
        format!("link {}", out.through_link.display())
    );
    assert_eq!(
        tree[Path::new("l")],
        format!("link {}", out.through_name.display())
    );
    let read = |p: &str| fs::read_to_string(target.join(p)).unwrap();
    assert_eq!(
        read("dup.txt"),
        "the first dup.txt",
        "the first of two names wins"
    );
    assert_eq!(read("ok/inner.txt"), "inner");
    assert_eq!(read("zz.txt"), "after every hostile entry");
}

/// One node of a crafted tree: `path` only places it (the archiver builds folders from paths);
/// the tree stores the node's own name, whatever it is.
struct Item {
    path: PathBuf,
    node: Node,
    data: Option<Vec<u8>>,
}

fn file(path: &str, name: &str, content: &str) -> Item {
    let meta = Metadata {
        mode: Some(0o644),
        size: content.len() as u64,
        ..Metadata::default()
    };
    Item {
        path: Path::new("/hostile").join(path),
        node: Node::new_node(OsStr::new(name), NodeType::File, meta),
        data: Some(content.as_bytes().to_vec()),
    }
}

fn dir(path: &str, name: &str) -> Item {
    let meta = Metadata {
        mode: Some(0o755),
        ..Metadata::default()
    };
    Item {
        path: Path::new("/hostile").join(path),
        node: Node::new_node(OsStr::new(name), NodeType::Dir, meta),
        data: None,
    }
}

fn link(path: &str, name: &str, to: &Path) -> Item {
    Item {
        path: Path::new("/hostile").join(path),
        node: Node::new_node(
            OsStr::new(name),
            NodeType::from_link(to),
            Metadata::default(),
        ),
        data: None,
    }
}

/// In tree order: the root folder's nodes as stored, each folder followed by what it holds.
fn hostile_tree(out: &Outside) -> Vec<Item> {
    let abs = out.absolute.display();
    vec![
        file("ok.txt", "ok.txt", "fine"),
        dir("dotdot", ".."),
        file("dotdot/escape", "escape", "escaped through .."),
        file("up", "../escape", "escaped through ../"),
        dir("dot", "."),
        file("dot/d.txt", "d.txt", "in ."),
        dir("absdir", &format!("{abs}/absdir")),
        file("absdir/f", "f", "escaped through an absolute folder name"),
        file(
            "absfile",
            &format!("{abs}/absfile"),
            "an absolute file name",
        ),
        file("slash", "ok/planted.txt", "a name with a slash"),
        file("dup1", "dup.txt", "the first dup.txt"),
        file("dup2", "dup.txt", "the second dup.txt"),
        link("a1", "a", &out.through_link),
        dir("a2", "a"),
        file("a2/f", "f", "written through the link a"),
        link("l1", "l", &out.through_name),
        file("l2", "l/through", "written through the link l"),
        dir("ok", "ok"),
        file("ok/inner.txt", "inner.txt", "inner"),
        file("zz.txt", "zz.txt", "after every hostile entry"),
    ]
}

struct Crafted(Vec<Item>);

impl ReadSource for Crafted {
    type Open = Cursor<Vec<u8>>;
    type Iter = std::vec::IntoIter<RusticResult<ReadSourceEntry<Cursor<Vec<u8>>>>>;

    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(None)
    }

    fn entries(&self) -> Self::Iter {
        let entries: Vec<_> = self
            .0
            .iter()
            .map(|i| {
                Ok(ReadSourceEntry {
                    path: i.path.clone(),
                    node: i.node.clone(),
                    open: i.data.clone().map(Cursor::new),
                })
            })
            .collect();
        entries.into_iter()
    }
}

/// Stores `items` as a files snapshot of `/hostile` in the Env's repository; returns its id.
fn craft_snapshot(env: &Env, items: Vec<Item>) -> String {
    let be = LocalBackend::new(env.repo().to_str().unwrap(), std::iter::empty()).unwrap();
    let backends = RepositoryBackends::new(Arc::new(be), None);
    let repo = Repository::new(&RepositoryOptions::default().no_cache(true), &backends)
        .unwrap()
        .open(&Credentials::password(crate::util::PASSWORD))
        .unwrap()
        .to_indexed_ids()
        .unwrap();
    let snap = SnapshotOptions::default()
        .add_tags("dxbackup,source:tree,kind:files,tier:critical")
        .unwrap()
        .to_snapshot()
        .unwrap();
    let opts = BackupOptions::default().parent_opts(ParentOptions::default().force(true));
    let paths = [PathBuf::from("/hostile")];
    let snap = repo.archive(&opts, &Crafted(items), snap, &paths).unwrap();
    snap.id.to_string()
}
