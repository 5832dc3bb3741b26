#!/usr/bin/env bash
# Sets up LXD for lxdev's integration tests and local use, on Debian 12.
#
# Idempotent: every step checks first and does nothing when already done, so
# a second run only re-runs the final check (a few seconds). Needs root and no
# standard input (it runs in CI). Steps:
#   1. install Debian's `lxd` and `busybox-static` packages if missing;
#   1b. let the daemon map host uid/gid 1500 (scripts/allow-idmap.sh);
#   2. start the daemon if no daemon answers (`lxd --group root`, detached);
#   3. preseed a `dir` storage pool `default` and a default profile with a
#      root disk on it, and no network: these machines have no bridge;
#   4. build a busybox rootfs and import it as image alias `busybox`;
#   5. import a Debian 12 image as `debian-12` (scripts/image-debian.sh);
#   6. launch, exec, snapshot, copy and delete a throwaway container.
#
# Environment:
#   LXDEV_LXD_LOG    daemon log when this script starts it
#                    (default /var/log/lxd-lxdev.log)
#   LXDEV_IMAGE      image alias to create (default busybox)
set -euo pipefail

LOG=${LXDEV_LXD_LOG:-/var/log/lxd-lxdev.log}
ALIAS=${LXDEV_IMAGE:-busybox}

say() { printf 'setup-lxd: %s\n' "$*" >&2; }
die() {
    printf 'setup-lxd: error: %s\n' "$*" >&2
    exit 1
}

work=
errors=
cleanup_temp() { rm -rf "${work:-/nonexistent}" "${errors:-/nonexistent}" "${errors:-/nonexistent}.out"; }
trap cleanup_temp EXIT

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts the LXD daemon)"

# --- 1. packages -----------------------------------------------------------

missing=()
command -v lxd >/dev/null 2>&1 && command -v lxc >/dev/null 2>&1 || missing+=(lxd)
# busybox-static ships /bin/busybox statically linked, so it runs inside an
# empty rootfs with no libc. The dynamic `busybox` package would not.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
    missing+=(busybox-static)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has empty package lists; an old one may have stale ones
    # that name files the mirror no longer has. Update once, then install.
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
fi

# Before the daemon starts: it reads root's ID ranges once, at start.
bash "$(dirname "${BASH_SOURCE[0]}")/allow-idmap.sh"

# --- 2. daemon -------------------------------------------------------------

# `lxc query /1.0` fails at once when no daemon listens on the unix socket,
# whereas `lxd waitready` would wait for one.
daemon_up() { lxc query /1.0 >/dev/null 2>&1; }

if ! daemon_up; then
    if [[ -d /run/systemd/system ]] && systemctl start lxd.socket lxd.service 2>/dev/null; then
        say "started lxd through systemd"
    else
        # No systemd here (containers, CI sandboxes): run the daemon by hand.
        # setsid detaches it from this script's process group, so a CI runner
        # killing the job does not take the daemon with it; nohup and the
        # /dev/null stdin keep it alive without a terminal.
        say "starting lxd --group root (log: $LOG)"
        # From /: the daemon runs its tools (rsync) in its own working
        # directory, which must outlive the checkout this script ran from.
        setsid nohup env --chdir=/ lxd --group root >>"$LOG" 2>&1 </dev/null &
    fi
    lxd waitready --timeout 60 ||
        die "lxd did not become ready within 60 s; last lines of $LOG:
$(tail -n 20 "$LOG" 2>/dev/null)"
fi

# --- 3. storage pool and default profile -------------------------------------

root_pool=$(lxc profile device get default root pool 2>/dev/null || true)
if ! lxc storage show default >/dev/null 2>&1 || [[ -z $root_pool ]]; then
    say "initialising lxd: dir storage pool 'default', no network"
    # `dir` needs no loop device or kernel module and copies with rsync, which
    # is fast enough for small dev images. No `networks:` and no `eth0`: these
    # machines have no bridge and no dnsmasq, so a NIC would fail to start.
    lxd init --preseed <<'EOF' || die "lxd init --preseed failed"
config: {}
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      type: disk
      path: /
      pool: default
EOF
fi

# --- 4. busybox image --------------------------------------------------------

if ! lxc image info "$ALIAS" >/dev/null 2>&1; then
    say "building image '$ALIAS' from busybox-static"
    work=$(mktemp -d)
    bash "$(dirname "${BASH_SOURCE[0]}")/busybox-image.sh" "$work" "$ALIAS"
    lxc image import "$work/meta.tar" "$work/rootfs.tar" --alias "$ALIAS" >/dev/null ||
        die "lxc image import failed"
fi

# --- 5. Debian 12 image, for the provisioning tests ---------------------------

bash "$(dirname "${BASH_SOURCE[0]}")/image-debian.sh" lxc

# --- 6. check ----------------------------------------------------------------

# Each step below was measured at well under a second on a 2-core VM with
# cgroup v1, no AppArmor and no network; none needed security.privileged or
# raw.lxc. If one fails, the instance log usually says why.
probe=lxdev-setup-check-$$
copy=$probe-copy
errors=$(mktemp)
# `lxc launch` warns on stderr that the instance has no network: expected
# here, so stderr is kept aside and shown only when a step fails.
check() {
    if ! "$@" </dev/null >"$errors.out" 2>"$errors"; then
        {
            # shellcheck disable=SC2016 # the backticks are literal quotes
            printf 'setup-lxd: error: `%s` failed:\n' "$*"
            cat "$errors"
            echo "instance log (lxc info --show-log $probe):"
            lxc info --show-log "$probe" 2>&1 | sed -n '/^Log:/,$p' || true
            echo "last lines of the daemon log ($LOG, if this script started lxd):"
            tail -n 10 "$LOG" 2>/dev/null || true
        } >&2
        # One name per call: `lxc delete a b` checks that both exist first
        # and deletes neither when one is missing.
        lxc delete --force "$probe" >/dev/null 2>&1 || true
        lxc delete --force "$copy" >/dev/null 2>&1 || true
        exit 1
    fi
}
check lxc launch "$ALIAS" "$probe"
# The hostname comes from the image's template: proves exec runs inside it.
# shellcheck disable=SC2016 # $(hostname) and $1 expand in the container
check lxc exec "$probe" -- sh -c 'test "$(hostname)" = "$1"' sh "$probe"
check lxc snapshot "$probe" snap0
check lxc copy "$probe/snap0" "$copy"
check lxc delete --force "$probe" "$copy"

echo "LXD is ready: lxd $(lxd --version), storage pool 'default' (dir), image '$ALIAS', no network"
