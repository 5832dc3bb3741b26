#!/usr/bin/env bash
# Holds containers.yaml.lock with flock(1) for HOLD seconds. Then:
# 1. `lxdev --lock-timeout 1 container create x busybox` must exit 75 after
#    about 1 s (0.9-2.5 s), name the holder (flock or its pid) on stderr,
#    and leave containers.yaml byte-for-byte unchanged;
# 2. the same command with the default timeout, started while the lock is
#    still held, must say "waiting for lock" once and exit 0 shortly after
#    the holder lets go, with x recorded. The handoff (from the holder's
#    release to the waiter's acquisition, both clock readings) must be
#    0-0.5 s.
# Usage: scripts/lock-timeout.sh [HOLD=5]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
hold=${1:-5}
unset LXDEV_LOCK_TIMEOUT LXDEV_FAKE_DELAY_MS LXDEV_FAKE_FAIL
lib_start lock-timeout
lib_project lockt
cp "$FILE" "$WORK/before.yaml"

# The holder writes the instant it lets go (just before flock(1) closes the
# lock), so the handoff below is measured between two clock readings on
# either side of the release, never estimated from the hold time.
flock "$LOCK" bash -c 'sleep "$1"; echo "${EPOCHREALTIME/./}" >"$2"' _ "$hold" "$WORK/released" &
holder=$!
for ((i = 0; i < 200; i++)); do
  lock_free || break
  sleep 0.01
done
if lock_free; then
  fail "flock did not take $LOCK within 2 s"
  finish "-"
fi

# 1. Timeout.
t0=$(now_us)
trc=0
"$LXDEV" -C "$PROJ" --lock-timeout 1 container create x busybox --no-provision >/dev/null 2>"$WORK/timeout.err" || trc=$?
waited=$(since3 "$t0")
err=$(head -c 400 "$WORK/timeout.err" | tr '\n' ' ')
[[ $trc == 75 ]] || fail "--lock-timeout 1 exited $trc, expected 75: $err"
awk -v w="$waited" 'BEGIN { exit !(w >= 0.9 && w <= 2.5) }' || fail "--lock-timeout 1 gave up after ${waited}s, expected 0.9-2.5 s"
names_holder() { grep -Eq "flock|pid $holder([^0-9]|\$)" "$1"; }
names_holder "$WORK/timeout.err" || fail "the timeout message does not name the holder (flock, pid $holder): $err"
cmp -s "$WORK/before.yaml" "$FILE" || fail "containers.yaml changed although the lock was never acquired"

# 2. Waiting with the default timeout until the holder lets go.
t0=$(now_us)
# -v reports each transaction's lock wait; the first one is the wait for
# flock. Each stderr line is stamped as it arrives, so the instant the
# waiter got the lock is a clock reading too (the old estimate, "hold time
# minus time since the lock was seen held" against a wait timed from inside
# lxdev, left out the process start and came out negative).
{
  rc=0
  "$LXDEV" -C "$PROJ" -v container create x busybox --no-provision 2>&1 >/dev/null || rc=$?
  echo "exit $rc"
} | while IFS= read -r line; do echo "${EPOCHREALTIME/./} $line"; done >"$WORK/wait.stamped"
took=$(since3 "$t0")
cut -d' ' -f2- "$WORK/wait.stamped" | grep -v '^exit [0-9]*$' >"$WORK/wait.err" || true
rc=$(sed -n 's/^[0-9]* exit \([0-9]*\)$/\1/p' "$WORK/wait.stamped")
lock_ms=$(sed -n 's/^lxdev: lock acquired after \([0-9.]*\) ms$/\1/p' "$WORK/wait.err" | head -1)
acquired_us=$(sed -n 's/^\([0-9]*\) lxdev: lock acquired after .*/\1/p' "$WORK/wait.stamped" | head -1)
err=$(head -c 400 "$WORK/wait.err" | tr '\n' ' ')
[[ $rc == 0 ]] || fail "with the default timeout, create exited $rc: $err"
notices=$(grep -c "waiting for lock" "$WORK/wait.err" || true)
[[ $notices == 1 ]] || fail "\"waiting for lock\" printed $notices times, expected once: $err"
[[ $notices == 0 ]] || names_holder "$WORK/wait.err" || fail "the waiting notice does not name the holder (flock, pid $holder): $err"
wait "$holder" || true
released_us=$(cat "$WORK/released" 2>/dev/null || true)
handoff="-"
if [[ -z $lock_ms || -z $acquired_us ]]; then
  fail "-v printed no \"lock acquired after N ms\" line: $err"
elif [[ -z $released_us ]]; then
  fail "the holder did not record when it let go"
else
  # Both readings bracket the release (the holder's is taken just before
  # it, the waiter's line is read just after the lock was taken), so the
  # handoff is never negative; it includes flock(1) exiting and one pipe
  # hop, a few ms at most.
  handoff=$(awk -v a="$acquired_us" -v r="$released_us" 'BEGIN { printf "%.3f", (a - r) / 1e6 }')
  awk -v d="$handoff" 'BEGIN { exit !(d >= 0 && d <= 0.5) }' ||
    fail "the waiter got the lock ${handoff}s after the holder let go, expected 0..0.5 s (it waited ${lock_ms} ms)"
fi
if state=$(cfg_state); then
  [[ $state == "C x ready" ]] || fail "after the wait the file should hold just x, ready; it holds: $state"
else
  fail "lxdev list failed at the end"
fi
[[ $(rt_instances) == "$PROJECT-x" ]] || fail "the runtime should have just $PROJECT-x; it has: $(rt_instances | tr '\n' ' ')"
finish "timeout exit $trc after ${waited}s naming the holder, file unchanged; waiter got the lock ${handoff}s after release (waited ${took}s, ${notices} notice)"
