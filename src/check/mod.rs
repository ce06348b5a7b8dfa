//! A plan set and a protocol -> a verdict: PASS, FAIL or ERROR, with every constraint's value,
//! limit, margin and source.
//!
//! Steps: check the inputs can be evaluated (dose in Gy, plan and structure set linked, dose
//! summation usable); match the protocol's targets and organs to ROIs by name; check the
//! plan against the protocol's prescriptions (fractions, prescribed doses); compute the DVH
//! of every ROI a constraint needs (in parallel); evaluate each constraint
//! ([`evaluate`]); decide the verdict. It fails closed:
//!
//! - **ERROR** (exit 3) when the plan cannot be evaluated: unreadable input files,
//!   inconsistent inputs, no dose in Gy, no plan or structure set, a BEAM or MULTI_PLAN dose,
//!   a plan without a number of fractions or a prescription dose, no target, a target the
//!   plan prescribes but the structure set lacks, a target partly outside the dose grid;
//! - else **FAIL** (exit 1) when a mandatory limit is missed or the plan contradicts the
//!   protocol (fractions, prescribed doses);
//! - else **ERROR** when a mandatory constraint could not be evaluated;
//! - else **PASS** (exit 0). Optimal limits missed are listed as warnings.

pub mod batch;
pub mod evaluate;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::dicom::{DoseGrid, DoseSummation, DoseUnits, PlanSet, Roi};
use crate::dvh::{self, StructureDvh};
use crate::error::ExitCode;
use crate::protocol::names::{match_structure, validate_mappings, Match, MatchKind, RoiName};
use crate::protocol::{Level, Protocol};
use crate::raster::SamplingOptions;
use crate::Result;

pub use evaluate::{ConstraintResult, DvhPoint, Status};

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Fail,
    Error,
}

impl Verdict {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Verdict::Pass => ExitCode::Pass,
            Verdict::Fail => ExitCode::Fail,
            Verdict::Error => ExitCode::CannotEvaluate,
        }
    }
}

/// Options of a check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// `(ROI name, protocol structure name)` from `--map`.
    pub mappings: Vec<(String, String)>,
    pub sampling: SamplingOptions,
}

/// A target of the protocol as found in this plan.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub role: String,
    /// The ROI that is this target (null when absent).
    pub structure: Option<String>,
    pub roi_number: Option<i64>,
    pub total_gy: f64,
    pub fractions: u32,
    pub per_fraction_gy: f64,
    /// True when the RT Plan prescribes this dose.
    pub prescribed_by_plan: bool,
}

/// What the check found, before rendering.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub verdict: Verdict,
    pub targets: Vec<TargetReport>,
    pub fractions_planned: Option<u64>,
    /// The factor the stored dose was multiplied by (number of fractions for a FRACTION dose).
    pub dose_scale_factor: f64,
    pub results: Vec<ConstraintResult>,
    /// Protocol organs with no ROI in the structure set.
    pub not_present: Vec<String>,
    /// Why the plan cannot be evaluated (non-empty -> ERROR).
    pub errors: Vec<String>,
    /// Plan facts that contradict the protocol (non-empty -> FAIL).
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
    /// The DVHs the check computed (ROI order of the constraints, then the external
    /// contour), for plots and CSV; not part of the JSON.
    #[serde(skip)]
    pub dvhs: Vec<StructureDvh>,
}

impl CheckOutcome {
    /// The outcome of a plan set that could not be checked at all: ERROR with `reason`.
    pub fn not_checked(set: &PlanSet, reason: String) -> CheckOutcome {
        let mut errors = set.problems.clone();
        errors.push(reason);
        CheckOutcome {
            verdict: Verdict::Error,
            targets: Vec::new(),
            fractions_planned: None,
            dose_scale_factor: 1.0,
            results: Vec::new(),
            not_present: Vec::new(),
            errors,
            failures: Vec::new(),
            warnings: set.warnings.clone(),
            dvhs: Vec::new(),
        }
    }
}

/// Prescribed doses equal within this, Gy.
const RX_TOLERANCE_GY: f64 = 0.01;

/// Checks one plan set against a protocol. `Err` only for usage problems (a `--map` naming
/// something that does not exist); everything about the data ends in the outcome.
pub fn check(set: &PlanSet, protocol: &Protocol, opts: &CheckOptions) -> Result<CheckOutcome> {
    let mut out = CheckOutcome {
        verdict: Verdict::Error,
        targets: Vec::new(),
        fractions_planned: None,
        dose_scale_factor: 1.0,
        results: Vec::new(),
        not_present: Vec::new(),
        errors: set.problems.clone(),
        failures: Vec::new(),
        warnings: set.warnings.clone(),
        dvhs: Vec::new(),
    };
    let (Some(dose), Some(ss)) = (set.dose.as_ref(), set.structures.as_ref()) else {
        if set.dose.is_none() {
            out.errors.push("no RT Dose".to_string());
        }
        if set.structures.is_none() {
            out.errors
                .push("no RT Structure Set linked to the dose".to_string());
        }
        return Ok(finish(out));
    };
    let rois: Vec<RoiName<'_>> = ss
        .rois
        .iter()
        .map(|r| RoiName {
            number: r.number,
            name: &r.name,
        })
        .collect();
    validate_mappings(&opts.mappings, &rois, &protocol.all_names())?;

    if dose.units != DoseUnits::Gy {
        out.errors.push(format!(
            "{}: DoseUnits is {}, not GY",
            dose.path.display(),
            dose.units.as_str()
        ));
    }
    let Some(plan) = set.plan.as_ref() else {
        out.errors.push(
            "no RT Plan linked: the fractions and prescription cannot be verified".to_string(),
        );
        return Ok(finish(out));
    };
    if dose.referenced_plan_uid.as_deref() != Some(plan.sop_instance_uid.as_str()) {
        out.warnings
            .push("the RT Dose does not reference this RT Plan".to_string());
    }

    // Beams: an external-beam plan without them is incomplete (e.g. a cut file).
    let beams_declared: Option<u64> = plan.fraction_groups.first().and_then(|g| g.number_of_beams);
    if plan.beams.is_empty() {
        out.errors
            .push("RT Plan has no beams (BeamSequence / IonBeamSequence is empty)".to_string());
    } else if let Some(n) = beams_declared.filter(|&n| n != plan.beams.len() as u64) {
        out.errors.push(format!(
            "RT Plan's fraction group says {n} beams, but the plan has {}",
            plan.beams.len()
        ));
    }

    // Fractions: the plan's against the protocol's.
    let protocol_fractions = protocol.prescriptions.first().map_or(0, |p| p.fractions);
    out.fractions_planned = plan.fractions_planned();
    match out.fractions_planned {
        Some(n) if n == u64::from(protocol_fractions) => {}
        Some(n) => out.failures.push(format!(
            "RT Plan has {n} fractions; the protocol requires {protocol_fractions}"
        )),
        None => out.errors.push(
            "RT Plan states no number of fractions (NumberOfFractionsPlanned): the fractionation cannot be verified"
                .to_string(),
        ),
    }
    let plan_fractions = out
        .fractions_planned
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(protocol_fractions);

    // Dose summation.
    let scaled: Arc<DoseGrid>;
    let dose: &DoseGrid = match &dose.summation {
        DoseSummation::Plan => dose,
        DoseSummation::Fraction => match out.fractions_planned {
            Some(n) if n > 0 => {
                let mut d = DoseGrid::clone(dose);
                d.values.mapv_inplace(|v| v * n as f32);
                out.dose_scale_factor = n as f64;
                out.warnings.push(format!(
                    "dose summation type FRACTION: the dose was multiplied by {n} fractions"
                ));
                scaled = Arc::new(d);
                &scaled
            }
            _ => {
                out.errors
                    .push("FRACTION dose and no number of fractions to scale it by".to_string());
                return Ok(finish(out));
            }
        },
        other => {
            out.errors.push(format!(
                "dose summation type {} is not the whole plan's dose{}",
                other.as_str(),
                if *other == DoseSummation::Beam {
                    ": a single beam's dose is refused (sum the beams first)"
                } else {
                    ""
                }
            ));
            return Ok(finish(out));
        }
    };

    // Targets. Prescriptions are the TARGET dose references with a prescription dose; point
    // references (calculation points) count only when the plan has no other kind.
    let prescribing: Vec<&crate::dicom::DoseReference> = plan
        .dose_references
        .iter()
        .filter(|r| {
            r.target_prescription_dose_gy.is_some()
                && r.reference_type.as_deref().is_none_or(|t| t == "TARGET")
        })
        .collect();
    let (points, volumes): (Vec<&crate::dicom::DoseReference>, Vec<_>) = prescribing
        .iter()
        .partition(|r| matches!(r.structure_type.as_deref(), Some("POINT" | "COORDINATES")));
    let used = if volumes.is_empty() {
        points.clone()
    } else {
        volumes
    };
    if used.len() < prescribing.len() {
        for r in &points {
            out.warnings.push(format!(
                "point dose reference '{}' ({} Gy) is not checked against the protocol's prescriptions",
                r.description.as_deref().unwrap_or("?"),
                r.target_prescription_dose_gy.unwrap_or(f64::NAN)
            ));
        }
    }
    let plan_rx: Vec<f64> = used
        .iter()
        .filter_map(|r| r.target_prescription_dose_gy)
        .collect();
    if plan_rx.is_empty() {
        out.errors.push(
            "RT Plan states no prescription dose (TargetPrescriptionDose in DoseReferenceSequence): the prescription cannot be verified"
                .to_string(),
        );
    }
    for rx in &plan_rx {
        if !protocol
            .prescriptions
            .iter()
            .any(|p| (p.total_gy - rx).abs() <= RX_TOLERANCE_GY)
        {
            out.failures.push(format!(
                "RT Plan prescribes {rx} Gy; the protocol prescribes {}",
                protocol
                    .prescriptions
                    .iter()
                    .map(|p| format!("{} Gy to the {}", p.total_gy, p.role))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
    }
    let mut matched: BTreeMap<String, (i64, MatchKind)> = BTreeMap::new();
    for p in &protocol.prescriptions {
        let names = protocol.names_of(&p.role).unwrap_or_default();
        let found = match_structure(&names, &rois, &opts.mappings, &p.role)?;
        let prescribed = plan_rx
            .iter()
            .any(|rx| (p.total_gy - rx).abs() <= RX_TOLERANCE_GY);
        let roi = match found {
            Match::Found { roi, how } => {
                matched.insert(p.role.clone(), (roi, how));
                ss.roi(roi)
            }
            Match::NotPresent => {
                if prescribed {
                    out.errors.push(format!(
                        "the RT Plan prescribes {} Gy ({}) but no {} structure was found (names tried: {}); use --map",
                        p.total_gy,
                        p.role,
                        p.role,
                        names.join(", ")
                    ));
                }
                None
            }
        };
        out.targets.push(TargetReport {
            role: p.role.clone(),
            structure: roi.map(|r| r.name.clone()),
            roi_number: roi.map(|r| r.number),
            total_gy: p.total_gy,
            fractions: p.fractions,
            per_fraction_gy: p.dose_per_fraction_gy(),
            prescribed_by_plan: prescribed,
        });
    }
    if out.targets.iter().all(|t| t.structure.is_none()) {
        out.errors.push(format!(
            "no target found: none of the ROIs is a {}",
            protocol
                .prescriptions
                .iter()
                .map(|p| p.role.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    // A dose reference pointing at a target ROI must prescribe that target's dose.
    for r in &used {
        let (Some(n), Some(rx)) = (r.referenced_roi_number, r.target_prescription_dose_gy) else {
            continue;
        };
        if let Some(t) = out.targets.iter().find(|t| t.roi_number == Some(n)) {
            if (t.total_gy - rx).abs() > RX_TOLERANCE_GY {
                out.failures.push(format!(
                    "RT Plan prescribes {rx} Gy to {} ({}); the protocol prescribes {} Gy",
                    t.structure.as_deref().unwrap_or("?"),
                    t.role,
                    t.total_gy
                ));
            }
        }
    }

    // Organs at risk.
    for s in &protocol.structures {
        let names = protocol.names_of(&s.name).unwrap_or_default();
        match match_structure(&names, &rois, &opts.mappings, &s.name)? {
            Match::Found { roi, how } => {
                matched.insert(s.name.clone(), (roi, how));
            }
            Match::NotPresent => {
                if protocol.constraints.iter().any(|c| c.structure == s.name) {
                    out.not_present.push(s.name.clone());
                }
            }
        }
    }

    // DVHs of every ROI a constraint needs, plus the external contour for isodose volumes.
    let external = external_roi(&ss.rois, &mut out.warnings);
    // Every present target (checked below whatever the constraints), every ROI a constraint
    // names, and the external contour.
    let mut needed: Vec<&Roi> = Vec::new();
    let wanted = out
        .targets
        .iter()
        .filter_map(|t| t.roi_number)
        .chain(
            protocol
                .constraints
                .iter()
                .filter_map(|c| matched.get(&c.structure).map(|(n, _)| *n)),
        )
        .filter_map(|n| ss.roi(n))
        .chain(external);
    for r in wanted {
        if !needed.iter().any(|x| x.number == r.number) {
            needed.push(r);
        }
    }
    let dvhs: Vec<StructureDvh> = dvh::compute(dose, &needed, &opts.sampling);
    let by_roi: BTreeMap<i64, &StructureDvh> = dvhs.iter().map(|d| (d.number, d)).collect();

    for t in &out.targets {
        if let Some(d) = t.roi_number.and_then(|n| by_roi.get(&n)) {
            if let Some(e) = &d.error {
                out.errors.push(format!(
                    "target {} ({}) cannot be evaluated: {e}",
                    d.name, t.role
                ));
            } else if !d.complete() {
                out.errors.push(format!(
                    "target {} ({}) is {:.1} % outside the dose grid",
                    d.name,
                    t.role,
                    100.0 * d.outside_cc / d.volume_cc
                ));
            }
        }
    }

    let ctx = evaluate::Context {
        protocol,
        dose,
        rois: &ss.rois,
        dvhs: &by_roi,
        external: external.and_then(|e| by_roi.get(&e.number).copied()),
        targets: &out.targets,
        plan_fractions,
        sampling: &opts.sampling,
        d2cm_cache: Default::default(),
        isodose_cache: Default::default(),
    };
    for c in &protocol.constraints {
        let roi = matched.get(&c.structure).map(|(n, _)| *n);
        let is_target = protocol.is_target(&c.structure);
        match roi {
            Some(n) => out.results.push(evaluate::evaluate(&ctx, c, n)),
            // Targets not in the plan: their constraints do not apply (a prescribed but
            // missing target is an error above). Organs not present are listed.
            None if is_target => {}
            None => {}
        }
    }
    for r in &out.results {
        if r.status == Status::NotEvaluated && r.level == Level::Optimal {
            out.warnings.push(format!(
                "optimal constraint not evaluated: {} {} ({})",
                r.structure,
                r.constraint,
                r.reason.as_deref().unwrap_or("no reason given")
            ));
        }
        if r.status == Status::Fail && r.level == Level::Optimal {
            out.warnings.push(format!(
                "optimal limit missed: {} {} (value {})",
                r.structure,
                r.constraint,
                r.value.map_or("-".to_string(), |v| format!("{v:.3}"))
            ));
        }
    }
    out.dvhs = dvhs;
    Ok(finish(out))
}

/// Files under the checked paths that could not be read make the verdict ERROR: the plan
/// set may be missing the very object that was unreadable (e.g. the structure set the plan
/// references, replaced by another one in the same frame of reference).
pub fn add_unreadable_files(out: &mut CheckOutcome, file_errors: &[crate::Error]) {
    if file_errors.is_empty() {
        return;
    }
    for e in file_errors {
        out.errors.push(format!("unreadable input: {e}"));
    }
    out.verdict = Verdict::Error;
}

/// The external contour (RTROIInterpretedType EXTERNAL), for isodose volumes.
fn external_roi<'a>(rois: &'a [Roi], warnings: &mut Vec<String>) -> Option<&'a Roi> {
    let ext: Vec<&Roi> = rois
        .iter()
        .filter(|r| r.interpreted_type.as_deref() == Some("EXTERNAL") && !r.contours.is_empty())
        .collect();
    if ext.len() > 1 {
        warnings.push(format!(
            "{} EXTERNAL ROIs; {} is used for isodose volumes",
            ext.len(),
            ext[0].name
        ));
    }
    ext.first().copied()
}

fn finish(mut out: CheckOutcome) -> CheckOutcome {
    let mandatory = |s: Status| {
        out.results
            .iter()
            .any(|r| r.level == Level::Mandatory && r.status == s)
    };
    out.verdict = if !out.errors.is_empty() {
        Verdict::Error
    } else if !out.failures.is_empty() || mandatory(Status::Fail) {
        Verdict::Fail
    } else if mandatory(Status::NotEvaluated) {
        Verdict::Error
    } else if out.results.is_empty() {
        out.errors.push("no constraint was evaluated".to_string());
        Verdict::Error
    } else {
        Verdict::Pass
    };
    out
}
