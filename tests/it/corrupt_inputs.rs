//! A corpus of corrupt inputs, generated from the fixtures: every one is refused with one
//! line naming the file and exit code 3, never a panic, never a PASS, in bounded memory.
//!
//! Files that cannot be read: `inspect FILE` exits 3 with one stderr line naming the file;
//! `check` on the case folder exits 3 with that same one line (the report, when a plan set
//! is left, says ERROR). Defects inside a file that reads (an ROI's contours) are reported
//! by `inspect` as the ROI's defects (exit 0: the file was read), and `check` does not pass.

use std::path::{Path, PathBuf};

use crate::common::{check_json, copy_case, edit_items, fixture, put_str, rewrite, run};
use dicom_core::header::Header;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use sbrt_verify::dicom::RtObject;

fn os(s: &Path) -> &std::ffi::OsStr {
    s.as_os_str()
}

/// A file that cannot be read: one line naming it from `inspect` and from `check`, exit 3.
fn assert_refused(case_dir: &Path, file: &str, what: &str) {
    let path = case_dir.join(file);
    let (code, out, err) = run(&["inspect".as_ref(), os(&path)]);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, 3, "inspect {}: {out}{err}", path.display());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(&*path.to_string_lossy()), "{err}");
    assert!(lines[0].contains(what), "expected '{what}': {err}");

    let (code, json, err) = check_json(case_dir, &[]);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, 3, "check {}: {json} {err}", path.display());
    assert_ne!(json["verdict"], "PASS");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(&*path.to_string_lossy()), "{err}");
}

/// A file that reads but cannot be evaluated: `check` says ERROR (exit 3) and why.
fn assert_check_error(case_dir: &Path, why: &str) {
    let (code, json, err) = check_json(case_dir, &[]);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, 3, "{json} {err}");
    assert_eq!(json["verdict"], "ERROR");
    let text = json.to_string();
    assert!(text.contains(why), "expected '{why}' in {text}");
}

fn variant(tmp: &Path, name: &str) -> PathBuf {
    copy_case(tmp, "trial_pass", name)
}

// ---------------------------------------------------------------- truncation

/// Every cut of a file either fails to read or (cut exactly between two top-level
/// elements) reads as the original's first elements, unchanged; never anything else.
fn sweep_truncations(file: &Path, dense_bytes: usize, step: usize) -> (usize, usize) {
    let bytes = std::fs::read(file).unwrap();
    let whole = sbrt_verify::dicom::read::from_bytes(&bytes, file)
        .unwrap()
        .unwrap();
    let offsets = (0..dense_bytes.min(bytes.len())).chain((dense_bytes..bytes.len()).step_by(step));
    let (mut refused, mut prefixes) = (0, 0);
    for cut in offsets {
        let part = &bytes[..cut];
        match sbrt_verify::dicom::read::from_bytes(part, file) {
            Err(e) => {
                assert!(!e.to_string().contains('\n'));
                refused += 1;
            }
            Ok(None) => refused += 1,
            Ok(Some(f)) => {
                for el in f.obj.iter() {
                    let orig = whole.obj.element(el.tag()).unwrap();
                    assert_eq!(el, orig, "cut at {cut}: element {} changed", el.tag());
                }
                assert!(f.obj.iter().count() < whole.obj.iter().count());
                prefixes += 1;
                // What reads of a cut dose / structure set never makes an RT object.
                let object = RtObject::from_bytes(part, file);
                if !file.ends_with("RP.dcm") {
                    assert!(
                        !matches!(
                            object,
                            Ok(Some(RtObject::Dose(_) | RtObject::Structures(_)))
                        ),
                        "cut at {cut} of {} reads",
                        file.display()
                    );
                }
            }
        }
    }
    (refused, prefixes)
}

#[test]
fn truncated_files_never_read_as_whole_objects() {
    for case in ["small_sphere_steep", "trial_pass"] {
        let dense = if case == "trial_pass" { 0 } else { 1024 };
        for f in ["RD.dcm", "RS.dcm", "RP.dcm"] {
            let (refused, _) = sweep_truncations(&fixture(case).join(f), dense, 997);
            assert!(refused > 0);
        }
    }
}

#[test]
fn truncated_files_are_refused_by_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    for (file, fractions) in [
        ("RD.dcm", [0.05, 0.3, 0.6, 0.999]),
        ("RS.dcm", [0.05, 0.3, 0.6, 0.999]),
        ("RP.dcm", [0.05, 0.3, 0.6, 0.9]),
    ] {
        for (i, frac) in fractions.iter().enumerate() {
            let dir = variant(tmp.path(), &format!("cut_{file}_{i}"));
            let bytes = std::fs::read(dir.join(file)).unwrap();
            let cut = (bytes.len() as f64 * frac) as usize;
            std::fs::write(dir.join(file), &bytes[..cut]).unwrap();
            assert_refused(&dir, file, "cannot parse DICOM");
        }
    }
}

// ---------------------------------------------------------------- bytes added or lost

/// Where the value of the first element with `tag` (explicit VR, short length) lies.
fn first_short_value(bytes: &[u8], tag: (u16, u16)) -> std::ops::Range<usize> {
    let mut key = tag.0.to_le_bytes().to_vec();
    key.extend_from_slice(&tag.1.to_le_bytes());
    let at = bytes.windows(4).position(|w| w == key).unwrap();
    let len = u16::from_le_bytes([bytes[at + 6], bytes[at + 7]]) as usize;
    at + 8..at + 8 + len
}

#[test]
fn bytes_after_the_last_whole_element_are_refused() {
    // A file cut inside its last element's header (1 to 7 of its 8 bytes left) ends with
    // bytes too few for a header; with fewer than 4 (a part of the tag) the parser took
    // them for the end of the data set: the plan read without its last element.
    let tmp = tempfile::tempdir().unwrap();
    let header = [0x0E, 0x30, 0x02, 0x00, b'C', b'S', 0x0A, 0x00];
    for left in 1..header.len() {
        let dir = variant(tmp.path(), &format!("header_cut_{left}"));
        let mut bytes = std::fs::read(dir.join("RP.dcm")).unwrap();
        bytes.extend_from_slice(&header[..left]);
        std::fs::write(dir.join("RP.dcm"), &bytes).unwrap();
        // From 4 bytes on (the tag whole) the parser fails on the header itself.
        let what = if left < 4 {
            format!("{left} byte(s) after the last whole element")
        } else {
            "cannot parse DICOM".to_string()
        };
        assert_refused(&dir, "RP.dcm", &what);
    }
    // Three bytes added inside the dose's pixel data: every voxel after them shifted, the
    // last three bytes left over after the element.
    let dir = variant(tmp.path(), "pixel_data_shifted");
    let mut bytes = std::fs::read(dir.join("RD.dcm")).unwrap();
    let at = bytes.len() * 2 / 3;
    bytes.splice(at..at, [7u8, 7, 7]);
    std::fs::write(dir.join("RD.dcm"), &bytes).unwrap();
    assert_refused(&dir, "RD.dcm", "3 byte(s) after the last whole element");
}

#[test]
fn an_item_read_into_the_one_before_is_refused() {
    // 16 bytes lost inside a contour's ContourData (its declared length unchanged): the
    // value then ends 16 bytes later, past the item's end and the next item's start, and
    // the parser reads the next contour's elements into this contour's item, where they
    // replaced its own: a contour gone without a trace. Elements out of ascending order
    // (or repeated) in one item give it away.
    let tmp = tempfile::tempdir().unwrap();
    let dir = variant(tmp.path(), "contour_lost");
    let mut bytes = std::fs::read(dir.join("RS.dcm")).unwrap();
    let value = first_short_value(&bytes, (0x3006, 0x0050));
    // The premise: an item delimiter and the next item's start follow the value.
    let item_end_and_start = [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0x00, 0xE0];
    assert_eq!(bytes[value.end..value.end + 12], item_end_and_start);
    let middle = value.start + value.len() / 2;
    bytes.drain(middle..middle + 16);
    std::fs::write(dir.join("RS.dcm"), &bytes).unwrap();
    assert_refused(&dir, "RS.dcm", "out of order or repeated");
}

#[test]
fn elements_out_of_order_or_repeated_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let name = |v: &[u8]| explicit((0x0010, 0x0010), b"PN", v);
    let id = explicit((0x0010, 0x0020), b"LO", b"ID");
    for (file, body, what) in [
        (
            "swapped.dcm",
            [rt_dose_class(), id.clone(), name(b"A^B ")].concat(),
            "(0010,0010) after (0010,0020)",
        ),
        (
            "repeated.dcm",
            [rt_dose_class(), name(b"A^B "), name(b"C^D ")].concat(),
            "(0010,0010) after (0010,0010)",
        ),
    ] {
        let path = tmp.path().join(file);
        std::fs::write(&path, part10(&body)).unwrap();
        let (code, _, err) = run(&["inspect".as_ref(), os(&path)]);
        assert_eq!(code, 3, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(file) && err.contains(what),
            "expected '{what}': {err}"
        );
    }
    // The same elements in order read (and are not an RT object: exit 3 for that, not for
    // the order).
    let path = tmp.path().join("in_order.dcm");
    std::fs::write(
        &path,
        part10(&[rt_dose_class(), name(b"A^B "), id].concat()),
    )
    .unwrap();
    let (_, _, err) = run(&["inspect".as_ref(), os(&path)]);
    assert!(!err.contains("out of order"), "{err}");
}

// ---------------------------------------------------------------- RT Dose

fn dose_variant(tmp: &Path, name: &str, edit: impl FnOnce(&mut InMemDicomObject)) -> PathBuf {
    let dir = variant(tmp, name);
    rewrite(&dir, "RD.dcm", edit);
    dir
}

#[test]
fn dose_without_required_elements_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (tag, name) in [
        (tags::PIXEL_DATA, "PixelData"),
        (tags::DOSE_GRID_SCALING, "DoseGridScaling"),
        (tags::GRID_FRAME_OFFSET_VECTOR, "GridFrameOffsetVector"),
        (tags::DOSE_UNITS, "DoseUnits"),
        (tags::ROWS, "Rows"),
        (tags::IMAGE_POSITION_PATIENT, "ImagePositionPatient"),
    ] {
        let dir = dose_variant(tmp.path(), name, |o| {
            o.remove_element(tag);
        });
        assert_refused(&dir, "RD.dcm", &format!("missing {name}"));
    }
}

#[test]
fn zero_negative_and_non_finite_dose_scaling_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, v) in ["0", "-1", "NaN", "Inf", "-Inf", "1e400"]
        .iter()
        .enumerate()
    {
        let dir = dose_variant(tmp.path(), &format!("scaling_{i}"), |o| {
            put_str(o, tags::DOSE_GRID_SCALING, VR::DS, v)
        });
        // NaN / Inf / 1e400 may already fail in the parser (DS text), else in the reader.
        let path = dir.join("RD.dcm");
        let (code, _, err) = run(&["inspect".as_ref(), os(&path)]);
        assert_eq!(code, 3, "{v}: {err}");
        assert!(
            err.contains("DoseGridScaling") || err.contains("cannot parse DICOM"),
            "{v}: {err}"
        );
        assert_refused(&dir, "RD.dcm", "");
    }
}

#[test]
fn grid_dimensions_inconsistent_with_the_pixel_data_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let edits: [(&str, Tag, VR, &str); 4] = [
        ("frames_plus", tags::NUMBER_OF_FRAMES, VR::IS, "44"),
        ("frames_minus", tags::NUMBER_OF_FRAMES, VR::IS, "42"),
        ("rows_plus", tags::ROWS, VR::US, "70"),
        ("columns_minus", tags::COLUMNS, VR::US, "68"),
    ];
    for (name, tag, vr, v) in edits {
        let dir = dose_variant(tmp.path(), name, |o| {
            if vr == VR::US {
                o.put(DataElement::new(
                    tag,
                    vr,
                    PrimitiveValue::from(v.parse::<u16>().unwrap()),
                ));
            } else {
                put_str(o, tag, vr, v);
            }
        });
        // More frames than offsets, or a pixel data length that does not match.
        let (code, _, err) = run(&["inspect".as_ref(), os(&dir.join("RD.dcm"))]);
        assert_eq!(code, 3, "{name}: {err}");
        assert!(
            err.contains("PixelData") || err.contains("GridFrameOffsetVector"),
            "{name}: {err}"
        );
        assert_refused(&dir, "RD.dcm", "RD.dcm");
    }
}

#[test]
fn absurd_grid_dimensions_are_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dose_variant(tmp.path(), "huge_grid", |o| {
        o.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(65535u16),
        ));
        o.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(65535u16),
        ));
        put_str(o, tags::NUMBER_OF_FRAMES, VR::IS, "1048576");
    });
    assert_refused(&dir, "RD.dcm", "voxel limit");
    assert_bounded_memory(&dir.join("RD.dcm"), "voxel limit");
}

#[test]
fn wrong_value_representations_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // Binary garbage where numbers are expected, pixel data as floats.
    let dir = dose_variant(tmp.path(), "rows_un", |o| {
        o.put(DataElement::new(
            tags::ROWS,
            VR::UN,
            PrimitiveValue::from(vec![0xFFu8, 0x00, 0x13, 0x37]),
        ));
    });
    assert_refused(&dir, "RD.dcm", "Rows");
    let dir = dose_variant(tmp.path(), "pixels_fd", |o| {
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::FD,
            PrimitiveValue::F64(vec![1.0f64; 4].into()),
        ));
    });
    assert_refused(&dir, "RD.dcm", "PixelData");
    // The VR bytes of elements changed in place (Explicit VR): the parser is misled.
    for (name, tag, from, to) in [
        ("scaling_sq", tags::DOSE_GRID_SCALING, b"DS", b"SQ"),
        ("offsets_ob", tags::GRID_FRAME_OFFSET_VECTOR, b"DS", b"OB"),
        ("rows_ut", tags::ROWS, b"US", b"UT"),
        ("frames_is_fd", tags::NUMBER_OF_FRAMES, b"IS", b"FD"),
    ] {
        let dir = variant(tmp.path(), name);
        let path = dir.join("RD.dcm");
        let mut bytes = std::fs::read(&path).unwrap();
        let mut needle = Vec::new();
        needle.extend_from_slice(&tag.group().to_le_bytes());
        needle.extend_from_slice(&tag.element().to_le_bytes());
        needle.extend_from_slice(from);
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle.as_slice())
            .unwrap_or_else(|| panic!("{name}: tag not found"));
        bytes[at + 4..at + 6].copy_from_slice(to);
        std::fs::write(&path, bytes).unwrap();
        assert_refused(&dir, "RD.dcm", "RD.dcm");
    }
}

#[test]
fn a_dose_that_is_not_an_rt_dose_is_not_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dose_variant(tmp.path(), "ct_class", |o| {
        put_str(o, tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2");
        put_str(o, tags::MODALITY, VR::CS, "CT");
    });
    let (code, _, err) = check_json(&dir, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no RT Dose found"), "{err}");
}

// ---------------------------------------------------------------- RT Structure Set

/// ROI numbers of the trial phantoms.
const PTV: i64 = 1;
const CORD: i64 = 3;

fn struct_variant(tmp: &Path, name: &str, edit: impl FnOnce(&mut InMemDicomObject)) -> PathBuf {
    let dir = variant(tmp, name);
    rewrite(&dir, "RS.dcm", edit);
    dir
}

fn roi_number(item: &InMemDicomObject, tag: Tag) -> i64 {
    item.element(tag).unwrap().to_int::<i64>().unwrap()
}

/// Applies `edit` to the first contour of ROI `roi`.
fn edit_first_contour(o: &mut InMemDicomObject, roi: i64, edit: impl Fn(&mut InMemDicomObject)) {
    edit_items(o, tags::ROI_CONTOUR_SEQUENCE, |items| {
        let item = items
            .iter_mut()
            .find(|i| roi_number(i, tags::REFERENCED_ROI_NUMBER) == roi)
            .unwrap();
        edit_items(item, tags::CONTOUR_SEQUENCE, |contours| {
            edit(&mut contours[0])
        });
    });
}

/// Rewrites a contour's ContourData through `edit` on its values as text.
fn edit_contour_data(c: &mut InMemDicomObject, edit: impl FnOnce(&mut Vec<String>)) {
    let text = c
        .element(tags::CONTOUR_DATA)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let mut values: Vec<String> = text.split('\\').map(str::to_string).collect();
    edit(&mut values);
    put_str(c, tags::CONTOUR_DATA, VR::DS, &values.join("\\"));
}

#[test]
fn contours_with_two_points_or_nan_coordinates_are_not_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let two_points = |c: &mut InMemDicomObject| {
        put_str(c, tags::CONTOUR_DATA, VR::DS, "0\\0\\0\\10\\0\\0");
        put_str(c, tags::NUMBER_OF_CONTOUR_POINTS, VR::IS, "2");
    };
    let nan = |c: &mut InMemDicomObject| edit_contour_data(c, |v| v[0] = "NaN".to_string());
    for (roi, label) in [(PTV, "PTV"), (CORD, "SpinalCord")] {
        for (kind, edit) in [
            ("two", &two_points as &dyn Fn(&mut InMemDicomObject)),
            ("nan", &nan),
        ] {
            let dir = struct_variant(tmp.path(), &format!("{label}_{kind}"), |o| {
                edit_first_contour(o, roi, edit)
            });
            // inspect reads the file and shows the defect on the ROI.
            let (code, out, err) = run(&["inspect".as_ref(), os(&dir)]);
            assert!(!err.contains("panicked"));
            assert_eq!(code, 0, "{out}{err}");
            assert!(
                out.contains("! ") && out.contains("ContourData") || out.contains("points"),
                "{out}"
            );
            // check does not evaluate the ROI: ERROR.
            assert_check_error(&dir, label);
        }
    }
}

/// Contour defects found while the contours are read in parallel land on their own ROI and
/// keep it from being evaluated.
#[test]
fn contour_defects_are_reported_on_their_roi() {
    let tmp = tempfile::tempdir().unwrap();
    let miscounted = |c: &mut InMemDicomObject| {
        put_str(c, tags::NUMBER_OF_CONTOUR_POINTS, VR::IS, "9999");
    };
    let tilted = |c: &mut InMemDicomObject| {
        edit_contour_data(c, |v| {
            let z: f64 = v[2].trim().parse().unwrap();
            v[2] = format!("{}", z + 5.0);
        })
    };
    for (kind, edit, defect) in [
        (
            "miscounted",
            &miscounted as &dyn Fn(&mut InMemDicomObject),
            "says 9999",
        ),
        ("tilted", &tilted, "not in one axial plane"),
    ] {
        let dir = struct_variant(tmp.path(), kind, |o| edit_first_contour(o, PTV, edit));
        let (code, out, err) = run(&[
            "inspect".as_ref(),
            os(&dir),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(code, 0, "{out}{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        let text = json.to_string();
        assert!(text.contains(defect), "expected '{defect}' in {text}");
        assert_check_error(&dir, "PTV");
    }
}

#[test]
fn duplicate_roi_numbers_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = struct_variant(tmp.path(), "duplicate_roi", |o| {
        edit_items(o, tags::STRUCTURE_SET_ROI_SEQUENCE, |items| {
            let n = roi_number(&items[0], tags::ROI_NUMBER);
            items[1].put(DataElement::new(
                tags::ROI_NUMBER,
                VR::IS,
                PrimitiveValue::from(n.to_string()),
            ));
        });
    });
    assert_refused(&dir, "RS.dcm", "duplicate ROI number");
}

#[test]
fn contours_of_a_missing_roi_leave_the_roi_without_contours() {
    let tmp = tempfile::tempdir().unwrap();
    // The cord's contours point at ROI 99, which does not exist: the cord has no contours.
    let dir = struct_variant(tmp.path(), "orphan_contours", |o| {
        edit_items(o, tags::ROI_CONTOUR_SEQUENCE, |items| {
            for i in items.iter_mut() {
                if roi_number(i, tags::REFERENCED_ROI_NUMBER) == CORD {
                    i.put(DataElement::new(
                        tags::REFERENCED_ROI_NUMBER,
                        VR::IS,
                        PrimitiveValue::from("99"),
                    ));
                }
            }
        });
    });
    let (code, out, err) = run(&["inspect".as_ref(), os(&dir)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ROI number 99"), "{out}");
    assert_check_error(&dir, "SpinalCord");
}

#[test]
fn structure_set_without_its_sequences_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (tag, name) in [
        (tags::ROI_CONTOUR_SEQUENCE, "ROIContourSequence"),
        (tags::STRUCTURE_SET_ROI_SEQUENCE, "StructureSetROISequence"),
        (
            tags::RTROI_OBSERVATIONS_SEQUENCE,
            "RTROIObservationsSequence",
        ),
    ] {
        let dir = struct_variant(tmp.path(), name, |o| {
            o.remove_element(tag);
        });
        assert_refused(&dir, "RS.dcm", &format!("missing {name}"));
    }
}

// ---------------------------------------------------------------- RT Plan

#[test]
fn plan_without_fractions_prescription_or_beams_cannot_be_evaluated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = variant(tmp.path(), "no_fractions");
    rewrite(&dir, "RP.dcm", |o| {
        edit_items(o, tags::FRACTION_GROUP_SEQUENCE, |g| {
            g[0].remove_element(tags::NUMBER_OF_FRACTIONS_PLANNED);
        })
    });
    assert_check_error(&dir, "NumberOfFractionsPlanned");
    let dir = variant(tmp.path(), "no_rx");
    rewrite(&dir, "RP.dcm", |o| {
        edit_items(o, tags::DOSE_REFERENCE_SEQUENCE, |items| {
            for i in items.iter_mut() {
                i.remove_element(tags::TARGET_PRESCRIPTION_DOSE);
            }
        })
    });
    assert_check_error(&dir, "no prescription dose");
    let dir = variant(tmp.path(), "no_beams");
    rewrite(&dir, "RP.dcm", |o| {
        o.remove_element(tags::BEAM_SEQUENCE);
    });
    assert_check_error(&dir, "no beams");
    let dir = variant(tmp.path(), "nan_rx");
    rewrite(&dir, "RP.dcm", |o| {
        edit_items(o, tags::DOSE_REFERENCE_SEQUENCE, |items| {
            put_str(&mut items[0], tags::TARGET_PRESCRIPTION_DOSE, VR::DS, "NaN");
        })
    });
    assert_refused(&dir, "RP.dcm", "RP.dcm");
}

// ---------------------------------------------------------------- absurd declared sizes

/// Explicit VR Little Endian element bytes.
fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.0.to_le_bytes());
    v.extend_from_slice(&tag.1.to_le_bytes());
    v.extend_from_slice(vr);
    if matches!(
        vr,
        b"OB" | b"OW" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR" | b"OD" | b"OF" | b"OL"
    ) {
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    v.extend_from_slice(value);
    v
}

/// A Part-10 file: preamble, File Meta (Explicit VR LE), then `body`.
fn part10(body: &[u8]) -> Vec<u8> {
    let mut meta = explicit((2, 1), b"OB", &[0, 1]);
    meta.extend(explicit((2, 2), b"UI", b"1.2.840.10008.5.1.4.1.1.481.2\0"));
    meta.extend(explicit((2, 3), b"UI", b"1.2.3.4\0"));
    meta.extend(explicit((2, 0x10), b"UI", b"1.2.840.10008.1.2.1\0"));
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend(explicit((2, 0), b"UL", &(meta.len() as u32).to_le_bytes()));
    out.extend(meta);
    out.extend_from_slice(body);
    out
}

fn rt_dose_class() -> Vec<u8> {
    explicit((8, 0x16), b"UI", b"1.2.840.10008.5.1.4.1.1.481.2\0")
}

/// Element header with a declared 4-byte length and no value.
fn long_header(tag: (u16, u16), vr: &[u8; 2], len: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.0.to_le_bytes());
    v.extend_from_slice(&tag.1.to_le_bytes());
    v.extend_from_slice(vr);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&len.to_le_bytes());
    v
}

/// Runs `inspect FILE` with at most 512 MB of address space: refusing must not need more.
fn assert_bounded_memory(file: &Path, what: &str) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 524288 && exec "$0" inspect "$1""#)
        .arg(env!("CARGO_BIN_EXE_sbrt-verify"))
        .arg(file)
        .env("RAYON_NUM_THREADS", "1")
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(what), "expected '{what}': {err}");
}

#[test]
fn absurd_declared_lengths_are_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    // A 300-byte file declaring a 4 GB text element (this allocated 4.2 GB before the fix).
    let mut body = rt_dose_class();
    body.extend(long_header((8, 0x103E), b"UT", 0xFFFF_FFF0));
    body.extend_from_slice(b"abc");
    cases.push(("huge_ut.dcm", part10(&body), "declares 4294967280 bytes"));
    // Pixel data declaring 4 GB.
    let mut body = rt_dose_class();
    body.extend(long_header((0x7FE0, 0x10), b"OW", 0xFFFF_FFF0));
    cases.push((
        "huge_pixels.dcm",
        part10(&body),
        "declares 4294967280 bytes",
    ));
    // An encapsulated pixel data fragment declaring 4 GB.
    let mut body = rt_dose_class();
    body.extend(long_header((0x7FE0, 0x10), b"OB", 0xFFFF_FFFF));
    body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]); // empty offset table
    body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xF0, 0xFF, 0xFF, 0xFF]);
    cases.push((
        "huge_fragment.dcm",
        part10(&body),
        "declares 4294967280 bytes",
    ));
    // A File Meta element declaring 4 GB.
    let mut huge_meta = vec![0u8; 128];
    huge_meta.extend_from_slice(b"DICM");
    huge_meta.extend(explicit((2, 0), b"UL", &100u32.to_le_bytes()));
    huge_meta.extend(long_header((2, 1), b"OB", 0xFFFF_FFF0));
    cases.push(("huge_meta.dcm", huge_meta, "declares 4294967280 bytes"));
    // A bare Implicit VR data set naming RT Dose, then a 4 GB element.
    let mut bare = Vec::new();
    bare.extend_from_slice(&[0x08, 0x00, 0x16, 0x00]);
    bare.extend_from_slice(&30u32.to_le_bytes());
    bare.extend_from_slice(b"1.2.840.10008.5.1.4.1.1.481.2\0");
    bare.extend_from_slice(&[0x08, 0x00, 0x3E, 0x10]);
    bare.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    cases.push(("huge_bare.dcm", bare, "declares 4294967280 bytes"));
    // Sequences nested 100,000 deep (the parser recurses once per level).
    let mut body = rt_dose_class();
    for _ in 0..100_000 {
        body.extend(long_header((0x3006, 0x0039), b"SQ", 0xFFFF_FFFF));
        body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    cases.push(("deep.dcm", part10(&body), "nested more than"));
    for (name, bytes, what) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let started = std::time::Instant::now();
        assert_bounded_memory(&path, what);
        assert!(
            started.elapsed().as_secs() < 10,
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn rle_dose_declaring_a_huge_grid_is_refused_before_allocating() {
    // 1024 frames of 512 x 512 32-bit samples (1 GiB decoded) from 1024 tiny fragments.
    let tmp = tempfile::tempdir().unwrap();
    let dir = variant(tmp.path(), "rle_huge");
    let path = dir.join("RD.dcm");
    let mut obj = dicom_object::open_file(&path).unwrap().into_inner();
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(512u16),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(512u16),
    ));
    obj.put(DataElement::new(
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(32u16),
    ));
    obj.put(DataElement::new(
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(32u16),
    ));
    obj.put(DataElement::new(
        tags::HIGH_BIT,
        VR::US,
        PrimitiveValue::from(31u16),
    ));
    put_str(&mut obj, tags::NUMBER_OF_FRAMES, VR::IS, "1024");
    let offsets: Vec<String> = (0..1024).map(|i| (2 * i).to_string()).collect();
    put_str(
        &mut obj,
        tags::GRID_FRAME_OFFSET_VECTOR,
        VR::DS,
        &offsets.join("\\"),
    );
    let fragments: Vec<Vec<u8>> = (0..1024).map(|_| vec![0u8; 64]).collect();
    let pixels: dicom_object::mem::InMemElement = DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::PixelFragmentSequence::new(Vec::<u32>::new(), fragments),
    );
    obj.put(pixels);
    let meta = dicom_object::meta::FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.5")
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.481.2")
        .media_storage_sop_instance_uid("2.25.42");
    let mut bytes = Vec::new();
    obj.with_meta(meta).unwrap().write_all(&mut bytes).unwrap();
    std::fs::write(&path, bytes).unwrap();
    assert_refused(&dir, "RD.dcm", "RLE data cannot hold");
    assert_bounded_memory(&path, "RLE data cannot hold");
}
