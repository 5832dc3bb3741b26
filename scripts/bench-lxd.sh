#!/usr/bin/env bash
# lxdev on a real LXD (or Incus) against the same work done by hand with the
# plain client, on a dir pool and on a btrfs pool, interleaved in one run:
# each round runs every case on every pool kind, lxdev and by hand one after
# the other (which goes first alternates by round, so neither always meets a
# warmer or a busier machine). Prints min/median/max seconds per case and
# the ratio of the medians (lxdev / by hand, same pool). A script, not a
# test: these machines are shared and noisy, so it prints numbers and never
# fails on them. A sample whose command fails is left out of the medians and
# counted in the table; a failure while preparing stops the run.
#
# Usage: bash scripts/bench-lxd.sh [ROUNDS=3]
#        bash scripts/bench-lxd.sh --trace
#   --trace: one dev-ready `container create` per pool kind with the client
#   wrapped, printing each client call lxdev makes: when it started, how
#   long it took, its exit status and its arguments.
#
# Cases (IMAGE is debian-12 unless LXDEV_BENCH_IMAGE says otherwise):
#   ready  `lxdev container create NAME IMAGE` vs by hand: init (with the
#          nesting and syscall-intercept keys lxdev gives) + start, wait
#          until exec works, then for systemd (`systemctl
#          is-system-running --wait`), useradd -m + sudo
#          group + sudoers drop-in + locked password + one authorized key,
#          `systemctl enable --now ssh`, snapshot `initial-state`
#   reset  `lxdev container reset NAME` vs `restore X initial-state` (the
#          daemon stops a running instance, restores it and starts it
#          again, so no separate start is needed; lxdev waits for no boot
#          after a reset either)
#   clone  `lxdev container clone SRC NEW` vs `copy --instance-only` + start
#          + wait for systemd + snapshot `initial-state`: the same work, since
#          lxdev's clone copies without snapshots, waits for the boot and
#          takes the copy's own initial-state
#   up     `lxdev up --all --jobs 4` of 8 entries the runtime lacks vs the
#          by-hand `ready` of 8 instances, 4 at a time
#   bare   `lxdev container create NAME IMAGE --no-provision` vs init +
#          start, 5 one after another (each timed)
#   par    the same, 10 at once (one time: until all are done); lxdev's 10
#          share one project, so their lock waits count
#
# Each lxdev case gets a fresh project directory; reset and clone each work
# on one source per pool kind made before the first round. Every instance is
# deleted after its sample, and on exit (also on Ctrl-C) every instance,
# project and pool this run made.
#
# Environment:
#   LXDEV_BIN            lxdev binary (default: `nice cargo build --release`,
#                        then target/release/lxdev)
#   LXDEV_BENCH_CLIENT   lxc (default) or incus
#   LXDEV_BENCH_IMAGE    image alias (default debian-12: scripts/image-debian.sh)
#   LXDEV_BENCH_POOLS    pool kinds, in order (default "dir btrfs")
#   LXDEV_BENCH_CASES    cases (default "ready reset clone up bare par")
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENT=${LXDEV_BENCH_CLIENT:-lxc}
IMAGE=${LXDEV_BENCH_IMAGE:-debian-12}
read -ra KINDS <<<"${LXDEV_BENCH_POOLS:-dir btrfs}"
read -ra CASES <<<"${LXDEV_BENCH_CASES:-ready reset clone up bare par}"
TRACE=0
ROUNDS=3
case ${1:-} in
--trace) TRACE=1 ;;
'') ;;
*) ROUNDS=$1 ;;
esac

say() { printf 'bench-lxd: %s\n' "$*" >&2; }
die() {
    printf 'bench-lxd: error: %s\n' "$*" >&2
    exit 1
}

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "usage: bash scripts/bench-lxd.sh [ROUNDS] | --trace"
case $CLIENT in
lxc) RUNTIME=lxd SNAP=(snapshot) RESTORE=(restore) CONF_VAR=LXD_CONF conf_dir=.config/lxc ;;
incus) RUNTIME=incus SNAP=(snapshot create) RESTORE=(snapshot restore) CONF_VAR=INCUS_CONF conf_dir=.config/incus ;;
*) die "LXDEV_BENCH_CLIENT must be lxc or incus, not '$CLIENT'" ;;
esac
"$CLIENT" query /1.0 >/dev/null 2>&1 || die "$CLIENT reaches no daemon (run scripts/setup-$RUNTIME.sh)"
"$CLIENT" image info "$IMAGE" >/dev/null 2>&1 || die "no image '$IMAGE' in $CLIENT (run scripts/image-debian.sh $CLIENT)"
command -v ssh-keygen >/dev/null || die "ssh-keygen is missing (apt-get install openssh-client): both sides install one generated key"

if [[ -z ${LXDEV_BIN:-} ]]; then
    say "building the release binary (nice cargo build --release)"
    nice cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    LXDEV_BIN=${CARGO_TARGET_DIR:-$root/target}/release/lxdev
fi
LXDEV=$(realpath "$LXDEV_BIN")
[[ -x $LXDEV ]] || die "LXDEV_BIN=$LXDEV_BIN is not an executable"

# Both sides run with the same environment: a temp HOME holding one key pair
# (lxdev installs ~/.ssh/*.pub; the by-hand side installs the same key), the
# real client configuration (which the client finds through HOME otherwise),
# no SUDO_USER (lxdev would read that user's keys) and no other LXDEV_*
# variable (a stray LXDEV_RUNTIME or test hook would change what is timed).
tmp=$(mktemp -d /tmp/lxdev-bench-lxd.XXXXXX)
export "$CONF_VAR=${!CONF_VAR:-$HOME/$conf_dir}"
export HOME=$tmp/home
unset SUDO_USER
for var in $(compgen -e); do [[ $var == LXDEV_* ]] && unset "$var"; done
mkdir -p "$HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -C lxdev-bench -f "$HOME/.ssh/id_ed25519"
KEY=$HOME/.ssh/id_ed25519.pub
LOG=$tmp/commands.log

# Names: every instance this run makes starts with TAG, so the cleanup
# deletes exactly those and nothing of anyone else's.
TAG=xb$$
seq_no=0
declare -A POOL RPROJ samples failed
made_projects=()
made_pool=

cleanup() {
    local rc=$? p inst j
    trap - EXIT INT TERM
    for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for p in "${RPROJ[@]}" default; do
        for inst in $("$CLIENT" --project "$p" list -f csv -c n 2>/dev/null | grep "^$TAG" || true); do
            "$CLIENT" --project "$p" delete --force "$inst" >/dev/null 2>&1 || say "could not delete $inst in project $p"
        done
    done
    for p in "${made_projects[@]}"; do
        "$CLIENT" project delete "$p" >/dev/null 2>&1 || say "could not delete project $p"
    done
    [[ -z $made_pool ]] || "$CLIENT" storage delete "$made_pool" >/dev/null 2>&1 || say "could not delete pool $made_pool"
    ((rc == 0)) || say "commands' output kept in $LOG"
    ((rc == 0)) && rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- pools and projects --------------------------------------------------------

# pool_of DRIVER: the first pool with that driver (the first two csv
# columns are name and driver for lxc and incus alike).
pool_of() { "$CLIENT" storage list -f csv | awk -F, -v d="$1" '$2 == d { print $1; exit }'; }

# setup_kind KIND: a pool of that driver and a project whose default
# profile puts root disks on it, in RPROJ[KIND]; 1 if there is no such pool.
# The project shares the default project's images (features.images=false)
# and has its own profiles, so the pool is chosen by its profile alone.
setup_kind() {
    local kind=$1 pool project=lxdev-bench-$1
    pool=$(pool_of "$kind")
    if [[ -z $pool && $kind == dir ]]; then
        # A dir pool needs nothing from the kernel; a daemon set up fresh on
        # btrfs has none.
        made_pool=lxdev-bench-dir
        "$CLIENT" storage create "$made_pool" dir >>"$LOG" 2>&1 || die "could not create a dir pool"
        pool=$made_pool
    fi
    if [[ -z $pool ]]; then
        say "no $kind pool in $CLIENT: skipping it (scripts/setup-$RUNTIME.sh adds btrfs when the kernel has it)"
        return 1
    fi
    if ! "$CLIENT" project show "$project" >/dev/null 2>&1; then
        "$CLIENT" project create "$project" -c features.images=false -c features.profiles=true >>"$LOG" 2>&1 ||
            die "could not create project $project"
        made_projects+=("$project")
    fi
    "$CLIENT" --project "$project" profile device add default root disk path=/ pool="$pool" >>"$LOG" 2>&1 ||
        "$CLIENT" --project "$project" profile device set default root pool "$pool" >>"$LOG" 2>&1 ||
        die "could not put project $project's root disks on pool $pool"
    POOL[$kind]=$pool RPROJ[$kind]=$project
    # The first instance on a btrfs pool unpacks the image into a volume
    # the later ones snapshot: made here, so no sample pays for it.
    { c "$kind" init "$IMAGE" "${TAG}warm" && c "$kind" delete "${TAG}warm"; } >>"$LOG" 2>&1 ||
        die "could not make an instance of $IMAGE on pool $pool"
}

# c KIND ARGS...: the client, in the bench project of that pool kind.
c() {
    local kind=$1
    shift
    "$CLIENT" --project "${RPROJ[$kind]}" "$@"
}

# lxdev_init DIR NAME KIND: a fresh lxdev project NAME in DIR whose
# containers go on the pool of KIND (`init --storage`). Its instances live
# in the bench project of KIND too (`runtime_project:`), beside the by-hand
# ones, so both sides meet the same profile and the cleanup finds them.
lxdev_init() {
    mkdir -p "$1"
    "$LXDEV" init -q -C "$1" --project "$2" --runtime "$RUNTIME" --storage "${POOL[$3]}" >>"$LOG" 2>&1
    sed -i "s/^runtime_project: .*/runtime_project: ${RPROJ[$3]}/" "$1/containers.yaml"
}

# --- the work by hand ----------------------------------------------------------

# The keys lxdev gives at init (so Docker works inside); free at init.
NEST=(-c security.nesting=true -c security.syscalls.intercept.mknod=true -c security.syscalls.intercept.setxattr=true)
# Early in boot systemctl cannot reach systemd yet: ask again until it can,
# within 120 s (lxdev's default --ready-timeout). `timeout`: under load a
# container's systemd was seen stuck in "initializing" for good, and
# `--wait` then never returns.
# shellcheck disable=SC2016 # runs in the container
WAIT_BOOT='end=$(($(date +%s) + 120))
while :; do
    s=$(timeout 120 systemctl is-system-running --wait 2>/dev/null)
    case $s in running | degraded) exit 0 ;; esac
    [ "$(date +%s)" -lt "$end" ] || break
    sleep 0.2
done
echo "not booted: $s" >&2
exit 1'
# The key comes on standard input.
ADD_USER='set -e
useradd -m -s /bin/bash dev
usermod -aG sudo dev
echo "dev ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/dev
chmod 0440 /etc/sudoers.d/dev
passwd -l dev >/dev/null
install -d -m 0700 -o dev -g dev /home/dev/.ssh
cat >/home/dev/.ssh/authorized_keys
chmod 0600 /home/dev/.ssh/authorized_keys
chown dev:dev /home/dev/.ssh/authorized_keys'

# Just after `start`, exec can fail ("Failed to retrieve PID of executing
# child process"): try it until it works, as lxdev does (every 0.2 s).
wait_exec() {
    local i
    for ((i = 0; i < 600; i++)); do
        c "$1" exec "$2" -- true </dev/null && return 0
        sleep 0.2
    done
    return 1
}
# step WHAT CMD...: CMD, naming WHAT in the log when it fails.
step() {
    local what=$1
    shift
    "$@" || {
        echo "=== by hand: $what failed (exit $?): $*" >&2
        return 1
    }
}
# wait_boot KIND NAME: WAIT_BOOT, again when the exec itself ended without
# the script's answer (0 or 1). With 4 fresh containers starting at once
# the boot wait's shell was seen killed (exit 137) or the exec ending with
# 255 and no message; each retry is logged, so the count can be read back.
wait_boot() {
    local i rc
    for ((i = 0; i < 5; i++)); do
        rc=0
        c "$1" exec "$2" -- sh -c "$WAIT_BOOT" </dev/null || rc=$?
        ((rc == 0 || rc == 1)) && return "$rc"
        echo "=== by hand: the boot wait's exec ended with $rc in $2; again" >&2
        sleep 0.2
    done
    return 1
}
plain_bare() { step init c "$1" init "$IMAGE" "$2" "${NEST[@]}" && step start c "$1" start "$2"; }
plain_ready() {
    plain_bare "$1" "$2" &&
        step "exec to work" wait_exec "$1" "$2" &&
        step boot wait_boot "$1" "$2" &&
        step user c "$1" exec "$2" -- sh -c "$ADD_USER" <"$KEY" &&
        step ssh c "$1" exec "$2" -- systemctl enable --now ssh </dev/null &&
        step snapshot c "$1" "${SNAP[@]}" "$2" initial-state
}
plain_clone() {
    step copy c "$1" copy --instance-only "$2" "$3" &&
        step start c "$1" start "$3" &&
        step "exec to work" wait_exec "$1" "$3" &&
        step boot wait_boot "$1" "$3" &&
        step snapshot c "$1" "${SNAP[@]}" "$3" initial-state
}

# --- timing --------------------------------------------------------------------

# timed KEY CMD...: runs CMD and adds its wall time in seconds to
# samples[KEY]. A failure is counted in failed[KEY] instead and the run goes
# on: under load LXD 5.0 sometimes fails an exec ("Failed to retrieve PID
# of executing child process"), and one such failure should not throw away
# the whole run. The table shows the count.
timed() {
    local key=$1 start
    shift
    start=$EPOCHREALTIME
    if ! "$@" >>"$LOG" 2>&1 </dev/null; then
        failed[$key]=$((${failed[$key]:-0} + 1))
        say "$key: failed, not counted"
        echo "=== failed: $*" >>"$LOG"
        return 0
    fi
    samples[$key]+="$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') "
}

# run_each N CMD NAME...: `CMD NAME` for every NAME, at most N at a time
# (0: all at once), and waits for all; fails if any fails. CMD is split on
# spaces (no argument here has one).
run_each() {
    local n=$1 cmd=$2 name running=0 rc=0
    shift 2
    for name; do
        if ((n && running == n)); then
            wait -n || rc=1
            running=$((running - 1))
        fi
        $cmd "$name" &
        running=$((running + 1))
    done
    while ((running > 0)); do
        wait -n || rc=1
        running=$((running - 1))
    done
    return $rc
}

# purge KIND NAME...: deletes the instances, between samples (not timed).
# One a failed sample never made is not there; the exit cleanup catches
# anything else by its TAG.
purge() {
    local kind=$1 name
    shift
    for name; do c "$kind" delete --force "$name" >>"$LOG" 2>&1 || true; done
}

names() { local i; for ((i = 1; i <= $2; i++)); do echo "$1$i"; done; }

# --- cases: each runs one lxdev sample and one by-hand sample ------------------
# $1: pool kind, $2: "lxdev" or "hand", whichever goes first.

case_ready() {
    local kind=$1 n=$((++seq_no))
    if [[ $2 == lxdev ]]; then
        lxdev_init "$tmp/$n" "${TAG}l$n" "$kind"
        timed "$kind ready lxdev" "$LXDEV" -q -C "$tmp/$n" container create c "$IMAGE"
        purge "$kind" "${TAG}l$n-c"
    else
        timed "$kind ready hand" plain_ready "$kind" "${TAG}h$n-c"
        purge "$kind" "${TAG}h$n-c"
    fi
}

# The sources of reset and clone, one per side and pool kind, made once.
prepare_sources() {
    local kind=$1 dir what
    for what in reset clone; do
        [[ " ${CASES[*]} " == *" $what "* ]] || continue
        dir=$tmp/$kind-$what
        lxdev_init "$dir" "${TAG}l$kind$what" "$kind"
        "$LXDEV" -q -C "$dir" container create src "$IMAGE" >>"$LOG" 2>&1 || die "could not make lxdev's $what source"
        plain_ready "$kind" "${TAG}h$kind$what" >>"$LOG" 2>&1 || die "could not make the by-hand $what source"
    done
}

case_reset() {
    local kind=$1
    if [[ $2 == lxdev ]]; then
        timed "$kind reset lxdev" "$LXDEV" -q -C "$tmp/$kind-reset" container reset src
    else
        timed "$kind reset hand" c "$kind" "${RESTORE[@]}" "${TAG}h${kind}reset" initial-state
        # What makes `restore` alone the same work as lxdev's reset.
        [[ $(c "$kind" list -f csv -c s "${TAG}h${kind}reset") == RUNNING ]] ||
            die "restore left ${TAG}h${kind}reset stopped: the by-hand reset needs a start"
    fi
}

case_clone() {
    local kind=$1 n=$((++seq_no))
    if [[ $2 == lxdev ]]; then
        timed "$kind clone lxdev" "$LXDEV" -q -C "$tmp/$kind-clone" container clone src "k$n"
        # Through lxdev, so its file forgets the clone too.
        "$LXDEV" -q -C "$tmp/$kind-clone" container remove "k$n" >>"$LOG" 2>&1 || die "could not remove clone k$n"
    else
        timed "$kind clone hand" plain_clone "$kind" "${TAG}h${kind}clone" "${TAG}h$n-k"
        purge "$kind" "${TAG}h$n-k"
    fi
}

case_up() {
    local kind=$1 n=$((++seq_no)) dir
    if [[ $2 == lxdev ]]; then
        dir=$tmp/$n
        lxdev_init "$dir" "${TAG}l$n" "$kind"
        # 8 entries as a checked-in file has them: an image, not created here.
        sed -i 's/^containers: {}$/containers:/' "$dir/containers.yaml"
        names u 8 | while read -r u; do printf '  %s:\n    image: %s\n' "$u" "$IMAGE"; done >>"$dir/containers.yaml"
        timed "$kind up lxdev" "$LXDEV" -q -C "$dir" up --all --jobs 4
        # shellcheck disable=SC2046 # names without spaces
        purge "$kind" $(names "${TAG}l$n-u" 8)
    else
        # shellcheck disable=SC2046
        timed "$kind up hand" run_each 4 "plain_ready $kind" $(names "${TAG}h$n-u" 8)
        # shellcheck disable=SC2046
        purge "$kind" $(names "${TAG}h$n-u" 8)
    fi
}

case_bare() {
    local kind=$1 n=$((++seq_no)) i
    if [[ $2 == lxdev ]]; then
        lxdev_init "$tmp/$n" "${TAG}l$n" "$kind"
        for i in 1 2 3 4 5; do
            timed "$kind bare lxdev" "$LXDEV" -q -C "$tmp/$n" container create "b$i" "$IMAGE" --no-provision
        done
        # shellcheck disable=SC2046
        purge "$kind" $(names "${TAG}l$n-b" 5)
    else
        for i in 1 2 3 4 5; do
            timed "$kind bare hand" plain_bare "$kind" "${TAG}h$n-b$i"
        done
        # shellcheck disable=SC2046
        purge "$kind" $(names "${TAG}h$n-b" 5)
    fi
}

lxdev_bare() { "$LXDEV" -q -C "$1" container create "$2" "$IMAGE" --no-provision; }

case_par() {
    local kind=$1 n=$((++seq_no))
    if [[ $2 == lxdev ]]; then
        lxdev_init "$tmp/$n" "${TAG}l$n" "$kind"
        # shellcheck disable=SC2046
        timed "$kind par lxdev" run_each 0 "lxdev_bare $tmp/$n" $(names p 10)
        # shellcheck disable=SC2046
        purge "$kind" $(names "${TAG}l$n-p" 10)
    else
        # shellcheck disable=SC2046
        timed "$kind par hand" run_each 0 "plain_bare $kind" $(names "${TAG}h$n-p" 10)
        # shellcheck disable=SC2046
        purge "$kind" $(names "${TAG}h$n-p" 10)
    fi
}

# --- report --------------------------------------------------------------------

# stats KEY: "min median max n" of samples[KEY], or nothing.
stats() {
    [[ -n ${samples[$1]:-} ]] || return 0
    # shellcheck disable=SC2086 # one sample per word
    printf '%s\n' ${samples[$1]} | sort -g | awk '
        { v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.2f %.2f %.2f %d", v[1], m, v[NR], NR }'
}

declare -A LABEL=(
    [ready]="dev-ready create"
    [reset]="container reset"
    [clone]="container clone"
    [up]="up --all --jobs 4, 8 entries"
    [bare]="bare create (--no-provision)"
    [par]="bare create, 10 at once"
)

report() {
    local kind case a1 a2 a3 an h1 h2 h3 hn
    printf '\n%-6s %-30s %-20s %-20s %s\n' pool case "lxdev min/med/max s" "by hand min/med/max" "ratio (n lxdev, n by hand)"
    for kind in "${KINDS[@]}"; do
        [[ -n ${RPROJ[$kind]:-} ]] || continue
        for case in "${CASES[@]}"; do
            read -r a1 a2 a3 an <<<"$(stats "$kind $case lxdev")"
            read -r h1 h2 h3 hn <<<"$(stats "$kind $case hand")"
            [[ -n $a2$h2$(fail_note "$kind $case") ]] || continue
            printf '%-6s %-30s %-20s %-20s %s%s\n' "$kind" "${LABEL[$case]}" \
                "${a2:+$a1/$a2/$a3}" "${h2:+$h1/$h2/$h3}" \
                "$(awk -v a="${a2:-0}" -v h="${h2:-0}" 'BEGIN { if (a && h) printf "%.2f", a / h; else printf "-" }') (${an:-0}, ${hn:-0})" \
                "$(fail_note "$kind $case")"
        done
    done
    if [[ -n ${RPROJ[btrfs]:-} ]]; then
        echo
        echo "goals (medians, btrfs): dev-ready create <= 3.5 s, reset <= 1.5 s, clone <= 1 s; lxdev / by hand <= 1.05 (same pool)"
        goal "btrfs ready lxdev" 3.5
        goal "btrfs reset lxdev" 1.5
        goal "btrfs clone lxdev" 1
        for kind in "${KINDS[@]}"; do
            for case in ready bare par; do ratio_goal "$kind" "$case"; done
        done
    fi
}

# fail_note KEY-PREFIX: ", failed: lxdev N, by hand M" when any sample failed.
fail_note() {
    local a=${failed[$1 lxdev]:-0} h=${failed[$1 hand]:-0}
    ((a + h == 0)) || printf ', failed: lxdev %d, by hand %d' "$a" "$h"
}

goal() {
    local m
    m=$(stats "$1" | cut -d' ' -f2)
    [[ -n $m ]] || return 0
    printf '  %-34s %6s s  %s\n' "$1" "$m" "$(awk -v m="$m" -v g="$2" 'BEGIN { print (m <= g ? "met" : "NOT met") }')"
}

ratio_goal() {
    local a h
    a=$(stats "$1 $2 lxdev" | cut -d' ' -f2)
    h=$(stats "$1 $2 hand" | cut -d' ' -f2)
    [[ -n $a && -n $h ]] || return 0
    printf '  %-34s %6s    %s\n' "$1 $2 lxdev / by hand" "$(awk -v a="$a" -v h="$h" 'BEGIN { printf "%.2f", a / h }')" \
        "$(awk -v a="$a" -v h="$h" 'BEGIN { print (a / h <= 1.05 ? "met" : "NOT met") }')"
}

# --- trace -----------------------------------------------------------------------

# trace KIND: one dev-ready create with the client wrapped; prints a row per
# client call (start offset and duration in ms, exit status, arguments;
# lxdev's provisioning scripts shortened to their purpose).
trace() {
    local kind=$1 n=$((++seq_no)) real start end
    real=$(command -v "$CLIENT")
    mkdir -p "$tmp/bin"
    cat >"$tmp/bin/$CLIENT" <<EOT
#!/usr/bin/env bash
s=\$EPOCHREALTIME
"$real" "\$@"
rc=\$?
printf '%s\t%s\t%s\t%s\n' "\$s" "\$EPOCHREALTIME" "\$rc" "\$(printf '%q ' "\$@")" >>"$tmp/trace.log"
exit \$rc
EOT
    chmod +x "$tmp/bin/$CLIENT"
    lxdev_init "$tmp/$n" "${TAG}l$n" "$kind"
    : >"$tmp/trace.log"
    start=$EPOCHREALTIME
    PATH=$tmp/bin:$PATH "$LXDEV" -q -C "$tmp/$n" container create c "$IMAGE" >>"$LOG" 2>&1 || die "traced create failed"
    end=$EPOCHREALTIME
    echo
    echo "$kind pool (${POOL[$kind]}): lxdev container create c $IMAGE"
    printf '%8s %8s %3s  %s\n' "at ms" "took ms" rc "call"
    awk -F'\t' -v t0="$start" -v t1="$end" '
        { a = $4
          if (a ~ /lxdev-begin/) sub(/sh -c .*/, "sh -c <provision in one exec, taking turns over stdin: ready, user, ssh>", a)
          else if (a ~ /is-system-running/) sub(/sh -c .*/, "sh -c <wait for boot: cloud-init or systemctl is-system-running --wait>", a)
          else if (a ~ /useradd/) sub(/sh -c .*/, "sh -c <user: useradd, sudo, sudoers, keys on stdin>", a)
          else if (a ~ /sshd/) sub(/sh -c .*/, "sh -c <ssh: install if missing, ssh-keygen -A, enable --now>", a)
          gsub(/ -c user\.lxdev\.[^ ]*/, "", a)
          printf "%8.0f %8.0f %3d  %s\n", ($1 - t0) * 1000, ($2 - $1) * 1000, $3, a
          sum += $2 - $1 }
        END { printf "total %.0f ms: %d client calls %.0f ms, lxdev itself %.0f ms\n", (t1 - t0) * 1000, NR, sum * 1000, (t1 - t0 - sum) * 1000 }
    ' "$tmp/trace.log"
    purge "$kind" "${TAG}l$n-c"
}

# --- run -------------------------------------------------------------------------

echo "bench-lxd: $("$CLIENT" version 2>/dev/null | tr '\n' ' ')($CLIENT), image $IMAGE, lxdev $LXDEV ($(sha256sum "$LXDEV" | cut -c1-12)), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in "${KINDS[@]}"; do
    setup_kind "$kind" || continue
    echo "  $kind: pool ${POOL[$kind]}, project ${RPROJ[$kind]}"
done
((${#RPROJ[@]})) || die "no pool to run on"

if ((TRACE)); then
    for kind in "${KINDS[@]}"; do [[ -n ${RPROJ[$kind]:-} ]] && trace "$kind"; done
    exit 0
fi

for kind in "${KINDS[@]}"; do
    [[ -n ${RPROJ[$kind]:-} ]] || continue
    prepare_sources "$kind"
done
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then order=(lxdev hand); else order=(hand lxdev); fi
    for kind in "${KINDS[@]}"; do
        [[ -n ${RPROJ[$kind]:-} ]] || continue
        for case in "${CASES[@]}"; do
            say "round $round/$ROUNDS: $kind $case"
            "case_$case" "$kind" "${order[0]}"
            "case_$case" "$kind" "${order[1]}"
        done
    done
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
report
echo "by-hand boot waits run again after a killed exec: $(grep -c "^=== by hand: the boot wait's exec ended" "$LOG" || true)"
if [[ -n ${failed[*]} ]]; then
    # Kept for reading: the exit cleanup removes the temp directory.
    cp "$LOG" "/tmp/lxdev-bench-lxd-$$.log"
    say "some samples failed (not in the medians); commands' output: /tmp/lxdev-bench-lxd-$$.log"
fi
