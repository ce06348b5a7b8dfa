//! Bytes -> RT object, seeded with RT Dose files: the reader, the pixel decoders and the
//! dose-grid checks must refuse anything malformed with an error, never panic or hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sbrt_verify::fuzzing::ingest(data);
});
