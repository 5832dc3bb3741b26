//! `lxdev exec` and `lxdev ssh`: their status is lxdev's.

use anyhow::Result;

use crate::cli::{ExecArgs, SshArgs};
use crate::ops::context::Context;
use crate::ops::exec::{self, ExecRequest};

pub fn exec(ctx: &Context, args: ExecArgs) -> Result<u8> {
    let request = ExecRequest {
        name: args.name,
        command: args.command,
        user: args.user,
        cwd: args.cwd,
        env: args.env,
    };
    exec::exec(ctx, &request)
}

pub fn ssh(ctx: &Context, args: SshArgs) -> Result<u8> {
    exec::ssh(ctx, &args.name, args.user.as_deref())
}
