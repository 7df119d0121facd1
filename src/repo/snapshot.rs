//! Snapshots as dxbackup shows them: rustic's snapshot file reduced to what users and the
//! other modules need.

use rustic_core::repofile::SnapshotFile;
use serde::Serialize;

/// A snapshot as dxbackup shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub id: String,
    pub time: jiff::Timestamp,
    pub host: String,
    pub tags: Vec<String>,
    pub paths: Vec<String>,
    pub source: Option<String>,
    pub kind: Option<String>,
    pub summary: Option<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Snapshot {
    pub fn short_id(&self) -> &str {
        &self.id[..8.min(self.id.len())]
    }

    /// The backed-up root: the prefix that restores strip.
    pub fn root(&self) -> &str {
        self.paths.first().map_or("/", String::as_str)
    }

    fn tag_value(tags: &[String], key: &str) -> Option<String> {
        tags.iter()
            .find_map(|t| t.strip_prefix(key))
            .map(str::to_string)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    pub bytes_processed: u64,
    pub data_added: u64,
    pub data_added_packed: u64,
    pub duration_secs: f64,
}

impl From<&SnapshotFile> for Snapshot {
    fn from(s: &SnapshotFile) -> Self {
        let tags: Vec<String> = s.tags.iter().cloned().collect();
        Self {
            id: s.id.to_hex().to_string(),
            time: s.time.timestamp(),
            host: s.hostname.clone(),
            paths: s.paths.iter().cloned().collect(),
            source: Snapshot::tag_value(&tags, "source:"),
            kind: Snapshot::tag_value(&tags, "kind:"),
            summary: s.summary.as_ref().map(|m| Summary {
                files_new: m.files_new,
                files_changed: m.files_changed,
                files_unmodified: m.files_unmodified,
                bytes_processed: m.total_bytes_processed,
                data_added: m.data_added,
                data_added_packed: m.data_added_packed,
                duration_secs: m.backup_duration,
            }),
            tags,
            description: s.description.clone(),
        }
    }
}
