//! What a chain needs and the archive lacks, as errors and health reports name it.

use serde::Serialize;

/// What is missing from the archive where a chain needed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Missing {
    /// Bytes of a file are missing while later bytes are stored.
    Hole { file: String, from: u64, to: u64 },
    /// A whole file is missing while later files are stored.
    File { file: String },
    /// A file is stored only up to `from` (it never closed in the archive), while later files
    /// are stored: its end is missing.
    Rest { file: String, from: u64 },
    /// The file holding the full's position is not stored up to that position (yet).
    FullPosition {
        file: String,
        stored: u64,
        needed: u64,
    },
    /// The archive simply ends: the archiver stopped or has not stored more yet.
    End { file: String, stored: u64 },
    /// Two different files were archived under this name (their first events differ).
    Mixed {
        file: String,
        first: i64,
        other: i64,
    },
}

impl Missing {
    /// A hole (data lost) rather than the archive's end (data not yet stored).
    pub fn is_hole(&self) -> bool {
        !matches!(self, Missing::End { .. } | Missing::FullPosition { .. })
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Hole { file, from, to } => write!(
                f,
                "binlog {file} bytes {from}..{to} are missing from the archive (forgotten, or never stored)"
            ),
            Missing::File { file } => write!(
                f,
                "binlog {file} is missing from the archive (forgotten, or purged from the server before it was archived)"
            ),
            Missing::Rest { file, from } => write!(
                f,
                "binlog {file} from byte {from} to its end is missing from the archive (forgotten, or never stored), while later files are stored"
            ),
            Missing::FullPosition { file, stored, needed } => write!(
                f,
                "the full's position {file}:{needed} is not covered: the archive holds {stored} bytes of {file}"
            ),
            Missing::End { file, stored } => write!(
                f,
                "the binlog archive ends at {file} byte {stored} (the archiver stopped, or has not stored more yet)"
            ),
            Missing::Mixed { file, first, other } => write!(
                f,
                "the archive holds two different binlog files named {file} (first events at {} and {}): the server's binary log was reset (RESET MASTER) or another server archived into this source, so which bytes belong to this full's history cannot be proven",
                super::local(*first),
                super::local(*other)
            ),
        }
    }
}
