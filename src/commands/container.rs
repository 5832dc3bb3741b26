//! `lxdev container create|clone|reset|remove|list`, and the top-level
//! verbs on containers: `list`, `remove`, `up`, `down`.

use anyhow::Result;

use crate::cli::{
    BulkArgs, CloneArgs, ContainerRemoveArgs, CreateArgs, ProvisionArgs, RemoveArgs, ResetArgs,
    UpArgs,
};
use crate::ops::context::Context;
use crate::ops::create::{self, CloneOptions, CreateOptions};
use crate::ops::lifecycle::{self, Selection, UpOptions};
use crate::ops::list;
use crate::ops::provision::ProvisionOptions;
use crate::ops::remove::{self, RemoveOptions};
use crate::ops::snapshot::{self, SnapshotOptions};

pub fn create(ctx: &Context, args: CreateArgs) -> Result<()> {
    let options = CreateOptions {
        name: args.name,
        image: args.image,
        provision: provision(args.provision),
        target: args.target.target,
    };
    create::create(ctx, &options)
}

pub fn clone(ctx: &Context, args: CloneArgs) -> Result<()> {
    let options = CloneOptions {
        source: args.source,
        name: args.name,
        snapshot: args.snapshot,
        initial_snapshot: !args.no_initial_snapshot,
        ready_timeout: args.ready_timeout,
        target: args.target.target,
    };
    create::clone(ctx, &options)
}

pub fn reset(ctx: &Context, args: ResetArgs) -> Result<()> {
    let options = SnapshotOptions {
        container: args.name,
        snapshot: args.snapshot,
        force: args.force,
    };
    snapshot::reset(ctx, &options)
}

/// `container remove`.
pub fn remove(ctx: &Context, args: ContainerRemoveArgs) -> Result<()> {
    let options = RemoveOptions {
        names: args.names,
        force: args.force,
        yes: args.yes,
    };
    remove::remove(ctx, &options)
}

/// `remove`, lxc-dev-manager's spelling of `container remove`.
pub fn remove_any(ctx: &Context, args: RemoveArgs) -> Result<()> {
    let options = RemoveOptions {
        names: args.names,
        force: args.force,
        yes: args.yes,
    };
    remove::remove(ctx, &options)
}

/// `list` and `container list`.
pub fn list(ctx: &Context) -> Result<()> {
    list::list(ctx)
}

pub fn up(ctx: &Context, args: UpArgs) -> Result<()> {
    let options = UpOptions {
        selection: selection(args.bulk),
        provision: ProvisionOptions::for_up(!args.no_provision, !args.no_setup),
    };
    lifecycle::up(ctx, &options)
}

pub fn down(ctx: &Context, args: BulkArgs) -> Result<()> {
    lifecycle::down(ctx, &selection(args))
}

fn selection(args: BulkArgs) -> Selection {
    Selection {
        names: args.names,
        all: args.all,
        jobs: args.jobs.map(usize::from),
    }
}

fn provision(args: ProvisionArgs) -> ProvisionOptions {
    ProvisionOptions {
        provision: !args.no_provision,
        initial_snapshot: !args.no_initial_snapshot,
        ssh_keys: args.ssh_keys,
        ready_timeout: args.ready_timeout,
        mount_project: args.mount_project,
        setup: !args.no_setup,
    }
}
