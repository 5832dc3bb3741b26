//! The project file, containers.yaml: its typed model, format-preserving
//! edits, and the `ConfigManager` that alone locks, reads and writes it.

pub mod document;
pub mod model;
pub mod names;
