//! `lxdev snapshot create|delete|list|restore` (and lxc-dev-manager's
//! `container snapshot ...`).

use anyhow::Result;

use crate::cli::{SnapshotCreateArgs, SnapshotDeleteArgs, SnapshotListArgs, SnapshotRestoreArgs};
use crate::ops::context::Context;
use crate::ops::snapshot::{self, SnapshotOptions};

pub fn create(ctx: &Context, args: SnapshotCreateArgs) -> Result<()> {
    snapshot::create(
        ctx,
        &args.container,
        &args.snapshot,
        args.description.as_deref(),
    )
}

pub fn delete(ctx: &Context, args: SnapshotDeleteArgs) -> Result<()> {
    let options = SnapshotOptions {
        container: args.container,
        snapshot: args.snapshot,
        force: args.force,
    };
    snapshot::delete(ctx, &options)
}

pub fn restore(ctx: &Context, args: SnapshotRestoreArgs) -> Result<()> {
    let options = SnapshotOptions {
        container: args.container,
        snapshot: args.snapshot,
        force: args.force,
    };
    snapshot::restore(ctx, &options)
}

pub fn list(ctx: &Context, args: SnapshotListArgs) -> Result<()> {
    snapshot::list(ctx, &args.container)
}
