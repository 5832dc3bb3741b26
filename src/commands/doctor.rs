//! `lxdev doctor [--fix]`.

use anyhow::Result;

use crate::cli::DoctorArgs;
use crate::ops::context::Context;
use crate::ops::doctor::{self, DoctorOptions};

pub fn doctor(ctx: &Context, args: DoctorArgs) -> Result<()> {
    doctor::doctor(ctx, &DoctorOptions { fix: args.fix })
}
