#!/usr/bin/env bash
# Builds lxdev's busybox test image as a split LXD/Incus image: writes
# DIR/meta.tar and DIR/rootfs.tar, ready for `lxc image import` or
# `incus image import` (both read this format). Used by setup-lxd.sh and
# setup-incus.sh, so both daemons run the very same image.
# Needs /bin/busybox from Debian's busybox-static: statically linked, so it
# runs inside an empty rootfs with no libc. The dynamic `busybox` would not.
# Usage: scripts/busybox-image.sh DIR HOSTNAME
set -euo pipefail
work=$1
name=$2
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,root,home,var/log,tmp}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
    [[ -e $rootfs/bin/$applet ]] || ln -s busybox "$rootfs/bin/$applet"
done
ln -sf ../bin/busybox "$rootfs/sbin/init"
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
echo 'root:*:0:0:99999:7:::' >"$rootfs/etc/shadow"
chmod 0600 "$rootfs/etc/shadow"
echo "$name" >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$rootfs/etc/hosts"
cat >"$rootfs/etc/profile" <<'EOT'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PS1='\h:\w\$ '
EOT
# busybox init's built-in default spawns shells on tty1-4, which do not
# exist here. Instead: set the hostname, then keep one idle child so init
# has something to supervise. LXD and Incus stop an instance with SIGPWR,
# which busybox init handles as poweroff (about 2 s: SIGTERM, 1 s, SIGKILL,
# 1 s).
cat >"$rootfs/etc/inittab" <<'EOT'
::sysinit:/bin/hostname -F /etc/hostname
::respawn:/bin/sleep 2147483647
EOT
# The daemon renders templates/hostname.tpl into /etc/hostname when an
# instance is created or copied, so every container is named after itself.
mkdir -p "$work/templates"
echo '{{ container.name }}' >"$work/templates/hostname.tpl"
cat >"$work/metadata.yaml" <<EOT
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: busybox $("$rootfs/bin/busybox" | head -n 1 | awk '{print $2}') (lxdev test image)
  os: busybox
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
EOT
# Split image: metadata tarball plus rootfs tarball, both uncompressed
# (the rootfs is about 2 MB; compression would only cost time).
tar -C "$work" -cf "$work/meta.tar" metadata.yaml templates
tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
