//! The robustness loop, short variant: seeded random operations, killed at random moments.
