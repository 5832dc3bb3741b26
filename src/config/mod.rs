//! The project file, containers.yaml: its typed model, format-preserving
//! edits, and the `ConfigManager` that alone locks, reads and writes it.

pub mod devenv;
pub mod devices;
pub mod document;
mod explain;
mod layout;
pub mod ledger;
mod manager;
pub mod model;
pub mod names;
mod plain;
pub mod progress;
mod project;
mod text;
mod tree;

pub use manager::{ConfigManager, FILE_NAME};
pub use project::{NewContainer, Project, Record, StateWord};
