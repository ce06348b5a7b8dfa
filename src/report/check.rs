//! [`CheckOutcome`] -> the `check` report: JSON (a contract for planning scripts; fields in
//! the README) and a table for a physicist at a terminal.

use std::fmt::Write as _;

use serde::Serialize;

use super::inspect::PatientReport;
use super::plot::{render_svg, Curve, Marker, StructureCurve};
use super::term::{paint, Tone};
use super::SCHEMA_VERSION;
use crate::check::{CheckOutcome, ConstraintResult, Status, TargetReport, Verdict};
use crate::dicom::PlanSet;
use crate::protocol::Protocol;

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub schema_version: &'static str,
    pub verdict: Verdict,
    /// The process exit code that goes with the verdict.
    pub exit_code: u8,
    pub protocol: ProtocolInfo,
    pub plan: PlanInfo,
    pub results: Vec<ConstraintResult>,
    pub not_present: Vec<String>,
    /// The protocol site the plan was checked at (null without sites).
    pub site: Option<String>,
    /// ROIs no evaluated constraint used, in ROI-number order.
    pub unused_rois: Vec<String>,
    /// Why the plan could not be evaluated (verdict ERROR).
    pub errors: Vec<String>,
    /// Plan facts that contradict the protocol (verdict FAIL).
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
    /// What the user accepted against the tool's default refusals, one line each
    /// (`--accept-patient-mismatch`, `--accept-defect`).
    pub overrides: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ProtocolInfo {
    pub name: String,
    pub version: String,
    pub origin: String,
}

#[derive(Debug, Serialize)]
pub struct PlanInfo {
    pub title: String,
    pub patient: PatientReport,
    pub plan_file: Option<String>,
    pub plan_sop_instance_uid: Option<String>,
    pub label: Option<String>,
    pub approval_status: Option<String>,
    pub fractions_planned: Option<u64>,
    pub dose_file: Option<String>,
    pub summation_type: Option<String>,
    pub dose_scale_factor: f64,
    pub structure_set_file: Option<String>,
    pub targets: Vec<TargetReport>,
}

/// Builds the report.
pub fn build(
    set: &PlanSet,
    protocol: &Protocol,
    outcome: &CheckOutcome,
    show_phi: bool,
) -> CheckReport {
    let (name, id) = set.patient().display(show_phi);
    CheckReport {
        schema_version: SCHEMA_VERSION,
        verdict: outcome.verdict,
        exit_code: outcome.verdict.exit_code() as u8,
        protocol: ProtocolInfo {
            name: protocol.name.clone(),
            version: protocol.version.clone(),
            origin: protocol.origin.clone(),
        },
        plan: PlanInfo {
            title: set.title(),
            patient: PatientReport { name, id },
            plan_file: set.plan.as_ref().map(|p| crate::error::shown(&p.path)),
            plan_sop_instance_uid: set.plan.as_ref().map(|p| p.sop_instance_uid.clone()),
            label: set.plan.as_ref().and_then(|p| p.label.clone()),
            approval_status: set.plan.as_ref().and_then(|p| p.approval_status.clone()),
            fractions_planned: outcome.fractions_planned,
            dose_file: set.dose.as_ref().map(|d| crate::error::shown(&d.path)),
            summation_type: set.dose.as_ref().map(|d| d.summation.as_str().to_string()),
            dose_scale_factor: outcome.dose_scale_factor,
            structure_set_file: set
                .structures
                .as_ref()
                .map(|s| crate::error::shown(&s.path)),
            targets: outcome.targets.clone(),
        },
        results: outcome.results.clone(),
        not_present: outcome.not_present.clone(),
        site: outcome.site.clone(),
        unused_rois: outcome.unused_rois.clone(),
        errors: outcome.errors.clone(),
        failures: outcome.failures.clone(),
        warnings: outcome.warnings.clone(),
        overrides: outcome.overrides.clone(),
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

/// A result's value, limit and margin as text: 3 decimals, or as many more (up to 9) as it
/// takes for a value that differs from its limit to print differently, so that a strict
/// limit (`< 1.5`) never looks met at equality (`1.500 < 1.500`).
pub fn row_numbers(c: &ConstraintResult) -> [String; 3] {
    let mut digits = 3;
    if let (Some(v), Some(l)) = (c.value, c.limit) {
        while digits < 9 && v != l && format!("{v:.digits$}") == format!("{l:.digits$}") {
            digits += 1;
        }
    }
    let f = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"));
    [f(c.value), f(c.limit), f(c.margin)]
}

/// Status text for the table.
pub fn status_text(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::NotEvaluated => "NOT_EVALUATED",
    }
}

/// The verdict in one sentence, as the banners say it.
pub fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS: all mandatory limits met",
        Verdict::Fail => "FAIL: the plan misses the protocol",
        Verdict::Error => "ERROR: the plan could not be evaluated (not a pass)",
    }
}

/// The colour tone of a verdict.
pub fn verdict_tone(v: Verdict) -> Tone {
    match v {
        Verdict::Pass => Tone::Pass,
        Verdict::Fail => Tone::Fail,
        Verdict::Error => Tone::Error,
    }
}

fn status_tone(s: Status) -> Tone {
    match s {
        Status::Pass => Tone::Pass,
        Status::Fail => Tone::Fail,
        Status::NotEvaluated => Tone::Error,
    }
}

/// The report as a table; `color` adds ANSI colours to the verdict banner and statuses
/// (see [`super::term::use_color`]).
pub fn render_table(r: &CheckReport, color: bool) -> String {
    let mut o = String::new();
    let banner = paint(
        &format!("== {}", verdict_text(r.verdict)),
        verdict_tone(r.verdict),
        color,
    );
    let _ = writeln!(o, "{banner}");
    let _ = writeln!(
        o,
        "Protocol: {} v{} ({})",
        r.protocol.name, r.protocol.version, r.protocol.origin
    );
    let p = &r.plan;
    let _ = writeln!(
        o,
        "Plan: {} | patient {} (ID {}) | {} fractions | approval {} | dose {} ({}{})",
        p.title,
        p.patient.name,
        p.patient.id,
        p.fractions_planned
            .map_or_else(|| "?".to_string(), |n| n.to_string()),
        p.approval_status.as_deref().unwrap_or("-"),
        p.dose_file.as_deref().unwrap_or("-"),
        p.summation_type.as_deref().unwrap_or("-"),
        if p.dose_scale_factor != 1.0 {
            format!(" x{}", p.dose_scale_factor)
        } else {
            String::new()
        }
    );
    for t in &p.targets {
        let _ = writeln!(
            o,
            "Target {}: {} | {} Gy in {} fractions ({} Gy/fx){}",
            t.role,
            t.structure.as_deref().unwrap_or("(not present)"),
            t.total_gy,
            t.fractions,
            t.per_fraction_gy,
            if t.prescribed_by_plan {
                ", prescribed in the RT Plan"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        o,
        "\n{:<16} {:<16} {:<28} {:>10} {:>10} {:>9} {:<13} {:<10} source",
        "structure", "ROI", "constraint", "value", "limit", "margin", "status", "level"
    );
    for c in &r.results {
        let level = match c.level {
            crate::protocol::Level::Mandatory => "mandatory",
            crate::protocol::Level::Optimal => "optimal",
        };
        let numbers = row_numbers(c);
        let _ = writeln!(
            o,
            "{:<16} {:<16} {:<28} {:>10} {:>10} {:>9} {} {:<10} {}",
            c.structure,
            c.roi,
            c.constraint,
            numbers[0].clone() + if c.unit.is_empty() { "" } else { " " } + c.unit,
            numbers[1],
            numbers[2],
            paint(
                &format!("{:<13}", status_text(c.status)),
                status_tone(c.status),
                color
            ),
            level,
            c.source
        );
        if let Some(reason) = &c.reason {
            let _ = writeln!(o, "{:<16} ^ {reason}", "");
        }
    }
    if !r.not_present.is_empty() {
        let _ = writeln!(o, "\nNot present: {}", r.not_present.join(", "));
    }
    for e in &r.errors {
        let _ = writeln!(o, "{} {e}", paint("ERROR:", Tone::Error, color));
    }
    for f in &r.failures {
        let _ = writeln!(o, "{} {f}", paint("FAIL:", Tone::Fail, color));
    }
    for w in &r.warnings {
        let _ = writeln!(o, "{} {w}", paint("warning:", Tone::Warn, color));
    }
    for x in &r.overrides {
        let _ = writeln!(o, "{} {x}", paint("override:", Tone::Warn, color));
    }
    let _ = writeln!(o, "{banner}");
    o
}

/// Bin width of the DVH curves in plots and `dvh.csv`, Gy.
pub const CURVE_BIN_WIDTH_GY: f64 = 0.01;

/// The check's DVHs as an SVG plot: one curve per evaluated ROI (its display colour, else
/// the palette), volume in % of the part inside the dose grid, and a marker at each
/// constraint's point on its ROI's curve (green when it passes, red when it fails).
/// `None` when no DVH was computed (the check stopped before).
pub fn render_plot(set: &PlanSet, outcome: &CheckOutcome) -> Option<String> {
    let rois = set
        .structures
        .as_ref()
        .map(|s| s.rois.as_slice())
        .unwrap_or(&[]);
    let curves: Vec<Curve> = outcome
        .dvhs
        .iter()
        .filter(|d| d.error.is_none() && d.volume_cc > 0.0)
        .enumerate()
        .map(|(i, d)| {
            let (dose_gy, cumulative_cc) = d.dvh.cumulative(CURVE_BIN_WIDTH_GY);
            Curve::of_structure(StructureCurve {
                name: &d.name,
                color: rois
                    .iter()
                    .find(|r| r.number == d.number)
                    .and_then(|r| r.color),
                index: i,
                volume_cc: d.volume_cc,
                outside_cc: d.outside_cc,
                complete: d.complete(),
                dose_gy: &dose_gy,
                cumulative_cc: &cumulative_cc,
            })
        })
        .collect();
    if curves.is_empty() {
        return None;
    }
    let markers: Vec<Marker> = outcome
        .results
        .iter()
        .filter(|c| c.status != Status::NotEvaluated)
        .filter_map(|c| {
            let p = c.dvh_point?;
            Some(Marker {
                dose_gy: p.dose_gy,
                volume_percent: p.volume_percent,
                label: format!(
                    "{} ({}): {} -> {} {}: {}",
                    c.structure,
                    c.roi,
                    c.constraint,
                    num(c.value),
                    c.unit,
                    status_text(c.status)
                ),
                pass: c.status == Status::Pass,
            })
        })
        .collect();
    Some(render_svg(
        &format!("DVH: {}", set.title()),
        &curves,
        &markers,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_next_to_their_limit_get_enough_digits() {
        let mut c = ConstraintResult {
            structure: "PTV".into(),
            roi: "PTV".into(),
            constraint: "CI_RTOG < 1.5".into(),
            value: Some(1.49996),
            limit: Some(1.5),
            unit: "",
            margin: Some(0.00004),
            status: Status::Pass,
            level: crate::protocol::Level::Optimal,
            source: "s".into(),
            derived: false,
            note: None,
            reason: None,
            dvh_point: None,
        };
        let [v, l, m] = row_numbers(&c);
        assert_ne!(v, l);
        assert_eq!(
            (v.as_str(), l.as_str(), m.as_str()),
            ("1.49996", "1.50000", "0.00004")
        );
        c.value = Some(1.2);
        assert_eq!(row_numbers(&c)[0], "1.200");
    }
}
