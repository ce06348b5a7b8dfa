//! The examples of the README and of `tests/cmd/*.md` run as written (trycmd): each
//! `$ sbrt-verify ...` line of a `console` block is run from the repository root, and its exit
//! code (`? N`, else 0) and output (stdout and stderr as one stream; `...` skips lines, `[..]`
//! the rest of a line) must be what the block shows. After a change of output on purpose,
//! `TRYCMD=overwrite cargo test --test it examples::` rewrites the blocks; read the diff.

#[test]
fn readme_and_command_examples_show_what_the_tool_prints() {
    trycmd::TestCases::new()
        .register_bin(
            "sbrt-verify",
            std::path::Path::new(env!("CARGO_BIN_EXE_sbrt-verify")),
        )
        .env("NO_COLOR", "1")
        // Tables are not fitted to a width: one row per line, as in a pipe.
        .env("COLUMNS", "")
        .case("README.md")
        .case("tests/cmd/*.md");
}
