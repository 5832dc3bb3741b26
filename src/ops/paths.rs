//! Paths inside a container as a command line or a project file gives
//! them, for `cp` and `sync`: checked before any runtime sees them, `~`
//! read as the home of the user the copies belong to.

use anyhow::Result;

use super::context::Context;
use crate::error::Error;
use crate::runtime::{self, ContainerUser, Runtime};

/// Refuses a container path that no runtime may be given (usage, exit 2),
/// with `~` read as a home directory.
pub fn check_path(path: &str) -> Result<()> {
    let as_typed = expand_home(path, None);
    runtime::check_container_path(&as_typed).map_err(|why| Error::Usage(why).into())
}

/// `~` and `~/...` in the container's home of `owner` (root's without one).
pub fn expand_home(path: &str, owner: Option<&ContainerUser>) -> String {
    let home = owner.map_or("/root", |u| u.home.as_str());
    match path.strip_prefix('~') {
        Some("") => home.to_string(),
        Some(rest) if rest.starts_with('/') => format!("{}{rest}", home.trim_end_matches('/')),
        _ => path.to_string(),
    }
}

/// The container's dev user `user`, whose the copies are; `None` (root)
/// when it has none (created with --no-provision), with a note.
pub fn dev_user(
    ctx: &Context,
    runtime: &dyn Runtime,
    instance: &str,
    user: &str,
) -> Result<Option<ContainerUser>> {
    if user == "root" {
        return Ok(None);
    }
    let found = runtime.container_user(instance, user)?;
    if found.is_none() {
        ctx.out.note(format!(
            "container `{instance}` has no user `{user}` (was it created with \
             --no-provision?); the copy belongs to root"
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_are_the_owners() {
        let dev = ContainerUser {
            name: "dev".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/dev".into(),
        };
        assert_eq!(expand_home("~/a", Some(&dev)), "/home/dev/a");
        assert_eq!(expand_home("~", Some(&dev)), "/home/dev");
        assert_eq!(expand_home("~/a", None), "/root/a");
        assert_eq!(expand_home("~x", None), "~x");
        assert_eq!(expand_home("/etc", Some(&dev)), "/etc");
    }

    #[test]
    fn hostile_container_paths_are_refused() {
        for path in ["relative", "/a/../b", "/a\nb", "", "~x", "/a\\b"] {
            assert!(check_path(path).is_err(), "{path:?}");
        }
        assert!(check_path("/tmp/a b").is_ok());
    }
}
