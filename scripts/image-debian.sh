#!/usr/bin/env bash
# Imports a Debian 12 image as alias `debian-12` into LXD (`lxc`, the
# default) or Incus (`incus`), for the provisioning tests: systemd as PID 1,
# sudo, openssh-server, and rsync and git (which `rsync -e ssh` and git
# over SSH need on the far side), so a container comes up like a real dev
# box.
#
# Idempotent: nothing happens when the alias names an image of this
# version (its description says `lxdev test image v2`). An older one is
# replaced: the new image is imported, then the alias moved to it (a
# create in between gets one or the other, both usable). The root
# filesystem is built once with `debootstrap --variant=minbase` (about
# 70 s, 290 MB, from the machine's Debian mirror) and kept in a cache, so
# importing it into a second daemon costs only the import.
#
# Usage: scripts/image-debian.sh [lxc|incus]
# Environment:
#   LXDEV_IMAGE_CACHE   where the built tarballs are kept (default /var/cache/lxdev)
set -euo pipefail

client=${1:-lxc}
alias=debian-12
cache=${LXDEV_IMAGE_CACHE:-/var/cache/lxdev}
version="lxdev test image v2"
meta=$cache/debian-12-v2.meta.tar
rootfs_tar=$cache/debian-12-v2.rootfs.tar

say() { printf 'image-debian: %s\n' "$*" >&2; }
die() {
    printf 'image-debian: error: %s\n' "$*" >&2
    exit 1
}

if info=$("$client" image info "$alias" 2>/dev/null); then
    grep -qF "$version" <<<"$info" && exit 0
    replacing=1
fi

if [[ ! -s $meta || ! -s $rootfs_tar ]]; then
    [[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap)"
    if ! command -v debootstrap >/dev/null; then
        say "installing debootstrap"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
            die "apt-get install debootstrap failed"
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    rootfs=$work/rootfs
    say "building the Debian 12 root filesystem with debootstrap (about 70 s)"
    # No mirror argument: debootstrap's default is Debian's own mirror.
    debootstrap --variant=minbase \
        --include=systemd-sysv,sudo,openssh-server,ca-certificates,rsync,git \
        bookworm "$rootfs" >"$work/debootstrap.log" 2>&1 ||
        die "debootstrap failed; last lines:
$(tail -n 20 "$work/debootstrap.log")"
    # Every container gets its own machine id and SSH host keys at first
    # boot; an image must not carry the builder's.
    : >"$rootfs/etc/machine-id"
    rm -f "$rootfs"/etc/ssh/ssh_host_*
    mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
    # The unit's own `sshd -t` check fails without host keys: make them
    # first (ExecStartPre= empties the list, then both run in order).
    cat >"$rootfs/etc/systemd/system/ssh.service.d/lxdev-host-keys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$work/templates"
    echo '{{ container.name }}' >"$work/templates/hostname.tpl"
    cat >"$work/metadata.yaml" <<EOF
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: Debian 12 minbase with systemd, sudo, openssh-server, rsync and git ($version)
  os: debian
  release: bookworm
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
EOF
    mkdir -p "$cache"
    tar -C "$work" -cf "$meta.part" metadata.yaml templates
    tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.part" .
    mv "$meta.part" "$meta"
    mv "$rootfs_tar.part" "$rootfs_tar"
fi

say "importing $alias into $client"
if [[ -z ${replacing:-} ]]; then
    "$client" image import "$meta" "$rootfs_tar" --alias "$alias" >/dev/null ||
        die "$client image import failed"
    exit 0
fi
out=$("$client" image import "$meta" "$rootfs_tar" 2>&1) || die "$client image import failed: $out"
fingerprint=$(grep -o '[0-9a-f]\{64\}' <<<"$out" | head -n 1)
[[ -n $fingerprint ]] || die "no fingerprint in: $out"
say "moving $alias to the new image ${fingerprint:0:12}"
"$client" image alias delete "$alias" >/dev/null 2>&1 || true
"$client" image alias create "$alias" "$fingerprint" >/dev/null ||
    die "$client image alias create $alias failed"
