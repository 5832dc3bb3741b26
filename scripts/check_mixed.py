#!/usr/bin/env python3
"""Checks the outcome of scripts/race-mixed.sh. Python 3 stdlib only.

Usage: check_mixed.py LOG PROJECT_DIR

LOG has `#` header lines (seed, runtime, injected failures, re-run command)
and one line per lxdev invocation, tab-separated:
    client  op  args  start_ns  end_ns  exit  first-stderr-line
PROJECT_DIR holds containers.yaml. The file is read only through
`lxdev --json` (LXDEV_BIN, else target/release/lxdev of this repo), the
runtime through the fake runtime's directories or `lxc`/`incus`
(LXDEV_RUNTIME, default fake).

Checks, once all clients have exited:
1. lxdev can read the file (`lxdev --json list` exits 0).
2. No entry is left in flight (lxdev's --json says `in_flight`).
3. The file and the runtime agree exactly: the same containers, and the
   same snapshots per container.
4. Every acknowledged change that nothing later could have undone is in
   the file (see `judge`).
5. Exit codes are ones the operations can honestly return: 0, 3 (not
   found), 4 (conflict), 75 (busy), and 1 only where LXDEV_FAKE_FAIL injects
   a runtime failure for that operation and target.

Prints one line of statistics on stdout; problems on stderr; exits 1 if
any check fails.
"""

import json
import os
import subprocess
import sys
from collections import defaultdict

# Exit codes that mean "refused before anything changed": the reserving
# transaction rejected the operation (3 not found, 4 conflict, 75 busy or
# lock timeout) or the command line was wrong (2). A 75 from the
# committing transaction would come after runtime work, but that waits at
# least 60 s for the lock, far beyond any wait in this test.
NO_CHANGE = {2, 3, 4, 75}
EXPECTED_CODES = {0, 1, 3, 4, 75}

HERE = os.path.dirname(os.path.abspath(__file__))
LXDEV = os.environ.get("LXDEV_BIN") or os.path.join(HERE, "..", "target", "release", "lxdev")
RUNTIME = os.environ.get("LXDEV_RUNTIME", "fake")


class Op:
    def __init__(self, line):
        f = line.rstrip("\n").split("\t")
        self.client, self.kind, self.args = f[0], f[1], f[2].split()
        self.start, self.end, self.rc = int(f[3]), int(f[4]), int(f[5])
        self.err = f[6] if len(f) > 6 else ""
        a = self.args
        # Targets: ("c", name) for a container, ("s", name, snap) for a snapshot.
        if self.kind == "create":
            self.container = a[2]
        elif self.kind == "clone":
            self.container = a[3]
        elif self.kind == "remove":
            self.container = a[2]
        else:
            self.container, self.snapshot = a[2], a[3]

    def __str__(self):
        return "client %s: lxdev %s -> exit %d (%s)" % (
            self.client, " ".join(self.args), self.rc, self.err or "no message")

    # The effect an exit-0 run had on a container or snapshot: True
    # (exists afterwards), False (gone afterwards), None (no effect on it).
    def effect_on_container(self, name):
        if self.container != name:
            return None
        return {"create": True, "clone": True, "remove": False}.get(self.kind)

    def effect_on_snapshot(self, name, snap):
        if self.container != name:
            return None
        if self.kind in ("create", "clone", "remove"):
            # A new container has no snapshots; a removed one keeps none.
            return False
        if self.kind in ("snapshot_create", "snapshot_delete") and self.snapshot == snap:
            return self.kind == "snapshot_create"
        return None


def lxdev_json(proj, *args):
    p = subprocess.run([LXDEV, "-C", proj, "--json", *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("lxdev %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return json.loads(p.stdout)


def read_file_state(proj):
    """{container: ((state, in_flight), {snapshot: (state, in_flight)})}
    and the project name."""
    listing = lxdev_json(proj, "list")
    state = {}
    for c in listing["containers"]:
        snaps = {}
        if c["snapshots"]:
            for s in lxdev_json(proj, "snapshot", "list", c["name"])["snapshots"]:
                snaps[s["name"]] = (s["state"], s["in_flight"])
        state[c["name"]] = ((c["state"], c["in_flight"]), snaps)
    return listing["project"], state


def read_runtime_state(proj, project):
    """{container: set(snapshots)} for the project's runtime instances."""
    prefix = project + "-"
    found = {}
    if RUNTIME == "fake":
        base = os.path.join(proj, ".lxdev", "fake", "instances")
        names = sorted(os.listdir(base)) if os.path.isdir(base) else []
        for inst in names:
            if not inst.startswith(prefix):
                continue
            sdir = os.path.join(base, inst, "snapshots")
            snaps = set(os.listdir(sdir)) if os.path.isdir(sdir) else set()
            found[inst[len(prefix):]] = snaps
    else:
        client = "incus" if RUNTIME == "incus" else "lxc"
        out = subprocess.run([client, "list", "--format", "csv", "-c", "n"],
                             capture_output=True, text=True, check=True).stdout
        for inst in out.split():
            if not inst.startswith(prefix):
                continue
            urls = json.loads(subprocess.run(
                [client, "query", "/1.0/instances/%s/snapshots" % inst],
                capture_output=True, text=True, check=True).stdout)
            found[inst[len(prefix):]] = {u.rsplit("/", 1)[1] for u in urls}
    return found


def injected(fail_spec, op):
    """Whether LXDEV_FAKE_FAIL makes this operation's runtime step fail."""
    target = op.container if op.kind in ("create", "clone", "remove") else \
        "%s/%s" % (op.container, op.snapshot)
    for rule in filter(None, (r.strip() for r in fail_spec.split(","))):
        fields = rule.split(":")
        if len(fields) >= 2 and fields[0] == op.kind and fields[1] in ("*", target):
            return True
    return False


def judge(ops, effect, actual):
    """Decides what the file must say about one container or snapshot.

    `effect(op)` is the exit-0 effect of op on it (True/False/None).
    Returns (verdict, detail): verdict is "ok", "wrong", "unknown",
    "ambiguous" or "untouched".

    The last acknowledged operation L (latest end time among the exit-0
    runs that affect it) decides, but only when nothing could have changed
    it after L:
    - Another exit-0 run with the opposite effect that overlaps L in time:
      their commits may have happened in either order ("ambiguous").
    - A run that exited with a failure (1, or anything not in NO_CHANGE)
      and ended after L started: it may have applied part of its change
      after L's commit (a failed create can leave a `failed` entry, a
      failed remove can have removed it or not, a failed snapshot delete
      can leave the snapshot), so nothing can be said ("unknown").
    Runs refused with 3/4/75 changed nothing and are ignored.
    """
    relevant = [(op, effect(op)) for op in ops]
    relevant = [(op, e) for op, e in relevant if e is not None]
    acked = [(op, e) for op, e in relevant if op.rc == 0]
    if not acked:
        return "untouched", None
    last, expected = max(acked, key=lambda oe: oe[0].end)
    for op, e in acked:
        if op is not last and e != expected and op.end > last.start:
            return "ambiguous", None
    for op, _ in relevant:
        if op.rc != 0 and op.rc not in NO_CHANGE and op.end > last.start:
            return "unknown", None
    if actual != expected:
        return "wrong", "%s, but the last acknowledged operation on it was %s" % (
            "is in the file" if actual else "is missing from the file", last)
    return "ok", None


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    log_path, proj = sys.argv[1], sys.argv[2]
    header, ops = {}, []
    with open(log_path) as f:
        for line in f:
            if line.startswith("#"):
                text = line[1:].strip()
                if text.startswith("rerun="):
                    header["rerun"] = text[len("rerun="):]
                else:
                    for kv in text.split():
                        k, _, v = kv.partition("=")
                        header[k] = v
            elif line.strip():
                ops.append(Op(line))
    fail_spec = header.get("fail", "")
    problems = []

    try:
        project, file_state = read_file_state(proj)
    except (RuntimeError, ValueError, KeyError) as err:
        problems.append("the file cannot be read after the race: %s" % err)
        project, file_state = None, {}

    # 2. Nothing in flight.
    for name, ((state, flying), snaps) in sorted(file_state.items()):
        if flying:
            problems.append("container %s left %s" % (name, state))
        for snap, (sstate, sflying) in sorted(snaps.items()):
            if sflying:
                problems.append("snapshot %s/%s left %s" % (name, snap, sstate))

    # 3. File and runtime agree.
    if project is not None:
        runtime_state = read_runtime_state(proj, project)
        for name in sorted(set(file_state) | set(runtime_state)):
            if name not in runtime_state:
                problems.append("container %s is in the file (%s) but not in the runtime"
                                % (name, file_state[name][0][0]))
                continue
            if name not in file_state:
                problems.append("container %s is in the runtime but not in the file" % name)
                continue
            in_file = set(file_state[name][1])
            in_rt = runtime_state[name]
            for snap in sorted(in_file - in_rt):
                problems.append("snapshot %s/%s is in the file but not in the runtime" % (name, snap))
            for snap in sorted(in_rt - in_file):
                problems.append("snapshot %s/%s is in the runtime but not in the file" % (name, snap))

    # 4. Acknowledged changes.
    by_container = defaultdict(list)
    for op in ops:
        by_container[op.container].append(op)
    counts = defaultdict(int)
    snapshot_names = {op.snapshot for op in ops if hasattr(op, "snapshot")}
    for name, name_ops in sorted(by_container.items()):
        verdict, detail = judge(name_ops, lambda op: op.effect_on_container(name),
                                name in file_state)
        counts[verdict] += 1
        if verdict == "wrong":
            problems.append("container %s %s" % (name, detail))
        for snap in sorted(snapshot_names):
            actual = name in file_state and snap in file_state[name][1]
            verdict, detail = judge(name_ops, lambda op: op.effect_on_snapshot(name, snap), actual)
            counts[verdict] += 1
            if verdict == "wrong":
                problems.append("snapshot %s/%s %s" % (name, snap, detail))

    # 5. Exit codes.
    for op in ops:
        if op.rc not in EXPECTED_CODES:
            problems.append("unexpected exit code: %s" % op)
        elif op.rc == 1 and not injected(fail_spec, op):
            problems.append("failure with no injected cause: %s" % op)

    codes = defaultdict(int)
    for op in ops:
        codes[op.rc] += 1
    code_text = " ".join("%d:%d" % (k, codes[k]) for k in sorted(codes))
    stats = ("%d ops (exit %s), %d judged ok, %d unknown, %d ambiguous, %d untouched, "
             "%d containers in the end" % (len(ops), code_text, counts["ok"], counts["unknown"],
                                           counts["ambiguous"], counts["untouched"],
                                           len(file_state)))
    if counts["ok"] == 0 and not problems:
        problems.append("nothing could be judged: the race checked nothing (%s)" % stats)
    if problems:
        for p in problems:
            sys.stderr.write(p + "\n")
        sys.stderr.write("%s\n" % stats)
        if "seed" in header:
            sys.stderr.write("seed %s; %s\n" % (header["seed"], header.get("rerun", "")))
        print(stats)
        return 1
    print(stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
