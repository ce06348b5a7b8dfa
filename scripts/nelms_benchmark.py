#!/usr/bin/env python3
"""The Nelms 2015 analytical DVH benchmark: sbrt-verify beside dicompyler-core and plastimatch.

Usage: scripts/nelms_benchmark.py [--bin PATH] [--shared DIR] [--dense]

Runs `sbrt-verify dvh` on each of the 90 structure/dose combinations in
DIR/data/nelms2015/truth.csv, compares volume, Dmin, Dmax, Dmean, D99, D95, D5, D1 and
D0.03cc with the analytical values, and prints mean, sd, mean |error| and worst error per
metric beside the peers' results from DIR/reference/peers (same combinations). Volume errors
are in %, dose errors in Gy. With --dense it also runs a dense-sampling reference
(--min-samples 20000000) of the same slab model: its error is the model's (contours vs the
ideal shape); the difference between default and dense is sampling error.
Exit 1 if any run fails. Standard library only.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys

METRICS = ["volume", "min", "max", "mean", "D99", "D95", "D5", "D1", "D0.03cc"]
TRUTH_COLS = {"volume": "volume_cc", "min": "dmin_gy", "max": "dmax_gy", "mean": "dmean_gy",
              "D99": "d99_gy", "D95": "d95_gy", "D5": "d5_gy", "D1": "d1_gy",
              "D0.03cc": "d0_03cc_gy"}


def error(metric, value, truth):
    if value is None:
        return None
    if metric == "volume":
        return 100.0 * (value - truth) / truth
    return value - truth


def ours(binary, root, row, min_samples=None):
    stem = os.path.splitext(os.path.basename(row["structure_file"]))[0]
    cmd = [binary, "dvh", os.path.join(root, row["dose_file"]),
           os.path.join(root, row["structure_file"]), "--format", "json",
           "--metric", "D0.03cc"]
    if min_samples:
        cmd += ["--min-samples", str(min_samples)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    rep = json.loads(r.stdout)
    # The shape's ROI: the one with contours (the other is a marker point).
    shapes = [s for s in rep["structures"] if s["error"] is None and s["volume_cc"] > 0]
    if len(shapes) != 1:
        raise RuntimeError(f"{stem}: expected one shape ROI, got {[s['name'] for s in shapes]}")
    s = shapes[0]
    m = s["metrics"]
    return {"volume": s["volume_cc"], "min": s["min_gy"], "max": s["max_gy"],
            "mean": s["mean_gy"], "D99": m["D99%"], "D95": m["D95%"], "D5": m["D5%"],
            "D1": m["D1%"], "D0.03cc": m["D0.03cc"]}


def key(struct_file, dose_file):
    return (os.path.basename(struct_file), os.path.basename(dose_file))


def peers(shared):
    out = {}
    path = os.path.join(shared, "reference/peers/dicompyler-core-0.5.6.json")
    for r in json.load(open(path))["results"]:
        if "nelms" not in r["rtdose"] or "skipped" in r:
            continue
        name = "dicompyler-core " + ("interpolated" if r["mode"] == "interp" else r["mode"])
        vals = {"volume": r.get("volume_cc"), "min": r.get("min"), "max": r.get("max"),
                "mean": r.get("mean")}
        for m in ["D99", "D95", "D5", "D1", "D0.03cc"]:
            vals[m] = r.get(m)
        out.setdefault(name, {})[key(r["rtstruct"], r["rtdose"])] = vals
    path = os.path.join(shared, "reference/peers/plastimatch-1.9.4.json")
    for p in json.load(open(path))["pairs"]:
        if "nelms" not in p["rtdose"]:
            continue
        stem = os.path.splitext(os.path.basename(p["rtstruct"]))[0].replace("_", "").lower()
        rois = [r for r in p.get("rois", []) if r.get("volume_cc", 0) > 0]
        named = [r for r in rois if r["roi_name"].replace("_", "").lower() == stem]
        roi = (named or rois or [None])[0]
        if roi is None:
            continue
        vals = {"volume": roi.get("volume_cc"), "min": roi.get("min"), "max": roi.get("max"),
                "mean": roi.get("mean")}
        for m in ["D99", "D95", "D5", "D1", "D0.03cc"]:
            vals[m] = roi.get(m)
        out.setdefault("plastimatch 1.9.4", {})[key(p["rtstruct"], p["rtdose"])] = vals
    return out


def stats(errs):
    e = [x for x in errs if x is not None]
    if not e:
        return None
    n = len(e)
    mean = sum(e) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in e) / n)
    worst = max(e, key=abs)
    mae = sum(abs(x) for x in e) / n
    return n, mean, sd, mae, worst


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(here, "..", "target/release/sbrt-verify"))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    ap.add_argument("--dense", action="store_true")
    a = ap.parse_args()
    root = os.path.join(a.shared, "data/nelms2015")
    rows = list(csv.DictReader(open(os.path.join(root, "truth.csv"))))
    if len(rows) != 90:
        print(f"expected 90 combinations, found {len(rows)}")
        return 1
    tools = {"sbrt-verify": {}}
    if a.dense:
        tools["sbrt-verify dense (model only)"] = {}
    failures = 0
    for row in rows:
        k = key(row["structure_file"], row["dose_file"])
        try:
            tools["sbrt-verify"][k] = ours(a.bin, root, row)
            if a.dense:
                tools["sbrt-verify dense (model only)"][k] = ours(a.bin, root, row, 20_000_000)
        except RuntimeError as e:
            print(f"FAIL {e}")
            failures += 1
    tools.update(peers(a.shared))
    truth = {key(r["structure_file"], r["dose_file"]): r for r in rows}
    table = {}
    for tool, res in tools.items():
        for m in METRICS:
            errs = [error(m, v.get(m), float(truth[k][TRUTH_COLS[m]]))
                    for k, v in res.items() if k in truth]
            table[(tool, m)] = stats(errs)
    print("Nelms 2015 benchmark: error vs analytical (volume %, doses Gy)")
    print(f"{'metric':<9} {'tool':<32} {'n':>3} {'mean':>8} {'sd':>7} {'mean|e|':>8} {'worst':>8}")
    best_ok = True
    for m in METRICS:
        maes = {}
        for tool in tools:
            s = table[(tool, m)]
            if s is None:
                continue
            n, mean, sd, mae, worst = s
            maes[tool] = mae
            print(f"{m:<9} {tool:<32} {n:>3} {mean:>8.3f} {sd:>7.3f} {mae:>8.3f} {worst:>8.3f}")
        peer_best = min((v for t, v in maes.items() if not t.startswith("sbrt-verify")),
                        default=math.inf)
        if maes.get("sbrt-verify", math.inf) >= peer_best:
            best_ok = False
            print(f"  ^ sbrt-verify does not have the lowest mean |error| on {m}")
    worst_vol = abs(table[("sbrt-verify", "volume")][4])
    print(f"sbrt-verify worst volume error: {worst_vol:.2f} % (limit 2 %)")
    ok = failures == 0 and best_ok and worst_vol <= 2.0
    print(f"nelms: {1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
