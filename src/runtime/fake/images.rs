//! The fake image store: `images/<alias>/` beside the instances, holding
//! the source image's name and the project tag; `mkdir` claims the alias.

use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{FakeRuntime, IMAGES, check_state, is_real_dir};
use crate::config::names::RuntimeName;
use crate::error::{Error, refused};
use crate::runtime::backend::Images;
use crate::runtime::rules::check_names;
use crate::runtime::types::Image;

impl FakeRuntime {
    /// Published images live beside the instances: `images/<alias>/`.
    fn image_dir(&self, alias: &str) -> PathBuf {
        self.instances.with_file_name(IMAGES).join(alias)
    }

    fn require_image(&self, alias: &str) -> Result<PathBuf> {
        let dir = self.image_dir(alias);
        if !is_real_dir(&dir) {
            return Err(refused(anyhow::anyhow!(
                "fake runtime: image `{alias}` does not exist"
            )));
        }
        check_state(&dir)?;
        Ok(dir)
    }
}

impl Images for FakeRuntime {
    /// An image is a directory named after its alias holding the source
    /// image's name and the project tag; `mkdir` claims the alias.
    fn publish(&self, instance: &str, alias: &str, project: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Alias(alias)])?;
        self.mutate("publish", instance, || {
            let source = self.require_instance(instance)?;
            self.state_dir(IMAGES)?;
            let dir = self.image_dir(alias);
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::Conflict(format!(
                        "fake runtime: image alias `{alias}` already exists"
                    ))
                    .into());
                }
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("failed to create `{}`", dir.display()));
                }
            }
            let image = std::fs::read_to_string(source.join("image")).unwrap_or_default();
            std::fs::write(dir.join("image"), image)?;
            std::fs::write(dir.join("project"), project)?;
            Ok(())
        })
    }

    fn images(&self) -> Result<Vec<Image>> {
        let dir = self.image_dir("x");
        let dir = dir.parent().expect("images/x has a parent");
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => {
                return Err(err).with_context(|| format!("failed to list `{}`", dir.display()));
            }
        };
        check_state(dir)?;
        let mut found: Vec<Image> = entries
            .filter_map(|e| e.ok())
            .map(|e| -> Result<Image> {
                let alias = e.file_name().to_string_lossy().into_owned();

                let read = |f: &str| std::fs::read_to_string(e.path().join(f)).ok();
                Ok(Image {
                    fingerprint: format!("fake-{alias}"),
                    project_tag: read("project"),
                    description: read("image").map(|i| format!("published from {i}")),
                    size: 0,
                    created_at: String::new(),
                    aliases: vec![alias],
                })
            })
            .collect::<Result<_>>()?;
        found.sort_by(|a, b| a.aliases.cmp(&b.aliases));
        Ok(found)
    }

    fn image_delete(&self, alias: &str) -> Result<()> {
        check_names(&[RuntimeName::Alias(alias)])?;
        self.mutate("image_delete", alias, || {
            let dir = self.require_image(alias)?;
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("failed to delete `{}`", dir.display()))
        })
    }

    fn image_rename(&self, old: &str, new: &str) -> Result<()> {
        check_names(&[RuntimeName::Alias(old), RuntimeName::Alias(new)])?;
        self.mutate("image_rename", old, || {
            let dir = self.require_image(old)?;
            let to = self.image_dir(new);
            if to.exists() {
                return Err(Error::Conflict(format!(
                    "fake runtime: image alias `{new}` already exists"
                ))
                .into());
            }
            std::fs::rename(&dir, &to).with_context(|| format!("failed to rename `{old}`"))
        })
    }
}
