# Steps setup-lxd.sh and setup-incus.sh share once their daemon answers,
# sourced by both: the same pool, profile, image and final check for LXD
# and Incus, spelled with each one's client. Not run on its own.
#
# The sourcing script sets:
#   SETUP   its name, for messages (setup-lxd, setup-incus)
#   CLIENT  the client (lxc, incus)
#   INIT    the daemon's preseed command, as an array (lxd init; incus admin init)
#   SNAP    how the client takes a snapshot, as an array (lxc snapshot;
#           incus snapshot create): Incus 6 dropped LXD 5.0's spelling
#   LOG     the log of the daemon, if the caller started it
#   VARDIR  the daemon's state directory (/var/lib/lxd, /var/lib/incus),
#           which holds a btrfs pool's loop file
#   ALIAS   the busybox image alias
# and say/die, and `work`/`errors`, which its EXIT trap removes.

# --- 3. storage pool and default profile -------------------------------------
# The default profile's root disk goes on btrfs when the kernel has it: btrfs
# snapshots and copies are copy-on-write, where `dir` rsyncs the whole root
# filesystem. Measured on LXD 5.0 here with debian-12: snapshot 0.33 s vs
# 2.1 s, copy 0.38 s vs 4.2 s, and the tests and CI spend most of their time
# in snapshot, copy and restore. The btrfs filesystem lives in a sparse loop
# file under the daemon's directory (LXD and Incus make and mount it), so it
# needs no spare disk or partition, only btrfs in the kernel, btrfs-progs and
# loop devices. Anything missing: `dir`, which needs none of them, and the
# reason is printed.
#
# Environment:
#   LXDEV_POOL_DRIVER  auto (default): btrfs if possible, else dir;
#                      btrfs: fail instead of falling back; dir: never btrfs
#   LXDEV_POOL_GIB     size of the btrfs loop file, in GiB (default 8: the
#                      suite's containers share the image's blocks, so they
#                      use well under 1 GiB; the file is sparse and grows with
#                      use, but setup insists on this much free disk, since a
#                      host disk filling up under a loop file shows up as I/O
#                      errors inside containers)
POOL_DRIVER=${LXDEV_POOL_DRIVER:-auto}
POOL_GIB=${LXDEV_POOL_GIB:-8}
# The pool added beside an existing daemon's own, which is never changed.
BTRFS_POOL=lxdev-btrfs

# pool_driver POOL: prints the pool's driver; nothing if there is no such pool.
pool_driver() { "$CLIENT" storage show "$1" 2>/dev/null | sed -n 's/^driver: //p'; }

# root_pool: prints the pool of the default profile's root disk, which is
# where every new instance goes (the tests' too: they use the default
# profile, or projects that share it).
root_pool() { "$CLIENT" profile device get default root pool 2>/dev/null || true; }

# pool_summary: "storage pool 'NAME' (DRIVER)" for the ready line: read back
# from the daemon, so the line says what new instances will really get.
pool_summary() {
    local pool
    pool=$(root_pool)
    printf "storage pool '%s' (%s)" "${pool:-none}" "$(pool_driver "$pool")"
}

# btrfs_usable: returns 0 when a btrfs loop pool can be made here, installing
# btrfs-progs if needed; else 1, with the reason in $why.
btrfs_usable() {
    why=
    case $POOL_DRIVER in
    auto | btrfs) ;;
    dir)
        why="LXDEV_POOL_DRIVER=dir"
        return 1
        ;;
    *) die "LXDEV_POOL_DRIVER must be auto, btrfs or dir, not '$POOL_DRIVER'" ;;
    esac
    [[ $POOL_GIB =~ ^[1-9][0-9]*$ ]] || die "LXDEV_POOL_GIB must be a whole number of GiB, not '$POOL_GIB'"
    # The daemon mounts the loop file itself, so the host kernel must know
    # btrfs, built in or as a module. modprobe is tried once, quietly: inside
    # a VM or container it often has no modules to load.
    if ! grep -qw btrfs /proc/filesystems; then
        modprobe btrfs >/dev/null 2>&1 || true
        if ! grep -qw btrfs /proc/filesystems; then
            why="the kernel has no btrfs (not in /proc/filesystems; \`modprobe btrfs\` did not add it)"
            return 1
        fi
    fi
    if [[ ! -e /dev/loop-control ]]; then
        why="no loop devices here (/dev/loop-control is missing), and the pool is a loop file"
        return 1
    fi
    local dir=$VARDIR avail_gib
    while [[ ! -d $dir ]]; do dir=$(dirname "$dir"); done
    avail_gib=$(($(df --output=avail -k "$dir" | tail -n 1) / 1024 / 1024))
    if ((avail_gib < POOL_GIB)); then
        why="only $avail_gib GiB free under $dir, less than the ${POOL_GIB} GiB loop file (LXDEV_POOL_GIB)"
        return 1
    fi
    # mkfs.btrfs makes the filesystem; the daemon also runs `btrfs` for
    # subvolumes and snapshots. It finds them when the pool is created, so a
    # daemon started before this install needs no restart (checked on LXD
    # 5.0.2 and Incus 6.0.4).
    if ! command -v mkfs.btrfs >/dev/null 2>&1 || ! command -v btrfs >/dev/null 2>&1; then
        say "installing btrfs-progs (mkfs.btrfs and btrfs, for a btrfs storage pool)"
        export DEBIAN_FRONTEND=noninteractive
        # Stale package lists name files the mirror no longer has: update
        # only when the first try fails.
        if ! apt-get install -y -qq --no-install-recommends btrfs-progs >/dev/null 2>&1; then
            apt-get update -qq
            if ! apt-get install -y -qq --no-install-recommends btrfs-progs >/dev/null; then
                why="apt-get install btrfs-progs failed"
                return 1
            fi
        fi
    fi
}

# no_btrfs MESSAGE: with LXDEV_POOL_DRIVER=btrfs a failure, else a note.
no_btrfs() {
    [[ $POOL_DRIVER == btrfs ]] && die "$1 (LXDEV_POOL_DRIVER=btrfs asks for btrfs or nothing)"
    say "$1"
}

setup_pool() {
    local pool
    pool=$(root_pool)
    if "$CLIENT" storage show default >/dev/null 2>&1 && [[ -n $pool ]]; then
        setup_pool_beside "$pool"
        return
    fi
    # A fresh daemon: preseed the pool, and the default profile's root disk
    # on it. No `networks:` and no `eth0`: these machines have no bridge and
    # no dnsmasq, so a NIC would fail to start.
    if btrfs_usable; then
        say "initialising ${INIT[0]}: btrfs storage pool 'default' (${POOL_GIB} GiB loop file), no network"
        # A preseed that fails is undone by the daemon, so dir can follow.
        preseed_pool btrfs "size: ${POOL_GIB}GiB" && return
        why="${INIT[*]} --preseed with a btrfs pool failed (error above)"
    fi
    no_btrfs "initialising ${INIT[0]}: dir storage pool 'default', no network; not btrfs: $why"
    preseed_pool dir '' || die "${INIT[*]} --preseed failed"
}

# preseed_pool DRIVER CONFIG: pool `default` and the default profile's root
# disk on it. CONFIG is the pool's config, as the inside of a YAML flow
# mapping ("size: 8GiB"; empty for none).
preseed_pool() {
    "${INIT[@]}" --preseed <<EOT
config: {}
storage_pools:
- name: default
  driver: $1
  config: {$2}
profiles:
- name: default
  devices:
    root:
      type: disk
      path: /
      pool: default
EOT
}

# setup_pool_beside POOL: a daemon that already has a pool and a default
# profile with its root disk on POOL. POOL is left as it is, with everything
# on it; a btrfs pool is added beside it and new instances go there.
setup_pool_beside() {
    local pool=$1 driver out
    driver=$(pool_driver "$pool")
    # Already copy-on-write: this script's earlier run, or the admin's choice.
    [[ $driver == btrfs ]] && return
    if ! btrfs_usable; then
        no_btrfs "keeping the default profile's root disk on pool '$pool' ($driver); not btrfs: $why"
        return
    fi
    case $(pool_driver "$BTRFS_POOL") in
    btrfs) ;;
    "")
        say "adding btrfs storage pool '$BTRFS_POOL' (${POOL_GIB} GiB loop file) beside '$pool' ($driver), which is left as it is"
        if ! "$CLIENT" storage create "$BTRFS_POOL" btrfs size="${POOL_GIB}GiB" >/dev/null; then
            no_btrfs "keeping the default profile's root disk on pool '$pool' ($driver); not btrfs: \`$CLIENT storage create $BTRFS_POOL btrfs\` failed (error above)"
            return
        fi
        ;;
    *) die "storage pool '$BTRFS_POOL' exists with driver '$(pool_driver "$BTRFS_POOL")', not btrfs; remove or rename it, or set LXDEV_POOL_DRIVER=dir" ;;
    esac
    # New instances take their root disk from the default profile, so moving
    # it to btrfs puts every later create, copy and test there. Instances
    # that already exist must not move or break:
    # - the daemon refuses the change while any instance takes its root disk
    #   from this profile ("At least one instance relies on this profile's
    #   root disk device", LXD 5.0.2 and Incus 6.0.4), so it only succeeds
    #   when every instance has its own root disk;
    # - pinning each such instance first (`config device override X root`)
    #   would get around that, but restoring a snapshot taken before the pin
    #   drops the pin, and the instance then looks for its volume on the new
    #   pool: after that `snapshot` fails with "Storage volume not found"
    #   (tried on LXD 5.0.2). `container reset` restores exactly such a
    #   snapshot, so that is not done.
    # Instances with their own root disk on the old pool keep snapshotting,
    # copying and restoring there (tried after the move).
    if out=$("$CLIENT" profile device set default root pool "$BTRFS_POOL" 2>&1); then
        say "default profile's root disk moved from pool '$pool' ($driver) to '$BTRFS_POOL' (btrfs): new instances are copy-on-write"
    else
        no_btrfs "keeping the default profile's root disk on pool '$pool' ($driver), with '$BTRFS_POOL' beside it: ${out#Error: }. Existing instances are not moved; once they are gone, run this script again to put new ones on btrfs"
    fi
}

# --- 4. busybox image --------------------------------------------------------
setup_busybox() {
    "$CLIENT" image info "$ALIAS" >/dev/null 2>&1 && return
    say "building image '$ALIAS' from busybox-static"
    work=$(mktemp -d)
    bash "$(dirname "${BASH_SOURCE[0]}")/busybox-image.sh" "$work" "$ALIAS"
    "$CLIENT" image import "$work/meta.tar" "$work/rootfs.tar" --alias "$ALIAS" >/dev/null ||
        die "$CLIENT image import failed"
}

# --- 6. check ----------------------------------------------------------------
# Each step was measured at well under a second on a 2-core VM with cgroup
# v1, no AppArmor and no network; none needed security.privileged or
# raw.lxc. If one fails, the instance log usually says why.
check_runtime() {
    probe=lxdev-setup-check-$$
    copy=$probe-copy
    errors=$(mktemp)
    check "$CLIENT" launch "$ALIAS" "$probe"
    # The hostname comes from the image's template: proves exec runs inside it.
    # shellcheck disable=SC2016 # $(hostname) and $1 expand in the container
    check "$CLIENT" exec "$probe" -- sh -c 'test "$(hostname)" = "$1"' sh "$probe"
    check "${SNAP[@]}" "$probe" snap0
    check "$CLIENT" copy "$probe/snap0" "$copy"
    check "$CLIENT" delete --force "$probe" "$copy"
}

# check COMMAND...: runs it; on failure shows its stderr (kept aside, since
# `launch` warns that the instance has no network, expected here), the
# instance's log and the daemon's, removes the probes and exits 1.
check() {
    if ! "$@" </dev/null >"$errors.out" 2>"$errors"; then
        {
            # shellcheck disable=SC2016 # the backticks are literal quotes
            printf '%s: error: `%s` failed:\n' "$SETUP" "$*"
            cat "$errors"
            echo "instance log ($CLIENT info --show-log $probe):"
            "$CLIENT" info --show-log "$probe" 2>&1 | sed -n '/^Log:/,$p' || true
            echo "last lines of the daemon log ($LOG, if $SETUP started the daemon):"
            tail -n 10 "$LOG" 2>/dev/null || true
        } >&2
        # One name per call: `lxc delete a b` checks that both exist first
        # and deletes neither when one is missing.
        "$CLIENT" delete --force "$probe" >/dev/null 2>&1 || true
        "$CLIENT" delete --force "$copy" >/dev/null 2>&1 || true
        exit 1
    fi
}
