#!/usr/bin/env bash
# Prints lxdev's benchmark figures (medians). Usage: scripts/bench.sh [REPEATS=5]
# Builds the release binary (unless LXDEV_BIN names one) and the C floor
# (scripts/bench-floor.c), installing a C compiler with apt-get if missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
if [[ -z "${LXDEV_BIN:-}" ]]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  export LXDEV_BIN=$target/release/lxdev
fi
if ! command -v cc >/dev/null; then
  apt-get install -y -qq gcc >/dev/null
fi
mkdir -p "$target/bench"
export LXDEV_BENCH_FLOOR=$target/bench/floor
cc -O2 -o "$LXDEV_BENCH_FLOOR" "$root/scripts/bench-floor.c"
exec python3 "$root/scripts/bench.py" "$@"
