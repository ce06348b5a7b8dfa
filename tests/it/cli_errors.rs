//! Bad input and bad usage at the command line: one line naming the file, the documented
//! exit code, never a panic.

use std::path::Path;

use crate::common::run;

fn inspect(path: &Path) -> (i32, String, String) {
    run(&["inspect".as_ref(), path.as_os_str()])
}

fn assert_one_line_naming(err: &str, path: &Path, what: &str) {
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(&*path.to_string_lossy()), "{err}");
    assert!(lines[0].contains(what), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn empty_file_is_refused_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.dcm");
    std::fs::write(&f, b"").unwrap();
    let (code, out, err) = inspect(&f);
    assert_eq!(code, 3);
    assert!(out.is_empty());
    assert_one_line_naming(&err, &f, "empty or not readable as DICOM");
}

#[test]
fn text_file_is_refused_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "Plan notes: 30 Gy in 5 fractions\n").unwrap();
    let (code, _, err) = inspect(&f);
    assert_eq!(code, 3);
    assert_one_line_naming(&err, &f, "1 not DICOM");
}

#[test]
fn folder_without_rt_objects_says_nothing_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "x").unwrap();
    let (code, _, err) = inspect(dir.path());
    assert_eq!(code, 3);
    assert_one_line_naming(&err, dir.path(), "no DICOM RT objects found");
    // JSON still prints a parseable report for scripts.
    let (code, out, _) = run(&[
        "inspect".as_ref(),
        dir.path().as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["plan_sets"].as_array().unwrap().len(), 0);
    assert_eq!(v["non_dicom_files"], 1);
}

#[test]
fn truncated_dicom_is_a_parse_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("RD.dcm");
    // Preamble, magic, then a File Meta element cut short.
    let mut bytes = vec![0u8; 128];
    bytes.extend_from_slice(b"DICM");
    bytes.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 0x04]);
    std::fs::write(&f, &bytes).unwrap();
    let (code, _, err) = inspect(&f);
    assert_eq!(code, 3);
    assert_one_line_naming(&err, &f, "cannot parse DICOM");
}

#[test]
fn missing_path_is_exit_3_naming_it() {
    let p = Path::new("/nonexistent/sbrt-verify/RD.dcm");
    let (code, _, err) = inspect(p);
    assert_eq!(code, 3);
    assert_one_line_naming(&err, p, "No such file");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["inspect".as_ref()]).0, 2);
    assert_eq!(run(&["no-such-command".as_ref()]).0, 2);
    assert_eq!(
        run(&[
            "inspect".as_ref(),
            ".".as_ref(),
            "--format".as_ref(),
            "xml".as_ref()
        ])
        .0,
        2
    );
    assert_eq!(run(&["--help".as_ref()]).0, 0);
}

#[test]
fn a_lone_dose_file_gets_a_one_line_hint_to_give_its_folder() {
    let case = crate::common::fixture("trial_pass");
    let dose = case.join("RD.dcm");
    let (code, out, err) = run(&["check".as_ref(), dose.as_os_str()]);
    assert_eq!(code, 3, "{out}{err}");
    let hints: Vec<&str> = err.lines().filter(|l| l.contains("hint:")).collect();
    assert_eq!(hints.len(), 1, "{err}");
    assert!(
        hints[0].ends_with(&format!("give the folder {}", case.display())),
        "{err}"
    );
    // No empty table: the report says that nothing was evaluated.
    assert!(!out.contains("constraint value"), "{out}");
    assert!(out.contains("No constraint was evaluated."), "{out}");
    // The folder itself needs no hint.
    let (code, _, err) = run(&["check".as_ref(), case.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("hint:"), "{err}");
}

#[test]
fn no_rt_dose_says_where_it_looked_and_what_it_found() {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["RP.dcm", "RS.dcm"] {
        std::fs::copy(
            crate::common::fixture("trial_pass").join(f),
            tmp.path().join(f),
        )
        .unwrap();
    }
    std::fs::write(tmp.path().join("notes.txt"), "x").unwrap();
    let (code, _, err) = run(&["check".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code, 3, "{err}");
    assert_one_line_naming(&err, tmp.path(), "no RT Dose found among 2 DICOM files in");
    assert!(err.contains("(found 1 RTPLAN, 1 RTSTRUCT)"), "{err}");
}

#[test]
fn a_parent_folder_of_several_plan_sets_suggests_batch() {
    let tmp = tempfile::tempdir().unwrap();
    for case in ["trial_pass", "trial_cord_overdose"] {
        let dir = tmp.path().join(case);
        std::fs::create_dir(&dir).unwrap();
        for f in ["RD.dcm", "RP.dcm", "RS.dcm"] {
            std::fs::copy(crate::common::fixture(case).join(f), dir.join(f)).unwrap();
        }
    }
    let (code, out, err) = run(&["check".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("2 plan sets with a dose found"), "{err}");
    assert!(err.contains("check them all with --batch"), "{err}");
    assert!(out.is_empty());
}

#[test]
fn help_gives_every_commands_exit_codes_and_describes_format() {
    let (code, top, _) = crate::common::run(&["--help".as_ref()]);
    assert_eq!(code, 0);
    for cmd in ["inspect", "check", "dvh"] {
        let line = top
            .lines()
            .find(|l| l.trim_start().starts_with(cmd))
            .unwrap_or_else(|| panic!("{cmd} not in the help:\n{top}"));
        assert!(
            line.contains("2 usage error") && line.contains("3 "),
            "{line}"
        );
    }
    for cmd in ["inspect", "check", "dvh"] {
        let (code, help, _) = crate::common::run(&[cmd.as_ref(), "--help".as_ref()]);
        assert_eq!(code, 0);
        let flag = "--format <FORMAT>";
        let at = help.find(flag).unwrap() + flag.len();
        // On the flag's line (short help) or the next (long help).
        let described = help[at..].trim_start();
        assert!(
            described.starts_with("Output format"),
            "{cmd} --format: {described:?}"
        );
    }
}
