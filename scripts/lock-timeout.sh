#!/usr/bin/env bash
# Holds containers.yaml.lock with flock(1) for HOLD seconds. Then:
# 1. `lxdev --lock-timeout 1 container create x busybox` must exit 75 after
#    about 1 s (0.9-2.5 s), name the holder (flock or its pid) on stderr,
#    and leave containers.yaml byte-for-byte unchanged;
# 2. the same command with the default timeout, started while the lock is
#    still held, must say "waiting for lock" once and exit 0 shortly after
#    the holder lets go (within 1 s), with x recorded.
# Usage: scripts/lock-timeout.sh [HOLD=5]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
hold=${1:-5}
unset LXDEV_LOCK_TIMEOUT LXDEV_FAKE_DELAY_MS LXDEV_FAKE_FAIL
lib_start lock-timeout
lib_project lockt
cp "$FILE" "$WORK/before.yaml"

flock "$LOCK" sleep "$hold" &
holder=$!
held_since=$(now_us)
for ((i = 0; i < 200; i++)); do
  lock_free || break
  sleep 0.01
done
if lock_free; then
  fail "flock did not take $LOCK within 2 s"
  finish "-"
fi
held_since=$(now_us)

# 1. Timeout.
t0=$(now_us)
trc=0
"$LXDEV" -C "$PROJ" --lock-timeout 1 container create x busybox >/dev/null 2>"$WORK/timeout.err" || trc=$?
waited=$(since3 "$t0")
err=$(head -c 400 "$WORK/timeout.err" | tr '\n' ' ')
[[ $trc == 75 ]] || fail "--lock-timeout 1 exited $trc, expected 75: $err"
awk -v w="$waited" 'BEGIN { exit !(w >= 0.9 && w <= 2.5) }' || fail "--lock-timeout 1 gave up after ${waited}s, expected 0.9-2.5 s"
names_holder() { grep -Eq "flock|pid $holder([^0-9]|\$)" "$1"; }
names_holder "$WORK/timeout.err" || fail "the timeout message does not name the holder (flock, pid $holder): $err"
cmp -s "$WORK/before.yaml" "$FILE" || fail "containers.yaml changed although the lock was never acquired"

# 2. Waiting with the default timeout until the holder lets go.
remaining=$(awk -v h="$hold" -v a="$held_since" -v b="$(now_us)" 'BEGIN { printf "%.3f", h - (b - a) / 1e6 }')
t0=$(now_us)
rc=0
# -v reports each transaction's lock wait; the first one is the wait for flock.
"$LXDEV" -C "$PROJ" -v container create x busybox >/dev/null 2>"$WORK/wait.err" || rc=$?
took=$(since3 "$t0")
lock_ms=$(sed -n 's/^lxdev: lock acquired after \([0-9.]*\) ms$/\1/p' "$WORK/wait.err" | head -1)
err=$(head -c 400 "$WORK/wait.err" | tr '\n' ' ')
[[ $rc == 0 ]] || fail "with the default timeout, create exited $rc: $err"
notices=$(grep -c "waiting for lock" "$WORK/wait.err" || true)
[[ $notices == 1 ]] || fail "\"waiting for lock\" printed $notices times, expected once: $err"
[[ $notices == 0 ]] || names_holder "$WORK/wait.err" || fail "the waiting notice does not name the holder (flock, pid $holder): $err"
if [[ -z $lock_ms ]]; then
  fail "-v printed no \"lock acquired after N ms\" line: $err"
  lock_ms=0
fi
# How long after the release the waiter got the lock (negative: the clock
# readings straddle the release; the process start is not in lock_ms).
handoff=$(awk -v w="$lock_ms" -v r="$remaining" 'BEGIN { printf "%.3f", w / 1000 - r }')
awk -v d="$handoff" 'BEGIN { exit !(d >= -0.3 && d <= 0.5) }' ||
  fail "the waiter got the lock after ${lock_ms} ms; the holder let go after ${remaining}s (handoff ${handoff}s, expected -0.3..0.5 s)"
wait "$holder" || true
if state=$(cfg_state); then
  [[ $state == "C x ready" ]] || fail "after the wait the file should hold just x, ready; it holds: $state"
else
  fail "lxdev list failed at the end"
fi
[[ $(rt_instances) == "$PROJECT-x" ]] || fail "the runtime should have just $PROJECT-x; it has: $(rt_instances | tr '\n' ' ')"
finish "timeout exit $trc after ${waited}s naming the holder, file unchanged; waiter got the lock ${handoff}s after release (waited ${took}s, ${notices} notice)"
