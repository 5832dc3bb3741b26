#!/usr/bin/env bash
# Runs every race script at CI sizes and prints a table; exits non-zero if
# any failed. Honors LXDEV_RUNTIME (fake by default); with lxd or incus the
# sizes are smaller, since real containers take seconds each.
# Usage: scripts/race-all.sh
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$dir/lib.sh"
if [[ $LXDEV_RUNTIME == fake ]]; then
  runs=(
    "race-create.sh 50"
    "race-snapshot.sh 30"
    "race-same-name.sh 20"
    "race-quota.sh 10 5"
    "race-mixed.sh 8 40"
    "race-up.sh 20 4"
    "race-devices.sh 4 3"
    "kill-test.sh 100"
    "lock-timeout.sh"
  )
else
  runs=(
    "race-create.sh 10"
    "race-snapshot.sh 10"
    "race-same-name.sh 10"
    "race-quota.sh 6 3"
    "race-mixed.sh 4 20"
    "race-up.sh 8 4"
    "race-devices.sh 3 2"
    "kill-test.sh 20"
    "lock-timeout.sh"
  )
fi

echo "race-all: runtime $LXDEV_RUNTIME, binary $LXDEV"
rows=()
failed=0
all_started=$(now_us)
for run in "${runs[@]}"; do
  read -r -a cmd <<<"$run"
  started=$(now_us)
  rc=0
  out=$("$dir/${cmd[0]}" "${cmd[@]:1}" 2>&1) || rc=$?
  secs=$(since "$started")
  echo "$out"
  if ((rc == 0)); then result=PASS; else result=FAIL failed=$((failed + 1)); fi
  rows+=("$(printf '%-24s %-6s %7s' "$run" "$result" "$secs")")
done
echo
printf '%-24s %-6s %7s\n' SCRIPT RESULT SECONDS
printf '%s\n' "${rows[@]}"
printf '%-24s %-6s %7s\n' total "$( ((failed)) && echo "FAIL" || echo PASS)" "$(since "$all_started")"
((failed == 0))
