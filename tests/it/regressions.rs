//! Inputs that broke sbrt-verify once (found by fuzzing, `fuzz/`), each test named after the
//! bug. They run through `sbrt_verify::fuzzing`, the bodies of the fuzz targets, so a test
//! here fails exactly as the fuzzer did.

use std::path::Path;

fn input(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/regressions")
            .join(name),
    )
    .unwrap()
}

/// `sbrt-verify inspect` on the input `name` within 256 MB of address space: it must refuse
/// it (exit 3) in one line, which is returned.
fn inspect_in_bounded_memory(name: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/regressions")
        .join(name);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 262144 && exec "$0" inspect "$1""#)
        .arg(env!("CARGO_BIN_EXE_sbrt-verify"))
        .arg(&file)
        .env("RAYON_NUM_THREADS", "1")
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
    stderr
}

/// ingest_dose: GridFrameOffsetVector text with a line break and NULs was quoted as is, so
/// the "one line" error was several lines (and could forge lines of output).
#[test]
fn error_quoting_a_value_with_a_line_break_stays_one_line() {
    let bytes = input("dose_value_with_line_break.dcm");
    sbrt_verify::fuzzing::ingest(&bytes);
    let e = sbrt_verify::dicom::RtObject::from_bytes(&bytes, Path::new("RD.dcm")).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("GridFrameOffsetVector"), "{text}");
    assert!(text.contains("\\n"), "{text}");
    assert!(!text.contains('\n') && !text.contains('\0'), "{text:?}");
}

/// ingest_dose (out of memory): the File Meta reader reads elements until the group length
/// is consumed, whatever their group; the length check stopped at the first element of
/// another group, so a 558-byte file made it allocate 3.5 GB.
#[test]
fn file_meta_elements_past_the_group_are_length_checked() {
    let bytes = input("meta_off_group_element_3gb.dcm");
    let e = sbrt_verify::dicom::RtObject::from_bytes(&bytes, Path::new("RD.dcm")).unwrap_err();
    assert!(e.to_string().contains("declares 3621246935 bytes"), "{e}");
    // And the binary refuses it within 256 MB of address space.
    inspect_in_bounded_memory("meta_off_group_element_3gb.dcm");
}

/// ingest_struct (out of memory): a group length (UL) declaring 42 bytes. dicom-parser
/// reads its ten whole values and counts 42 bytes read, so the next header came from two
/// bytes too early and declared 4 GB, which it allocated; the length check had skipped by
/// the declared length and seen nothing wrong. The binary took 4.2 GB and 6 s to refuse
/// this 2 kB file; binary values that are not whole are now refused by the length check.
#[test]
fn a_binary_value_that_is_not_whole_is_refused_before_allocating() {
    let bytes = input("struct_group_length_not_whole_values_4gb.dcm");
    sbrt_verify::fuzzing::ingest_structures_with_dvh(&bytes);
    let e = sbrt_verify::dicom::RtObject::from_bytes(&bytes, Path::new("RS.dcm")).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("RS.dcm: ")
            && text.contains("element (0020,0000) (UL) declares 42 bytes, not a whole number"),
        "{text}"
    );
    let stderr = inspect_in_bounded_memory("struct_group_length_not_whole_values_4gb.dcm");
    assert!(stderr.contains("not a whole number"), "{stderr}");

    // ingest_dose, the same bug: an RT Dose whose HighBit (US) declares 57 bytes (4.0 GB
    // and 7.5 s before).
    let bytes = input("dose_high_bit_not_whole_values_4gb.dcm");
    sbrt_verify::fuzzing::ingest(&bytes);
    let e = sbrt_verify::dicom::RtObject::from_bytes(&bytes, Path::new("RD.dcm")).unwrap_err();
    assert!(
        e.to_string()
            .contains("element (0028,0102) (US) declares 57 bytes, not a whole number"),
        "{e}"
    );
}

/// ingest_struct (allocation of 320 GB, abort): the rasterization lattice covered the
/// contours' whole bounding box, so a contour far outside the dose grid sized it. The
/// lattice is now cut to the grid and the area beyond is counted as outside, exactly.
#[test]
fn a_contour_far_outside_the_grid_does_not_size_the_raster() {
    sbrt_verify::fuzzing::ingest_structures_with_dvh(&input("struct_contour_far_outside_grid.dcm"));

    use sbrt_verify::dicom::{Contour, ContourType, Roi};
    // The small grid's cells cover x -6..6, y -5..5, z -4..4 mm. A 100 m square at z -1 and
    // 1 is rasterized over the grid only.
    let square = |half: f64, z: f64| Contour {
        kind: ContourType::ClosedPlanar,
        points_mm: vec![
            [-half, -half, z],
            [half, -half, z],
            [half, half, z],
            [-half, half, z],
        ],
    };
    let roi = Roi {
        number: 1,
        name: "huge".into(),
        interpreted_type: None,
        color: None,
        frame_of_reference_uid: None,
        contours: vec![square(5e4, -1.0), square(5e4, 1.0)],
        defects: vec![],
        repairs: vec![],
    };
    let dose = sbrt_verify::fuzzing::small_dose_grid();
    let opts = sbrt_verify::raster::SamplingOptions::default();
    let started = std::time::Instant::now();
    let d = &sbrt_verify::dvh::compute(&dose, &[&roi], &opts)[0];
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    // Slab model: planes at -1 and 1, half end caps: 4 mm thick; 1e5 x 1e5 mm.
    let want_cc = 1e5 * 1e5 * 4.0 / 1000.0;
    assert!(
        (d.volume_cc - want_cc).abs() < 1e-6 * want_cc,
        "{}",
        d.volume_cc
    );
    let inside_cc = 12.0 * 10.0 * 4.0 / 1000.0;
    assert!(
        (d.outside_cc - (want_cc - inside_cc)).abs() < 1e-6 * want_cc,
        "{}",
        d.outside_cc
    );
    assert!(!d.complete());
}
