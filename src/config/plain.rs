//! A fast reader for the plain subset of YAML that lxdev (and
//! lxc-dev-manager) write: block mappings and sequences by indentation,
//! one-line scalars (plain, `"double"` or `'single'` quoted), and one-line
//! flow lists and maps of scalars (`[a, "b"]`, `{k: v}`). It reads a
//! containers.yaml about twenty times faster than serde-saphyr, which is
//! most of what a command costs on a large file.
//!
//! Invariant: where it returns a value, it is the value serde-saphyr
//! returns for the same text. It gives up (`None`) on anything outside the
//! subset (anchors, aliases, tags, block scalars, multi-line scalars and
//! flows, explicit keys, directives and document markers, tabs, carriage
//! returns, quoted or unusual keys, duplicate keys, anything deeper than
//! serde-saphyr's depth budget) and on every error, so the caller parses
//! the text with serde-saphyr, whose messages and positions are the ones
//! users see. `config::model`'s tests feed both readers one corpus, and a
//! property test feeds them generated entries.
//!
//! Limits: a plain scalar outside printable ASCII, or one YAML would read
//! as null, a boolean or a float where a string is expected, is left to
//! serde-saphyr rather than guessed.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

/// Reads `text` as a `T`, or `None` to say: parse it with serde-saphyr.
pub(super) fn read<T: DeserializeOwned>(text: &str) -> Option<T> {
    let lines = lines(text)?;
    let mut at = 0;
    let node = if lines.is_empty() {
        Node::Null
    } else {
        let root = block(&lines, &mut at, lines[0].indent, 1)?;
        if at != lines.len() {
            return None;
        }
        root
    };
    T::deserialize(&node).ok()
}

/// serde-saphyr's nesting budget (`max_depth` in `model::options`).
const MAX_DEPTH: usize = 32;

/// One line with content: its indentation and its text after it, with a
/// trailing comment left on (scalars strip their own).
#[derive(Debug, Clone, Copy)]
struct Line<'t> {
    indent: usize,
    text: &'t str,
}

/// The content lines of `text`, or `None` when a line holds what the
/// subset leaves out everywhere.
fn lines(text: &str) -> Option<Vec<Line<'_>>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains(['\t', '\r', '\u{feff}']) {
        return None;
    }
    let mut found = Vec::new();
    let mut start = 0;
    let breaks = memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]);
    for end in breaks {
        // `start` and `end` sit next to line breaks (or the ends).
        let line = &text[start..end];
        start = end + 1;
        let trimmed = line.trim_end_matches(' ');
        let content = trimmed.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        // Directives, document markers, explicit keys, block scalars and
        // the like begin a line; `model::parse` words those itself.
        if content.starts_with(['%', '?', '|', '>', '&', '*', '!', '@', '`'])
            || content.starts_with("---")
            || content.starts_with("...")
        {
            return None;
        }
        found.push(Line {
            indent: trimmed.len() - content.len(),
            text: content,
        });
    }
    Some(found)
}

/// A value as the subset has it.
#[derive(Debug)]
enum Node<'t> {
    Null,
    Plain(&'t str),
    Quoted(Cow<'t, str>),
    Seq(Vec<Node<'t>>),
    Map(Vec<(&'t str, Node<'t>)>),
}

impl Node<'_> {
    /// Whether this value holds a word serde-saphyr reads as a float (or
    /// a number it cannot hold), even where the model has no field for it.
    fn may_be_refused_when_ignored(&self) -> bool {
        let numberish = |text: &str| {
            is_special(text)
                || (text.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
                    && integer(text).is_none())
        };
        match self {
            Node::Null | Node::Quoted(_) => false,
            Node::Plain(text) => numberish(text),
            Node::Seq(items) => items.iter().any(Node::may_be_refused_when_ignored),
            Node::Map(entries) => entries
                .iter()
                .any(|(key, value)| numberish(key) || value.may_be_refused_when_ignored()),
        }
    }
}

/// The block (a mapping or a sequence) whose lines start at `lines[*at]`,
/// all at column `indent`.
fn block<'t>(lines: &[Line<'t>], at: &mut usize, indent: usize, depth: usize) -> Option<Node<'t>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let first = lines.get(*at)?;
    if first.indent != indent {
        return None;
    }
    if is_item(first.text) {
        sequence(lines, at, indent, depth)
    } else {
        mapping(lines, at, indent, depth, None)
    }
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// A block mapping at column `indent`; `first`, when given, is its first
/// `key: value` text, from a sequence item's `- ` line.
fn mapping<'t>(
    lines: &[Line<'t>],
    at: &mut usize,
    indent: usize,
    depth: usize,
    first: Option<&'t str>,
) -> Option<Node<'t>> {
    let mut entries: Vec<(&'t str, Node<'t>)> = Vec::new();
    // Keys seen, for the duplicate check: a scan of `entries` is quadratic
    // in a mapping of a thousand containers.
    let mut keys: std::collections::HashSet<&'t str> = std::collections::HashSet::new();
    let mut pending = first;
    loop {
        let text = match pending.take() {
            Some(text) => text,
            None => match lines.get(*at) {
                Some(line) if line.indent == indent && !is_item(line.text) => {
                    *at += 1;
                    line.text
                }
                Some(line) if line.indent > indent => return None,
                _ => break,
            },
        };
        let (key, rest) = key_value(text)?;
        if !keys.insert(key) {
            return None;
        }
        let value = match rest {
            Some(rest) => {
                // A plain scalar may go on, folded, on deeper lines.
                if lines.get(*at).is_some_and(|next| next.indent > indent) {
                    return None;
                }
                inline(rest)?
            }
            None => match lines.get(*at) {
                Some(next) if next.indent > indent => block(lines, at, next.indent, depth + 1)?,
                // `key:` then `- item` at the key's own column.
                Some(next) if next.indent == indent && is_item(next.text) => {
                    sequence(lines, at, indent, depth + 1)?
                }
                _ => Node::Null,
            },
        };
        entries.push((key, value));
    }
    Some(Node::Map(entries))
}

/// A block sequence whose `- ` lines are at column `indent`.
fn sequence<'t>(
    lines: &[Line<'t>],
    at: &mut usize,
    indent: usize,
    depth: usize,
) -> Option<Node<'t>> {
    let mut items = Vec::new();
    while let Some(line) = lines.get(*at) {
        if line.indent != indent || !is_item(line.text) {
            if line.indent > indent {
                return None;
            }
            break;
        }
        *at += 1;
        let rest = line.text.strip_prefix('-')?.trim_start_matches(' ');
        let column = indent + (line.text.len() - rest.len());
        let item = if rest.is_empty() || is_item(rest) || rest.starts_with('#') {
            // `-` alone (a nested block, or null) and `- - x` are rare: left
            // to serde-saphyr.
            return None;
        } else if key_value(rest).is_some() && !starts_flow_or_quote(rest) {
            mapping(lines, at, column, depth + 1, Some(rest))?
        } else {
            if lines.get(*at).is_some_and(|next| next.indent > indent) {
                return None;
            }
            inline(rest)?
        };
        items.push(item);
    }
    Some(Node::Seq(items))
}

fn starts_flow_or_quote(text: &str) -> bool {
    text.starts_with(['[', '{', '"', '\''])
}

/// `key:` or `key: value`: the key, and the value text if any (a comment
/// after `key:` counts as none).
fn key_value(text: &str) -> Option<(&str, Option<&str>)> {
    let colon = text.find(':')?;
    let (key, after) = (&text[..colon], &text[colon + 1..]);
    let plain_key = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
        && !key.starts_with(['-', '.']);
    if !plain_key {
        return None;
    }
    if after.is_empty() {
        return Some((key, None));
    }
    let rest = after.strip_prefix(' ')?.trim_start_matches(' ');
    if rest.is_empty() || rest.starts_with('#') {
        return Some((key, None));
    }
    Some((key, Some(rest)))
}

/// A value on one line: a quoted or plain scalar, or a flow list or map of
/// them, with nothing after it but a comment.
fn inline(text: &str) -> Option<Node<'_>> {
    let (node, rest) = match text.as_bytes()[0] {
        b'[' => flow_seq(text)?,
        b'{' => flow_map(text)?,
        b'"' | b'\'' => {
            let (value, rest) = quoted(text)?;
            (Node::Quoted(value), rest)
        }
        _ => return plain(text, false).map(Node::Plain),
    };
    end_of_line(rest).then_some(node)
}

/// Nothing, or a comment after at least one space (`"x"# c` is an error).
fn end_of_line(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

/// A plain scalar: `text` up to a comment, when nothing in it could read
/// otherwise. In a flow (`in_flow`), `,` `[` `]` `{` `}` end it instead.
fn plain(text: &str, in_flow: bool) -> Option<&str> {
    let value = match text.find(" #") {
        Some(comment) => &text[..comment],
        None => text,
    }
    .trim_end_matches(' ');
    let first = value.chars().next()?;
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || value.contains(": ")
        || value.ends_with(':')
        || (in_flow && value.contains([',', '[', ']', '{', '}']))
        || !value.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        return None;
    }
    Some(value)
}

/// A one-line quoted scalar at the start of `text`: its value and what
/// follows the closing quote.
fn quoted(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let quote = text.as_bytes()[0];
    let body = &text[1..];
    if quote == b'\'' {
        let mut value = String::new();
        let mut rest = body;
        loop {
            let end = rest.find('\'')?;
            value.push_str(&rest[..end]);
            rest = &rest[end + 1..];
            match rest.strip_prefix('\'') {
                Some(more) => {
                    value.push('\'');
                    rest = more;
                }
                None => return Some((Cow::Owned(value), rest)),
            }
        }
    }
    // Fast: no escape at all.
    let end = body.find(['"', '\\'])?;
    if body.as_bytes()[end] == b'"' {
        return Some((Cow::Borrowed(&body[..end]), &body[end + 1..]));
    }
    let mut value = String::from(&body[..end]);
    let mut chars = body[end..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(value), &body[end + i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                let hex = |chars: &mut std::str::CharIndices<'_>, n: usize| {
                    let digits: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                    (digits.len() == n && digits.chars().all(|c| c.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(&digits, 16).ok())
                        .flatten()
                        .and_then(char::from_u32)
                };
                value.push(match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' => '\t',
                    'n' => '\n',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    'r' => '\r',
                    'e' => '\u{1b}',
                    ' ' => ' ',
                    '"' => '"',
                    '/' => '/',
                    '\\' => '\\',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' => hex(&mut chars, 2)?,
                    'u' => hex(&mut chars, 4)?,
                    'U' => hex(&mut chars, 8)?,
                    _ => return None,
                });
            }
            c => value.push(c),
        }
    }
    None
}

/// `[a, "b", c]` at the start of `text`, and what follows it.
fn flow_seq(text: &str) -> Option<(Node<'_>, &str)> {
    let mut rest = text[1..].trim_start_matches(' ');
    let mut items = Vec::new();
    if let Some(after) = rest.strip_prefix(']') {
        return Some((Node::Seq(items), after));
    }
    loop {
        let (item, after) = flow_scalar(rest)?;
        items.push(item);
        let after = after.trim_start_matches(' ');
        if let Some(after) = after.strip_prefix(']') {
            return Some((Node::Seq(items), after));
        }
        rest = after.strip_prefix(',')?.trim_start_matches(' ');
    }
}

/// `{k: v, k2: "v2"}` at the start of `text`, and what follows it.
fn flow_map(text: &str) -> Option<(Node<'_>, &str)> {
    let mut rest = text[1..].trim_start_matches(' ');
    let mut entries: Vec<(&str, Node<'_>)> = Vec::new();
    if let Some(after) = rest.strip_prefix('}') {
        return Some((Node::Map(entries), after));
    }
    loop {
        let colon = rest.find(": ")?;
        let key = &rest[..colon];
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
            || key.starts_with(['-', '.'])
            || entries.iter().any(|(k, _)| *k == key)
        {
            return None;
        }
        let (value, after) = flow_scalar(rest[colon + 2..].trim_start_matches(' '))?;
        entries.push((key, value));
        let after = after.trim_start_matches(' ');
        if let Some(after) = after.strip_prefix('}') {
            return Some((Node::Map(entries), after));
        }
        rest = after.strip_prefix(',')?.trim_start_matches(' ');
    }
}

/// One scalar inside a flow, and what follows it.
fn flow_scalar(text: &str) -> Option<(Node<'_>, &str)> {
    if text.starts_with(['"', '\'']) {
        let (value, rest) = quoted(text)?;
        return Some((Node::Quoted(value), rest));
    }
    let end = text.find([',', ']', '}'])?;
    let value = plain(text[..end].trim_end_matches(' '), true)?;
    Some((Node::Plain(value), &text[end..]))
}

/// Any error: the caller gives up and asks serde-saphyr.
#[derive(Debug)]
struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not in the plain subset")
    }
}

impl std::error::Error for GiveUp {}

impl de::Error for GiveUp {
    fn custom<T: fmt::Display>(_: T) -> GiveUp {
        GiveUp
    }
}

/// YAML's null words (the core schema's); a plain scalar spelled so is
/// null, not a string.
fn is_null(text: &str) -> bool {
    matches!(text, "null" | "Null" | "NULL" | "~")
}

/// Plain words YAML reads as a boolean or a float: where a string is
/// expected, serde-saphyr's answer is not guessed.
fn is_special(text: &str) -> bool {
    is_null(text)
        || matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | ".inf" | "-.inf" | ".nan"
        )
}

/// A plain decimal integer, as serde-saphyr reads one (`0x`, `0o`, `+`,
/// leading zeros and the like are left to it).
fn integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let simple = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    simple.then(|| text.parse().ok()).flatten()
}

macro_rules! integers {
    ($($method:ident $visit:ident $t:ty),*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
            match self {
                Node::Plain(text) => {
                    let n = integer(text).ok_or(GiveUp)?;
                    visitor.$visit(<$t>::try_from(n).map_err(|_| GiveUp)?)
                }
                _ => Err(GiveUp),
            }
        })*
    };
}

impl<'de> de::Deserializer<'de> for &Node<'de> {
    type Error = GiveUp;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self {
            Node::Null => visitor.visit_unit(),
            Node::Plain(text) if is_null(text) => visitor.visit_unit(),
            Node::Plain(text) if is_special(text) => Err(GiveUp),
            Node::Plain(text) => match integer(text) {
                Some(n) if n >= 0 => visitor.visit_u64(u64::try_from(n).map_err(|_| GiveUp)?),
                Some(n) => visitor.visit_i64(i64::try_from(n).map_err(|_| GiveUp)?),
                // A float, or a word that only looks like a number.
                None if text.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+') => {
                    Err(GiveUp)
                }
                None => visitor.visit_borrowed_str(text),
            },
            Node::Quoted(text) => visitor.visit_str(text),
            Node::Seq(_) => self.deserialize_seq(visitor),
            Node::Map(_) => self.deserialize_map(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self {
            Node::Null => visitor.visit_none(),
            Node::Plain(text) if is_null(text) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self {
            Node::Plain(text) if is_special(text) => Err(GiveUp),
            Node::Plain(text) => visitor.visit_borrowed_str(text),
            Node::Quoted(text) => visitor.visit_str(text),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self {
            Node::Plain("true") => visitor.visit_bool(true),
            Node::Plain("false") => visitor.visit_bool(false),
            _ => Err(GiveUp),
        }
    }

    integers! {
        deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64,
        deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self {
            Node::Null => visitor.visit_unit(),
            Node::Plain(text) if is_null(text) => visitor.visit_unit(),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self {
            Node::Seq(items) => visitor.visit_seq(de::value::SeqDeserializer::new(items.iter())),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        match self {
            Node::Map(entries) => visitor.visit_map(de::value::MapDeserializer::new(
                entries.iter().map(|(k, v)| (Key(k), v)),
            )),
            _ => Err(GiveUp),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, GiveUp> {
        // Unit variants only: a word.
        let word: &str = match self {
            Node::Plain(text) if !is_special(text) => text,
            Node::Quoted(text) => text,
            _ => return Err(GiveUp),
        };
        visitor.visit_enum(IntoDeserializer::<GiveUp>::into_deserializer(
            word.to_owned(),
        ))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GiveUp> {
        // serde-saphyr reads what it ignores, and refuses some of it (a
        // float too large to be finite): such a value is left to it.
        if self.may_be_refused_when_ignored() {
            return Err(GiveUp);
        }
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        f32 f64 char bytes byte_buf unit_struct newtype_struct tuple tuple_struct i128 u128
    }
}

impl<'de> IntoDeserializer<'de, GiveUp> for &Node<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// A mapping key: a plain word.
struct Key<'t>(&'t str);

impl<'de> IntoDeserializer<'de, GiveUp> for Key<'de> {
    type Deserializer = de::value::BorrowedStrDeserializer<'de, GiveUp>;
    fn into_deserializer(self) -> Self::Deserializer {
        de::value::BorrowedStrDeserializer::new(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn reads_the_subset_and_gives_up_on_the_rest() {
        let map: BTreeMap<String, serde_json::Value> = read(
            "a: x\nb:\n  c: \"q\\\"\\n\"\n  d: [1, 'it''s', \"z\"]\n  e: {k: v}\nf:\n- 1\n- g: h\n  i: j\n# end\n",
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"a":"x","b":{"c":"q\"\n","d":[1,"it's","z"],"e":{"k":"v"}},"f":[1,{"g":"h","i":"j"}]}"#
        );
        for text in [
            "a: &x 1\n",
            "a: *x\n",
            "a: !!str 1\n",
            "a: |\n  b\n",
            "a: b\n  c\n",
            "a: \"b\n  c\"\n",
            "a: [1,\n  2]\n",
            "\"a\": 1\n",
            "a: 1\na: 2\n",
            "? a\n: b\n",
            "---\na: 1\n",
            "a:\tb\n",
            "a: b: c\n",
            "a: 1.5\n",
            "a: {b: c}# d\n",
            "a: \"b\"# d\n",
        ] {
            assert!(
                read::<BTreeMap<String, serde_json::Value>>(text).is_none(),
                "{text:?}"
            );
        }
    }
}
