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

/// A backup or copy whose start cannot be recorded does not run: the catalog is what status,
/// monitor and alerts read, and a run missing from it would pass unseen.
#[test]
fn a_run_the_catalog_cannot_record_fails_instead_of_running_unseen() {
    let env = Env::new();
    env.write_config(&format!(
        "[repository.copy]\nurl = \"{}\"\npassword-file = \"pw\"\nauto-init = true\n",
        env.path("copy").display()
    ));
    let text = fs::read_to_string(env.config()).unwrap();
    fs::write(
        env.config(),
        text.replacen(
            "auto-init = true\n",
            "auto-init = true\nprimary = true\n",
            1,
        ),
    )
    .unwrap();
    crate::util::put(&env.src().join("conf/a.json"), b"{}", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    // The catalog refuses new backup and copy runs, as a full disk or a broken file would.
    let db = rusqlite::Connection::open(env.path("state/catalog.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON runs WHEN NEW.command IN ('backup', 'copy')
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
    )
    .unwrap();
    drop(db);

    let out = env.run(&["backup"]);
    assert_ne!(out.code, 0, "{out}");
    let said =
        |o: &crate::util::Out, what: &str| o.stdout.contains(what) || o.stderr.contains(what);
    assert!(
        said(&out, "cannot record the start of the backup in the catalog")
            && said(&out, "injected failure"),
        "{out}"
    );
    let ids = |o: &crate::util::Out| o.stdout.matches("\"id\"").count();
    assert_eq!(
        ids(&env.ok(&["snapshots", "--json"])),
        1,
        "no unrecorded backup ran"
    );

    let out = env.run(&["copy"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        said(&out, "cannot record the start of the copy in the catalog"),
        "{out}"
    );
    assert_eq!(
        ids(&env.ok(&["snapshots", "--repo", "copy", "--json"])),
        0,
        "no unrecorded copy ran"
    );
}

/// The hint of a restore whose --only matches nothing is a command that lists the files.
#[test]
fn an_empty_selection_hints_a_command_that_lists_the_snapshot() {
    let env = Env::new();
    crate::util::put(&env.src().join("conf/core.json"), b"{}", 0o644);
    env.ok(&["init"]);
    env.ok(&["backup"]);
    let target = env.path("restored");
    let target = target.to_str().unwrap();
    let out = env.expect(
        2,
        &["restore", "latest", "--target", target, "--only", "nope/*"],
    );
    let hint = out
        .stderr
        .split("list its files with '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no hint\n{out}"));
    let args: Vec<&str> = hint
        .split_whitespace()
        .skip(1)
        .map(|a| match a {
            "SNAPSHOT" => "latest",
            "DIR" => target,
            a => a,
        })
        .collect();
    let listed = env.ok(&args);
    assert!(listed.stdout.contains("conf/core.json"), "{listed}");
    assert!(
        !std::path::Path::new(target).exists(),
        "the hint writes nothing"
    );
}

/// `status` opens the primary for its sources and again for its repositories: the key is
/// derived (scrypt) once, and a password-command runs once per process.
#[test]
fn status_derives_the_key_once_and_runs_the_password_command_once() {
    let env = Env::new();
    crate::util::put(&env.src().join("conf/a.json"), b"{}", 0o644);
    let runs = env.path("command-runs");
    let text = fs::read_to_string(env.config()).unwrap().replace(
        "password-file = \"pw\"",
        &format!(
            "password-command = \"echo run >> {}; cat {}\"",
            runs.display(),
            env.path("pw").display()
        ),
    );
    fs::write(env.config(), text).unwrap();
    env.ok(&["init"]);
    env.ok(&["backup"]);
    fs::remove_file(&runs).unwrap();
    let out = env.run(&["-vv", "status"]);
    assert!(out.stdout.contains("main"), "{out}");
    let derived = out
        .stderr
        .matches("deriving the repository key from its password")
        .count();
    assert_eq!(derived, 1, "{out}");
    assert_eq!(fs::read_to_string(&runs).unwrap().lines().count(), 1);
}

/// dxbackup points `$XDG_STATE_HOME` at its ssh control sockets' folder for the `openssh`
/// crate; a password command it runs still sees the user's own value.
#[test]
fn a_password_command_sees_the_users_xdg_state_home() {
    let env = Env::new();
    let seen = env.path("seen");
    let text = fs::read_to_string(env.config()).unwrap().replace(
        "password-file = \"pw\"",
        &format!(
            "password-command = \"printf %s \\\"$XDG_STATE_HOME\\\" > {}; cat {}\"",
            seen.display(),
            env.path("pw").display()
        ),
    );
    fs::write(env.config(), text).unwrap();
    let home = env.path("xdg-state");
    env.set_env("XDG_STATE_HOME", home.to_str().unwrap());
    env.ok(&["init"]);
    assert_eq!(fs::read_to_string(&seen).unwrap(), home.to_str().unwrap());
}
