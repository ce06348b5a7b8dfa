#!/usr/bin/env python3
"""Time the whole dicompyler-core breast plan (all ROIs) in sbrt-verify, plastimatch and
dicompyler-core, side by side, and print the ratios.

Usage: scripts/peer_timing.sh (installs the peers, then runs this), or directly:
  peer_timing.py --bin target/release/sbrt-verify --data ../shared/data/dicompyler-core \
                 --python target/peer-venv/bin/python [--runs 5]

Each round runs every tool once, in an order shuffled from round to round with a fixed
seed (reproducible), so that no tool always runs on a warm or a cold machine and no tool
always follows the same one: a tool run right after dicompyler-core (a 180 MB Python
process) finds the memory it touches slower, and a fixed rotation always put sbrt-verify
with 2 threads there. The medians of the wall times are compared.
sbrt-verify also runs with RAYON_NUM_THREADS=1 and 2 for the thread scaling. Peak memory
(max RSS) comes from GNU time when /usr/bin/time is installed, in three more runs of each
tool after the timed rounds (before 2026-12-04 the timed runs themselves ran under GNU
time, whose own process added about 1 ms to each command's wall time).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DICOMPYLER = r'''
import sys
from dicompylercore import dicomparser, dvhcalc
rs, rd = sys.argv[1], sys.argv[2]
structures = dicomparser.DicomParser(rs).GetStructures()
n = 0
for roi in structures:
    d = dvhcalc.get_dvh(rs, rd, roi)
    n += 1
print(n)
'''


def timed(cmd, env=None, cwd=None, memory=False):
    """Wall time of `cmd` (s) and, with `memory`, its peak memory (max RSS, MB) from GNU time
    (None without it). Timed runs have no wrapper: GNU time's own process adds about 1 ms
    to a command, and the kernel's rusage of a child of this script cannot stand in for it
    (a child's max RSS includes the forking Python's, ~17 MB)."""
    gnu_time = memory and shutil.which("time") and os.path.exists("/usr/bin/time")
    full = (["/usr/bin/time", "-f", "%M"] + cmd) if gnu_time else cmd
    t0 = time.perf_counter()
    r = subprocess.run(full, capture_output=True, text=True, env=env, cwd=cwd)
    dt = time.perf_counter() - t0
    if r.returncode not in (0,):
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr[-500:]}")
    rss = None
    if gnu_time:
        try:
            rss = int(r.stderr.strip().splitlines()[-1]) / 1024.0
        except (ValueError, IndexError):
            rss = None
    return dt, rss


def memory_line(binary, data, peaks):
    """Peak memory of sbrt-verify against the dose grid (f32, as held in memory) and its
    'masks': the dose samples of all ROIs (8 bytes each), which stand in for per-ROI masks."""
    if not peaks:
        print("peak memory: not measured (GNU time is not installed)")
        return
    info = json.loads(subprocess.run([binary, "inspect", data, "--format", "json"],
                                     capture_output=True, text=True).stdout)
    d = info["plan_sets"][0]["dose"]
    mib = 1024.0 * 1024.0
    grid = d["columns"] * d["rows"] * d["frames"] * 4 / mib
    dvh = json.loads(subprocess.run([binary, "dvh", data, "--format", "json"],
                                    capture_output=True, text=True).stdout)
    masks = sum(s.get("samples") or 0 for s in dvh["structures"]) * 8 / mib
    _, base = timed([binary, "--version"], memory=True)
    peak = max(peaks)
    budget = 3 * grid + masks
    print(f"peak memory (2 threads):     {peak:.0f} MB = {peak / grid:.1f}x the f32 dose grid "
          f"({grid:.1f} MB; {peak - (base or 0):.0f} MB above the bare process); "
          f"target < 3 x grid + masks (samples, {masks:.1f} MB) = {budget:.0f} MB: "
          f"{'met' if peak < budget else 'not met'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--python", required=True, help="python with dicompyler-core")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    data = os.path.abspath(a.data)
    binary = os.path.abspath(a.bin)
    rd = os.path.join(data, "rtdose.dcm")
    rs = os.path.join(data, "rtss.dcm")
    work = tempfile.mkdtemp()
    script = os.path.join(work, "dicompyler_all.py")
    open(script, "w").write(DICOMPYLER)

    def sbrt(threads, memory=False):
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
        return timed([binary, "dvh", data, "--format", "json"], env=env, memory=memory)

    def plastimatch(memory=False):
        t1, m1 = timed(["plastimatch", "convert", "--input", rd, "--output-dose-img", "dose.nrrd"],
                       cwd=work, memory=memory)
        t2, m2 = timed(["plastimatch", "convert", "--input", rs, "--fixed", "dose.nrrd",
                        "--output-ss-img", "ss.nrrd", "--output-ss-list", "ss.txt"], cwd=work,
                       memory=memory)
        t3, m3 = timed(["plastimatch", "dvh", "--input-ss-img", "ss.nrrd", "--input-ss-list",
                        "ss.txt", "--input-dose", "dose.nrrd", "--output-csv", "dvh.csv",
                        "--cumulative", "--normalization", "vox", "--bin-width", "0.01",
                        "--num-bins", "1500"], cwd=work, memory=memory)
        mems = [m for m in (m1, m2, m3) if m is not None]
        return t1 + t2 + t3, (max(mems) if mems else None)

    def dicompyler(memory=False):
        return timed([a.python, script, rs, rd], memory=memory)

    tools = {
        "sbrt-verify (2 threads)": lambda memory=False: sbrt(2, memory),
        "sbrt-verify (1 thread)": lambda memory=False: sbrt(1, memory),
        "plastimatch 1.9.4 (3 processes)": plastimatch,
        "dicompyler-core 0.5.6": dicompyler,
    }
    names = list(tools)
    times = {n: [] for n in names}
    mems = {n: [] for n in names}
    rng = random.Random(20261124)
    for r in range(a.runs):
        order = rng.sample(names, len(names))
        for n in order:
            times[n].append(tools[n]()[0])
    # Peak memory in runs of their own, each command under GNU time.
    for n in names:
        for _ in range(3):
            m = tools[n](memory=True)[1]
            if m is not None:
                mems[n].append(m)
    med = {n: statistics.median(times[n]) for n in names}
    print(f"Breast plan (dicompyler-core test data), all ROIs; median of {a.runs} alternating runs")
    print(f"{'tool':<34} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MB':>8}")
    for n in names:
        peak = f"{max(mems[n]):.0f}" if mems[n] else "-"
        print(f"{n:<34} {med[n]:>9.3f} {min(times[n]):>7.3f} {max(times[n]):>7.3f} {peak:>8}")
    ours = med["sbrt-verify (2 threads)"]
    print(f"speed-up vs plastimatch:     {med['plastimatch 1.9.4 (3 processes)'] / ours:.1f}x (target 10x)")
    print(f"speed-up vs dicompyler-core: {med['dicompyler-core 0.5.6'] / ours:.1f}x (target 50x)")
    print(f"1 -> 2 threads:              {med['sbrt-verify (1 thread)'] / ours:.2f}x (target 1.7x)")
    # The same runs back to back, nothing in between: what a quiet machine gives.
    n_alone = 2 * a.runs
    alone = {t: statistics.median(sbrt(t)[0] for _ in range(n_alone)) for t in (2, 1)}
    print(f"sbrt-verify alone, {n_alone} runs back to back: {alone[2]:.3f} s (2 threads), "
          f"{alone[1]:.3f} s (1 thread), {alone[1] / alone[2]:.2f}x from 1 to 2 threads; "
          f"{med['plastimatch 1.9.4 (3 processes)'] / alone[2]:.1f}x plastimatch, "
          f"{med['dicompyler-core 0.5.6'] / alone[2]:.1f}x dicompyler-core")
    memory_line(binary, data, mems["sbrt-verify (2 threads)"])
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
