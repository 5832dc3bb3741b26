//! `ConfigManager`: the only code that locates, locks, reads and writes
//! containers.yaml.
//!
//! Invariants:
//! - Every write happens inside `update`, under the exclusive lock on
//!   `containers.yaml.lock` (lxc-dev-manager's lock file, so the two tools
//!   exclude each other), after re-reading the file under that lock.
//! - The lock file sits beside the real file, after symlinks: a file reached
//!   through two paths (`a/containers.yaml -> ../b/containers.yaml`) has one
//!   lock, one temp-file namespace and one runtime state directory.
//! - Nothing is written that lxdev itself could not load: the edited text is
//!   parsed with the typed model first (`model::parse_changed`: only the
//!   entries that differ from the text loaded under the lock, when that is
//!   provably the same as parsing it all).
//! - Saves are atomic (`fs::atomic`), so `load` needs no lock: a reader sees
//!   the old file or the new one.
//! - The lock is released when `update` returns, on error and on panic too
//!   (the guard's `Drop`). It never covers runtime work.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::document::Frozen;
use super::model::{self, Config};
use super::progress::Progress;
use super::project::Project;
use crate::error::Error;
use crate::fs::atomic;
use crate::fs::holder::LockHolder;
use crate::fs::lock::FileLock;
use crate::output::Output;
use crate::process;

pub const FILE_NAME: &str = "containers.yaml";

/// A waiter says once, after this long, who it is waiting for.
const WAIT_NOTICE_AFTER: Duration = Duration::from_secs(1);

/// Test hook: `LXDEV_TEST_HOLD_LOCK_MS=N` sleeps N ms inside every
/// transaction, so crash tests can SIGKILL a process that surely holds the
/// lock.
fn hold_for_crash_tests() {
    if let Some(ms) = crate::env::get().test_hold_lock_ms {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

#[derive(Debug)]
pub struct ConfigManager {
    /// The path as given: read through, and named in messages about it.
    path: PathBuf,
    /// `path` with symlinks at its end followed: the file a save replaces.
    real_path: PathBuf,
    lock_path: PathBuf,
    lock_timeout: Duration,
    /// Where the waiting notice goes (off with `--quiet`), and each lock
    /// wait's length (`--verbose`; the benchmark reads it).
    out: Output,
    /// The last text read or written, with its typed model (see `parse`).
    last_parsed: Mutex<Option<Parsed>>,
}

/// A text the typed model accepted, with its model, and its document once
/// one was parsed: the next transaction that finds the file unchanged (an
/// uncontended command reads back what it just wrote) parses nothing, and
/// one that finds it changed parses only the entries that differ.
#[derive(Debug)]
struct Parsed {
    text: String,
    config: Arc<Config>,
    doc: Option<Frozen>,
}

/// Refuses (exit 77) a project file found above the current directory
/// that another user owns, as git refuses another user's repository: in
/// a shared folder (`/tmp`), anyone may leave a containers.yaml that
/// every command run below it would otherwise act on, as whoever runs
/// it. `-C DIR` or `--config FILE` names such a file on purpose.
fn refuse_someone_elses(found: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(found) else {
        return Ok(());
    };
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() == me {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!(
        "`{}`, found above the current directory, belongs to {}, not to {}; lxdev does not act \
         on another user's project file it finds by searching upward: pass -C {} (or --config \
         FILE) to use it on purpose",
        found.display(),
        process::user_name(meta.uid()),
        process::user_name(me),
        found.parent().unwrap_or(Path::new(".")).display()
    ))
    .into())
}

impl ConfigManager {
    /// A manager for the project file at `path` (which may not exist yet).
    pub fn new(path: PathBuf) -> ConfigManager {
        // A symlink loop is reported when the file is read.
        let real_path = atomic::resolve_symlinks(&path).unwrap_or_else(|_| path.clone());
        let mut lock_name = real_path.file_name().unwrap_or_default().to_os_string();
        lock_name.push(".lock");
        ConfigManager {
            lock_path: real_path.with_file_name(lock_name),
            real_path,
            path,
            lock_timeout: Duration::from_secs(10),
            out: Output::default(),
            last_parsed: Mutex::new(None),
        }
    }

    /// Finds the project file: `--config FILE`, else `DIR/containers.yaml`
    /// for `-C DIR`, else the nearest containers.yaml upward from `cwd`.
    pub fn discover(dir: Option<&Path>, file: Option<&Path>, cwd: &Path) -> Result<ConfigManager> {
        let path = match (file, dir) {
            (Some(file), _) => cwd.join(file),
            (None, Some(dir)) => cwd.join(dir).join(FILE_NAME),
            (None, None) => {
                let found = cwd
                    .ancestors()
                    .map(|d| d.join(FILE_NAME))
                    .find(|p| p.exists() || p.is_symlink())
                    .ok_or_else(|| {
                        Error::NotFound(format!(
                            "no {FILE_NAME} in `{}` or any parent directory; \
                             run `lxdev init` to start a project, or pass -C DIR",
                            cwd.display()
                        ))
                    })?;
                if found.parent() != Some(cwd) {
                    refuse_someone_elses(&found)?;
                }
                return Ok(ConfigManager::new(found));
            }
        };
        Ok(ConfigManager::new(path))
    }

    pub fn with_lock_timeout(mut self, timeout: Duration) -> ConfigManager {
        self.lock_timeout = timeout;
        self
    }

    pub fn with_output(mut self, out: Output) -> ConfigManager {
        self.out = out;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The project file's own path, symlinks and `..` resolved where it
    /// exists: what instances are tagged with (`user.lxdev.config`), so one
    /// file reached by two paths is one project.
    pub fn canonical_path(&self) -> PathBuf {
        std::fs::canonicalize(&self.real_path).unwrap_or_else(|_| self.real_path.clone())
    }

    /// Where operations note their provisioning steps (`config::progress`):
    /// beside the real file, as its lock is.
    pub fn progress(&self) -> Progress {
        Progress::new(self.real_path.parent().unwrap_or(Path::new(".")))
    }

    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    pub fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// Reads the file without the lock (saves are atomic renames), with
    /// the step notes of the operations in flight read over it.
    pub fn load(&self) -> Result<Project> {
        let mut project = self.read_project()?;
        project.read_all_notes(&self.progress());
        Ok(project)
    }

    /// The file as it is, without step notes: what a transaction starts
    /// from (it reads the notes of the entries it settles itself).
    fn read_project(&self) -> Result<Project> {
        let bytes = self.read_bytes()?;
        let (config, doc) = self.parse(&bytes)?;
        // parse has checked UTF-8.
        let text = String::from_utf8(bytes).expect("validated as UTF-8");
        Ok(Project::new(self.real_path.clone(), text, config, doc))
    }

    /// The file's bytes. It must be a regular file: a cloned repository may
    /// ship `containers.yaml` as a symlink to a device (`/dev/zero` never
    /// ends) or to a file of the kernel's (`/proc/self/environ`), which
    /// lxdev must neither hang on nor quote in an error.
    fn read_bytes(&self) -> Result<Vec<u8>> {
        use std::io::Read as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let context = || format!("failed to read `{}`", self.path.display());
        // O_NONBLOCK: opening a FIFO planted at the path (or reached
        // through a link) would wait for a writer forever; it is then
        // refused as not a regular file. No effect on a regular file.
        let open = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&self.path);
        let mut file = match open {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(self.dangling().unwrap_or_else(|| {
                    Error::NotFound(format!(
                        "no project file at `{}`; run `lxdev init` to start a project",
                        self.path.display()
                    ))
                    .into()
                }));
            }
            Err(err) => return Err(err).with_context(context),
        };
        let meta = file.metadata().with_context(context)?;
        let real = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.real_path.clone());
        let kernel = ["/proc", "/sys", "/dev"]
            .iter()
            .any(|d| real.starts_with(d));
        if !meta.is_file() || kernel {
            return Err(Error::InvalidConfig(format!(
                "`{}` is not a project file: it leads to `{}`, which is not a regular file \
                 of its own; replace it with the real containers.yaml",
                self.path.display(),
                real.display()
            ))
            .into());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.read_to_end(&mut bytes).with_context(context)?;
        Ok(bytes)
    }

    /// The error for a project file that is a symlink to nothing: `init`
    /// would refuse it ("already exists"), so advising `lxdev init` would
    /// send the user in a circle. `None` unless it is one.
    fn dangling(&self) -> Option<anyhow::Error> {
        let target = std::fs::read_link(&self.path).ok()?;
        if self.path.exists() {
            return None;
        }
        let resolved = self.path.parent().unwrap_or(Path::new("")).join(&target);
        Some(
            Error::NotFound(format!(
                "`{}` is a dangling symlink: its target `{}` does not exist; \
                 restore the target or remove the link",
                self.path.display(),
                resolved.display()
            ))
            .into(),
        )
    }

    /// The typed model of `bytes` (and its document, if kept), reusing the
    /// last text this manager read or wrote: parsing is most of a
    /// transaction's cost on a large file.
    fn parse(&self, bytes: &[u8]) -> Result<(Arc<Config>, Option<Frozen>)> {
        let mut last = self.last_parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = last.as_ref()
            && last.text.as_bytes() == bytes
        {
            return Ok((Arc::clone(&last.config), last.doc.clone()));
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            // Says where the first bad byte is.
            return Err(model::parse_bytes(bytes, &self.path)
                .err()
                .map_or_else(|| anyhow::anyhow!("not UTF-8"), Into::into));
        };
        let config = model::parse_changed(
            text,
            last.as_ref().map(|l| (l.text.as_str(), &*l.config)),
            &self.path,
        )?;
        let config = Arc::new(config);
        *last = Some(Parsed {
            text: text.to_owned(),
            config: Arc::clone(&config),
            doc: None,
        });
        Ok((config, None))
    }

    /// One transaction: lock, load, `change`, save if the document changed,
    /// unlock. Nothing is written if `change` fails or panics.
    pub fn update<T>(&self, change: impl FnOnce(&mut Project) -> Result<T>) -> Result<T> {
        self.update_with_timeout(self.lock_timeout, change)
    }

    /// `update` with its own lock timeout: committing work the runtime has
    /// already done waits longer than starting new work, since giving up
    /// would leave the entry in flight.
    pub fn update_with_timeout<T>(
        &self,
        timeout: Duration,
        change: impl FnOnce(&mut Project) -> Result<T>,
    ) -> Result<T> {
        let (result, renamed) = {
            let _lock = self.lock(timeout)?;
            let mut project = self.read_project()?;
            hold_for_crash_tests();
            let result = change(&mut project)?;
            let renamed = project
                .edited()
                .map(|(text, doc)| self.save(&text, Some(doc)))
                .transpose()?;
            (result, renamed)
        };
        // The directory is synced after the lock is released, but before the
        // change is acknowledged. The next writer reads the renamed file
        // either way, so its own later rename carries this change too; the
        // lock is held for less time.
        if let Some(renamed) = renamed {
            renamed.sync()?;
        }
        Ok(result)
    }

    /// Writes a new project file; refuses (conflict) if one exists.
    pub fn create(&self, text: &str) -> Result<()> {
        // Before the lock: a link's lock file would sit beside its target.
        if let Ok(target) = std::fs::read_link(&self.path) {
            return Err(Error::Conflict(format!(
                "`{}` already exists, as a symlink to `{}`; lxdev writes a new project \
                 file only where there is nothing: remove the link first",
                self.path.display(),
                target.display()
            ))
            .into());
        }
        let _lock = self.lock(self.lock_timeout)?;
        if self.path.exists() || self.path.is_symlink() {
            return Err(Error::Conflict(format!(
                "`{}` already exists; edit it, or remove it first",
                self.path.display()
            ))
            .into());
        }
        self.save(text, None)?.sync()
    }

    /// One transaction that deletes the project file (the real file, when
    /// reached through a symlink; never the lock file: waiters would lock
    /// different inodes, tox-dev/filelock#574) if `keep` finds no reason
    /// to keep it. Returns `keep`'s reason, or `None` once deleted.
    pub fn delete_unless(
        &self,
        keep: impl FnOnce(&Project) -> Option<String>,
    ) -> Result<Option<String>> {
        let _lock = self.lock(self.lock_timeout.max(Duration::from_secs(60)))?;
        let project = self.load()?;
        if let Some(reason) = keep(&project) {
            return Ok(Some(reason));
        }
        self.check_writable()?;
        std::fs::remove_file(&self.real_path)
            .with_context(|| format!("failed to delete `{}`", self.real_path.display()))?;
        if let Some(dir) = self
            .real_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("failed to sync directory `{}`", dir.display()))?;
        }
        Ok(None)
    }

    /// Leftover temp files beside the project file (for `doctor`).
    pub fn leftover_temp_files(&self) -> Result<Vec<PathBuf>> {
        atomic::leftover_temp_files(&self.path)
            .with_context(|| format!("failed to list temp files beside `{}`", self.path.display()))
    }

    /// Removes leftover temp files, under the lock.
    pub fn sweep_temp_files(&self) -> Result<usize> {
        let _lock = self.lock(self.lock_timeout)?;
        atomic::sweep_leftover_temp_files(&self.path).with_context(|| {
            format!(
                "failed to remove temp files beside `{}`",
                self.path.display()
            )
        })
    }

    /// Validates and writes `text` (whose document is `doc`); the caller
    /// syncs the directory.
    fn save(&self, text: &str, doc: Option<Frozen>) -> Result<atomic::Renamed> {
        self.check_writable()?;
        // Never write what we could not load back. The check parses (what
        // changed since the text loaded under this lock) on one core while
        // the other writes and syncs the temp file; the rename waits for
        // both.
        let last = self.last_parsed.lock().unwrap_or_else(|e| e.into_inner());
        let base = last.as_ref().map(|l| (l.text.as_str(), &*l.config));
        let (checked, staged) = std::thread::scope(|scope| {
            let check = scope.spawn(|| model::parse_changed(text, base, &self.path));
            let staged = atomic::stage(&self.path, text.as_bytes()).map_err(|err| self.denied(err));
            (check.join(), staged)
        });
        drop(last);
        let config = checked
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .map_err(|err| {
                anyhow::anyhow!(
                    "refusing to save `{}`: the edit would make it invalid: {err}",
                    self.path.display()
                )
            })?;
        // An invalid text returned above, dropping the staged temp file.
        let renamed = staged?.rename()?;
        *self.last_parsed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Parsed {
            text: text.to_string(),
            config: Arc::new(config),
            doc,
        });
        Ok(renamed)
    }

    /// A save replaces the file by rename, which only needs the directory
    /// to be writable; refuse unless the invoking user could also write the
    /// file in place, so a read-only file (mode 0444, or another user's
    /// 0644) is never silently replaced. Root included: a file nobody may
    /// write is read-only on purpose.
    fn check_writable(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let meta = match std::fs::metadata(&self.real_path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("failed to stat `{}`", self.real_path.display()));
            }
        };
        let mode = meta.mode() & 0o7777;
        let writable = if mode & 0o222 == 0 {
            false
        } else if rustix::process::geteuid().is_root() {
            true
        } else {
            rustix::fs::access(&self.real_path, rustix::fs::Access::WRITE_OK).is_ok()
        };
        if writable {
            return Ok(());
        }
        Err(Error::PermissionDenied(format!(
            "refusing to change `{}`: its mode is {mode:04o} and its owner is {}, so {} may not write it; change its mode or owner if this user should edit the project",
            self.real_path.display(),
            process::user_name(meta.uid()),
            process::current_user()
        ))
        .into())
    }

    /// `err` as a refusal (exit 77) when the file system said no: the
    /// folder is not writable for this user, or the file system is
    /// read-only. Anything else is returned as it is.
    fn denied(&self, err: anyhow::Error) -> anyhow::Error {
        let why = err.chain().find_map(|cause| {
            let io = cause.downcast_ref::<std::io::Error>()?;
            match io.kind() {
                std::io::ErrorKind::ReadOnlyFilesystem => Some("its file system is read-only"),
                std::io::ErrorKind::PermissionDenied => {
                    Some("this user may not write in its folder")
                }
                _ => None,
            }
        });
        let Some(why) = why else {
            return err;
        };
        let dir = self.real_path.parent().unwrap_or(Path::new("."));
        Error::PermissionDenied(format!(
            "cannot change `{}`: {why} (`{}`); lxdev writes a lock file and a new copy of the \
             project file beside it, so that folder must be writable: {err:#}",
            self.path.display(),
            dir.display()
        ))
        .into()
    }

    fn lock(&self, timeout: Duration) -> Result<FileLock> {
        // The lock file sits beside the link's target; a target that does
        // not exist gets no lock file made beside it.
        if let Some(err) = self.dangling() {
            return Err(err);
        }
        if let Some(dir) = self.lock_path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.is_dir()
        {
            return Err(
                Error::NotFound(format!("directory `{}` does not exist", dir.display())).into(),
            );
        }
        let started = Instant::now();
        let (out, lock_path) = (self.out, self.lock_path.clone());
        let mut on_wait = |holder: &str| {
            out.waiting(format!(
                "waiting for lock on {} held by {holder}",
                lock_path.display()
            ));
        };
        let mut lock =
            FileLock::acquire_pinned(&self.lock_path, timeout, WAIT_NOTICE_AFTER, &mut on_wait)
                .map_err(|err| self.denied(err))?;
        self.out.step(format!(
            "lock acquired after {:.3} ms",
            started.elapsed().as_secs_f64() * 1000.0
        ));
        // Advice for waiters and humans; a failure to write it must not fail
        // the command.
        let _ = lock.write_holder(&LockHolder::current(process::command_line()));
        Ok(lock)
    }
}
