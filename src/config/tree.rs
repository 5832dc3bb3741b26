//! Format-preserving edits of a whole containers.yaml, through one
//! yaml-edit tree of the file (`document.rs` uses it for a few entries at a
//! time where it can: see there).
//!
//! People edit this file by hand, so every save must keep comments, blank
//! lines, key order, quoting and keys lxdev does not know. Edits are applied
//! to the parsed document in place (yaml-edit) instead of re-serializing a
//! struct. New string scalars (keys and values) are quoted whenever a YAML
//! 1.1 or 1.2 reader could take them for anything but a string (`no`, `on`,
//! `007`, `1e3`, `1.30`, `~`, timestamps, ...).
//!
//! Invariants: `text()` of an unedited document is the input byte for byte;
//! an edit touches only the entry it names (plus, on `remove`, the comment
//! lines directly above that entry at its indentation, which describe it).
//!
//! Limits:
//! - One YAML document per file; the top level must be a mapping.
//! - A list of mappings (`sync:`) is rewritten whole when it changes:
//!   comments between its items are not kept.
//! - New nested mappings and sequences are indented by the document's unit
//!   (the smallest indentation in the file, 2 if none). yaml-edit always
//!   indents a new block value 2 columns past its key, so in a document
//!   with another unit the new lines are shifted afterwards and the text is
//!   parsed again (slower, but only for such files).
//! - A new key goes after the mapping's last entry; yaml-edit places a new
//!   top-level key after trailing top-level comments.
//! - Comment lines above the first entry of a mapping belong to the parent
//!   in yaml-edit's tree and are left in place by `remove`.
//! - `Tree` holds a rowan tree with interior mutability: it is not
//!   `Send`, and `Clone` takes an independent snapshot.
//! - Nodes shared through YAML anchors are never edited: an edit through an
//!   alias (`api2: *api`), or of a node whose anchor another node uses
//!   (`base: &b` ... `user: *b`), would show up in both places, so
//!   [`Tree::check_unshared`] refuses it. Merge keys (`<<: *base`) in the
//!   edited entry are fine: the merged node itself is not changed.

use std::fmt::Write as _;
use std::str::FromStr;

use anyhow::{Context, bail};
use rowan::ast::AstNode;
use yaml_edit::{Mapping, MappingEntry, Scalar, SyntaxKind, YamlFile, YamlNode, YamlValue};

use super::text::{Value, flow_words, quote, write_entries, write_items, write_value};

/// A parsed containers.yaml that can be edited and printed back.
#[derive(Debug)]
pub struct Tree {
    file: YamlFile,
    /// Columns per nesting level for new block content.
    indent: usize,
    /// Whether the text has an `&` at all: without one, no node is anchored
    /// and [`Tree::check_unshared`] has nothing to walk.
    may_share: bool,
}

impl Clone for Tree {
    /// An independent copy: yaml-edit nodes share their tree, so a derived
    /// `Clone` would let edits to the copy show up in the original.
    fn clone(&self) -> Tree {
        Tree {
            file: self.file.snapshot(),
            indent: self.indent,
            may_share: self.may_share,
        }
    }
}

/// A [`Tree`] kept between transactions: `Send`, unlike the tree
/// (rowan's green tree is immutable and shared; its cursor tree is not).
#[derive(Debug, Clone)]
pub struct TreeFrozen {
    green: rowan::GreenNode,
    indent: usize,
    may_share: bool,
}

impl TreeFrozen {
    /// An independent document with this content, without parsing.
    pub fn thaw(&self) -> Tree {
        let root = rowan::SyntaxNode::<yaml_edit::Lang>::new_root_mut(self.green.clone());
        Tree {
            file: YamlFile::cast(root).expect("a frozen document's root is a YAML file"),
            indent: self.indent,
            may_share: self.may_share,
        }
    }
}

/// The column yaml-edit puts a new block value at, relative to its key.
const YAML_EDIT_INDENT: usize = 2;

impl Tree {
    /// Parses `text`. Only syntax is checked here; the typed model validates.
    pub fn parse(text: &str) -> anyhow::Result<Tree> {
        let file = YamlFile::from_str(text).map_err(|err| match err {
            yaml_edit::YamlError::Parse {
                message,
                line: Some(line),
                column: Some(column),
            } => anyhow::anyhow!(
                "invalid YAML at line {line}, column {column}: {}",
                one_line(&message)
            ),
            other => anyhow::anyhow!("invalid YAML: {}", one_line(&other.to_string())),
        })?;
        let documents = file.documents().count();
        if documents > 1 {
            bail!("the file holds {documents} YAML documents (separated by `---`); expected one");
        }
        Ok(Tree {
            file,
            indent: detect_indent(text),
            may_share: text.contains('&'),
        })
    }

    /// [`Tree::parse`] of a part of a file whose indentation unit is
    /// `indent` (the part alone might show another).
    pub fn parse_with_indent(text: &str, indent: usize) -> anyhow::Result<Tree> {
        let mut tree = Tree::parse(text)?;
        tree.indent = indent;
        Ok(tree)
    }

    /// This tree's content, to be thawed later (see [`TreeFrozen`]).
    pub fn freeze(&self) -> TreeFrozen {
        TreeFrozen {
            green: self.file.syntax().green().into_owned(),
            indent: self.indent,
            may_share: self.may_share,
        }
    }

    /// The document as text, with every untouched byte as it was.
    pub fn text(&self) -> String {
        // The green tree prints without walking rowan's cursor API, which
        // is about twice as fast as `YamlFile`'s `Display`.
        self.file.syntax().green().to_string()
    }

    /// Sets `path` (a chain of mapping keys from the root) to `value`,
    /// creating missing intermediate mappings in block style. An empty flow
    /// mapping (`{}`) or a null value on the way is replaced by a block
    /// mapping. Replaces an existing value in place.
    pub fn set(&mut self, path: &[&str], value: Value<'_>) -> anyhow::Result<()> {
        let Some((last, parents)) = path.split_last() else {
            bail!("cannot set an empty path");
        };
        let mut map = self.root(true)?.expect("root(true) creates the document");
        for (depth, key) in parents.iter().enumerate() {
            let entry = find_entry(&map, key);
            match entry.as_ref().and_then(MappingEntry::value_node) {
                Some(YamlNode::Mapping(child)) if !is_empty_flow(&child) => {
                    map = child;
                    continue;
                }
                Some(YamlNode::Scalar(s)) if s.is_null() => {}
                Some(YamlNode::Mapping(_)) | None => {}
                Some(other) => bail!(
                    "cannot set `{}`: `{}` holds a {}, not a mapping",
                    path.join("."),
                    path[..=depth].join("."),
                    kind_name(&other)
                ),
            }
            // Missing, null or `{}`: write the rest of the path as one new
            // block mapping in its place.
            let rest = subtree(&path[depth + 1..], value, self.indent)?;
            return self.put(&map, entry, key, &rest, true);
        }
        let entry = find_entry(&map, last);
        match value {
            Value::Str(s) => self.put(&map, entry, last, &scalar(s)?, false),
            Value::Int(i) => self.put(&map, entry, last, &i, false),
            Value::IntList([]) => self.put(&map, entry, last, &Vec::<YamlValue>::new(), false),
            Value::IntList(list) => {
                let items: Vec<YamlValue> = list.iter().map(|&i| YamlValue::from(i)).collect();
                self.put(&map, entry, last, &items, true)
            }
            Value::Map([]) => self.put(&map, entry, last, &block_mapping(&[], self.indent)?, false),
            Value::Map(entries) => {
                let node = block_mapping(entries, self.indent)?;
                self.put(&map, entry, last, &node, true)
            }
            Value::Words(words) => {
                let node = YamlFile::from_str(&flow_words(words))
                    .ok()
                    .and_then(|f| f.document())
                    .and_then(|d| d.as_sequence())
                    .context("cannot write the list as YAML")?;
                self.put(&map, entry, last, &node, false)
            }
            Value::MapList([]) => self.put(&map, entry, last, &Vec::<YamlValue>::new(), false),
            Value::MapList(items) => {
                let mut text = String::new();
                write_items(&mut text, items, 0, self.indent);
                let node = YamlFile::from_str(&text)
                    .ok()
                    .and_then(|f| f.document())
                    .and_then(|d| d.as_sequence())
                    .context("cannot write the list as YAML")?;
                self.put(&map, entry, last, &node, true)
            }
        }
    }

    /// Removes the key at `path` with its value (and the comment lines that
    /// belong to it, where the library allows). Returns whether it existed.
    pub fn remove(&mut self, path: &[&str]) -> anyhow::Result<bool> {
        let Some((last, parents)) = path.split_last() else {
            bail!("cannot remove an empty path");
        };
        let Some(mut map) = self.root(false)? else {
            return Ok(false);
        };
        for key in parents {
            match find_entry(&map, key).and_then(|e| e.value_node()) {
                Some(YamlNode::Mapping(child)) => map = child,
                _ => return Ok(false),
            }
        }
        let Some(entry) = find_entry(&map, last) else {
            return Ok(false);
        };
        let key = entry.key_node().context("mapping entry without a key")?;
        detach_leading_comments(entry.syntax());
        map.remove(&key);
        Ok(true)
    }

    /// Refuses (as [`crate::error::Error::InvalidConfig`], naming the lines)
    /// an edit at `path` that would also change another part of the file
    /// through YAML anchors: an entry on the way that is an alias, or one
    /// that carries an anchor used elsewhere. Only the anchors of the nodes
    /// on the way count (and, for the entry at `path` itself, every anchor
    /// inside it, since it is replaced or removed whole).
    pub fn check_unshared(&self, path: &[&str]) -> anyhow::Result<()> {
        if !self.may_share {
            return Ok(());
        }
        let marks = Marks::collect(&self.file);
        let Some(mut map) = self.root(false)? else {
            return Ok(());
        };
        for (depth, key) in path.iter().enumerate() {
            let Some(entry) = find_entry(&map, key) else {
                return Ok(());
            };
            let here = path[..=depth].join(".");
            let range = entry.syntax().text_range();
            let value = entry.value_node();
            if let Some(YamlNode::Alias(alias)) = &value {
                let at = alias.syntax().text_range().start();
                let name = marks.reference_at(at).unwrap_or_default();
                return Err(self.shared(format!(
                    "`{here}` at line {} is an alias (`*{name}`) of the node at line {}; lxdev does \
                     not change what is shared through an alias: write the entry out in full",
                    self.line_of(at),
                    marks.anchor_line(self, name)
                )));
            }
            let last = depth + 1 == path.len();
            let children: Vec<rowan::TextRange> = match &value {
                Some(YamlNode::Mapping(child)) if !last => {
                    child.entries().map(|e| e.syntax().text_range()).collect()
                }
                _ => Vec::new(),
            };
            for (name, at) in &marks.anchors {
                let on_this_node = range.contains(*at) && !children.iter().any(|c| c.contains(*at));
                if !on_this_node {
                    continue;
                }
                let used = marks
                    .references
                    .iter()
                    .find(|(r, at)| r == name && !(last && range.contains(*at)));
                if let Some((_, used_at)) = used {
                    return Err(self.shared(format!(
                        "`{here}` at line {} carries the anchor `&{name}`, which line {} uses \
                         (`*{name}`); changing it would change that too: write the other node \
                         out in full",
                        self.line_of(*at),
                        self.line_of(*used_at)
                    )));
                }
            }
            match value {
                Some(YamlNode::Mapping(child)) => map = child,
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn shared(&self, message: String) -> anyhow::Error {
        crate::error::Error::InvalidConfig(message).into()
    }

    /// The 1-based line of a text offset.
    fn line_of(&self, at: rowan::TextSize) -> usize {
        let text = self.text();
        text[..usize::from(at).min(text.len())]
            .matches('\n')
            .count()
            + 1
    }

    /// Whether `path` holds a mapping with no entries (`{}`, or a block
    /// mapping whose last key was removed).
    pub fn is_empty_mapping(&self, path: &[&str]) -> anyhow::Result<bool> {
        let Some(mut map) = self.root(false)? else {
            return Ok(false);
        };
        for key in path {
            match find_entry(&map, key).and_then(|e| e.value_node()) {
                Some(YamlNode::Mapping(child)) => map = child,
                _ => return Ok(false),
            }
        }
        Ok(map.is_empty())
    }

    /// The top-level mapping; with `create`, an empty file gets one.
    fn root(&self, create: bool) -> anyhow::Result<Option<Mapping>> {
        let document = match self.file.document() {
            Some(document) => document,
            None if create => self.file.ensure_document(),
            None => return Ok(None),
        };
        match document.as_mapping() {
            Some(map) => Ok(Some(map)),
            None => bail!("the top level of the file is not a mapping of `key: value` lines"),
        }
    }

    /// Writes `value` under `key` in `map`: in place of `entry`'s value if
    /// there is one, else as a new last entry. `block` says the value is
    /// written on lines of its own, which may need re-indenting.
    fn put(
        &mut self,
        map: &Mapping,
        entry: Option<MappingEntry>,
        key: &str,
        value: &dyn yaml_edit::AsYaml,
        block: bool,
    ) -> anyhow::Result<()> {
        // Reuse the existing key node so `set` finds exactly that entry,
        // whatever its quoting, and the key keeps its spelling.
        match entry.and_then(|e| e.key_node()) {
            Some(existing) => map.set(&existing, value),
            None => map.set(&scalar(key)?, value),
        }
        if block && self.indent != YAML_EDIT_INDENT {
            self.reindent(map, key)?;
        }
        Ok(())
    }

    /// Shifts the continuation lines of `key`'s entry in `map`, just
    /// written by yaml-edit, to the document's unit: yaml-edit puts a new
    /// block value 2 columns past its key and keeps the relative
    /// indentation inside it, which `subtree` wrote in the document's unit,
    /// so every continuation line is off by the same amount.
    fn reindent(&mut self, map: &Mapping, key: &str) -> anyhow::Result<()> {
        let entry = find_entry(map, key).context("entry just written is missing")?;
        let range = entry.syntax().text_range();
        let (start, end) = (usize::from(range.start()), usize::from(range.end()));
        let text = self.text();
        let key_column = start - text[..start].rfind('\n').map_or(0, |i| i + 1);
        let mut out = String::with_capacity(text.len() + 64);
        out.push_str(&text[..start]);
        let mut lines = text[start..end].split_inclusive('\n');
        out.push_str(lines.next().unwrap_or_default());
        for line in lines {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            if spaces < key_column + YAML_EDIT_INDENT {
                out.push_str(line);
                continue;
            }
            let wanted = spaces + self.indent - YAML_EDIT_INDENT;
            let _ = write!(out, "{:wanted$}{}", "", &line[spaces..]);
        }
        out.push_str(&text[end..]);
        self.file = YamlFile::from_str(&out)
            .map_err(|e| anyhow::anyhow!("re-indented document does not parse: {e}"))?;
        Ok(())
    }
}

/// Every anchor (`&name`) and reference (`*name`, merge keys' too) in a
/// document, by name and text offset.
struct Marks {
    anchors: Vec<(String, rowan::TextSize)>,
    references: Vec<(String, rowan::TextSize)>,
}

impl Marks {
    fn collect(file: &YamlFile) -> Marks {
        let mut marks = Marks {
            anchors: Vec::new(),
            references: Vec::new(),
        };
        for token in file
            .syntax()
            .descendants_with_tokens()
            .filter_map(|e| e.into_token())
        {
            let name = token.text().get(1..).unwrap_or_default().to_string();
            let at = token.text_range().start();
            match token.kind() {
                SyntaxKind::ANCHOR => marks.anchors.push((name, at)),
                SyntaxKind::REFERENCE => marks.references.push((name, at)),
                _ => {}
            }
        }
        marks
    }

    /// The name of the reference that starts at or just after `at`.
    fn reference_at(&self, at: rowan::TextSize) -> Option<&str> {
        self.references
            .iter()
            .filter(|(_, r)| *r >= at)
            .min_by_key(|(_, r)| *r)
            .map(|(name, _)| name.as_str())
    }

    /// The line of the last anchor named `name` (an alias refers to the
    /// nearest one before it), or 0 when there is none.
    fn anchor_line(&self, doc: &Tree, name: &str) -> usize {
        self.anchors
            .iter()
            .rfind(|(a, _)| a == name)
            .map_or(0, |(_, at)| doc.line_of(*at))
    }
}

/// The entry of `map` whose key reads as the string `key`. Compares the
/// unquoted text rather than YAML values (what yaml-edit's `get` does), so
/// the plain key `007` is found as "007", as serde-saphyr reads it into
/// the model's `String` keys.
fn find_entry(map: &Mapping, key: &str) -> Option<MappingEntry> {
    map.entries().find(|entry| {
        entry
            .key_node()
            .and_then(|k| k.as_scalar().map(Scalar::as_string))
            .is_some_and(|k| k == key)
    })
}

fn is_empty_flow(map: &Mapping) -> bool {
    map.is_flow_style() && map.is_empty()
}

fn kind_name(node: &YamlNode) -> &'static str {
    match node {
        YamlNode::Scalar(_) => "scalar value",
        YamlNode::Sequence(_) => "list",
        YamlNode::Mapping(_) => "mapping",
        _ => "value",
    }
}

/// `s` as a scalar node that every YAML reader reads back as `s`.
fn scalar(s: &str) -> anyhow::Result<Scalar> {
    YamlFile::from_str(&quote(s))
        .ok()
        .and_then(|f| f.document())
        .and_then(|d| d.as_scalar())
        .with_context(|| format!("cannot write the string {s:?} as YAML"))
}

/// The mapping `rest[0]: rest[1]: ...: value` as block YAML with `indent`
/// columns per level, as a node to splice in.
fn subtree(rest: &[&str], value: Value<'_>, indent: usize) -> anyhow::Result<Mapping> {
    let mut text = String::new();
    for (depth, key) in rest.iter().enumerate() {
        let _ = write!(text, "{:w$}{}:", "", quote(key), w = depth * indent);
        if depth + 1 < rest.len() {
            text.push('\n');
        }
    }
    write_value(
        &mut text,
        value,
        rest.len().saturating_sub(1) * indent,
        indent,
    );
    parse_mapping(&text).with_context(|| format!("cannot write the key path {rest:?} as YAML"))
}

/// `entries` as a block mapping node (`{}` when empty).
fn block_mapping(entries: &[(&str, Value<'_>)], indent: usize) -> anyhow::Result<Mapping> {
    let mut text = String::new();
    if entries.is_empty() {
        text.push_str("{}\n");
    }
    write_entries(&mut text, entries, 0, indent);
    parse_mapping(&text).context("cannot write the mapping as YAML")
}

fn parse_mapping(text: &str) -> Option<Mapping> {
    YamlFile::from_str(text)
        .ok()
        .and_then(|f| f.document())
        .and_then(|d| d.as_mapping())
}

/// Detaches the comment lines directly above `entry` (no blank line in
/// between) at the entry's own indentation: they describe it, and left
/// behind they would seem to describe the next entry. Deeper-indented
/// comments belong to the previous entry's body and stay.
fn detach_leading_comments(entry: &rowan::SyntaxNode<yaml_edit::Lang>) {
    let width = |t: &rowan::SyntaxToken<yaml_edit::Lang>| t.text().len();
    let mut cursor = entry.prev_sibling_or_token();
    let Some(indent) = cursor.as_ref().and_then(|c| c.as_token().cloned()) else {
        return;
    };
    let key_width = if indent.kind() == SyntaxKind::INDENT {
        cursor = indent.prev_sibling_or_token();
        width(&indent)
    } else {
        0
    };
    let mut doomed = Vec::new();
    loop {
        // Walking back over one line: NEWLINE, COMMENT, then INDENT of the
        // same width (or nothing at column 0).
        let Some(newline) = cursor.as_ref().and_then(|c| c.as_token().cloned()) else {
            break;
        };
        let Some(comment) = newline.prev_sibling_or_token().and_then(|c| c.into_token()) else {
            break;
        };
        if newline.kind() != SyntaxKind::NEWLINE || comment.kind() != SyntaxKind::COMMENT {
            break;
        }
        let before = comment.prev_sibling_or_token();
        let (line_indent, next) = match before.as_ref().and_then(|c| c.as_token()) {
            Some(t) if t.kind() == SyntaxKind::INDENT => (width(t), t.prev_sibling_or_token()),
            Some(t) if t.kind() == SyntaxKind::NEWLINE => (0, before.clone()),
            _ => break,
        };
        if line_indent != key_width {
            break;
        }
        if let Some(t) = before.and_then(|c| c.into_token())
            && t.kind() == SyntaxKind::INDENT
        {
            doomed.push(t);
        }
        doomed.push(comment);
        doomed.push(newline);
        cursor = next;
    }
    for token in doomed {
        token.detach();
    }
}

/// The document's indentation unit: the smallest indentation of any
/// content line, clamped to 1..=8, or 2 for a flat file.
pub(super) fn detect_indent(text: &str) -> usize {
    text.lines()
        .filter_map(|line| {
            let body = line.trim_start_matches(' ');
            let spaces = line.len() - body.len();
            (spaces > 0 && !body.is_empty() && !body.starts_with('#')).then_some(spaces)
        })
        .min()
        .map_or(YAML_EDIT_INDENT, |n| n.clamp(1, 8))
}

/// Parser messages can span lines; ours are printed on one.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# comment kept
project: webapp # trailing comment

defaults:
  ports:
    - 5173
    - 8000
  user:
    name: dev
    password: 'dev'
  unknown_default: {a: 1}
containers:
  # about dev
  dev:
    image: ubuntu:24.04
    ports: [3000]
    x-custom: keep me
    snapshots:
      clean:
        description: "fresh install"
        created_at: "2026-01-02T03:04:05Z"

  # about web
  web:
    image: "debian:12"
# tail comment
"#;

    fn doc(text: &str) -> Tree {
        Tree::parse(text).unwrap()
    }

    fn edited(text: &str, f: impl FnOnce(&mut Tree)) -> String {
        let mut d = doc(text);
        f(&mut d);
        d.text()
    }

    fn typed(text: &str) -> crate::config::model::Config {
        crate::config::model::parse(text, std::path::Path::new("t.yaml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn unedited_text_is_byte_for_byte() {
        for text in [
            SAMPLE,
            "",
            "# only a comment",
            "project: p",
            "project: p\r\ncontainers: {}\r\n",
            "\u{feff}project: p\n",
            "---\nproject: p\n...\n",
            "a:   'b'   # c\n\n\n  # odd indent comment\nd: [1,   2]\n",
        ] {
            assert_eq!(doc(text).text(), text);
        }
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = Tree::parse("a: [1\n").unwrap_err().to_string();
        assert!(err.contains("at line 2, column 1"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let err = Tree::parse("a: 1\n---\nb: 2\n").unwrap_err().to_string();
        assert!(err.contains("2 YAML documents"), "{err}");
    }

    #[test]
    fn replace_scalar_keeps_position_and_comments() {
        let out = edited(SAMPLE, |d| {
            d.set(&["project"], Value::Str("shop")).unwrap();
            d.set(&["containers", "dev", "image"], Value::Str("ubuntu:22.04"))
                .unwrap();
        });
        let expected = SAMPLE
            .replace("project: webapp # trailing", "project: shop # trailing")
            .replace("image: ubuntu:24.04", "image: ubuntu:22.04");
        assert_eq!(out, expected);
    }

    #[test]
    fn replace_keeps_a_key_quoted_differently() {
        let out = edited("containers:\n  \"dev\":\n    image: a\n", |d| {
            d.set(&["containers", "dev", "image"], Value::Str("b"))
                .unwrap();
        });
        assert_eq!(out, "containers:\n  \"dev\":\n    image: b\n");
    }

    #[test]
    fn set_and_remove_at_every_depth_keep_everything_else() {
        let cases: [&[&str]; 4] = [
            &["runtime"],
            &["defaults", "max_containers"],
            &["containers", "dev", "owner"],
            &["containers", "dev", "snapshots", "clean"],
        ];
        for path in cases {
            let mut d = doc(SAMPLE);
            if path == ["defaults", "max_containers"] {
                d.set(path, Value::Int(3)).unwrap();
            } else if path.len() < 4 {
                d.set(path, Value::Str("x")).unwrap();
            } else {
                d.set(&[path, &["state"]].concat(), Value::Str("creating"))
                    .unwrap();
            }
            let after_set = d.text();
            for kept in [
                "# comment kept\n",
                "# trailing comment\n\ndefaults:",
                "password: 'dev'",
                "unknown_default: {a: 1}",
                "x-custom: keep me",
                "\n\n  # about web\n  web:\n    image: \"debian:12\"\n# tail comment\n",
            ] {
                assert!(
                    after_set.contains(kept),
                    "{path:?}: lost {kept:?}\n{after_set}"
                );
            }
            typed(&after_set);
            if path.len() < 4 {
                assert!(d.remove(path).unwrap(), "{path:?}");
                assert_eq!(d.text(), SAMPLE, "{path:?}: set then remove is not a no-op");
            } else {
                assert!(d.remove(&[path, &["state"]].concat()).unwrap());
                assert_eq!(d.text(), SAMPLE, "{path:?}");
            }
        }
    }

    #[test]
    fn new_keys_keep_key_order() {
        let out = edited(SAMPLE, |d| {
            d.set(&["containers", "api", "image"], Value::Str("alpine"))
                .unwrap();
        });
        let dev = out.find("  dev:").unwrap();
        let web = out.find("  web:").unwrap();
        let api = out.find("  api:\n    image: alpine\n").expect(&out);
        assert!(dev < web && web < api, "{out}");
        assert!(
            out.ends_with("  api:\n    image: alpine\n# tail comment\n"),
            "{out}"
        );
    }

    #[test]
    fn insert_into_empty_flow_mapping() {
        let out = edited("project: p\ncontainers: {}\n", |d| {
            d.set(&["containers", "dev", "image"], Value::Str("img"))
                .unwrap();
        });
        assert_eq!(out, "project: p\ncontainers:\n  dev:\n    image: img\n");
    }

    #[test]
    fn insert_into_null_containers() {
        let out = edited("project: p\ncontainers:\n# end\n", |d| {
            d.set(&["containers", "dev", "image"], Value::Str("img"))
                .unwrap();
        });
        assert_eq!(
            out,
            "project: p\ncontainers:\n  dev:\n    image: img\n# end\n"
        );
        let out = edited("project: p\ncontainers: ~ # none yet\n", |d| {
            d.set(&["containers", "dev", "image"], Value::Str("img"))
                .unwrap();
        });
        assert_eq!(
            out,
            "project: p\ncontainers: # none yet\n  dev:\n    image: img\n"
        );
    }

    #[test]
    fn insert_with_containers_missing() {
        let out = edited("# hi\nproject: p\n", |d| {
            d.set(&["containers", "dev", "image"], Value::Str("img"))
                .unwrap();
        });
        assert_eq!(
            out,
            "# hi\nproject: p\ncontainers:\n  dev:\n    image: img\n"
        );
        let out = edited("project: p", |d| {
            d.set(&["containers", "dev", "image"], Value::Str("img"))
                .unwrap();
        });
        // No line break at the end stays so.
        assert_eq!(out, "project: p\ncontainers:\n  dev:\n    image: img");
    }

    #[test]
    fn set_in_an_empty_file() {
        let out = edited("", |d| d.set(&["project"], Value::Str("p")).unwrap());
        assert_eq!(typed(&out).project, "p");
        let out = edited("# new project\n", |d| {
            d.set(&["project"], Value::Str("p")).unwrap()
        });
        assert!(out.starts_with("# new project\n"), "{out}");
        assert_eq!(typed(&out).project, "p");
    }

    #[test]
    fn remove_last_snapshot_leaves_valid_yaml_and_allows_reinsert() {
        let mut d = doc(SAMPLE);
        assert!(
            d.remove(&["containers", "dev", "snapshots", "clean"])
                .unwrap()
        );
        let out = d.text();
        assert!(out.contains("    snapshots: {}\n"), "{out}");
        assert!(typed(&out).containers["dev"].snapshots.is_empty());
        // Reparsed, `{}` is an ordinary flow mapping: it must turn block.
        let mut d = doc(&out);
        d.set(
            &["containers", "dev", "snapshots", "s2", "state"],
            Value::Str("creating"),
        )
        .unwrap();
        let out = d.text();
        assert!(
            out.contains("    snapshots:\n      s2:\n        state: creating\n"),
            "{out}"
        );
        typed(&out);
    }

    #[test]
    fn remove_takes_the_comment_lines_above_the_entry() {
        let out = edited(SAMPLE, |d| {
            assert!(d.remove(&["containers", "web"]).unwrap())
        });
        assert!(!out.contains("about web") && !out.contains("web:"), "{out}");
        assert!(
            out.contains("2026-01-02T03:04:05Z\"\n\n# tail comment\n"),
            "{out}"
        );
        // A comment indented deeper belongs to the entry above.
        let text = "a:\n  x: 1\n  # about x's end\n# about b\nb: 2\nc: 3\n";
        let out = edited(text, |d| assert!(d.remove(&["b"]).unwrap()));
        assert_eq!(out, "a:\n  x: 1\n  # about x's end\nc: 3\n");
    }

    #[test]
    fn remove_missing_is_false_and_changes_nothing() {
        let mut d = doc(SAMPLE);
        assert!(!d.remove(&["containers", "nope"]).unwrap());
        assert!(!d.remove(&["containers", "dev", "image", "deeper"]).unwrap());
        assert!(!d.remove(&["nope", "deeper"]).unwrap());
        assert_eq!(d.text(), SAMPLE);
        assert!(!doc("").remove(&["x"]).unwrap());
    }

    #[test]
    fn set_through_a_scalar_is_an_error() {
        let mut d = doc(SAMPLE);
        let err = d
            .set(&["project", "x"], Value::Int(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`project` holds a scalar value"), "{err}");
        assert!(d.set(&[], Value::Int(1)).is_err());
    }

    #[test]
    fn int_and_int_list_values() {
        let out = edited(SAMPLE, |d| {
            d.set(&["defaults", "max_containers"], Value::Int(7))
                .unwrap();
            d.set(&["containers", "dev", "ports"], Value::IntList(&[1, 2]))
                .unwrap();
            d.set(&["containers", "web", "ports"], Value::IntList(&[]))
                .unwrap();
            d.set(&["containers", "new", "ports"], Value::IntList(&[80, 443]))
                .unwrap();
        });
        assert!(out.contains("  max_containers: 7\n"), "{out}");
        assert!(
            out.contains("    ports:\n      - 1\n      - 2\n    x-custom"),
            "{out}"
        );
        assert!(out.contains("    ports: []\n"), "{out}");
        assert!(
            out.contains("  new:\n    ports:\n      - 80\n      - 443\n"),
            "{out}"
        );
        let c = typed(&out.replace("  new:\n", "  new:\n    image: i\n"));
        assert_eq!(c.defaults.max_containers, Some(7));
        assert_eq!(c.containers["dev"].ports, [1, 2]);
        assert!(c.containers["web"].ports.is_empty());
        assert_eq!(c.containers["new"].ports, [80, 443]);
    }

    #[test]
    fn four_space_documents_get_four_space_insertions() {
        let text = "project: p\ncontainers:\n    dev:\n        image: a\n";
        let out = edited(text, |d| {
            d.set(
                &["containers", "web", "snapshots", "s", "state"],
                Value::Str("creating"),
            )
            .unwrap();
            d.set(&["containers", "dev", "ports"], Value::IntList(&[1]))
                .unwrap();
        });
        assert_eq!(
            out,
            "project: p\ncontainers:\n    dev:\n        image: a\n        ports:\n            - 1\n    \
             web:\n        snapshots:\n            s:\n                state: creating\n"
        );
    }

    #[test]
    fn lists_of_mappings_are_written_whole_in_block_style() {
        let env: &[(&str, Value<'_>)] =
            &[("source", Value::Str(".env")), ("dest", Value::Str("/e"))];
        let cfg: &[(&str, Value<'_>)] =
            &[("source", Value::Str("a b")), ("dest", Value::Str("/c"))];
        for (text, unit) in [
            (
                "project: p\ncontainers:\n  dev:\n    image: a\n  web:\n    image: b\n",
                "  ",
            ),
            (
                "project: p\ncontainers:\n    dev:\n        image: a\n",
                "    ",
            ),
        ] {
            let out = edited(text, |d| {
                d.set(&["containers", "dev", "sync"], Value::MapList(&[env, cfg]))
                    .unwrap();
            });
            let i = |n: usize| unit.repeat(n);
            let want = format!(
                "{0}sync:\n{1}- source: \".env\"\n{1}  dest: \"/e\"\n{1}- source: \"a b\"\n{1}  dest: \"/c\"\n",
                i(2),
                i(3)
            );
            assert!(out.contains(&want), "{out}\nwanted:\n{want}");
            let sync = &typed(&out).containers["dev"].sync;
            assert_eq!(sync.len(), 2);
            assert_eq!(
                (sync[1].source.as_str(), sync[1].dest.as_str()),
                ("a b", "/c")
            );
            // Replaced in place, then emptied.
            let out = edited(&out, |d| {
                d.set(&["containers", "dev", "sync"], Value::MapList(&[cfg]))
                    .unwrap();
            });
            assert_eq!(typed(&out).containers["dev"].sync.len(), 1, "{out}");
        }
    }

    #[test]
    fn clone_is_independent() {
        let a = doc(SAMPLE);
        let mut b = a.clone();
        b.set(&["project"], Value::Str("other")).unwrap();
        assert_eq!(a.text(), SAMPLE);
        assert_ne!(b.text(), SAMPLE);
    }

    /// Strings that some YAML reader would take for a bool, null, number,
    /// timestamp or syntax if written plain.
    const TRICKY: &[&str] = &[
        "no",
        "No",
        "NO",
        "n",
        "y",
        "on",
        "OFF",
        "yes",
        "true",
        "False",
        "~",
        "null",
        "Null",
        "",
        " ",
        " lead",
        "trail ",
        "007",
        "0",
        "-1",
        "+1",
        "1e3",
        "1.30",
        "1_000",
        "0x1F",
        "0o7",
        "0b1",
        ".inf",
        "-.INF",
        ".nan",
        "12:30",
        "1:30:00",
        "2026-01-02",
        "2026-01-02T03:04:05Z",
        "2026-01-02 03:04:05",
        "a: b",
        "a:",
        "#x",
        "a #b",
        "\"q\"",
        "it's",
        "'",
        "multi\nline",
        "tab\there",
        "back\\slash",
        "ünïcødé ✓ 🦀",
        "-",
        "- x",
        "?",
        "? x",
        "!tag",
        "&a",
        "*a",
        "|",
        ">",
        "%x",
        "@x",
        "`x`",
        "[a]",
        "{a}",
        ",",
        "a,b",
        "=",
        "<<",
        "\u{85}nel",
        "\u{2028}",
        "\u{feff}bom",
        "\u{7}bell",
        "plain",
        "ubuntu:24.04",
        "alice@host",
        "v1.2-rc/x_y",
    ];

    #[test]
    fn tricky_strings_round_trip_through_serde_saphyr() {
        for &s in TRICKY {
            let out = edited("project: p\ncontainers: {}\n", |d| {
                d.set(&["containers", "dev", "image"], Value::Str(s))
                    .unwrap();
                d.set(
                    &["containers", "dev", "snapshots", s, "description"],
                    Value::Str(s),
                )
                .unwrap();
            });
            #[derive(serde::Deserialize)]
            struct Raw {
                containers: std::collections::BTreeMap<String, RawC>,
            }
            #[derive(serde::Deserialize)]
            struct RawC {
                image: String,
                snapshots: std::collections::BTreeMap<String, RawS>,
            }
            #[derive(serde::Deserialize)]
            struct RawS {
                description: String,
            }
            let raw: Raw =
                serde_saphyr::from_str(&out).unwrap_or_else(|e| panic!("{s:?}: {e}\n{out}"));
            let dev = &raw.containers["dev"];
            assert_eq!(dev.image, s, "{out}");
            assert_eq!(dev.snapshots.keys().collect::<Vec<_>>(), [s], "{out}");
            assert_eq!(dev.snapshots[s].description, s, "{out}");
        }
    }

    /// PyYAML implements YAML 1.1, where `no`, `on`, `1_000` and
    /// `12:30` are not strings. Skipped (with a note) without python3+yaml.
    #[test]
    fn tricky_strings_round_trip_through_pyyaml() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let probe = Command::new("python3").args(["-c", "import yaml"]).output();
        if !probe.is_ok_and(|o| o.status.success()) {
            eprintln!("skipped: python3 with PyYAML is not available (pip install pyyaml)");
            return;
        }
        let mut d = doc("# strings\nstrings: {}\n");
        for (i, &s) in TRICKY.iter().enumerate() {
            d.set(&["strings", &format!("v{i}")], Value::Str(s))
                .unwrap();
            d.set(&["keys", s], Value::Int(i as i64)).unwrap();
        }
        let script = "import yaml,sys,json; print(json.dumps(yaml.safe_load(sys.stdin)))";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(d.text().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for (i, &s) in TRICKY.iter().enumerate() {
            assert_eq!(
                json["strings"][format!("v{i}")],
                s,
                "value {s:?}\n{}",
                d.text()
            );
            assert_eq!(json["keys"][s], i, "key {s:?}\n{}", d.text());
        }
    }

    #[test]
    fn plain_only_for_safe_words() {
        for s in ["dev", "ubuntu:24.04", "a.b/c-d_e", "x1"] {
            assert_eq!(quote(s), s);
        }
        for s in ["no", "On", "007", "a: b", "", "1.30", "a:"] {
            assert!(quote(s).starts_with('"'), "{s:?}");
        }
        assert_eq!(quote("multi\nline \"q\" \\"), r#""multi\nline \"q\" \\""#);
    }

    fn big_file(containers: usize, rich: bool) -> String {
        let mut s =
            String::from("# big\nproject: webapp\ndefaults:\n  ports:\n    - 5173\ncontainers:\n");
        for i in 0..containers {
            if !rich {
                let _ = write!(s, "  c{i}:\n    image: ubuntu:24.04\n    ports: [3000]\n");
                continue;
            }
            let _ = write!(
                s,
                "  c{i}:\n    image: ubuntu:24.04\n    ports: [3000]\n    owner: bob\n    \
                 created_at: \"2026-01-02T03:04:05.000Z\"\n    snapshots:\n      clean:\n        \
                 description: fresh install\n        created_at: \"2026-01-02T03:04:05.000Z\"\n"
            );
        }
        s
    }

    /// `cargo test --release --lib config::document::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release mode"]
    fn timing_1000_containers() {
        // Lean: image and ports only. Rich: owner, created_at and a snapshot.
        time_one_edit(&big_file(1000, false));
        time_one_edit(&big_file(1000, true));
    }

    fn time_one_edit(text: &str) {
        use std::time::{Duration, Instant};
        let mut best = [Duration::MAX; 5];
        for round in 0..20 {
            let t0 = Instant::now();
            let mut d = Tree::parse(text).unwrap();
            let t1 = Instant::now();
            d.set(
                &["containers", &format!("new{round}"), "image"],
                Value::Str("img"),
            )
            .unwrap();
            let t2 = Instant::now();
            let out = d.text();
            let t3 = Instant::now();
            let c = typed(&out);
            let t4 = Instant::now();
            assert_eq!(c.containers.len(), 1001);
            for (b, t) in best
                .iter_mut()
                .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0])
            {
                *b = (*b).min(t);
            }
        }
        eprintln!(
            "{} bytes, best of 20: parse {:?}, set {:?}, text {:?}, typed parse {:?}, total {:?}",
            text.len(),
            best[0],
            best[1],
            best[2],
            best[3],
            best[4]
        );
    }
}

#[cfg(test)]
mod map_tests {
    use super::*;

    const ENTRY: &[(&str, Value<'static>)] = &[
        ("image", Value::Str("ubuntu:24.04")),
        ("owner", Value::Str("no")),
        ("ports", Value::IntList(&[80, 443])),
        (
            "operation",
            Value::Map(&[("kind", Value::Str("create")), ("pid", Value::Int(42))]),
        ),
        ("empty", Value::Map(&[])),
    ];

    fn reread(text: &str) -> serde_json::Value {
        let value: serde_json::Value = serde_saphyr::from_str(text).unwrap();
        value
    }

    #[test]
    fn a_whole_entry_is_inserted_in_one_edit_at_the_files_indent() {
        for (text, indent) in [
            ("project: p\ncontainers: {}\n", "  "),
            (
                "project: p\ncontainers:\n    old:\n        image: a\n",
                "    ",
            ),
            ("# c\nproject: p\n", "  "),
        ] {
            let mut doc = Tree::parse(text).unwrap();
            doc.set(&["containers", "new"], Value::Map(ENTRY)).unwrap();
            let out = doc.text();
            let value = reread(&out);
            let new = &value["containers"]["new"];
            assert_eq!(new["image"], "ubuntu:24.04", "{out}");
            assert_eq!(new["owner"], "no", "{out}");
            assert_eq!(new["ports"], serde_json::json!([80, 443]), "{out}");
            assert_eq!(new["operation"]["pid"], 42, "{out}");
            assert_eq!(new["empty"], serde_json::json!({}), "{out}");
            assert!(
                out.contains(&format!("\n{indent}new:\n{indent}{indent}image:")),
                "{out}"
            );
        }
    }

    #[test]
    fn a_map_replaces_an_existing_value() {
        let mut doc = Tree::parse("c:\n  op:\n    kind: old # note\n  keep: 1\n").unwrap();
        doc.set(&["c", "op"], Value::Map(&[("kind", Value::Str("new"))]))
            .unwrap();
        let value = reread(&doc.text());
        assert_eq!(value["c"]["op"]["kind"], "new");
        assert_eq!(value["c"]["keep"], 1);
    }

    #[test]
    fn words_are_written_as_a_flow_list_and_read_back() {
        let mut d = Tree::parse("project: p\ncontainers:\n  c:\n    image: i\n").unwrap();
        d.set(
            &["containers", "c", "pending_steps"],
            Value::Words(&["user", "initial_snapshot"]),
        )
        .unwrap();
        let text = d.text();
        assert!(
            text.contains("    pending_steps: [user, initial_snapshot]\n"),
            "{text}"
        );
        let config = crate::config::model::parse(&text, std::path::Path::new("x")).unwrap();
        assert_eq!(
            config.containers["c"].pending_steps,
            [
                crate::config::ledger::Step::User,
                crate::config::ledger::Step::InitialSnapshot
            ]
        );
    }
}
