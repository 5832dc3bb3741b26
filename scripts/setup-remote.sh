#!/usr/bin/env bash
# Makes the local LXD or Incus daemon reachable as an HTTPS remote of its own
# client, so lxdev's remote path (`remote:`, `--remote`) runs against a real
# remote: the tests in tests/cli/remote.rs use it.
#
# Usage: scripts/setup-remote.sh lxd|incus [REMOTE]   (REMOTE: lxdev-loop)
#
# Idempotent: a remote that already answers as trusted is left alone (a
# second run takes well under a second). Needs root and no standard input
# (it runs in CI), after scripts/setup-lxd.sh or scripts/setup-incus.sh.
# Steps:
#   1. `core.https_address`, if unset, becomes 127.0.0.1:8443 (LXD) or
#      127.0.0.1:8444 (Incus: both daemons run side by side, so not the
#      same port); one already set is used as it is;
#   2. a trust token named REMOTE (`lxc config trust add --name REMOTE`,
#      `incus config trust add REMOTE`), spent at once by
#   3. `lxc remote add REMOTE TOKEN` (LXD 5.0.2 has no `--token` flag: the
#      token itself carries the address and the server's fingerprint) or
#      `incus remote add REMOTE ADDRESS --token TOKEN --accept-certificate`
#      (Incus 6.0.4); a client the server already trusts (LXD then refuses
#      the token: "Client is already trusted") is added with
#      `--accept-certificate` alone; a REMOTE that exists but does not
#      answer as trusted (a daemon reinstalled since) is removed and added
#      again;
#   4. check: `query REMOTE:/1.0` says `"auth": "trusted"`, and the remote
#      lists the `busybox` image.
set -euo pipefail

say() { printf 'setup-remote: %s\n' "$*" >&2; }
die() {
    printf 'setup-remote: error: %s\n' "$*" >&2
    exit 1
}

runtime=${1:-}
remote=${2:-lxdev-loop}
case $runtime in
    lxd) client=lxc port=8443 ;;
    incus) client=incus port=8444 ;;
    *) die "usage: $0 lxd|incus [REMOTE]" ;;
esac
[[ $remote =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "remote name \`$remote\` is invalid"
[[ $(id -u) -eq 0 ]] || die "must run as root (it changes the daemon's configuration)"
command -v "$client" >/dev/null || die "\`$client\` is not installed: run scripts/setup-$runtime.sh first"
"$client" query /1.0 >/dev/null 2>&1 || die "\`$client\` reaches no daemon: run scripts/setup-$runtime.sh first"

# Whether REMOTE answers this client as trusted.
trusted() {
    "$client" query "$remote:/1.0" 2>/dev/null |
        python3 -c 'import json, sys; sys.exit(json.load(sys.stdin).get("auth") != "trusted")' 2>/dev/null
}

# Whether the client has a remote named REMOTE (the CSV's first column).
known() {
    "$client" remote list --format csv | cut -d, -f1 | sed 's/ (current)$//' | grep -qxF "$remote"
}

if known && trusted; then
    say "$client remote \`$remote\` answers as trusted; nothing to do"
else
    # --- 1. listen on HTTPS -------------------------------------------------
    address=$("$client" config get core.https_address)
    if [[ -z $address ]]; then
        address=127.0.0.1:$port
        say "setting core.https_address to $address"
        "$client" config set core.https_address "$address"
    fi
    # A wildcard or host-less address (`[::]:8443`, `:8443`) is reached on
    # the loopback.
    case $address in
        :* | 0.0.0.0:* | "[::]:"*) address=127.0.0.1:${address##*:} ;;
    esac

    # --- 2. and 3. token, remote --------------------------------------------
    if known; then
        say "$client remote \`$remote\` does not answer as trusted; adding it again"
        "$client" remote remove "$remote"
    fi
    # A token left by an earlier run that failed half-way would be a second
    # pending token under the same name: revoke it first.
    "$client" config trust revoke-token "$remote" >/dev/null 2>&1 || true
    if [[ $runtime == lxd ]]; then
        out=$("$client" config trust add --name "$remote")
    else
        out=$("$client" config trust add "$remote")
    fi
    # "Client NAME certificate add token:" then the token on its own line.
    token=$(printf '%s\n' "$out" | tail -n 1)
    [[ $token =~ ^[A-Za-z0-9+/=_-]+$ ]] || die "\`$client config trust add\` printed no token: $out"
    say "adding $client remote \`$remote\` for https://$address"
    if [[ $runtime == lxd ]]; then
        added() { "$client" remote add "$remote" "$token" 2>&1; }
    else
        added() { "$client" remote add "$remote" "$address" --token "$token" --accept-certificate 2>&1; }
    fi
    if ! why=$(added); then
        # LXD 5.0 refuses a token from a client whose certificate the server
        # already trusts ("Client is already trusted": the remote was removed
        # from the client only); such a client needs no token at all.
        "$client" config trust revoke-token "$remote" >/dev/null 2>&1 || true
        "$client" remote add "$remote" "https://$address" --accept-certificate </dev/null >/dev/null 2>&1 ||
            die "\`$client remote add $remote\` failed: $why"
    fi
    # Incus accepts the token from a client it already trusts without
    # spending it: leave no pending token behind.
    "$client" config trust revoke-token "$remote" >/dev/null 2>&1 || true
fi

# --- 4. check ---------------------------------------------------------------
trusted || die "\`$client query $remote:/1.0\` does not answer as trusted"
"$client" image list "$remote:" --format csv -c l | grep -qxF busybox ||
    die "remote \`$remote\` has no \`busybox\` image: run scripts/setup-$runtime.sh"
say "ok: \`$client\` reaches this daemon as remote \`$remote\` ($("$client" remote list --format csv | grep "^$remote," | cut -d, -f2))"
