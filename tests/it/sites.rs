//! Organs the tool must not miss: the cord of `fixtures/trial_cord_overdose` under the names
//! of clinical practice and of Chinese planning systems (decoded from UTF-8 and GB18030)
//! still fails the plan on its dose.

use std::path::{Path, PathBuf};

use crate::common::{check_json, copy_case, edit_items, rewrite};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};

/// A copy of `case` whose `SpinalCord` ROI is called `roi_name`, written in `charset`
/// (the bytes of the name encoded by that character set, as a planning system writes them).
fn renamed_cord(tmp: &Path, case: &str, roi_name: &str, charset: &str) -> PathBuf {
    let dir = copy_case(tmp, case, &format!("cord_{}", roi_name.len()));
    let codec = SpecificCharacterSet::from_code(charset).unwrap();
    let bytes = codec.encode(roi_name).unwrap();
    rewrite(&dir, "RS.dcm", |o| {
        o.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from(charset),
        ));
        edit_items(o, tags::STRUCTURE_SET_ROI_SEQUENCE, |rois| {
            let cord = rois
                .iter_mut()
                .find(|r| {
                    r.element(tags::ROI_NAME).unwrap().to_str().unwrap().trim() == "SpinalCord"
                })
                .expect("the case has a SpinalCord ROI");
            cord.put(DataElement::new(
                tags::ROI_NAME,
                VR::LO,
                PrimitiveValue::U8(bytes.into()),
            ));
        });
    });
    dir
}

/// The ROI names `inspect` reads from a case folder.
fn roi_names(dir: &Path) -> Vec<String> {
    let (code, out, err) = crate::common::run(&[
        "inspect".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut names = Vec::new();
    collect_roi_names(&json, &mut names);
    names
}

fn collect_roi_names(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let (Some(serde_json::Value::String(n)), Some(_)) = (m.get("name"), m.get("number"))
            {
                out.push(n.clone());
            }
            m.values().for_each(|x| collect_roi_names(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_roi_names(x, out)),
        _ => {}
    }
}

#[test]
fn chinese_roi_names_are_decoded_from_utf8_and_gb18030() {
    let tmp = tempfile::tempdir().unwrap();
    for charset in ["ISO_IR 192", "GB18030"] {
        let dir = renamed_cord(tmp.path(), "trial_cord_overdose", "左侧脊髓", charset);
        let names = roi_names(&dir);
        assert!(
            names.iter().any(|n| n == "左侧脊髓"),
            "{charset}: {names:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// The cord overdose is found whatever clinical or Chinese name the cord carries.
#[test]
fn the_cord_overdose_fails_under_its_other_names() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, charset) in [
        ("Myelon", "ISO_IR 192"),
        ("SC", "ISO_IR 192"),
        ("Spinal_Cord", "ISO_IR 192"),
        ("脊髓", "ISO_IR 192"),
        ("脊髓", "GB18030"),
    ] {
        let dir = renamed_cord(tmp.path(), "trial_cord_overdose", name, charset);
        let (code, json, err) = check_json(&dir, &[]);
        assert_eq!(code, 1, "{name} ({charset}): {err} {json}");
        let cord_fails =
            json["results"].as_array().unwrap().iter().any(|r| {
                r["structure"] == "SpinalCord" && r["roi"] == name && r["status"] == "FAIL"
            });
        assert!(cord_fails, "{name} ({charset}): {}", json["results"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// The errors of a check, as one text.
fn errors(json: &serde_json::Value) -> String {
    json["errors"].to_string()
}

/// A cord nothing matches, or no cord at all, cannot be judged at the spine site: ERROR
/// with the names tried and the `--map` to write; the mapping then finds the overdose.
#[test]
fn an_unknown_or_missing_cord_is_an_error_with_the_map_to_write() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["Medulla", "SpinalCanal", "Rückenmark"] {
        let dir = renamed_cord(tmp.path(), "trial_cord_overdose", name, "ISO_IR 192");
        let (code, json, err) = check_json(&dir, &[]);
        assert_eq!(code, 3, "{name}: {err}");
        let e = errors(&json);
        assert!(e.contains("site spine requires SpinalCord"), "{name}: {e}");
        assert!(e.contains("Myelon") && e.contains("脊髓"), "{name}: {e}");
        assert!(
            e.contains(&format!("'{name}'")),
            "{name}: the closest ROI: {e}"
        );
        assert!(
            e.contains("--map \\\"ROI NAME=SpinalCord\\\""),
            "{name}: {e}"
        );
        let map = format!("{name}=SpinalCord");
        let (code, json, err) = check_json(&dir, &["--map", &map]);
        assert_eq!(code, 1, "{name} mapped: {err} {json}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    let dir = copy_case(tmp.path(), "trial_cord_overdose", "no_cord");
    let cord = 0;
    let mut number = cord;
    rewrite(&dir, "RS.dcm", |o| {
        edit_items(o, tags::STRUCTURE_SET_ROI_SEQUENCE, |rois| {
            let i = rois
                .iter()
                .position(|r| {
                    r.element(tags::ROI_NAME).unwrap().to_str().unwrap().trim() == "SpinalCord"
                })
                .unwrap();
            number = rois[i]
                .element(tags::ROI_NUMBER)
                .unwrap()
                .to_int::<i64>()
                .unwrap();
            rois.remove(i);
        });
        for seq in [
            tags::ROI_CONTOUR_SEQUENCE,
            tags::RTROI_OBSERVATIONS_SEQUENCE,
        ] {
            edit_items(o, seq, |items| {
                items.retain(|r| {
                    r.element(tags::REFERENCED_ROI_NUMBER)
                        .unwrap()
                        .to_int::<i64>()
                        .unwrap()
                        != number
                })
            });
        }
    });
    assert_ne!(number, cord);
    let (code, json, err) = check_json(&dir, &[]);
    assert_eq!(code, 3, "no cord: {err} {json}");
    let e = errors(&json);
    assert!(e.contains("site spine requires SpinalCord"), "{e}");
    assert!(e.contains("--map"), "{e}");
}

/// The site comes from `--site`, else from the plan's Treatment Sites; a plan that names
/// none is an error listing the sites.
#[test]
fn the_site_comes_from_the_option_or_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, json, _) = check_json(&crate::common::fixture("trial_pass"), &[]);
    assert_eq!((code, json["site"].as_str()), (0, Some("spine")), "{json}");
    assert_eq!(json["unused_rois"], serde_json::json!(["BODY"]), "{json}");

    let dir = copy_case(tmp.path(), "trial_pass", "no_site");
    rewrite(&dir, "RP.dcm", |o| {
        o.remove_element(dicom_core::Tag(0x300A, 0x000B));
    });
    let (code, json, err) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{err}");
    let e = errors(&json);
    assert!(
        e.contains("--site") && e.contains("spine, lumbosacral, pelvis"),
        "{e}"
    );
    let (code, json, err) = check_json(&dir, &["--site", "C-spine"]);
    assert_eq!((code, json["site"].as_str()), (0, Some("spine")), "{err}");
    // At a site that requires no cord, the cord's limits still apply.
    let (code, json, err) = check_json(&dir, &["--site", "other"]);
    assert_eq!((code, json["site"].as_str()), (0, Some("other")), "{err}");
    let (code, _, err) = check_json(&dir, &["--site", "kneecap"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no such site") && err.contains("head_neck"),
        "{err}"
    );
}
