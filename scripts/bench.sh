#!/usr/bin/env bash
# Prints lxdev's benchmark figures (medians). Usage: scripts/bench.sh [REPEATS=5]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z "${LXDEV_BIN:-}" ]]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
fi
exec python3 "$root/scripts/bench.py" "$@"
