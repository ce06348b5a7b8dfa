//! The integration tests of sbrt-verify, one test binary: each module is one topic and runs
//! the `sbrt-verify` binary or the library on the fixtures and on variants of them.
//!
//! One topic: `cargo test --test it fail_closed::`. The conformance tests on the real data
//! (`shared_data`) are ignored by default; `.ci/run` runs them with
//! `SBRT_SHARED_DATA=DIR cargo test --release --test it shared_data:: -- --ignored`.

mod analytic;
mod check_cli;
mod cli_errors;
mod common;
mod corrupt_inputs;
mod determinism;
mod examples;
mod fail_closed;
mod fail_closed_plan;
mod fail_closed_reading;
mod grades;
mod listen;
mod output;
mod phi;
mod reader_variants;
mod regressions;
mod report_cli;
mod shared_data;
mod sites;
mod tps_agreement;
