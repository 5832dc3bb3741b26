//! `lxdev image create|list|delete|rename` (and `images`).

use anyhow::Result;

use crate::cli::{ImageCreateArgs, ImageDeleteArgs, ImageListArgs, ImageRenameArgs};
use crate::ops::context::Context;
use crate::ops::image::{self, DeleteOptions, ListOptions};

pub fn create(ctx: &Context, args: ImageCreateArgs) -> Result<()> {
    image::create(ctx, &args.container, &args.alias)
}

pub fn list(ctx: &Context, args: ImageListArgs) -> Result<()> {
    image::list(ctx, &ListOptions { all: args.all })
}

pub fn delete(ctx: &Context, args: ImageDeleteArgs) -> Result<()> {
    let options = DeleteOptions {
        alias: args.alias,
        force: args.force,
    };
    image::delete(ctx, &options)
}

pub fn rename(ctx: &Context, args: ImageRenameArgs) -> Result<()> {
    image::rename(ctx, &args.old, &args.new)
}
