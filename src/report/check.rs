//! [`CheckOutcome`] -> the `check` report: JSON (a contract for planning scripts; fields in
//! the README) and a table for a physicist at a terminal.

use std::fmt::Write as _;

use serde::Serialize;

use super::inspect::PatientReport;
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
    /// Why the plan could not be evaluated (verdict ERROR).
    pub errors: Vec<String>,
    /// Plan facts that contradict the protocol (verdict FAIL).
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
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
            plan_file: set.plan.as_ref().map(|p| p.path.display().to_string()),
            plan_sop_instance_uid: set.plan.as_ref().map(|p| p.sop_instance_uid.clone()),
            label: set.plan.as_ref().and_then(|p| p.label.clone()),
            approval_status: set.plan.as_ref().and_then(|p| p.approval_status.clone()),
            fractions_planned: outcome.fractions_planned,
            dose_file: set.dose.as_ref().map(|d| d.path.display().to_string()),
            summation_type: set.dose.as_ref().map(|d| d.summation.as_str().to_string()),
            dose_scale_factor: outcome.dose_scale_factor,
            structure_set_file: set
                .structures
                .as_ref()
                .map(|s| s.path.display().to_string()),
            targets: outcome.targets.clone(),
        },
        results: outcome.results.clone(),
        not_present: outcome.not_present.clone(),
        errors: outcome.errors.clone(),
        failures: outcome.failures.clone(),
        warnings: outcome.warnings.clone(),
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

/// Status text for the table.
pub fn status_text(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::NotEvaluated => "NOT_EVALUATED",
    }
}

/// The report as a table.
pub fn render_table(r: &CheckReport) -> String {
    let mut o = String::new();
    let banner = match r.verdict {
        Verdict::Pass => "PASS: all mandatory limits met",
        Verdict::Fail => "FAIL: the plan misses the protocol",
        Verdict::Error => "ERROR: the plan could not be evaluated (not a pass)",
    };
    let _ = writeln!(o, "== {banner}");
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
        let _ = writeln!(
            o,
            "{:<16} {:<16} {:<28} {:>10} {:>10} {:>9} {:<13} {:<10} {}",
            c.structure,
            c.roi,
            c.constraint,
            num(c.value).to_string() + if c.unit.is_empty() { "" } else { " " } + &c.unit,
            num(c.limit),
            num(c.margin),
            status_text(c.status),
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
        let _ = writeln!(o, "ERROR: {e}");
    }
    for f in &r.failures {
        let _ = writeln!(o, "FAIL: {f}");
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    let _ = writeln!(o, "== {banner}");
    o
}
