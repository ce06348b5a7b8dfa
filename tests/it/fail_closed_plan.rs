//! Fail-closed rules about what the plan says and where outputs go: each test is one row of
//! the README's fail-closed table, built as a variant of `fixtures/trial_pass`.

use std::ffi::OsStr;
use std::path::Path;

use crate::common::{check_json, copy_case, edit_items, fixture, rewrite, run};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

fn text(json: &serde_json::Value, field: &str) -> String {
    json[field].to_string()
}

/// The ROI number of the ROI named `name` in a structure set data set.
fn roi_number(o: &InMemDicomObject, name: &str) -> i64 {
    let roi = o
        .element(tags::STRUCTURE_SET_ROI_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .iter()
        .find(|r| r.element(tags::ROI_NAME).unwrap().to_str().unwrap().trim() == name)
        .unwrap()
        .element(tags::ROI_NUMBER)
        .unwrap()
        .to_int::<i64>()
        .unwrap();
    roi
}

/// Sets the ReferencedROINumber of the plan's dose reference prescribing `rx_gy`.
fn prescribe_to_roi(dir: &Path, rx_gy: f64, roi: i64) {
    rewrite(dir, "RP.dcm", |o| {
        edit_items(o, tags::DOSE_REFERENCE_SEQUENCE, |refs| {
            let r = refs
                .iter_mut()
                .find(|r| {
                    r.element(tags::TARGET_PRESCRIPTION_DOSE)
                        .ok()
                        .and_then(|e| e.to_float64().ok())
                        .is_some_and(|d| (d - rx_gy).abs() < 1e-6)
                })
                .expect("a dose reference with this prescription");
            r.put(DataElement::new(
                tags::REFERENCED_ROI_NUMBER,
                VR::IS,
                PrimitiveValue::from(roi.to_string()),
            ));
        });
    });
}

/// An integer attribute (IS) of a sequence item.
fn number_of(item: &InMemDicomObject, tag: dicom_core::Tag) -> i64 {
    item.element(tag).unwrap().to_int::<i64>().unwrap()
}

/// The item whose `tag` is `number`.
fn item_of(items: &[InMemDicomObject], tag: dicom_core::Tag, number: i64) -> &InMemDicomObject {
    items.iter().find(|i| number_of(i, tag) == number).unwrap()
}

fn put_is(item: &mut InMemDicomObject, tag: dicom_core::Tag, number: i64) {
    item.put(DataElement::new(
        tag,
        VR::IS,
        PrimitiveValue::from(number.to_string()),
    ));
}

#[test]
fn a_prescription_to_an_organ_is_a_failure_and_to_a_missing_roi_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "to_cord");
    let rs = dicom_object::open_file(dir.join("RS.dcm")).unwrap();
    let cord = roi_number(&rs, "SpinalCord");
    let pgtv = roi_number(&rs, "PGTV");
    prescribe_to_roi(&dir, 35.0, cord);
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 1, "{json}");
    let failures = text(&json, "failures");
    assert!(
        failures.contains("35 Gy to SpinalCord") && failures.contains("which is not the PGTV"),
        "{failures}"
    );

    let dir = copy_case(tmp.path(), "trial_pass", "to_nothing");
    prescribe_to_roi(&dir, 35.0, 999);
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(text(&json, "errors").contains("ROI number 999"), "{json}");

    // Naming the right ROI changes nothing.
    let dir = copy_case(tmp.path(), "trial_pass", "to_pgtv");
    prescribe_to_roi(&dir, 35.0, pgtv);
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn a_second_fraction_group_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "two_groups");
    rewrite(&dir, "RP.dcm", |o| {
        edit_items(o, tags::FRACTION_GROUP_SEQUENCE, |groups| {
            let mut second = groups[0].clone();
            second.put(DataElement::new(
                tags::FRACTION_GROUP_NUMBER,
                VR::IS,
                PrimitiveValue::from("2"),
            ));
            groups.push(second);
        });
    });
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(
        text(&json, "errors").contains("2 fraction groups"),
        "{json}"
    );
}

#[test]
fn a_second_candidate_beside_an_exact_name_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    for second in ["spinal cord", "Cord"] {
        let dir = copy_case(tmp.path(), "trial_cord_overdose", second);
        // A copy of the cord under the second name, as ROI 900.
        rewrite(&dir, "RS.dcm", |o| {
            let cord = roi_number(o, "SpinalCord");
            edit_items(o, tags::STRUCTURE_SET_ROI_SEQUENCE, |rois| {
                let mut r = item_of(rois, tags::ROI_NUMBER, cord).clone();
                put_is(&mut r, tags::ROI_NUMBER, 900);
                r.put(DataElement::new(
                    tags::ROI_NAME,
                    VR::LO,
                    PrimitiveValue::from(second),
                ));
                rois.push(r);
            });
            edit_items(o, tags::ROI_CONTOUR_SEQUENCE, |items| {
                let mut c = item_of(items, tags::REFERENCED_ROI_NUMBER, cord).clone();
                put_is(&mut c, tags::REFERENCED_ROI_NUMBER, 900);
                items.push(c);
            });
        });
        let (code, out, err) = run(&["check".as_ref(), dir.as_os_str()]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains("--map") && err.contains(second), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn check_prints_the_warnings_of_the_objects_and_the_structures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "warned");
    rewrite(&dir, "RP.dcm", |o| {
        o.remove_element(tags::RT_PLAN_LABEL);
    });
    let (_, inspect_out, _) = run(&[
        "inspect".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let inspect: serde_json::Value = serde_json::from_str(&inspect_out).unwrap();
    let (_, json, _) = check_json(&dir, &[]);
    let checked = json["warnings"].as_array().unwrap();
    for w in inspect["plan_sets"][0]["warnings"].as_array().unwrap() {
        assert!(checked.contains(w), "{w} missing from check: {checked:?}");
    }
}

#[test]
fn outputs_never_replace_dicom_files_nor_go_into_input_folders_unasked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "plan");
    let before: Vec<Vec<u8>> = ["RD.dcm", "RS.dcm", "RP.dcm"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    let rd = dir.join("RD.dcm");
    let rs = dir.join("RS.dcm");
    let rp = dir.join("RP.dcm");
    let npy = dir.join("dose.npy");
    let svg = dir.join("dvh.svg");
    let elsewhere = tmp.path().join("dose.npy");
    let export = |out: &Path, extra: &[&str]| {
        let mut args: Vec<&OsStr> = vec!["export-dose".as_ref(), rd.as_os_str()];
        args.extend(["--out".as_ref(), out.as_os_str()]);
        args.extend(extra.iter().map(OsStr::new));
        run(&args)
    };
    let (code, _, err) = export(&rs, &["--output-in-input"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("DICOM"), "{err}");
    let (code, _, err) = export(&npy, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--output-in-input"), "{err}");
    assert_eq!(export(&npy, &["--output-in-input"]).0, 0);
    assert_eq!(export(&elsewhere, &[]).0, 0);
    let plot = |out: &Path, extra: &[&str]| {
        let mut args: Vec<&OsStr> = vec!["dvh".as_ref(), dir.as_os_str()];
        args.extend(["--plot".as_ref(), out.as_os_str()]);
        args.extend(extra.iter().map(OsStr::new));
        run(&args)
    };
    let (code, _, err) = plot(&rp, &["--output-in-input"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(plot(&svg, &[]).0, 2);
    assert_eq!(plot(&svg, &["--output-in-input"]).0, 0);
    let after: Vec<Vec<u8>> = ["RD.dcm", "RS.dcm", "RP.dcm"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    assert!(before == after, "an input file changed");
}

#[test]
fn a_report_through_a_dangling_link_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("report");
    std::os::unix::fs::symlink(tmp.path().join("nowhere"), &link).unwrap();
    let (code, _, err) = run(&[
        "check".as_ref(),
        fixture("trial_pass").as_os_str(),
        "--report".as_ref(),
        link.as_os_str(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
}

#[test]
fn two_runs_writing_one_report_folder_leave_one_runs_files() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let bin = env!("CARGO_BIN_EXE_sbrt-verify");
    for _ in 0..3 {
        let spawn = |case: &str| {
            std::process::Command::new(bin)
                .arg("check")
                .arg(fixture(case))
                .arg("--report")
                .arg(&report)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let mut a = spawn("trial_pass");
        let mut b = spawn("trial_cord_overdose");
        a.wait().unwrap();
        b.wait().unwrap();
        let result: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report.join("result.json")).unwrap()).unwrap();
        let verdict = result["verdict"].as_str().unwrap();
        let html = std::fs::read_to_string(report.join("report.html")).unwrap();
        let csv = std::fs::read_to_string(report.join("dvh.csv")).unwrap();
        let plan = result["plan"]["dose_file"].as_str().unwrap();
        let case = if plan.contains("trial_pass") {
            "trial_pass"
        } else {
            "trial_cord_overdose"
        };
        assert_eq!(verdict, if case == "trial_pass" { "PASS" } else { "FAIL" });
        assert!(html.contains(verdict), "report.html of another run");
        assert!(html.contains(case), "report.html of another run");
        let own_csv = {
            let out = tmp.path().join(format!("own-{case}"));
            let (code, _, err) = run(&[
                "check".as_ref(),
                fixture(case).as_os_str(),
                "--report".as_ref(),
                out.as_os_str(),
            ]);
            assert!(code <= 1, "{err}");
            std::fs::read_to_string(out.join("dvh.csv")).unwrap()
        };
        assert!(csv == own_csv, "dvh.csv of another run");
    }
}

#[test]
fn control_characters_in_file_names_are_escaped_in_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "plan");
    let name = "RD\n\x1b[2Jevil.dcm";
    std::fs::rename(dir.join("RD.dcm"), dir.join(name)).unwrap();
    let (code, out, err) = run(&["check".as_ref(), dir.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\x1b') && !err.contains('\x1b'), "{out}");
    assert!(!out.contains("RD\n"), "a file name split a line: {out}");
    let (_, out, _) = run(&["inspect".as_ref(), dir.as_os_str()]);
    assert!(!out.contains('\x1b') && !out.contains("RD\n"), "{out}");
}

#[test]
fn a_repaired_structure_and_the_dose_type_are_in_the_check_result() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "duplicated");
    rewrite(&dir, "RS.dcm", |o| {
        let cord = roi_number(o, "SpinalCord");
        edit_items(o, tags::ROI_CONTOUR_SEQUENCE, |items| {
            let at = items
                .iter()
                .position(|c| number_of(c, tags::REFERENCED_ROI_NUMBER) == cord)
                .unwrap();
            let item = &mut items[at];
            edit_items(item, tags::CONTOUR_SEQUENCE, |contours| {
                let twin = contours[0].clone();
                contours.push(twin);
            });
        });
    });
    let (code, json, _) = check_json(&dir, &[]);
    let (_, base, _) = check_json(&fixture("trial_pass"), &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["results"], base["results"]);
    let warnings = text(&json, "warnings");
    assert!(
        warnings.contains("SpinalCord: repaired: exact duplicate contour removed"),
        "{warnings}"
    );
    assert_eq!(json["plan"]["dose_type"], "PHYSICAL");
}
