//! One integration test binary: every test drives the real `dxbackup` binary (and, where a
//! promise involves it, the real `restic`) against real repositories in temporary folders.

mod alerts;
mod chains;
mod cli;
mod config;
mod daemon;
mod damage;
mod files;
mod fulldisk;
mod hostile;
mod housekeeping;
mod interop;
mod json;
mod locks;
mod mydumper;
mod mysql;
mod parallel;
mod physical;
mod privacy;
mod recover;
mod restoredb;
mod robustness;
mod secrets;
mod services;
mod targets;
mod util;
mod web;
