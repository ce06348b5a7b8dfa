//! TOML text -> validated protocol: errors are one line, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        sbrt_verify::fuzzing::protocol(text);
    }
});
