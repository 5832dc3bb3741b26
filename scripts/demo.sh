#!/usr/bin/env bash
# Builds lxdev, makes a project in a temp dir, creates containers in
# parallel, snapshots one, clones it, and lists. Uses real LXD when `lxc`
# reaches a daemon with a `busybox` image, the fake runtime otherwise.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${LXDEV_BIN:-} ]]; then
  # Say what the silence is before it starts: a first release build takes
  # about 4 minutes on a 2-core machine. Cargo's own progress (a bar on a
  # terminal, "Compiling ..." lines otherwise) follows on stderr.
  echo "building lxdev in release mode (a first build takes about 4 minutes on 2 cores, later ones a few seconds)..." >&2
  cargo build --release --manifest-path "$root/Cargo.toml"
fi
lxdev="${LXDEV_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/lxdev}"

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
