//! Damage and mistakes: a flipped byte, a wrong password. Each gives a clear message, the right
//! exit code, and loses nothing that can be saved.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::util::{data, hash_file, put, Env};

#[test]
fn flipped_byte_is_found_and_restore_saves_every_undamaged_file() {
    let env = Env::new();
    // Incompressible content so the big file gets packs of its own.
    put(&env.src().join("dumps/big.bin"), &random(12 << 20), 0o644);
    for i in 0..20 {
        put(
            &env.src().join(format!("job/j{i}.json")),
            format!("{{\"job\":{i}}}").as_bytes(),
            0o644,
        );
    }
    put(&env.src().join("plugin/x.jar"), &data(1 << 20, 9), 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    env.ok(&["verify", "--read-data"]);

    let pack = largest_pack(&env);
    let pack_id = pack.file_name().unwrap().to_string_lossy().into_owned();
    let mut bytes = fs::read(&pack).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0x40;
    fs::set_permissions(&pack, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&pack, bytes).unwrap();

    let out = env.expect(2, &["verify", "--read-data"]);
    assert!(
        out.stdout.contains(&pack_id[..8]) || out.stdout.contains(&pack_id),
        "verify names the damaged pack\n{out}"
    );
    assert!(out.stdout.contains("DAMAGED"), "{out}");

    let target = env.path("restored");
    let out = env.expect(
        1,
        &["restore", "latest", "--target", target.to_str().unwrap()],
    );
    assert!(out.stdout.contains("FAILED dumps/big.bin"), "{out}");
    assert!(
        !target.join("dumps/big.bin").exists(),
        "a damaged file is not left half-written"
    );
    for i in 0..20 {
        let rel = format!("job/j{i}.json");
        assert_eq!(
            hash_file(&target.join(&rel)),
            hash_file(&env.src().join(&rel)),
            "{rel}"
        );
    }
    assert_eq!(
        hash_file(&target.join("plugin/x.jar")),
        hash_file(&env.src().join("plugin/x.jar"))
    );
    let leftovers: Vec<_> = walkdir::WalkDir::new(&target)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".dxb-partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );
}

#[test]
fn wrong_password_is_a_clear_error_with_exit_2() {
    let env = Env::new();
    put(&env.src().join("conf/core.json"), b"{}", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    fs::write(env.path("pw"), "not the password\n").unwrap();
    for args in [&["snapshots"][..], &["backup"], &["init"], &["verify"]] {
        let out = env.expect(2, args);
        assert!(
            out.stderr.contains("wrong password for repository `main`"),
            "{out}"
        );
        assert!(
            !out.stderr.contains("not the password"),
            "the password is never echoed\n{out}"
        );
    }
    fs::write(env.path("pw"), format!("{}\n", crate::util::PASSWORD)).unwrap();
    assert_eq!(
        env.ok(&["snapshots", "--json"])
            .stdout
            .matches("\"id\"")
            .count(),
        1,
        "nothing was written by the failed attempts"
    );
}

#[test]
fn uninitialized_repository_says_to_run_init() {
    let env = Env::new();
    let out = env.expect(2, &["snapshots"]);
    assert!(out.stderr.contains("run 'dxbackup init'"), "{out}");
}

fn largest_pack(env: &Env) -> std::path::PathBuf {
    walkdir::WalkDir::new(env.repo().join("data"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .max_by_key(|e| e.metadata().unwrap().len())
        .unwrap()
        .into_path()
}

fn random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
