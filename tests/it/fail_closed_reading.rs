//! Fail-closed rules whose checks belong in reading and linking: each variant of
//! `fixtures/trial_pass` that must not pass is refused (exit 3, one clear line), and each
//! harmless one still passes with what was repaired recorded.

use std::path::Path;

use crate::common::{check_json, copy_case, edit_items, errors, put_str, result, rewrite, run};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// The SpinalCord ROI of the trial phantoms.
const CORD: i64 = 3;

/// Runs `sbrt-verify CMD DIR --format json`; returns (exit code, JSON).
fn json_of(cmd: &str, dir: &Path) -> (i32, serde_json::Value) {
    let (code, out, err) = run(&[
        cmd.as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let json = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{cmd}: {out} {err}"));
    (code, json)
}

/// The ROI `roi` of the first structure set, as `inspect --format json` gives it.
fn inspected_roi(dir: &Path, roi: i64) -> serde_json::Value {
    let (_, json) = json_of("inspect", dir);
    json["plan_sets"][0]["structure_set"]["rois"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == roi)
        .cloned()
        .unwrap()
}

/// Applies `edit` to the contour items of ROI `roi`.
fn edit_contours(o: &mut InMemDicomObject, roi: i64, edit: impl Fn(&mut Vec<InMemDicomObject>)) {
    edit_items(o, tags::ROI_CONTOUR_SEQUENCE, |items| {
        for item in items.iter_mut() {
            let n = item
                .element(tags::REFERENCED_ROI_NUMBER)
                .unwrap()
                .to_int::<i64>()
                .unwrap();
            if n == roi {
                edit_items(item, tags::CONTOUR_SEQUENCE, &edit);
            }
        }
    });
}

fn points(c: &InMemDicomObject) -> Vec<f64> {
    c.element(tags::CONTOUR_DATA)
        .unwrap()
        .to_multi_float64()
        .unwrap()
}

fn set_points(c: &mut InMemDicomObject, v: &[f64]) {
    let text: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    put_str(c, tags::CONTOUR_DATA, VR::DS, &text.join("\\"));
    put_str(
        c,
        tags::NUMBER_OF_CONTOUR_POINTS,
        VR::IS,
        &(v.len() / 3).to_string(),
    );
}

/// The middle contour of the cord (its hottest planes are near z = 0).
fn middle(contours: &[InMemDicomObject]) -> usize {
    contours.len() / 2
}

#[test]
fn a_closed_contour_collapsed_to_a_line_or_a_point_makes_its_structure_not_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, collapse) in [
        (
            "line",
            (|p: &[f64]| {
                vec![
                    p[0],
                    p[1],
                    p[2],
                    p[0] + 1.0,
                    p[1],
                    p[2],
                    p[0] + 2.0,
                    p[1],
                    p[2],
                ]
            }) as fn(&[f64]) -> Vec<f64>,
        ),
        ("point", |p: &[f64]| {
            [&p[..3], &p[..3], &p[..3], &p[..3]].concat()
        }),
    ] {
        let dir = copy_case(tmp.path(), "trial_pass", name);
        rewrite(&dir, "RS.dcm", |o| {
            edit_contours(o, CORD, |cs| {
                let i = middle(cs);
                let p = points(&cs[i]);
                set_points(&mut cs[i], &collapse(&p));
            })
        });
        let (code, json, _) = check_json(&dir, &[]);
        assert_eq!(code, 3, "{name}: {json}");
        assert_eq!(json["verdict"], "ERROR");
        let cord = result(&json, "SpinalCord");
        assert_eq!(cord["status"], "NOT_EVALUATED", "{name}: {cord}");
        assert!(cord["reason"].to_string().contains("zero area"), "{cord}");
    }
}

#[test]
fn an_open_contour_among_closed_ones_makes_its_structure_not_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "open");
    rewrite(&dir, "RS.dcm", |o| {
        edit_contours(o, CORD, |cs| {
            let i = middle(cs);
            put_str(
                &mut cs[i],
                tags::CONTOUR_GEOMETRIC_TYPE,
                VR::CS,
                "OPEN_PLANAR",
            );
        })
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    let cord = result(&json, "SpinalCord");
    assert_eq!(cord["status"], "NOT_EVALUATED", "{cord}");
    assert!(cord["reason"].to_string().contains("OPEN_PLANAR"), "{cord}");
}

#[test]
fn a_point_marker_inside_an_organ_is_ignored_and_recorded_as_a_repair() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "marker");
    rewrite(&dir, "RS.dcm", |o| {
        edit_contours(o, CORD, |cs| {
            let mut marker = cs[middle(cs)].clone();
            let p = points(&marker);
            set_points(&mut marker, &p[..3]);
            put_str(&mut marker, tags::CONTOUR_GEOMETRIC_TYPE, VR::CS, "POINT");
            cs.push(marker);
        })
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 0, "{json}");
    let roi = inspected_roi(&dir, CORD);
    assert_eq!(
        roi["repairs"],
        serde_json::json!(["POINT marker ignored"]),
        "{roi}"
    );
    assert_eq!(roi["defects"], serde_json::json!([]), "{roi}");
}

#[test]
fn an_exact_duplicate_contour_is_removed_so_volume_and_curve_count_it_once() {
    let tmp = tempfile::tempdir().unwrap();
    let original = copy_case(tmp.path(), "trial_pass", "original");
    let dir = copy_case(tmp.path(), "trial_pass", "duplicate");
    rewrite(&dir, "RS.dcm", |o| {
        edit_contours(o, CORD, |cs| {
            // The hottest plane's polygon again, starting from its third point.
            let mut copy = cs[middle(cs)].clone();
            let p = points(&copy);
            let rotated = [&p[6..], &p[..6]].concat();
            set_points(&mut copy, &rotated);
            cs.push(copy);
        })
    });
    let roi = inspected_roi(&dir, CORD);
    let repairs = roi["repairs"].to_string();
    assert!(
        repairs.contains("exact duplicate contour removed on z ="),
        "{roi}"
    );
    let cord = |dir: &Path| {
        let (code, json) = json_of("dvh", dir);
        assert_eq!(code, 0);
        let s = json["structures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["number"] == CORD)
            .cloned()
            .unwrap();
        (s["volume_cc"].clone(), s["metrics"].clone())
    };
    assert_eq!(cord(&dir), cord(&original));
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn a_dose_type_other_than_physical_or_effective_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, dose_type) in [
        ("error", Some("ERROR")),
        ("missing", None),
        ("other", Some("BIOLOGICAL")),
    ] {
        let dir = copy_case(tmp.path(), "trial_pass", name);
        rewrite(&dir, "RD.dcm", |o| match dose_type {
            Some(t) => put_str(o, tags::DOSE_TYPE, VR::CS, t),
            None => {
                o.remove_element(tags::DOSE_TYPE);
            }
        });
        let (code, json, _) = check_json(&dir, &[]);
        assert_eq!(code, 3, "{name}: {json}");
        assert!(errors(&json).contains("DoseType (3004,0004)"), "{json}");
    }
    // EFFECTIVE is a dose.
    let dir = copy_case(tmp.path(), "trial_pass", "effective");
    rewrite(&dir, "RD.dcm", |o| {
        put_str(o, tags::DOSE_TYPE, VR::CS, "EFFECTIVE")
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 0, "{json}");
}

/// Sets the ReferencedSOPInstanceUID of the first item of `seq`.
fn reference(o: &mut InMemDicomObject, seq: dicom_core::Tag, uid: &str) {
    edit_items(o, seq, |items| {
        put_str(
            &mut items[0],
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            uid,
        )
    });
}

#[test]
fn a_plan_whose_structure_set_is_not_among_the_inputs_is_an_error_not_linked_by_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "other_ss");
    rewrite(&dir, "RP.dcm", |o| {
        reference(o, tags::REFERENCED_STRUCTURE_SET_SEQUENCE, "1.2.3.4.5")
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(
        errors(&json)
            .contains("plan references structure set 1.2.3.4.5, which is not among the inputs"),
        "{json}"
    );
    assert!(json["plan"]["structure_set_file"].is_null(), "{json}");
}

#[test]
fn a_dose_whose_plan_is_not_among_the_inputs_is_an_error_not_linked_by_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "other_plan");
    rewrite(&dir, "RD.dcm", |o| {
        reference(o, tags::REFERENCED_RT_PLAN_SEQUENCE, "1.2.3.4.6")
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(
        errors(&json).contains("dose references RT Plan 1.2.3.4.6, which is not among the inputs"),
        "{json}"
    );
}

#[test]
fn the_same_patient_id_with_another_name_is_a_mismatch_unless_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "names");
    rewrite(&dir, "RS.dcm", |o| {
        put_str(o, tags::PATIENT_NAME, VR::PN, "Someone^Else")
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(errors(&json).contains("different patient names"), "{json}");
    assert!(
        !json.to_string().contains("Someone"),
        "no patient data in the output"
    );
    let (code, json, _) = check_json(&dir, &["--accept-patient-mismatch"]);
    assert_eq!(code, 0, "{json}");
    assert!(
        json["overrides"]
            .to_string()
            .contains("patient mismatch accepted"),
        "{json}"
    );
    // The same name written with other separators, case and spaces is the same patient.
    let dir = copy_case(tmp.path(), "trial_pass", "same_name");
    let name = dicom_object::open_file(dir.join("RD.dcm"))
        .unwrap()
        .element(tags::PATIENT_NAME)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let respelled = format!(" {} ", name.replace('^', " ^ ").to_lowercase());
    rewrite(&dir, "RS.dcm", |o| {
        put_str(o, tags::PATIENT_NAME, VR::PN, &respelled)
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn negative_dose_values_are_refused_with_the_file_and_the_minimum() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "negative");
    rewrite(&dir, "RD.dcm", |o| {
        o.put(DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(1u16),
        ));
        let mut bytes = o
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec();
        let bits = o
            .element(tags::BITS_ALLOCATED)
            .unwrap()
            .to_int::<usize>()
            .unwrap();
        // The first sample -1 (all bits set, two's complement).
        bytes[..bits / 8].fill(0xFF);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(bytes),
        ));
    });
    let (code, json, err) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("RD.dcm") && err.contains("negative dose values (minimum -"),
        "{err}"
    );
}

#[test]
fn bits_stored_below_bits_allocated_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "bits");
    rewrite(&dir, "RD.dcm", |o| {
        let bits = o
            .element(tags::BITS_ALLOCATED)
            .unwrap()
            .to_int::<u16>()
            .unwrap();
        o.put(DataElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(bits - 4),
        ));
    });
    let (code, json, err) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("RD.dcm")
            && err.contains("BitsStored (0028,0101)")
            && err.contains("BitsAllocated (0028,0100)"),
        "{err}"
    );
}

/// Makes an unreadable file in a plan folder.
type MakeFile<'a> = dyn Fn(&Path) + 'a;

#[test]
fn empty_truncated_and_dangling_files_beside_the_plan_make_check_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let rp = std::fs::read(crate::common::fixture("trial_pass").join("RP.dcm")).unwrap();
    let cases: [(&str, &MakeFile<'_>); 4] = [
        ("empty", &|dir| {
            std::fs::write(dir.join("RS_new.dcm"), b"").unwrap()
        }),
        ("cut_in_preamble", &|dir| {
            std::fs::write(dir.join("RS_new.dcm"), &rp[..100]).unwrap()
        }),
        ("cut_after_preamble", &|dir| {
            std::fs::write(dir.join("RS_new"), &rp[..140]).unwrap()
        }),
        ("dangling", &|dir| {
            std::os::unix::fs::symlink(dir.join("gone.dcm"), dir.join("RS_new.dcm")).unwrap()
        }),
    ];
    for (name, make) in cases {
        let dir = copy_case(tmp.path(), "trial_pass", name);
        make(&dir);
        let (code, json, err) = check_json(&dir, &[]);
        assert_eq!(code, 3, "{name}: {json}");
        assert!(errors(&json).contains("unreadable input"), "{name}: {json}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains("RS_new"), "{name}: {err}");
    }
}

#[test]
fn a_dose_without_its_plan_is_paired_with_its_structures_for_a_dvh_but_never_for_a_check() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "no_plan");
    std::fs::remove_file(dir.join("RP.dcm")).unwrap();
    let (code, dvh) = json_of("dvh", &dir);
    assert_eq!(code, 0, "{dvh}");
    assert!(
        dvh["warnings"]
            .to_string()
            .contains("paired with the only structure set"),
        "{dvh}"
    );
    let (code, check) = json_of("check", &dir);
    assert_eq!(code, 3, "{check}");
    assert!(errors(&check).contains("not among the inputs"), "{check}");
}
