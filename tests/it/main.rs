//! One integration test binary: every test drives the real `dxbackup` binary (and, where a
//! promise involves it, the real `restic`) against real repositories in temporary folders.

mod cli;
mod config;
mod damage;
mod files;
mod interop;
mod mydumper;
mod mysql;
mod privacy;
mod services;
mod targets;
mod util;
