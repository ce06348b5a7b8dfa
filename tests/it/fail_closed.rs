//! The rows of the README's "Fail-closed behaviour" table that no other test file covers:
//! each situation in which something cannot be evaluated, and the verdict that follows.

use std::path::{Path, PathBuf};

use crate::common::{
    check_json, copy_case, edit_items, errors, put_str, result, rewrite, write_variant, Edits,
};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// A protocol for the trial phantoms with the given `[[constraint]]` tables.
fn protocol_file(dir: &Path, constraints: &str) -> PathBuf {
    let text = format!(
        r#"[protocol]
name = "test"
version = "1"

[[prescription]]
role = "PTV"
total_gy = 30.0
fractions = 5

[[prescription]]
role = "PGTV"
total_gy = 35.0
fractions = 5

[[structure]]
name = "SpinalCord"
alpha_beta_gy = 2.0

[[structure]]
name = "Liver"

{constraints}
"#
    );
    let path = dir.join("protocol.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn constraint(structure: &str, query: &str, limit: &str, level: &str) -> String {
    format!(
        "[[constraint]]\nstructure = \"{structure}\"\nquery = \"{query}\"\ncomparator = \"<=\"\n{limit}\nlevel = \"{level}\"\nsource = \"test\"\n\n"
    )
}

fn check_with(dir: &Path, protocol: &Path) -> (i32, serde_json::Value, String) {
    check_json(dir, &["--protocol", protocol.to_str().unwrap()])
}

#[test]
fn an_unreadable_file_beside_the_plan_makes_check_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "extra");
    let rp = std::fs::read(dir.join("RP.dcm")).unwrap();
    let bad = dir.join("RS_new.dcm");
    std::fs::write(&bad, &rp[..600]).unwrap();
    let (code, json, err) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert_eq!(json["verdict"], "ERROR");
    assert!(errors(&json).contains("unreadable input"), "{json}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("RS_new.dcm"), "{err}");
}

#[test]
fn fraction_dose_without_a_number_of_fractions_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "fraction");
    rewrite(&dir, "RD.dcm", |o| {
        put_str(o, tags::DOSE_SUMMATION_TYPE, VR::CS, "FRACTION")
    });
    rewrite(&dir, "RP.dcm", |o| {
        edit_items(o, tags::FRACTION_GROUP_SEQUENCE, |g| {
            g[0].remove_element(tags::NUMBER_OF_FRACTIONS_PLANNED);
        })
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(errors(&json).contains("FRACTION dose"), "{json}");
}

#[test]
fn different_patient_ids_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "ids");
    rewrite(&dir, "RS.dcm", |o| {
        put_str(o, tags::PATIENT_ID, VR::LO, "PH-someone-else")
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(errors(&json).contains("different patient IDs"), "{json}");
}

#[test]
fn a_referenced_uid_shared_by_two_files_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "shared_uid");
    std::fs::copy(dir.join("RS.dcm"), dir.join("RS_copy.dcm")).unwrap();
    rewrite(&dir, "RS_copy.dcm", |o| {
        put_str(o, tags::STRUCTURE_SET_LABEL, VR::SH, "OTHER")
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(errors(&json).contains("several different files"), "{json}");
}

#[test]
fn a_plan_set_without_plan_or_structure_set_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    for (file, why) in [
        ("RP.dcm", "dose references RT Plan"),
        ("RS.dcm", "no RT Structure Set"),
    ] {
        let dir = copy_case(tmp.path(), "trial_pass", file);
        std::fs::remove_file(dir.join(file)).unwrap();
        let (code, json, _) = check_json(&dir, &[]);
        assert_eq!(code, 3, "{json}");
        assert!(errors(&json).contains(why), "{json}");
    }
}

#[test]
fn a_prescribed_target_missing_from_the_structure_set_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |c| {
            for s in &mut c.structures {
                if s.name == "PGTV" {
                    s.name = "Boost";
                }
            }
        },
        Edits::default(),
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(
        errors(&json).contains("prescribes 35 Gy (PGTV) but no PGTV structure"),
        "{json}"
    );
}

/// Moves every contour of ROI `roi` by `dz` mm.
fn shift_roi(o: &mut InMemDicomObject, roi: i64, dz: f64) {
    edit_items(o, tags::ROI_CONTOUR_SEQUENCE, |items| {
        for item in items.iter_mut() {
            let n = item
                .element(tags::REFERENCED_ROI_NUMBER)
                .unwrap()
                .to_int::<i64>()
                .unwrap();
            if n != roi {
                continue;
            }
            edit_items(item, tags::CONTOUR_SEQUENCE, |contours| {
                for c in contours.iter_mut() {
                    let v: Vec<f64> = c
                        .element(tags::CONTOUR_DATA)
                        .unwrap()
                        .to_multi_float64()
                        .unwrap();
                    let moved: Vec<String> = v
                        .chunks(3)
                        .flat_map(|p| [p[0], p[1], p[2] + dz])
                        .map(|x| format!("{x}"))
                        .collect();
                    put_str(c, tags::CONTOUR_DATA, VR::DS, &moved.join("\\"));
                }
            });
        }
    });
}

#[test]
fn an_organ_partly_outside_the_dose_grid_is_not_evaluated_and_the_verdict_is_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "cord_out");
    // The cord (ROI 3, z -40..40) moved to z -10..70; the grid ends at z 53.75.
    rewrite(&dir, "RS.dcm", |o| shift_roi(o, 3, 30.0));
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert_eq!(json["verdict"], "ERROR");
    let cord = result(&json, "SpinalCord");
    assert_eq!(cord["status"], "NOT_EVALUATED", "{cord}");
    assert!(
        cord["reason"].to_string().contains("outside the dose grid"),
        "{cord}"
    );
}

#[test]
fn an_undefined_metric_is_an_error_when_mandatory_and_a_warning_when_optimal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trial_pass");
    // DC1500cc of a cord of a few cc: the coldest 1500 cc do not exist.
    let base = constraint("SpinalCord", "D0.035cc", "limit = \"25.3Gy\"", "mandatory");
    let p = protocol_file(
        tmp.path(),
        &(base.clone() + &constraint("SpinalCord", "DC1500cc", "limit = \"13.5Gy\"", "mandatory")),
    );
    let (code, json, _) = check_with(&dir, &p);
    assert_eq!(code, 3, "{json}");
    let dc = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["constraint"].as_str().unwrap().starts_with("DC1500cc"))
        .unwrap();
    assert_eq!(dc["status"], "NOT_EVALUATED");
    assert!(dc["reason"].to_string().contains("smaller than"), "{dc}");

    let p = protocol_file(
        tmp.path(),
        &(base + &constraint("SpinalCord", "DC1500cc", "limit = \"13.5Gy\"", "optimal")),
    );
    let (code, json, _) = check_with(&dir, &p);
    assert_eq!(code, 0, "{json}");
    assert!(
        json["warnings"]
            .to_string()
            .contains("optimal constraint not evaluated"),
        "{json}"
    );
}

#[test]
fn a_limit_table_that_does_not_cover_the_target_is_an_error_when_mandatory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trial_pass");
    let table = "limit_table = { by = \"ptv_volume_cc\", unit = \"\", points = [[5000.0, 1.2], [6000.0, 1.3]] }";
    let base = constraint("SpinalCord", "D0.035cc", "limit = \"25.3Gy\"", "mandatory");
    for (level, want) in [("mandatory", 3), ("optimal", 0)] {
        let p = protocol_file(
            tmp.path(),
            &(base.clone() + &constraint("PTV", "CI_RTOG", table, level)),
        );
        let (code, json, _) = check_with(&dir, &p);
        assert_eq!(code, want, "{level}: {json}");
        let r = result(&json, "PTV");
        assert_eq!(r["status"], "NOT_EVALUATED");
        assert!(r["reason"].to_string().contains("limit table"), "{r}");
    }
}

#[test]
fn no_constraint_evaluated_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/trial_pass");
    let p = protocol_file(
        tmp.path(),
        &constraint("Liver", "Dmean", "limit = \"15Gy\"", "mandatory"),
    );
    let (code, json, _) = check_with(&dir, &p);
    assert_eq!(code, 3, "{json}");
    assert!(
        errors(&json).contains("no constraint was evaluated"),
        "{json}"
    );
    assert!(json["not_present"].to_string().contains("Liver"), "{json}");
}

#[test]
fn several_plan_sets_without_a_choice_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    copy_case(tmp.path(), "trial_pass", "a");
    copy_case(tmp.path(), "trial_cord_overdose", "b");
    let (code, _, err) = check_json(tmp.path(), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--dose"), "{err}");
}
