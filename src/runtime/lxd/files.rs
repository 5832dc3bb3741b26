//! Copying files between the host and an instance through the client's
//! `file push` / `file pull`.
//!
//! The client copies a directory *into* a target directory
//! (`push -r SRC inst/DIR/` makes `DIR/<name of SRC>`) and refuses
//! `--uid`/`--gid` with `-r` ("Can't supply uid/gid/mode in recursive
//! mode", LXD 5.0). So a directory is pushed into a fresh staging
//! directory beside its destination, then moved into place and handed to
//! its owner by one script in the instance; a failure removes the staging
//! directory and leaves the destination as it was. Every path given to the
//! client is absolute (`/...` on the host, `inst/...` in the instance) and
//! follows `--`, so none can be read as an option.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Result, bail};

use super::LxdRuntime;
use super::failure::Failure;
use crate::config::names::RuntimeName;
use crate::runtime::backend::Files;
use crate::runtime::rules::{check_container_path, check_names};
use crate::runtime::types::{FileKind, Push};

/// Prints `link`, `dir` or `file` for what is at `$1`, nothing when
/// nothing is.
const KIND_SCRIPT: &str = r#"
if [ -L "$1" ]; then echo link; elif [ -d "$1" ]; then echo dir; elif [ -e "$1" ]; then echo file; fi
"#;

/// Makes directory `$1` and its missing parents, giving the ones it made
/// inside the home `$5` to `$2:$3` (when `$2` is set; the rest stay
/// root's, as system directories should); with `$4 = 1`, then makes a staging
/// directory in `$1` and prints its path. Paths never hold a newline
/// (lxdev refuses those), so one per line is safe.
const PREPARE_SCRIPT: &str = r#"
dir=$1 uid=$2 gid=$3 staging=$4 home=$5
missing=
p=$dir
while [ ! -e "$p" ]; do missing="$p
$missing"; p=$(dirname "$p"); done
mkdir -p "$dir" || exit 1
if [ -n "$uid" ]; then
    printf '%s' "$missing" | while IFS= read -r d; do
        case "$d" in "$home"/*) chown "$uid:$gid" "$d" ;; esac
    done
fi
if [ "$staging" = 1 ]; then mktemp -d "$dir/.lxdev-cp.XXXXXX" || exit 1; fi
"#;

/// Moves `$1/$2` to `$3`, removes the staging directory `$1` and gives the
/// copy to `$4:$5` (when `$4` is set). On failure the staging directory
/// goes and `$3` is left as it was.
const FINISH_SCRIPT: &str = r#"
if mv -- "$1/$2" "$3"; then
    rmdir -- "$1"
    [ -z "$4" ] || chown -R "$4:$5" -- "$3"
else
    rm -rf -- "$1"
    exit 1
fi
"#;

/// Removes a staging directory a failed push left.
const CLEANUP_SCRIPT: &str = r#"rm -rf -- "$1""#;

impl LxdRuntime {
    fn file_args(&self, verb: &str) -> Vec<OsString> {
        let mut args = self.client.word("file");
        args.insert(1, verb.into());
        args.push("--quiet".into());
        args
    }
}

impl Files for LxdRuntime {
    fn file_kind(&self, instance: &str, path: &str) -> Result<Option<FileKind>> {
        check(instance, path)?;
        let out = self.exec_script(instance, KIND_SCRIPT, &[path], &[])?;
        Ok(match out.success(&format!("looking at `{path}`"))?.trim() {
            "dir" => Some(FileKind::Dir),
            "file" => Some(FileKind::File),
            "link" => Some(FileKind::Link),
            _ => None,
        })
    }

    fn push(&self, instance: &str, push: &Push<'_>) -> Result<()> {
        let (source, dest, owner) = (push.source, push.dest, push.owner);
        check(instance, dest)?;
        if !source.is_absolute() {
            bail!("internal: a pushed host path must be absolute");
        }
        let (parent, _) = split(dest)?;
        let (uid, gid, home) = owner.map_or((String::new(), String::new(), "/root"), |u| {
            (u.uid.to_string(), u.gid.to_string(), u.home.as_str())
        });
        let is_dir = source.is_dir();
        let prepared = self
            .exec_script(
                instance,
                PREPARE_SCRIPT,
                &[parent, &uid, &gid, if is_dir { "1" } else { "0" }, home],
                &[],
            )?
            .success(&format!("making `{parent}`"))?;
        let mut args = self.file_args("push");
        if !is_dir {
            if owner.is_some() {
                args.extend([format!("--uid={uid}").into(), format!("--gid={gid}").into()]);
            }
            args.extend([
                "--".into(),
                source.into(),
                self.client.at(&format!("{instance}{dest}")).into(),
            ]);
            return self.run(&args).map(drop);
        }
        let staging = prepared.trim();
        if !staging.starts_with(parent) || staging.contains('\n') {
            bail!("making a staging directory in `{parent}` printed `{staging}`");
        }
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        args.extend([
            "-r".into(),
            "--".into(),
            source.into(),
            self.client.at(&format!("{instance}{staging}/")).into(),
        ]);
        if let Err(err) = self.run(&args) {
            let _ = self.exec_script(instance, CLEANUP_SCRIPT, &[staging], &[]);
            return Err(err);
        }
        self.exec_script(
            instance,
            FINISH_SCRIPT,
            &[staging, &name, dest, &uid, &gid],
            &[],
        )?
        .success(&format!("moving the copy to `{dest}`"))
        .map(drop)
    }

    fn pull_into(&self, instance: &str, source: &str, dir: &Path) -> Result<()> {
        check(instance, source)?;
        let (_, name) = split(source)?;
        let mut args = self.file_args("pull");
        let target = match self.file_kind(instance, source)? {
            Some(FileKind::Dir) => {
                args.push("-r".into());
                dir.to_path_buf()
            }
            _ => dir.join(name),
        };
        args.extend([
            "--".into(),
            self.client.at(&format!("{instance}{source}")).into(),
            target.into(),
        ]);
        // In `dir`: Incus 6.0 writes a pulled link into its current
        // directory, not where it was asked to; `dir` is the caller's
        // staging folder, removed with whatever lands there.
        self.try_run_in(Some(dir), &args)?
            .map(drop)
            .map_err(Failure::into_error)
    }
}

/// Refuses an unsafe instance name or a path the client could misread.
fn check(instance: &str, path: &str) -> Result<()> {
    check_names(&[RuntimeName::Instance(instance)])?;
    check_container_path(path).map_err(|why| anyhow::anyhow!(why))
}

/// The parent directory and the last name of absolute `path`.
fn split(path: &str) -> Result<(&str, &str)> {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((parent, name)) if !name.is_empty() => {
            Ok((if parent.is_empty() { "/" } else { parent }, name))
        }
        _ => bail!("`{path}` names no file"),
    }
}
