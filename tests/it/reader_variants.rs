//! The reader on variants of a phantom that the standard allows (or that must be refused):
//! absolute GridFrameOffsetVector, non-axial orientation, dose not referencing the plan.

use crate::common::{numbers, put_str, run, write_variant, Edits};
use dicom_core::VR;
use dicom_dictionary_std::tags;
use sbrt_verify::dicom;

fn dvh_json(dir: &std::path::Path) -> serde_json::Value {
    let (code, out, err) = run(&[
        "dvh".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn absolute_frame_offsets_read_like_relative_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let absolute = |obj: &mut dicom_object::InMemDicomObject| {
        let ipp = numbers(obj, tags::IMAGE_POSITION_PATIENT);
        let offsets = numbers(obj, tags::GRID_FRAME_OFFSET_VECTOR);
        let abs: Vec<String> = offsets.iter().map(|o| format!("{}", ipp[2] + o)).collect();
        put_str(obj, tags::GRID_FRAME_OFFSET_VECTOR, VR::DS, &abs.join("\\"));
    };
    let dir = write_variant(
        tmp.path(),
        "sphere_linear",
        |_| {},
        Edits {
            dose: Some(&absolute),
            ..Default::default()
        },
    );
    let found = dicom::discover(std::slice::from_ref(&dir)).unwrap();
    let dose = found.plan_sets[0].dose.as_ref().unwrap();
    assert!(dose.warnings.iter().any(|w| w.contains("absolute")));
    let base = crate::common::fixture("sphere_linear");
    let reference = dicom::discover(std::slice::from_ref(&base)).unwrap();
    let ref_dose = reference.plan_sets[0].dose.as_ref().unwrap();
    assert_eq!(dose.geometry.frame_z_mm, ref_dose.geometry.frame_z_mm);
    // Same numbers out.
    let (a, b) = (dvh_json(&dir), dvh_json(&base));
    assert_eq!(a["structures"], b["structures"]);
}

#[test]
fn non_axial_dose_grid_is_refused_naming_the_attribute() {
    let tmp = tempfile::tempdir().unwrap();
    let coronal = |obj: &mut dicom_object::InMemDicomObject| {
        put_str(
            obj,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            "1\\0\\0\\0\\0\\-1",
        );
    };
    let dir = write_variant(
        tmp.path(),
        "sphere_linear",
        |_| {},
        Edits {
            dose: Some(&coronal),
            ..Default::default()
        },
    );
    let rd = dir.join("RD.dcm");
    let (code, _, err) = run(&["inspect".as_ref(), rd.as_os_str()]);
    assert_eq!(code, 3);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ImageOrientationPatient"), "{err}");
    assert!(err.contains("only axial"), "{err}");
    // A check on the whole folder never passes.
    let (code, _, _) = run(&["check".as_ref(), dir.as_os_str()]);
    assert_eq!(code, 3);
}

#[test]
fn mirrored_axial_grid_gives_the_same_dose_at_the_same_place() {
    // Rows along -x and columns along -y (head first prone; the normal stays +z, so the
    // frame offsets keep their direction): flip rows and columns of the pixel data and move
    // the origin to the opposite corner.
    let tmp = tempfile::tempdir().unwrap();
    let case = sbrt_verify::phantom::cases::case("sphere_linear").unwrap();
    let (nx, ny, nz) = (case.grid.dims[0], case.grid.dims[1], case.grid.dims[2]);
    let last_x = case.grid.origin[0] + (nx - 1) as f64 * case.grid.spacing[0];
    let last_y = case.grid.origin[1] + (ny - 1) as f64 * case.grid.spacing[1];
    let mirror = move |obj: &mut dicom_object::InMemDicomObject| {
        put_str(
            obj,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            "-1\\0\\0\\0\\-1\\0",
        );
        let ipp = numbers(obj, tags::IMAGE_POSITION_PATIENT);
        put_str(
            obj,
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("{}\\{}\\{}", last_x, last_y, ipp[2]),
        );
        let bytes = obj
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec();
        let bps = bytes.len() / (nx * ny * nz);
        let mut flipped = vec![0u8; bytes.len()];
        for k in 0..nz {
            for j in 0..ny {
                for i in 0..nx {
                    let src = ((k * ny + j) * nx + i) * bps;
                    let dst = ((k * ny + (ny - 1 - j)) * nx + (nx - 1 - i)) * bps;
                    flipped[dst..dst + bps].copy_from_slice(&bytes[src..src + bps]);
                }
            }
        }
        obj.put(dicom_core::DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            dicom_core::PrimitiveValue::from(flipped),
        ));
    };
    let dir = write_variant(
        tmp.path(),
        "sphere_linear",
        |_| {},
        Edits {
            dose: Some(&mirror),
            ..Default::default()
        },
    );
    let (a, b) = (
        dvh_json(&dir),
        dvh_json(&crate::common::fixture("sphere_linear")),
    );
    let pick = |v: &serde_json::Value, k: &str| v["structures"][0][k].as_f64().unwrap();
    for k in ["volume_cc", "min_gy", "mean_gy", "max_gy"] {
        assert!(
            (pick(&a, k) - pick(&b, k)).abs() < 1e-6,
            "{k}: {} vs {}",
            pick(&a, k),
            pick(&b, k)
        );
    }
}
