//! DICOM writing: deterministic UIDs and text, the dose grid's quantization, and the three
//! RT objects (Dose, Structure Set, Plan) as Part-10 bytes in Explicit VR Little Endian.

use super::cases::{Case, Prescription};
use super::exact::DoseField;
use super::grid::{DoseVolume, Grid};
use super::shapes::Structure;
use crate::{Error, Result};
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use std::path::Path;

pub const RT_DOSE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.2";
pub const RT_STRUCTURE_SET_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.3";
pub const RT_PLAN_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.5";
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
/// Fixed date and time of every object (no timestamps: output is byte-for-byte reproducible).
pub const DATE: &str = "20260101";
pub const TIME: &str = "120000";
const IMPLEMENTATION_VERSION_NAME: &str = "SBRTVERIFY_PH1";
const MANUFACTURER: &str = "sbrt-verify phantom";

/// 128-bit FNV-1a.
fn fnv1a_128(s: &str) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    s.bytes()
        .fold(OFFSET, |h, b| (h ^ b as u128).wrapping_mul(PRIME))
}

/// Deterministic UID `2.25.<decimal>` from the FNV-1a hash of
/// `sbrt-verify-phantom/<case>/<object>`, with the UUID version (8, custom) and variant bits
/// set so the integer is a valid RFC 9562 UUID as 2.25 requires. At most 44 characters.
pub fn uid(case: &str, object: &str) -> String {
    let mut v = fnv1a_128(&format!("sbrt-verify-phantom/{case}/{object}"));
    v = (v & !(0xf_u128 << 76)) | (0x8_u128 << 76);
    v = (v & !(0b11_u128 << 62)) | (0b10_u128 << 62);
    format!("2.25.{v}")
}

/// DS text of a value (≤ 16 characters; shortest text that parses back to the same f64).
pub fn ds(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v };
    let s = format!("{v}");
    if s.len() <= 16 {
        return s;
    }
    // Not reached by the phantom's values; keep within the DS length limit regardless.
    let mut p = 10;
    loop {
        let e = format!("{v:.p$e}");
        if e.len() <= 16 || p == 0 {
            return e;
        }
        p -= 1;
    }
}

/// Backslash-separated DS values.
pub fn ds_multi(vs: &[f64]) -> String {
    vs.iter().map(|&v| ds(v)).collect::<Vec<_>>().join("\\")
}

/// Samples the field at every voxel centre and stores round(dose / scaling).
/// 32 bits: scaling 1e-6 Gy (quantization error ≤ 5e-7 Gy). 16 bits: scaling = the grid's
/// maximum / 65000 rounded up to 1e-7 Gy, so the maximum maps to about 65000.
/// `path` (the RT Dose file) only names the file in errors.
pub fn quantize(grid: &Grid, field: &DoseField, bits: u16, path: &Path) -> Result<DoseVolume> {
    let [nx, ny, nz] = grid.dims;
    let mut gy = Vec::with_capacity(grid.voxel_count());
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                gy.push(field.at(grid.centre(i, j, k)));
            }
        }
    }
    if let Some(bad) = gy.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
        return Err(Error::invalid(path, format!("dose field gives {bad} Gy")));
    }
    let (scaling_text, limit) = match bits {
        32 => ("0.000001".to_string(), u32::MAX as f64),
        16 => {
            let max = gy.iter().copied().fold(0.0, f64::max);
            let s = (max / 65000.0 * 1e7).ceil() / 1e7;
            (ds(s), u16::MAX as f64)
        }
        _ => {
            return Err(Error::invalid(
                path,
                format!("unsupported BitsAllocated {bits}"),
            ))
        }
    };
    let scaling: f64 = scaling_text
        .parse()
        .map_err(|_| Error::invalid(path, format!("bad DoseGridScaling {scaling_text}")))?;
    let mut values = Vec::with_capacity(gy.len());
    for d in gy {
        let q = (d / scaling).round();
        if q > limit {
            return Err(Error::invalid(
                path,
                format!("{d} Gy does not fit in {bits} bits"),
            ));
        }
        values.push(q as u32);
    }
    Ok(DoseVolume {
        bits,
        scaling_text,
        scaling,
        values,
    })
}

fn el(tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, v.into())
}

fn text(tag: Tag, vr: VR, s: &str) -> DataElement<InMemDicomObject> {
    el(tag, vr, s)
}

fn int(tag: Tag, v: i64) -> DataElement<InMemDicomObject> {
    el(tag, VR::IS, v.to_string())
}

fn dec(tag: Tag, vs: &[f64]) -> DataElement<InMemDicomObject> {
    el(tag, VR::DS, ds_multi(vs))
}

fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    el(tag, VR::US, v)
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// Patient, study, series, equipment and SOP common elements.
fn common(
    case: &Case,
    modality: &str,
    sop_class: &str,
    series_number: i64,
) -> Vec<DataElement<InMemDicomObject>> {
    let upper = case.name.to_ascii_uppercase();
    vec![
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        text(tags::INSTANCE_CREATION_DATE, VR::DA, DATE),
        text(tags::INSTANCE_CREATION_TIME, VR::TM, TIME),
        text(tags::SOP_CLASS_UID, VR::UI, sop_class),
        text(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &uid(case.name, &format!("instance/{modality}")),
        ),
        text(tags::STUDY_DATE, VR::DA, DATE),
        text(tags::STUDY_TIME, VR::TM, TIME),
        text(tags::ACCESSION_NUMBER, VR::SH, ""),
        text(tags::MODALITY, VR::CS, modality),
        text(tags::MANUFACTURER, VR::LO, MANUFACTURER),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        text(
            tags::STUDY_DESCRIPTION,
            VR::LO,
            &format!("sbrt-verify phantom {}", case.name),
        ),
        text(tags::SERIES_DESCRIPTION, VR::LO, modality),
        text(tags::OPERATORS_NAME, VR::PN, ""),
        text(tags::PATIENT_NAME, VR::PN, &format!("PHANTOM^{upper}")),
        text(tags::PATIENT_ID, VR::LO, &format!("PH-{}", case.name)),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        text(tags::PATIENT_SEX, VR::CS, "O"),
        text(tags::SOFTWARE_VERSIONS, VR::LO, IMPLEMENTATION_VERSION_NAME),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &uid(case.name, "study")),
        text(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &uid(case.name, &format!("series/{modality}")),
        ),
        text(tags::STUDY_ID, VR::SH, "1"),
        int(tags::SERIES_NUMBER, series_number),
        int(tags::INSTANCE_NUMBER, 1),
        text(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &uid(case.name, "frame-of-reference"),
        ),
        text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
    ]
}

/// SOP instance UID of one of the case's objects ("RTDOSE", "RTSTRUCT", "RTPLAN").
pub fn instance_uid(case: &str, modality: &str) -> String {
    uid(case, &format!("instance/{modality}"))
}

/// The RT Dose object.
pub fn rt_dose(case: &Case, dose: &DoseVolume) -> InMemDicomObject {
    let g = &case.grid;
    let [nx, ny, nz] = g.dims;
    let offsets: Vec<f64> = (0..nz).map(|k| k as f64 * g.spacing[2]).collect();
    let bytes_per = (dose.bits / 8) as usize;
    let mut pixels = Vec::with_capacity(dose.values.len() * bytes_per);
    for &v in &dose.values {
        if dose.bits == 16 {
            pixels.extend_from_slice(&(v as u16).to_le_bytes());
        } else {
            pixels.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut e = common(case, "RTDOSE", RT_DOSE_STORAGE, 1);
    e.extend([
        dec(tags::SLICE_THICKNESS, &[g.spacing[2]]),
        dec(tags::IMAGE_POSITION_PATIENT, &g.origin),
        dec(
            tags::IMAGE_ORIENTATION_PATIENT,
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        ),
        us(tags::SAMPLES_PER_PIXEL, 1),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        int(tags::NUMBER_OF_FRAMES, nz as i64),
        el(
            tags::FRAME_INCREMENT_POINTER,
            VR::AT,
            PrimitiveValue::Tags([tags::GRID_FRAME_OFFSET_VECTOR].into_iter().collect()),
        ),
        us(tags::ROWS, ny as u16),
        us(tags::COLUMNS, nx as u16),
        // PixelSpacing is row spacing (y) \ column spacing (x).
        dec(tags::PIXEL_SPACING, &[g.spacing[1], g.spacing[0]]),
        us(tags::BITS_ALLOCATED, dose.bits),
        us(tags::BITS_STORED, dose.bits),
        us(tags::HIGH_BIT, dose.bits - 1),
        us(tags::PIXEL_REPRESENTATION, 0),
        text(tags::DOSE_UNITS, VR::CS, "GY"),
        text(tags::DOSE_TYPE, VR::CS, "PHYSICAL"),
        text(tags::DOSE_SUMMATION_TYPE, VR::CS, "PLAN"),
        dec(tags::GRID_FRAME_OFFSET_VECTOR, &offsets),
        el(tags::DOSE_GRID_SCALING, VR::DS, dose.scaling_text.as_str()),
        seq(
            tags::REFERENCED_RT_PLAN_SEQUENCE,
            vec![item(vec![
                text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, RT_PLAN_STORAGE),
                text(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &instance_uid(case.name, "RTPLAN"),
                ),
            ])],
        ),
        el(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U8(pixels.into())),
    ]);
    item(e)
}

/// ContourData text: x\y\z triplets.
fn contour_data(poly: &[[f64; 2]], z: f64) -> String {
    let vs: Vec<f64> = poly.iter().flat_map(|&[x, y]| [x, y, z]).collect();
    ds_multi(&vs)
}

/// The RT Structure Set object.
pub fn rt_struct(case: &Case) -> InMemDicomObject {
    let for_uid = uid(case.name, "frame-of-reference");
    let roi_items = case
        .structures
        .iter()
        .map(|s| {
            item(vec![
                int(tags::ROI_NUMBER, s.number as i64),
                text(tags::REFERENCED_FRAME_OF_REFERENCE_UID, VR::UI, &for_uid),
                text(tags::ROI_NAME, VR::LO, s.name),
                text(tags::ROI_GENERATION_ALGORITHM, VR::CS, "MANUAL"),
            ])
        })
        .collect();
    let contour_items = case.structures.iter().map(roi_contour).collect();
    let observation_items = case
        .structures
        .iter()
        .map(|s| {
            item(vec![
                int(tags::OBSERVATION_NUMBER, s.number as i64),
                int(tags::REFERENCED_ROI_NUMBER, s.number as i64),
                text(tags::RTROI_INTERPRETED_TYPE, VR::CS, s.kind),
                text(tags::ROI_INTERPRETER, VR::PN, ""),
            ])
        })
        .collect();
    let mut e = common(case, "RTSTRUCT", RT_STRUCTURE_SET_STORAGE, 2);
    e.extend([
        text(tags::STRUCTURE_SET_LABEL, VR::SH, "PHANTOM"),
        text(tags::STRUCTURE_SET_NAME, VR::LO, case.name),
        text(tags::STRUCTURE_SET_DATE, VR::DA, DATE),
        text(tags::STRUCTURE_SET_TIME, VR::TM, TIME),
        seq(
            tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
            vec![item(vec![text(
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                &for_uid,
            )])],
        ),
        seq(tags::STRUCTURE_SET_ROI_SEQUENCE, roi_items),
        seq(tags::ROI_CONTOUR_SEQUENCE, contour_items),
        seq(tags::RTROI_OBSERVATIONS_SEQUENCE, observation_items),
    ]);
    item(e)
}

fn roi_contour(s: &Structure) -> InMemDicomObject {
    let mut contours = Vec::new();
    for plane in &s.planes {
        for poly in &plane.polygons {
            contours.push(item(vec![
                text(tags::CONTOUR_GEOMETRIC_TYPE, VR::CS, "CLOSED_PLANAR"),
                int(tags::NUMBER_OF_CONTOUR_POINTS, poly.len() as i64),
                int(tags::CONTOUR_NUMBER, contours.len() as i64 + 1),
                el(tags::CONTOUR_DATA, VR::DS, contour_data(poly, plane.z)),
            ]));
        }
    }
    let [r, g, b] = s.color;
    item(vec![
        el(tags::ROI_DISPLAY_COLOR, VR::IS, format!("{r}\\{g}\\{b}")),
        seq(tags::CONTOUR_SEQUENCE, contours),
        int(tags::REFERENCED_ROI_NUMBER, s.number as i64),
    ])
}

/// Gantry angles of the plan's static beams.
const GANTRY_ANGLES: [f64; 5] = [0.0, 72.0, 144.0, 216.0, 288.0];

fn control_point(index: i64, gantry: f64, isocentre: [f64; 3]) -> InMemDicomObject {
    let mut e = vec![
        int(tags::CONTROL_POINT_INDEX, index),
        dec(tags::CUMULATIVE_METERSET_WEIGHT, &[index as f64]),
    ];
    if index == 0 {
        let jaw = |kind: &str| {
            item(vec![
                text(tags::RT_BEAM_LIMITING_DEVICE_TYPE, VR::CS, kind),
                dec(tags::LEAF_JAW_POSITIONS, &[-50.0, 50.0]),
            ])
        };
        e.extend([
            dec(tags::NOMINAL_BEAM_ENERGY, &[6.0]),
            seq(
                tags::BEAM_LIMITING_DEVICE_POSITION_SEQUENCE,
                vec![jaw("ASYMX"), jaw("ASYMY")],
            ),
            dec(tags::GANTRY_ANGLE, &[gantry]),
            text(tags::GANTRY_ROTATION_DIRECTION, VR::CS, "NONE"),
            dec(tags::BEAM_LIMITING_DEVICE_ANGLE, &[0.0]),
            text(
                tags::BEAM_LIMITING_DEVICE_ROTATION_DIRECTION,
                VR::CS,
                "NONE",
            ),
            dec(tags::PATIENT_SUPPORT_ANGLE, &[0.0]),
            text(tags::PATIENT_SUPPORT_ROTATION_DIRECTION, VR::CS, "NONE"),
            dec(tags::ISOCENTER_POSITION, &isocentre),
        ]);
    }
    item(e)
}

/// The RT Plan object.
pub fn rt_plan(case: &Case) -> InMemDicomObject {
    let dose_refs = case
        .prescriptions
        .iter()
        .zip(1..)
        .map(|(p, n)| dose_reference(case.name, n, p))
        .collect();
    let beam_numbers = 1..=GANTRY_ANGLES.len() as i64;
    let ref_beams = beam_numbers
        .clone()
        .map(|n| {
            item(vec![
                dec(tags::BEAM_METERSET, &[200.0]),
                int(tags::REFERENCED_BEAM_NUMBER, n),
            ])
        })
        .collect();
    let beams = beam_numbers
        .zip(GANTRY_ANGLES)
        .map(|(n, gantry)| beam(n, gantry, case.isocentre))
        .collect();
    let mut e = common(case, "RTPLAN", RT_PLAN_STORAGE, 3);
    // Treatment Sites (300A,000B) chooses the protocol's site.
    if let Some(site) = case.treatment_site {
        e.push(text(Tag(0x300A, 0x000B), VR::LO, site));
    }
    e.extend([
        text(tags::RT_PLAN_LABEL, VR::SH, "PHANTOM"),
        text(tags::RT_PLAN_NAME, VR::LO, case.name),
        text(tags::RT_PLAN_DATE, VR::DA, DATE),
        text(tags::RT_PLAN_TIME, VR::TM, TIME),
        text(tags::RT_PLAN_GEOMETRY, VR::CS, "PATIENT"),
        seq(tags::DOSE_REFERENCE_SEQUENCE, dose_refs),
        seq(
            tags::FRACTION_GROUP_SEQUENCE,
            vec![item(vec![
                int(tags::FRACTION_GROUP_NUMBER, 1),
                int(tags::NUMBER_OF_FRACTIONS_PLANNED, case.fractions as i64),
                int(tags::NUMBER_OF_BEAMS, GANTRY_ANGLES.len() as i64),
                int(tags::NUMBER_OF_BRACHY_APPLICATION_SETUPS, 0),
                seq(tags::REFERENCED_BEAM_SEQUENCE, ref_beams),
            ])],
        ),
        seq(tags::BEAM_SEQUENCE, beams),
        seq(
            tags::PATIENT_SETUP_SEQUENCE,
            vec![item(vec![
                text(tags::PATIENT_POSITION, VR::CS, "HFS"),
                int(tags::PATIENT_SETUP_NUMBER, 1),
            ])],
        ),
        seq(
            tags::REFERENCED_STRUCTURE_SET_SEQUENCE,
            vec![item(vec![
                text(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    RT_STRUCTURE_SET_STORAGE,
                ),
                text(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &instance_uid(case.name, "RTSTRUCT"),
                ),
            ])],
        ),
        text(tags::APPROVAL_STATUS, VR::CS, "UNAPPROVED"),
    ]);
    item(e)
}

/// Prescription `p` of case `case_name` -> its DoseReferenceSequence item, number `n`.
fn dose_reference(case_name: &str, n: i64, p: &Prescription) -> InMemDicomObject {
    item(vec![
        int(tags::REFERENCED_ROI_NUMBER, p.roi_number as i64),
        int(tags::DOSE_REFERENCE_NUMBER, n),
        text(
            tags::DOSE_REFERENCE_UID,
            VR::UI,
            &uid(case_name, &format!("dose-reference/{n}")),
        ),
        text(tags::DOSE_REFERENCE_STRUCTURE_TYPE, VR::CS, "VOLUME"),
        text(tags::DOSE_REFERENCE_DESCRIPTION, VR::LO, p.description),
        text(tags::DOSE_REFERENCE_TYPE, VR::CS, "TARGET"),
        dec(tags::TARGET_PRESCRIPTION_DOSE, &[p.total_gy]),
    ])
}

/// Beam number `n` at `gantry` degrees -> its BeamSequence item: a static photon beam
/// with two control points about `isocentre`.
fn beam(n: i64, gantry: f64, isocentre: [f64; 3]) -> InMemDicomObject {
    let device = |kind: &str| {
        item(vec![
            text(tags::RT_BEAM_LIMITING_DEVICE_TYPE, VR::CS, kind),
            int(tags::NUMBER_OF_LEAF_JAW_PAIRS, 1),
        ])
    };
    item(vec![
        text(tags::MANUFACTURER, VR::LO, MANUFACTURER),
        text(tags::TREATMENT_MACHINE_NAME, VR::SH, "PHANTOM_LINAC"),
        text(tags::PRIMARY_DOSIMETER_UNIT, VR::CS, "MU"),
        dec(tags::SOURCE_AXIS_DISTANCE, &[1000.0]),
        seq(
            tags::BEAM_LIMITING_DEVICE_SEQUENCE,
            vec![device("ASYMX"), device("ASYMY")],
        ),
        int(tags::BEAM_NUMBER, n),
        text(tags::BEAM_NAME, VR::LO, &format!("G{gantry}")),
        text(tags::BEAM_TYPE, VR::CS, "STATIC"),
        text(tags::RADIATION_TYPE, VR::CS, "PHOTON"),
        text(tags::TREATMENT_DELIVERY_TYPE, VR::CS, "TREATMENT"),
        int(tags::NUMBER_OF_WEDGES, 0),
        int(tags::NUMBER_OF_COMPENSATORS, 0),
        int(tags::NUMBER_OF_BOLI, 0),
        int(tags::NUMBER_OF_BLOCKS, 0),
        dec(tags::FINAL_CUMULATIVE_METERSET_WEIGHT, &[1.0]),
        int(tags::NUMBER_OF_CONTROL_POINTS, 2),
        seq(
            tags::CONTROL_POINT_SEQUENCE,
            vec![
                control_point(0, gantry, isocentre),
                control_point(1, gantry, isocentre),
            ],
        ),
        int(tags::REFERENCED_PATIENT_SETUP_NUMBER, 1),
    ])
}

/// Part-10 bytes (preamble, File Meta, data set) in Explicit VR Little Endian.
pub fn part10_bytes(obj: InMemDicomObject, path: &Path) -> Result<Vec<u8>> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(EXPLICIT_VR_LE)
        .implementation_class_uid(uid("*", "implementation"))
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    let file = obj
        .with_meta(meta)
        .map_err(|e| Error::invalid(path, format!("cannot build file meta: {e}")))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| Error::invalid(path, format!("cannot encode DICOM: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_valid_and_stable() {
        let a = uid("sphere_linear", "study");
        assert_eq!(a, uid("sphere_linear", "study"));
        assert_ne!(a, uid("sphere_linear", "frame-of-reference"));
        assert_ne!(a, uid("ring_hole", "study"));
        assert!(a.len() <= 64);
        assert!(a.starts_with("2.25."));
        let n: u128 = a[5..].parse().unwrap();
        assert!(!a[5..].starts_with('0'));
        assert_eq!((n >> 76) & 0xf, 8, "UUID version 8");
        assert_eq!((n >> 62) & 0b11, 0b10, "RFC variant");
        // FNV-1a reference value: the empty string hashes to the offset basis.
        assert_eq!(fnv1a_128(""), 0x6c62272e07bb014262b821756295c58d);
    }

    #[test]
    fn ds_text() {
        assert_eq!(ds(-0.0), "0");
        assert_eq!(ds(2.5), "2.5");
        assert_eq!(ds(-79.9759), "-79.9759");
        assert_eq!(ds(0.0005631), "0.0005631");
        assert_eq!(ds(1e-6), "0.000001");
        assert!(ds(1.0 / 3.0).len() <= 16);
        assert!(ds(123_456_789.0 + 1.0 / 3.0).len() <= 16);
        assert_eq!(ds_multi(&[1.0, -2.5, 0.0]), "1\\-2.5\\0");
    }

    #[test]
    fn sixteen_bit_scaling_maps_max_near_65000() {
        let grid = Grid {
            origin: [0.0; 3],
            spacing: [1.0; 3],
            dims: [3, 2, 2],
        };
        let f = DoseField::Linear(super::super::exact::Linear {
            base: 30.0,
            grad: [1.0, 1.0, 1.0],
            origin: [0.0; 3],
        });
        let d = quantize(&grid, &f, 16, Path::new("RD.dcm")).unwrap();
        let top = *d.values.iter().max().unwrap();
        assert!((64_900..=65_000).contains(&top), "{top}");
        assert!((d.max_gy() - 34.0).abs() <= d.scaling / 2.0);
        let d32 = quantize(&grid, &f, 32, Path::new("RD.dcm")).unwrap();
        assert_eq!(d32.values[0], 30_000_000);
        assert_eq!(d32.values.len(), 12);
        // frame-major, then rows, then columns: index 1 is column 1
        assert_eq!(d32.values[1], 31_000_000);
        assert_eq!(d32.values[3], 31_000_000);
        assert_eq!(d32.values[6], 31_000_000);
    }
}
