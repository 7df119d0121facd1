//! Property tests of reading `dxbackup.toml`: any text, and valid configs mutated, never panic;
//! a bad value or unknown key under a known key is reported at that key's line, by its key.
//!
//! Configs are generated from a small model (sections of `key = value` lines) rather than
//! taken from the examples, so the test knows the line of every key without asking `locate`,
//! whose answer is what is being checked.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::Config as Cases;

use super::*;

/// No regression files in the tree: a failure found is kept as a named unit test instead.
fn cases(n: u32) -> Cases {
    Cases {
        cases: n,
        failure_persistence: None,
        ..Cases::default()
    }
}

/// What a value must be, so the test can write one of the wrong kind.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    Enum,
    Duration,
    Int,
    Bool,
    List,
}

#[derive(Debug, Clone)]
struct Line {
    key: String,
    value: String,
    ty: Ty,
}

#[derive(Debug, Clone)]
struct Section {
    /// `repository`, `source`, ...; `retention` and `stats` have no name.
    table: &'static str,
    name: Option<String>,
    lines: Vec<Line>,
}

fn line(key: &str, value: impl Into<String>, ty: Ty) -> Line {
    Line {
        key: key.to_string(),
        value: value.into(),
        ty,
    }
}

/// Mostly usable names, some that need quoting (`"db.main"`, spaces, CJK) and that
/// `validate` refuses: their problems must be located all the same.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_-]{0,7}",
        1 => "[a-z]{1,3}\\.[a-z]{1,3}",
        1 => "[a-z 数据é]{1,5}",
    ]
}

fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        name.to_string()
    } else {
        toml::Value::String(name.to_string()).to_string()
    }
}

fn repository() -> impl Strategy<Value = Section> {
    (
        name(),
        -7i32..=22,
        any::<bool>(),
        prop::sample::select(vec!["disk", "nas", "cloud"]),
        any::<bool>(),
    )
        .prop_map(|(n, level, init, medium, offsite)| Section {
            table: "repository",
            lines: vec![
                line("url", format!("\"/backup/{}\"", n.len()), Ty::Str),
                line("password-file", "\"/etc/dxbackup/pw\"", Ty::Str),
                line("compression", level.to_string(), Ty::Int),
                line("auto-init", init.to_string(), Ty::Bool),
                line("medium", format!("\"{medium}\""), Ty::Enum),
                line("offsite", offsite.to_string(), Ty::Bool),
            ],
            name: Some(n),
        })
}

fn source() -> impl Strategy<Value = Section> {
    let tier = prop::sample::select(vec!["critical", "important", "general"]);
    let files = (name(), tier.clone()).prop_map(|(n, tier)| Section {
        table: "source",
        lines: vec![
            line("kind", "\"files\"", Ty::Enum),
            line("root", "\"/opt/datax\"", Ty::Str),
            line("tier", format!("\"{tier}\""), Ty::Str),
            line("include", "[\"conf/\", \"job/\"]", Ty::List),
        ],
        name: Some(n),
    });
    let mysql =
        (name(), tier, 1u16..=65535, any::<bool>()).prop_map(|(n, tier, port, binlog)| Section {
            table: "source",
            lines: vec![
                line("kind", "\"mysql\"", Ty::Enum),
                line("host", "\"db.example\"", Ty::Str),
                line("port", port.to_string(), Ty::Int),
                line("user", "\"backup\"", Ty::Str),
                line("tier", format!("\"{tier}\""), Ty::Str),
                line("databases", "[\"shop\"]", Ty::List),
                line("binlog", binlog.to_string(), Ty::Bool),
                line("binlog-flush", "\"5s\"", Ty::Duration),
            ],
            name: Some(n),
        });
    prop_oneof![files, mysql]
}

fn others() -> impl Strategy<Value = Vec<Section>> {
    let tier = name().prop_map(|n| Section {
        table: "tier",
        lines: vec![
            line("rto", "\"2h\"", Ty::Duration),
            line("rpo", "\"30m\"", Ty::Duration),
        ],
        name: Some(n),
    });
    let schedule = name().prop_map(|n| Section {
        table: "schedule",
        lines: vec![
            line("cron", "\"0 2 * * *\"", Ty::Str),
            line("job", "\"verify\"", Ty::Enum),
            line("timeout", "\"1h\"", Ty::Duration),
        ],
        name: Some(n),
    });
    let retention = (0u32..30, 0u32..10).prop_map(|(d, w)| Section {
        table: "retention",
        lines: vec![
            line("keep-daily", d.to_string(), Ty::Int),
            line("keep-weekly", w.to_string(), Ty::Int),
        ],
        name: None,
    });
    let stats = Just(Section {
        table: "stats",
        lines: vec![line("warn-avg-duration", "\"1h\"", Ty::Duration)],
        name: None,
    });
    (
        prop::collection::vec(tier, 0..2),
        prop::collection::vec(schedule, 0..2),
        prop::option::of(retention),
        prop::option::of(stats),
    )
        .prop_map(|(mut t, s, r, st)| {
            t.extend(s);
            t.extend(r);
            t.extend(st);
            t
        })
}

/// A config as sections in order, names unique per table (a duplicate is a TOML error).
fn config() -> impl Strategy<Value = Vec<Section>> {
    (
        repository(),
        prop::collection::vec(source(), 0..3),
        others(),
    )
        .prop_map(|(r, s, o)| {
            let mut all = vec![r];
            all.extend(s);
            all.extend(o);
            let mut seen = std::collections::HashSet::new();
            all.retain(|s| seen.insert((s.table, s.name.clone())));
            all
        })
}

/// The text, and for each section the dotted prefix and the line of its first key.
fn render(sections: &[Section]) -> (String, Vec<(String, usize)>) {
    let (mut text, mut at, mut n) = (String::new(), Vec::new(), 1);
    for s in sections {
        let (header, prefix) = match &s.name {
            Some(name) => (
                format!("{}.{}", s.table, toml_key(name)),
                format!("{}.{name}", s.table),
            ),
            None => (s.table.to_string(), s.table.to_string()),
        };
        text += &format!("\n[{header}]\n");
        n += 2;
        at.push((prefix, n));
        for l in &s.lines {
            text += &format!("{} = {}\n", l.key, l.value);
            n += 1;
        }
    }
    (text, at)
}

/// A value of another kind than the key takes (or one out of its range).
fn wrong(ty: Ty, pick: usize) -> &'static str {
    let choices: &[&str] = match ty {
        Ty::Str => &["7", "true", "[1]", "{ a = 1 }"],
        Ty::Enum => &["\"bogus\"", "3", "[\"disk\"]"],
        Ty::Duration => &["\"soon\"", "15", "\"-1h\""],
        Ty::Int => &["\"many\"", "true", "99999999999", "1.5"],
        Ty::Bool => &["\"yes\"", "1", "[]"],
        Ty::List => &["5", "[1, 2]", "{ x = \"y\" }"],
    };
    choices[pick % choices.len()]
}

fn is_located(p: &Problem, file: &Path, key: &str, line: usize) -> bool {
    let shown = p.render(file);
    // What `config check` prints: `FILE:LINE:COL: KEY: message`.
    p.key == key
        && p.line == Some(line)
        && shown.starts_with(&format!("dx.toml:{line}:"))
        && shown.contains(&format!(": {key}: "))
}

proptest! {
    #![proptest_config(cases(2000))]

    /// Any text at all: problems or a config, never a panic, and every problem renders.
    #[test]
    fn any_text_never_panics(text in "\\PC{0,200}") {
        if let Err(problems) = check(&text) {
            prop_assert!(!problems.is_empty());
            for p in problems {
                p.render(Path::new("dx.toml"));
            }
        }
    }

    /// TOML-shaped noise: tokens of real keys and syntax, so the parser gets past the lexer.
    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "[", "]", "[[", "]]", "=", "\"", "'", ".", ",", "{", "}", "\n", " ", "#", "\"\"\"",
        "repository", "source", "tier", "retention", "schedule", "web", "alert", "monitor",
        "load", "stats", "host", "a", "kind", "url", "\"files\"", "\"mysql\"", "1", "-1",
        "true", "\"1h\"", "1979-05-27", "数据", "\"0 2 * * *\"", "cron", "job", "databases",
    ]), 0..60)) {
        let _ = check(&tokens.concat());
    }

    /// A valid config with characters cut out, put in or lines swapped: never a panic.
    #[test]
    fn mutated_configs_never_panic(
        sections in config(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, "\\PC{0,3}"), 1..6),
    ) {
        let (text, _) = render(&sections);
        let mut chars: Vec<char> = text.chars().collect();
        for (at, op, s) in edits {
            let i = at.index(chars.len() + 1);
            match op {
                0 => { chars.drain(i..(i + 4).min(chars.len())); }
                1 => { chars.splice(i..i, s.chars()); }
                2 => { chars.insert(i, '\n'); }
                _ => { chars.splice(i..i, "= \"x\"\n".chars()); }
            }
        }
        let text: String = chars.into_iter().collect();
        if let Err(problems) = check(&text) {
            for p in problems {
                p.render(Path::new("dx.toml"));
            }
        }
    }

    /// What the model writes is a config `check` accepts (else the next property tests
    /// nothing), names that `validate` refuses aside.
    #[test]
    fn generated_configs_are_valid(sections in config()) {
        let plain = sections.iter().all(|s| s.name.as_deref().is_none_or(|n| toml_key(n) == n));
        let (text, _) = render(&sections);
        if plain {
            prop_assert!(check(&text).is_ok(), "{text}\n{:?}", check(&text).err());
        }
    }

    /// One value of the wrong kind: reported by its key at its line.
    #[test]
    fn a_bad_value_is_reported_at_its_key(
        mut sections in config(),
        which in any::<prop::sample::Index>(),
        pick in 0usize..4,
    ) {
        let spots: Vec<(usize, usize)> = sections.iter().enumerate()
            .flat_map(|(i, s)| (0..s.lines.len()).map(move |j| (i, j)))
            .collect();
        let (i, j) = spots[which.index(spots.len())];
        let ty = sections[i].lines[j].ty;
        sections[i].lines[j].value = wrong(ty, pick).to_string();
        let (text, at) = render(&sections);
        let key = format!("{}.{}", at[i].0, sections[i].lines[j].key);
        let problems = check(&text).expect_err("a bad value is a problem");
        let file = Path::new("dx.toml");
        prop_assert!(
            problems.iter().any(|p| is_located(p, file, &key, at[i].1 + j)),
            "{key} at line {}:\n{text}\n{}", at[i].1 + j,
            ConfigError::Invalid { path: file.into(), problems: problems.clone() }
        );
    }

    /// A mistyped key under a known table: reported by its key at its line.
    #[test]
    fn an_unknown_key_is_reported_at_its_line(
        mut sections in config(),
        which in any::<prop::sample::Index>(),
        typo in "[a-z]{1,3}",
    ) {
        let i = which.index(sections.len());
        let bogus = format!("zz{typo}");
        sections[i].lines.push(line(&bogus, "1", Ty::Int));
        let (text, at) = render(&sections);
        let key = format!("{}.{bogus}", at[i].0);
        let line = at[i].1 + sections[i].lines.len() - 1;
        let problems = check(&text).expect_err("an unknown key is a problem");
        prop_assert!(
            problems.iter().any(|p| is_located(p, Path::new("dx.toml"), &key, line)),
            "{key} at line {line}:\n{text}\n{problems:#?}"
        );
    }

    /// Every problem about a table the text has is given a line: only a section missing
    /// altogether (no `[repository.*]`) may go without.
    #[test]
    fn problems_under_present_tables_are_located(sections in config(), drop_repo in any::<bool>()) {
        let sections = if drop_repo { sections[1..].to_vec() } else { sections };
        let (text, _) = render(&sections);
        if let Err(problems) = check(&text) {
            for p in &problems {
                let top = p.key.split('.').next().unwrap_or_default();
                if sections.iter().any(|s| s.table == top) {
                    prop_assert!(p.line.is_some(), "{p:?} in\n{text}");
                }
            }
        }
    }
}

/// Found by the property tests: a problem under an entry whose name holds a dot
/// (`[source."db.main"]`) had no line, its key `source.db.main.root` looked up as `source`,
/// `db`, `main`.
#[test]
fn a_dotted_name_is_located() {
    let text = "[repository.a]\nurl = \"/x\"\n\n[source.\"db.main\"]\nkind = \"files\"\nroot = 7\n";
    let problems = check(text).unwrap_err();
    let at = |key: &str| problems.iter().find(|p| p.key == key).and_then(|p| p.line);
    assert_eq!(at("source.db.main.root"), Some(6), "{problems:#?}");
    assert_eq!(at("source.db.main"), Some(4), "{problems:#?}");
}
