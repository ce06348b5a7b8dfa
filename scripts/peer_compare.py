#!/usr/bin/env python3
"""Volumes and mean doses of sbrt-verify beside dicompyler-core and plastimatch.

Usage: scripts/peer_compare.py [--bin PATH] [--shared DIR]

For every RT Dose / RT Struct pair in DIR/reference/peers (except the Nelms benchmark, see
nelms_benchmark.py, and pairs whose dose is not DICOM), runs `sbrt-verify dvh` and prints one
markdown row per ROI: volume (cc) and mean dose (Gy) for sbrt-verify, dicompyler-core
(default and interpolated modes) and plastimatch 1.9.4, and each peer's difference from
sbrt-verify in %. Differences over 2 % are marked with `*`. Standard library only.
"""
import argparse
import json
import os
import subprocess
import sys


def pct(other, ours):
    if other is None or ours is None or ours == 0:
        return None
    return 100.0 * (other - ours) / ours


def cell(v, ours, digits):
    if v is None:
        return "-"
    d = pct(v, ours)
    if d is None:
        return f"{v:.{digits}f}"
    mark = "*" if abs(d) > 2.0 else ""
    return f"{v:.{digits}f} ({d:+.1f}%){mark}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(here, "..", "target/release/sbrt-verify"))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    a = ap.parse_args()
    data = os.path.join(a.shared, "data")
    dc = json.load(open(os.path.join(a.shared, "reference/peers/dicompyler-core-0.5.6.json")))
    pm = json.load(open(os.path.join(a.shared, "reference/peers/plastimatch-1.9.4.json")))
    pairs = {}
    for r in dc["results"]:
        if "nelms" in r["rtdose"] or not r["rtdose"].endswith(".dcm"):
            continue
        k = (r["rtstruct"], r["rtdose"])
        pairs.setdefault(k, {}).setdefault(r["roi_name"], {})
        mode = {"default": "dc", "interp": "dci"}.get(r["mode"])
        if mode and "skipped" not in r:
            pairs[k][r["roi_name"]][mode] = (r.get("volume_cc"), r.get("mean"))
    for p in pm["pairs"]:
        k = (p["rtstruct"], p["rtdose"])
        if k not in pairs:
            continue
        for roi in p.get("rois", []):
            pairs[k].setdefault(roi["roi_name"], {})["pm"] = (roi.get("volume_cc"), roi.get("mean"))
    failures = 0
    print("| pair | ROI | volume cc: sbrt-verify | dicompyler | dicompyler interp | plastimatch "
          "| mean Gy: sbrt-verify | dicompyler | dicompyler interp | plastimatch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (rs, rd), rois in pairs.items():
        cmd = [a.bin, "dvh", os.path.join(data, rd), os.path.join(data, rs), "--format", "json"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode not in (0, 3) or not r.stdout:
            print(f"FAIL {' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
            failures += 1
            continue
        ours = {s["name"]: s for s in json.loads(r.stdout)["structures"]}
        label = os.path.basename(os.path.dirname(rd)) + "/" + os.path.basename(rd)[:14]
        for name, peers in rois.items():
            s = ours.get(name)
            if s is None or s["error"] is not None:
                why = "absent" if s is None else s["error"]
                print(f"| {label} | {name} | ({why}) | "
                      + " | ".join(cell(peers.get(t, (None, None))[0], None, 2) for t in ("dc", "dci", "pm"))
                      + " | - | - | - | - |")
                continue
            v, m = s["volume_cc"], s["mean_gy"]
            out = f" {s['outside_dose_grid_percent']:.1f}% outside" if not s["complete"] else ""
            print(f"| {label} | {name} | {v:.2f}{out} | "
                  + " | ".join(cell(peers.get(t, (None, None))[0], v, 2) for t in ("dc", "dci", "pm"))
                  + f" | {m:.4f} | "
                  + " | ".join(cell(peers.get(t, (None, None))[1], m, 4) for t in ("dc", "dci", "pm"))
                  + " |")
    print(f"peers: {len(pairs) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
