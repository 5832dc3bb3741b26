//! Format-preserving edits of containers.yaml.
//!
//! People edit this file by hand, so every save must keep comments, blank
//! lines, key order, quoting and keys lxdev does not know. Edits are applied
//! to the parsed document in place (yaml-edit) instead of re-serializing a
//! struct. New string scalars (keys and values) are quoted whenever a YAML
//! 1.1 or 1.2 reader could take them for anything but a string (`no`, `on`,
//! `007`, `1e3`, `1.30`, `~`, timestamps, ...).

/// A value lxdev writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Always read back as this exact string, by any YAML reader.
    Str(&'a str),
    Int(i64),
    /// A block sequence of integers (ports).
    IntList(&'a [i64]),
}

/// A parsed containers.yaml that can be edited and printed back.
#[derive(Debug, Clone)]
pub struct Document {
    // private fields chosen by the implementation
}

impl Document {
    /// Parses `text`. Only syntax is checked here; the typed model validates.
    pub fn parse(text: &str) -> anyhow::Result<Document> {
        todo!("{}", text.len())
    }

    /// The document as text, with every untouched byte as it was.
    pub fn text(&self) -> String {
        todo!()
    }

    /// Sets `path` (a chain of mapping keys from the root) to `value`,
    /// creating missing intermediate mappings in block style. An empty flow
    /// mapping (`{}`) or a null value on the way is replaced by a block
    /// mapping. Replaces an existing value in place.
    pub fn set(&mut self, path: &[&str], value: Value<'_>) -> anyhow::Result<()> {
        todo!("{path:?} {value:?}")
    }

    /// Removes the key at `path` with its value (and the comment lines that
    /// belong to it, where the library allows). Returns whether it existed.
    pub fn remove(&mut self, path: &[&str]) -> anyhow::Result<bool> {
        todo!("{path:?}")
    }
}
