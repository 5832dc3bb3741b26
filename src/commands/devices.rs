//! `lxdev mount|unmount|mounts` and `lxdev proxy`: a container's devices.

use anyhow::Result;

use crate::cli::{MountArgs, MountsArgs, ProxyArgs, UnmountArgs};
use crate::ops::context::Context;
use crate::ops::mounts::{self, MountOptions, MountsOptions};
use crate::ops::proxy::{self, Mode};

pub fn mount(ctx: &Context, args: MountArgs) -> Result<()> {
    let options = MountOptions {
        device: args.device,
        writable: args.rw,
        shift: args.shift,
        allow_outside: args.allow_outside,
        allow_risky: args.allow_risky,
    };
    mounts::mount(ctx, &args.name, &args.source, &args.path, &options)
}

pub fn unmount(ctx: &Context, args: UnmountArgs) -> Result<()> {
    mounts::unmount(ctx, &args.name, &args.device)
}

pub fn mounts(ctx: &Context, args: MountsArgs) -> Result<()> {
    let options = MountsOptions {
        name: args.name,
        sync: args.sync,
    };
    mounts::mounts(ctx, &options)
}

pub fn proxy(ctx: &Context, args: ProxyArgs) -> Result<()> {
    let mode = match (args.stop, args.foreground) {
        (true, _) => Mode::Stop,
        (_, true) => Mode::Foreground,
        _ => Mode::Start,
    };
    proxy::proxy(ctx, &args.name, mode)
}
