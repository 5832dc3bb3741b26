//! The ledger's vocabulary: the words containers.yaml uses for work in
//! flight, each spelled in exactly one place.
//!
//! A container or snapshot with no `state` is ready. While an operation
//! runs, its record carries a `state` (what is happening to it) and an
//! `operation` (who does it, see `model::Operation`, whose `kind` is an
//! [`OperationKind`]). The enums are read by serde and written through
//! [`as_str`](ContainerState::as_str), so adding a word is one line here and
//! the compiler then finds every `match` that must handle it.

/// Declares a closed set of YAML words: the enum, its words in order
/// (`WORDS`), `as_str`, `Display`, and a `Deserialize` that reports an
/// unknown word with the list of known ones.
macro_rules! yaml_words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every word, in the order declared.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The word containers.yaml (and `--json`) uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use serde::de::{DeserializeSeed, EnumAccess, VariantAccess, Visitor};
                // Read as an enum of unit variants, as serde's derive does,
                // so that the parser reports an unknown word at the word
                // itself (line and column), not at its key.
                struct Word;
                impl Visitor<'_> for Word {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "one of {}", $name::WORDS.join(", "))
                    }
                    fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<$name, E> {
                        $name::ALL
                            .iter()
                            .copied()
                            .find(|value| value.as_str() == word)
                            .ok_or_else(|| E::unknown_variant(word, $name::WORDS))
                    }
                }
                impl<'de> DeserializeSeed<'de> for Word {
                    type Value = $name;
                    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<$name, D::Error> {
                        d.deserialize_identifier(self)
                    }
                }
                struct Unit;
                impl<'de> Visitor<'de> for Unit {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "one of {}", $name::WORDS.join(", "))
                    }
                    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<$name, A::Error> {
                        let (value, variant) = data.variant_seed(Word)?;
                        variant.unit_variant()?;
                        Ok(value)
                    }
                }
                deserializer.deserialize_enum(stringify!($name), $name::WORDS, Unit)
            }
        }
    };
}

yaml_words! {
    /// What is happening to a container; absent means ready.
    pub enum ContainerState {
        Creating = "creating",
        Removing = "removing",
        /// Being stopped, published as an image and started again.
        Publishing = "publishing",
        /// An operation failed and the runtime may be left half done;
        /// `error` says why.
        Failed = "failed",
    }
}

yaml_words! {
    /// What is happening to a snapshot; absent means ready.
    pub enum SnapshotState {
        Creating = "creating",
        Deleting = "deleting",
        Restoring = "restoring",
        Failed = "failed",
    }
}

yaml_words! {
    /// What is happening to a device (a mount, a forwarded port); absent
    /// means ready.
    pub enum DeviceState {
        Adding = "adding",
        Removing = "removing",
        Failed = "failed",
    }
}

yaml_words! {
    /// Which command recorded an operation (`operation.kind`).
    pub enum OperationKind {
        Create = "create",
        Clone = "clone",
        Remove = "remove",
        SnapshotCreate = "snapshot_create",
        SnapshotDelete = "snapshot_delete",
        SnapshotRestore = "snapshot_restore",
        /// `doctor --fix` recording a runtime instance the file lacked.
        Adopt = "adopt",
        /// `up` making the runtime instance of an entry that was already
        /// recorded (a checked-in file on a new machine).
        Instantiate = "instantiate",
        /// `project delete` removing every container of the project.
        ProjectDelete = "project_delete",
        /// `image create` stopping, publishing and restarting a container.
        Publish = "publish",
        DeviceAdd = "device_add",
        DeviceRemove = "device_remove",
        /// `mounts --sync` adding a recorded device the runtime lacks.
        DeviceSync = "device_sync",
    }
}

impl OperationKind {
    /// How messages say it: "failed to {verb} {target}".
    pub fn verb(self) -> &'static str {
        match self {
            OperationKind::Create => "create",
            OperationKind::Clone => "clone into",
            OperationKind::Remove => "remove",
            OperationKind::SnapshotCreate => "take",
            OperationKind::SnapshotDelete => "delete",
            OperationKind::SnapshotRestore => "restore",
            OperationKind::Adopt => "adopt",
            OperationKind::Instantiate => "create",
            OperationKind::ProjectDelete => "remove",
            OperationKind::Publish => "publish an image of",
            OperationKind::DeviceAdd => "add",
            OperationKind::DeviceRemove => "remove",
            OperationKind::DeviceSync => "add",
        }
    }
}

yaml_words! {
    /// The step a create or clone is at after the runtime made the instance
    /// (`operation.step`), so a kill at any instant shows where it stopped.
    /// In order; the nesting config is applied when the instance is made.
    pub enum Step {
        /// Waiting until the container has booted (cloud-init, systemd).
        Ready = "ready",
        /// The dev user, passwordless sudo and SSH keys.
        User = "user",
        /// sshd enabled and started (installed if missing).
        Ssh = "ssh",
        /// The devices the file records (mounts, forwarded ports).
        Devices = "devices",
        /// The file's `setup` hook, run as the dev user.
        Setup = "setup",
        /// The `initial-state` snapshot.
        InitialSnapshot = "initial_snapshot",
        /// Not a provisioning step: the container ran when the operation
        /// began, and the operation (an image publish, a mount's new ID
        /// map) may stop it and start it again. Killed in between, it
        /// leaves it stopped; `doctor --fix` starts it again.
        Restart = "restart",
    }
}

/// What an operation does to the record it is written on, which decides
/// how it is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Brings the target into being (create, clone, snapshot create).
    Makes,
    /// Brings into being the instance of an entry recorded before (`up` of
    /// a checked-in entry): whatever happens, the entry itself stays.
    MakesRecorded,
    /// Leaves the target as it was when it works (`image create` stops,
    /// publishes and restarts the container): only a failure half way
    /// marks it.
    Keeps,
    /// Takes the target away (remove, snapshot delete).
    Deletes,
    /// Rewrites the container from the target snapshot (restore).
    Rewrites,
}

impl ContainerState {
    /// How messages say it: "container `web` is being created".
    pub fn doing(self) -> &'static str {
        match self {
            ContainerState::Creating => "being created",
            ContainerState::Removing => "being removed",
            ContainerState::Publishing => "being published as an image",
            ContainerState::Failed => "failed",
        }
    }

    /// The effect of the operation `kind` in flight, or `None` for
    /// `failed`. A `creating` recorded by `instantiate` is on an entry
    /// that existed before, which must survive whatever happens.
    pub fn effect(self, kind: Option<OperationKind>) -> Option<Effect> {
        match self {
            ContainerState::Creating if kind == Some(OperationKind::Instantiate) => {
                Some(Effect::MakesRecorded)
            }
            ContainerState::Creating => Some(Effect::Makes),
            ContainerState::Removing => Some(Effect::Deletes),
            ContainerState::Publishing => Some(Effect::Keeps),
            ContainerState::Failed => None,
        }
    }
}

impl SnapshotState {
    /// How messages say it: "snapshot `web/s1` is being restored".
    pub fn doing(self) -> &'static str {
        match self {
            SnapshotState::Creating => "being created",
            SnapshotState::Deleting => "being deleted",
            SnapshotState::Restoring => "being restored",
            SnapshotState::Failed => "failed",
        }
    }

    /// The effect of the operation in flight, or `None` for `failed`.
    pub fn effect(self) -> Option<Effect> {
        match self {
            SnapshotState::Creating => Some(Effect::Makes),
            SnapshotState::Deleting => Some(Effect::Deletes),
            SnapshotState::Restoring => Some(Effect::Rewrites),
            SnapshotState::Failed => None,
        }
    }
}

/// The word `list` and `--json` show for a record with no state.
impl DeviceState {
    pub fn doing(self) -> &'static str {
        match self {
            DeviceState::Adding => "being added",
            DeviceState::Removing => "being removed",
            DeviceState::Failed => "failed",
        }
    }

    /// A device `mounts --sync` adds again was recorded before: it stays
    /// in the file whatever happens.
    pub fn effect(self, kind: Option<OperationKind>) -> Option<Effect> {
        match self {
            DeviceState::Adding if kind == Some(OperationKind::DeviceSync) => {
                Some(Effect::MakesRecorded)
            }
            DeviceState::Adding => Some(Effect::Makes),
            DeviceState::Removing => Some(Effect::Deletes),
            DeviceState::Failed => None,
        }
    }
}

pub const READY: &str = "ready";

/// What an operation is recorded on: a container, or one of its snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Container(String),
    /// Container, snapshot.
    Snapshot(String, String),
    /// A device of a container (a mount or a forwarded port).
    Device(String, String),
}

impl Target {
    /// The container the target is, or belongs to.
    pub fn container(&self) -> &str {
        match self {
            Target::Container(c) | Target::Snapshot(c, _) | Target::Device(c, _) => c,
        }
    }

    /// Its place in containers.yaml, as a chain of keys.
    pub fn path(&self) -> Vec<&str> {
        match self {
            Target::Container(c) => vec!["containers", c],
            Target::Snapshot(c, s) => vec!["containers", c, "snapshots", s],
            Target::Device(c, d) => vec!["containers", c, "devices", d],
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Container(c) => write!(f, "container `{c}`"),
            Target::Snapshot(c, s) => write!(f, "snapshot `{c}/{s}`"),
            Target::Device(c, d) => write!(f, "device `{d}` of `{c}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_as_their_values() {
        for state in ContainerState::ALL {
            let read: ContainerState = serde_json::from_value(state.as_str().into()).unwrap();
            assert_eq!(read, *state);
        }
        for kind in OperationKind::ALL {
            let read: OperationKind = serde_json::from_value(kind.as_str().into()).unwrap();
            assert_eq!(read, *kind);
        }
    }

    #[test]
    fn an_unknown_word_names_the_known_ones() {
        let err = serde_json::from_value::<SnapshotState>("removing".into()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("`removing`") && message.contains("`deleting`"),
            "{message}"
        );
    }
}
