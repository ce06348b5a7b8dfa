#!/usr/bin/env python3
"""An independent dense computation of sbrt-verify's slab model, compared with the tool.

For each plan folder (RT Dose + RT Struct) given, every structure's solid is rebuilt from the
contours with shapely and the same rules as src/raster/topology.rs:
- contours on a plane grouped by z (0.01 mm), the plane's region nested even-odd, crossing
  contours as their union; its connected parts are the plane's blobs;
- blobs on neighbouring planes whose outlines overlap (positive intersection area) continue
  one piece; gaps wider than 1.5x the median plane gap are never bridged;
- a blob's slab runs halfway to each neighbour plane its piece continues on, except between
  two blobs linked one to one (neither overlaps another blob of the other plane): there the
  boundary is placed so that the volume between the planes is the integral of the piece's
  cross-section area, interpolated through up to four planes of the chain (the two, and the
  chain's planes before and after them) by a polynomial, or, into a tip (an end plane with
  under 5 % of its neighbour's area), a power law of the distance to the tip fitted to the two
  planes before it; the boundary moves at most a quarter of the gap from halfway (the
  `profile` model; `--interpolation midpoint`: halfway everywhere);
- at an end of a piece the half end cap is half the gap on its other side (half the median
  gap for a piece on one plane; the dose slice spacing for a structure on one plane).
Volume = exact shapely area x slab thickness. Doses: trilinear interpolation of the dose
grid (clamped within half a voxel of the outermost voxel centres, outside beyond) at a dense
lattice of points (point in region test) in every slab, each weighted by the slab's exact
area over its point count, and at sub-slabs of at most 0.25 mm in z.

The tool's `dvh --format json` volume, Dmean, D98% and D2% must agree with these within
1 % (volume) and 0.2 Gy (doses); the script prints a table and exits 1 on any disagreement.

Usage: dense_dvh.py --bin target/release/sbrt-verify PLAN_DIR [PLAN_DIR ...]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

PLANE_TOLERANCE_MM = 0.01
GAP_FACTOR = 1.5
GAP_TOLERANCE_MM = 1e-3
# In-plane lattice: about this many points a structure (at most 0.1 mm apart).
POINTS_PER_STRUCTURE = 1_500_000
SUB_SLAB_MM = 0.25
VOLUME_TOLERANCE = 0.01
DOSE_TOLERANCE_GY = 0.2


def read_dose(path):
    ds = pydicom.dcmread(path)
    iop = [float(v) for v in ds.ImageOrientationPatient]
    if np.abs(np.array(iop) - np.array([1, 0, 0, 0, 1, 0])).max() > 1e-6:
        sys.exit(f"{path}: only head-first supine axial doses are handled here")
    values = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    if values.ndim == 2:
        values = values[None]
    x0, y0, z0 = (float(v) for v in ds.ImagePositionPatient)
    row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
    z = z0 + np.array([float(v) for v in ds.GridFrameOffsetVector])
    return {
        "values": values,
        "x": x0 + col_mm * np.arange(ds.Columns),
        "y": y0 + row_mm * np.arange(ds.Rows),
        "z": z,
    }


def interp_axis(axis, coord):
    """Lower index, weight of the next and an inside flag (cells half a voxel out)."""
    n = len(axis)
    step = (axis[-1] - axis[0]) / (n - 1) if n > 1 else 1.0
    f = (coord - axis[0]) / step
    half_lo = 0.5
    half_hi = 0.5
    inside = (f >= -half_lo - 1e-9) & (f <= n - 1 + half_hi + 1e-9)
    f = np.clip(f, 0.0, n - 1)
    i0 = np.minimum(np.floor(f).astype(int), max(n - 2, 0))
    w = np.clip(f - i0, 0.0, 1.0) if n > 1 else np.zeros_like(f)
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, w, inside


def trilinear(dose, x, y, z):
    i0, i1, fi, ix = interp_axis(dose["x"], x)
    j0, j1, fj, jy = interp_axis(dose["y"], y)
    k0, k1, fk, kz = interp_axis(dose["z"], z)
    v = dose["values"]
    c = 0.0
    for kk, wk in ((k0, 1 - fk), (k1, fk)):
        for jj, wj in ((j0, 1 - fj), (j1, fj)):
            for ii, wi in ((i0, 1 - fi), (i1, fi)):
                c = c + v[kk, jj, ii] * wk * wj * wi
    return c, ix & jy & kz


def plane_region(polys):
    """Even-odd region of nested contours; crossing contours as their union."""
    n = len(polys)
    depth = []
    for b in range(n):
        p0 = shapely.Point(polys[b].exterior.coords[0])
        d = 0
        for a in range(n):
            if a == b:
                continue
            crosses = polys[a].boundary.crosses(polys[b].boundary)
            if not crosses and polys[a].contains(p0):
                d += 1
        depth.append(d)
    region = Polygon()
    for level in range(max(depth) + 1 if depth else 0):
        layer = unary_union([polys[i] for i in range(n) if depth[i] == level])
        region = region.union(layer) if level % 2 == 0 else region.difference(layer)
    return region


def blobs_of(region):
    if region.is_empty:
        return []
    return list(region.geoms) if hasattr(region, "geoms") else [region]


def structures(rs_path):
    ds = pydicom.dcmread(rs_path)
    names = {int(r.ROINumber): r.ROIName for r in ds.StructureSetROISequence}
    out = {}
    for rc in ds.ROIContourSequence:
        number = int(rc.ReferencedROINumber)
        planes = []
        for c in getattr(rc, "ContourSequence", []):
            if c.ContourGeometricType != "CLOSED_PLANAR":
                continue
            pts = np.array([float(v) for v in c.ContourData]).reshape(-1, 3)
            if len(pts) < 3:
                continue
            planes.append((pts[0, 2], Polygon(pts[:, :2])))
        if not planes:
            continue
        planes.sort(key=lambda p: p[0])
        grouped = []
        for z, poly in planes:
            if grouped and abs(z - grouped[-1][0]) <= PLANE_TOLERANCE_MM:
                grouped[-1][1].append(poly)
            else:
                grouped.append((z, [poly]))
        out[number] = (names.get(number, str(number)), grouped)
    return out


TIP_FRACTION = 0.05


def poly_integral(points, lo, hi):
    """Integral over [lo, hi] of the polynomial through points (z, area), by numpy's fit."""
    zs = np.array([p[0] for p in points])
    areas = np.array([p[1] for p in points])
    coeffs = np.polyfit(zs - lo, areas, len(points) - 1)
    antiderivative = np.polyint(coeffs)
    return float(np.polyval(antiderivative, hi - lo) - np.polyval(antiderivative, 0.0))


def profile_boundary(before, a, b, after, a_ends, b_ends):
    """Distance above plane a of the boundary between the slabs of chain planes a and b."""
    g = b[0] - a[0]
    if before is not None and b_ends and b[1] < TIP_FRACTION * a[1] and before[1] > a[1]:
        p = np.clip(np.log(before[1] / a[1]) / np.log((b[0] - before[0]) / g), 0.25, 4.0)
        volume = a[1] * g / (p + 1.0)
    elif after is not None and a_ends and a[1] < TIP_FRACTION * b[1] and after[1] > b[1]:
        p = np.clip(np.log(after[1] / b[1]) / np.log((after[0] - a[0]) / g), 0.25, 4.0)
        volume = b[1] * g / (p + 1.0)
    else:
        points = [q for q in (before, a, b, after) if q is not None]
        volume = poly_integral(points, a[0], b[0])
    volume = min(max(volume, g * min(a[1], b[1])), g * max(a[1], b[1]))
    if abs(a[1] - b[1]) <= 1e-12 * max(a[1], b[1]):
        return 0.5 * g
    # At most a quarter of the gap from halfway.
    return min(max((volume - b[1] * g) / (a[1] - b[1]), 0.25 * g), 0.75 * g)


def slabs(grouped, fallback_mm, model="profile"):
    z = [g[0] for g in grouped]
    regions = [plane_region(g[1]) for g in grouped]
    blobs = [blobs_of(r) for r in regions]
    gaps = np.diff(z)
    usual = float(np.sort(gaps)[len(gaps) // 2]) if len(gaps) else fallback_mm
    bridged = [g <= GAP_FACTOR * usual + GAP_TOLERANCE_MM for g in gaps]

    def overlap(a, b):
        return Polygon(a.exterior).intersection(Polygon(b.exterior)).area > 0.0

    # ups[k][i]: the blobs of plane k + 1 that blob i of plane k overlaps (bridged gaps only).
    ups = [[[j for j, o in enumerate(blobs[k + 1]) if bridged[k] and overlap(b, o)]
            for b in blobs[k]] for k in range(len(z) - 1)]
    downs = [[[i for i in range(len(blobs[k - 1])) if j in ups[k - 1][i]] if k > 0 else []
              for j in range(len(blobs[k]))] for k in range(len(z))]

    def chain_up(k, i):
        if k >= len(ups) or len(ups[k][i]) != 1:
            return None
        j = ups[k][i][0]
        return j if len(downs[k + 1][j]) == 1 else None

    def chain_down(k, j):
        if len(downs[k][j]) != 1:
            return None
        i = downs[k][j][0]
        return i if len(ups[k - 1][i]) == 1 else None

    def boundary(k, i):
        """Extent of blob i of plane k towards plane k + 1."""
        j = chain_up(k, i)
        if model != "profile" or j is None:
            return 0.5 * gaps[k]
        point = lambda kk, ii: (z[kk], blobs[kk][ii].area)
        pre = chain_down(k, i)
        post = chain_up(k + 1, j)
        return profile_boundary(
            point(k - 1, pre) if pre is not None else None, point(k, i), point(k + 1, j),
            point(k + 2, post) if post is not None else None,
            not downs[k][i], k + 1 >= len(ups) or not ups[k + 1][j])

    out = []
    for k, plane in enumerate(blobs):
        for i, blob in enumerate(plane):
            down = up = None
            if downs[k][i]:
                pre = chain_down(k, i)
                down = (gaps[k - 1] - boundary(k - 1, pre)) if pre is not None else 0.5 * gaps[k - 1]
            if k + 1 < len(z) and ups[k][i]:
                up = boundary(k, i)
            lo = down if down is not None else (0.5 * gaps[k] if up is not None else 0.5 * usual)
            hi = up if up is not None else (0.5 * gaps[k - 1] if down is not None else 0.5 * usual)
            if len(z) == 1:
                lo = hi = 0.5 * fallback_mm
            out.append((z[k] - lo, z[k] + hi, blob))
    return out


def dense_metrics(slab_list, dose):
    total_mm2_mm = sum(b.area * (hi - lo) for lo, hi, b in slab_list)
    area_sum = sum(b.area for _, _, b in slab_list)
    if area_sum <= 0:
        return None
    step = max(np.sqrt(area_sum / POINTS_PER_STRUCTURE), 0.1)
    doses, weights = [], []
    outside = 0.0
    for lo, hi, blob in slab_list:
        x0, y0, x1, y1 = blob.bounds
        xs = np.arange(x0 + 0.5 * step, x1, step)
        ys = np.arange(y0 + 0.5 * step, y1, step)
        if len(xs) == 0 or len(ys) == 0:
            c = blob.representative_point()
            xs, ys = np.array([c.x]), np.array([c.y])
        gx, gy = np.meshgrid(xs, ys)
        gx, gy = gx.ravel(), gy.ravel()
        keep = shapely.contains_xy(blob, gx, gy)
        gx, gy = gx[keep], gy[keep]
        if len(gx) == 0:
            c = blob.representative_point()
            gx, gy = np.array([c.x]), np.array([c.y])
        nz = max(1, int(np.ceil((hi - lo) / SUB_SLAB_MM)))
        sub = (hi - lo) / nz
        w = blob.area * sub / len(gx) / 1000.0
        for m in range(nz):
            zz = np.full_like(gx, lo + (m + 0.5) * sub)
            d, inside = trilinear(dose, gx, gy, zz)
            doses.append(d[inside])
            weights.append(np.full(int(inside.sum()), w))
            outside += w * int((~inside).sum())
    d = np.concatenate(doses)
    w = np.concatenate(weights)
    order = np.argsort(-d)
    d, w = d[order], w[order]
    inside_cc = w.sum()

    def d_at(percent):
        target = percent / 100.0 * inside_cc
        cum = np.cumsum(w)
        i = int(np.searchsorted(cum, target))
        return float(d[min(i, len(d) - 1)])

    return {
        "volume_cc": total_mm2_mm / 1000.0,
        "outside_cc": outside,
        "mean_gy": float((d * w).sum() / inside_cc) if inside_cc > 0 else None,
        "D98%": d_at(98.0),
        "D2%": d_at(2.0),
    }


def run_tool(binary, folder):
    out = subprocess.run(
        [binary, "dvh", str(folder), "--format", "json", "--metric", "D98%", "--metric", "D2%"],
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("folders", nargs="+", type=Path)
    args = ap.parse_args()
    failures = 0
    for folder in args.folders:
        rd = next(p for p in sorted(folder.glob("*.dcm")) if pydicom.dcmread(p, stop_before_pixels=True).Modality == "RTDOSE")
        rs = next(p for p in sorted(folder.glob("*.dcm")) if pydicom.dcmread(p, stop_before_pixels=True).Modality == "RTSTRUCT")
        dose = read_dose(rd)
        dz = float(np.median(np.diff(dose["z"]))) if len(dose["z"]) > 1 else 1.0
        tool = {s["number"]: s for s in run_tool(args.bin, folder)["structures"]}
        print(f"== {folder}")
        print(f"{'structure':24} {'vol cc':>9} {'tool':>9} {'Dmean':>7} {'tool':>7} {'D98%':>7} {'tool':>7} {'D2%':>7} {'tool':>7}  ok")
        for number, (name, grouped) in sorted(structures(rs).items()):
            t = tool.get(number)
            if t is None or t.get("error"):
                continue
            m = dense_metrics(slabs(grouped, dz), dose)
            if m is None:
                continue
            checks = [abs(t["volume_cc"] - m["volume_cc"]) <= VOLUME_TOLERANCE * m["volume_cc"]]
            for key, tool_value in (("mean_gy", t["mean_gy"]), ("D98%", t["metrics"].get("D98%")), ("D2%", t["metrics"].get("D2%"))):
                checks.append(tool_value is not None and abs(tool_value - m[key]) <= DOSE_TOLERANCE_GY)
            ok = all(checks)
            failures += not ok
            print(
                f"{name[:24]:24} {m['volume_cc']:9.3f} {t['volume_cc']:9.3f} {m['mean_gy']:7.2f} {t['mean_gy']:7.2f} "
                f"{m['D98%']:7.2f} {t['metrics']['D98%']:7.2f} {m['D2%']:7.2f} {t['metrics']['D2%']:7.2f}  {'yes' if ok else 'NO'}"
            )
        by_name = {t["name"]: t for t in tool.values()}
        parts = [by_name.get(f"GTV_{i}") for i in range(1, 6)]
        if "GTV_ALL" in by_name and all(parts):
            whole = by_name["GTV_ALL"]["volume_cc"]
            summed = sum(p["volume_cc"] for p in parts)
            ok = abs(whole - summed) <= VOLUME_TOLERANCE * summed
            failures += not ok
            print(f"GTV_ALL {whole:.3f} cc, GTV_1..GTV_5 add up to {summed:.3f} cc: {'yes' if ok else 'NO'}")
    if failures:
        print(f"dense_dvh: {failures} structures disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
