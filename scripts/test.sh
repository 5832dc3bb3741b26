#!/usr/bin/env bash
# The one test command: build, unit and integration tests, then the race
# scripts and the lxc-dev-manager transcript on the fake runtime, and on
# LXD and Incus too when their clients reach a daemon.
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
stage "compat (fake)" env LXDEV_RUNTIME=fake scripts/compat-transcript.sh
# The races on each real runtime whose client reaches a daemon.
for runtime in lxd:lxc incus:incus; do
  name=${runtime%%:*} client=${runtime#*:}
  if command -v "$client" >/dev/null && "$client" query /1.0 >/dev/null 2>&1; then
    stage "races ($name)" env LXDEV_RUNTIME="$name" scripts/race-all.sh
    stage "compat ($name)" env LXDEV_RUNTIME="$name" scripts/compat-transcript.sh
  else
    echo "== races and compat ($name): skipped, $client reaches no daemon"
  fi
done
if ((${#failed[@]})); then
  printf 'test.sh: FAIL: %s\n' "$(IFS=,; echo "${failed[*]}")"
  exit 1
fi
echo "test.sh: PASS"
