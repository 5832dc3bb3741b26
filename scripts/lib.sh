# shellcheck shell=bash
# Shared helpers for the race scripts: find the binary, make a throw-away
# project, run lxdev (also in the background, recording exit codes), read
# containers.yaml through `lxdev --json` (no PyYAML), list what the runtime
# has (fake or LXD/Incus), and print the one summary line.
#
# Source it from a script in scripts/:  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# then call `lib_start NAME` and `lib_project PREFIX`.

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/.." && pwd)
# Under CARGO_TARGET_DIR when set, as `cargo build --release` put it there;
# exported for scripts/check_mixed.py.
LXDEV=${LXDEV_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/lxdev}
export LXDEV_BIN=$LXDEV
export LXDEV_RUNTIME=${LXDEV_RUNTIME:-fake}
# The interpreter itself, resolved once: a version-manager shim (pyenv)
# costs ~0.3 s per start.
if [[ -z ${PYTHON:-} ]]; then
  PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PYTHON=python3
  export PYTHON
fi

# Microseconds since the epoch, without forking (bash 5).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# Nanoseconds since the epoch (microsecond resolution), for logs.
now_ns() { echo "$(now_us)000"; }
# Seconds elapsed since the microsecond timestamp $1, one decimal.
since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
# Seconds elapsed since $1, three decimals (for measured waits).
since3() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }

# lib_start NAME: remembers the script name and start time, checks the binary.
lib_start() {
  SCRIPT=$1
  STARTED=$(now_us)
  FAILURES=()
  if [[ ! -x $LXDEV ]]; then
    echo "$SCRIPT: FAIL: no lxdev binary at $LXDEV (run cargo build --release or set LXDEV_BIN)"
    exit 1
  fi
  case $LXDEV_RUNTIME in
    fake) ;;
    lxd) RT_CLIENT=lxc ;;
    incus) RT_CLIENT=incus ;;
    *) echo "$SCRIPT: FAIL: unknown LXDEV_RUNTIME=$LXDEV_RUNTIME (fake, lxd or incus)"; exit 1 ;;
  esac
}

# lib_project PREFIX: makes $TMP (removed on exit), $PROJ (the project dir,
# containers.yaml in it), $WORK (outputs of background runs), a unique
# $PROJECT name, and runs `lxdev init`.
lib_project() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/lxdev-$1.XXXXXX")
  PROJ=$TMP/proj
  WORK=$TMP/work
  mkdir -p "$PROJ" "$WORK"
  PROJECT="$1$$"
  FILE=$PROJ/containers.yaml
  LOCK=$PROJ/containers.yaml.lock
  trap lib_cleanup EXIT
  local err
  if ! err=$(lx -q init --project "$PROJECT" --runtime "$LXDEV_RUNTIME" 2>&1); then
    fail "lxdev init failed: $err"
    finish "-"
  fi
}

lib_cleanup() {
  local rc=$?
  # Kill background jobs we started that may still run (by pid, ours only).
  local pid
  for pid in $(jobs -pr); do
    kill "$pid" 2>/dev/null || true
  done
  if [[ -n ${RT_CLIENT:-} && -n ${PROJECT:-} ]]; then
    rt_instances | xargs -r "$RT_CLIENT" delete --force >/dev/null 2>&1 || true
  fi
  if [[ -n ${KEEP_TMP:-} ]]; then
    echo "kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}

# lx ARGS...: lxdev on the temp project.
lx() { "$LXDEV" -C "$PROJ" "$@"; }

# lx_bg TAG ARGS...: lxdev in the background; leaves $WORK/TAG.{out,err,rc}.
lx_bg() {
  local tag=$1
  shift
  (
    rc=0
    lx "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" || rc=$?
    echo "$rc" >"$WORK/$tag.rc"
  ) &
}

# rc_count CODE: how many background runs exited with CODE.
rc_count() { cat "$WORK"/*.rc 2>/dev/null | grep -cx "$1" || true; }
# rc_summary: "0:48 4:2" style histogram of exit codes.
rc_summary() { cat "$WORK"/*.rc 2>/dev/null | sort -n | uniq -c | awk '{printf "%s%s:%s", sep, $2, $1; sep=" "}'; }
# unexpected_err CODE...: stderr of one run whose exit code is none of
# CODE... (for messages), prefixed with that code.
unexpected_err() {
  local f code
  for f in "$WORK"/*.rc; do
    code=$(<"$f")
    if [[ " $* " != *" $code "* ]]; then
      echo "exit $code: $(head -c 300 "${f%.rc}.err" | tr '\n' ' ')"
      return
    fi
  done
}

# cfg_state: the project file as lxdev reads it, one line per entry:
#   C <container> <state>[ in-flight]
#   S <container> <snapshot> <state>[ in-flight]
# (`in-flight` when lxdev's --json says the entry has work in flight, so no
# script spells the file's state words.)
# Fails (non-zero, lxdev's error on stderr) if lxdev cannot list it.
# Reads lxdev's pretty JSON with awk (serde_json indents by two spaces, so
# an entry's own keys sit at six spaces); a Python start costs ~0.1 s here,
# too much for a check run after every round.
cfg_state() {
  local list name count snaps
  list=$(lx --json list) || return
  while read -r name state count flying; do
    [[ $flying == true ]] && state+=" in-flight"
    echo "C $name $state"
    ((count > 0)) || continue
    snaps=$(lx --json snapshot list "$name") || return
    json_entries <<<"$snaps" | while read -r snap sstate _ sflying; do
      [[ $sflying == true ]] && sstate+=" in-flight"
      echo "S $name $snap $sstate"
    done
  done < <(json_entries <<<"$list")
}

# json_entries: "name state snapshots in_flight" for each entry of a
# `--json list` or `--json snapshot list` document on stdin.
json_entries() {
  awk '
    function value(line) { sub(/^ *"[a-z_]+": /, "", line); sub(/,$/, "", line); gsub(/"/, "", line); return line }
    /^      "name": /      { name = value($0) }
    /^      "state": /     { state = value($0) }
    /^      "snapshots": / { count = value($0) }
    /^      "in_flight": / { flying = value($0) }
    /^    },?$/            { print name, state, (count == "" ? 0 : count), flying; name = state = count = flying = "" }
  '
}

# rt_instances: runtime instance names of this project, one per line.
rt_instances() {
  if [[ $LXDEV_RUNTIME == fake ]]; then
    local dir=$PROJ/.lxdev/fake/instances
    [[ -d $dir ]] || return 0
    (cd "$dir" && ls -1A) | grep "^$PROJECT-" || true
  else
    "$RT_CLIENT" list --format csv -c n | grep "^$PROJECT-" || true
  fi
}

# rt_snapshots INSTANCE: its snapshot names, one per line.
rt_snapshots() {
  if [[ $LXDEV_RUNTIME == fake ]]; then
    local dir=$PROJ/.lxdev/fake/instances/$1/snapshots
    [[ -d $dir ]] || return 0
    (cd "$dir" && ls -1A)
  else
    # A JSON list of URLs: /1.0/instances/<instance>/snapshots/<snap>
    "$RT_CLIENT" query "/1.0/instances/$1/snapshots" | grep -o '/snapshots/[^"]*' | sed 's|^/snapshots/||'
  fi
}

# rt_state: what the runtime has, in cfg_state's shape without states:
#   C <container>   /   S <container> <snapshot>
rt_state() {
  local inst name
  for inst in $(rt_instances); do
    name=${inst#"$PROJECT-"}
    echo "C $name"
    rt_snapshots "$inst" | sed "s/^/S $name /"
  done
}

# cfg_names STATE_TEXT: cfg_state output reduced to rt_state's shape.
cfg_names() { awk '$1 == "C" { print "C", $2 } $1 == "S" { print "S", $2, $3 }' <<<"$1"; }

# agree STATE_TEXT: empty if the file (as given) and the runtime have exactly
# the same containers and snapshots, else a diff summary.
agree() {
  diff <(cfg_names "$1" | sort) <(rt_state | sort) | grep '^[<>]' |
    sed 's/^</only in file:/; s/^>/only in runtime:/' | head -5 | paste -sd ';' || true
}

# in_flight STATE_TEXT: entries with work in flight.
in_flight() { grep -c ' in-flight$' <<<"$1" || true; }

# temp_files: atomic-save temp files left beside containers.yaml.
temp_files() { find "$PROJ" -maxdepth 1 -name '.containers.yaml.tmp-*' | wc -l; }

# lock_free: the lock can be taken right now.
lock_free() { flock -n "$LOCK" true; }

# fail REASON: records a failed invariant (the script goes on checking).
# Newlines are folded and long reasons cut, to keep the summary one line.
fail() {
  local m="$*"
  m=${m//$'\n'/ }
  FAILURES+=("${m:0:400}")
}

# finish SUMMARY: prints the one summary line and exits (1 on any failure).
finish() {
  local secs
  secs=$(since "$STARTED")
  if ((${#FAILURES[@]})); then
    local msg
    printf -v msg '%s; ' "${FAILURES[@]}"
    echo "$SCRIPT: FAIL: ${msg%; } (${secs}s)"
    exit 1
  fi
  echo "$SCRIPT: PASS $* (${secs}s)"
  exit 0
}
