//! Hostile snapshots and names at the limits: a restore never writes outside its target.
