#!/usr/bin/env bash
# A checked-in file of N entries the runtime lacks; two `up --all --jobs J`
# at once: both exit 0, each container is created exactly once, all run,
# the file is byte for byte as checked in and agrees with the runtime. Then
# a third `up --all` is SIGKILLed mid-way on a fresh file: after
# `doctor --fix` and another `up --all`, the same holds.
# Usage: scripts/race-up.sh [N=20] [JOBS=4]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${1:-20}
jobs=${2:-4}
export LXDEV_FAKE_DELAY_MS=${LXDEV_FAKE_DELAY_MS:-50}
lib_start race-up
lib_project rup

# seed_entries: N checked-in entries u1..uN, none created here.
seed_entries() {
  local i
  sed -i 's/^containers: {}$/containers:/' "$FILE"
  for ((i = 1; i <= n; i++)); do
    printf '  u%s:\n    image: busybox\n' "$i" >>"$FILE"
  done
}

# running: how many of the project's instances the runtime reports running.
running() {
  if [[ $LXDEV_RUNTIME == fake ]]; then
    local inst c=0
    for inst in $(rt_instances); do
      [[ $(cat "$PROJ/.lxdev/fake/instances/$inst/status" 2>/dev/null) == Running ]] && c=$((c + 1))
    done
    echo "$c"
  else
    "$RT_CLIENT" list --format csv -c ns | grep "^$PROJECT-" | grep -c ',RUNNING$' || true
  fi
}

# check LABEL: the file is as seeded, every entry ready and running.
check() {
  local state mismatch r
  state=$(cfg_state) || { fail "$1: lxdev list failed"; return; }
  [[ $(grep -c '^C .* ready$' <<<"$state") == "$n" ]] || fail "$1: not all $n entries ready: $(grep -v ' ready$' <<<"$state" | head -3 | paste -sd ';')"
  mismatch=$(agree "$state")
  [[ -z $mismatch ]] || fail "$1: file and runtime disagree: $mismatch"
  r=$(running)
  [[ $r == "$n" ]] || fail "$1: $r of $n instances running"
}

seed_entries
seeded=$(cat "$FILE")
lx_bg up1 up --all --jobs "$jobs" --no-provision
lx_bg up2 up --all --jobs "$jobs" --no-provision
wait
ok=$(rc_count 0)
[[ $ok == 2 ]] || fail "$ok of 2 concurrent up --all exited 0 (exit codes: $(rc_summary); e.g. $(unexpected_err 0))"
created=$(cat "$WORK"/up1.out "$WORK"/up2.out | grep -c '^created ' || true)
[[ $created == "$n" ]] || fail "$created creates reported for $n entries (none may be created twice)"
[[ $(cat "$FILE") == "$seeded" ]] || fail "the file changed: $(diff <(echo "$seeded") "$FILE" | head -3 | paste -sd ';')"
check "two up --all"

# A kill in the middle: a fresh file and runtime, then SIGKILL.
rt_instances | while read -r inst; do
  if [[ $LXDEV_RUNTIME == fake ]]; then rm -rf "$PROJ/.lxdev/fake/instances/$inst"; else "$RT_CLIENT" delete --force "$inst" >/dev/null; fi
done
"$LXDEV" -C "$PROJ" up --all --jobs "$jobs" --no-provision >"$WORK/kill.out" 2>&1 &
victim=$!
for ((i = 0; i < 500; i++)); do
  grep -q 'kind: instantiate' "$FILE" 2>/dev/null && break
  sleep 0.01
done
sleep 0.$((RANDOM % 3))
kill -9 "$victim" 2>/dev/null || true
wait "$victim" 2>/dev/null || true
before_fix=$(rt_instances | wc -l)
# SIGKILL stops lxdev, not the runtime work it started (an orphaned `lxc`):
# doctor leaves such entries alone until that work ends, so repeat while
# anything is still in flight.
for ((tries = 0; tries < 300; tries++)); do
  lx -q doctor --fix >"$WORK/fix.out" 2>&1 || true
  state=$(cfg_state 2>/dev/null) || break
  [[ $(in_flight "$state") == 0 ]] && break
  sleep 0.1
done
lx up --all --jobs "$jobs" --no-provision >"$WORK/after.out" 2>"$WORK/after.err" || fail "up --all after the kill failed: $(head -c 300 "$WORK/after.err")"
[[ $(cat "$FILE") == "$seeded" ]] || fail "after the kill the file is not as checked in: $(diff <(echo "$seeded") "$FILE" | head -3 | paste -sd ';')"
check "after a kill"
finish "$n entries, jobs $jobs: 2 concurrent up --all exit 0, $created creates; killed with $before_fix of $n made, settled and brought up"
