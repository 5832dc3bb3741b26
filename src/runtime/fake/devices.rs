//! Devices of a fake instance: one file each under `devices/`, claimed
//! with link(2) as LXD refuses a taken name, and its `raw.idmap`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::FakeRuntime;
use crate::config::devices::Spec as DeviceSpec;
use crate::config::names::RuntimeName;
use crate::error::{Error, refused};
use crate::runtime::backend::Devices;
use crate::runtime::rules::{check_names, merged_idmap};

impl FakeRuntime {
    fn device_path(&self, instance: &str, name: &str) -> PathBuf {
        self.dir(instance).join("devices").join(name)
    }
}

impl Devices for FakeRuntime {
    fn device_add(&self, instance: &str, name: &str, spec: &DeviceSpec) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Device(name)])?;
        let dir = self.require_instance(instance)?.join("devices");
        self.mutate("device_add", &format!("{instance}/{name}"), || {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("failed to create `{}`", dir.display()))?;
            let text = serde_json::to_string(&(&spec.kind, &spec.config))?;
            let temp = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&temp, text)
                .with_context(|| format!("failed to write `{}`", temp.display()))?;
            // link(2) claims the name atomically, as LXD refuses a taken one.
            let taken = std::fs::hard_link(&temp, self.device_path(instance, name));
            let _ = std::fs::remove_file(&temp);
            match taken {
                Ok(()) => Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(Error::Conflict(format!(
                        "fake runtime: device `{name}` already exists on `{instance}`"
                    ))
                    .into())
                }
                Err(err) => Err(err).context("failed to add the device"),
            }
        })
    }

    fn device_remove(&self, instance: &str, name: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Device(name)])?;
        self.require_instance(instance)?;
        let path = self.device_path(instance, name);
        if !path.exists() {
            return Err(refused(anyhow::anyhow!(
                "fake runtime: device `{name}` does not exist on `{instance}`"
            )));
        }
        self.mutate("device_remove", &format!("{instance}/{name}"), || {
            std::fs::remove_file(&path).context("failed to remove the device")
        })
    }

    fn map_ids(&self, instance: &str, host: (u32, u32), inside: (u32, u32)) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance)])?;
        let dir = self.require_instance(instance)?;
        let current = std::fs::read_to_string(dir.join("raw.idmap")).ok();
        let merged = merged_idmap(current.as_deref(), host, inside)
            .map_err(|m| refused(Error::Conflict(format!("`{instance}`: {m}")).into()))?;
        let Some(merged) = merged else {
            return Ok(());
        };
        self.mutate("map_ids", instance, || {
            std::fs::write(dir.join("raw.idmap"), merged).context("failed to write raw.idmap")
        })
    }
}
