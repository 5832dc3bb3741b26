//! What is wrong with a project file, told in the file format's words: a
//! parser error or a failed check becomes one line naming the file, the
//! line and column where that is known, and what belongs there.
//!
//! The typed model keeps no positions, so places are found by reading the
//! text around the parser's position, or by searching for the key that
//! failed a check. A wrong guess only costs a less precise message: each
//! heuristic gives up on anything unusual.

use std::path::Path;

/// The 1-based line and column of the first block-mapping key spelled
/// `key` (plain or quoted), for pointing at a name that failed validation.
/// A heuristic: the typed model keeps no positions, and a wrong guess only
/// costs a less precise pointer, so it gives up on anything unusual.
pub(super) fn find_key_line(text: &str, key: &str) -> Option<(usize, usize)> {
    let candidates = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    text.lines().enumerate().find_map(|(i, line)| {
        let body = line.trim_start();
        let column = line.len() - body.len() + 1;
        candidates
            .iter()
            .any(|c| body.starts_with(c.as_str()))
            .then_some((i + 1, column))
    })
}

/// The 1-based line and column of the key at the end of `keys` (a chain of
/// block-mapping keys from the document's root: `containers`, `web`,
/// `limits`, `memory`), each searched for inside the block of the one
/// before it. Where the chain goes on inside a flow mapping or list
/// (`limits: {memory: x}`), the line of the last key found; `None` when
/// not even the first is found. A heuristic like [`find_key_line`].
pub(super) fn find_path_line(text: &str, keys: &[&str]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Option<(usize, usize)> = None;
    // The block searched: lines after `from`, indented more than `parent`.
    let (mut from, mut parent) = (0usize, None::<usize>);
    for key in keys {
        let candidates = [
            format!("{key}:"),
            format!("\"{key}\":"),
            format!("'{key}':"),
        ];
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(from) {
            let body = line.trim_start();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            let indent = line.len() - body.len();
            if parent.is_some_and(|p| indent <= p) {
                break;
            }
            if candidates.iter().any(|c| body.starts_with(c.as_str())) {
                hit = Some((i, indent));
                break;
            }
        }
        let Some((i, indent)) = hit else {
            return found;
        };
        found = Some((i + 1, indent + 1));
        (from, parent) = (i + 1, Some(indent));
    }
    found
}

/// Turns a serde-saphyr error into our one-line message.
pub(super) fn from_yaml_error(
    path: &Path,
    text: &str,
    err: &serde_saphyr::Error,
) -> crate::error::Error {
    use serde_saphyr::MessageFormatter;
    if let Some((at, message)) = explain_wrong_shape(text, err) {
        return invalid(path, Some(at), &message);
    }
    // The user formatter words things for people rather than for Rust
    // developers ("duplicate mapping key `d` is not allowed here" instead of
    // "... set DuplicateKeyPolicy in Options if acceptable").
    let message = serde_saphyr::UserMessageFormatter.format_message(err);
    let message = message
        .replace("unknown variant", "unknown value")
        .replace("invalid u16", "expected an integer from 0 to 65535")
        .replace("invalid u32", "expected an integer from 0 to 4294967295");
    let location = err
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .filter(|&(line, _)| line > 0);
    invalid(path, location, &message)
}

/// What a value is, or must be, in the words of the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Mapping,
    List,
    Single,
}

/// For a value of the wrong shape (a list where a mapping belongs, ...),
/// says what belongs there in the user's words, naming the key by its place
/// in the file: "`containers` must be a mapping of container names to their
/// settings, not a list". serde-saphyr only says "expected mapping start".
///
/// The key is found by reading the text around the error's position (the
/// typed model keeps no spans): the key before the value on its line, else
/// the nearest line above that is less indented, and their parents by
/// indentation. A wrong guess costs only the plainer message: anything
/// unusual returns `None`.
fn explain_wrong_shape(text: &str, err: &serde_saphyr::Error) -> Option<((usize, usize), String)> {
    let serde_saphyr::Error::Unexpected { expected, location } = err.without_snippet() else {
        return None;
    };
    let expected = match *expected {
        "mapping start" => Shape::Mapping,
        "sequence start" => Shape::List,
        "string scalar" => Shape::Single,
        _ => return None,
    };
    let (line, column) = (location.line() as usize, location.column() as usize);
    let lines: Vec<&str> = text.lines().collect();
    let here = *lines.get(line.checked_sub(1)?)?;
    let before: String = here.chars().take(column.checked_sub(1)?).collect();
    let rest: String = here.chars().skip(column - 1).collect();
    let found = match rest.chars().next() {
        Some('[' | '-') => Shape::List,
        Some('{') => Shape::Mapping,
        // A block mapping starts with its first key.
        _ if before.trim().is_empty() && key_of(rest.trim_end()).is_some() => Shape::Mapping,
        _ => Shape::Single,
    };
    if found == expected {
        return None;
    }
    let path = key_path(&lines, line - 1, &before)?;
    let message = format!(
        "{} must be {}, not {}",
        subject(&path),
        wanted(&path, expected),
        match found {
            Shape::Mapping => "a mapping",
            Shape::List => "a list",
            Shape::Single => "a single value",
        }
    );
    Some(((line, column), message))
}

/// The keys leading to the value that starts at `lines[index]` after
/// `before`, outermost first; empty for the document itself.
fn key_path(lines: &[&str], index: usize, before: &str) -> Option<Vec<String>> {
    let indent_of = |line: &str| line.len() - line.trim_start().len();
    let mut path = Vec::new();
    let mut indent = indent_of(before);
    let mut from = index;
    if before.trim().is_empty() {
        // The value starts its line: its key is on a line above. A block
        // list may sit at its key's indentation (`key:` then `- item`).
        let value_indent = before.len();
        let starts_list = lines[index].trim_start().starts_with('-');
        let key_line = (0..index).rev().find(|&i| {
            let l = lines[i];
            let body = l.trim_start();
            !body.is_empty()
                && !body.starts_with('#')
                && (indent_of(l) < value_indent || starts_list && indent_of(l) == value_indent)
        });
        match key_line {
            None => return Some(path),
            Some(i) => {
                path.push(key_of(lines[i].trim())?);
                indent = indent_of(lines[i]);
                from = i;
            }
        }
    } else {
        // `key: {inner: [` puts several keys on one line, outermost first.
        let mut keys = Vec::new();
        for part in before.trim_end().split('{') {
            let last = part.rsplit(',').next().unwrap_or(part).trim();
            if !last.is_empty() {
                keys.push(key_of(last)?);
            }
        }
        keys.reverse();
        path.extend(keys);
    }
    // Parents: each less-indented `key:` line above.
    for i in (0..from).rev() {
        let l = lines[i];
        let body = l.trim();
        if body.is_empty() || body.starts_with('#') || indent_of(l) >= indent {
            continue;
        }
        path.push(key_of(body)?);
        indent = indent_of(l);
        if indent == 0 {
            break;
        }
    }
    path.reverse();
    Some(path)
}

/// The key of a `key:` or `key: value` text, unquoted; `None` for anything
/// else (a list item, a flow collection, a multi-line key).
fn key_of(text: &str) -> Option<String> {
    let text = text.split(" #").next().unwrap_or(text).trim_end();
    let key = match text.strip_suffix(':') {
        Some(key) => key,
        None => text.split_once(": ")?.0,
    };
    let key = key.trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key);
    let plain = !key.is_empty()
        && !key.starts_with(['-', '[', '{', '?', '&', '*', '!'])
        && !key.contains([':', '{', '}', '[', ']']);
    plain.then(|| key.to_string())
}

/// How a message names the value at `path`.
fn subject(path: &[String]) -> String {
    let strs: Vec<&str> = path.iter().map(String::as_str).collect();
    match strs[..] {
        [] => "the file".to_string(),
        ["containers", name] => format!("container `{name}`"),
        ["containers", name, "snapshots", snap] => {
            format!("snapshot `{snap}` of container `{name}`")
        }
        ["containers", name, "snapshots", snap, key, ..] => {
            format!("`{key}` of snapshot `{snap}` of container `{name}`")
        }
        ["containers", name, key, ..] => format!("`{key}` of container `{name}`"),
        _ => format!("`{}`", strs.join(".")),
    }
}

/// What the value at `path` must be, in the file format's words.
fn wanted(path: &[String], shape: Shape) -> &'static str {
    let strs: Vec<&str> = path.iter().map(String::as_str).collect();
    match (shape, &strs[..]) {
        (Shape::Mapping, []) => "a mapping with `project:` and `containers:`",
        (Shape::Mapping, ["containers"]) => "a mapping of container names to their settings",
        (Shape::Mapping, ["containers", _]) => {
            "a mapping of its settings (`image:`, `ports:`, `snapshots:`, ...)"
        }
        (Shape::Mapping, ["containers", _, "snapshots"]) => {
            "a mapping of snapshot names to their settings"
        }
        (Shape::Mapping, ["containers", _, "snapshots", _]) => {
            "a mapping of its settings (`description:`, `created_at:`, ...)"
        }
        (Shape::Mapping, ["defaults"]) => "a mapping (`ports:`, `user:`, `max_containers:`)",
        (Shape::Mapping, _) => "a mapping of `key: value` lines",
        (Shape::List, _) => "a list (`[80, 443]`, or one `- item` per line)",
        (Shape::Single, _) => "a single value (text)",
    }
}

/// `invalid `PATH` at line L, column C: MESSAGE` on one line: line breaks
/// and other control characters in parser messages would break the
/// single-line `error: ...` that `main` prints.
pub(super) fn invalid(
    path: &Path,
    at: Option<(usize, usize)>,
    message: &str,
) -> crate::error::Error {
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let path = path.display();
    crate::error::Error::InvalidConfig(match at {
        Some((line, column)) => {
            format!("invalid `{path}` at line {line}, column {column}: {message}")
        }
        None => format!("invalid `{path}`: {message}"),
    })
}
