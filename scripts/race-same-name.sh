#!/usr/bin/env bash
# N parallel `container create dup busybox`: exactly one wins (exit 0), all
# others are told it exists (exit 4); one entry, one runtime instance.
# Usage: scripts/race-same-name.sh [N=20]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${1:-20}
export LXDEV_FAKE_DELAY_MS=${LXDEV_FAKE_DELAY_MS:-20}
lib_start race-same-name
lib_project rdup

for ((i = 0; i < n; i++)); do
  lx_bg "dup$i" container create dup busybox --no-provision
done
wait

ok=$(rc_count 0)
conflict=$(rc_count 4)
[[ $ok == 1 ]] || fail "$ok runs exited 0, expected exactly 1 (exit codes: $(rc_summary))"
[[ $conflict == $((n - 1)) ]] || fail "$conflict runs exited 4, expected $((n - 1)) (exit codes: $(rc_summary); e.g. $(unexpected_err 0 4))"
entries='?'
if state=$(cfg_state); then
  entries=$(grep -c '^C ' <<<"$state" || true)
  [[ $state == "C dup ready" ]] || fail "the file should hold just dup, ready; it holds: $state"
  mismatch=$(agree "$state")
  [[ -z $mismatch ]] || fail "file and runtime disagree: $mismatch"
else
  fail "lxdev list failed on the result"
fi
instances=$(rt_instances | wc -l)
[[ $instances == 1 ]] || fail "$instances runtime instances, expected 1"
temps=$(temp_files)
[[ $temps == 0 ]] || fail "$temps temp files left"
finish "$ok won, $conflict refused with exit 4, $entries entry, $instances runtime instance, $temps temp files"
