#!/usr/bin/env bash
# Sets up LXD for lxdev's integration tests and local use, on Debian 12.
#
# Idempotent: every step checks first and does nothing when already done, so
# a second run only re-runs the final check (a few seconds). Needs root and no
# standard input (it runs in CI). Steps:
#   1. install Debian's `lxd` and `busybox-static` packages if missing;
#   1b. let the daemon map host uid/gid 1500 (scripts/allow-idmap.sh);
#   2. start the daemon if no daemon answers (`lxd --group root`, detached);
#   3. storage (scripts/setup-runtime.sh, `setup_pool`): on a fresh daemon,
#      preseed a storage pool `default` and a default profile with a root
#      disk on it, and no network (these machines have no bridge); the pool
#      is btrfs on a loop file when the kernel has btrfs (installing
#      btrfs-progs), else `dir`, saying why. On a daemon that has a pool,
#      that pool is left alone: a btrfs pool `lxdev-btrfs` is added beside
#      it and the profile's root disk moved there, when no instance relies
#      on the profile's root disk;
#   4. build a busybox rootfs and import it as image alias `busybox`;
#   5. import a Debian 12 image as `debian-12` (scripts/image-debian.sh);
#   6. launch, exec, snapshot, copy and delete a throwaway container.
#
# Environment:
#   LXDEV_LXD_LOG    daemon log when this script starts it
#                    (default /var/log/lxd-lxdev.log)
#   LXDEV_IMAGE      image alias to create (default busybox)
#   LXDEV_POOL_DRIVER, LXDEV_POOL_GIB  see setup-runtime.sh (auto, 8)
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

# --- 3, 4 and 6, shared with the other setup script --------------------------

VARDIR=${LXD_DIR:-/var/lib/lxd}
SETUP=setup-lxd CLIENT=lxc INIT=(lxd init) SNAP=(lxc snapshot)
# shellcheck source=scripts/setup-runtime.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup-runtime.sh"
setup_pool
setup_busybox

# --- 5. Debian 12 image, for the provisioning tests ---------------------------

bash "$(dirname "${BASH_SOURCE[0]}")/image-debian.sh" lxc

# --- 6. check ----------------------------------------------------------------

check_runtime

echo "LXD is ready: lxd $(lxd --version), $(pool_summary), image '$ALIAS', no network"
