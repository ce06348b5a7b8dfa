#!/usr/bin/env python3
"""Every RT Dose under DATA: sbrt-verify's values == pydicom's pixel_array * DoseGridScaling.

Usage: dose_values.py SBRT_VERIFY_BINARY DATA_DIR [--expect-error FILE_NAME]...
Files named with --expect-error must be refused: exit 3 and one stderr line naming the file.
Exit 0 when every RT Dose matches to float32 rounding, 1 otherwise (also when no RT Dose
is found: a comparison of nothing is a failure).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom

RT_DOSE = "1.2.840.10008.5.1.4.1.1.481.2"
# float32 keeps 24 bits: relative rounding 6e-8; allow 4 ulps of the grid maximum.
REL_TOL = 2.5e-7


def rt_doses(root):
    for dirpath, _, names in sorted(os.walk(root)):
        for n in sorted(names):
            path = os.path.join(dirpath, n)
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            except Exception:
                continue
            if str(ds.get("SOPClassUID", "")) == RT_DOSE:
                yield path


def reference(path):
    ds = pydicom.dcmread(path, force=True)
    if not hasattr(ds, "file_meta") or "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta = getattr(ds, "file_meta", pydicom.dataset.FileMetaDataset())
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    arr = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    if arr.ndim == 2:
        arr = arr[np.newaxis, :, :]
    return arr


def main():
    binary, root = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    expect_error = {rest[i + 1] for i in range(len(rest) - 1) if rest[i] == "--expect-error"}
    failures = 0
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(rt_doses(root)):
            count += 1
            out = os.path.join(tmp, f"{i}.npy")
            r = subprocess.run([binary, "export-dose", path, "--out", out],
                               capture_output=True, text=True)
            if os.path.basename(path) in expect_error:
                lines = r.stderr.strip().splitlines()
                ok = r.returncode == 3 and len(lines) == 1 and path in lines[0]
                print(f"{'ok  ' if ok else 'FAIL'} {path}: expected refusal, got exit "
                      f"{r.returncode}: {r.stderr.strip()}")
                failures += 0 if ok else 1
                continue
            if r.returncode != 0:
                print(f"FAIL {path}: sbrt-verify exit {r.returncode}: {r.stderr.strip()}")
                failures += 1
                continue
            ours = np.load(out)
            ref = reference(path)
            if ours.shape != ref.shape:
                print(f"FAIL {path}: shape {ours.shape} != pydicom {ref.shape}")
                failures += 1
                continue
            scale = max(float(np.abs(ref).max()), 1e-30)
            err = float(np.abs(ours.astype(np.float64) - ref).max())
            ok = err <= REL_TOL * scale
            print(f"{'ok  ' if ok else 'FAIL'} {path}: {ref.shape}, max {scale:.6g}, "
                  f"max |diff| {err:.3g} ({err / scale:.2g} of max)")
            failures += 0 if ok else 1
    if count == 0:
        print(f"FAIL: no RT Dose found under {root}")
        return 1
    print(f"doses: {count - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
