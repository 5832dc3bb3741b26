//! The `fake` runtime: containers as directories, for tests and for trying
//! lxdev anywhere.

use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct FakeRuntime {
    #[allow(dead_code)]
    root: PathBuf,
}

impl FakeRuntime {
    pub fn new(project_dir: &Path) -> FakeRuntime {
        FakeRuntime {
            root: project_dir.join(".lxdev").join("fake"),
        }
    }
}

impl super::Runtime for FakeRuntime {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn create(&self, _: &str, _: &str, _: &super::Tags<'_>) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn clone_instance(
        &self,
        _: &str,
        _: Option<&str>,
        _: &str,
        _: &super::Tags<'_>,
    ) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn remove(&self, _: &str) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn snapshot_create(&self, _: &str, _: &str) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn snapshot_delete(&self, _: &str, _: &str) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn snapshot_restore(&self, _: &str, _: &str) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn list(&self, _: &str) -> anyhow::Result<Vec<super::Instance>> {
        unimplemented!()
    }
    fn status(&self, _: &str) -> anyhow::Result<Option<super::Instance>> {
        unimplemented!()
    }
    fn start(&self, _: &str) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn stop(&self, _: &str) -> anyhow::Result<()> {
        unimplemented!()
    }
    fn exec(&self, _: &str, _: &[String]) -> anyhow::Result<i32> {
        unimplemented!()
    }
}
