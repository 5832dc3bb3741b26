//! The YAML text lxdev writes: the values it puts in containers.yaml and
//! how each is spelled, so that every YAML reader (PyYAML's 1.1 and the
//! 1.2 ones) reads back exactly what was written. Knows nothing of the
//! file's structure; `tree.rs` and `document.rs` place the text.

use std::fmt::Write as _;

/// A value lxdev writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Always read back as this exact string, by any YAML reader.
    Str(&'a str),
    Int(i64),
    /// A block sequence of integers (ports).
    IntList(&'a [i64]),
    /// A block mapping, in this key order: a whole new entry in one edit.
    Map(&'a [(&'a str, Value<'a>)]),
    /// A block sequence of mappings (`sync:` entries), written whole: an
    /// edit of one item rewrites the list, so comments inside it are lost.
    MapList(&'a [&'a [(&'a str, Value<'a>)]]),
    /// A flow sequence of lxdev's own words (`[user, ssh]`): each plain,
    /// lowercase letters and `_`, so no YAML reader reads it otherwise.
    Words(&'a [&'a str]),
}

pub(super) fn write_entries(
    text: &mut String,
    entries: &[(&str, Value<'_>)],
    column: usize,
    indent: usize,
) {
    for (key, value) in entries {
        let _ = write!(text, "{:column$}{}:", "", quote(key));
        write_value(text, *value, column, indent);
    }
}

/// Writes `value` after a `key:` that starts at `key_column`.
pub(super) fn write_value(text: &mut String, value: Value<'_>, key_column: usize, indent: usize) {
    let nested = key_column + indent;
    match value {
        Value::Str(s) => {
            let _ = writeln!(text, " {}", quote(s));
        }
        Value::Int(i) => {
            let _ = writeln!(text, " {i}");
        }
        Value::IntList([]) => text.push_str(" []\n"),
        Value::IntList(list) => {
            text.push('\n');
            for i in list {
                let _ = writeln!(text, "{:nested$}- {i}", "");
            }
        }
        Value::Map([]) => text.push_str(" {}\n"),
        Value::Map(entries) => {
            text.push('\n');
            write_entries(text, entries, nested, indent);
        }
        Value::MapList([]) => text.push_str(" []\n"),
        Value::MapList(items) => {
            text.push('\n');
            write_items(text, items, nested, indent);
        }
        Value::Words(words) => {
            let _ = writeln!(text, " {}", flow_words(words));
        }
    }
}

/// `[a, b]` for [`Value::Words`].
pub(super) fn flow_words(words: &[&str]) -> String {
    debug_assert!(
        words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
        "{words:?} are not plain words"
    );
    format!("[{}]", words.join(", "))
}

/// `items` as block sequence entries at `column`: `- key: value` and the
/// item's other keys under its first.
pub(super) fn write_items(
    text: &mut String,
    items: &[&[(&str, Value<'_>)]],
    column: usize,
    indent: usize,
) {
    for item in items {
        if item.is_empty() {
            let _ = writeln!(text, "{:column$}- {{}}", "");
            continue;
        }
        let start = text.len();
        write_entries(text, item, column + 2, indent);
        // The first key's indentation becomes the item's dash.
        text.replace_range(start + column..start + column + 2, "- ");
    }
}

/// Writes `s` as a YAML scalar that PyYAML (YAML 1.1) and YAML 1.2 readers
/// all read back as the string `s`.
///
/// Plain only for a letter followed by letters, digits and `_ . / -` (and
/// `:` or `@` inside), which no YAML version resolves to anything but a
/// string, except the YAML 1.1 booleans and null spelled that way (`y`,
/// `no`, `On`, `NULL`, ...). A leading letter rules out numbers, `.inf`,
/// timestamps and sexagesimals (`1:30`); a `:` that is not last is never a
/// key indicator since it is not followed by a space. Everything else is
/// double-quoted, the only style that can escape every character.
pub fn quote(s: &str) -> String {
    const YAML11_WORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let mut chars = s.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_./-:@".contains(c))
        && !s.ends_with(':')
        && !YAML11_WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            // Line and paragraph separators, NEL and BOM would be folded or
            // dropped by some readers if written raw.
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
