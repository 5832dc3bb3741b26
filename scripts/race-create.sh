#!/usr/bin/env bash
# N parallel `container create cI busybox` on one project. Every one must
# exit 0 and be recorded; the runtime must have exactly those N instances;
# no entry may be left in flight and no temp file behind.
# Usage: scripts/race-create.sh [N=50]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${1:-50}
export LXDEV_FAKE_DELAY_MS=${LXDEV_FAKE_DELAY_MS:-20}
lib_start race-create
lib_project race

for ((i = 0; i < n; i++)); do
  lx_bg "c$i" container create "c$i" busybox --no-provision
done
wait

ok=$(rc_count 0)
[[ $ok == "$n" ]] || fail "$ok/$n exited 0 (exit codes: $(rc_summary); e.g. $(unexpected_err 0))"
if state=$(cfg_state); then
  entries=$(grep -c '^C ' <<<"$state" || true)
  [[ $entries == "$n" ]] || fail "$entries entries in the file, expected $n"
  expected=$(for ((i = 0; i < n; i++)); do echo "C c$i"; done | sort)
  [[ $(cfg_names "$state" | sort) == "$expected" ]] || fail "the file does not list exactly c0..c$((n - 1))"
  flying=$(in_flight "$state")
  [[ $flying == 0 ]] || fail "$flying entries left in flight"
  mismatch=$(agree "$state")
  [[ -z $mismatch ]] || fail "file and runtime disagree: $mismatch"
else
  fail "lxdev list failed on the result"
  entries='?'
fi
instances=$(rt_instances | wc -l)
[[ $instances == "$n" ]] || fail "$instances runtime instances, expected $n"
temps=$(temp_files)
[[ $temps == 0 ]] || fail "$temps temp files left"
finish "$ok/$n created, $entries entries, $instances runtime instances, $temps temp files"
