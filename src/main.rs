//! The `sbrt-verify` binary: parses arguments, calls the library, prints, maps errors to
//! exit codes (0 PASS, 1 FAIL, 2 usage, 3 cannot evaluate). All work is in the library.

mod cli;

/// mimalloc keeps freed memory for reuse: each structure's samples (16 bytes each, up to
/// a million for a body outline) land in memory already mapped, not in fresh pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
