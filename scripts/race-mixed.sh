#!/usr/bin/env bash
# CLIENTS parallel clients, each running OPS random operations (create,
# clone, remove, snapshot create/delete/restore) on a small pool of names,
# with a small runtime delay and a few injected runtime failures. Every
# invocation is logged; scripts/check_mixed.py then checks that every
# acknowledged change (exit 0) that nothing later could have undone is in
# the file, nothing is left in flight, and file and runtime agree exactly.
# The operation sequence is a function of SEED: re-run with the same
# arguments to replay it (timings, and so exit codes, still vary).
# Usage: scripts/race-mixed.sh [CLIENTS=8] [OPS=40] [SEED=random]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clients=${1:-8}
ops=${2:-40}
seed=${3:-$((RANDOM * 32768 + RANDOM))}
export LXDEV_FAKE_DELAY_MS=${LXDEV_FAKE_DELAY_MS:-20}
# Failures the fake runtime injects: every create of m2 leaves an instance
# and reports failure (`failed` entry); deleting m1/s1 always fails before
# doing anything (the snapshot stays as it was); cloning to m4 always fails before doing
# anything; removing m3 succeeds in the runtime but reports failure (lxdev
# must see the instance is gone and count it removed).
export LXDEV_FAKE_FAIL=${LXDEV_FAKE_FAIL-create:m2:after,snapshot_delete:m1/s1,clone:m4,remove:m3:after}
# A real runtime injects nothing: every exit 1 there is unexpected.
[[ ${LXDEV_RUNTIME:-fake} == fake ]] || LXDEV_FAKE_FAIL=
lib_start race-mixed
lib_project rmix
log=$WORK/ops.log
rerun="re-run: $0 $clients $ops $seed"

containers=(m0 m1 m2 m3 m4 m5)
snapshots=(s0 s1 s2)

# client I: OPS operations, one log line each:
# client TAB op TAB args TAB start_ns TAB end_ns TAB exit TAB first stderr line
client() {
  local c=$1 k op name src snap t0 t1 rc err
  local -a args
  RANDOM=$((seed + c))
  for ((k = 0; k < ops; k++)); do
    name=${containers[RANDOM % ${#containers[@]}]}
    src=${containers[RANDOM % ${#containers[@]}]}
    snap=${snapshots[RANDOM % ${#snapshots[@]}]}
    case $((RANDOM % 12)) in
      0 | 1 | 2) op=create args=(container create "$name" busybox) ;;
      3) op=clone args=(container clone "$src" "$name") ;;
      4) op=clone args=(container clone "$src" "$name" --snapshot "$snap") ;;
      5 | 6) op=remove args=(container remove "$name") ;;
      7 | 8) op=snapshot_create args=(snapshot create "$name" "$snap") ;;
      9 | 10) op=snapshot_delete args=(snapshot delete "$name" "$snap") ;;
      11) op=snapshot_restore args=(snapshot restore "$name" "$snap") ;;
    esac
    t0=$(now_ns)
    rc=0
    err=$(lx -q "${args[@]}" 2>&1 >/dev/null) || rc=$?
    t1=$(now_ns)
    err=${err%%$'\n'*}
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$op" "${args[*]}" "$t0" "$t1" "$rc" "${err//$'\t'/ }"
  done >"$WORK/client$c.log"
}

for ((c = 0; c < clients; c++)); do
  client "$c" &
done
wait

{
  printf '# seed=%s clients=%s ops=%s runtime=%s fail=%s\n' "$seed" "$clients" "$ops" "$LXDEV_RUNTIME" "$LXDEV_FAKE_FAIL"
  printf '# rerun=%s\n' "$rerun"
  cat "$WORK"/client*.log
} >"$log"
[[ -n ${KEEP_LOG:-} ]] && cp "$log" "$KEEP_LOG"

rc=0
verdict=$("$PYTHON" "$LIB_DIR/check_mixed.py" "$log" "$PROJ" 2>"$WORK/check.err") || rc=$?
if ((rc != 0)); then
  sed 's/^/  /' "$WORK/check.err" | head -20 >&2
  fail "$(head -3 "$WORK/check.err" | tr '\n' ' ')(seed $seed; $rerun)"
fi
temps=$(temp_files)
[[ $temps == 0 ]] || fail "$temps temp files left (seed $seed; $rerun)"
finish "seed $seed, $verdict, $temps temp files"
