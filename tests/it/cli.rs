//! The command line itself: config errors located, help with examples, exit codes.

use std::fs;

use crate::util::Env;

#[test]
fn malformed_toml_names_file_line_and_column() {
    let env = Env::new();
    fs::write(
        env.config(),
        "[repository.main]\nurl = \"/tmp/x\"\npassword-file = pw\n",
    )
    .unwrap();
    let out = env.expect(2, &["config", "check"]);
    let expected = format!("{}:3:", env.config().display());
    assert!(out.stdout.contains(&expected), "{out}");
    assert!(out.stdout.contains("invalid TOML"), "{out}");
    // Any command refuses the same config the same way.
    let out = env.expect(2, &["snapshots"]);
    assert!(out.stderr.contains(&expected), "{out}");
}

#[test]
fn unknown_keys_are_all_reported_at_once_with_lines() {
    let env = Env::new();
    fs::write(
        env.config(),
        "[repository.main]\nurl = \"/tmp/x\"\npasword-file = \"pw\"\n\n[source.a]\nkind = \"files\"\nroot = \"src\"\nincludes = [\"conf/\"]\n\n[retention]\nkeep-dayly = 3\n",
    )
    .unwrap();
    let out = env.expect(2, &["config", "check"]);
    let cfg = env.config().display().to_string();
    for (line, key) in [
        (3, "repository.main.pasword-file"),
        (8, "source.a.includes"),
        (11, "retention.keep-dayly"),
    ] {
        let needle = format!("{cfg}:{line}:1: {key}: unknown field");
        assert!(out.stdout.contains(&needle), "missing `{needle}`\n{out}");
    }
    assert!(out.stdout.contains("hint:"), "{out}");
}

#[test]
fn config_check_passes_on_the_examples_without_showing_secrets() {
    let env = Env::new();
    let out = env.ok(&["config", "check"]);
    assert!(
        out.stdout
            .trim_end()
            .ends_with("1 repository (primary `main`), 1 source, ok"),
        "{out}"
    );
    assert!(
        !out.stdout.contains(crate::util::PASSWORD) && !out.stderr.contains(crate::util::PASSWORD),
        "{out}"
    );
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.toml");
    let out = crate::util::Out::of(
        std::process::Command::new(env!("CARGO_BIN_EXE_dxbackup"))
            .args(["-c", quickstart, "config", "check"])
            .output()
            .unwrap(),
        &["config", "check"],
    );
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn every_command_help_has_examples() {
    let env = Env::new();
    for cmd in [
        "init",
        "backup",
        "run",
        "snapshots",
        "diff",
        "log",
        "restore",
        "verify",
        "forget",
        "stats",
    ] {
        let out = env.ok(&[cmd, "--help"]);
        assert!(out.stdout.contains("Examples:"), "{out}");
    }
    let out = env.ok(&["--help"]);
    assert!(out.stdout.contains("Exit codes"), "{out}");
}

#[test]
fn forget_dry_run_explains_each_decision() {
    let env = Env::new();
    env.write_config("[retention]\nkeep-last = 1\n");
    crate::util::put(&env.src().join("conf/a.json"), b"{}", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    env.ok(&["backup"]);
    let out = env.ok(&["forget", "--dry-run"]);
    assert!(
        out.stdout.contains("keep") && out.stdout.contains("keep-last"),
        "{out}"
    );
    assert!(
        out.stdout.contains("remove") && out.stdout.contains("matched no keep rule"),
        "{out}"
    );
    assert!(out.stdout.contains("would remove 1"), "{out}");
    assert_eq!(
        env.ok(&["snapshots", "--json"])
            .stdout
            .matches("\"id\"")
            .count(),
        2,
        "dry run changes nothing"
    );
    env.ok(&["forget", "--prune"]);
    assert_eq!(
        env.ok(&["snapshots", "--json"])
            .stdout
            .matches("\"id\"")
            .count(),
        1
    );
    env.ok(&["verify", "--read-data"]);
}
