//! `lxdev init`: write a new containers.yaml.

use anyhow::Result;

use super::Context;
use crate::config::names;
use crate::error::Error;
use crate::runtime;

pub fn init(ctx: &Context, project: Option<&str>, runtime_name: Option<&str>) -> Result<()> {
    let path = ctx.manager.path();
    let project = match project {
        Some(name) => name.to_string(),
        None => path
            .parent()
            .and_then(|dir| std::fs::canonicalize(dir).ok())
            .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
    };
    names::validate_project(&project)
        .map_err(|why| Error::Usage(format!("{why}; choose a project name with --project NAME")))?;
    if let Some(name) = runtime_name {
        runtime::check_name(name)?;
    }
    let text = crate::config::Project::initial_text(&project, runtime_name);
    ctx.manager.create(&text)?;
    ctx.out.say(format!(
        "created {} for project `{project}`",
        path.display()
    ));
    Ok(())
}
