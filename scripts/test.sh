#!/usr/bin/env bash
# The one test command: build, unit and integration tests, then the race
# scripts on the fake runtime, and on LXD too when `lxc` reaches a daemon.
# Usage: scripts/test.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --release
cargo test
LXDEV_RUNTIME=fake scripts/race-all.sh
if command -v lxc >/dev/null && lxc info >/dev/null 2>&1; then
  LXDEV_RUNTIME=lxd scripts/race-all.sh
else
  echo "test.sh: lxc reaches no LXD daemon; skipped the LXD races"
fi
