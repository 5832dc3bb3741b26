#!/usr/bin/env bash
# Sets up Incus for lxdev's integration tests and local use, on Debian 12,
# beside LXD (scripts/setup-lxd.sh): the two daemons have their own state
# (/var/lib/incus, /var/lib/lxd) and sockets, and run side by side.
#
# Idempotent: every step checks first and does nothing when already done, so
# a second run only re-runs the final check (a few seconds). Needs root and no
# standard input (it runs in CI). Steps:
#   1. add Debian's bookworm-backports suite if no apt source names it, and
#      install `incus-base` and `incus-client` from it (Incus 6.0 LTS; plain
#      bookworm has none), and `busybox-static`, if missing;
#   1b. let the daemon map host uid/gid 1500 (scripts/allow-idmap.sh);
#   2. start the daemon if no daemon answers (`incusd --group root`,
#      detached; `systemctl start incus` where systemd runs);
#   3. storage (scripts/setup-runtime.sh, `setup_pool`): on a fresh daemon,
#      preseed a storage pool `default` and a default profile with a root
#      disk on it, and no network (these machines have no bridge); the pool
#      is btrfs on a loop file when the kernel has btrfs (installing
#      btrfs-progs), else `dir`, saying why. On a daemon that has a pool,
#      that pool is left alone: a btrfs pool `lxdev-btrfs` is added beside
#      it and the profile's root disk moved there, when no instance relies
#      on the profile's root disk;
#   4. build the busybox image (scripts/busybox-image.sh, as setup-lxd.sh
#      does) and import it as image alias `busybox`;
#   5. launch, exec, snapshot, copy and delete a throwaway container.
#
# Environment:
#   LXDEV_INCUS_LOG  daemon log when this script starts incusd
#                    (default /var/log/incus-lxdev.log)
#   LXDEV_IMAGE      image alias to create (default busybox)
#   LXDEV_POOL_DRIVER, LXDEV_POOL_GIB  see setup-runtime.sh (auto, 8)
set -euo pipefail

LOG=${LXDEV_INCUS_LOG:-/var/log/incus-lxdev.log}
ALIAS=${LXDEV_IMAGE:-busybox}
INCUSD=/usr/libexec/incus/incusd
BACKPORTS=/etc/apt/sources.list.d/bookworm-backports.sources

say() { printf 'setup-incus: %s\n' "$*" >&2; }
die() {
    printf 'setup-incus: error: %s\n' "$*" >&2
    exit 1
}

work=
errors=
cleanup_temp() { rm -rf "${work:-/nonexistent}" "${errors:-/nonexistent}" "${errors:-/nonexistent}.out"; }
trap cleanup_temp EXIT

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts the Incus daemon)"

# --- 1. packages -----------------------------------------------------------

missing=()
[[ -x $INCUSD ]] || missing+=(incus-base)
command -v incus >/dev/null 2>&1 || missing+=(incus-client)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
    missing+=(busybox-static)
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    # Any source line or deb822 stanza naming the suite will do.
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        # The suite comes from the mirror the machine already uses for
        # bookworm (a deb822 `URIs:` line or a one-line `deb URI bookworm`).
        mirror=$(awk -v RS= '/Suites:[^\n]*bookworm/ { for (i = 1; i < NF; i++) if ($i == "URIs:") { print $(i + 1); exit } }' \
            /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
        [[ -n $mirror ]] ||
            mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
        [[ -n $mirror ]] || die "no Debian mirror found in /etc/apt to add bookworm-backports from"
        say "adding bookworm-backports from $mirror ($BACKPORTS)"
        cat >"$BACKPORTS" <<EOT
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
    fi
    say "installing ${missing[*]} (from bookworm-backports)"
    apt-get update -qq
    # -t takes Incus and the newer libraries it needs from backports; only
    # these packages come from there, nothing else is upgraded.
    apt-get install -y -qq --no-install-recommends -t bookworm-backports "${missing[@]}" >/dev/null ||
        die "apt-get install -t bookworm-backports ${missing[*]} failed"
fi

# Before the daemon starts: it reads root's ID ranges once, at start.
bash "$(dirname "${BASH_SOURCE[0]}")/allow-idmap.sh"

# --- 2. daemon -------------------------------------------------------------

# `incus query /1.0` fails at once when no daemon listens on the unix socket,
# whereas `incus admin waitready` would wait for one.
daemon_up() { incus query /1.0 >/dev/null 2>&1; }

if ! daemon_up; then
    if [[ -d /run/systemd/system ]] && systemctl start incus.socket incus.service 2>/dev/null; then
        say "started incus through systemd"
    else
        # No systemd here (containers, CI sandboxes): run the daemon by hand,
        # detached as setup-lxd.sh does with lxd (setsid: not in this
        # script's process group; nohup and /dev/null: no terminal needed).
        # incusd is not on PATH: Debian puts it under /usr/libexec/incus.
        say "starting incusd --group root (log: $LOG)"
        # From /: the daemon runs its tools (rsync) in its own working
        # directory, which must outlive the checkout this script ran from.
        setsid nohup env --chdir=/ "$INCUSD" --group root >>"$LOG" 2>&1 </dev/null &
    fi
    incus admin waitready --timeout 60 ||
        die "incusd did not become ready within 60 s; last lines of $LOG:
$(tail -n 20 "$LOG" 2>/dev/null)"
fi

# --- 3, 4 and 6, shared with the other setup script --------------------------

VARDIR=${INCUS_DIR:-/var/lib/incus}
SETUP=setup-incus CLIENT=incus INIT=(incus admin init) SNAP=(incus snapshot create)
# shellcheck source=scripts/setup-runtime.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup-runtime.sh"
setup_pool
setup_busybox

# --- 5. Debian 12 image, for the provisioning tests ---------------------------

bash "$(dirname "${BASH_SOURCE[0]}")/image-debian.sh" incus

# --- 6. check ----------------------------------------------------------------

check_runtime

echo "Incus is ready: incus $(incus --version), $(pool_summary), image '$ALIAS', no network"
