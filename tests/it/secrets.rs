//! The secret sweep: every secret the tool knows, looked for everywhere it could leak.
