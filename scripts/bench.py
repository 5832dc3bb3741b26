#!/usr/bin/env python3
"""lxdev benchmarks: prints medians of wall times and lock waits.

Not a test: these machines are shared and noisy, so it prints numbers and
never fails on them. Usage: scripts/bench.sh [REPEATS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("LXDEV_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "lxdev")
REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
FLOOR = os.environ.get("LXDEV_BENCH_FLOOR")


def env(**extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LXDEV_") or k == "LXDEV_BIN"}
    e.setdefault("LXDEV_RUNTIME", "fake")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def project(entries=0, runtime="fake", name=None, snapshots=False):
    """A temp project with `entries` ready containers (written directly),
    each with one snapshot if `snapshots`."""
    d = tempfile.mkdtemp(prefix="lxdev-bench-")
    name = name or "bench%d" % os.getpid()
    lines = ["project: %s" % name, "runtime: %s" % runtime, "containers:" if entries else "containers: {}"]
    for i in range(entries):
        lines += ["  e%d:" % i, "    image: busybox", "    owner: bench",
                  '    created_at: "2026-01-01T00:00:00.000Z"']
        if snapshots:
            lines += ["    snapshots:", "      initial-state:", "        description: Initial state after setup",
                      '        created_at: "2026-01-01T00:00:00.000Z"']
        os.makedirs(os.path.join(d, ".lxdev/fake/instances/%s-e%d" % (name, i)))
    with open(os.path.join(d, "containers.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return d


def run_parallel(d, n, e, prefix="c", extra_args=()):
    """n parallel creates; returns (wall s, failures, per-process lock wait ms)."""
    start = time.monotonic()
    procs = [subprocess.Popen([BIN, "-v", "-C", d, "container", "create", "%s%d" % (prefix, i), "busybox", *extra_args],
                              env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    waits, failures = [], 0
    for p in procs:
        _, err = p.communicate()
        failures += p.returncode != 0
        waits.append(sum(float(line.split("after ")[1].split(" ms")[0])
                         for line in err.splitlines() if "lock acquired after" in line))
    return time.monotonic() - start, failures, waits


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def timed(argv, e=None):
    """Runs argv; returns (wall ms, peak RSS MB)."""
    start = time.monotonic()
    p = subprocess.Popen(argv, env=e or env(), stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = (time.monotonic() - start) * 1000
    if status != 0:
        sys.exit("failed: %s" % " ".join(argv))
    return wall, usage.ru_maxrss / 1024


# flock(1) + PyYAML with libyaml (CLoader/CDumper): load, add an entry,
# dump to a temp file, fsync, atomic replace.
PYYAML = r"""
import os, sys, yaml
path, name = sys.argv[1], sys.argv[2]
with open(path) as f:
    data = yaml.load(f, Loader=yaml.CLoader)
data["containers"][name] = {"image": "busybox", "owner": "bench",
                            "created_at": "2026-01-01T00:00:00.000Z"}
tmp = path + ".tmp"
with open(tmp, "w") as f:
    yaml.dump(data, f, Dumper=yaml.CDumper, sort_keys=False)
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, path)
"""


def one_create(entries, snapshots=False, pyyaml=False):
    """Median wall ms and peak RSS MB of one create (and of flock(1) +
    PyYAML on the same file, if asked)."""
    times, rss, py = [], [], []
    repeats = REPEATS * 3 if entries <= 1000 else REPEATS
    for r in range(repeats):
        d = project(entries, snapshots=snapshots)
        wall, mb = timed([BIN, "-C", d, "container", "create", "new%d" % r, "busybox"])
        times.append(wall)
        rss.append(mb)
        if pyyaml:
            f = os.path.join(d, "containers.yaml")
            py.append(timed(["flock", f + ".lock", sys.executable, "-c", PYYAML, f, "py%d" % r])[0])
        shutil.rmtree(d)
    return statistics.median(times), max(rss), statistics.median(py) if py else None


def list_case(entries):
    d = project(entries)
    runs = [timed([BIN, "-C", d, "list"]) for _ in range(REPEATS)]
    shutil.rmtree(d)
    return statistics.median(w for w, _ in runs), max(m for _, m in runs)


def pyyaml_available():
    return subprocess.run([sys.executable, "-c", "import yaml; yaml.CLoader"],
                          stderr=subprocess.DEVNULL).returncode == 0 and shutil.which("flock")


def parallel_case(n, delay=None, extra_args=()):
    walls, fails, p50s, p99s = [], [], [], []
    for _ in range(REPEATS):
        d = project()
        extra = {}
        if delay:
            extra["LXDEV_FAKE_DELAY_MS"] = delay
        wall, failures, waits = run_parallel(d, n, env(**extra), extra_args=extra_args)
        walls.append(wall)
        fails.append(failures)
        p50s.append(pct(waits, 0.5))
        p99s.append(pct(waits, 0.99))
        shutil.rmtree(d)
    return statistics.median(walls), max(fails), statistics.median(p50s), statistics.median(p99s)


def floor_case(n):
    """n parallel runs of the C floor: per process a blocking flock, read,
    append, write a temp file, fsync, rename."""
    d = project()
    start = time.monotonic()
    procs = [subprocess.Popen([FLOOR, d, "c%d" % i]) for i in range(n)]
    failures = sum(p.wait() != 0 for p in procs)
    wall = time.monotonic() - start
    shutil.rmtree(d)
    return wall, failures


def lxd_reachable():
    return shutil.which("lxc") and subprocess.run(
        ["lxc", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def lxd_case():
    name = "lxbench%d" % os.getpid()
    d = project(runtime="lxd", name=name)
    e = env(LXDEV_RUNTIME="lxd")
    try:
        start = time.monotonic()
        for i in range(10):
            subprocess.run([BIN, "-C", d, "container", "create", "s%d" % i, "busybox"], env=e,
                           check=True, stdout=subprocess.DEVNULL)
        sequential = time.monotonic() - start
        parallel, failures, _ = run_parallel(d, 10, e, prefix="p")
        return sequential, parallel, failures
    finally:
        out = subprocess.run(["lxc", "list", "--format", "csv", "-c", "n"], capture_output=True, text=True).stdout
        for inst in out.split():
            if inst.startswith(name + "-"):
                subprocess.run(["lxc", "delete", "--force", inst], stderr=subprocess.DEVNULL)
        shutil.rmtree(d)


def main():
    print("lxdev benchmarks: %s, medians of %d runs, %d cores" % (BIN, REPEATS, os.cpu_count()))
    print("binary size: %.1f MB" % (os.path.getsize(BIN) / 1e6))
    print("%-52s %9s %9s" % ("one create (fake runtime, provisioning on)", "median ms", "peak MB"))
    ms, mb, _ = one_create(10)
    print("%-52s %9.1f %9.1f" % ("file of 10 entries", ms, mb))
    ms, mb, _ = one_create(1000, snapshots=True)
    print("%-52s %9.1f %9.1f" % ("file of 1,000 entries, one snapshot each", ms, mb))
    py = pyyaml_available()
    ms, mb, pyms = one_create(10000, pyyaml=py)
    print("%-52s %9.1f %9.1f" % ("file of 10,000 entries", ms, mb))
    if py:
        print("%-52s %9.1f %9s  (lxdev %.1fx faster)" % ("  flock(1) + PyYAML CLoader/CDumper, same file", pyms, "", pyms / ms))
    else:
        print("  flock(1) + PyYAML: not available (python3-yaml with libyaml, util-linux flock)")
    ms, mb = list_case(10000)
    print("%-52s %9.1f %9.1f" % ("list, 10,000 entries", ms, mb))
    print()
    print("%-44s %8s %9s %12s %12s" % ("parallel creates", "wall s", "failures", "wait p50 ms", "wait p99 ms"))
    # Provisioning records each step in its own transaction (6 per create);
    # --no-provision is a create of 2 (reserve, commit), as when the
    # 200-parallel goal was set.
    cases = [("N=50", 50, None, ()), ("N=200", 200, None, ()),
             ("N=200, --no-provision", 200, None, ("--no-provision",)),
             ("N=10, LXDEV_FAKE_DELAY_MS=1000", 10, 1000, ())]
    for label, n, delay, extra_args in cases:
        wall, failures, p50, p99 = parallel_case(n, delay, extra_args)
        print("%-44s %8.2f %9d %12.1f %12.1f" % (label, wall, failures, p50, p99))
        if n == 200 and FLOOR:
            floor = statistics.median(floor_case(200)[0] for _ in range(REPEATS))
            print("%-44s %8.2f %9s   lxdev/floor %.1fx" % ("  C floor (scripts/bench-floor.c), just after", floor, "", wall / floor))
    if lxd_reachable():
        sequential, parallel, failures = lxd_case()
        print()
        print("LXD, 10 creates: sequential %.2f s, parallel %.2f s (%.1fx), %d failures"
              % (sequential, parallel, sequential / parallel, failures))
    else:
        print("\nLXD: not reachable, skipped (run scripts/setup-lxd.sh)")


if __name__ == "__main__":
    main()
