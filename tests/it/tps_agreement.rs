//! `dvh --tps-dvh` and `check --tps-dvh`: a planning system's DVH export (Eclipse text) compared with ours.

use std::process::Command;

fn run_dvh(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
        .args(["dvh", "fixtures/sphere_linear", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An Eclipse-style export of one structure from a cumulative curve (Gy, cc), its volumes
/// scaled by `volume_factor` and its doses by `dose_factor`, doses written in cGy.
fn export(
    name: &str,
    dose_gy: &[f64],
    volume_cc: &[f64],
    volume_factor: f64,
    dose_factor: f64,
) -> String {
    let v0 = volume_cc[0] * volume_factor;
    let mut s = format!(
        "Patient Name         : Phantom^Sphere\nType                 : Cumulative Dose Volume Histogram\n\nStructure: {name}\nApproval Status: Approved\nVolume [cm³]: {v0:.4}\n\nDose [cGy]  Relative dose [%]  Ratio of Total Structure Volume [%]\n"
    );
    for (d, v) in dose_gy.iter().zip(volume_cc) {
        let v = v * volume_factor;
        s.push_str(&format!(
            "{:.3}  {:.2}  {:.6}\n",
            100.0 * d * dose_factor,
            d / 30.0 * 100.0,
            100.0 * v / v0
        ));
    }
    s
}

#[test]
fn our_own_curve_agrees_and_a_larger_hotter_one_does_not() {
    let plain = run_dvh(&[]);
    assert!(plain.get("tps_agreement").is_none());
    let sphere = &plain["structures"][0];
    let name = sphere["name"].as_str().unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let dose = floats(&sphere["cumulative"]["dose_gy"]);
    let volume = floats(&sphere["cumulative"]["volume_cc"]);
    let dir = tempfile::tempdir().unwrap();

    let same = dir.path().join("same.txt");
    std::fs::write(&same, export(name, &dose, &volume, 1.0, 1.0)).unwrap();
    let r = run_dvh(&["--tps-dvh", same.to_str().unwrap()]);
    let a = &r["tps_agreement"]["structures"][0];
    assert_eq!(a["structure"], name);
    assert_eq!(a["agrees"], true, "{a}");
    assert_eq!(a["metrics"].as_array().unwrap().len(), 7);

    let other = dir.path().join("other.txt");
    std::fs::write(&other, export(name, &dose, &volume, 1.05, 1.05)).unwrap();
    let r = run_dvh(&["--tps-dvh", other.to_str().unwrap()]);
    let a = &r["tps_agreement"]["structures"][0];
    assert_eq!(a["agrees"], false);
    let volume = &a["metrics"][0];
    assert_eq!(volume["metric"], "volume");
    assert_eq!(volume["within"], false);
}

/// The breast plan's RT Dose carries Eclipse's nine DVHs (opt-in with the shared data, as in
/// tests/shared_data.rs): every one is matched by ROI number, and the large organs agree.
#[test]
#[ignore]
fn the_breast_plans_embedded_dvhs_are_compared_by_roi_number() {
    let data = std::env::var("SBRT_SHARED_DATA").expect("SBRT_SHARED_DATA names shared/data");
    let out = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
        .args([
            "dvh",
            &format!("{data}/dicompyler-core"),
            "--format",
            "json",
        ])
        .arg("--embedded-tps-dvh")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &r["tps_agreement"];
    assert_eq!(t["structures"].as_array().unwrap().len(), 9, "{t}");
    assert!(t["unmatched"].as_array().unwrap().is_empty());
    for name in ["Heart", "Lt Lung", "Breast"] {
        let a = t["structures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["structure"] == name)
            .unwrap();
        assert_eq!(a["agrees"], true, "{a}");
    }
}

/// `check --tps-dvh`: an export of our own curves agrees; one whose cord is 10 % hotter is a
/// warning, and with `--require-tps-agreement` an ERROR (the cord has mandatory limits).
#[test]
fn check_compares_with_the_planning_system_and_can_require_agreement() {
    let case = crate::common::fixture("trial_pass");
    let out = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
        .args(["dvh", case.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let write = |file: &std::path::Path, cord_dose_factor: f64| {
        let mut text = String::new();
        for s in ours["structures"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            let factor = if name == "SpinalCord" {
                cord_dose_factor
            } else {
                1.0
            };
            text.push_str(&export(
                name,
                &floats(&s["cumulative"]["dose_gy"]),
                &floats(&s["cumulative"]["volume_cc"]),
                1.0,
                factor,
            ));
            text.push('\n');
        }
        std::fs::write(file, text).unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("same.txt");
    let hot = dir.path().join("hot.txt");
    write(&same, 1.0);
    write(&hot, 1.1);

    let (code, json, err) = crate::common::check_json(
        &case,
        &[
            "--tps-dvh",
            same.to_str().unwrap(),
            "--require-tps-agreement",
        ],
    );
    assert_eq!(code, 0, "{err} {json}");
    let compared = json["tps_agreement"]["structures"].as_array().unwrap();
    assert!(compared.iter().any(|a| a["structure"] == "SpinalCord"));
    assert!(compared.iter().all(|a| a["agrees"] == true), "{compared:?}");

    let report = dir.path().join("report");
    let (code, json, _) = crate::common::check_json(
        &case,
        &[
            "--tps-dvh",
            hot.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    // The report's plot draws the planning system's curve beside ours, dashed.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("SpinalCord (planning system)"),
        "no TPS curve in the plot"
    );
    let warned = json["warnings"].to_string();
    assert!(
        warned.contains("SpinalCord (ROI 3) disagrees with the planning system's DVH: D0.035cc -"),
        "{warned}"
    );

    let (code, json, _) = crate::common::check_json(
        &case,
        &[
            "--tps-dvh",
            hot.to_str().unwrap(),
            "--require-tps-agreement",
        ],
    );
    assert_eq!(code, 3, "{json}");
    assert_eq!(json["verdict"], "ERROR");
    assert!(
        crate::common::errors(&json).contains("SpinalCord (ROI 3) disagrees"),
        "{json}"
    );

    let (code, _, err) = crate::common::check_json(&case, &["--require-tps-agreement"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--tps-dvh FILE or --embedded-tps-dvh"),
        "{err}"
    );
}
