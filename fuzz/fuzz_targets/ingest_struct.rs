//! Bytes -> RT object, seeded with RT Structure Set files; the ROIs of a structure set that
//! reads are also rasterized and histogrammed on a small fixed dose grid.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sbrt_verify::fuzzing::ingest_structures_with_dvh(data);
});
