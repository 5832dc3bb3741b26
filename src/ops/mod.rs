//! The operations: what each command does, and the machinery they share
//! (the context, the runner, the checks, devices, provisioning, reports).
//! Nothing here knows the command line: `commands/` turns clap's arguments
//! into these functions' options.

pub mod bulk;
pub mod checks;
pub mod context;
pub mod create;
pub mod devices;
pub mod doctor;
pub mod exec;
pub mod exposure;
pub mod files;
pub mod hooks;
pub mod image;
pub mod init;
pub mod lifecycle;
pub mod list;
pub mod logs;
pub mod mounts;
pub mod parallel;
pub mod paths;
pub mod power;
pub mod prompt;
pub mod provision;
pub mod proxy;
pub mod remove;
pub mod report;
pub mod runner;
pub mod settings;
pub mod snapshot;
pub mod ssh;
pub mod storage;
pub mod sync;
