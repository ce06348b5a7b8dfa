//! `check --report DIR` (HTML, CSV, JSON files) and `check --batch` on the trial phantoms and
//! on a broken plan set.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use crate::common::{fixture, put_str, run, write_variant, Edits};
use dicom_core::VR;
use dicom_dictionary_std::tags;

fn args<'a>(items: &'a [&'a dyn AsRef<OsStr>]) -> Vec<&'a OsStr> {
    items.iter().map(|s| s.as_ref()).collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `dose_gy,NAME,...` CSV -> columns by header name.
fn csv_columns(csv: &str) -> BTreeMap<String, Vec<String>> {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols: BTreeMap<String, Vec<String>> =
        header.iter().map(|h| (h.clone(), Vec::new())).collect();
    for line in lines {
        for (h, v) in header.iter().zip(line.split(',')) {
            cols.get_mut(h).unwrap().push(v.to_string());
        }
    }
    cols
}

#[test]
fn report_dir_holds_html_csv_and_json_that_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new/report");
    let case = fixture("trial_cord_overdose");
    let (code, stdout, err) = run(&args(&[
        &"check",
        &case,
        &"--format",
        &"json",
        &"--report",
        &dir,
    ]));
    assert_eq!(code, 1, "{err}");
    // result.json is the JSON report.
    assert_eq!(read(&dir.join("result.json")), stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = json["results"].as_array().unwrap();

    let html = read(&dir.join("report.html"));
    assert!(html.contains("data-verdict=\"FAIL\"><span class=\"verdict\">FAIL</span>"));
    // The input files with their SHA-256, in the JSON and on the page; the time of the
    // check only on the page (the JSON is the same between runs).
    let inputs = json["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    for f in inputs {
        let name = f["path"].as_str().unwrap().rsplit('/').next().unwrap();
        let hash = f["sha256"].as_str().unwrap();
        assert_eq!(hash.len(), 64);
        assert!(html.contains(&format!("{name}</td><td class=\"hash\">{hash}</td>")));
    }
    assert!(!stdout.contains("Checked at") && html.contains("<th>Checked at</th><td>20"));
    assert_eq!(html.matches("<tr class=\"row-").count(), results.len());
    let failing = results.iter().filter(|r| r["status"] == "FAIL").count();
    let missed_optimal = results
        .iter()
        .filter(|r| r["status"] == "FAIL" && r["level"] == "optimal")
        .count();
    assert!(missed_optimal > 0);
    // An optimal miss has its own mark and row tint, never FAIL's.
    assert_eq!(
        html.matches("status-fail\">FAIL</td>").count(),
        failing - missed_optimal
    );
    assert_eq!(
        html.matches("<tr class=\"row-miss\">").count(),
        missed_optimal
    );
    assert_eq!(
        html.matches("status-miss\">MISS (optimal)</td>").count(),
        missed_optimal
    );
    // The cord's three mandatory limits are missed: red markers on the plot, each named.
    let missed_markers = html
        .matches("class=\"constraint-marker\" data-status=\"fail\"")
        .count();
    assert!(
        missed_markers >= 3 && missed_markers <= failing,
        "{missed_markers}"
    );
    // Each beside its limit, drawn where the limit lies.
    assert_eq!(
        html.matches("class=\"constraint-limit\" data-status=\"fail\"")
            .count(),
        missed_markers
    );
    assert!(html.contains("<title>limit of SpinalCord (SpinalCord): D0.035cc &lt;= 25.3Gy"));
    assert!(html.contains("data-status=\"pass\""));
    assert!(html.contains("SpinalCord (SpinalCord): D0.035cc &lt;= 25.3Gy"));
    // One curve per structure of dvh.csv, and the CSV is the `dvh` command's CSV.
    let csv = read(&dir.join("dvh.csv"));
    let cols = csv_columns(&csv);
    assert!(csv.starts_with("dose_gy,"));
    assert_eq!(html.matches("class=\"dvh-curve\"").count(), cols.len() - 1);
    for name in cols.keys().filter(|k| *k != "dose_gy") {
        assert!(
            html.contains(&format!("data-structure=\"{name}\"")),
            "{name}"
        );
        let v: Vec<f64> = cols[name].iter().map(|x| x.parse().unwrap()).collect();
        assert!(v[0] > 0.0 && v.windows(2).all(|w| w[1] <= w[0]), "{name}");
    }
    let (code, dvh_csv, err) = run(&args(&[&"dvh", &case, &"--format", &"csv"]));
    assert_eq!(code, 0, "{err}");
    let dvh_cols = csv_columns(&dvh_csv);
    for (name, col) in &cols {
        assert_eq!(Some(col), dvh_cols.get(name), "{name}");
    }
    // Nothing else in the folder (no temporary files left), and the mark that lets a
    // later run replace it.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".sbrt-verify-report",
            "dvh.csv",
            "report.html",
            "result.json"
        ]
    );
}

#[test]
fn passing_plan_has_no_missed_marker_and_masked_patient() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&args(&[
        &"check",
        &fixture("trial_pass"),
        &"--report",
        &tmp.path(),
    ]));
    assert_eq!(code, 0, "{err}");
    let html = read(&tmp.path().join("report.html"));
    assert!(html.contains("data-verdict=\"PASS\""));
    assert!(!html.contains("data-status=\"fail\""));
    assert!(html.contains("data-status=\"pass\""));
    assert!(html.contains("*** (ID ***)"));
    assert!(!html.contains("PH-trial"));
    assert!(!html.contains("<script"));
}

#[test]
fn report_dir_in_an_input_folder_is_refused_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let input = write_variant(tmp.path(), "trial_pass", |_| {}, Edits::default());
    let before = std::fs::read(input.join("RD.dcm")).unwrap();
    for dir in [input.clone(), input.join("report")] {
        let (code, out, err) = run(&args(&[&"check", &input, &"--report", &dir]));
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains("input folder"), "{err}");
        assert!(err.contains("--report-in-input"), "{err}");
        assert!(out.is_empty());
    }
    assert!(!input.join("report").exists());
    assert!(!input.join("report.html").exists());
    // A file given as input: its folder counts too.
    let (code, _, _) = run(&args(&[
        &"check",
        &input.join("RD.dcm"),
        &input.join("RS.dcm"),
        &input.join("RP.dcm"),
        &"--report",
        &input.join("r"),
    ]));
    assert_eq!(code, 2);
    let (code, _, err) = run(&args(&[
        &"check",
        &input,
        &"--report",
        &input.join("report"),
        &"--report-in-input",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(input.join("report/report.html").is_file());
    assert_eq!(std::fs::read(input.join("RD.dcm")).unwrap(), before);
}

/// Three plan sets under one root: PASS, FAIL, and a RELATIVE dose (ERROR).
fn batch_root(root: &Path) {
    write_variant(&root.join("a"), "trial_pass", |_| {}, Edits::default());
    write_variant(
        &root.join("b"),
        "trial_cord_overdose",
        |_| {},
        Edits::default(),
    );
    let relative = |obj: &mut dicom_object::InMemDicomObject| {
        put_str(obj, tags::DOSE_UNITS, VR::CS, "RELATIVE");
    };
    write_variant(
        &root.join("c"),
        "trial_underdosed",
        |_| {},
        Edits {
            dose: Some(&relative),
            ..Default::default()
        },
    );
}

#[test]
fn batch_checks_every_plan_set_and_exits_with_the_worst_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    batch_root(&root);
    let out = tmp.path().join("out");
    let (code, stdout, err) = run(&args(&[&"check", &"--batch", &root, &"--report", &out]));
    assert_eq!(code, 3, "{stdout}{err}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let expect = [
        ("a/trial_pass/RD.dcm", "PASS ", "failing: none"),
        (
            "b/trial_cord_overdose/RD.dcm",
            "FAIL ",
            "failing: SpinalCord",
        ),
        ("c/trial_underdosed/RD.dcm", "ERROR", "errors: "),
    ];
    for (line, (dose, verdict, detail)) in lines.iter().zip(expect) {
        assert!(line.starts_with(verdict), "{line}");
        assert!(line.contains(dose), "{line}");
        assert!(line.contains(detail), "{line}");
    }
    assert!(lines[2].contains("RELATIVE"), "{}", lines[2]);
    assert_eq!(
        lines[3],
        "total: 3 plan sets: 1 PASS, 1 FAIL, 1 ERROR; worst verdict ERROR (exit code 3)"
    );
    // Not a terminal: no progress bar, no colours.
    assert!(!err.contains("plan sets checked"), "{err}");
    assert!(!stdout.contains('\x1b') && !err.contains('\x1b'));

    let jsonl = read(&out.join("batch.jsonl"));
    let records: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    for (i, (r, (dose, verdict, _))) in records.iter().zip(expect).enumerate() {
        assert_eq!(r["schema_version"], "2");
        assert_eq!(r["index"], i + 1);
        assert_eq!(r["verdict"], verdict.trim());
        assert!(r["dose_file"].as_str().unwrap().ends_with(dose));
        assert_eq!(r["patient"]["id"], "***");
        assert_eq!(r["patient"]["name"], "***");
    }
    assert!(records[0]["failing"].as_array().unwrap().is_empty());
    let cord = records[1]["failing"].as_array().unwrap();
    assert!(!cord.is_empty() && cord.iter().all(|c| c["structure"] == "SpinalCord"));
    assert!(records[2]["errors"].to_string().contains("RELATIVE"));

    let csv = read(&out.join("batch.csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4);
    assert!(rows[0].starts_with("index,verdict,title,dose_file"));
    assert!(rows[1].starts_with("1,PASS,") && rows[2].starts_with("2,FAIL,"));
    assert!(rows[3].starts_with("3,ERROR,"));
    assert!(!csv.contains("PH-"), "patient masked");
    // One report folder per plan set, with its verdict.
    // Named by index and folder under the root, never from the data (plan label, patient).
    let mut subs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.contains('.'))
        .collect();
    subs.sort();
    assert_eq!(
        subs,
        [
            "001-a-trial_pass",
            "002-b-trial_cord_overdose",
            "003-c-trial_underdosed"
        ]
    );
    for (i, verdict) in ["PASS", "FAIL", "ERROR"].iter().enumerate() {
        let sub = out.join(&subs[i]);
        let html = read(&sub.join("report.html"));
        assert!(html.contains(&format!("data-verdict=\"{verdict}\"")), "{i}");
        assert!(sub.join("dvh.csv").is_file() && sub.join("result.json").is_file());
    }

    // Same input, same output (order is plan-set order, not finishing order); JSON lines
    // on stdout with --format json, patient shown with --show-phi.
    let (code2, stdout2, _) = run(&args(&[&"check", &"--batch", &root]));
    assert_eq!((code2, stdout2.as_str()), (3, stdout.as_str()));
    let (_, json_out, _) = run(&args(&[
        &"check",
        &"--batch",
        &root,
        &"--format",
        &"json",
        &"--show-phi",
    ]));
    let shown: Vec<serde_json::Value> = json_out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(shown.len(), 3);
    assert!(shown[0]["patient"]["id"]
        .as_str()
        .unwrap()
        .starts_with("PH-"));
}

#[test]
fn batch_lists_roots_in_the_order_given_and_names_folders_after_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, err) = run(&args(&[
        &"check",
        &"--batch",
        &fixture("trial_underdosed"),
        &fixture("trial_pass"),
        &fixture("trial_cord_overdose"),
        &"--report",
        &out,
    ]));
    assert_eq!(code, 1, "{stdout}{err}");
    let doses: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.ends_with("RD.dcm")))
        .collect();
    let order = ["trial_underdosed", "trial_pass", "trial_cord_overdose"];
    assert_eq!(doses.len(), 3, "{stdout}");
    for (dose, case) in doses.iter().zip(order) {
        assert!(dose.ends_with(&format!("{case}/RD.dcm")), "{stdout}");
    }
    // Each root is the plan set's folder: the folder's own name.
    for (i, case) in order.iter().enumerate() {
        let sub = out.join(format!("{:03}-{case}", i + 1));
        assert!(sub.join("report.html").is_file(), "{}", sub.display());
    }
    let jsonl = read(&out.join("batch.jsonl"));
    for (line, case) in jsonl.lines().zip(order) {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(r["dose_file"].as_str().unwrap().contains(case), "{line}");
    }
}

#[test]
fn batch_exit_code_is_fail_or_pass_without_errors() {
    let (code, out, err) = run(&args(&[
        &"check",
        &"--batch",
        &fixture("trial_pass"),
        &fixture("trial_cord_overdose"),
    ]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.ends_with("worst verdict FAIL (exit code 1)\n"), "{out}");
    let (code, out, _) = run(&args(&[&"check", &"--batch", &fixture("trial_pass")]));
    assert_eq!(code, 0);
    assert!(out.starts_with("PASS "), "{out}");
}

#[test]
fn batch_without_a_dose_is_an_error_and_batch_excludes_dose_selection() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "no DICOM here").unwrap();
    let (code, _, err) = run(&args(&[&"check", &"--batch", &tmp.path()]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no plan set with an RT Dose"), "{err}");
    let (code, _, _) = run(&args(&[
        &"check",
        &"--batch",
        &fixture("trial_pass"),
        &"--dose",
        &"x.dcm",
    ]));
    assert_eq!(code, 2);
}

#[test]
fn table_output_to_a_pipe_has_no_colours() {
    let (code, out, _) = run(&args(&[&"check", &fixture("trial_cord_overdose")]));
    assert_eq!(code, 1);
    assert!(out.starts_with("== FAIL"));
    assert!(!out.contains('\x1b'));
}
