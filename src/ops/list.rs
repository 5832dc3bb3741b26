//! `lxdev list`: every entry of the file beside what the runtime says of
//! its instance, as a table or (`--json`) one document.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;

use super::context::Context;
use crate::config::Project;
use crate::config::devenv::DevEnv;
use crate::config::devices::Spec;
use crate::config::ledger::READY;
use crate::config::model::{Container, ContainerState, Port};
use crate::error::Error;
use crate::runtime::Instance;

/// One entry as `list` shows it: a row of the table, an element of the
/// `--json` document's `containers` (whose keys come out sorted, as in
/// every JSON document lxdev prints).
#[derive(Debug, Serialize)]
struct Row<'p> {
    name: &'p str,
    /// The runtime's name for it.
    instance: String,
    image: &'p str,
    /// Its state in the file: `ready`, `creating`, `failed`, ...
    state: &'static str,
    /// Whether an operation is running on it (not failed).
    in_flight: bool,
    owner: Option<&'p str>,
    /// How many snapshots the file records.
    snapshots: usize,
    /// The runtime's word for it, `missing` when the runtime lacks it,
    /// `unknown` when the runtime could not be asked.
    status: String,
    ip: Option<&'p str>,
    /// Its ports, else the project's default ports (lxc-dev-manager's rule).
    ports: &'p [Port],
    /// The ports `lxdev proxy` forwards to it now.
    forwarded: Vec<Forwarded>,
    /// What provisioning could not do.
    warning: Option<&'p str>,
    cloned_from: Option<&'p str>,
    operation: Option<OperationRow<'p>>,
    error: Option<&'p str>,
    /// Its hooks, limits and environment, combined with the defaults'
    /// (`config::devenv`): `setup`, `start`, `limits`, `env`.
    #[serde(flatten)]
    devenv: DevEnv,
}

/// A port forwarded from the host's loopback, from a recorded device.
#[derive(Debug, Serialize)]
struct Forwarded {
    host: u16,
    container: u16,
}

/// The operation in flight on an entry.
#[derive(Debug, Serialize)]
struct OperationRow<'p> {
    kind: &'static str,
    pid: u32,
    host: &'p str,
    started_at: &'p str,
    /// The provisioning step it is at.
    step: Option<&'static str>,
}

/// The whole `--json` document.
#[derive(Debug, Serialize)]
struct Listing<'p> {
    project: &'p str,
    containers: Vec<Row<'p>>,
}

pub fn list(ctx: &Context) -> Result<()> {
    let project = ctx.manager.load()?;
    let statuses = runtime_statuses(ctx, &project)?;
    // By name: a linear search per entry made `list` quadratic (10,000
    // entries spent most of their time comparing names).
    let statuses: Option<HashMap<&str, &Instance>> = statuses
        .as_ref()
        .map(|all| all.iter().map(|i| (i.name.as_str(), i)).collect());
    let rows: Vec<Row<'_>> = project
        .config()
        .containers
        .iter()
        .map(|(name, c)| {
            let instance = project.instance_name(name);
            let found = statuses
                .as_ref()
                .map(|all| all.get(instance.as_str()).copied());
            let status = match found {
                Some(Some(i)) => i.status.to_string(),
                Some(None) => "missing".to_string(),
                None => "unknown".to_string(),
            };
            Row {
                name,
                image: &c.image,
                state: c.state.map_or(READY, ContainerState::as_str),
                in_flight: c
                    .state
                    .is_some_and(|s| s.effect(c.operation.as_ref().map(|op| op.kind)).is_some()),
                owner: c.owner.as_deref(),
                snapshots: c.snapshots.len(),
                status,
                ip: found.flatten().and_then(|i| i.address.as_deref()),
                ports: if c.ports.is_empty() {
                    &project.config().defaults.ports
                } else {
                    &c.ports
                },
                forwarded: forwarded(c),
                warning: c.warning.as_deref(),
                cloned_from: c.cloned_from.as_deref(),
                operation: c.operation.as_ref().map(|op| OperationRow {
                    kind: op.kind.as_str(),
                    pid: op.pid,
                    host: &op.host,
                    started_at: &op.started_at,
                    step: op.step.map(|s| s.as_str()),
                }),
                error: c.error.as_deref(),
                devenv: project.config().dev_env(name),
                instance,
            }
        })
        .collect();
    if ctx.out.json {
        let listing = Listing {
            project: project.name(),
            containers: rows,
        };
        ctx.out.json(&serde_json::to_value(&listing)?);
        return Ok(());
    }
    if rows.is_empty() {
        ctx.out.say(format!(
            "no containers in project `{}`; create one with `lxdev container create NAME IMAGE`",
            project.name()
        ));
        return Ok(());
    }
    let table: Vec<[String; 8]> = rows.iter().map(Row::cells).collect();
    ctx.out.table(
        [
            "NAME",
            "IMAGE",
            "STATE",
            "OWNER",
            "SNAPSHOTS",
            "STATUS",
            "IP",
            "PORTS",
        ],
        &table,
    );
    if table.iter().any(|row| row[7].contains('*')) {
        ctx.out
            .say("* forwarded from 127.0.0.1 on this host (`lxdev proxy NAME --stop` ends it)");
    }
    Ok(())
}

impl Row<'_> {
    /// The row of the table: `-` for what is not known.
    fn cells(&self) -> [String; 8] {
        let or_dash = |value: Option<&str>| value.unwrap_or("-").to_owned();
        // A warning from provisioning shows beside the state; `doctor`
        // and `--json` say what it is.
        let state = match self.warning {
            Some(_) => format!("{} (warning)", self.state),
            None => self.state.to_owned(),
        };
        // A port forwarded to this host (`lxdev proxy`) has a `*`; one
        // listed twice (`[8080, 8080]`) is one port, shown once.
        let mut unique: Vec<&Port> = Vec::new();
        for port in self.ports {
            if !unique.contains(&port) {
                unique.push(port);
            }
        }
        let ports = unique
            .into_iter()
            .map(
                |port| match self.forwarded.iter().any(|f| f.host == port.host) {
                    true => format!("{port}*"),
                    false => port.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join(",");
        [
            self.name.to_owned(),
            self.image.to_owned(),
            state,
            or_dash(self.owner),
            self.snapshots.to_string(),
            self.status.clone(),
            or_dash(self.ip),
            if ports.is_empty() { "-".into() } else { ports },
        ]
    }
}

/// The ports `lxdev proxy` forwards to `c`, from its recorded devices.
fn forwarded(c: &Container) -> Vec<Forwarded> {
    c.devices
        .values()
        .filter(|d| d.state.is_none())
        .map(Spec::of)
        .filter_map(|spec| {
            Some(Forwarded {
                host: spec.listen_port()?,
                container: spec.connect_port()?,
            })
        })
        .collect()
}

/// What the runtime says of the project's instances, or `None` (with a
/// warning) when it cannot be asked: listing still works without it. A
/// command line that is wrong (`--remote=-x`) is still an error (exit 2).
fn runtime_statuses(ctx: &Context, project: &Project) -> Result<Option<Vec<Instance>>> {
    let found = ctx
        .runtime(project)
        .and_then(|runtime| runtime.list(project.name()));
    match found {
        Ok(found) => Ok(Some(found)),
        Err(err) if matches!(err.downcast_ref::<Error>(), Some(Error::Usage(_))) => Err(err),
        Err(err) => {
            ctx.out.warn(format!("runtime status unknown: {err:#}"));
            Ok(None)
        }
    }
}
