//! The image store through the client: publishing an instance as an
//! image tagged with its project, listing, deleting and renaming aliases.

use std::ffi::OsString;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::LxdRuntime;
use crate::config::names::RuntimeName;
use crate::runtime::backend::{Images, Runtime};
use crate::runtime::rules::check_names;
use crate::runtime::types::Image;

impl Images for LxdRuntime {
    /// `publish --alias=ALIAS -- INSTANCE [REMOTE:] user.lxdev.project=PROJECT`:
    /// the property after the instance becomes an image property, which
    /// `image list` filters on. On a remote the destination `REMOTE:` is
    /// named too: without it the client publishes to its *default* remote
    /// (seen with LXD 5.0: a remote instance's image went to the default
    /// remote), not to the server the instance is on.
    fn publish(&self, instance: &str, alias: &str, project: &str) -> Result<()> {
        check_names(&[RuntimeName::Instance(instance), RuntimeName::Alias(alias)])?;
        let mut args = self.client.word("publish");
        args.extend([
            "--quiet".into(),
            format!("--alias={alias}").into(),
            "--".into(),
            self.client.at(instance).into(),
        ]);
        if self.client.placement.remote.is_some() {
            args.push(self.client.at("").into());
        }
        args.push(format!("user.lxdev.project={project}").into());
        let remedy = format!(
            "pick another alias or delete it with `{} image delete {}`",
            self.client,
            self.client.at(alias)
        );
        self.run_making(&args, &format!("image alias `{alias}`"), &remedy)
    }

    fn images(&self) -> Result<Vec<Image>> {
        let all: Vec<ApiImage> = self
            .query("/1.0/images?recursion=1")?
            .with_context(|| format!("{} has no images endpoint", self.name()))?;
        Ok(all.into_iter().map(Image::from).collect())
    }

    fn image_delete(&self, alias: &str) -> Result<()> {
        check_names(&[RuntimeName::Alias(alias)])?;
        let mut args = self.client.word("image");
        args.extend(["delete".into(), "--".into(), self.client.at(alias).into()]);
        self.run(&args)?;
        Ok(())
    }

    fn image_rename(&self, old: &str, new: &str) -> Result<()> {
        check_names(&[RuntimeName::Alias(old), RuntimeName::Alias(new)])?;
        let remedy = format!("pick another alias or delete `{new}` first");
        let mut args = self.client.word("image");
        args.extend(["alias", "rename", "--"].map(OsString::from));
        args.extend([self.client.at(old).into(), OsString::from(new)]);
        self.run_making(&args, &format!("image alias `{new}`"), &remedy)
    }
}

/// An element of `GET /1.0/images?recursion=1`; only what lxdev reads.
#[derive(Debug, Deserialize)]
struct ApiImage {
    fingerprint: String,
    #[serde(default)]
    aliases: Option<Vec<ApiAlias>>,
    #[serde(default)]
    properties: Option<std::collections::HashMap<String, String>>,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct ApiAlias {
    name: String,
}

impl From<ApiImage> for Image {
    fn from(api: ApiImage) -> Image {
        let mut properties = api.properties.unwrap_or_default();
        Image {
            fingerprint: api.fingerprint,
            aliases: api
                .aliases
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.name)
                .collect(),
            project_tag: properties.remove("user.lxdev.project"),
            description: properties.remove("description"),
            size: api.size,
            created_at: api.created_at,
        }
    }
}
