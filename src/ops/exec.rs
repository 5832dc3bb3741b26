//! `lxdev exec|ssh`: a command or a login shell in a container, as its dev
//! user. They change nothing in containers.yaml and take no lock.

use anyhow::Result;

use super::context::{Context, ReadyInstance};
use crate::config::names;
use crate::error::Error;
use crate::output;
use crate::runtime::{ContainerUser, ExecOptions, Runtime};

/// What `exec` runs, where and as whom.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// The container.
    pub name: String,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// `-u USER`; else the container's configured user.
    pub user: Option<String>,
    pub cwd: Option<String>,
    /// `--env K=V`, as typed.
    pub env: Vec<String>,
}

/// Runs `command` in the container as the configured user (or `-u USER`);
/// returns its exit status, which becomes lxdev's. Without the user in the
/// container (provisioning skipped), runs as root and says so once.
pub fn exec(ctx: &Context, request: &ExecRequest) -> Result<u8> {
    let (name, command) = (request.name.as_str(), &request.command[..]);
    let ReadyInstance {
        runtime,
        instance,
        user: configured,
        ..
    } = ctx.ready_instance(name)?;
    let mut options = ExecOptions {
        user: run_as(
            ctx,
            runtime.as_ref(),
            &instance,
            request.user.as_deref(),
            &configured,
        )?,
        cwd: request.cwd.clone(),
        env: Vec::new(),
    };
    for pair in &request.env {
        let Some((key, value)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::Usage(format!("--env `{pair}` is not KEY=VALUE")).into());
        };
        options.env.push((key.to_string(), value.to_string()));
    }
    run(runtime.as_ref(), &instance, command, &options)
}

/// Opens a login shell in the container as the configured user (or
/// `-u USER`; `-u root` gives root's). As the dev user, through the
/// container's sshd when it has one that accepts one of this user's keys
/// (`ssh.rs`: a real SSH session, with the file's `env`); else through
/// `exec`.
pub fn ssh(ctx: &Context, name: &str, user: Option<&str>) -> Result<u8> {
    let ready = ctx.ready_instance(name)?;
    if user.is_none_or(|u| u == ready.user)
        && let Some(status) = super::ssh::ssh_over_sshd(ctx, &ready)?
    {
        return Ok(status);
    }
    let ReadyInstance {
        runtime,
        instance,
        user: configured,
        ..
    } = ready;
    let options = ExecOptions {
        user: run_as(ctx, runtime.as_ref(), &instance, user, &configured)?,
        ..ExecOptions::default()
    };
    run(runtime.as_ref(), &instance, &[], &options)
}

/// Runs `command` (a login shell when empty) in `instance`, after the
/// runtime's note on where it runs, if it has one; its exit status.
fn run(
    runtime: &dyn Runtime,
    instance: &str,
    command: &[String],
    options: &ExecOptions,
) -> Result<u8> {
    if let Some(note) = runtime.exec_note(instance) {
        output::notice(&note);
    }
    let status = runtime.exec(instance, command, options)?;
    Ok(u8::try_from(status).unwrap_or(1))
}

/// The user to run as: `None` for root. An explicit user must exist; the
/// configured one falls back to root, with a note, when it does not.
fn run_as(
    ctx: &Context,
    runtime: &dyn Runtime,
    instance: &str,
    asked: Option<&str>,
    configured: &str,
) -> Result<Option<ContainerUser>> {
    let name = asked.unwrap_or(configured);
    if name == ROOT {
        return Ok(None);
    }
    names::validate_user(name).map_err(Error::Usage)?;
    match runtime.container_user(instance, name)? {
        Some(user) => Ok(Some(user)),
        None if asked.is_some() => {
            Err(Error::NotFound(format!("container `{instance}` has no user `{name}`")).into())
        }
        None => {
            ctx.out.note(format!(
                "container `{instance}` has no user `{name}` (was it created with \
                 --no-provision?); running as root"
            ));
            Ok(None)
        }
    }
}

const ROOT: &str = "root";
