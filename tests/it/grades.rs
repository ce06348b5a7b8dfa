//! Trial deviation levels and headroom: a value beyond its limit but within the acceptable
//! one is an acceptable variation (PASS, listed first), beyond both a FAIL; every mandatory
//! row says at which uniform dose scale its status would change. And `protocol show --site`.

use std::path::Path;

use crate::common::{check_json, fixture, result, run};

/// A protocol for the phantom plans: PTV coverage `V100% >= limit` (with `acceptable` when
/// given) and a cord maximum of 100 Gy, both mandatory.
fn protocol(dir: &Path, name: &str, limit: f64, acceptable: Option<f64>) -> String {
    let acceptable = acceptable.map_or(String::new(), |a| format!("acceptable = \"{a:.3}%\"\n"));
    let text = format!(
        r#"[protocol]
name = "graded"
version = "1"

[[prescription]]
role = "PTV"
total_gy = 30
fractions = 5

[[prescription]]
role = "PGTV"
total_gy = 35
fractions = 5

[[structure]]
name = "SpinalCord"

[[constraint]]
structure = "PTV"
query = "V100%"
comparator = ">="
limit = "{limit:.3}%"
{acceptable}level = "mandatory"
source = "test"

[[constraint]]
structure = "SpinalCord"
query = "D0.035cc"
comparator = "<="
limit = "100Gy"
level = "mandatory"
source = "test"
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_value_within_the_acceptable_limit_is_a_variation_and_beyond_it_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let case = fixture("trial_underdosed");
    // The coverage this plan has, from a protocol it passes.
    let (code, json, err) = check_json(
        &case,
        &["--protocol", &protocol(tmp.path(), "p0.toml", 0.0, None)],
    );
    assert_eq!(code, 0, "{err} {json}");
    let coverage = result(&json, "PTV")["value"].as_f64().unwrap();
    assert!(coverage > 20.0 && coverage < 80.0, "{coverage}");
    assert_eq!(json["schema_version"], "2");

    // Limit above the value, acceptable below it: PASS with the variation listed first.
    let varied = protocol(tmp.path(), "p1.toml", coverage + 5.0, Some(coverage - 5.0));
    let (code, json, err) = check_json(&case, &["--protocol", &varied]);
    assert_eq!(code, 0, "{err} {json}");
    let r = result(&json, "PTV");
    assert_eq!(r["status"], "PASS");
    assert_eq!(r["grade"], "acceptable_variation");
    assert!((r["acceptable"].as_f64().unwrap() - (coverage - 5.0)).abs() < 1e-3);
    assert!(
        r["margin"].as_f64().unwrap() < 0.0,
        "margin to the per-protocol limit"
    );
    let first = json["warnings"][0].as_str().unwrap();
    assert!(
        first.starts_with("acceptable variation (mandatory): PTV V100%"),
        "{first}"
    );
    let (_, table, _) = run(&[
        "check".as_ref(),
        case.as_os_str(),
        "--protocol".as_ref(),
        varied.as_ref(),
    ]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("PTV") && l.contains("VARIATION")),
        "{table}"
    );

    // Both limits above the value: an unacceptable deviation, FAIL.
    let failed = protocol(tmp.path(), "p2.toml", coverage + 5.0, Some(coverage + 2.0));
    let (code, json, err) = check_json(&case, &["--protocol", &failed]);
    assert_eq!(code, 1, "{err} {json}");
    let r = result(&json, "PTV");
    assert_eq!(
        (r["status"].as_str(), r["grade"].as_str()),
        (Some("FAIL"), Some("unacceptable_deviation"))
    );
    // Headroom to the acceptable limit, which decides: coverage grows with the dose.
    assert_eq!(r["headroom"]["change"], "passes above");
    assert!(r["headroom"]["factor"].as_f64().unwrap() > 1.0);
}

#[test]
fn headroom_of_a_dose_limit_is_the_limit_over_the_value() {
    let tmp = tempfile::tempdir().unwrap();
    let p = protocol(tmp.path(), "p.toml", 0.0, None);
    let (code, json, err) = check_json(&fixture("trial_cord_overdose"), &["--protocol", &p]);
    assert_eq!(code, 0, "{err} {json}");
    let cord = result(&json, "SpinalCord");
    let value = cord["value"].as_f64().unwrap();
    let h = &cord["headroom"];
    assert_eq!(h["change"], "fails above");
    assert!(
        (h["factor"].as_f64().unwrap() - 100.0 / value).abs() < 1e-9,
        "{h}"
    );
    assert_eq!(cord["grade"], "per_protocol");
}

#[test]
fn protocol_show_at_a_site_lists_what_it_requires_and_checks() {
    let (code, out, err) = run(&[
        "protocol".as_ref(),
        "show".as_ref(),
        "nct06863584".as_ref(),
        "--site".as_ref(),
        "spine".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Site spine") && out.contains("requires: SpinalCord"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("SpinalCord")
            && l.contains("D0.035cc <= 25.3Gy")
            && l.contains("HyTEC")),
        "{out}"
    );
    assert!(
        !out.contains("A_Carotid"),
        "head-and-neck-only rows at the spine:\n{out}"
    );

    let (code, out, _) = run(&[
        "protocol".as_ref(),
        "show".as_ref(),
        "nct06863584".as_ref(),
        "--site".as_ref(),
        "head_neck".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let carotid: Vec<_> = json["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["structure"] == "A_Carotid_L")
        .collect();
    assert!(!carotid.is_empty());
    assert!(carotid
        .iter()
        .all(|c| c["sites"] == serde_json::json!(["head_neck"]) && c["level"] == "optimal"));

    let (code, _, err) = run(&[
        "protocol".as_ref(),
        "show".as_ref(),
        "nct06863584".as_ref(),
        "--site".as_ref(),
        "moon".as_ref(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no such site") && err.lines().count() == 1,
        "{err}"
    );
}

/// A constraint for one site only is neither evaluated nor computed at another: its organ is
/// then unused, and its DVH is not in the report.
#[test]
fn a_site_only_constraint_is_left_out_at_other_sites() {
    let tmp = tempfile::tempdir().unwrap();
    let base = protocol(tmp.path(), "base.toml", 0.0, None);
    let text = std::fs::read_to_string(&base).unwrap().replace(
        "limit = \"100Gy\"\n",
        "limit = \"100Gy\"\nsites = [\"pelvis\"]\n",
    ) + "\n[[site]]\nname = \"spine\"\n\n[[site]]\nname = \"pelvis\"\n";
    let path = tmp.path().join("sited.toml");
    std::fs::write(&path, text).unwrap();
    let case = fixture("trial_pass");
    let report = tmp.path().join("report");
    let (code, json, err) = check_json(
        &case,
        &[
            "--protocol",
            path.to_str().unwrap(),
            "--site",
            "spine",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err} {json}");
    assert!(json["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["structure"] != "SpinalCord"));
    assert!(
        json["unused_rois"].to_string().contains("SpinalCord"),
        "{json}"
    );
    let csv = std::fs::read_to_string(report.join("dvh.csv")).unwrap();
    assert!(
        !csv.lines().next().unwrap().contains("SpinalCord"),
        "computed anyway: {csv:.200}"
    );
    let (code, json, _) = check_json(
        &case,
        &["--protocol", path.to_str().unwrap(), "--site", "pelvis"],
    );
    assert_eq!(code, 0);
    assert_eq!(result(&json, "SpinalCord")["status"], "PASS");
}
