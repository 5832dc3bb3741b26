// The pieces of YAML that parsers branch on, for property tests that build
// hostile project files from them: shared by the CLI fuzz tests and the
// model's check that its fast path reads what the full parse reads.

/// Punctuation, tags, anchors, scalars and markers, in no particular
/// order; each test adds the keys of the file it builds.
pub const YAML_PIECES: &[&str] = &[
    "operation: {kind: create, pid: 1, host: h, started_at: x}",
    "ports: ",
    "state: ",
    "\n",
    "  ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    ": ",
    "&a ",
    "*a",
    "<<: ",
    "!!str ",
    "? ",
    "|\n",
    "'",
    "\"",
    "# c",
    "~",
    "1e999",
    "70000",
    "---\n",
    "...\n",
    "\t",
    "\u{feff}",
    "x",
];
