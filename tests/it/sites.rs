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

/// The built-in protocol's text, to write variants of it.
const BUILTIN: &str = include_str!("../../src/protocol/builtin/nct06863584.toml");

/// The rib site's hosts line of the built-in protocol.
const RIB_HOSTS: &str = "hosts = [\"Rib\", \"Skin\"]\n";

/// The result row of `structure` with query `query` (e.g. `V35Gy`).
fn row<'a>(json: &'a serde_json::Value, structure: &str, query: &str) -> &'a serde_json::Value {
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["structure"] == structure
                && r["constraint"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(&format!("{query} ")))
        })
        .unwrap_or_else(|| panic!("no {structure} {query} row: {json}"))
}

/// A rib lesion with a 35 Gy PGTV inside the rib passes at the rib site, where the rib is a
/// host organ and its limits read the rib outside the targets; the whole rib fails TG-101's
/// V35Gy < 1 cc, at a site without hosts and with a protocol whose rib site has none.
#[test]
fn a_rib_lesion_passes_on_the_rib_outside_the_targets_and_fails_on_the_whole_rib() {
    let dir = crate::common::fixture("rib_lesion");
    let (code, json, err) = check_json(&dir, &[]);
    assert_eq!(
        (code, json["site"].as_str()),
        (0, Some("rib")),
        "{err} {json}"
    );
    let v35 = row(&json, "Rib", "V35Gy");
    assert_eq!(v35["roi"], "Rib-PTV-PGTV", "{v35}");
    assert_eq!(v35["status"], "PASS", "{v35}");
    assert!(v35["value"].as_f64().unwrap() < 0.1, "{v35}");
    assert_eq!(row(&json, "Rib", "D0.035cc")["roi"], "Rib-PTV-PGTV");
    // The lungs are no host: their rows read the whole ROI.
    assert_eq!(row(&json, "Lungs", "DC1000cc")["roi"], "Lungs");
    // The check's DVH of the rib outside the targets: the rib's volume less the PTV's (the
    // PTV lies inside the rib, the PGTV inside the PTV), from the slab model's exact areas.
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let volume = |name: &str| {
        expected["structures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["reference"]["half"]["volume_cc"]
            .as_f64()
            .unwrap()
    };
    let found = sbrt_verify::dicom::discover(std::slice::from_ref(&dir)).unwrap();
    let protocol = sbrt_verify::protocol::builtin("nct06863584").unwrap();
    let out =
        sbrt_verify::check::check(&found.plan_sets[0], &protocol, &Default::default()).unwrap();
    let outside = out.dvhs.iter().find(|d| d.name == "Rib-PTV-PGTV").unwrap();
    let want = volume("Rib") - volume("PTV");
    assert!(
        (outside.volume_cc - want).abs() < 1e-9,
        "{} {want}",
        outside.volume_cc
    );
    assert!(!out.dvhs.iter().any(|d| d.name == "Rib"));

    let whole_rib_fails = |json: &serde_json::Value| {
        let v35 = row(json, "Rib", "V35Gy");
        assert_eq!(v35["roi"], "Rib", "{v35}");
        assert_eq!(v35["status"], "FAIL", "{v35}");
        assert!(v35["value"].as_f64().unwrap() > 3.0, "{v35}");
    };
    let (code, json, err) = check_json(&dir, &["--site", "other"]);
    assert_eq!(code, 1, "{err} {json}");
    whole_rib_fails(&json);

    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(BUILTIN.matches(RIB_HOSTS).count(), 1);
    let no_hosts = tmp.path().join("no_hosts.toml");
    std::fs::write(&no_hosts, BUILTIN.replace(RIB_HOSTS, "")).unwrap();
    let (code, json, err) = check_json(&dir, &["--protocol", no_hosts.to_str().unwrap()]);
    assert_eq!(
        (code, json["site"].as_str()),
        (1, Some("rib")),
        "{err} {json}"
    );
    whole_rib_fails(&json);
}

/// A host must be an organ of the protocol: an unknown name (or a target role) is refused
/// when the protocol is read, in one line naming the file and line.
#[test]
fn a_host_that_is_no_structure_is_refused_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let line = BUILTIN[..BUILTIN.find(RIB_HOSTS).unwrap()].lines().count() + 1;
    for (host, said) in [
        ("Ribs_All", "host 'Ribs_All' is no [[structure]] name"),
        ("PGTV", "host 'PGTV' is no [[structure]] name"),
        ("Rib\", \"Rib", "host 'Rib' is listed twice"),
    ] {
        let path = tmp.path().join("bad_host.toml");
        let text = BUILTIN.replace(RIB_HOSTS, &format!("hosts = [\"{host}\"]\n"));
        std::fs::write(&path, text).unwrap();
        let (code, out, err) = check_json(
            &crate::common::fixture("rib_lesion"),
            &["--protocol", path.to_str().unwrap()],
        );
        assert_eq!(code, 2, "{host}: {err}");
        assert_eq!(out, serde_json::Value::Null);
        let msg = err.trim();
        assert_eq!(msg.lines().count(), 1, "{msg}");
        assert!(
            msg.contains(&format!("bad_host.toml:{line}:")) && msg.contains(said),
            "{host}: {msg}"
        );
    }
}

/// The rib minus the targets measures the rib's volume less the overlap, exactly on the
/// slab model: a box-shaped PTV half outside the rib, its planes offset from the rib's by
/// half a plane (so that the rib's slabs are cut in z), and a PGTV inside the PTV.
#[test]
fn a_host_minus_its_targets_keeps_the_volume_outside_them() {
    use sbrt_verify::phantom::shapes::Plane;
    let tmp = tempfile::tempdir().unwrap();
    let boxes = |x: [f64; 2], y: [f64; 2], z: &[f64]| -> Vec<Plane> {
        z.iter()
            .map(|&z| Plane {
                z,
                polygons: vec![vec![[x[0], y[0]], [x[1], y[0]], [x[1], y[1]], [x[0], y[1]]]],
            })
            .collect()
    };
    let dir = crate::common::write_variant(
        tmp.path(),
        "rib_lesion",
        |case| {
            // PTV: x 30..50 (the rib ends at x = 40), y 60..70, planes z = -3.75..3.75
            // every 2.5 mm: slab -5..5 mm. Overlap with the rib 10 x 10 x 10 mm = 1 cc.
            case.structures[0].planes =
                boxes([30.0, 50.0], [60.0, 70.0], &[-3.75, -1.25, 1.25, 3.75]);
            // PGTV inside the PTV, also astride the rib's end.
            case.structures[1].planes = boxes([35.0, 45.0], [62.0, 68.0], &[-1.25, 1.25]);
        },
        Default::default(),
    );
    let found = sbrt_verify::dicom::discover(&[dir]).unwrap();
    let set = &found.plan_sets[0];
    let ss = set.structures.as_ref().unwrap();
    let roi = |name: &str| ss.rois.iter().find(|r| r.name == name).unwrap();
    let (rib, ptv, pgtv) = (roi("Rib"), roi("PTV"), roi("PGTV"));
    let opts = sbrt_verify::raster::SamplingOptions::default();
    let dose = set.dose.as_ref().unwrap();
    let minus = [ptv, pgtv];
    let dvhs = sbrt_verify::dvh::compute_subjects(
        dose,
        &[
            sbrt_verify::dvh::Subject {
                roi: rib,
                minus: &[],
            },
            sbrt_verify::dvh::Subject {
                roi: rib,
                minus: &minus,
            },
        ],
        &opts,
    );
    // The rib: 80 x 30 mm on 13 planes 2.5 mm apart with half caps, 32.5 mm: 78 cc.
    let (whole, outside) = (&dvhs[0], &dvhs[1]);
    assert_eq!(outside.name, "Rib-PTV-PGTV");
    assert!(
        (whole.volume_cc - 78.0).abs() < 1e-12,
        "{}",
        whole.volume_cc
    );
    assert!(
        (outside.volume_cc - 77.0).abs() < 1e-12,
        "{}",
        outside.volume_cc
    );
    assert!(outside.error.is_none() && outside.complete());
    // The samples hold the same volume (at f32 precision).
    let sampled = outside.dvh.volume_cc();
    assert!((sampled - 77.0).abs() < 77.0 * 1e-6, "{sampled}");
}
