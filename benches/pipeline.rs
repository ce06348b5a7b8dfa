//! Benchmarks of each stage and of the whole check, on the bundled fixtures and on the
//! generated clinical-size phantom (200 x 200 x 150 dose grid, 20 ROIs, 15,000 cc body),
//! and of the DVHs of that phantom at two dose-grid resolutions, 8x the voxels apart (the
//! time should grow at most about as the voxels do).
//!
//! `cargo bench --features bench --bench pipeline`. Each benchmark asserts its answer inside
//! the timed loop, so that a wrong result cannot pass as a speed-up.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use sbrt_verify::check::{check, CheckOptions, Verdict};
use sbrt_verify::dicom::{self, DoseGrid, PlanSet, Selection};
use sbrt_verify::dvh;
use sbrt_verify::phantom;
use sbrt_verify::raster::{sample_roi, SamplingOptions};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(case)
}

/// Writes the clinical-size phantom once per bench run, into a temporary folder.
fn clinical() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let case = phantom::write_case(phantom::cases::CLINICAL_SIZE, dir.path()).unwrap();
    (dir, case)
}

/// The exact volume of a phantom case's structure in the slab model (half end caps, the
/// default), cc.
fn exact_volume_cc(case: &str, structure: &str) -> f64 {
    let case = phantom::cases::case(case).unwrap();
    let s = case
        .structures
        .iter()
        .find(|s| s.name == structure)
        .unwrap();
    phantom::exact::volume_cc(s, phantom::exact::Caps::Half)
}

fn load(path: &Path) -> PlanSet {
    let found = dicom::discover(&[path.to_path_buf()]).unwrap();
    found.select(&Selection::default()).unwrap().clone()
}

/// The same dose on a grid of twice the spacing: every other voxel in each direction, so
/// 8x fewer voxels (100 x 100 x 75 at 5 mm for the clinical-size phantom).
fn every_other_voxel(dose: &DoseGrid) -> DoseGrid {
    let mut coarse = dose.clone();
    coarse.values = dose.values.slice(ndarray::s![..;2, ..;2, ..;2]).to_owned();
    let g = &mut coarse.geometry;
    (g.frames, g.rows, g.columns) = coarse.values.dim();
    g.column_spacing_mm *= 2.0;
    g.row_spacing_mm *= 2.0;
    g.frame_z_mm = dose
        .geometry
        .frame_z_mm
        .iter()
        .step_by(2)
        .copied()
        .collect();
    coarse
}

/// The clinical-size phantom's dose, Gy: 36.6 exp(-(r^2 / 30^2)^2), r in mm from the
/// origin, the centre of the PTV (a sphere of 25 mm radius).
fn clinical_dose_gy(r_mm: f64) -> f64 {
    36.6 * (-(r_mm * r_mm / 900.0).powi(2)).exp()
}

/// The PTV's exact D_x%: the dose falls with the radius, so it is the dose at the radius
/// holding the inner x % of the sphere's volume.
fn clinical_ptv_dose_at_percent(x: f64) -> f64 {
    clinical_dose_gy(25.0 * (x / 100.0).cbrt())
}

/// How far a D_x% of the PTV may be from the exact value, per mm^2 of the grid spacing
/// squared. Trilinear interpolation reads this concave field low by about
/// h^2 / 12 |laplacian| on average: 0.52 Gy at the PTV's D50% on the 5 mm grid, a quarter of
/// that on the 2.5 mm one. Allowed: half as much again (the polygonal sphere, the slabs),
/// 0.75 Gy at 5 mm and 0.19 Gy at 2.5 mm.
const PTV_DOSE_TOLERANCE_GY_PER_MM2: f64 = 0.03;

fn benches(c: &mut Criterion) {
    let (_tmp, clinical_dir) = clinical();
    let trial = fixture("trial_pass");

    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    for (name, dir) in [("trial_pass", &trial), ("clinical_size", &clinical_dir)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let found = dicom::discover(std::slice::from_ref(dir)).unwrap();
                assert_eq!(found.plan_sets.len(), 1);
                black_box(found)
            })
        });
    }
    g.finish();

    let trial_set = load(&trial);
    let clinical_set = load(&clinical_dir);
    let opts = SamplingOptions::default();

    let mut g = c.benchmark_group("rasterize");
    g.sample_size(10);
    let clinical_size = phantom::cases::CLINICAL_SIZE;
    let body_cc = exact_volume_cc(clinical_size, "BODY");
    for (name, set, roi_name, volume_cc) in [
        (
            "trial_pass/PTV",
            &trial_set,
            "PTV",
            exact_volume_cc("trial_pass", "PTV"),
        ),
        ("clinical_size/BODY", &clinical_set, "BODY", body_cc),
        (
            "clinical_size/Rib",
            &clinical_set,
            "Rib",
            exact_volume_cc(clinical_size, "Rib"),
        ),
    ] {
        let dose = set.dose.as_ref().unwrap();
        let roi = set
            .structures
            .as_ref()
            .unwrap()
            .rois
            .iter()
            .find(|r| r.name == roi_name)
            .unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let s = sample_roi(roi, dose, &opts);
                assert!(
                    (s.total_cc - volume_cc).abs() / volume_cc < 1e-3,
                    "{}",
                    s.total_cc
                );
                black_box(s)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("dvh");
    g.sample_size(10);
    // The clinical-size phantom's ROIs: in `dvh_grid_resolution` below.
    let dose = trial_set.dose.as_ref().unwrap();
    let all: Vec<&dicom::Roi> = trial_set.structures.as_ref().unwrap().rois.iter().collect();
    assert_eq!(all.len(), 4);
    g.bench_function("trial_pass/all_rois", |b| {
        b.iter(|| {
            let d = dvh::compute(dose, &all, &opts);
            assert!(d.iter().all(|s| s.error.is_none() && s.complete()));
            black_box(d)
        })
    });
    let body: Vec<&dicom::Roi> = clinical_set
        .structures
        .as_ref()
        .unwrap()
        .rois
        .iter()
        .filter(|r| r.name == "BODY")
        .collect();
    g.bench_function("clinical_size/BODY", |b| {
        b.iter(|| {
            let d = dvh::compute(clinical_set.dose.as_ref().unwrap(), &body, &opts);
            assert!((d[0].volume_cc - body_cc).abs() / body_cc < 1e-3);
            black_box(d)
        })
    });
    g.finish();

    // All 20 ROIs on the phantom's 2.5 mm grid and on a 5 mm grid (8x fewer voxels).
    let fine: &DoseGrid = clinical_set.dose.as_deref().unwrap();
    let coarse = every_other_voxel(fine);
    let all: Vec<&dicom::Roi> = clinical_set
        .structures
        .as_ref()
        .unwrap()
        .rois
        .iter()
        .collect();
    assert_eq!(all.len(), 20);
    let mut g = c.benchmark_group("dvh_grid_resolution");
    g.sample_size(10);
    for (name, dose) in [
        ("clinical_size/2.5mm", fine),
        ("clinical_size/5mm", &coarse),
    ] {
        let tolerance = PTV_DOSE_TOLERANCE_GY_PER_MM2 * dose.geometry.column_spacing_mm.powi(2);
        g.bench_function(name, |b| {
            b.iter(|| {
                let d = dvh::compute(dose, &all, &opts);
                assert!(d.iter().all(|s| s.error.is_none() && s.complete()));
                assert!(
                    (d[0].volume_cc - body_cc).abs() / body_cc < 1e-3,
                    "{}",
                    d[0].volume_cc
                );
                let ptv = d.iter().find(|s| s.name == "PTV").unwrap();
                for x in [2.0, 50.0, 95.0] {
                    let got = ptv.dvh.dose_at_volume_percent(x).unwrap();
                    let exact = clinical_ptv_dose_at_percent(x);
                    assert!(
                        (got - exact).abs() < tolerance,
                        "{name}: PTV D{x}% {got} Gy, exact {exact} Gy"
                    );
                }
                black_box(d)
            })
        });
    }
    g.finish();

    let protocol = sbrt_verify::protocol::builtin("nct06863584").unwrap();
    let mut g = c.benchmark_group("check");
    g.sample_size(10);
    // The clinical-size phantom's plan names no treatment site: checked as a spine plan.
    for (name, set, site, verdict) in [
        ("trial_pass", &trial_set, None, Verdict::Pass),
        ("clinical_size", &clinical_set, Some("spine"), Verdict::Fail),
    ] {
        let options = CheckOptions {
            site: site.map(str::to_string),
            ..CheckOptions::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = check(set, &protocol, &options).unwrap();
                assert_eq!(out.verdict, verdict, "{:?}", out.errors);
                black_box(out)
            })
        });
    }
    g.bench_function("trial_pass/read_and_check", |b| {
        b.iter(|| {
            let set = load(&trial);
            let out = check(&set, &protocol, &CheckOptions::default()).unwrap();
            assert_eq!(out.verdict, Verdict::Pass);
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
