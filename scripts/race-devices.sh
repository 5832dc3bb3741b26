#!/usr/bin/env bash
# Parallel mount, unmount and proxy on one container and on several. Every
# command exits 0, 4 (a conflict: a path or port already taken) or 75 (busy);
# afterwards every device is ready, each container's devices in the file
# are exactly those the runtime has, and a host port two containers both
# forward is held by at most one of them.
# Usage: scripts/race-devices.sh [CONTAINERS=3] [ROUNDS=3]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${1:-3}
rounds=${2:-3}
export LXDEV_FAKE_DELAY_MS=${LXDEV_FAKE_DELAY_MS:-20}
lib_start race-devices
lib_project rdev

# free_port: a TCP port nothing listens on right now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Containers c1..cN; c1 and c2 both forward the shared port, each also its own.
shared=$(free_port)
for ((i = 1; i <= n; i++)); do
  lx -q container create "c$i" busybox --no-provision || fail "create c$i failed"
done
for ((i = 1; i <= 6; i++)); do mkdir -p "$PROJ/d$i"; done
python3 - "$FILE" "$n" "$shared" <<'PY'
import socket, sys
path, n, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(path).read()
for i in range(1, n + 1):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); own = s.getsockname()[1]; s.close()
    ports = f"[{shared}, \"{own}:80\"]" if i <= 2 else f"[{own}]"
    text = text.replace(f"  c{i}:\n", f"  c{i}:\n    ports: {ports}\n", 1)
open(path, "w").write(text)
PY

# file_devices NAME: device names the file records for container NAME, with
# their mounts status, "name status" per line.
file_devices() {
  lx --json mounts "$1" | awk '
    /"device": / { gsub(/[",]/, "", $2); d = $2 }
    /"status": / { gsub(/[",]/, "", $2); print d, $2 }'
}

# rt_devices INSTANCE: device names the runtime has, one per line.
rt_devices() {
  if [[ $LXDEV_RUNTIME == fake ]]; then
    local dir=$PROJ/.lxdev/fake/instances/$1/devices
    [[ -d $dir ]] || return 0
    (cd "$dir" && ls -1) | grep -v '^\.' || true
  else
    "$RT_CLIENT" config device list "$1"
  fi
}

# check LABEL: every device ok and the file's names are the runtime's.
check() {
  local i rows file rt holders=0
  for ((i = 1; i <= n; i++)); do
    rows=$(file_devices "c$i") || { fail "$1: mounts c$i failed"; continue; }
    if grep -qv ' ok$' <<<"$rows"; then
      [[ -z $rows ]] || fail "$1: c$i has devices not ok: $(grep -v ' ok$' <<<"$rows" | paste -sd ';')"
    fi
    file=$(awk '$2 != "untracked" { print $1 }' <<<"$rows" | sort)
    rt=$(rt_devices "$PROJECT-c$i" | sort)
    [[ $file == "$rt" ]] || fail "$1: c$i: file has [$(paste -sd ' ' <<<"$file")], runtime [$(paste -sd ' ' <<<"$rt")]"
    grep -qx "lxdev-port-$shared" <<<"$rt" && holders=$((holders + 1))
  done
  ((holders <= 1)) || fail "$1: $holders containers forward the shared port $shared"
}

# wave LABEL: waits for the background commands, checks exit codes.
wave() {
  wait
  local bad
  bad=$(cat "$WORK"/*.rc | grep -cvx -e 0 -e 4 -e 75 || true)
  ((bad == 0)) || fail "$1: unexpected exit codes ($(rc_summary)): $(unexpected_err 0 4 75)"
  ok_total=$((ok_total + $(rc_count 0)))
  rm -f "$WORK"/*.rc
  check "$1"
}

ok_total=0
for ((r = 1; r <= rounds; r++)); do
  # Wave 1: three mounts and a proxy per container, and the same path twice
  # on c1 (one must lose with 4).
  for ((i = 1; i <= n; i++)); do
    for m in 1 2 3; do lx_bg "r$r-c$i-m$m" mount "c$i" "d$m" "/m$m" -n "m$m"; done
    lx_bg "r$r-c$i-p" proxy "c$i"
  done
  lx_bg "r$r-dup" mount c1 d4 /m1 -n other
  wave "round $r, mounts"
  # Wave 2: unmounts by path and by name, new mounts, proxies stopped and
  # started again, all at once.
  for ((i = 1; i <= n; i++)); do
    lx_bg "r$r-c$i-u1" unmount "c$i" /m1
    lx_bg "r$r-c$i-u2" unmount "c$i" m2
    lx_bg "r$r-c$i-m5" mount "c$i" d5 /m5 -n m5 --rw
    lx_bg "r$r-c$i-ps" proxy "c$i" --stop
    lx_bg "r$r-c$i-pp" proxy "c$i"
  done
  wave "round $r, unmounts"
  # Clean slate for the next round.
  for ((i = 1; i <= n; i++)); do
    for dev in $(file_devices "c$i" | awk '{ print $1 }'); do
      lx -q unmount "c$i" "$dev" 2>/dev/null || true
    done
  done
  check "round $r, cleared"
done
finish "$n containers, $rounds rounds: $ok_total commands exited 0, the rest 4 or 75; file and runtime devices agree"
