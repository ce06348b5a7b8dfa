//! Conformance on the real, anonymized data in `../shared/data` (outside this repository).
//!
//! Opt-in: these tests are `#[ignore]`d so that `cargo test` needs only the repository;
//! `.ci/run` runs them with `cargo test --test it shared_data:: -- --ignored`. They fail (never
//! skip) when the data is missing. Set `SBRT_SHARED_DATA` to use another location.

use std::path::{Path, PathBuf};

use crate::common::run;

use approx::assert_abs_diff_eq;
use sbrt_verify::dicom::{self, read};

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("SBRT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "shared data not found at {} (set SBRT_SHARED_DATA)",
        dir.display()
    );
    dir
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    dicom::discover::list_files(&[dir.to_path_buf()]).unwrap()
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn dicompyler_core_breast_plan_is_one_plan_set_with_the_manifest_values() {
    let dir = data_dir().join("dicompyler-core");
    let found = dicom::discover(&[dir]).unwrap();
    assert!(found.file_errors.is_empty(), "{:?}", found.file_errors);
    assert_eq!(found.plan_sets.len(), 1);
    let set = &found.plan_sets[0];
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    let plan = set.plan.as_ref().expect("plan linked");
    assert_eq!(plan.fractions_planned(), Some(7));
    let rx: Vec<f64> = plan
        .dose_references
        .iter()
        .filter_map(|r| r.target_prescription_dose_gy)
        .collect();
    assert!(rx.contains(&14.0), "{rx:?}");
    let dose = set.dose.as_ref().expect("dose linked");
    let g = &dose.geometry;
    assert_eq!((g.columns, g.rows, g.frames), (194, 129, 98));
    assert_eq!(g.column_spacing_mm, 2.5);
    assert_eq!(g.row_spacing_mm, 2.5);
    assert_eq!(g.uniform_slice_spacing_mm(), Some(3.0));
    assert_abs_diff_eq!(f64::from(dose.max_value()), 14.68, epsilon = 0.005);
    let ss = set.structures.as_ref().expect("structure set linked");
    assert_eq!(ss.rois.len(), 10);
    let count = |name: &str| {
        ss.rois
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.contours.len())
    };
    assert_eq!(count("BODY"), Some(141));
    assert_eq!(count("Lt Lung"), Some(165));
    assert_eq!(count("Areola"), Some(0));
    // 1 CT slice counted, LICENSE file skipped.
    assert_eq!(found.other_objects.get("CT"), Some(&1));
    assert_eq!(found.non_dicom, 1);
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn inspect_cli_shows_the_breast_plan_and_masks_the_patient() {
    let dir = data_dir().join("dicompyler-core");
    let (code, out, err) = run(&["inspect".as_ref(), dir.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("14.00 Gy in 7 fractions"), "{out}");
    assert!(out.contains("194x129x98 at 2.50x2.50x3.00 mm"), "{out}");
    assert!(out.contains("max 14.68 Gy"), "{out}");
    assert!(out.contains("Patient: *** (ID ***)"), "{out}");
    let (code, json, _) = run(&[
        "inspect".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema_version"], "2");
    assert_eq!(v["plan_sets"].as_array().unwrap().len(), 1);
    assert_eq!(v["plan_sets"][0]["dose"]["columns"], 194);
    assert_eq!(v["plan_sets"][0]["patient"]["id"], "***");
}

/// Files that must be refused, with the reason they are broken.
const BROKEN: &[(&str, &str)] = &[
    ("badVR.dcm", "NumberOfFrames"),
    ("rtplan_truncated.dcm", "cannot parse"),
];

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn every_shared_file_is_read_or_refused_in_one_line_without_panic() {
    let dir = data_dir();
    let files = all_files(&dir);
    assert!(files.len() > 100, "only {} files", files.len());
    let mut refused = Vec::new();
    for f in &files {
        let (code, out, err) = run(&["inspect".as_ref(), f.as_os_str()]);
        assert!(!err.contains("panicked"), "{}: {err}", f.display());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        match code {
            0 => assert!(out.contains("Plan set 1"), "{}: {out}", f.display()),
            // Read, but its plan set cannot be evaluated (e.g. a dose alone, whose plan is
            // not among the inputs): the problem is in the report.
            3 if err.is_empty() => assert!(out.contains("PROBLEM: "), "{}: {out}", f.display()),
            3 => {
                let lines: Vec<&str> = err.lines().collect();
                assert_eq!(lines.len(), 1, "{}: {err}", f.display());
                assert!(lines[0].contains(&*f.to_string_lossy()), "{err}");
                refused.push((name, lines[0].to_string()));
            }
            other => panic!("{}: exit {other}: {err}", f.display()),
        }
    }
    for (name, why) in BROKEN {
        let hit = refused.iter().find(|(n, _)| n == name);
        let (_, line) = hit.unwrap_or_else(|| panic!("{name} was not refused"));
        assert!(line.contains(why), "{name}: {line}");
    }
    // Everything refused is a known-broken file or not an RT object at all.
    for (name, line) in &refused {
        let known = BROKEN.iter().any(|(n, _)| n == name);
        assert!(
            known || line.contains("no DICOM RT objects found"),
            "unexpected refusal: {line}"
        );
    }
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn every_rt_object_in_shared_data_reads_except_the_broken_ones() {
    let dir = data_dir();
    let mut rt = 0;
    for f in all_files(&dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let opened = read::open(&f);
        let Ok(Some(file)) = opened else {
            assert!(
                BROKEN.iter().any(|(n, _)| *n == name) || matches!(opened, Ok(None)),
                "{}: {:?}",
                f.display(),
                opened.err()
            );
            continue;
        };
        let kind = dicom::ObjectKind::of(&file.attrs());
        let result = match kind {
            dicom::ObjectKind::Dose => dicom::DoseGrid::from_file(&file).map(|_| ()),
            dicom::ObjectKind::StructureSet => dicom::StructureSet::from_file(&file).map(|_| ()),
            dicom::ObjectKind::Plan => dicom::Plan::from_file(&file, false).map(|_| ()),
            dicom::ObjectKind::IonPlan => dicom::Plan::from_file(&file, true).map(|_| ()),
            dicom::ObjectKind::Other(_) => continue,
        };
        rt += 1;
        if BROKEN.iter().any(|(n, _)| *n == name) {
            assert!(result.is_err(), "{name} should be refused");
        } else {
            result.unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert!(rt >= 80, "only {rt} RT objects read");
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn every_shared_folder_inspects_without_panic() {
    let dir = data_dir();
    let mut folders = vec![dir.clone()];
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            folders.push(p);
        }
    }
    for f in folders {
        let (code, _, err) = run(&[
            "inspect".as_ref(),
            f.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        assert!(!err.contains("panicked"), "{}: {err}", f.display());
        assert!(code == 0 || code == 3, "{}: exit {code}", f.display());
    }
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn nelms_doses_sharing_one_uid_are_both_kept_and_flagged() {
    let dir = data_dir().join("nelms2015/DOSE GRIDS");
    let found = dicom::discover(&[dir]).unwrap();
    let doses = found.plan_sets.iter().filter(|s| s.dose.is_some()).count();
    assert_eq!(doses, 6);
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.contains("files share SOP Instance UID")),
        "{:?}",
        found.warnings
    );
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn pydicom_dose_and_struct_of_different_frames_are_not_paired() {
    let dir = data_dir().join("pydicom");
    let dose = dir.join("rtdose.dcm");
    let rs = dir.join("rtstruct.dcm");
    let found = dicom::discover(&[dose, rs]).unwrap();
    let set = found
        .plan_sets
        .iter()
        .find(|s| s.dose.is_some())
        .expect("dose plan set");
    assert!(
        set.structures.is_none(),
        "different frames must not be linked"
    );
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn user_protocol_example_checks_the_breast_plan_with_a_derived_limit() {
    let dir = data_dir().join("dicompyler-core");
    let protocol =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/protocols/breast_14gy_7fx.toml");
    let (code, out, err) = run(&[
        "check".as_ref(),
        dir.as_os_str(),
        "--protocol".as_ref(),
        protocol.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "PASS");
    let derived: Vec<&serde_json::Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["derived"] == true)
        .collect();
    assert_eq!(derived.len(), 1);
    // 38 Gy in 5 fx at alpha/beta 3 Gy -> 7 fx by same BED.
    let limit = derived[0]["limit"].as_f64().unwrap();
    assert!((limit - 43.628).abs() < 0.01, "{limit}");
    assert!(v["warnings"].to_string().contains("CALC POINT"));
}

#[test]
#[ignore = "needs ../shared/data; run by .ci/run"]
fn builtin_protocol_never_passes_the_shared_plans() {
    // None of the shared plans is a 5-fraction plasmacytoma plan: each must FAIL or ERROR.
    for dir in [
        "dicompyler-core",
        "aptg-proton-phantoms/plans/plan03_sobp_raystation",
    ] {
        let path = data_dir().join(dir);
        let (code, out, err) = run(&["check".as_ref(), path.as_os_str()]);
        assert!(code == 1 || code == 3, "{dir}: exit {code}: {out}{err}");
        assert!(!out.contains("== PASS"), "{dir}");
    }
}
