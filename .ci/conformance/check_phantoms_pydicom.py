#!/usr/bin/env python3
"""Independent check of the sbrt-verify phantom cases with pydicom.

Usage: check_phantoms_pydicom.py ROOT

For every case directory under ROOT (a directory holding expected.json), reads RD.dcm,
RS.dcm and RP.dcm with pydicom (no force=True) and checks:
  * File Meta: Explicit VR Little Endian, SOP classes, modalities;
  * RT Dose: pixel_array shape (frames, rows, columns) and dtype against expected.json;
    pixel_array * DoseGridScaling at every voxel against the case's analytic dose function
    (expected.json "dose_function") at the voxel centre computed from ImagePositionPatient,
    PixelSpacing and GridFrameOffsetVector, within half a quantization step;
    dose_grid.max_gy;
  * RT Struct: ROI numbers, names, types and contour counts against expected.json; every
    contour CLOSED_PLANAR with NumberOfContourPoints * 3 == len(ContourData), on one plane;
  * RT Plan: fractions and prescriptions against expected.json; the three objects share
    StudyInstanceUID and FrameOfReferenceUID; Dose -> Plan -> Struct references resolve.
Prints one line per case; exits 1 if any check fails (2 on usage errors).
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pydicom

EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
SOP = {
    "RD.dcm": ("1.2.840.10008.5.1.4.1.1.481.2", "RTDOSE"),
    "RS.dcm": ("1.2.840.10008.5.1.4.1.1.481.3", "RTSTRUCT"),
    "RP.dcm": ("1.2.840.10008.5.1.4.1.1.481.5", "RTPLAN"),
}


class CheckError(Exception):
    pass


def require(cond, msg):
    if not cond:
        raise CheckError(msg)


def dose_function(spec, x, y, z):
    """The analytic dose (Gy) at arrays of points (mm), as described in expected.json."""
    if spec["type"] == "linear":
        g = spec["gradient_gy_per_mm"]
        o = spec["origin_mm"]
        return spec["base_gy"] + g[0] * (x - o[0]) + g[1] * (y - o[1]) + g[2] * (z - o[2])
    if spec["type"] == "radial":
        c = spec["centre_mm"]
        u = ((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2) / spec["rho_mm"] ** 2
        d = spec["peak_gy"] * np.exp(-(u ** spec["power"]))
        lobe = spec.get("lobe")
        if lobe:
            lc = lobe["centre_mm"]
            d = d + lobe["peak_gy"] * np.exp(
                -((x - lc[0]) ** 2 + (y - lc[1]) ** 2) / (2 * lobe["sigma_xy_mm"] ** 2)
                - (z - lc[2]) ** 2 / (2 * lobe["sigma_z_mm"] ** 2)
            )
        return d
    raise CheckError(f"unknown dose_function type {spec['type']!r}")


def check_dose(rd, exp):
    grid = exp["dose_grid"]
    rows, cols, frames = int(rd.Rows), int(rd.Columns), int(rd.NumberOfFrames)
    require(
        (rows, cols, frames) == (grid["rows"], grid["columns"], grid["frames"]),
        f"RD size {(rows, cols, frames)} != expected {(grid['rows'], grid['columns'], grid['frames'])}",
    )
    bits = int(rd.BitsAllocated)
    require(bits == grid["bits_allocated"], f"BitsAllocated {bits}")
    require(int(rd.BitsStored) == bits and int(rd.HighBit) == bits - 1, "BitsStored/HighBit")
    require(int(rd.PixelRepresentation) == 0, "PixelRepresentation")
    require(int(rd.SamplesPerPixel) == 1 and rd.PhotometricInterpretation == "MONOCHROME2", "image pixel")
    require(rd.DoseUnits == "GY" and rd.DoseType == "PHYSICAL" and rd.DoseSummationType == "PLAN", "dose module")
    require([float(v) for v in rd.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0], "orientation")
    px = rd.pixel_array
    require(px.shape == (frames, rows, cols), f"pixel_array shape {px.shape}")
    require(px.dtype == (np.uint32 if bits == 32 else np.uint16), f"pixel_array dtype {px.dtype}")
    scaling = float(rd.DoseGridScaling)
    require(scaling == grid["dose_grid_scaling"], f"DoseGridScaling {scaling}")
    if bits == 32:
        require(scaling <= 2e-5, "32-bit scaling must quantize to <= 1e-5 Gy")
    else:
        top = int(px.max())
        require(64000 <= top <= 65535, f"16-bit maximum stored value {top}")

    ipp = [float(v) for v in rd.ImagePositionPatient]
    row_sp, col_sp = (float(v) for v in rd.PixelSpacing)
    offsets = np.array([float(v) for v in rd.GridFrameOffsetVector])
    require(len(offsets) == frames and offsets[0] == 0 and np.all(np.diff(offsets) > 0), "GridFrameOffsetVector")
    require(
        [col_sp, row_sp, float(offsets[1] - offsets[0])] == grid["spacing_mm"],
        f"spacing {[col_sp, row_sp]} vs {grid['spacing_mm']}",
    )
    require(ipp == grid["origin_mm"], f"ImagePositionPatient {ipp}")
    require(float(rd.SliceThickness) == grid["spacing_mm"][2], "SliceThickness")

    z = ipp[2] + offsets[:, None, None]
    y = ipp[1] + row_sp * np.arange(rows)[None, :, None]
    x = ipp[0] + col_sp * np.arange(cols)[None, None, :]
    want = dose_function(exp["dose_function"], x, y, z)
    got = px.astype(np.float64) * scaling
    err = np.abs(got - want)
    worst = np.unravel_index(np.argmax(err), err.shape)
    require(
        err.max() <= scaling / 2 + 1e-9,
        f"voxel (frame,row,col)={tuple(int(i) for i in worst)}: stored {got[worst]:.7f} Gy, "
        f"analytic {want[worst]:.7f} Gy",
    )
    # a few voxels spelled out (corner, centre, far corner), independent of the vector code
    for k, j, i in [(0, 0, 0), (frames // 2, rows // 2, cols // 2), (frames - 1, rows - 1, cols - 1)]:
        p = (ipp[0] + i * col_sp, ipp[1] + j * row_sp, ipp[2] + offsets[k])
        d = float(dose_function(exp["dose_function"], np.float64(p[0]), np.float64(p[1]), np.float64(p[2])))
        require(abs(int(px[k, j, i]) * scaling - d) <= scaling / 2 + 1e-9, f"voxel {(k, j, i)} at {p}")
    require(math.isclose(float(px.max()) * scaling, grid["max_gy"], rel_tol=0, abs_tol=1e-9), "max_gy")
    return px.shape


def check_struct(rs, exp):
    rois = {int(r.ROINumber): r for r in rs.StructureSetROISequence}
    obs = {int(o.ReferencedROINumber): o for o in rs.RTROIObservationsSequence}
    contours = {int(c.ReferencedROINumber): c for c in rs.ROIContourSequence}
    for_uid = rs.FrameOfReferenceUID
    require(rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID == for_uid, "RS referenced FoR")
    want = exp["structures"]
    require(len(rois) == len(want) == len(contours) == len(obs), "ROI count")
    total = 0
    for s in want:
        n = s["number"]
        require(n in rois and n in contours and n in obs, f"ROI {n} missing")
        require(rois[n].ROIName == s["name"], f"ROI {n} name {rois[n].ROIName!r} != {s['name']!r}")
        require(rois[n].ReferencedFrameOfReferenceUID == for_uid, f"ROI {n} FoR")
        require(rois[n].ROIGenerationAlgorithm == "MANUAL", f"ROI {n} algorithm")
        require(obs[n].RTROIInterpretedType == s["kind"], f"ROI {n} type")
        seq = contours[n].ContourSequence
        require(len(seq) == s["contours"], f"ROI {s['name']}: {len(seq)} contours != {s['contours']}")
        planes = set()
        for c in seq:
            require(c.ContourGeometricType == "CLOSED_PLANAR", "ContourGeometricType")
            data = [float(v) for v in c.ContourData]
            require(len(data) == 3 * int(c.NumberOfContourPoints), "NumberOfContourPoints")
            zs = set(data[2::3])
            require(len(zs) == 1, "contour not planar")
            planes |= zs
        require(len(planes) == s["planes"], f"ROI {s['name']}: {len(planes)} planes != {s['planes']}")
        total += len(seq)
    return total


def check_plan(rp, exp):
    fg = rp.FractionGroupSequence[0]
    require(int(fg.NumberOfFractionsPlanned) == exp["plan"]["fractions"], "fractions")
    require(int(fg.NumberOfBeams) == len(rp.BeamSequence) == len(fg.ReferencedBeamSequence), "beams")
    require(rp.ApprovalStatus == "UNAPPROVED", "ApprovalStatus")
    names = {s["number"]: s["name"] for s in exp["structures"]}
    got = []
    for ref in rp.DoseReferenceSequence:
        require(ref.DoseReferenceStructureType == "VOLUME" and ref.DoseReferenceType == "TARGET", "dose reference")
        got.append({"roi": names.get(int(ref.ReferencedROINumber), "?"), "total_gy": float(ref.TargetPrescriptionDose)})
    require(got == exp["plan"]["prescriptions"], f"prescriptions {got}")
    for b in rp.BeamSequence:
        require(b.BeamType == "STATIC" and b.RadiationType == "PHOTON", "beam type")
        require(int(b.NumberOfControlPoints) == len(b.ControlPointSequence) == 2, "control points")


def check_case(d):
    exp = json.loads((d / "expected.json").read_text())
    require(exp["case"] == d.name, f"expected.json case {exp['case']!r}")
    ds = {}
    for name, (sop, modality) in SOP.items():
        f = d / name
        require(f.stat().st_size > 0, f"{name} empty")
        obj = pydicom.dcmread(f)  # no force=True: must be a proper Part-10 file
        require(obj.file_meta.TransferSyntaxUID == EXPLICIT_VR_LE, f"{name} transfer syntax")
        require(obj.file_meta.MediaStorageSOPClassUID == sop == obj.SOPClassUID, f"{name} SOP class")
        require(obj.file_meta.MediaStorageSOPInstanceUID == obj.SOPInstanceUID, f"{name} SOP instance")
        require(obj.Modality == modality, f"{name} modality")
        require(str(obj.PatientName) == "PHANTOM^" + d.name.upper(), f"{name} PatientName")
        require(obj.PatientID == "PH-" + d.name, f"{name} PatientID")
        for uid in (obj.SOPInstanceUID, obj.StudyInstanceUID, obj.FrameOfReferenceUID):
            require(len(uid) <= 64 and all(p == "0" or not p.startswith("0") for p in uid.split(".")), f"UID {uid}")
        ds[name] = obj
    rd, rs, rp = ds["RD.dcm"], ds["RS.dcm"], ds["RP.dcm"]
    for attr in ("StudyInstanceUID", "FrameOfReferenceUID"):
        require(len({getattr(o, attr) for o in ds.values()}) == 1, f"{attr} differs")
    require(rd.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID == rp.SOPInstanceUID, "RD -> RP")
    require(rp.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID == rs.SOPInstanceUID, "RP -> RS")
    shape = check_dose(rd, exp)
    n_contours = check_struct(rs, exp)
    check_plan(rp, exp)
    size = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
    require(size < 1_000_000, f"case is {size} bytes")
    return f"dose {shape[0]}x{shape[1]}x{shape[2]} {int(rd.BitsAllocated)}-bit, {n_contours} contours, {size} bytes"


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = Path(argv[1])
    cases = sorted(p.parent for p in root.glob("*/expected.json"))
    if not cases:
        print(f"FAIL {root}: no case directories (*/expected.json)")
        return 1
    failed = 0
    for d in cases:
        try:
            print(f"ok   {d.name}: {check_case(d)}")
        except Exception as e:  # noqa: BLE001 - one line per case, whatever broke
            failed += 1
            print(f"FAIL {d.name}: {type(e).__name__}: {e}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
