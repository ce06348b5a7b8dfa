//! `sbrt-verify check` on the trial phantoms and on variants that must fail or be refused.

use crate::common::{check_json, fixture, put_str, run, write_variant, Edits};
use dicom_core::VR;
use dicom_dictionary_std::tags;

fn failing_mandatory(json: &serde_json::Value) -> Vec<String> {
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "FAIL" && r["level"] == "mandatory")
        .map(|r| {
            format!(
                "{} {}",
                r["structure"].as_str().unwrap(),
                r["constraint"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn trial_fixtures_get_their_expected_verdicts() {
    for case in [
        "trial_pass",
        "trial_cord_overdose",
        "trial_underdosed",
        "trial_outside_grid",
    ] {
        let dir = fixture(case);
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let (code, json, err) = check_json(&dir, &[]);
        let verdict = expected["expected_verdict"].as_str().unwrap();
        let want_code = match verdict {
            "PASS" => 0,
            "FAIL" => 1,
            _ => 3,
        };
        assert_eq!(code, want_code, "{case}: {err} {json}");
        assert_eq!(json["verdict"], verdict, "{case}");
        assert_eq!(json["exit_code"], want_code);
        // Exactly the expected mandatory failures, in report order: none missing, none more.
        let failing = failing_mandatory(&json);
        let want: Vec<&str> = expected["expected_failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(failing, want, "{case}: failing mandatory constraints");
        // The JSON contract's fields.
        assert_eq!(json["schema_version"], "2");
        for key in [
            "plan",
            "results",
            "not_present",
            "warnings",
            "errors",
            "failures",
        ] {
            assert!(json.get(key).is_some(), "{case}: no {key}");
        }
        for r in json["results"].as_array().unwrap() {
            for key in [
                "structure",
                "constraint",
                "value",
                "limit",
                "margin",
                "status",
                "level",
                "source",
            ] {
                assert!(r.get(key).is_some(), "{case}: result without {key}");
            }
            assert!(!r["source"].as_str().unwrap().is_empty());
        }
    }
}

#[test]
fn target_partly_outside_the_grid_is_an_error_naming_the_target() {
    let (code, json, _) = check_json(&fixture("trial_outside_grid"), &[]);
    assert_eq!(code, 3);
    let errors = json["errors"].to_string();
    assert!(errors.contains("outside the dose grid"), "{errors}");
    assert!(errors.contains("PTV"), "{errors}");
}

#[test]
fn wrong_number_of_fractions_fails_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |c| c.fractions = 3,
        Edits::default(),
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 1, "{json}");
    assert!(
        json["failures"].to_string().contains("3 fractions"),
        "{json}"
    );
}

#[test]
fn wrong_prescribed_dose_fails_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |c| c.prescriptions[0].total_gy = 25.0,
        Edits::default(),
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 1, "{json}");
    assert!(json["failures"].to_string().contains("25 Gy"), "{json}");
}

#[test]
fn fraction_dose_is_scaled_by_the_number_of_fractions() {
    let tmp = tempfile::tempdir().unwrap();
    let per_fraction = |obj: &mut dicom_object::InMemDicomObject| {
        let scaling = obj
            .element(tags::DOSE_GRID_SCALING)
            .unwrap()
            .to_float64()
            .unwrap();
        put_str(obj, tags::DOSE_SUMMATION_TYPE, VR::CS, "FRACTION");
        put_str(
            obj,
            tags::DOSE_GRID_SCALING,
            VR::DS,
            &format!("{:e}", scaling / 5.0),
        );
    };
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |_| {},
        Edits {
            dose: Some(&per_fraction),
            ..Default::default()
        },
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["plan"]["dose_scale_factor"], 5.0);
    assert!(json["warnings"].to_string().contains("multiplied by 5"));
    // Same cord value as the plan dose, to rounding.
    let (_, pass, _) = check_json(&fixture("trial_pass"), &[]);
    let cord = |j: &serde_json::Value| {
        j["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["structure"] == "SpinalCord")
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert!((cord(&json) - cord(&pass)).abs() < 1e-3);
}

#[test]
fn beam_dose_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let beam = |obj: &mut dicom_object::InMemDicomObject| {
        put_str(obj, tags::DOSE_SUMMATION_TYPE, VR::CS, "BEAM");
    };
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |_| {},
        Edits {
            dose: Some(&beam),
            ..Default::default()
        },
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(json["errors"].to_string().contains("BEAM"));
}

#[test]
fn frame_of_reference_mismatch_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let other_frame = |obj: &mut dicom_object::InMemDicomObject| {
        put_str(obj, tags::FRAME_OF_REFERENCE_UID, VR::UI, "2.25.1234");
    };
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |_| {},
        Edits {
            dose: Some(&other_frame),
            ..Default::default()
        },
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(json["errors"].to_string().contains("frame of reference"));
    // inspect says so too, with exit 3.
    let (code, out, _) = run(&["inspect".as_ref(), dir.as_os_str()]);
    assert_eq!(code, 3);
    assert!(out.contains("frame of reference mismatch"), "{out}");
}

#[test]
fn relative_dose_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let relative = |obj: &mut dicom_object::InMemDicomObject| {
        put_str(obj, tags::DOSE_UNITS, VR::CS, "RELATIVE");
    };
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |_| {},
        Edits {
            dose: Some(&relative),
            ..Default::default()
        },
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3);
    assert!(json["errors"].to_string().contains("RELATIVE"));
}

#[test]
fn missing_targets_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |c| {
            for s in &mut c.structures {
                if s.name == "PTV" {
                    s.name = "Target A";
                } else if s.name == "PGTV" {
                    s.name = "Target B";
                }
            }
        },
        Edits::default(),
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{json}");
    assert!(json["errors"].to_string().contains("no target found"));
    // Mapping the names makes it evaluable again.
    let (code, json, _) = check_json(&dir, &["--map", "Target A=PTV", "--map", "Target B=PGTV"]);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn organ_aliases_match_and_two_candidates_ask_for_a_mapping() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_variant(
        tmp.path(),
        "trial_cord_overdose",
        |c| {
            for s in &mut c.structures {
                if s.name == "SpinalCord" {
                    s.name = "Spinal Cord";
                }
            }
        },
        Edits::default(),
    );
    let (code, json, _) = check_json(&dir, &[]);
    assert_eq!(code, 1, "alias must still find the overdosed cord: {json}");
    assert!(failing_mandatory(&json)
        .iter()
        .any(|f| f.starts_with("SpinalCord ")));

    let tmp2 = tempfile::tempdir().unwrap();
    let dir = write_variant(
        tmp2.path(),
        "trial_pass",
        |c| {
            for s in &mut c.structures {
                if s.name == "SpinalCord" {
                    s.name = "Spinal Cord";
                } else if s.name == "BODY" {
                    s.name = "CORD";
                }
            }
        },
        Edits::default(),
    );
    let (code, _, err) = check_json(&dir, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--map"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_mapping_to_a_missing_roi_or_a_bad_protocol_is_a_usage_error() {
    let (code, _, err) = check_json(&fixture("trial_pass"), &["--map", "Nope=SpinalCord"]);
    assert_eq!(code, 2, "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[protocol]\nname = \"x\"\nversion = \"1\"\n\n[[constraint]]\nlimt = 3\n",
    )
    .unwrap();
    let (code, _, err) = check_json(
        &fixture("trial_pass"),
        &["--protocol", bad.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.toml:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, _) = check_json(&fixture("trial_pass"), &["--protocol", "no-such-protocol"]);
    assert_eq!(code, 2);
}

#[test]
fn patient_identifiers_are_masked_unless_asked() {
    let (_, masked, _) = check_json(&fixture("trial_pass"), &[]);
    let text = masked.to_string();
    assert!(!text.contains("PHANTOM^"), "{text}");
    assert!(!text.contains("PH-trial"), "{text}");
    let (_, shown, _) = check_json(&fixture("trial_pass"), &["--show-phi"]);
    assert!(shown["plan"]["patient"]["id"]
        .as_str()
        .unwrap()
        .starts_with("PH-"));
}

#[test]
fn isodose_indices_agree_with_a_dense_sampling_of_the_external_contour() {
    // CI_RTOG = PIV / TV, PIV = volume of BODY receiving >= 30 Gy. The check samples the
    // isodose region finely; a dense DVH of the whole BODY is the reference.
    let dir = fixture("trial_cord_overdose");
    let (_, json, _) = check_json(&dir, &[]);
    let ci = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["constraint"].as_str().unwrap().starts_with("CI_RTOG"))
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    let (code, out, err) = run(&[
        "dvh".as_ref(),
        dir.as_os_str(),
        "--structure".as_ref(),
        "BODY".as_ref(),
        "--structure".as_ref(),
        "PTV".as_ref(),
        "--metric".as_ref(),
        "V30Gy".as_ref(),
        "--min-samples".as_ref(),
        "20000000".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let piv = v["structures"][0]["metrics"]["V30Gy_cc"].as_f64().unwrap();
    let tv = v["structures"][1]["volume_cc"].as_f64().unwrap();
    assert!(
        (ci - piv / tv).abs() < 0.005 * ci,
        "CI_RTOG {ci} vs dense {}",
        piv / tv
    );
}

/// A protocol with the trial's targets and one cord limit, and no constraint on the targets.
const NO_TARGET_CONSTRAINTS: &str = r#"
[protocol]
name = "cord only"
version = "1"
description = "targets without constraints"

[[prescription]]
role = "PTV"
total_gy = 30.0
fractions = 5
names = ["PTV"]

[[prescription]]
role = "PGTV"
total_gy = 35.0
fractions = 5
names = ["PGTV"]

[[structure]]
name = "SpinalCord"
aliases = []
alpha_beta_gy = 2.0

[[constraint]]
structure = "SpinalCord"
query = "D0.035cc"
comparator = "<"
limit = "25.3Gy"
level = "mandatory"
source = "test"
"#;

#[test]
fn a_target_that_cannot_be_evaluated_is_an_error_even_without_target_constraints() {
    let tmp = tempfile::tempdir().unwrap();
    let protocol = tmp.path().join("cord_only.toml");
    std::fs::write(&protocol, NO_TARGET_CONSTRAINTS).unwrap();
    let protocol = protocol.to_str().unwrap();
    // The intact plan passes this protocol...
    let (code, json, _) = check_json(&fixture("trial_pass"), &["--protocol", protocol]);
    assert_eq!(code, 0, "{json}");
    // ...but not once a PTV contour is broken (2 points): the target cannot be evaluated.
    let dir = write_variant(
        tmp.path(),
        "trial_pass",
        |c| {
            let ptv = c.structures.iter_mut().find(|s| s.name == "PTV").unwrap();
            ptv.planes[3].polygons[0].truncate(2);
        },
        Edits::default(),
    );
    let (code, json, _) = check_json(&dir, &["--protocol", protocol]);
    assert_eq!(code, 3, "{json}");
    assert!(
        json["errors"]
            .to_string()
            .contains("target PTV (PTV) cannot be evaluated"),
        "{json}"
    );
}

#[test]
fn a_protocol_whose_targets_differ_in_fractions_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let protocol = tmp.path().join("mixed.toml");
    let text = NO_TARGET_CONSTRAINTS.replacen(
        "fractions = 5\nnames = [\"PGTV\"]",
        "fractions = 3\nnames = [\"PGTV\"]",
        1,
    );
    assert_ne!(text, NO_TARGET_CONSTRAINTS);
    std::fs::write(&protocol, text).unwrap();
    let (code, _, err) = check_json(
        &fixture("trial_pass"),
        &["--protocol", protocol.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("mixed.toml:"), "{err}");
    assert!(err.contains("share a number of fractions"), "{err}");
}
