//! End-to-end tests of the `lxdev` binary with the fake runtime. Each test
//! asserts what ended up in containers.yaml and in the runtime, not only
//! the exit code.

mod bad_input;
mod cloned_repo;
mod compat;
mod completions;
mod concurrency;
mod container;
mod devenv;
mod devenv_lxd;
mod devices;
mod doctor;
mod files;
mod fuzz;
mod hostile;
mod image;
mod init;
mod json;
mod leftovers;
mod locking;
mod lxd;
mod project;
mod provision;
mod remote;
mod robustness;
#[path = "../common/runtimes.rs"]
mod runtimes;
mod safety;
mod snapshot;
mod storage;
mod support;
mod timestamps;
#[path = "../common/yaml_pieces.rs"]
mod yaml_pieces;
