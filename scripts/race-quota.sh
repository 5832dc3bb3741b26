#!/usr/bin/env bash
# With defaults.max_containers: LIMIT, N parallel creates: exactly LIMIT
# succeed, the rest exit 4 naming the limit; LIMIT entries and instances.
# (The quota counts in-flight entries, so parallel creates cannot overshoot.)
# Usage: scripts/race-quota.sh [N=10] [LIMIT=5]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${1:-10}
limit=${2:-5}
export LXDEV_FAKE_DELAY_MS=${LXDEV_FAKE_DELAY_MS:-20}
lib_start race-quota
lib_project rquota
if ((limit > n)); then
  fail "LIMIT ($limit) must not exceed N ($n)"
  finish "-"
fi

# The init file has `defaults:` then `  ports: []`.
sed -i "s/^defaults:\$/defaults:\n  max_containers: $limit/" "$FILE"
if ! grep -qx "  max_containers: $limit" "$FILE" || ! lx list >/dev/null 2>&1; then
  fail "could not set defaults.max_containers in $FILE"
  finish "-"
fi

for ((i = 0; i < n; i++)); do
  lx_bg "q$i" container create "q$i" busybox
done
wait

ok=$(rc_count 0)
refused=$(rc_count 4)
[[ $ok == "$limit" ]] || fail "$ok runs exited 0, expected exactly $limit (exit codes: $(rc_summary))"
[[ $refused == $((n - limit)) ]] || fail "$refused runs exited 4, expected $((n - limit)) (exit codes: $(rc_summary); e.g. $(unexpected_err 0 4))"
for f in "$WORK"/*.rc; do
  if [[ $(<"$f") == 4 ]] && ! grep -Eq "(^|[^0-9])$limit([^0-9]|\$)" "${f%.rc}.err"; then
    fail "a refusal does not name the limit $limit: $(head -c 300 "${f%.rc}.err")"
    break
  fi
done
entries='?'
if state=$(cfg_state); then
  entries=$(grep -c '^C ' <<<"$state" || true)
  [[ $entries == "$limit" ]] || fail "$entries entries in the file, expected $limit"
  flying=$(in_flight "$state")
  [[ $flying == 0 ]] || fail "$flying entries left in flight"
  # The winners are exactly the recorded ones.
  winners=$(grep -lx 0 "$WORK"/*.rc | xargs -r -n1 basename | sed 's/\.rc$//' | sort || true)
  [[ $(awk '$1 == "C" { print $2 }' <<<"$state" | sort) == "$winners" ]] || fail "recorded containers are not the ones that exited 0"
  mismatch=$(agree "$state")
  [[ -z $mismatch ]] || fail "file and runtime disagree: $mismatch"
else
  fail "lxdev list failed on the result"
fi
instances=$(rt_instances | wc -l)
[[ $instances == "$limit" ]] || fail "$instances runtime instances, expected $limit"
finish "$ok/$n created (limit $limit), $refused refused with exit 4, $entries entries, $instances runtime instances"
