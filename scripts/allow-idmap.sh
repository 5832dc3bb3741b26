#!/usr/bin/env bash
# Lets LXD and Incus map host uid/gid UID (default 1500) into containers:
# adds `root:UID:1` to /etc/subuid and /etc/subgid when no range of root's
# there covers it. `lxdev mount` maps a mounted folder's owner onto the
# container's dev user (raw.idmap), which the daemons only allow for IDs
# root is given there; the mount tests use a folder owned by 1500.
# Idempotent; needs root. Usage: scripts/allow-idmap.sh [UID]
set -euo pipefail
id=${1:-1500}
for file in /etc/subuid /etc/subgid; do
  touch "$file"
  if ! awk -F: -v id="$id" '$1 == "root" && id >= $2 && id < $2 + $3 { found = 1 } END { exit !found }' "$file"; then
    echo "root:$id:1" >>"$file"
    echo "allow-idmap: added root:$id:1 to $file"
  fi
done
