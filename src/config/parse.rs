//! Reading the text into a `Config` while collecting every problem of every entry.
//!
//! serde stops at the first error of a value, so one `[source.db]` with three typos would
//! take three rounds of `config check`. Each entry is therefore deserialized, its failing key
//! dropped (or, when a required key is missing, a stand-in value put in its place) and
//! deserialized again until it goes through. The config that results holds every entry, so
//! `validate` can run on it too; `guessed` names the entries whose values are not all the
//! user's, whose findings `weigh` discards.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::Value;

use super::{default_tiers, locate, suggest, Config, Problem};

/// The keys of the top level, in the order the README documents them.
const TOP_LEVEL: [&str; 11] = [
    "host",
    "repository",
    "source",
    "tier",
    "retention",
    "stats",
    "schedule",
    "load",
    "monitor",
    "alert",
    "web",
];

/// More rounds than any entry has keys: a guard against a value that never goes through.
const MAX_ROUNDS: usize = 64;

/// What the text holds, with everything that was wrong with it.
#[derive(Debug, Default)]
pub struct Parsed {
    pub config: Config,
    /// Problems serde found, not yet located.
    pub problems: Vec<Problem>,
    /// Entries (`source.db`, `retention`) holding a stand-in value.
    pub guessed: Vec<String>,
    /// Entries of which nothing could be read (`[source] db = 1`).
    pub dropped: Vec<String>,
}

/// Parses leniently; `Err` is a TOML syntax error, after which nothing can be read.
pub fn parse_lenient(text: &str) -> Result<Parsed, Problem> {
    let table: toml::Table = toml::from_str(text).map_err(|e| locate::syntax_problem(text, &e))?;
    let mut p = Parsed {
        config: Config {
            tier: default_tiers(),
            ..Config::default()
        },
        ..Parsed::default()
    };
    for (key, value) in table {
        match key.as_str() {
            "host" => p.config.host = p.entry(&key, value).flatten(),
            "retention" => p.config.retention = p.entry(&key, value).unwrap_or_default(),
            "stats" => p.config.stats = p.entry(&key, value).unwrap_or_default(),
            "load" => p.config.load = p.entry(&key, value).unwrap_or_default(),
            "monitor" => p.config.monitor = p.entry(&key, value).unwrap_or_default(),
            "alert" => p.config.alert = p.section(&key, value),
            "web" => p.config.web = p.entry(&key, value),
            "schedule" => p.config.schedule = p.section(&key, value),
            "repository" => p.config.repository = p.section(&key, value),
            "source" => p.config.source = p.section(&key, value),
            "tier" => {
                let tiers = p.section(&key, value);
                p.config.tier.extend(tiers);
            }
            _ => {
                let known = TOP_LEVEL.map(String::from);
                let mut problem = suggest::unknown_key(&key, &key, &known);
                problem.message = format!("unknown key `{key}`");
                p.problems.push(problem);
            }
        }
    }
    Ok(p)
}

impl Parsed {
    /// Deserializes one `[section.NAME]` table entry by entry.
    fn section<T: DeserializeOwned>(&mut self, key: &str, value: Value) -> BTreeMap<String, T> {
        let Value::Table(entries) = value else {
            self.problems.push(
                Problem::new(key, "must be a table of named entries")
                    .hint(format!("write [{key}.NAME]")),
            );
            self.dropped.push(key.to_string());
            return BTreeMap::new();
        };
        entries
            .into_iter()
            .filter_map(|(name, v)| self.entry(&format!("{key}.{name}"), v).map(|t| (name, t)))
            .collect()
    }

    /// One entry, every problem of it recorded; `None` when no value could be made of it.
    fn entry<T: DeserializeOwned>(&mut self, key: &str, mut value: Value) -> Option<T> {
        // Keys already reported: when serde then misses them, they get a stand-in silently.
        let mut reported: Vec<Vec<String>> = Vec::new();
        let mut guessed = false;
        for _ in 0..MAX_ROUNDS {
            let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(t) => {
                    if guessed {
                        self.guessed.push(key.to_string());
                    }
                    return Some(t);
                }
                Err(e) => e,
            };
            let message = first_part(&err.inner().to_string());
            let mut path = segments(err.path());
            if let Some(field) = quoted_after(&message, "missing field `") {
                let at = dotted(key, &path);
                path.push(field.to_string());
                if !reported.contains(&path) {
                    self.problems.push(
                        Problem::new(at, format!("missing field `{field}`"))
                            .hint("add the key; see examples/quickstart.toml"),
                    );
                }
                guessed = true;
                if !stand_in::<T>(&mut value, &path) {
                    break;
                }
                continue;
            }
            let problem = match quoted_after(&message, "unknown field `") {
                Some(field) => {
                    if path.last().map(String::as_str) != Some(field) {
                        path.push(field.to_string());
                    }
                    suggest::unknown_key(&dotted(key, &path), field, &suggest::expected(&message))
                }
                None => value_problem(&dotted(key, &path), message),
            };
            self.problems.push(problem);
            if path.is_empty() || !remove(&mut value, &path) {
                break;
            }
            reported.push(path);
        }
        self.dropped.push(key.to_string());
        None
    }
}

/// A bad value: serde's message, and the nearest allowed value of an enum as the hint.
fn value_problem(key: &str, message: String) -> Problem {
    let near = quoted_after(&message, "unknown variant `")
        .and_then(|v| suggest::nearest(v, &suggest::expected(&message)).map(str::to_string));
    let p = Problem::new(key, message);
    match near {
        Some(v) => p.hint(format!("did you mean `{v}`?")),
        None => p,
    }
}

/// toml adds "in `key`" on a line of its own; the key is already named in front.
fn first_part(message: &str) -> String {
    let lines: Vec<&str> = message.lines().filter(|l| !l.starts_with("in `")).collect();
    lines.join(" ").trim().to_string()
}

/// The map keys of an error's path, up to the first array index: an array is dropped whole.
fn segments(path: &serde_path_to_error::Path) -> Vec<String> {
    path.iter()
        .map_while(|s| match s {
            Segment::Map { key } => Some(key.clone()),
            _ => None,
        })
        .collect()
}

fn dotted(key: &str, path: &[String]) -> String {
    std::iter::once(key)
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".")
}

/// The text between `prefix` and the next backtick.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

fn table_at<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut toml::Table> {
    path.iter()
        .try_fold(value, |v, k| v.as_table_mut()?.get_mut(k))?
        .as_table_mut()
}

fn remove(value: &mut Value, path: &[String]) -> bool {
    let (last, parent) = path.split_last().expect("a non-empty path");
    table_at(value, parent).is_some_and(|t| t.remove(last).is_some())
}

/// Puts the first value of a plausible type where a required key is missing, so the rest of
/// the entry can be read. The entry is marked guessed: nothing is concluded from the stand-in.
fn stand_in<T: DeserializeOwned>(value: &mut Value, path: &[String]) -> bool {
    let (last, parent) = path.split_last().expect("a non-empty path");
    let candidates = [
        Value::String("1h".into()),
        Value::String("files".into()),
        Value::String("run".into()),
        Value::Integer(0),
        Value::Boolean(false),
        Value::Array(Vec::new()),
        Value::Table(toml::Table::new()),
    ];
    for candidate in candidates {
        let mut v = value.clone();
        let Some(t) = table_at(&mut v, parent) else {
            return false;
        };
        t.insert(last.clone(), candidate);
        let accepted = match serde_path_to_error::deserialize::<_, T>(v.clone()) {
            Ok(_) => true,
            Err(e) => {
                let missing = format!("missing field `{last}`");
                segments(e.path()) != path && !e.inner().to_string().starts_with(&missing)
            }
        };
        if accepted {
            *value = v;
            return true;
        }
    }
    false
}

/// Drops what `validate` says about values that are not the user's, or about keys serde
/// already reported (a dropped `rot` is also a missing `root`): one mistake, one line.
pub fn weigh(found: Vec<Problem>, parsed: &Parsed) -> Vec<Problem> {
    let under = |key: &str, entry: &str| {
        key == entry || key.strip_prefix(entry).is_some_and(|r| r.starts_with('.'))
    };
    let names = |q: &Problem| {
        let mut names = vec![q.key.rsplit('.').next().unwrap_or_default().to_string()];
        if let Some(h) = &q.hint {
            names.extend(quoted_after(h, "did you mean `").map(str::to_string));
        }
        names
    };
    found
        .into_iter()
        .filter(|p| {
            let about_guess = parsed.guessed.iter().any(|g| under(&p.key, g))
                || parsed
                    .dropped
                    .iter()
                    .any(|d| under(&p.key, d) || under(d, &p.key));
            let about_reported = parsed.problems.iter().any(|q| {
                under(&p.key, &q.key)
                    || (under(&q.key, &p.key) && names(q).iter().any(|n| mentions(&p.message, n)))
            });
            !about_guess && !about_reported
        })
        .collect()
}

/// Whether `message` names `word` as a whole word (`root` in "missing field `root`").
fn mentions(message: &str, word: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    !word.is_empty()
        && message.match_indices(word).any(|(i, _)| {
            let before = message[..i].chars().next_back();
            let after = message[i + word.len()..].chars().next();
            !before.is_some_and(part) && !after.is_some_and(part)
        })
}
