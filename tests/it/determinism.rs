//! Same bytes in, same bytes out: the JSON of `dvh` does not depend on the number of threads
//! or on the run.

use std::path::Path;
use std::process::Command;

fn dvh_json(case: &str, threads: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(case);
    let out = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
        .arg("dvh")
        .arg(&dir)
        .args(["--format", "json"])
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn dvh_json_is_identical_for_one_and_two_threads_and_across_runs() {
    for case in ["trial_pass", "ring_hole", "two_islands"] {
        let one = dvh_json(case, "1");
        let two = dvh_json(case, "2");
        assert!(!one.is_empty());
        assert!(one == two, "{case}: output differs between 1 and 2 threads");
        assert!(
            two == dvh_json(case, "2"),
            "{case}: output differs between runs"
        );
    }
}

/// stdout of `sbrt-verify ARGS` with `RAYON_NUM_THREADS=threads`, and its exit code.
fn output(args: &[&str], threads: &str) -> (Option<i32>, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    (out.status.code(), out.stdout)
}

#[test]
fn check_and_inspect_json_are_identical_for_one_and_two_threads_and_across_runs() {
    for case in ["trial_pass", "trial_cord_overdose", "trial_outside_grid"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(case);
        let dir = dir.to_str().unwrap();
        for command in ["check", "inspect"] {
            let args = [command, dir, "--format", "json"];
            let one = output(&args, "1");
            let two = output(&args, "2");
            assert!(!one.1.is_empty(), "{command} {case}: no output");
            assert!(
                one == two,
                "{command} {case}: output differs between 1 and 2 threads"
            );
            assert!(
                two == output(&args, "2"),
                "{command} {case}: output differs between runs"
            );
        }
    }
}
