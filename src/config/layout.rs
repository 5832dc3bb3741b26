//! The line structure of a containers.yaml text, found by scanning lines
//! (no YAML parser): the lines up to `containers:` (the head), one chunk of
//! lines per container entry, and the lines after the entries (the tail).
//!
//! It lets `model::parse_changed` re-parse only the entries an edit (or
//! another process) changed, instead of the whole file. That is sound only
//! when the scan sees what a YAML parser sees, so [`Layout::of`] gives up
//! (returns `None`, and the caller parses the whole text) unless:
//! - the text has no `&` (so no anchors, so no alias can reach across
//!   entries), no tab, carriage return or byte order mark past the start;
//! - every line of the head and the tail other than comments and blank
//!   lines is a plain `key:`, `key: value`, `key: []`, `key: {}` or
//!   `- value` line with no quote or bracket elsewhere: nothing there can
//!   open a multi-line construct, or close one opened in an entry (serde-
//!   saphyr lets a quoted scalar or a flow collection go on at column 0);
//! - `containers:` is a column-0 line with no value, and each entry starts
//!   with a line `NAME:` at one column n >= 1; content lines in between are
//!   indented deeper than n.
//!
//! A chunk's key line is only *probably* a key: a quoted scalar of the
//! entry above may have swallowed it. The caller closes that gap by parsing
//! the chunks and checking that exactly the scanned names come back as
//! keys (see `model::parse_changed`).

/// See the module documentation.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout<'t> {
    /// Up to and including the `containers:` line.
    pub head: &'t str,
    /// Comment and blank lines between `containers:` and the first entry.
    pub preamble: &'t str,
    /// The entries in file order: each one's name and lines (with the
    /// comment and blank lines that follow it).
    pub chunks: Vec<Chunk<'t>>,
    /// From the first column-0 line after the entries to the end.
    pub tail: &'t str,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Chunk<'t> {
    pub name: &'t str,
    pub text: &'t str,
}

impl<'t> Layout<'t> {
    /// The layout of `text`, or `None` when the scan cannot be trusted to
    /// see what a YAML parser sees (see the module documentation).
    pub fn of(text: &'t str) -> Option<Layout<'t>> {
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Byte scans: a char pattern walks the text char by char.
        if body.bytes().any(|b| matches!(b, b'&' | b'\t' | b'\r')) || body.contains('\u{feff}') {
            return None;
        }
        let mut lines = Lines { text, at: 0 };
        // The head: simple lines up to `containers:`.
        let head_end = loop {
            let (start, line) = lines.next()?;
            let line = if start == 0 {
                line.strip_prefix('\u{feff}').unwrap_or(line)
            } else {
                line
            };
            if is_containers_line(line) {
                break start + line_len(text, start);
            }
            if !is_simple(line) {
                return None;
            }
        };
        let mut preamble_end = None;
        let mut indent = 0;
        let mut chunks: Vec<Chunk<'t>> = Vec::new();
        let mut chunk_start = 0;
        let mut tail_start = text.len();
        for (start, line) in lines {
            let spaces = line.bytes().take_while(|&b| b == b' ').count();
            let content = &line[spaces..];
            if matches!(content.as_bytes().first(), None | Some(b'#')) {
                continue;
            }
            if spaces == 0 {
                tail_start = start;
                break;
            }
            if indent == 0 {
                indent = spaces;
                preamble_end = Some(start);
            }
            if spaces < indent {
                return None;
            }
            if spaces == indent {
                let name = key_line(content)?;
                if let Some(last) = chunks.last_mut() {
                    last.text = &text[chunk_start..start];
                }
                chunks.push(Chunk { name, text: "" });
                chunk_start = start;
            }
        }
        if let Some(last) = chunks.last_mut() {
            last.text = &text[chunk_start..tail_start];
        }
        let preamble_end = preamble_end.unwrap_or(tail_start);
        let tail = &text[tail_start..];
        if !tail.lines().all(is_simple) {
            return None;
        }
        Some(Layout {
            head: &text[..head_end],
            preamble: &text[head_end..preamble_end],
            chunks,
            tail,
        })
    }
}

struct Lines<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Iterator for Lines<'t> {
    /// A line's start offset and its text without the line break.
    type Item = (usize, &'t str);
    fn next(&mut self) -> Option<(usize, &'t str)> {
        if self.at >= self.text.len() {
            return None;
        }
        let start = self.at;
        let end = memchr::memchr(b'\n', &self.text.as_bytes()[start..])
            .map_or(self.text.len(), |i| start + i);
        self.at = end + 1;
        // `start` and `end` sit next to `\n` bytes (or the ends), which are
        // char boundaries.
        Some((start, &self.text[start..end]))
    }
}

/// The length of the line at `start`, line break included.
fn line_len(text: &str, start: usize) -> usize {
    text[start..]
        .find('\n')
        .map_or(text.len() - start, |i| i + 1)
}

/// `containers:` at column 0 with no value (a comment may follow).
fn is_containers_line(line: &str) -> bool {
    line.strip_prefix("containers:")
        .map(str::trim_start)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
}

/// The name of an entry's first line, `NAME:` or `NAME: value` with a
/// plain name, or one written in double quotes (`"no":`, as lxdev writes
/// a name a YAML 1.1 reader would take for a boolean).
fn key_line(content: &str) -> Option<&str> {
    let (name, after) = match content.strip_prefix('"') {
        Some(quoted) => {
            let end = quoted.find('"')?;
            (&quoted[..end], quoted[end + 1..].strip_prefix(':')?)
        }
        None => {
            let colon = content.find(':')?;
            (&content[..colon], &content[colon + 1..])
        }
    };
    let plain_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !name.starts_with('-');
    (plain_name && (after.is_empty() || after.starts_with(' '))).then_some(name)
}

/// A blank line, a comment line, or a one-line `key: value` / `- value`
/// that cannot open or close a multi-line construct: plain words only, or
/// exactly `[]` / `{}` as the value.
fn is_simple(line: &str) -> bool {
    let content = line.trim_start_matches(' ');
    if content.is_empty() || content.starts_with('#') {
        return true;
    }
    let value = if let Some(item) = content.strip_prefix("- ") {
        item
    } else {
        let Some(name) = key_line(content) else {
            return false;
        };
        &content[name.len() + 1..]
    };
    // A comment after the value.
    let value = value.split(" #").next().unwrap_or(value).trim();
    if value == "[]" || value == "{}" {
        return true;
    }
    let plain = |b: u8| b.is_ascii_alphanumeric() || b" _.-/:@+=~,".contains(&b);
    value.bytes().all(plain)
        && !value.starts_with(['-', ':', ',', '~'])
        && !value.contains(": ")
        && !value.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_head_entries_and_tail() {
        let text = "# c\nproject: p\ncontainers:\n  # first\n  a:\n    image: x\n\n  # about b\n  b:\n    image: \"y\"\n# end\ndefaults:\n  ports: []\n";
        let l = Layout::of(text).unwrap();
        assert_eq!(l.head, "# c\nproject: p\ncontainers:\n");
        assert_eq!(l.preamble, "  # first\n");
        assert_eq!(
            l.chunks,
            [
                Chunk {
                    name: "a",
                    text: "  a:\n    image: x\n\n  # about b\n"
                },
                Chunk {
                    name: "b",
                    text: "  b:\n    image: \"y\"\n# end\n"
                }
            ]
        );
        assert_eq!(l.tail, "defaults:\n  ports: []\n");
        let joined: String = [l.head, l.preamble]
            .into_iter()
            .chain(l.chunks.iter().map(|c| c.text))
            .chain([l.tail])
            .collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn empty_and_missing_entries() {
        let l = Layout::of("project: p\ncontainers:\n").unwrap();
        assert!(l.chunks.is_empty() && l.tail.is_empty());
        let l = Layout::of("project: p\ncontainers: # none\nruntime: fake").unwrap();
        assert!(l.chunks.is_empty());
        assert_eq!(l.tail, "runtime: fake");
        assert_eq!(Layout::of("project: p\n"), None);
        assert_eq!(Layout::of("project: p\ncontainers: {}\n"), None);
    }

    #[test]
    fn gives_up_on_what_a_line_scan_cannot_see() {
        for text in [
            "project: \"p\ncontainers:\n  a:\n    image: x\n\"\n",
            "project: p\ncontainers:\n  a:\n    image: x\nx: \"y\"\n",
            "project: p\ncontainers:\n  a: &a\n    image: x\n",
            "project: p\ncontainers:\n  a:\n\timage: x\n",
            "project: p\r\ncontainers:\r\n",
            "project: p\ncontainers:\n    a:\n      image: x\n  b:\n",
            "project: p\ncontainers:\n  - a\n",
            "x: [1,\n2]\ncontainers:\n",
            "x: |\n  y\ncontainers:\n",
        ] {
            assert_eq!(Layout::of(text), None, "{text:?}");
        }
    }
}
