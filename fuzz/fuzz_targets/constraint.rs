//! Text -> constraint: the parser never panics, and what it prints parses back to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        sbrt_verify::fuzzing::constraint(text);
    }
});
