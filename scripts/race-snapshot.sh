#!/usr/bin/env bash
# One container c0, then N parallel `snapshot create c0 sI`. Every one must
# exit 0 and be recorded ready, and the runtime must have exactly those N
# snapshots.
# Usage: scripts/race-snapshot.sh [N=30]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${1:-30}
export LXDEV_FAKE_DELAY_MS=${LXDEV_FAKE_DELAY_MS:-20}
lib_start race-snapshot
lib_project rsnap

if ! err=$(lx -q container create c0 busybox --no-provision 2>&1); then
  fail "container create c0 failed: $err"
  finish "-"
fi
for ((i = 0; i < n; i++)); do
  lx_bg "s$i" snapshot create c0 "s$i" -d "race $i"
done
wait

ok=$(rc_count 0)
[[ $ok == "$n" ]] || fail "$ok/$n exited 0 (exit codes: $(rc_summary); e.g. $(unexpected_err 0))"
recorded='?'
if state=$(cfg_state); then
  recorded=$(grep -c '^S c0 ' <<<"$state" || true)
  [[ $recorded == "$n" ]] || fail "$recorded snapshots recorded, expected $n"
  expected=$(for ((i = 0; i < n; i++)); do echo "S c0 s$i ready"; done | sort)
  [[ $(grep '^S ' <<<"$state" | sort) == "$expected" ]] || fail "the file does not list exactly s0..s$((n - 1)), all ready"
  mismatch=$(agree "$state")
  [[ -z $mismatch ]] || fail "file and runtime disagree: $mismatch"
else
  fail "lxdev list failed on the result"
fi
in_runtime=$(rt_snapshots "$PROJECT-c0" | wc -l)
[[ $in_runtime == "$n" ]] || fail "$in_runtime snapshots in the runtime, expected $n"
temps=$(temp_files)
[[ $temps == 0 ]] || fail "$temps temp files left"
finish "$ok/$n snapshots created, $recorded recorded, $in_runtime in the runtime, $temps temp files"
