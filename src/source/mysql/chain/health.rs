//! What a source's archive can restore as a whole (`status`, `verify`, reports): every full's
//! chain walked to the archive's end, the window restorable, and the holes that break it.

use serde::Serialize;

use super::{local, walk, Coverage, FullRef, Missing, Until};

/// What a source's archive can restore: from the oldest full to the end of the archive, and
/// the holes in between (each with the times it makes unreachable).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Health {
    /// The oldest and the latest point restorable (unix seconds), when there is a full.
    pub window: Option<(i64, i64)>,
    pub holes: Vec<HoleReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoleReport {
    pub missing: Missing,
    /// Full whose chain it breaks.
    pub full: String,
    /// Times after `from` up to `until` (the next full, or none: the end) cannot be restored.
    pub from: i64,
    pub until: Option<i64>,
}

impl std::fmt::Display for HoleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = self.until.map_or("any later time".to_string(), |t| {
            format!("{} (the next full)", local(t))
        });
        write!(
            f,
            "{}: points in time after {} up to {to} cannot be restored (chain of full {})",
            self.missing,
            local(self.from),
            self.full
        )
    }
}

/// Walks the chain of every full to the end of the archive.
pub fn health(fulls: &[FullRef], cover: &Coverage) -> Health {
    let mut fulls: Vec<&FullRef> = fulls.iter().collect();
    fulls.sort_by_key(|f| f.at);
    let Some(oldest) = fulls.first() else {
        return Health::default();
    };
    let mut holes = Vec::new();
    let mut end = oldest.at;
    for (i, f) in fulls.iter().enumerate() {
        let w = walk(f, cover, &Until::Latest);
        end = end.max(w.reaches);
        if let Some(m) = w.stop.filter(Missing::is_hole) {
            let next = fulls.get(i + 1).map(|n| n.at);
            // Only the first full's report matters when several fulls share one broken stretch.
            if !holes.iter().any(|h: &HoleReport| h.missing == m) {
                holes.push(HoleReport {
                    missing: m,
                    full: f.short().to_string(),
                    from: w.reaches,
                    until: next,
                });
            }
        }
    }
    Health {
        window: Some((oldest.at, end)),
        holes,
    }
}
