#!/usr/bin/env bash
# Builds lxdev, makes a project in a temp dir, creates containers in
# parallel, snapshots one, clones it, and lists. Uses real LXD when `lxc`
# reaches a daemon with a `busybox` image, the fake runtime otherwise.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
lxdev="${LXDEV_BIN:-$root/target/release/lxdev}"

runtime=fake
if command -v lxc >/dev/null && lxc image info busybox >/dev/null 2>&1; then
  runtime=lxd
fi
dir=$(mktemp -d)
project="demo$$"
cleanup() {
  if [[ $runtime == lxd ]]; then
    "$lxdev" -q -C "$dir" container remove --force web db cache web-copy 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

run() { echo "\$ lxdev $*"; "$lxdev" -C "$dir" "$@"; }
run init --project "$project" --runtime "$runtime"
echo "\$ lxdev container create {web,db,cache} busybox   # three at once"
for name in web db cache; do
  "$lxdev" -C "$dir" container create "$name" busybox &
done
wait
run snapshot create web clean -d "fresh install"
run container clone web web-copy --snapshot clean
run list
run snapshot list web
run doctor
echo
echo "containers.yaml:"
cat "$dir/containers.yaml"
