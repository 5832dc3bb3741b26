//! `lxdev init`: write a new containers.yaml, with the runtime it will use.
//!
//! A new project gets a name its containers can use (`<project>-<name>` is
//! an LXD instance name: letters, digits and `-`, starting with a letter),
//! and the runtime is chosen here, once, and recorded: later commands never
//! switch it silently.

use anyhow::Result;

use super::context::Context;
use crate::config::model::Port;
use crate::config::names;
use crate::error::Error;
use crate::runtime;

/// What `init` writes.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The project name; default: from the directory's name.
    pub project: Option<String>,
    /// `defaults.ports`, as typed (`5173,8000` or `8080:80`).
    pub ports: Option<String>,
    /// `storage:`, the pool new containers go on (it must exist).
    pub storage: Option<String>,
}

pub fn init(ctx: &Context, args: &InitOptions) -> Result<()> {
    let path = ctx.manager.path();
    let ports = match &args.ports {
        Some(list) => parse_ports(list)?,
        None => Vec::new(),
    };
    if let Some(pool) = &args.storage {
        names::validate_placement("--storage", pool).map_err(Error::Usage)?;
    }
    let (project, derived_from) = match args.project.as_deref() {
        Some(name) => {
            check_usable(name)
                .map_err(|why| Error::Usage(format!("{why}; choose another --project")))?;
            (name.to_string(), None)
        }
        None => {
            let dir_name = path
                .parent()
                .and_then(|dir| std::fs::canonicalize(dir).ok())
                .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_default();
            let name = name_from_directory(&dir_name);
            check_usable(&name).map_err(|why| {
                Error::Usage(format!("{why}; choose a project name with --project NAME"))
            })?;
            let derived = (name != dir_name).then_some(dir_name);
            (name, derived)
        }
    };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let asked = ctx.runtime_asked();
    if let Some((name, _)) = &asked {
        runtime::check_name(name)?;
    }
    // `--remote` is recorded as `remote:`, so later commands go there too.
    let remote = ctx.remote_asked()?;
    // Connected even when named: the client's current project is read now
    // (on the remote: the project its client configuration names) and
    // recorded, so a later `lxc project switch` cannot move lxdev.
    let chosen = runtime::select(
        asked.as_ref().map(|(name, _)| name.as_str()),
        runtime::Placement {
            remote: remote.clone(),
            ..runtime::Placement::default()
        },
        ctx.limits(),
        &project,
        dir,
    )?;
    let runtime = chosen.name().to_string();
    let runtime_project = chosen.current_project()?;
    // Checked before the file is written: an unknown pool changes nothing.
    let pool = match &args.storage {
        Some(pool) => Some(super::storage::existing(
            chosen.as_ref(),
            pool,
            "--storage",
        )?),
        None => chosen.storage_pool(None)?,
    };
    let mut text = crate::config::Project::initial_text(&project, Some(&runtime), &ports);
    let line = format!("runtime: {}\n", crate::config::document::quote(&runtime));
    let mut placed = line.clone();
    for (key, value) in [
        ("remote", &remote),
        ("runtime_project", &runtime_project),
        ("storage", &args.storage),
    ] {
        if let Some(value) = value {
            let value = crate::config::document::quote(value);
            placed.push_str(&format!("{key}: {value}\n"));
        }
    }
    text = text.replacen(&line, &placed, 1);
    ctx.manager.create(&text)?;
    ctx.outcome(|o| {
        o.name = Some(project.clone());
        o.detail("runtime", runtime.as_str());
        o.detail("path", path.display().to_string());
        o.detail("storage", serde_json::json!(pool));
    });
    let from = derived_from
        .map(|dir| format!(" (from the directory name `{dir}`)"))
        .unwrap_or_default();
    let place: Vec<String> = [("remote", &remote), ("project", &runtime_project)]
        .into_iter()
        .filter_map(|(what, value)| Some(format!("{what} `{}`", value.as_ref()?)))
        .collect();
    ctx.out.say(format!(
        "created {} for project `{project}`{from}, on the {runtime} runtime{}",
        path.display(),
        if place.is_empty() {
            String::new()
        } else {
            format!(" ({})", place.join(", "))
        }
    ));
    match &pool {
        Some(found) => {
            let whose = if args.storage.is_some() {
                ""
            } else {
                " (the default profile's)"
            };
            ctx.out.say(format!(
                "new containers go on storage pool `{}`{whose}, driver {}",
                found.name, found.driver
            ));
            if let Some(slow) = super::storage::slow_path(chosen.as_ref(), found) {
                ctx.out.note(slow);
            }
        }
        None => ctx.out.say(
            "new containers go on the default profile's storage pool (the runtime names none)",
        ),
    }
    Ok(())
}

/// `--ports 5173,8000` (lxc-dev-manager's spelling, which allows spaces
/// and empty items: `"5173, 8000,"`), each `8080` or `8080:80`.
fn parse_ports(list: &str) -> Result<Vec<Port>> {
    let mut ports: Vec<Port> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let port = Port::parse(item).map_err(|why| Error::Usage(format!("--ports: {why}")))?;
        if ports.iter().any(|p| p.host == port.host) {
            return Err(
                Error::Usage(format!("--ports: host port {} is given twice", port.host)).into(),
            );
        }
        ports.push(port);
    }
    Ok(ports)
}

/// A project name its containers can use: lxc-dev-manager's rule, plus the
/// instance-name rules the project's part of `<project>-<name>` must obey.
fn check_usable(project: &str) -> Result<(), String> {
    names::validate_project(project)?;
    names::validate_container(project, "a").map_err(|_| {
        format!(
            "project name `{}` cannot be used for containers: instance names \
             (`{}-NAME`) allow only letters, digits and `-`, and must start with a letter; \
             for example `{}`",
            project.escape_debug(),
            project.escape_debug(),
            name_from_directory(project)
        )
    })
}

/// The nearest usable project name to a directory name: characters other
/// than ASCII letters and digits become `-` (`my_app` -> `my-app`), runs of
/// `-` collapse, and a name that does not start with a letter gets a `p`
/// in front (`1abc` -> `p1abc`).
fn name_from_directory(dir: &str) -> String {
    let mut name = String::new();
    for c in dir.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_end_matches('-').to_string();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert(0, 'p');
    }
    // Leave room for `-NAME` in a 63-character instance name.
    name.truncate(40);
    name.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_become_usable_project_names() {
        for (dir, want) in [
            ("webapp", "webapp"),
            ("my_app", "my-app"),
            ("1abc", "p1abc"),
            ("My App!", "My-App"),
            ("__x__", "x"),
            ("", "p"),
            ("-", "p"),
            ("été", "t"),
        ] {
            assert_eq!(name_from_directory(dir), want, "{dir:?}");
            assert_eq!(check_usable(want), Ok(()), "{want}");
        }
    }

    #[test]
    fn ports_are_read_as_lxc_dev_manager_wrote_them() {
        let ports = parse_ports("5173, 8000,,8080:80").unwrap();
        let text: Vec<String> = ports.iter().map(Port::to_string).collect();
        assert_eq!(text, ["5173", "8000", "8080:80"]);
        assert!(parse_ports("").unwrap().is_empty());
        for bad in ["0", "70000", "x", "80,80", "80,80:81"] {
            assert!(parse_ports(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_typed_name_containers_cannot_use_is_refused_with_a_suggestion() {
        let why = check_usable("my_app").unwrap_err();
        assert!(why.contains("`my-app`"), "{why}");
        assert!(check_usable("1abc").unwrap_err().contains("`p1abc`"));
    }
}
