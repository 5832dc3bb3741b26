#!/usr/bin/env bash
# The one test command: build, unit and integration tests, then the race
# scripts on the fake runtime, and on LXD too when `lxc` reaches a daemon.
# Every stage after the build runs even if an earlier one failed, so one
# run shows everything that is broken; the exit status is non-zero if any
# stage failed.
# Usage: scripts/test.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cargo build --release

failed=()
stage() {
  local name=$1
  shift
  echo "== $name"
  "$@" || failed+=("$name")
}
stage "cargo test" cargo test --no-fail-fast
stage "races (fake)" env LXDEV_RUNTIME=fake scripts/race-all.sh
if command -v lxc >/dev/null && lxc info >/dev/null 2>&1; then
  stage "races (lxd)" env LXDEV_RUNTIME=lxd scripts/race-all.sh
else
  echo "== races (lxd): skipped, lxc reaches no LXD daemon"
fi
if ((${#failed[@]})); then
  printf 'test.sh: FAIL: %s\n' "$(IFS=,; echo "${failed[*]}")"
  exit 1
fi
echo "test.sh: PASS"
