//! What a reader sees at a terminal: `check`'s table fitted to the width, the marks of
//! optimal misses, and the closing recap of what decided the verdict.

use std::process::Command;

use crate::common::{check_json, fixture};

/// `sbrt-verify check CASE` as a table, `COLUMNS` set to `columns` (unset: `None`).
fn table(case: &str, columns: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"));
    cmd.arg("check").arg(fixture(case)).env_remove("NO_COLOR");
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// (constraint, status, level) of every result of the JSON report.
fn results(case: &str) -> Vec<(String, String, String)> {
    let (_, json, _) = check_json(&fixture(case), &[]);
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("constraint"), s("status"), s("level"))
        })
        .collect()
}

#[test]
fn the_table_fits_100_columns_and_names_the_mandatory_misses_last() {
    let (code, out) = table("trial_cord_overdose", Some("100"));
    assert_eq!(code, 1, "{out}");
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "a line of {widest} columns:\n{out}");
    let results = results("trial_cord_overdose");
    let count = |status: &str, level: &str| {
        results
            .iter()
            .filter(|r| r.1 == status && r.2 == level)
            .count()
    };
    assert!(count("FAIL", "optimal") > 0 && count("FAIL", "mandatory") > 0);
    assert_eq!(
        out.matches("MISS (optimal)").count(),
        count("FAIL", "optimal"),
        "{out}"
    );
    let fail_marks = out.lines().filter(|l| l.contains(" FAIL ")).count();
    assert_eq!(fail_marks, count("FAIL", "mandatory"), "{out}");
    // After the warnings: one line per mandatory miss, then the banner.
    let last_warning = out.rfind("warning:").unwrap();
    let recap = &out[last_warning..];
    let decided: Vec<&str> = recap
        .split("decided FAIL:")
        .skip(1)
        .map(|s| s.trim())
        .collect();
    assert_eq!(decided.len(), count("FAIL", "mandatory"), "{recap}");
    for (constraint, _, _) in results
        .iter()
        .filter(|r| r.1 == "FAIL" && r.2 == "mandatory")
    {
        assert!(
            decided.iter().any(|d| squeeze(d).contains(constraint)),
            "{constraint} not in the recap:\n{recap}"
        );
    }
    assert!(out
        .trim_end()
        .ends_with("== FAIL: the plan misses the protocol"));
}

#[test]
fn piped_output_keeps_one_row_per_line() {
    let (_, out) = table("trial_cord_overdose", None);
    for (constraint, _, _) in results("trial_cord_overdose") {
        let row = out
            .lines()
            .find(|l| l.contains(&constraint))
            .unwrap_or_else(|| panic!("no row of {constraint}:\n{out}"));
        assert!(
            row.contains("mandatory") || row.contains("optimal"),
            "{row}"
        );
    }
}

#[test]
fn a_pass_never_says_fail_and_has_no_recap() {
    let (code, out) = table("trial_pass", Some("100"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    assert!(!out.contains("decided"), "{out}");
    let misses = results("trial_pass")
        .iter()
        .filter(|r| r.1 == "FAIL")
        .count();
    assert_eq!(out.matches("MISS (optimal)").count(), misses, "{out}");
}

#[test]
fn protocol_show_lists_every_spinal_cord_limit_with_its_source() {
    let (code, out, err) =
        crate::common::run(&["protocol".as_ref(), "show".as_ref(), "nct06863584".as_ref()]);
    assert_eq!(code, 0, "{err}");
    let p = sbrt_verify::protocol::builtin("NCT06863584").unwrap();
    let cord: Vec<_> = p
        .constraints
        .iter()
        .filter(|c| c.structure == "SpinalCord")
        .collect();
    assert!(cord.len() >= 3);
    for c in cord {
        let text = format!("{} {} {}", c.query, c.comparator, c.limit);
        assert!(
            out.lines().any(|l| l.starts_with("SpinalCord")
                && l.contains(&text)
                && l.ends_with(&c.source)),
            "{text} ({}) missing:\n{out}",
            c.source
        );
    }
    // The same from the JSON, and the built-in's own file gives the same constraints.
    let (_, json, _) = crate::common::run(&[
        "protocol".as_ref(),
        "show".as_ref(),
        "NCT06863584".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["constraints"].as_array().unwrap().len(),
        p.constraints.len()
    );
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/protocol/builtin/nct06863584.toml");
    let (code, from_file, err) =
        crate::common::run(&["protocol".as_ref(), "show".as_ref(), file.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        from_file.lines().skip(1).collect::<Vec<_>>(),
        out.lines().skip(1).collect::<Vec<_>>(),
        "only the origin differs"
    );
}

#[test]
fn protocol_list_names_the_builtins_and_an_unknown_protocol_is_a_usage_error() {
    let (code, out, _) = crate::common::run(&["protocol".as_ref(), "list".as_ref()]);
    assert_eq!(code, 0);
    for name in sbrt_verify::protocol::builtin_names() {
        assert!(out.lines().any(|l| l.starts_with(name)), "{out}");
    }
    let (code, _, err) =
        crate::common::run(&["protocol".as_ref(), "show".as_ref(), "RTOG0000".as_ref()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("sbrt-verify: error: "), "{err}");
}

/// Runs sbrt-verify with plain string arguments.
fn run_str(args: &[&str]) -> (i32, String, String) {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    crate::common::run(&args)
}

#[test]
fn usage_mistakes_are_one_line_and_exit_2() {
    let trial = fixture("trial_pass");
    let trial = trial.to_str().unwrap();
    let other_dose = fixture("trial_underdosed").join("RD.dcm");
    let cases: [&[&str]; 6] = [
        &["check", "--bogus", trial],
        &["check", trial, "--format", "xml"],
        &["chek", trial],
        &["phantom"],
        &["dvh", trial, "--structure", "NoSuchRoi"],
        &["check", trial, "--dose", other_dose.to_str().unwrap()],
    ];
    for args in cases {
        let (code, out, err) = run_str(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("sbrt-verify: error: "), "{args:?}: {err}");
    }
    let (_, _, err) = run_str(&["dvh", trial, "--structure", "NoSuchRoi"]);
    assert!(
        err.contains("NoSuchRoi") && err.contains("SpinalCord"),
        "{err}"
    );
}

#[test]
fn a_parent_folder_suggests_batch_and_phantom_list_needs_no_out() {
    let fixtures = fixture("trial_pass");
    let parent = fixtures.parent().unwrap();
    let (code, _, err) = run_str(&["check", parent.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--batch") && err.contains("--dose"), "{err}");
    let (code, out, err) = run_str(&["phantom", "--case", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l == "trial_pass"), "{out}");
}

#[test]
fn counts_are_singular_for_one() {
    let trial = fixture("trial_pass");
    let (code, out, _) = run_str(&["inspect", trial.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains(" 1 plan set;"), "{out}");
    assert!(
        !out.contains(" 1 plan sets") && !out.contains(" 1 fractions"),
        "{out}"
    );
    let (_, out, _) = run_str(&["dvh", trial.to_str().unwrap()]);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .ends_with("end caps: half; between planes: profile"),
        "{out}"
    );
}
