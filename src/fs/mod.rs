//! File-system primitives that know nothing of YAML: the advisory lock, who
//! holds it, and the atomic save.

pub mod atomic;
pub mod holder;
pub mod lock;
pub mod own_dir;
