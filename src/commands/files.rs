//! `lxdev cp` (alias `mv`) and `lxdev sync [add|rm|list]`: host files into
//! containers and back.

use anyhow::Result;

use crate::cli::{CpArgs, SyncAddArgs, SyncListArgs, SyncRmArgs};
use crate::error::Error;
use crate::ops::context::Context;
use crate::ops::exposure::Allowed;
use crate::ops::files::{self, CopyOptions};
use crate::ops::sync;

pub fn cp(ctx: &Context, args: CpArgs) -> Result<()> {
    let options = CopyOptions {
        allow_risky: args.allow_risky,
    };
    files::cp(ctx, &args.source, &args.dest, &options)
}

/// `sync NAME`: clap requires the name unless a subcommand is given.
pub fn sync(ctx: &Context, name: Option<String>) -> Result<()> {
    let Some(name) = name else {
        return Err(Error::Usage("name a container: `lxdev sync NAME`".into()).into());
    };
    sync::sync(ctx, &name)
}

pub fn sync_add(ctx: &Context, args: SyncAddArgs) -> Result<()> {
    let allowed = Allowed {
        outside: args.allow_outside,
        risky: args.allow_risky,
    };
    sync::add(ctx, &args.name, &args.source, &args.dest, allowed)
}

pub fn sync_rm(ctx: &Context, args: SyncRmArgs) -> Result<()> {
    sync::remove(ctx, &args.name, &args.source)
}

pub fn sync_list(ctx: &Context, args: SyncListArgs) -> Result<()> {
    sync::list(ctx, &args.name)
}
