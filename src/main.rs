//! The `sbrt-verify` binary: parses arguments, calls the library, prints, maps errors to
//! exit codes (0 PASS, 1 FAIL, 2 usage, 3 cannot evaluate). All work is in the library.

mod cli;

/// Large buffers on transparent huge pages: a third fewer CPU seconds per plan (see
/// `sbrt_verify::alloc`).
#[cfg(target_os = "linux")]
#[global_allocator]
static GLOBAL: sbrt_verify::alloc::HugePageAlloc = sbrt_verify::alloc::HugePageAlloc;

fn main() -> std::process::ExitCode {
    #[cfg(target_os = "linux")]
    {
        // glibc's heaps on huge pages too: a tunable read at start, so the program runs
        // itself once more with it (see `sbrt_verify::alloc`).
        sbrt_verify::alloc::run_with_glibc_huge_pages();
        sbrt_verify::alloc::tune_system_allocator();
    }
    cli::main()
}
