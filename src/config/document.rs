//! Format-preserving edits of containers.yaml, one entry at a time where
//! the file allows it.
//!
//! People edit this file by hand, so every save must keep comments, blank
//! lines, key order, quoting and keys lxdev does not know; `tree.rs` does
//! that for a whole file through a yaml-edit tree. On a large file most of
//! a transaction's time went to building that tree and printing it back,
//! for an edit of one entry. So a file whose line structure the scan of
//! `layout.rs` can trust (no anchors, simple lines outside the entries,
//! entries at one column) is kept as text: the lines before the entries,
//! each entry's lines, the lines after. An edit of entry E builds a tree of
//! a small file made of the lines before the entries, E's neighbours, E
//! and the lines after, edits it exactly as it would the whole file, and
//! puts the result back in place of those entries. That gives the bytes
//! the whole-file edit gives, because yaml-edit's edit of an entry depends
//! only on the entry and its neighbours (the comments between them);
//! `edits_agree_with_the_whole_file_tree` checks it on generated files and
//! edit sequences.
//!
//! Invariants: `text()` of an unedited document is the input byte for
//! byte; an edit touches only the entry it names (see `tree.rs`). Anything
//! the windowed edit cannot place with certainty (an edit above the
//! entries, a window whose result the scan does not trust, an empty
//! `containers`) is done on a tree of the whole file, from then on.

use super::layout::Layout;
use super::tree::{Tree, TreeFrozen, detect_indent};

pub use super::text::{Value, quote};

/// A parsed containers.yaml that can be edited and printed back.
#[derive(Debug)]
pub struct Document(Repr);

#[derive(Debug)]
enum Repr {
    Whole(Tree),
    Entries(Entries),
}

/// A [`Document`] kept between transactions: `Send`, unlike a yaml-edit
/// tree.
#[derive(Debug, Clone)]
pub struct Frozen(FrozenRepr);

#[derive(Debug, Clone)]
enum FrozenRepr {
    Whole(TreeFrozen),
    Entries(Entries),
}

impl Frozen {
    /// An independent document with this content, without parsing.
    pub fn thaw(&self) -> Document {
        Document(match &self.0 {
            FrozenRepr::Whole(tree) => Repr::Whole(tree.thaw()),
            FrozenRepr::Entries(entries) => Repr::Entries(entries.clone()),
        })
    }
}

impl Document {
    /// Parses `text`. Only syntax is checked here; the typed model
    /// validates. A file kept as entries is checked when first edited.
    pub fn parse(text: &str) -> anyhow::Result<Document> {
        if let Some(entries) = Entries::of(text) {
            return Ok(Document(Repr::Entries(entries)));
        }
        Ok(Document(Repr::Whole(Tree::parse(text)?)))
    }

    /// This document's content, to be thawed later (see [`Frozen`]).
    pub fn freeze(&self) -> Frozen {
        Frozen(match &self.0 {
            Repr::Whole(tree) => FrozenRepr::Whole(tree.freeze()),
            Repr::Entries(entries) => FrozenRepr::Entries(entries.clone()),
        })
    }

    /// The document as text, with every untouched byte as it was.
    pub fn text(&self) -> String {
        match &self.0 {
            Repr::Whole(tree) => tree.text(),
            Repr::Entries(entries) => entries.text(),
        }
    }

    /// Sets `path` (a chain of mapping keys from the root) to `value`; see
    /// [`Tree::set`].
    pub fn set(&mut self, path: &[&str], value: Value<'_>) -> anyhow::Result<()> {
        if let Repr::Entries(entries) = &mut self.0
            && let Some(done) = entries.windowed(path, |tree| tree.set(path, value))?
        {
            return Ok(done);
        }
        self.whole()?.set(path, value)
    }

    /// Removes the key at `path` with its value; see [`Tree::remove`].
    pub fn remove(&mut self, path: &[&str]) -> anyhow::Result<bool> {
        if let Repr::Entries(entries) = &mut self.0
            && let Some(done) = entries.windowed(path, |tree| tree.remove(path))?
        {
            return Ok(done);
        }
        self.whole()?.remove(path)
    }

    /// Refuses an edit at `path` that would also change another part of
    /// the file through YAML anchors; see [`Tree::check_unshared`]. A file
    /// kept as entries has no anchor (the scan refuses an `&`).
    pub fn check_unshared(&self, path: &[&str]) -> anyhow::Result<()> {
        match &self.0 {
            Repr::Whole(tree) => tree.check_unshared(path),
            Repr::Entries(_) => Ok(()),
        }
    }

    /// Whether `path` holds a mapping with no entries; see
    /// [`Tree::is_empty_mapping`].
    pub fn is_empty_mapping(&mut self, path: &[&str]) -> anyhow::Result<bool> {
        if let Repr::Entries(entries) = &mut self.0
            && let Some(empty) = entries.peek(path, |tree| tree.is_empty_mapping(path))?
        {
            return Ok(empty);
        }
        self.whole()?.is_empty_mapping(path)
    }

    /// The tree of the whole file, made from the entries on first use.
    fn whole(&mut self) -> anyhow::Result<&mut Tree> {
        if let Repr::Entries(entries) = &self.0 {
            self.0 = Repr::Whole(Tree::parse(&entries.text())?);
        }
        match &mut self.0 {
            Repr::Whole(tree) => Ok(tree),
            Repr::Entries(_) => unreachable!("made whole above"),
        }
    }
}

/// A file kept as text: the lines up to and including `containers:`, the
/// comment lines before the first entry, each entry's lines (with the
/// comment and blank lines after it), and the lines after the entries.
#[derive(Debug, Clone)]
struct Entries {
    head: String,
    preamble: String,
    chunks: Vec<Chunk>,
    tail: String,
    /// The whole file's indentation unit (a window alone might say less).
    indent: usize,
}

/// Shared, so that a document kept between transactions (frozen, then
/// thawed) is copied by reference counts, not by its text.
#[derive(Debug, Clone)]
struct Chunk {
    name: std::sync::Arc<str>,
    text: std::sync::Arc<str>,
}

impl Entries {
    /// `text` kept as entries, when the scan trusts its line structure
    /// and it has at least one entry.
    fn of(text: &str) -> Option<Entries> {
        let layout = Layout::of(text)?;
        if layout.chunks.is_empty() {
            return None;
        }
        Some(Entries {
            head: layout.head.to_owned(),
            preamble: layout.preamble.to_owned(),
            chunks: layout
                .chunks
                .iter()
                .map(|c| Chunk {
                    name: c.name.into(),
                    text: c.text.into(),
                })
                .collect(),
            tail: layout.tail.to_owned(),
            indent: detect_indent(text),
        })
    }

    fn text(&self) -> String {
        let len = self.head.len()
            + self.preamble.len()
            + self.chunks.iter().map(|c| c.text.len()).sum::<usize>()
            + self.tail.len();
        let mut text = String::with_capacity(len);
        text.push_str(&self.head);
        text.push_str(&self.preamble);
        for chunk in &self.chunks {
            text.push_str(&chunk.text);
        }
        text.push_str(&self.tail);
        text
    }

    /// The entries an edit at `path` may touch: the entry it names and
    /// its neighbours (whose comments border it), or the last entry for a
    /// new one (it goes after it). `None` for a path outside the entries.
    fn window(&self, path: &[&str]) -> Option<std::ops::Range<usize>> {
        let [section, name, ..] = path else {
            return None;
        };
        if *section != "containers" {
            return None;
        }
        let last = self.chunks.len();
        match self.chunks.iter().position(|c| &*c.name == *name) {
            Some(at) => Some(at.saturating_sub(1)..(at + 2).min(last)),
            // A new entry: it must be a whole one; the tree writes a
            // deeper path into a missing entry as a mapping of its own.
            None if path.len() == 2 => Some(last.saturating_sub(1)..last),
            None => None,
        }
    }

    /// The small file that stands for the whole one around `range`.
    fn window_text(&self, range: &std::ops::Range<usize>) -> String {
        let mut text = String::new();
        text.push_str(&self.head);
        if range.start == 0 {
            text.push_str(&self.preamble);
        }
        for chunk in &self.chunks[range.clone()] {
            text.push_str(&chunk.text);
        }
        text.push_str(&self.tail);
        text
    }

    /// Runs `edit` on the window of `path` and puts the result in place of
    /// the window's entries. `Ok(None)`, with nothing changed, when the
    /// window cannot stand for the whole file here: the caller edits the
    /// whole file instead.
    fn windowed<T>(
        &mut self,
        path: &[&str],
        edit: impl FnOnce(&mut Tree) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        let Some(range) = self.window(path) else {
            return Ok(None);
        };
        let mut tree = Tree::parse_with_indent(&self.window_text(&range), self.indent)?;
        let done = edit(&mut tree)?;
        let edited = tree.text();
        let Some(layout) = Layout::of(&edited) else {
            return Ok(None);
        };
        let preamble_kept = if range.start == 0 {
            true
        } else {
            layout.preamble.is_empty()
        };
        if layout.head != self.head || layout.tail != self.tail || !preamble_kept {
            return Ok(None);
        }
        if range.start == 0 {
            self.preamble = layout.preamble.to_owned();
        }
        let chunks = layout.chunks.iter().map(|c| Chunk {
            name: c.name.into(),
            text: c.text.into(),
        });
        self.chunks.splice(range, chunks);
        Ok(Some(done))
    }

    /// Runs a read-only `look` on the window of `path`.
    fn peek<T>(
        &self,
        path: &[&str],
        look: impl FnOnce(&Tree) -> anyhow::Result<T>,
    ) -> anyhow::Result<Option<T>> {
        let Some(range) = self.window(path) else {
            return Ok(None);
        };
        let tree = Tree::parse_with_indent(&self.window_text(&range), self.indent)?;
        look(&tree).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `edits` to `text` through a document kept as entries and
    /// through a tree of the whole file; both must give the same bytes.
    fn assert_same(text: &str, edits: &[Edit]) {
        let mut whole = Tree::parse(text).unwrap();
        let mut doc = Document::parse(text).unwrap();
        for edit in edits {
            let path: Vec<&str> = edit.path.iter().map(String::as_str).collect();
            let (a, b) = match &edit.value {
                Some(value) => {
                    let fields: Vec<(&str, Value<'_>)> = value
                        .iter()
                        .map(|(k, v)| (k.as_str(), Value::Str(v)))
                        .collect();
                    let value = if fields.len() == 1 && fields[0].0.is_empty() {
                        fields[0].1
                    } else {
                        Value::Map(&fields)
                    };
                    (
                        whole
                            .set(&path, value)
                            .map(|()| true)
                            .map_err(|e| e.to_string()),
                        doc.set(&path, value)
                            .map(|()| true)
                            .map_err(|e| e.to_string()),
                    )
                }
                None => (
                    whole.remove(&path).map_err(|e| e.to_string()),
                    doc.remove(&path).map_err(|e| e.to_string()),
                ),
            };
            assert_eq!(a, b, "{edit:?} on {text:?}");
            assert_eq!(whole.text(), doc.text(), "{edit:?} on {text:?}");
            if path.len() >= 3 {
                let section: Vec<&str> = path[..3].to_vec();
                assert_eq!(
                    whole.is_empty_mapping(&section).unwrap(),
                    doc.is_empty_mapping(&section).unwrap(),
                    "{edit:?}"
                );
            }
        }
    }

    #[derive(Debug, Clone)]
    struct Edit {
        path: Vec<String>,
        /// `None`: remove; one pair with an empty key: a scalar.
        value: Option<Vec<(String, String)>>,
    }

    fn edit(path: &[&str], value: Option<Vec<(&str, &str)>>) -> Edit {
        Edit {
            path: path.iter().map(|s| s.to_string()).collect(),
            value: value.map(|v| {
                v.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
        }
    }

    impl Edit {
        /// A scalar value for [`edit`].
        fn scalar(value: &str) -> Option<Vec<(&str, &str)>> {
            Some(vec![("", value)])
        }
    }

    const FILE: &str = "# head\nproject: p\nruntime: fake\ncontainers:\n  # first\n  a:\n    \
        image: x\n    # inside a\n    owner: bob\n\n  # about b\n  b:\n    image: y\n    \
        snapshots:\n      s1:\n        created_at: \"t\"\n  c:\n    image: z\n# end\n";

    #[test]
    fn entry_edits_give_the_whole_files_bytes() {
        let scalar = |v: &'static str| Edit::scalar(v);
        for edits in [
            vec![edit(&["containers", "b", "state"], scalar("creating"))],
            vec![
                edit(&["containers", "b", "owner"], scalar("me")),
                edit(&["containers", "b", "owner"], None),
            ],
            vec![edit(&["containers", "a"], None)],
            vec![edit(&["containers", "b"], None)],
            vec![edit(&["containers", "c"], None)],
            vec![edit(
                &["containers", "d"],
                Some(vec![("image", "busybox"), ("owner", "me")]),
            )],
            vec![edit(&["containers", "b", "snapshots", "s1"], None)],
            vec![
                edit(
                    &["containers", "b", "snapshots", "s2"],
                    Some(vec![("created_at", "t2")]),
                ),
                edit(&["containers", "b", "snapshots", "s1"], None),
                edit(&["containers", "b", "snapshots", "s2"], None),
            ],
            vec![
                edit(&["containers", "a"], None),
                edit(&["containers", "b"], None),
                edit(&["containers", "c"], None),
            ],
            vec![edit(&["runtime"], scalar("lxd"))],
            vec![edit(&["containers", "x", "state"], scalar("creating"))],
        ] {
            assert_same(FILE, &edits);
        }
    }

    /// The usual edits keep the file as entries: the windows stand for it.
    #[test]
    fn usual_edits_stay_windowed() {
        let mut doc = Document::parse(FILE).unwrap();
        let windowed = |doc: &Document, step: &str| {
            assert!(
                matches!(doc.0, Repr::Entries(_)),
                "fell back to the whole file at {step}: {}",
                doc.text()
            );
        };
        doc.set(&["containers", "b", "state"], Value::Str("creating"))
            .unwrap();
        windowed(&doc, "set");
        doc.remove(&["containers", "b", "state"]).unwrap();
        windowed(&doc, "remove key");
        doc.set(
            &["containers", "n"],
            Value::Map(&[("image", Value::Str("x"))]),
        )
        .unwrap();
        windowed(&doc, "append");
        doc.remove(&["containers", "a"]).unwrap();
        windowed(&doc, "remove entry");
        doc.remove(&["containers", "b", "snapshots", "s1"]).unwrap();
        windowed(&doc, "remove snapshot");
        assert!(
            doc.is_empty_mapping(&["containers", "b", "snapshots"])
                .unwrap()
        );
        windowed(&doc, "is empty");
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        /// A file of up to five entries with comments and blank lines in
        /// the places yaml-edit treats apart: above, inside and after
        /// entries, before the first, after the last, between sections.
        fn file() -> impl Strategy<Value = String> {
            let entry = (0usize..4, 0usize..3, any::<bool>(), any::<bool>());
            (
                prop::collection::vec(entry, 1..6),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(|(entries, preamble, tail)| {
                    let mut text = String::from("project: p\ncontainers:\n");
                    if preamble {
                        text.push_str("  # before all\n");
                    }
                    for (i, (above, inside, blank, snaps)) in entries.into_iter().enumerate() {
                        match above {
                            1 => text.push_str(&format!("  # about e{i}\n")),
                            2 => text.push_str(&format!("\n  # about e{i}\n")),
                            3 => text.push_str("# at column 0\n"),
                            _ => {}
                        }
                        text.push_str(&format!("  e{i}:\n    image: x{i}\n"));
                        match inside {
                            1 => text.push_str("    # inside\n"),
                            2 => text.push_str("      # deeper\n"),
                            _ => {}
                        }
                        text.push_str("    owner: o\n");
                        if snaps {
                            text.push_str("    snapshots:\n      s:\n        created_at: \"t\"\n");
                        }
                        if blank {
                            text.push('\n');
                        }
                    }
                    if tail {
                        text.push_str("# tail\ndefaults:\n  ports: []\n");
                    }
                    text
                })
        }

        fn edits() -> impl Strategy<Value = Vec<Edit>> {
            let one = (0usize..7, 0usize..7, 0usize..6).prop_map(|(kind, entry, which)| {
                let name = format!("e{entry}");
                let key = ["state", "owner", "error", "image", "operation", "warning"][which];
                match kind {
                    0 => edit(&["containers", &name, key], Some(vec![("", "v")])),
                    1 => edit(&["containers", &name, key], None),
                    2 => edit(&["containers", &name], None),
                    3 => edit(
                        &["containers", &name],
                        Some(vec![("image", "n"), ("owner", "me")]),
                    ),
                    4 => edit(&["containers", &name, "snapshots", "s"], None),
                    5 => edit(
                        &["containers", &name, "snapshots", "t"],
                        Some(vec![("created_at", "t")]),
                    ),
                    _ => edit(
                        &["containers", &name, "operation"],
                        Some(vec![("kind", "create"), ("pid", "1")]),
                    ),
                }
            });
            prop::collection::vec(one, 1..8)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]
            #[test]
            fn edits_agree_with_the_whole_file_tree(text in file(), edits in edits()) {
                assert_same(&text, &edits);
            }
        }
    }
}
