//! `lxdev proxy NAME [--stop | --foreground]`: the container's ports
//! forwarded from the host's loopback, one runtime proxy device per port
//! (`lxdev-port-<host port>`), recorded in the file like any device.
//!
//! The runtime does the forwarding: it works without a container network,
//! survives restarts of the container and outlives lxdev. A host port is
//! held by at most one container of the project (checked in the reserving
//! transaction, so two `proxy` commands at once cannot both take it) and
//! must be free on this host (checked before the devices are added; not
//! on a remote, whose host lxdev cannot see).

use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use super::context::Context;
use super::devices::{self, Changed, IfMissing};
use crate::config::Project;
use crate::config::devices::{PORT_PREFIX, Spec};
use crate::config::model::Port;
use crate::error::Error;
use crate::interrupt;

/// What `proxy` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Add the devices and return: they stay until `--stop`.
    Start,
    /// Remove them.
    Stop,
    /// Add them, wait for Ctrl-C, remove them (lxc-dev-manager's `proxy`).
    Foreground,
}

pub fn proxy(ctx: &Context, name: &str, mode: Mode) -> Result<()> {
    let project = ctx.manager.load()?;
    let entry = project.container(name)?;
    let ports = ports_of(&project, name);
    if mode == Mode::Stop {
        let mut recorded: Vec<String> = entry
            .devices
            .keys()
            .filter(|d| d.starts_with(PORT_PREFIX))
            .cloned()
            .collect();
        recorded.sort();
        let changed = devices::remove(ctx, name, &recorded, IfMissing::Skip)?;
        report(ctx, "stopped", name, &ports, &changed);
        return Ok(());
    }
    // A port listed twice the same way is one forwarding; one host port
    // to two container ports is a mistake to name, not to guess at.
    let mut unique: Vec<Port> = Vec::new();
    for port in ports {
        match unique.iter().find(|u| u.host == port.host) {
            Some(same) if *same == port => {}
            Some(other) => {
                return Err(Error::Usage(format!(
                    "host port {} of `{name}` is listed twice in `ports` ({other} and {port}) in \
                     `{}`: one host port forwards to one container port",
                    port.host,
                    project.path().display()
                ))
                .into());
            }
            None => unique.push(port),
        }
    }
    let ports = unique;
    if ports.is_empty() {
        return Err(Error::Usage(format!(
            "container `{name}` has no ports to forward: add `ports: [8080]` (or `8080:80`) to \
             it, or to `defaults`, in `{}`",
            project.path().display()
        ))
        .into());
    }
    let wanted: Vec<(String, Spec, Spec)> = ports
        .iter()
        .map(|&p| (Spec::port_name(p), Spec::port(p), Spec::port(p)))
        .collect();
    let changed = devices::add(
        ctx,
        name,
        &wanted,
        |project| held_in_project(project, name, &ports),
        |runtime, instance| {
            // The runtime knows where its calls go; this host is not a
            // remote's.
            if runtime.remote().is_some() {
                return Ok(());
            }
            let have = runtime
                .status(instance)?
                .map(|i| i.devices)
                .unwrap_or_default();
            for port in &ports {
                if !have.contains_key(&Spec::port_name(*port)) {
                    free_on_host(port.host)?;
                }
            }
            Ok(())
        },
    )?;
    report(ctx, "started", name, &ports, &changed);
    if mode == Mode::Foreground {
        ctx.out.say("forwarding until Ctrl-C");
        while interrupt::received().is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        // Ctrl-C is how this mode ends, not a failure.
        interrupt::take();
        // Only what this command added: a forwarding another `proxy` made
        // stays.
        let stopped = devices::remove(ctx, name, &changed.done, IfMissing::Skip)?;
        report(ctx, "stopped", name, &ports, &stopped);
    }
    Ok(())
}

/// The ports `name` forwards: its own, else the project's defaults
/// (lxc-dev-manager's rule).
pub fn ports_of(project: &Project, name: &str) -> Vec<Port> {
    let Ok(entry) = project.container(name) else {
        return Vec::new();
    };
    if entry.ports.is_empty() {
        project.config().defaults.ports.clone()
    } else {
        entry.ports.clone()
    }
}

/// Another container of the project forwards one of `ports`' host ports.
fn held_in_project(project: &Project, name: &str, ports: &[Port]) -> Result<(), Error> {
    for (other, entry) in &project.config().containers {
        if other == name {
            continue;
        }
        for (device, recorded) in &entry.devices {
            let listens = Spec::of(recorded).listen_port();
            if let Some(port) = ports.iter().find(|p| Some(p.host) == listens) {
                return Err(Error::Conflict(format!(
                    "host port {} is already forwarded to container `{other}` (device \
                     `{device}`); free it with `lxdev proxy {other} --stop`",
                    port.host
                )));
            }
        }
    }
    Ok(())
}

/// The host port is free on 127.0.0.1, or a conflict naming its holder.
fn free_on_host(port: u16) -> Result<()> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            let holder = match crate::process::port_holder(port) {
                Some((pid, comm)) => format!("process {pid} ({comm})"),
                None => "another process".to_owned(),
            };
            Err(crate::error::refused(
                Error::Conflict(format!(
                    "host port {port} is in use by {holder}: stop it, or forward another \
                     host port{}",
                    free_near(port)
                        .map(|free| format!(
                            " (`ports: [\"{free}:CONTAINER_PORT\"]`; {free} is free now)"
                        ))
                        .unwrap_or_default()
                ))
                .into(),
            ))
        }
        Err(err) => Err(crate::error::refused(anyhow::anyhow!(
            "cannot check host port {port}: {err}"
        ))),
    }
}

/// A host port above `port` that is free right now, to suggest.
fn free_near(port: u16) -> Option<u16> {
    (port.saturating_add(1)..=port.saturating_add(100))
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
}

/// Says what each port is now; `--json` gets the mapping and the devices.
fn report(ctx: &Context, command: &str, name: &str, ports: &[Port], changed: &Changed) {
    // `ports: [8080, 8080]` is one forwarding: said once.
    let mut unique: Vec<Port> = Vec::new();
    for port in ports {
        if !unique.contains(port) {
            unique.push(*port);
        }
    }
    let ports = &unique[..];
    let mapping: Vec<serde_json::Value> = ports
        .iter()
        .map(|p| {
            json!({
                "host": p.host,
                "container": p.container,
                "device": Spec::port_name(*p),
                "listen": format!("127.0.0.1:{}", p.host),
            })
        })
        .collect();
    ctx.outcome(|o| {
        o.detail("ports", mapping);
        o.detail("devices", changed.done.clone());
        o.detail("unchanged", changed.already.clone());
    });
    let stopping = command == "stopped";
    for port in ports {
        let device = Spec::port_name(*port);
        let what = match (stopping, changed.done.contains(&device)) {
            (false, true) => "forwarding",
            (false, false) => "already forwarding",
            (true, true) => "stopped forwarding",
            (true, false) => "not forwarding",
        };
        ctx.out.say(format!(
            "{what} 127.0.0.1:{} -> {name}:{}",
            port.host, port.container
        ));
    }
}
