#!/usr/bin/env python3
"""How the machine's state just before a run changes sbrt-verify's time: each round runs
the `dvh` command on the breast plan with 2 and 1 threads right after one of these
(in turn): nothing (runs back to back), 200 MB of memory touched and freed by another
process, 1 s with both cores busy, 1 s with one core busy, 1 s idle.

Usage: scripts/cold_start_timing.py [--runs 8] [--bin target/release/sbrt-verify]
       [--data ../shared/data/dicompyler-core]

This is what the side-by-side script meets: sbrt-verify runs after another tool, often
after dicompyler-core (one core busy for seconds, the other idle).
"""
import argparse
import os
import statistics
import subprocess
import time

BUSY = "timeout 1 sh -c 'while :; do :; done'"
BEFORE = {
    "back to back": None,
    "after 200 MB touched": ["python3", "-c", "b = bytes(1) * (200 << 20)"],
    "after 1 s, 2 cores busy": ["bash", "-c", f"{BUSY} & {BUSY}; wait"],
    "after 1 s, 1 core busy": ["bash", "-c", BUSY],
    "after 1 s idle": ["sleep", "1"],
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--bin", default=os.path.join(here, "..", "target", "release", "sbrt-verify"))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data",
                                                   "dicompyler-core"))
    a = ap.parse_args()
    cmd = [a.bin, "dvh", a.data, "--format", "json"]
    times = {(k, t): [] for k in BEFORE for t in (2, 1)}
    for _ in range(a.runs):
        for k, before in BEFORE.items():
            for t in (2, 1):
                if before:
                    subprocess.run(before, check=False)
                env = dict(os.environ, RAYON_NUM_THREADS=str(t))
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
                times[(k, t)].append(time.perf_counter() - t0)
    print(f"medians of {a.runs} rounds, ms")
    for k in BEFORE:
        m2, m1 = (statistics.median(times[(k, t)]) * 1e3 for t in (2, 1))
        print(f"{k:26s} 2 threads {m2:6.1f}  1 thread {m1:6.1f}  ratio {m1 / m2:.2f}")


if __name__ == "__main__":
    main()
