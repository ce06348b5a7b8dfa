//! A batch check's outcomes -> one [`BatchRecord`] per plan set, shown as a summary line
//! (terminal), a JSON object per line (`batch.jsonl`, a contract) and a CSV row
//! (`batch.csv`). Patient identifiers are masked unless asked for.

use std::fmt::Write as _;
use std::path::{Component, Path};

use serde::Serialize;

use super::check::verdict_tone;
use super::dvh::csv_field;
use super::inspect::PatientReport;
use super::term::{paint, Tone};
use super::SCHEMA_VERSION;
use crate::check::{CheckOutcome, Status, Verdict};
use crate::dicom::PlanSet;
use crate::protocol::Level;

/// One plan set of a batch.
#[derive(Debug, Serialize)]
pub struct BatchRecord {
    pub schema_version: &'static str,
    /// 1-based, in plan-set order.
    pub index: usize,
    pub title: String,
    pub dose_file: Option<String>,
    pub plan_file: Option<String>,
    /// `***` unless `--show-phi`.
    pub patient: PatientReport,
    pub verdict: Verdict,
    pub exit_code: u8,
    /// Mandatory constraints missed.
    pub failing: Vec<FailingConstraint>,
    /// Optimal limits missed (warnings: they decide no verdict).
    pub missed_optimal: Vec<FailingConstraint>,
    /// Plan facts that contradict the protocol (fractions, prescription).
    pub failures: Vec<String>,
    /// Why the plan set could not be evaluated, including mandatory constraints that were
    /// not evaluated (`NOT EVALUATED: structure constraint: reason`).
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// A constraint the plan misses.
#[derive(Debug, Serialize)]
pub struct FailingConstraint {
    pub structure: String,
    pub roi: String,
    pub constraint: String,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub unit: &'static str,
    pub margin: Option<f64>,
}

/// Builds the record of plan set number `index` (1-based).
pub fn record(index: usize, set: &PlanSet, outcome: &CheckOutcome, show_phi: bool) -> BatchRecord {
    let (name, id) = set.patient().display(show_phi);
    let mandatory = outcome
        .results
        .iter()
        .filter(|c| c.level == Level::Mandatory);
    let missed = |level: Level| {
        outcome
            .results
            .iter()
            .filter(|c| c.level == level && c.status == Status::Fail)
            .map(|c| FailingConstraint {
                structure: c.structure.clone(),
                roi: c.roi.clone(),
                constraint: c.constraint.clone(),
                value: c.value,
                limit: c.limit,
                unit: c.unit,
                margin: c.margin,
            })
            .collect()
    };
    let mut errors = outcome.errors.clone();
    errors.extend(
        mandatory
            .clone()
            .filter(|c| c.status == Status::NotEvaluated)
            .map(|c| {
                format!(
                    "NOT EVALUATED: {} {}: {}",
                    c.structure,
                    c.constraint,
                    c.reason.as_deref().unwrap_or("-")
                )
            }),
    );
    BatchRecord {
        schema_version: SCHEMA_VERSION,
        index,
        title: set.title(),
        dose_file: set.dose.as_ref().map(|d| crate::error::shown(&d.path)),
        plan_file: set.plan.as_ref().map(|p| crate::error::shown(&p.path)),
        patient: PatientReport { name, id },
        verdict: outcome.verdict,
        exit_code: outcome.verdict.exit_code() as u8,
        failing: missed(Level::Mandatory),
        missed_optimal: missed(Level::Optimal),
        failures: outcome.failures.clone(),
        errors,
        warnings: outcome.warnings.clone(),
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Error => "ERROR",
    }
}

fn missed_text(c: &FailingConstraint) -> String {
    format!(
        "{} {} ({}{}{})",
        c.structure,
        c.constraint,
        c.value.map_or("-".to_string(), |v| format!("{v:.3}")),
        if c.unit.is_empty() { "" } else { " " },
        c.unit
    )
}

fn failing_texts(r: &BatchRecord) -> Vec<String> {
    r.failing
        .iter()
        .map(missed_text)
        .chain(r.failures.iter().cloned())
        .collect()
}

/// `VERDICT  title  dose-file  errors: ... | failing: ...` (one line; `failing: none` when
/// there is nothing to say).
pub fn summary_line(r: &BatchRecord, color: bool) -> String {
    let mut detail = Vec::new();
    if !r.errors.is_empty() {
        detail.push(format!("errors: {}", r.errors.join("; ")));
    }
    let failing = failing_texts(r);
    if !failing.is_empty() {
        detail.push(format!("failing: {}", failing.join("; ")));
    }
    if detail.is_empty() {
        detail.push("failing: none".to_string());
    }
    if !r.missed_optimal.is_empty() {
        let texts: Vec<String> = r.missed_optimal.iter().map(missed_text).collect();
        detail.push(format!(
            "{}: {}",
            paint("MISS (optimal)", Tone::Warn, color),
            texts.join("; ")
        ));
    }
    let line = format!(
        "{}  {}  {}  {}",
        paint(
            &format!("{:<5}", verdict_word(r.verdict)),
            verdict_tone(r.verdict),
            color
        ),
        r.title,
        r.dose_file.as_deref().unwrap_or("-"),
        detail.join(" | ")
    );
    // One line, whatever the data holds.
    line.replace(['\n', '\r'], " ")
}

/// `total: N plan sets: a PASS, b FAIL, c ERROR; worst verdict V (exit code)`.
pub fn total_line(records: &[BatchRecord], worst: Verdict, color: bool) -> String {
    let count = |v: Verdict| records.iter().filter(|r| r.verdict == v).count();
    format!(
        "total: {}: {} PASS, {} FAIL, {} ERROR; worst verdict {} (exit code {})",
        super::plural(records.len(), "plan set"),
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Error),
        paint(verdict_word(worst), verdict_tone(worst), color),
        worst.exit_code() as u8
    )
}

/// One JSON object per line.
pub fn render_jsonl(records: &[BatchRecord]) -> String {
    let mut o = String::new();
    for r in records {
        o.push_str(&serde_json::to_string(r).expect("record serializes"));
        o.push('\n');
    }
    o
}

/// CSV: a header, then one row per plan set; lists are joined with `; `.
pub fn render_csv(records: &[BatchRecord]) -> String {
    let mut o = String::from(
        "index,verdict,title,dose_file,plan_file,patient_name,patient_id,failing,errors,warnings\n",
    );
    for r in records {
        let fields = [
            r.index.to_string(),
            verdict_word(r.verdict).to_string(),
            r.title.clone(),
            r.dose_file.clone().unwrap_or_default(),
            r.plan_file.clone().unwrap_or_default(),
            r.patient.name.clone(),
            r.patient.id.clone(),
            failing_texts(r).join("; "),
            r.errors.join("; "),
            r.warnings.len().to_string(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = writeln!(o, "{}", row.join(","));
    }
    o
}

/// The report folder of plan set number `index` (1-based): `NNN-FOLDER`, FOLDER being the
/// plan set's folder relative to its root ([`crate::check::batch::folder_label`]), its
/// parts joined by `-`, every character but ASCII letters, digits, `.`, `_` and `-` as `_`,
/// at most 60 characters (`001-trial_pass`). Never named from the data (plan label,
/// patient), which may identify the patient.
pub fn folder_name(index: usize, folder: &Path) -> String {
    let joined = folder
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("-");
    let safe: String = joined
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let safe = safe.trim_start_matches('.');
    format!("{index:03}-{}", if safe.is_empty() { "plan" } else { safe })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(title: &str, verdict: Verdict) -> BatchRecord {
        BatchRecord {
            schema_version: SCHEMA_VERSION,
            index: 7,
            title: title.to_string(),
            dose_file: Some("d/RD.dcm".into()),
            plan_file: None,
            patient: PatientReport {
                name: "***".into(),
                id: "***".into(),
            },
            verdict,
            exit_code: verdict.exit_code() as u8,
            failing: vec![],
            missed_optimal: vec![],
            failures: vec![],
            errors: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn folder_names_are_safe_for_any_folder() {
        let name = |p: &str| folder_name(7, Path::new(p));
        assert_eq!(name("trial_pass"), "007-trial_pass");
        assert_eq!(name("site A/plan 2"), "007-site_A-plan_2");
        let evil = name("../../etc/passwd");
        assert!(!evil.contains('/') && evil.starts_with("007-"), "{evil}");
        assert_eq!(evil, "007-etc-passwd");
        assert_eq!(name(""), "007-plan");
        assert_eq!(name(".hidden"), "007-hidden");
        assert_eq!(name(&"x".repeat(200)).len(), 64);
    }

    #[test]
    fn lines_rows_and_json_lines() {
        let mut r = rec("a,\"b\"\nc", Verdict::Error);
        r.errors = vec!["no RT Plan".into(), "two\nlines".into()];
        r.failures = vec!["RT Plan has 3 fractions".into()];
        let line = summary_line(&r, false);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("ERROR  a,\"b\" c  d/RD.dcm  errors: no RT Plan; two lines"));
        assert!(
            line.ends_with("| failing: RT Plan has 3 fractions"),
            "{line}"
        );
        assert!(summary_line(&rec("P", Verdict::Pass), false).ends_with("failing: none"));
        let mut p = rec("P", Verdict::Pass);
        p.missed_optimal = vec![FailingConstraint {
            structure: "PTV".into(),
            roi: "PTV".into(),
            constraint: "CI_RTOG < 1.2".into(),
            value: Some(1.5),
            limit: Some(1.2),
            unit: "",
            margin: Some(-0.3),
        }];
        let line = summary_line(&p, false);
        assert!(
            line.ends_with("failing: none | MISS (optimal): PTV CI_RTOG < 1.2 (1.500)"),
            "{line}"
        );
        assert!(!line.contains("FAIL "), "{line}");
        let csv = render_csv(&[r]);
        let row = csv.split_once('\n').unwrap().1;
        assert!(
            row.starts_with("7,ERROR,\"a,\"\"b\"\"\nc\",d/RD.dcm,,***,***,"),
            "{row}"
        );
        let jsonl = render_jsonl(&[rec("P", Verdict::Pass), rec("Q", Verdict::Fail)]);
        assert_eq!(jsonl.lines().count(), 2);
        let v: serde_json::Value = serde_json::from_str(jsonl.lines().nth(1).unwrap()).unwrap();
        assert_eq!(v["verdict"], "FAIL");
        assert_eq!(v["exit_code"], 1);
    }
}
