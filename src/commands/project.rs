//! `lxdev init` (lxc-dev-manager's `project create`) and `project delete`.

use anyhow::Result;

use crate::cli::{InitArgs, ProjectDeleteArgs};
use crate::ops::context::Context;
use crate::ops::init::{self, InitOptions};
use crate::ops::remove::{self, DeleteProjectOptions};

pub fn init(ctx: &Context, args: InitArgs) -> Result<()> {
    let options = InitOptions {
        project: args.project,
        ports: args.ports,
        storage: args.storage,
    };
    init::init(ctx, &options)
}

pub fn delete(ctx: &Context, args: ProjectDeleteArgs) -> Result<()> {
    let options = DeleteProjectOptions {
        force: args.force,
        yes: args.yes,
    };
    remove::delete_project(ctx, &options)
}
