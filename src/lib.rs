//! lxdev: dev containers on LXD/Incus for a project, recorded in the
//! project's containers.yaml, safe under any number of concurrent processes.

pub mod config;
pub mod error;
pub mod exit_code;
pub mod fs;
pub mod runtime;
