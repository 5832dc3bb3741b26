//! Atomic replacement of a file: readers see the old or the new content,
//! never a mix, and a crash at any instant leaves one of the two.
//!
//! Steps (see rename(2), fsync(2)): resolve symlinks so a symlinked file stays
//! a symlink; create a temp file in the target's own directory (rename is only
//! atomic within a file system); write; copy the old file's mode (and
//! owner/group when running as root); fsync the file; rename over the target;
//! fsync the directory so the rename itself is durable. On any failure the
//! target is untouched and the temp file is removed. A SIGKILL can still leave
//! a temp file: the next save (which holds the lock, so no other writer is
//! mid-save) sweeps them.

use std::path::{Path, PathBuf};

/// Temp files are named `.<file name>.tmp-<random>` beside the target.
pub fn temp_prefix(target_file_name: &str) -> String {
    format!(".{target_file_name}.tmp-")
}

/// Atomically replaces `path` (following symlinks) with `contents`.
/// The caller must hold the lock that serializes writers of `path`.
/// Sweeps stale temp files first.
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    todo!("{path:?} {}", contents.len())
}

/// Temp files left beside `path` (after following symlinks) by a writer that
/// was killed mid-save.
pub fn leftover_temp_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    todo!("{path:?}")
}

/// Removes the temp files [`leftover_temp_files`] finds; returns how many.
/// Only call while holding the writers' lock.
pub fn sweep_leftover_temp_files(path: &Path) -> std::io::Result<usize> {
    todo!("{path:?}")
}
