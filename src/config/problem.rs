//! A config problem, located, and the error that carries all of them.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One thing wrong with a config file, located where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Dotted key path, such as `repository.main.password-file`.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
    pub line: Option<usize>,
    pub col: Option<usize>,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            hint: None,
            line: None,
            col: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `FILE:LINE:COL: KEY: message` plus the hint, the format `config check` promises.
    pub fn render(&self, file: &Path) -> String {
        let mut s = format!("{}", file.display());
        if let (Some(l), Some(c)) = (self.line, self.col) {
            s += &format!(":{l}:{c}");
        }
        s += ": ";
        if !self.key.is_empty() {
            s += &format!("{}: ", self.key);
        }
        s += &self.message;
        if let Some(h) = &self.hint {
            s += &format!("\n  hint: {h}");
        }
        s
    }
}

/// Every problem found in one file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file found: pass --config FILE, set DXBACKUP_CONFIG, or create ./dxbackup.toml (see examples/quickstart.toml)")]
    NotFound,
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_all(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_all(path: &Path, problems: &[Problem]) -> String {
    let what = if problems.len() == 1 {
        "problem"
    } else {
        "problems"
    };
    let mut s = format!("{} {what} in config {}", problems.len(), path.display());
    for p in problems {
        s += "\n";
        s += &p.render(path);
    }
    s
}
