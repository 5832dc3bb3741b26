//! `lxdev list`: every entry of the file beside what the runtime says of
//! its instance, as a table or (`--json`) one document.

use anyhow::Result;
use serde_json::json;

use super::context::Context;
use crate::config::Project;
use crate::config::ledger::READY;
use crate::config::model::ContainerState;
use crate::error::Error;

pub fn list(ctx: &Context) -> Result<()> {
    let project = ctx.manager.load()?;
    let statuses = runtime_statuses(ctx, &project)?;
    // By name: a linear search per entry made `list` quadratic (10,000
    // entries spent most of their time comparing names).
    let statuses: Option<std::collections::HashMap<&str, &crate::runtime::Instance>> = statuses
        .as_ref()
        .map(|all| all.iter().map(|i| (i.name.as_str(), i)).collect());
    let rows: Vec<serde_json::Value> = project
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
            let address = found.flatten().and_then(|i| i.address.clone());
            // lxc-dev-manager's rule: the entry's ports, else the defaults.
            let ports = if c.ports.is_empty() {
                &project.config().defaults.ports
            } else {
                &c.ports
            };
            json!({
                "name": name,
                "instance": instance,
                "image": c.image,
                "state": c.state.map_or(READY, ContainerState::as_str),
                "in_flight": c.state.is_some_and(|s| s.effect(c.operation.as_ref().map(|op| op.kind)).is_some()),
                "owner": c.owner,
                "snapshots": c.snapshots.len(),
                "status": status,
                "ip": address,
                "ports": ports,
                "forwarded": forwarded(c),
                "warning": c.warning,
                "cloned_from": c.cloned_from,
                "operation": c.operation.as_ref().map(|op| json!({
                    "kind": op.kind.as_str(), "pid": op.pid, "host": op.host, "started_at": op.started_at,
                })),
                "error": c.error,
            })
        })
        .collect();
    if ctx.out.json {
        ctx.out
            .json(&json!({ "project": project.name(), "containers": rows }));
        return Ok(());
    }
    if rows.is_empty() {
        ctx.out.say(format!(
            "no containers in project `{}`; create one with `lxdev container create NAME IMAGE`",
            project.name()
        ));
        return Ok(());
    }
    let table: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| match &r[k] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            // A warning from provisioning shows beside the state; `doctor`
            // and `--json` say what it is.
            let state = match r["warning"].is_string() {
                true => format!("{} (warning)", s("state")),
                false => s("state"),
            };
            [
                s("name"),
                s("image"),
                state,
                s("owner"),
                s("snapshots"),
                s("status"),
                s("ip"),
                // A port forwarded to this host (`lxdev proxy`) has a `*`.
                match r["ports"].as_array() {
                    Some(ports) if !ports.is_empty() => ports
                        .iter()
                        .map(|p| {
                            let text = p.as_str().map_or(p.to_string(), str::to_owned);
                            let host = text.split(':').next().unwrap_or_default().to_owned();
                            let on = r["forwarded"].as_array().is_some_and(|f| {
                                f.iter().any(|f| {
                                    f["host"].as_u64().map(|h| h.to_string()) == Some(host.clone())
                                })
                            });
                            if on { format!("{text}*") } else { text }
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => "-".into(),
                },
            ]
        })
        .collect();
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

/// The ports `lxdev proxy` forwards to `c`, from its recorded devices:
/// `[{host, container}]`.
fn forwarded(c: &crate::config::model::Container) -> Vec<serde_json::Value> {
    c.devices
        .values()
        .filter(|d| d.state.is_none())
        .map(crate::config::devices::Spec::of)
        .filter_map(|spec| {
            Some(json!({ "host": spec.listen_port()?, "container": spec.connect_port()? }))
        })
        .collect()
}

/// What the runtime says of the project's instances, or `None` (with a
/// warning) when it cannot be asked: listing still works without it. A
/// command line that is wrong (`--remote=-x`) is still an error (exit 2).
fn runtime_statuses(
    ctx: &Context,
    project: &Project,
) -> Result<Option<Vec<crate::runtime::Instance>>> {
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
