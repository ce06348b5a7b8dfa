//! The analytic phantom fixtures (`fixtures/`, written by `sbrt-verify phantom`): computed
//! volumes and dose metrics against the exact slab-model answers in each `expected.json`.

use std::path::{Path, PathBuf};

use sbrt_verify::dicom;
use sbrt_verify::dvh::{self, indices::metric_value};
use sbrt_verify::protocol::parse_metric;
use sbrt_verify::raster::{EndCap, SamplingOptions};

/// Volume must be within 0.5 % of the exact slab-model value (issue acceptance).
const VOLUME_REL_TOL: f64 = 0.005;
/// Doses within 1 % or 0.1 Gy, whichever is larger (issue acceptance).
const DOSE_REL_TOL: f64 = 0.01;
const DOSE_ABS_TOL_GY: f64 = 0.1;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn analytic_cases() -> Vec<(PathBuf, serde_json::Value)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(fixtures()).expect("fixtures/ exists") {
        let dir = e.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("expected.json")) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if v["structures"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s.get("exact").is_some()))
        {
            out.push((dir, v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        out.len() >= 5,
        "expected the 5 analytic cases, found {}",
        out.len()
    );
    out
}

fn close_dose(got: f64, want: f64) -> bool {
    (got - want).abs() <= (DOSE_REL_TOL * want.abs()).max(DOSE_ABS_TOL_GY)
}

#[test]
fn analytic_cases_match_their_exact_answers() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let (mut worst_vol, mut worst_dose) = (0.0f64, 0.0f64);
    for (dir, expected) in analytic_cases() {
        let found = dicom::discover(std::slice::from_ref(&dir)).unwrap();
        let set = found.select(&dicom::Selection::default()).unwrap();
        let dose = set.dose.as_ref().unwrap();
        let ss = set.structures.as_ref().unwrap();
        for (cap_name, cap) in [("half", EndCap::Half), ("none", EndCap::None)] {
            let opts = SamplingOptions {
                end_cap: cap,
                ..Default::default()
            };
            for s in expected["structures"].as_array().unwrap() {
                let name = s["name"].as_str().unwrap();
                let roi = ss.rois.iter().find(|r| r.name == name).unwrap();
                let got = &dvh::compute(dose, &[roi], &opts)[0];
                assert!(got.complete(), "{name}: {:?}", got.error);
                let exact = &s["exact"][cap_name];
                let label = format!("{} {name} ({cap_name} caps)", dir.display());
                let vol = exact["volume_cc"].as_f64().unwrap();
                worst_vol = worst_vol.max(((got.volume_cc - vol) / vol).abs());
                if ((got.volume_cc - vol) / vol).abs() > VOLUME_REL_TOL {
                    failures.push(format!("{label}: volume {} vs {vol}", got.volume_cc));
                }
                for (key, value) in exact.as_object().unwrap() {
                    let want = value.as_f64().unwrap();
                    let have = match key.as_str() {
                        "volume_cc" => continue,
                        "min_gy" => got.min,
                        "max_gy" => got.max,
                        "mean_gy" => got.dvh.mean(),
                        k if k.starts_with('D') => metric_value(got, &parse_metric(k).unwrap()),
                        k if k.starts_with('V') && k.ends_with("Gy_cc") => {
                            let d: f64 = k[1..k.len() - 5].parse().unwrap();
                            let v = got.dvh.volume_at_dose_cc(d);
                            if (v - want).abs() > VOLUME_REL_TOL * vol + 1e-6 {
                                failures.push(format!("{label}: {k} {v} vs {want}"));
                            }
                            checked += 1;
                            continue;
                        }
                        _ => continue,
                    };
                    checked += 1;
                    // Where V(>= D) is flat at x over a dose interval, D_x is any dose in it.
                    let interval = s["ill_conditioned"][cap_name][key]
                        .as_array()
                        .map(|iv| (iv[0].as_f64().unwrap(), iv[1].as_f64().unwrap()));
                    match (have, interval) {
                        (Some(h), Some((lo, hi))) if h >= lo - 1e-9 && h <= hi + 1e-9 => {}
                        (Some(h), None) if close_dose(h, want) => {
                            worst_dose = worst_dose.max((h - want).abs());
                        }
                        (other, _) => failures.push(format!("{label}: {key} {other:?} vs {want}")),
                    }
                }
            }
        }
    }
    eprintln!(
        "analytic: {checked} values; worst volume error {:.2e} (relative), worst dose error {:.4} Gy",
        worst_vol, worst_dose
    );
    assert!(checked > 50, "only {checked} values checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `dvh --format json` of a fixture with extra options -> the first structure's volume (cc)
/// and the report's `interpolation`.
fn dvh_volume(case: &str, extra: &[&str]) -> (f64, String) {
    let dir = fixtures().join(case);
    let mut args: Vec<&std::ffi::OsStr> = vec!["dvh".as_ref(), dir.as_os_str()];
    args.extend(
        ["--format", "json"]
            .iter()
            .chain(extra)
            .map(|s| std::ffi::OsStr::new(*s)),
    );
    let (code, out, err) = crate::common::run(&args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        v["structures"][0]["volume_cc"].as_f64().unwrap(),
        v["interpolation"].as_str().unwrap().to_string(),
    )
}

#[test]
fn the_profile_interpolation_brings_a_contoured_sphere_near_its_true_volume() {
    // sphere_linear: r = 15 mm on 2.5 mm planes.
    let truth_cc = 4.0 / 3.0 * std::f64::consts::PI * 15f64.powi(3) / 1000.0;
    let (profile, said) = dvh_volume("sphere_linear", &[]);
    assert_eq!(said, "profile");
    let (midpoint, said) = dvh_volume("sphere_linear", &["--interpolation", "midpoint"]);
    assert_eq!(said, "midpoint");
    assert!((profile - truth_cc).abs() < 0.5 * (midpoint - truth_cc).abs());
    assert!(
        (profile - truth_cc).abs() / truth_cc < 0.003,
        "{profile} cc"
    );
}
