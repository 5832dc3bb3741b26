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
#   ALIAS   the busybox image alias
# and say/die, and `work`/`errors`, which its EXIT trap removes.

# --- 3. storage pool and default profile -------------------------------------
setup_pool() {
    local root_pool
    root_pool=$("$CLIENT" profile device get default root pool 2>/dev/null || true)
    if "$CLIENT" storage show default >/dev/null 2>&1 && [[ -n $root_pool ]]; then
        return
    fi
    say "initialising ${INIT[0]}: dir storage pool 'default', no network"
    # `dir` needs no loop device or kernel module and copies with rsync, which
    # is fast enough for small dev images. No `networks:` and no `eth0`: these
    # machines have no bridge and no dnsmasq, so a NIC would fail to start.
    "${INIT[@]}" --preseed <<'EOT' || die "${INIT[*]} --preseed failed"
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
EOT
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
