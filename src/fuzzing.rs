//! The bodies of the fuzz targets (`fuzz/fuzz_targets/`), kept in the library so that the
//! regression tests (`tests/it/regressions.rs`) run exactly what the fuzzers ran. Not part of
//! the library's API: compiled only with the `fuzzing` feature, which `fuzz/Cargo.toml` and
//! the tests (a dev-dependency of the crate on itself) turn on.
//!
//! Each function takes untrusted input, runs it through the real code path and asserts what
//! the project promises about hostile input: errors are one line naming the input, values
//! that are read are finite, and nothing panics. A panic here is a bug.

use std::path::Path;

use ndarray::Array3;

use crate::dicom::{DoseGrid, DoseSummation, DoseUnits, Patient, RtObject};
use crate::geometry::GridGeometry;
use crate::protocol::query::{parse_constraint, parse_query};
use crate::raster::SamplingOptions;

/// The name the fuzzed bytes go by in errors.
pub const INPUT_NAME: &str = "fuzz-input.dcm";

/// Bytes of one file -> RT object (the reader, pixel decoding, the RT models).
pub fn ingest(bytes: &[u8]) -> Option<RtObject> {
    match RtObject::from_bytes(bytes, Path::new(INPUT_NAME)) {
        Ok(Some(obj)) => {
            check_object(&obj);
            Some(obj)
        }
        Ok(None) => None,
        Err(e) => {
            let text = e.to_string();
            assert!(
                !text.contains('\n'),
                "error on more than one line: {text:?}"
            );
            assert!(
                text.starts_with(INPUT_NAME),
                "error does not name the file: {text}"
            );
            None
        }
    }
}

/// What every object that reads must satisfy.
fn check_object(obj: &RtObject) {
    match obj {
        RtObject::Dose(d) => {
            let g = &d.geometry;
            assert_eq!(d.values.dim(), (g.frames, g.rows, g.columns));
            assert_eq!(g.frame_z_mm.len(), g.frames);
            assert!(d.values.iter().all(|v| v.is_finite()), "non-finite dose");
            assert!(d.grid_scaling > 0.0 && d.grid_scaling.is_finite());
            assert!(g.column_spacing_mm > 0.0 && g.row_spacing_mm > 0.0);
            let _ = d.max_value();
            let _ = g.uniform_slice_spacing_mm();
        }
        RtObject::Structures(s) => {
            for roi in &s.rois {
                let _ = roi.planes();
                let _ = roi.contour_counts();
                let _ = roi.z_extent_mm();
                if roi.defects.is_empty() {
                    for c in &roi.contours {
                        assert!(c.points_mm.iter().flatten().all(|v| v.is_finite()));
                    }
                }
            }
        }
        RtObject::Plan(p) => {
            let _ = p.fractions_planned();
        }
        RtObject::Other(_) => {}
    }
}

/// [`ingest`], then the DVH of every ROI of a structure set that reads, on a small fixed
/// dose grid (rasterization, sampling and metrics on hostile contours).
pub fn ingest_structures_with_dvh(bytes: &[u8]) {
    let Some(RtObject::Structures(s)) = ingest(bytes) else {
        return;
    };
    let dose = small_dose_grid();
    let rois: Vec<_> = s.rois.iter().collect();
    let opts = SamplingOptions {
        min_samples: 2_000,
        max_factor: 4,
        ..Default::default()
    };
    for d in crate::dvh::compute(&dose, &rois, &opts) {
        assert!(d.volume_cc.is_finite() && d.volume_cc >= 0.0, "{d:?}");
        assert!(d.outside_cc.is_finite(), "{d:?}");
        if d.error.is_none() {
            for x in [1.0, 50.0, 99.0] {
                if let Some(v) = d.dvh.dose_at_volume_percent(x) {
                    assert!(v.is_finite());
                }
            }
        }
    }
}

/// A 6 x 5 x 4 grid of 2 mm voxels around the origin with a linear dose (Gy).
pub fn small_dose_grid() -> DoseGrid {
    let (columns, rows, frames) = (6, 5, 4);
    let geometry = GridGeometry {
        columns,
        rows,
        frames,
        origin_mm: [-5.0, -4.0, -3.0],
        x_sign: 1.0,
        y_sign: 1.0,
        column_spacing_mm: 2.0,
        row_spacing_mm: 2.0,
        frame_z_mm: vec![-3.0, -1.0, 1.0, 3.0],
    };
    let values = Array3::from_shape_fn((frames, rows, columns), |(k, j, i)| {
        (i + 2 * j + 3 * k) as f32
    });
    DoseGrid {
        path: "fuzz-dose.dcm".into(),
        sop_instance_uid: "2.25.1".into(),
        frame_of_reference_uid: None,
        study_instance_uid: None,
        patient: Patient::default(),
        geometry,
        units: DoseUnits::Gy,
        dose_type: None,
        summation: DoseSummation::Plan,
        grid_scaling: 1.0,
        bits_allocated: 32,
        referenced_plan_uid: None,
        comment: None,
        values,
        warnings: Vec::new(),
    }
}

/// Constraint text -> constraint; one that parses prints as text that parses back to it.
pub fn constraint(text: &str) {
    let _ = parse_query(text);
    let Ok(c) = parse_constraint(text) else {
        return;
    };
    let printed = c.to_string();
    let again = parse_constraint(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, c, "{text:?} printed as {printed:?}");
}

/// Protocol text -> protocol; a protocol that loads resolves to finite limits.
pub fn protocol(text: &str) {
    match crate::protocol::file::parse(text, "fuzz.toml") {
        Ok(p) => {
            for c in &p.constraints {
                for fractions in [1, 5, 30] {
                    for x in [0.5, 20.0, 5000.0] {
                        if let Some(r) = p.resolve(c, fractions, Some(x)) {
                            assert!(r.limit.value().is_finite(), "{c:?} -> {r:?}");
                        }
                    }
                }
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(
                !text.contains('\n'),
                "error on more than one line: {text:?}"
            );
            assert!(text.starts_with("fuzz.toml"), "{text}");
        }
    }
}
