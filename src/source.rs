//! What can be backed up. A source turns configuration into the entries a snapshot holds;
//! `files` is a folder tree (a DataX home), filtered by include/exclude globs.

pub mod files;
pub mod mysql;
