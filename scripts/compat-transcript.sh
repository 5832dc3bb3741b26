#!/usr/bin/env bash
# Runs lxc-dev-manager's command lines, as its scripts spell them (short
# options, aliases), through lxdev, and checks what each did to
# containers.yaml and to the runtime. Exit status 0 is expected wherever
# lxc-dev-manager's is 0.
#
# Runtime: LXDEV_RUNTIME (fake by default; lxd or incus need a `busybox`
# image, see scripts/setup-lxd.sh). A real runtime whose client reaches no
# daemon is skipped (exit 0) unless LXDEV_REQUIRE_LXD=1 (LXDEV_REQUIRE_INCUS=1).
# Usage: scripts/compat-transcript.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lib_start compat-transcript

if [[ -n ${RT_CLIENT:-} ]]; then
  require=LXDEV_REQUIRE_LXD
  [[ $LXDEV_RUNTIME == incus ]] && require=LXDEV_REQUIRE_INCUS
  if ! "$RT_CLIENT" query /1.0 >/dev/null 2>&1 ||
    ! "$RT_CLIENT" image info busybox >/dev/null 2>&1; then
    if [[ ${!require:-} == 1 ]]; then
      echo "$SCRIPT: FAIL: $RT_CLIENT reaches no daemon with a busybox image, and $require=1"
      exit 1
    fi
    echo "$SCRIPT: skipped on $LXDEV_RUNTIME: $RT_CLIENT reaches no daemon with a busybox image"
    exit 0
  fi
fi

# Like lib_project, without its `lxdev init`: the transcript makes the
# project as lxc-dev-manager would.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lxdev-compat.XXXXXX")
PROJ=$TMP/proj
mkdir -p "$PROJ"
PROJECT="compat$$"
IMAGE="$PROJECT-base"
FILE=$PROJ/containers.yaml
cleanup() {
  local rc=$?
  if [[ -n ${RT_CLIENT:-} ]]; then
    for alias in "$IMAGE" "$IMAGE-2"; do
      "$RT_CLIENT" image delete "$alias" >/dev/null 2>&1 || true
    done
  fi
  # lib_cleanup reads the exit status from `$?`; errexit would end this
  # trap at the `(exit 1)` that hands it over.
  set +e
  (exit "$rc")
  lib_cleanup
}
trap cleanup EXIT

# t ARGS...: one transcript line, run in the project directory as a script
# would; it must exit 0. Its output is kept for the checks after it.
OUT=
t() {
  local rc=0
  OUT=$(cd "$PROJ" && "$LXDEV" "$@" </dev/null 2>&1) || rc=$?
  if ((rc != 0)); then
    fail "\`lxdev $*\` exited $rc: $(head -c 300 <<<"$OUT")"
    finish "-"
  fi
}
# check WHAT CONDITION...: records a failure unless CONDITION succeeds.
check() {
  local what=$1
  shift
  "$@" || fail "$what"
}
# entries: "name state" of each entry, through lxdev's --json list.
entries() { lx --json list | json_entries | awk '{ print $1, $2 }' | sort | paste -sd ' '; }
# rt_has INSTANCE: the runtime has it.
rt_has() { rt_instances | grep -qx "$1"; }
# rt_file INSTANCE PATH: the content of PATH inside the instance.
rt_file() {
  if [[ $LXDEV_RUNTIME == fake ]]; then
    cat "$PROJ/.lxdev/fake/instances/$1/rootfs$2"
  else
    "$RT_CLIENT" file pull "$1$2" -
  fi
}
# rt_devices INSTANCE: its device names, one per line.
rt_devices() {
  if [[ $LXDEV_RUNTIME == fake ]]; then
    ls -1A "$PROJ/.lxdev/fake/instances/$1/devices" 2>/dev/null || true
  else
    "$RT_CLIENT" config device list "$1"
  fi
}
# rt_images: image aliases the runtime has, one per line.
rt_images() {
  lx --json image list --all |
    "$PYTHON" -c 'import json, sys; print("\n".join(a for i in json.load(sys.stdin) for a in i["aliases"]))'
}
# free_port: a TCP port nothing listens on now, so proxies do not collide.
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(free_port)
P2=$(free_port)
dev1=$PROJECT-dev1 dev2=$PROJECT-dev2

# --- project create, both spellings ----------------------------------------
mkdir "$TMP/other"
(cd "$TMP/other" && "$LXDEV" project create --name "${PROJECT}o" --ports "$P1" </dev/null >/dev/null 2>&1) ||
  fail "project create --name --ports failed"
check "project create wrote no defaults.ports" grep -q "ports: \[$P1\]" "$TMP/other/containers.yaml"
(cd "$TMP/other" && "$LXDEV" project delete -f </dev/null >/dev/null 2>&1) || fail "project delete -f (empty) failed"
check "project delete -f left the file" test ! -e "$TMP/other/containers.yaml"

t create -n "$PROJECT" -p "$P1,$P2"
check "create -n: wrong project" grep -q "^project: $PROJECT\$" "$FILE"
check "create -p: defaults.ports not written" grep -q "ports: \[$P1, $P2\]" "$FILE"

# --- containers ---------------------------------------------------------------
t container create dev1 busybox
check "container create: entry not ready" test "$(entries)" = "dev1 ready"
check "container create: no instance" rt_has "$dev1"
check "container create: no initial-state" grep -qx initial-state < <(rt_snapshots "$dev1")
t list
check "list does not name dev1" grep -q dev1 <<<"$OUT"

t c snapshot create dev1 snap1 -d "before the change"
check "snapshot create: not in the runtime" grep -qx snap1 < <(rt_snapshots "$dev1")
check "snapshot create -d: no description" grep -q 'description: "before the change"' "$FILE"
t container snapshot list dev1
check "snapshot list does not name snap1" grep -q snap1 <<<"$OUT"

t container clone dev1 dev2 -s snap1
check "clone -s: entries" test "$(entries)" = "dev1 ready dev2 ready"
check "clone -s: no instance" rt_has "$dev2"
check "clone -s: cloned_from" grep -q "cloned_from: dev1/snap1" "$FILE"

t exec dev1 -u root -- sh -c 'echo changed > marker'
t exec dev1 -u root -- test -f marker
t container reset dev1 snap1
# The fake runtime's snapshots hold no files: only a real one can show it.
if [[ $LXDEV_RUNTIME != fake ]] &&
  (cd "$PROJ" && "$LXDEV" exec dev1 -u root -- test -f marker </dev/null >/dev/null 2>&1); then
  fail "container reset NAME SNAP: the change survived"
fi
t container reset dev1
t container snapshot delete dev1 snap1
check "snapshot delete: still in the runtime" test -z "$(rt_snapshots "$dev1" | grep -x snap1)"
check "snapshot delete: still in the file" test -z "$(grep -n 'snap1:' "$FILE")"

t down dev2
t up dev2
check "up: entries" test "$(entries)" = "dev1 ready dev2 ready"
t ssh dev1 -u root
t exec dev1 -- true

# --- files ------------------------------------------------------------------
echo "hello" >"$PROJ/hello.txt"
t mv ./hello.txt dev1:/tmp/hello.txt -y
check "mv to a container: content" test "$(rt_file "$dev1" /tmp/hello.txt)" = hello
t mv dev1:/tmp/hello.txt ./back.txt -y
check "mv from a container: content" test "$(cat "$PROJ/back.txt")" = hello

mkdir -p "$PROJ/conf"
echo "A=1" >"$PROJ/.env"
echo "{}" >"$PROJ/conf/app.json"
t sync add dev1 .env /home/dev/.env
t sync add dev1 conf/app.json /tmp/app.json
t sync add dev1 conf/app.json /home/dev/app.json
check "sync add: entries" test "$(lx --json sync list dev1 | tr -d ' \n')" = '[{"dest":"/home/dev/.env","source":".env"},{"dest":"/home/dev/app.json","source":"conf/app.json"}]'
t sync list dev1
t sync dev1 -v
check "sync: .env not pushed" test "$(rt_file "$dev1" /home/dev/.env)" = "A=1"
check "sync: app.json not pushed" test "$(rt_file "$dev1" /home/dev/app.json)" = "{}"
t sync rm dev1 .env
check "sync rm: entries" test "$(lx --json sync list dev1 | tr -d ' \n')" = '[{"dest":"/home/dev/app.json","source":"conf/app.json"}]'

mkdir -p "$PROJ/src" "$PROJ/data"
t mount dev1 ./src /src -n code --rw --allow-risky -y
# `--shift` needs idmapped mounts, which LXD 5.0 on a `dir` pool refuses
# ("Required idmapping"), as it would for lxc-dev-manager: there the line
# must fail cleanly and record nothing, and the folder is mounted without it.
NOTE=
if [[ $LXDEV_RUNTIME == fake ]]; then
  t mount dev1 ./data /data --shift
elif ! out=$(cd "$PROJ" && "$LXDEV" mount dev1 ./data /data --shift </dev/null 2>&1); then
  grep -q "idmap" <<<"$out" || fail "mount --shift: $(head -c 300 <<<"$out")"
  check "mount --shift refused but recorded" test -z "$(grep -n 'data:' "$FILE")"
  NOTE=" (--shift refused by this daemon: no idmapped mounts)"
  t mount dev1 ./data /data
fi
check "mount: devices in the runtime" test "$(rt_devices "$dev1" | grep -cx 'code\|data')" = 2
check "mount --rw: not read-write" grep -q '"mode": "rw"' < <(lx --json mounts dev1 | grep -A6 '"device": "code"')
t mounts dev1
t mounts --sync
check "mounts: code not listed" grep -q code <<<"$OUT"
t unmount dev1 code -f
t unmount dev1 /data
check "unmount: devices left" test -z "$(rt_devices "$dev1" | grep -x 'code\|data')"

t proxy dev1
check "proxy: port devices" test "$(rt_devices "$dev1" | grep -c "^lxdev-port-\($P1\|$P2\)\$")" = 2
t proxy dev1 --stop
check "proxy --stop: port devices left" test -z "$(rt_devices "$dev1" | grep '^lxdev-port-')"

# --- images -----------------------------------------------------------------
t image create dev1 "$IMAGE"
check "image create: no image" grep -qx "$IMAGE" < <(rt_images)
t image list -a
t images
check "images: not listed" grep -q "$IMAGE" <<<"$OUT"
t image rename "$IMAGE" "$IMAGE-2"
check "image rename" grep -qx "$IMAGE-2" < <(rt_images)
t image delete "$IMAGE-2" -f
check "image delete -f: still there" test -z "$(rt_images | grep -x "$IMAGE-2")"

# --- removal ------------------------------------------------------------------
# lxc-dev-manager had no owners: `-f` removes another user's container too.
sed -i 's/^\(    owner: \).*/\1someone-else/' "$FILE"
t -C "$PROJ" remove dev2 -f
check "remove -f: entries" test "$(entries)" = "dev1 ready"
check "remove -f: instance left" test -z "$(rt_instances | grep -x "$dev2")"
t --project-dir "$PROJ" project delete -f
check "project delete -f: file left" test ! -e "$FILE"
check "project delete -f: instances left" test -z "$(rt_instances)"

finish "every lxc-dev-manager command line did its work on $LXDEV_RUNTIME$NOTE"
