#!/usr/bin/env bash
# Kills lxdev with SIGKILL at random instants, one mutation per round
# (create, remove, snapshot create in turn, each with a random fake-runtime
# delay of 0-20 ms, killed after a random 0-49 ms; 0-KILL_MAX_MS=1500 ms on
# LXD/Incus). The file has a `setup` hook, so a create's provisioning has a
# `setup` step a kill can land in; a last round kills a create on purpose
# while its setup runs. After every kill:
# - the file still reads (`lxdev --json list` exits 0);
# - every change acknowledged (exit 0) in an earlier round, and not touched
#   by a later killed run, is there, ready;
# - the lock is free at once (the kernel drops a dead holder's flock);
# then `lxdev doctor --fix` must exit 0, `lxdev doctor` must then find
# nothing (file and runtime agree, nothing in flight), no temp file may
# remain, and the acknowledged changes must survive the doctor too.
# Usage: scripts/kill-test.sh [ROUNDS=200] [SEED=random]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rounds=${1:-200}
seed=${2:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
lib_start kill-test
lib_project kill
unset LXDEV_FAKE_DELAY_MS LXDEV_FAKE_FAIL
# Every create runs this inside its container, as the dev user (the fake
# runtime only records it).
sed -i 's/^defaults:$/defaults:\n  setup: "sleep 0.2 \&\& echo set-up > ~\/.set-up"/' "$FILE"
grep -q '^  setup: ' "$FILE" || { fail "could not add the setup hook to $FILE"; finish "-"; }

# fact["C name"] / fact["S name snap"]: 1 if an acknowledged run created
# it, 0 if one removed it; dropped when a later run is killed on it.
# Kill after 0..49 ms on the fake runtime; a real one takes ~1 s per
# operation, so kills there land anywhere in 0..KILL_MAX_MS.
if [[ $LXDEV_RUNTIME == fake ]]; then kill_window=50; else kill_window=${KILL_MAX_MS:-1500}; fi
declare -A fact=()
killed=0 acked=0 landed=0 temps_seen=0 checked=0 half_provisioned=0 mid_setup=0

# forget C: a killed run on container C may or may not have happened.
forget_container() {
  local key
  for key in "${!fact[@]}"; do
    [[ $key == "C $1" || $key == "S $1 "* ]] && unset "fact[$key]"
  done
  return 0
}

# check_facts STATE WHEN: every fact holds in STATE (cfg_state output).
check_facts() {
  local key
  for key in "${!fact[@]}"; do
    checked=$((checked + 1))
    if [[ ${fact[$key]} == 1 ]]; then
      grep -qxF "$key ready" <<<"$1" || { fail "round $r $2: acknowledged $key is not in the file as ready"; return 1; }
    else
      if grep -q "^$key " <<<"$1"; then fail "round $r $2: acknowledged removal of $key is undone"; return 1; fi
    fi
  done
}

# at_setup: counts a kill that left a create at its `setup` step.
at_setup() {
  if lx --json list 2>/dev/null | grep -q '"step": "setup"'; then
    mid_setup=$((mid_setup + 1))
  fi
  return 0
}

state=$(cfg_state)
for ((r = 0; r < rounds; r++)); do
  cp "$FILE" "$WORK/before.yaml"
  mapfile -t live < <(awk '$1 == "C" && $3 == "ready" { print $2 }' <<<"$state")
  kind=$((r % 3)) pick=
  if ((${#live[@]})); then
    pick=${live[RANDOM % ${#live[@]}]}
  else
    kind=0
  fi
  case $kind in
    0) args=(container create "k$r" busybox) key="C k$r" ;;
    1) args=(container remove "$pick") key="C $pick" ;;
    2) args=(snapshot create "$pick" "s$r") key="S $pick s$r" ;;
  esac
  delay=$((RANDOM % 21))
  ms=$((RANDOM % kill_window))
  pause=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
  # The binary itself in the background, so $! is lxdev's pid.
  LXDEV_FAKE_DELAY_MS=$delay "$LXDEV" -C "$PROJ" -q "${args[@]}" >/dev/null 2>"$WORK/op.err" &
  pid=$!
  sleep "$pause"
  kill -9 "$pid" 2>/dev/null || true
  rc=0
  # (Quiet: bash would report each job killed by a signal.)
  wait "$pid" 2>/dev/null || rc=$?
  case $rc in
    0)
      acked=$((acked + 1))
      if [[ $kind == 1 ]]; then
        forget_container "$pick"
        fact[$key]=0
      else
        fact[$key]=1
      fi
      ;;
    137)
      killed=$((killed + 1))
      if [[ $kind == 2 ]]; then
        unset "fact[$key]"
      else
        forget_container "${key#C }"
      fi
      ;;
    *)
      fail "round $r: lxdev ${args[*]} exited $rc without being killed: $(head -c 300 "$WORK/op.err")"
      break
      ;;
  esac

  lock_free || { fail "round $r: the lock is still held after the holder was killed"; break; }
  if ! state=$(cfg_state 2>"$WORK/list.err"); then
    fail "round $r: the file does not read after a kill: $(head -c 300 "$WORK/list.err")"
    break
  fi
  check_facts "$state" "after the kill" || break
  [[ $(in_flight "$state") == 0 ]] || landed=$((landed + 1))
  at_setup

  [[ $(temp_files) == 0 ]] || temps_seen=$((temps_seen + 1))

  # SIGKILL stops lxdev, not the runtime work it started (the daemon's
  # operation, an orphaned `lxc`): doctor leaves such entries alone until
  # that work ends, so settle, and repeat while anything is still in flight.
  for ((tries = 0; tries < 300; tries++)); do
    drc=0
    lx -q doctor --fix >"$WORK/doctor.out" 2>&1 || drc=$?
    [[ $drc == 0 ]] || break
    state=$(cfg_state 2>/dev/null) || break
    [[ $(in_flight "$state") == 0 ]] && break
    sleep 0.1
  done
  if [[ $drc != 0 ]]; then
    fail "round $r: doctor --fix exited $drc: $(head -c 300 "$WORK/doctor.out")"
    break
  fi
  # A create killed during a provisioning step, or after the runtime made
  # the instance but before the first step, is left failed, naming what
  # was not done (its container exists but is not fully set up): the same
  # name must then be removable, and is removed here.
  for name in $(awk '$1 == "C" && $3 == "failed" { print $2 }' <<<"$state"); do
    if ! lx --json list 2>/dev/null | grep -Eq "provisioning stopped at step|never provisioned"; then
      fail "round $r: $name is failed, but not by a provisioning step a kill stopped"
      break 2
    fi
    lx -q container remove "$name" >"$WORK/remove.out" 2>&1 ||
      { fail "round $r: a half-provisioned $name cannot be removed: $(head -c 300 "$WORK/remove.out")"; break 2; }
    half_provisioned=$((half_provisioned + 1))
  done
  state=$(cfg_state 2>/dev/null) || true
  drc=0
  lx doctor >"$WORK/doctor.out" 2>&1 || drc=$?
  if [[ $drc != 0 ]]; then
    fail "round $r: doctor still finds problems after --fix (exit $drc): $(head -c 300 "$WORK/doctor.out")"
    break
  fi
  temps=$(temp_files)
  [[ $temps == 0 ]] || { fail "round $r: $temps temp files remain after doctor --fix"; break; }
  if ! state=$(cfg_state 2>"$WORK/list.err"); then
    fail "round $r: the file does not read after doctor --fix: $(head -c 300 "$WORK/list.err")"
    break
  fi
  check_facts "$state" "after doctor --fix" || break
  [[ $(in_flight "$state") == 0 ]] || { fail "round $r: entries in flight after doctor --fix"; break; }
  mismatch=$(agree "$state")
  [[ -z $mismatch ]] || { fail "round $r: file and runtime disagree after doctor --fix: $mismatch"; break; }
done

# A SIGKILL while a setup hook runs, on purpose: the hook is made slow
# (and the fake runtime's steps), the create is killed once the file says
# it is at step `setup`; doctor --fix must fail it naming the step, and
# the name must then be removable and the file and runtime agree.
if ((${#FAILURES[@]} == 0)); then
  r=setup
  sed -i 's/sleep 0.2/sleep 5/' "$FILE"
  LXDEV_FAKE_DELAY_MS=400 "$LXDEV" -C "$PROJ" -q container create ks busybox >/dev/null 2>"$WORK/op.err" &
  pid=$!
  seen=0
  for ((i = 0; i < 1200; i++)); do
    if lx --json list 2>/dev/null | grep -q '"step": "setup"'; then seen=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ((seen)); then
    killed=$((killed + 1)) mid_setup=$((mid_setup + 1))
    for ((tries = 0; tries < 300; tries++)); do
      lx -q doctor --fix >"$WORK/doctor.out" 2>&1 || true
      state=$(cfg_state 2>/dev/null) || break
      [[ $(in_flight "$state") == 0 ]] && break
      sleep 0.1
    done
    if ! lx --json list | grep -q 'provisioning stopped at step `setup`'; then
      fail "after a kill during setup, doctor --fix did not fail ks naming the step: $(head -c 300 "$WORK/doctor.out")"
    elif ! lx -q container remove ks >"$WORK/remove.out" 2>&1; then
      fail "a create killed during setup cannot be removed: $(head -c 300 "$WORK/remove.out")"
    else
      state=$(cfg_state 2>/dev/null) || true
      check_facts "$state" "after a kill during setup" || true
      mismatch=$(agree "$state")
      [[ -z $mismatch ]] || fail "file and runtime disagree after a kill during setup: $mismatch"
    fi
  else
    fail "a create never reached its setup step: $(head -c 300 "$WORK/op.err")"
  fi
fi

# SIGKILL stops lxdev, not the `lxc` client it ran nor the daemon's
# operation: those may finish after doctor --fix settled the entry. Wait
# for this project's orphaned clients, then the file and runtime must
# still agree.
if ((${#FAILURES[@]} == 0)) && [[ $LXDEV_RUNTIME != fake ]]; then
  for ((i = 0; i < 600; i++)); do
    pgrep -f -- "$PROJECT-" >/dev/null || break
    sleep 0.1
  done
  drc=0
  lx doctor >"$WORK/doctor.out" 2>&1 || drc=$?
  [[ $drc == 0 ]] || fail "once orphaned runtime clients finished, doctor finds problems (exit $drc): $(head -c 300 "$WORK/doctor.out")"
fi

if ((${#FAILURES[@]})); then
  KEEP_TMP=1
  fail "seed $seed; re-run: $0 $rounds $seed; files kept in $TMP"
fi
finish "$rounds rounds and one at setup (seed $seed): $killed killed ($landed mid-operation, $half_provisioned mid-provisioning, $mid_setup during setup, $temps_seen left a temp file), $acked completed, $checked checks of acknowledged changes"
