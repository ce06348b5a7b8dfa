//! The `sbrt-verify` binary: parses arguments, calls the library, prints, maps errors to
//! exit codes (0 PASS, 1 FAIL, 2 usage, 3 cannot evaluate). All work is in the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
