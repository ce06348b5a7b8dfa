//! Bytes -> RT object, seeded with RT Plan files.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sbrt_verify::fuzzing::ingest(data);
});
