//! `lxdev ssh-config`, the hidden `ssh-proxy` its entries run, and
//! `lxdev logs`: ways into a container and out of it.

use anyhow::Result;

use crate::cli::{LogsArgs, NameArg, SshConfigArgs};
use crate::ops::context::Context;
use crate::ops::logs::{self, LogsOptions};
use crate::ops::ssh::{self, SshConfigOptions};

pub fn ssh_config(ctx: &Context, args: SshConfigArgs) -> Result<()> {
    let options = SshConfigOptions {
        names: args.names,
        write: args.write,
    };
    ssh::ssh_config(ctx, &options)
}

pub fn ssh_proxy(ctx: &Context, args: NameArg) -> Result<u8> {
    ssh::ssh_proxy(ctx, &args.name)
}

pub fn logs(ctx: &Context, args: LogsArgs) -> Result<()> {
    let options = LogsOptions {
        name: args.name,
        lines: args.lines,
        follow: args.follow,
    };
    logs::logs(ctx, &options)
}
