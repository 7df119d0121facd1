//! Include/exclude rules for a files source, as pure path logic over paths relative to the
//! source root.
//!
//! Includes are anchored at the root (`conf/` means `<root>/conf` and all below it, `job/*.json`
//! the job files only). Excludes follow gitignore: a pattern without an inner `/` matches at any
//! depth (`*.hprof`), one with an inner `/` is anchored (`plugin/reader/old/`).

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad {key} pattern `{pattern}`: {source}; globs use *, **, ? and [..]")]
    BadGlob {
        key: &'static str,
        pattern: String,
        source: globset::Error,
    },
}

impl FilterError {
    /// The config key the bad pattern came from.
    pub fn key(&self) -> &'static str {
        match self {
            Self::BadGlob { key, .. } => key,
        }
    }
}

/// Compiled include/exclude rules.
#[derive(Debug, Clone)]
pub struct Filter {
    include: GlobSet,
    exclude: GlobSet,
    /// Literal leading folders of each include (`plugin/reader` for `plugin/reader/*/`):
    /// their ancestors must be kept so the included tree keeps its folders' metadata.
    include_prefixes: Vec<String>,
}

impl Filter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, FilterError> {
        let mut inc = GlobSetBuilder::new();
        let mut prefixes = Vec::new();
        for p in include {
            let base = normalize(p);
            add_tree(&mut inc, "include", p, &base)?;
            prefixes.push(literal_prefix(&base));
        }
        let mut exc = GlobSetBuilder::new();
        for p in exclude {
            let base = normalize(p);
            let anchored = p.trim_end_matches('/').contains('/');
            let base = if anchored { base } else { format!("**/{base}") };
            add_tree(&mut exc, "exclude", p, &base)?;
        }
        let build = |b: GlobSetBuilder, key, pattern: &str| {
            b.build().map_err(|source| FilterError::BadGlob {
                key,
                pattern: pattern.to_string(),
                source,
            })
        };
        Ok(Self {
            include: build(inc, "include", &include.join(","))?,
            exclude: build(exc, "exclude", &exclude.join(","))?,
            include_prefixes: prefixes,
        })
    }

    /// Whether an entry at `rel` (relative to the root, `/`-separated) belongs in the snapshot.
    pub fn keeps(&self, rel: &Path, is_dir: bool) -> bool {
        if rel.as_os_str().is_empty() {
            return true;
        }
        if self.exclude.is_match(rel) {
            return false;
        }
        if self.include.is_match(rel) {
            return true;
        }
        is_dir && self.is_ancestor_or_self_of_include(rel)
    }

    fn is_ancestor_or_self_of_include(&self, rel: &Path) -> bool {
        let Some(rel) = rel.to_str() else {
            return false;
        };
        self.include_prefixes.iter().any(|p| {
            p.starts_with(rel) && (p.len() == rel.len() || p.as_bytes()[rel.len()] == b'/')
        })
    }
}

fn normalize(p: &str) -> String {
    p.trim()
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// A pattern matches the path itself and everything below it.
fn add_tree(
    b: &mut GlobSetBuilder,
    key: &'static str,
    original: &str,
    base: &str,
) -> Result<(), FilterError> {
    let err = |source| FilterError::BadGlob {
        key,
        pattern: original.to_string(),
        source,
    };
    let glob = |s: &str| -> Result<Glob, globset::Error> {
        GlobBuilder::new(s).literal_separator(true).build()
    };
    b.add(glob(base).map_err(err)?);
    b.add(glob(&format!("{base}/**")).map_err(err)?);
    Ok(())
}

fn literal_prefix(base: &str) -> String {
    base.split('/')
        .take_while(|c| !c.contains(['*', '?', '[', '{']))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn datax() -> Filter {
        Filter::new(
            &crate::config::default_include(),
            &crate::config::default_exclude(),
        )
        .unwrap()
    }

    #[rstest]
    #[case("conf", true, true)]
    #[case("conf/core.json", false, true)]
    #[case("job/a/b.json", false, true)]
    #[case("plugin/reader/mysqlreader/libs/mysql-connector-j-8.jar", false, true)]
    #[case("log", true, false)]
    #[case("log/2026-11-24/x.log", false, false)]
    #[case("bin/datax.py", false, false)]
    #[case("lib", true, false)]
    #[case("job/dump.hprof", false, false)]
    #[case("script/run.sh", false, true)]
    fn datax_defaults(#[case] rel: &str, #[case] dir: bool, #[case] kept: bool) {
        assert_eq!(datax().keeps(Path::new(rel), dir), kept, "{rel}");
    }

    #[rstest]
    #[case("plugin", true, true)]
    #[case("plugin/reader", true, true)]
    #[case("plugin/reader/mysqlreader", true, true)]
    #[case("plugin/reader/mysqlreader/plugin.json", false, true)]
    #[case("plugin/writer", true, false)]
    #[case("job/x.json", false, true)]
    #[case("job/x.sh", false, false)]
    #[case("job/old/x.json", false, false)]
    fn globs_and_ancestors(#[case] rel: &str, #[case] dir: bool, #[case] kept: bool) {
        let f = Filter::new(&["plugin/reader/*/".into(), "job/*.json".into()], &[]).unwrap();
        assert_eq!(f.keeps(Path::new(rel), dir), kept, "{rel}");
    }

    #[test]
    fn anchored_exclude_only_at_root() {
        let f = Filter::new(&["job/".into()], &["job/tmp/".into()]).unwrap();
        assert!(!f.keeps(Path::new("job/tmp/a.json"), false));
        assert!(f.keeps(Path::new("job/x/tmp/a.json"), false));
    }

    #[test]
    fn bad_glob_names_the_key() {
        let err = Filter::new(&["conf/".into()], &["[".into()]).unwrap_err();
        assert_eq!(err.key(), "exclude");
        assert!(err.to_string().contains("`[`"), "{err}");
    }
}
