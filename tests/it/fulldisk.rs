//! A full disk under the repository or the state directory: clear errors, nothing left behind,
//! the next run succeeds once space is freed.
