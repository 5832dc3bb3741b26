//! The operations: what each command does, and the machinery they share
//! (the context, the runner, the checks, devices, provisioning, reports).
//! Nothing here knows the command line: `commands/` turns clap's arguments
//! into these functions' options.

pub mod bulk;
pub mod checks;
pub mod container;
pub mod context;
pub mod devices;
pub mod doctor;
pub mod exposure;
pub mod files;
pub mod image;
pub mod init;
pub mod lifecycle;
pub mod mount;
pub mod outcome;
pub mod project;
pub mod provision;
pub mod proxy;
pub mod runner;
pub mod snapshot;
pub mod sync;
