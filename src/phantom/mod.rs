//! Analytic phantom cases written as DICOM RT (Dose, Structure Set, Plan) with their answers.
//!
//! Each case is a directory `<case>/` holding `RD.dcm`, `RS.dcm`, `RP.dcm` and
//! `expected.json`. The files are byte-for-byte reproducible: UIDs are `2.25.` + a 128-bit
//! FNV-1a hash of `sbrt-verify-phantom/<case>/<object>` (shaped as a version-8 UUID), dates
//! are fixed (20260101 120000), and nothing is random.
//!
//! * Analytic cases (`sphere_linear`, `small_sphere_steep`, `ring_hole`, `two_islands`,
//!   `cylinder_z`): linear dose fields, 32-bit dose, `expected.json` carries **exact**
//!   slab-model DVH metrics of the written polygons (see [`exact`]).
//! * Trial cases (`trial_*`): a vertebral SBRT scenario (PTV 30 Gy and PGTV 35 Gy in 5
//!   fractions, spinal cord, body), smooth non-linear fields, 16-bit dose, `expected.json`
//!   carries **reference** metrics from dense numerical integration, the expected verdict
//!   and the ROIs expected to fail.
//!
//! Modules: [`shapes`] (contour polygons and polygon arithmetic), [`exact`] (the answers),
//! [`grid`] (the dose grid and the stored dose), [`cases`] (the case list and
//! expected.json), [`write`] (quantization and DICOM encoding).

pub mod cases;
pub mod exact;
pub mod grid;
pub mod shapes;
pub mod write;

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Names of all phantom cases.
pub fn case_names() -> &'static [&'static str] {
    &cases::CASE_NAMES
}

/// Writes RD.dcm, RS.dcm, RP.dcm and expected.json for one case into `out_dir/<case>/`
/// (created) and returns that directory. Each file is written to a temporary name in the
/// same directory and then renamed. An unknown name is a usage error listing valid names.
pub fn write_case(name: &str, out_dir: &Path) -> Result<PathBuf> {
    let case = cases::case(name).ok_or_else(|| {
        Error::usage(format!(
            "unknown phantom case '{name}'; valid cases: {}",
            case_names().join(", ")
        ))
    })?;
    let dir = out_dir.join(case.name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;

    let rd = dir.join("RD.dcm");
    let dose = write::quantize(&case.grid, &case.field, case.bits, &rd)?;
    let rs = dir.join("RS.dcm");
    let rp = dir.join("RP.dcm");
    let json_path = dir.join("expected.json");
    let rd_bytes = write::part10_bytes(write::rt_dose(&case, &dose), &rd)?;
    let rs_bytes = write::part10_bytes(write::rt_struct(&case), &rs)?;
    let rp_bytes = write::part10_bytes(write::rt_plan(&case), &rp)?;
    let mut json = serde_json::to_string_pretty(&cases::expected(&case, &dose))
        .map_err(|e| Error::invalid(&json_path, e.to_string()))?;
    json.push('\n');

    use crate::output::write_atomic;
    write_atomic(&rd, &rd_bytes, &[])?;
    write_atomic(&rs, &rs_bytes, &[])?;
    write_atomic(&rp, &rp_bytes, &[])?;
    write_atomic(&json_path, json.as_bytes(), &[])?;
    Ok(dir)
}

/// Writes every case (see [`write_case`]) and returns their directories in case order.
pub fn write_all(out_dir: &Path) -> Result<Vec<PathBuf>> {
    case_names()
        .iter()
        .map(|name| write_case(name, out_dir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_dictionary_std::tags;
    use dicom_object::{open_file, InMemDicomObject, Tag};

    const FILES: [&str; 4] = ["RD.dcm", "RS.dcm", "RP.dcm", "expected.json"];

    fn read_json(dir: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn unknown_case_is_usage_error_listing_names() {
        let tmp = tempfile::tempdir().unwrap();
        let err = write_case("nope", tmp.path()).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        let msg = err.to_string();
        for name in case_names() {
            assert!(msg.contains(name), "{msg}");
        }
        assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
    }

    #[test]
    fn writing_twice_gives_identical_bytes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for name in ["sphere_linear", "trial_cord_overdose"] {
            let da = write_case(name, a.path()).unwrap();
            let db = write_case(name, b.path()).unwrap();
            for f in FILES {
                let (x, y) = (
                    std::fs::read(da.join(f)).unwrap(),
                    std::fs::read(db.join(f)).unwrap(),
                );
                assert!(x == y, "{name}/{f} differs between runs");
            }
        }
    }

    #[test]
    fn all_cases_small_complete_and_readable() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = write_all(tmp.path()).unwrap();
        assert_eq!(dirs.len(), case_names().len());
        for (dir, name) in dirs.iter().zip(case_names()) {
            assert_eq!(dir, &tmp.path().join(name));
            let mut total = 0;
            for f in FILES {
                total += std::fs::metadata(dir.join(f)).unwrap().len();
            }
            assert!(total < 1_000_000, "{name}: {total} bytes");
            // no temporary files left behind
            assert_eq!(std::fs::read_dir(dir).unwrap().count(), FILES.len());
            check_round_trip(dir, name);
        }
    }

    /// The files written for case `name` in `dir` -> asserts that they hold what
    /// `expected.json` and the case say: the dose grid, the contours, the plan, and the UIDs
    /// that link them.
    fn check_round_trip(dir: &Path, name: &str) {
        let case = cases::case(name).unwrap();
        let exp = read_json(dir);
        let rd = open_file(dir.join("RD.dcm")).unwrap();
        check_dose_file(&rd, &case, &exp["dose_grid"], name);
        let rs = open_file(dir.join("RS.dcm")).unwrap();
        check_structure_file(&rs, &case, &exp["structures"], name);
        let rp = open_file(dir.join("RP.dcm")).unwrap();
        check_plan_file(&rp, &exp["plan"]);
        check_links(&rd, &rs, &rp);
    }

    /// The element `tag` of `o` (which must have it).
    fn el(o: &InMemDicomObject, tag: Tag) -> &dicom_object::mem::InMemElement {
        o.element(tag).unwrap()
    }

    /// The element `tag` of `o` -> its floating-point values.
    fn floats(o: &InMemDicomObject, tag: Tag) -> Vec<f64> {
        o.element(tag).unwrap().to_multi_float64().unwrap()
    }

    /// The element `tag` of `o` -> its UID text, without padding.
    fn uid(o: &InMemDicomObject, tag: Tag) -> String {
        o.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_string()
    }

    /// The first item of the sequence `tag` of `o`.
    fn first_item(o: &InMemDicomObject, tag: Tag) -> &InMemDicomObject {
        &o.element(tag).unwrap().items().unwrap()[0]
    }

    /// The RT Dose written -> asserts its transfer syntax, grid, scaling, geometry and one
    /// voxel's value against the case and `grid` (expected.json's dose_grid).
    fn check_dose_file(
        rd: &dicom_object::DefaultDicomObject,
        case: &cases::Case,
        grid: &serde_json::Value,
        name: &str,
    ) {
        assert_eq!(
            rd.meta().transfer_syntax().trim_end_matches('\0'),
            write::EXPLICIT_VR_LE
        );
        let rows = el(rd, tags::ROWS).to_int::<u16>().unwrap();
        let cols = el(rd, tags::COLUMNS).to_int::<u16>().unwrap();
        let frames = el(rd, tags::NUMBER_OF_FRAMES).to_int::<u32>().unwrap();
        assert_eq!(rows as u64, grid["rows"].as_u64().unwrap());
        assert_eq!(cols as u64, grid["columns"].as_u64().unwrap());
        assert_eq!(frames as u64, grid["frames"].as_u64().unwrap());
        assert_eq!(
            [cols as usize, rows as usize, frames as usize],
            case.grid.dims
        );
        let scaling = rd
            .element(tags::DOSE_GRID_SCALING)
            .unwrap()
            .to_float64()
            .unwrap();
        assert_eq!(scaling, grid["dose_grid_scaling"].as_f64().unwrap());
        let bits = el(rd, tags::BITS_ALLOCATED).to_int::<u16>().unwrap();
        assert_eq!(bits, case.bits);
        if bits == 32 {
            assert_eq!(scaling, 1e-6);
        } else {
            let max = grid["max_gy"].as_f64().unwrap();
            let top = (max / scaling).round();
            assert!(
                (64_000.0..=65_000.0).contains(&top),
                "{name}: max maps to {top}"
            );
        }
        assert_eq!(
            floats(rd, tags::IMAGE_POSITION_PATIENT),
            case.grid.origin.to_vec()
        );
        assert_eq!(
            floats(rd, tags::PIXEL_SPACING),
            vec![case.grid.spacing[1], case.grid.spacing[0]]
        );
        let offsets = floats(rd, tags::GRID_FRAME_OFFSET_VECTOR);
        assert_eq!(offsets.len(), frames as usize);
        assert_eq!(offsets[0], 0.0);
        let pixels = rd.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
        let n = rows as usize * cols as usize * frames as usize;
        assert_eq!(pixels.len(), n * bits as usize / 8);
        // Voxel (column 3, row 2, frame 1) holds the field at its centre.
        let idx = (cols as usize * rows as usize) + 2 * cols as usize + 3;
        let stored = if bits == 32 {
            u32::from_le_bytes(pixels[4 * idx..4 * idx + 4].try_into().unwrap()) as f64
        } else {
            u16::from_le_bytes(pixels[2 * idx..2 * idx + 2].try_into().unwrap()) as f64
        };
        let want = case.field.at(case.grid.centre(3, 2, 1));
        assert!(
            (stored * scaling - want).abs() <= scaling / 2.0 + 1e-12,
            "{name}"
        );
    }

    /// The RT Structure Set written -> asserts its ROIs' contour counts, first vertices and
    /// names against the case and `structs` (expected.json's structures).
    fn check_structure_file(
        rs: &dicom_object::DefaultDicomObject,
        case: &cases::Case,
        structs: &serde_json::Value,
        name: &str,
    ) {
        let rois = rs
            .element(tags::ROI_CONTOUR_SEQUENCE)
            .unwrap()
            .items()
            .unwrap();
        let structs = structs.as_array().unwrap();
        assert_eq!(rois.len(), structs.len());
        for (item, s) in rois.iter().zip(structs) {
            let contours = item
                .element(tags::CONTOUR_SEQUENCE)
                .unwrap()
                .items()
                .unwrap();
            assert_eq!(
                contours.len() as u64,
                s["contours"].as_u64().unwrap(),
                "{name}"
            );
            let c0 = &contours[0];
            let npts = el(c0, tags::NUMBER_OF_CONTOUR_POINTS)
                .to_int::<usize>()
                .unwrap();
            let data = floats(c0, tags::CONTOUR_DATA);
            assert_eq!(data.len(), 3 * npts);
            // the written vertices are exactly the polygons the answers were computed from
            let st = case
                .structures
                .iter()
                .find(|x| x.name == s["name"].as_str().unwrap())
                .unwrap();
            let p0 = &st.planes[0];
            assert_eq!(data[0], p0.polygons[0][0][0]);
            assert_eq!(data[1], p0.polygons[0][0][1]);
            assert_eq!(data[2], p0.z);
        }
        let names: Vec<String> = rs
            .element(tags::STRUCTURE_SET_ROI_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()
            .iter()
            .map(|i| {
                i.element(tags::ROI_NAME)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .trim()
                    .to_string()
            })
            .collect();
        let want: Vec<&str> = structs
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want);
    }

    /// The RT Plan written -> asserts its fractions and number of dose references against
    /// `plan` (expected.json's plan).
    fn check_plan_file(rp: &dicom_object::DefaultDicomObject, plan: &serde_json::Value) {
        let fx = el(
            first_item(rp, tags::FRACTION_GROUP_SEQUENCE),
            tags::NUMBER_OF_FRACTIONS_PLANNED,
        )
        .to_int::<u32>()
        .unwrap();
        assert_eq!(fx as u64, plan["fractions"].as_u64().unwrap());
        let refs = rp
            .element(tags::DOSE_REFERENCE_SEQUENCE)
            .unwrap()
            .items()
            .unwrap();
        assert_eq!(refs.len(), plan["prescriptions"].as_array().unwrap().len());
    }

    /// The three objects written -> asserts that their UIDs link them: one study and frame of
    /// reference, the dose referencing the plan and the plan the structure set.
    fn check_links(
        rd: &dicom_object::DefaultDicomObject,
        rs: &dicom_object::DefaultDicomObject,
        rp: &dicom_object::DefaultDicomObject,
    ) {
        for t in [tags::STUDY_INSTANCE_UID, tags::FRAME_OF_REFERENCE_UID] {
            assert_eq!(uid(rd, t), uid(rs, t));
            assert_eq!(uid(rd, t), uid(rp, t));
        }
        let plan_ref = uid(
            first_item(rd, tags::REFERENCED_RT_PLAN_SEQUENCE),
            tags::REFERENCED_SOP_INSTANCE_UID,
        );
        assert_eq!(plan_ref, uid(rp, tags::SOP_INSTANCE_UID));
        let ss_ref = uid(
            first_item(rp, tags::REFERENCED_STRUCTURE_SET_SEQUENCE),
            tags::REFERENCED_SOP_INSTANCE_UID,
        );
        assert_eq!(ss_ref, uid(rs, tags::SOP_INSTANCE_UID));
    }

    /// The analytic answers that have closed forms.
    #[test]
    fn analytic_answers_closed_forms() {
        let json = |name: &str| {
            let case = cases::case(name).unwrap();
            let dose =
                write::quantize(&case.grid, &case.field, case.bits, Path::new("RD.dcm")).unwrap();
            serde_json::to_value(cases::expected(&case, &dose)).unwrap()
        };
        let get = |v: &serde_json::Value, caps: &str, key: &str| {
            v["structures"][0]["exact"][caps][key].as_f64().unwrap()
        };
        // Symmetric shapes in a linear field: D50% and mean = dose at the centre.
        for (name, centre_gy) in [
            ("sphere_linear", 20.0),
            ("small_sphere_steep", 30.0),
            ("ring_hole", 20.0),
        ] {
            let v = json(name);
            for caps in ["half", "none"] {
                assert!(
                    (get(&v, caps, "D50%") - centre_gy).abs() < 1e-9,
                    "{name} {caps}"
                );
                assert!(
                    (get(&v, caps, "mean_gy") - centre_gy).abs() < 1e-9,
                    "{name} {caps}"
                );
            }
        }
        // cylinder_z: area × length, with and without caps; dose uniform in z on the slab.
        let v = json("cylinder_z");
        let a = shapes::region_area_centroid(&[shapes::circle(-5.0, 5.0, 12.0)]).0;
        assert!((get(&v, "half", "volume_cc") - a * 42.0 / 1000.0).abs() < 1e-12);
        assert!((get(&v, "none", "volume_cc") - a * 40.0 / 1000.0).abs() < 1e-12);
        assert!((get(&v, "half", "D95%") - (9.5 + 0.05 * 21.0)).abs() < 1e-9);
        assert!((get(&v, "none", "D95%") - (10.0 + 0.05 * 20.0)).abs() < 1e-9);
        // two_islands: mean 20 Gy by symmetry, D50% at the top of the plateau (26 Gy).
        let v = json("two_islands");
        assert!((get(&v, "half", "mean_gy") - 20.0).abs() < 1e-9);
        assert!((get(&v, "half", "D50%") - 26.0).abs() < 1e-9);
        assert!((get(&v, "half", "V20Gy_cc") * 2.0 - get(&v, "half", "volume_cc")).abs() < 1e-12);
        // ring_hole: volume = (outer - inner) × 33 mm (half caps).
        let v = json("ring_hole");
        let ring = shapes::region_area_centroid(&[shapes::circle(5.0, -5.0, 20.0)]).0
            - shapes::region_area_centroid(&[shapes::circle(5.0, -5.0, 10.0)]).0;
        assert!((get(&v, "half", "volume_cc") - ring * 33.0 / 1000.0).abs() < 1e-12);
    }
}
