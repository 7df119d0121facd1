//! The manifest stored in every snapshot at `/.dxbackup/manifest.json`: what made the snapshot
//! and how, so the repository alone explains (and can rebuild) its backups.

use serde::{Deserialize, Serialize};

use crate::source::mysql::binlog::Segment;
use crate::source::mysql::dump::DumpInfo;

/// File names under `/.dxbackup/`.
pub const MANIFEST_FILE: &str = "manifest.json";
pub const CONFIG_FILE: &str = "dxbackup.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bumped when a field changes meaning.
    pub format: u32,
    pub dxbackup_version: String,
    pub source: String,
    pub kind: String,
    pub tier: String,
    pub host: String,
    /// SHA-256 of the config file used (its sanitized copy is stored beside this file).
    pub config_digest: String,
    pub files: Option<FilesManifest>,
    /// A full dump: coordinates, GTID, every table's row count and checksum.
    pub mysql: Option<DumpInfo>,
    /// Binlog segments stored by this snapshot.
    pub binlog: Option<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilesManifest {
    pub root: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("manifest serializes")
    }

    pub fn from_json(data: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let m = Manifest {
            format: 1,
            dxbackup_version: "0.1.0".into(),
            source: "datax".into(),
            kind: "files".into(),
            tier: "critical".into(),
            host: "h".into(),
            config_digest: "ab".into(),
            files: Some(FilesManifest {
                root: "/opt/datax".into(),
                include: vec!["conf/".into()],
                exclude: vec![],
            }),
            mysql: None,
            binlog: None,
        };
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
    }
}
