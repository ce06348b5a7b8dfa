#!/usr/bin/env python3
"""Time two or more sbrt-verify binaries against each other on one command, in alternating
rounds (each round runs every binary with 2 and with 1 thread, the order reversed every
other round), so that every binary meets the same minutes of the machine.

Usage:
  scripts/ab_timing.py [--runs 40] BIN_A BIN_B [...] [-- ARGS...]

ARGS default to `dvh ../shared/data/dicompyler-core --format json` (the breast plan of the
speed issue). Prints, per binary and thread count, the median, the lower quartile and the
minimum wall time of the runs, in ms. To compare a change: build the commit before it and
after it (`cargo build --release`, copying target/release/sbrt-verify aside each time).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def main():
    argv = sys.argv[1:]
    extra = None
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("bins", nargs="+")
    a = ap.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    args = extra or ["dvh", os.path.join(here, "..", "..", "shared", "data", "dicompyler-core"),
                     "--format", "json"]
    times = {(b, t): [] for b in a.bins for t in (2, 1)}
    for r in range(a.runs):
        order = [(b, t) for b in a.bins for t in (2, 1)]
        if r % 2:
            order.reverse()
        for b, t in order:
            env = dict(os.environ, RAYON_NUM_THREADS=str(t))
            t0 = time.perf_counter()
            p = subprocess.run([b] + args, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            times[(b, t)].append(time.perf_counter() - t0)
            if p.returncode not in (0, 1, 3):
                sys.exit(f"{b} {' '.join(args)}: exit code {p.returncode}")
    print(f"{a.runs} alternating rounds of: {' '.join(args)}")
    for b in a.bins:
        cells = []
        for t in (2, 1):
            v = sorted(times[(b, t)])
            cells.append(f"{t} thread{'s' if t > 1 else ''}: median {statistics.median(v) * 1e3:.1f}"
                         f" q1 {v[len(v) // 4] * 1e3:.1f} min {v[0] * 1e3:.1f} ms")
        print(f"{b}\n  " + "\n  ".join(cells))


if __name__ == "__main__":
    main()
