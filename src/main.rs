//! The `sbrt-verify` binary: parses arguments, calls the library, prints, maps errors to
//! exit codes (0 PASS, 1 FAIL, 2 usage, 3 cannot evaluate). All work is in the library.

mod cli;

fn main() -> std::process::ExitCode {
    // Large inputs are mapped instead of copied; a file cut short meanwhile ends the run
    // with exit code 3 (see `sbrt_verify::dicom::mapped`).
    sbrt_verify::dicom::mapped::enable();
    cli::main()
}
