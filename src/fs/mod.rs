//! File-system primitives that know nothing of YAML: the advisory lock, who
//! holds it, the atomic save, lxdev's own folders and its own files
//! outside a project.

pub mod atomic;
pub mod holder;
pub mod lock;
pub mod own_dir;
pub mod own_file;
