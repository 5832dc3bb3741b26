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


def env(**extra):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LXDEV_") or k == "LXDEV_BIN"}
    e.setdefault("LXDEV_RUNTIME", "fake")
    e.update({k: str(v) for k, v in extra.items()})
    return e


def project(entries=0, runtime="fake", name=None):
    """A temp project with `entries` ready containers (written directly)."""
    d = tempfile.mkdtemp(prefix="lxdev-bench-")
    name = name or "bench%d" % os.getpid()
    lines = ["project: %s" % name, "runtime: %s" % runtime, "containers:" if entries else "containers: {}"]
    for i in range(entries):
        lines += ["  e%d:" % i, "    image: busybox", "    owner: bench",
                  '    created_at: "2026-01-01T00:00:00.000Z"']
        os.makedirs(os.path.join(d, ".lxdev/fake/instances/%s-e%d" % (name, i)))
    with open(os.path.join(d, "containers.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return d


def run_parallel(d, n, e, prefix="c"):
    """n parallel creates; returns (wall s, failures, per-process lock wait ms)."""
    start = time.monotonic()
    procs = [subprocess.Popen([BIN, "-v", "-C", d, "container", "create", "%s%d" % (prefix, i), "busybox"],
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


def one_create(entries):
    times = []
    for r in range(REPEATS * 3):
        d = project(entries)
        start = time.monotonic()
        subprocess.run([BIN, "-C", d, "container", "create", "new%d" % r, "busybox"],
                       env=env(), check=True, stdout=subprocess.DEVNULL)
        times.append((time.monotonic() - start) * 1000)
        shutil.rmtree(d)
    return statistics.median(times)


def parallel_case(n, delay=None):
    walls, fails, p50s, p99s = [], [], [], []
    for _ in range(REPEATS):
        d = project()
        extra = {}
        if delay:
            extra["LXDEV_FAKE_DELAY_MS"] = delay
        wall, failures, waits = run_parallel(d, n, env(**extra))
        walls.append(wall)
        fails.append(failures)
        p50s.append(pct(waits, 0.5))
        p99s.append(pct(waits, 0.99))
        shutil.rmtree(d)
    return statistics.median(walls), max(fails), statistics.median(p50s), statistics.median(p99s)


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
    print("one create, file of 10 entries:     %7.1f ms" % one_create(10))
    print("one create, file of 1,000 entries:  %7.1f ms" % one_create(1000))
    print()
    print("%-44s %8s %9s %12s %12s" % ("parallel creates", "wall s", "failures", "wait p50 ms", "wait p99 ms"))
    cases = [("N=50", 50, None), ("N=200", 200, None),
             ("N=10, LXDEV_FAKE_DELAY_MS=1000", 10, 1000)]
    for label, n, delay in cases:
        wall, failures, p50, p99 = parallel_case(n, delay)
        print("%-44s %8.2f %9d %12.1f %12.1f" % (label, wall, failures, p50, p99))
    if lxd_reachable():
        sequential, parallel, failures = lxd_case()
        print()
        print("LXD, 10 creates: sequential %.2f s, parallel %.2f s (%.1fx), %d failures"
              % (sequential, parallel, sequential / parallel, failures))
    else:
        print("\nLXD: not reachable, skipped (run scripts/setup-lxd.sh)")


if __name__ == "__main__":
    main()
