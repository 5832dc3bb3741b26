//! File-system primitives that know nothing of YAML: the advisory lock and
//! the atomic save.

pub mod atomic;
pub mod lock;
