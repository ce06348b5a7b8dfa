//! A plan set and a protocol -> a verdict: PASS, FAIL or ERROR, with every constraint's value,
//! limit, margin and source.
//!
//! [`check`] runs these steps, each a function of its own:
//!
//! 1. **Inputs** ([`plan::usable_inputs`]): a dose in Gy, a structure set and a plan, linked
//!    without problems; the plan's beams and fraction groups are complete.
//! 2. **Scaled dose** ([`plan::scaled_dose`]): the dose of the whole plan (a FRACTION dose
//!    times the fractions; BEAM and other partial doses refused).
//! 3. **Prescriptions** ([`plan::prescriptions`]): the plan's fractions and prescribed doses
//!    against the protocol's, and each protocol target matched to its ROI (a dose reference
//!    naming an ROI must name that target).
//! 4. **Structures**: each protocol organ matched to at most one ROI ([`match_structure`]),
//!    then the treatment site chosen and its required structures checked ([`site::gate`]).
//! 5. **Quantities** ([`compute::needed`]): which DVHs, isodose volumes and D2cm values the
//!    constraints read.
//! 6. **One compute pass** ([`compute::run`]): all of them, in parallel, deterministic.
//! 7. **Evaluation** ([`evaluate::evaluate`]): each constraint from the computed values alone.
//! 8. **Verdict** ([`finish`]).
//!
//! It fails closed:
//!
//! - **ERROR** (exit 3) when the plan cannot be evaluated: unreadable input files,
//!   inconsistent inputs, no dose in Gy, no plan or structure set, a BEAM or MULTI_PLAN dose,
//!   a plan without a number of fractions or a prescription dose, no target, a target the
//!   plan prescribes but the structure set lacks, a target partly outside the dose grid;
//! - else **FAIL** (exit 1) when a mandatory limit is missed or the plan contradicts the
//!   protocol (fractions, prescribed doses, a prescription to another ROI than the target);
//! - else **ERROR** when a mandatory constraint could not be evaluated;
//! - else **PASS** (exit 0). Optimal limits missed are listed as warnings.

pub mod batch;
pub mod compute;
pub mod evaluate;
pub mod plan;
pub mod site;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::dicom::{DoseGrid, PlanSet, Roi, StructureSet};
use crate::dvh::tps::{TpsAgreement, TpsDvh, TpsSource};
use crate::dvh::StructureDvh;
use crate::error::ExitCode;
use crate::protocol::names::{match_structure, validate_mappings, Match, RoiName};
use crate::protocol::{Level, Protocol};
use crate::raster::SamplingOptions;
use crate::Result;

pub use evaluate::{ConstraintResult, DvhPoint, Grade, Headroom, Status};

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
    /// ROI names whose contour defects the user accepts (`--accept-defect`): their DVHs are
    /// computed from the usable contours, and the acceptance is recorded.
    pub accept_defects: Vec<String>,
    pub sampling: SamplingOptions,
    /// The treatment site (`--site`): a site name or alias of the protocol. Without it, the
    /// RT Plan's Treatment Sites choose the site.
    pub site: Option<String>,
    /// The planning system's DVHs to compare ours with (`--tps-dvh`, `--embedded-tps-dvh`).
    pub tps: Option<TpsSource>,
    /// A disagreement with the planning system's DVH (or none to compare) on a structure a
    /// mandatory constraint uses is an error, not a warning (`--require-tps-agreement`).
    pub require_tps_agreement: bool,
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
    /// The protocol site the plan was checked at (null for a protocol without sites).
    pub site: Option<String>,
    /// ROIs (by name, ROI-number order) that no evaluated constraint used: an organ the
    /// matcher did not recognise shows here.
    pub unused_rois: Vec<String>,
    /// Why the plan cannot be evaluated (non-empty -> ERROR).
    pub errors: Vec<String>,
    /// Plan facts that contradict the protocol (non-empty -> FAIL).
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
    /// What the user accepted against the default refusal, e.g. an ROI's contour defects.
    pub overrides: Vec<String>,
    /// Our DVHs against the planning system's, when asked for.
    pub tps_agreement: Option<TpsAgreement>,
    /// The planning system's curves of the structures compared (our DVH's name, curve), for
    /// plots; not part of the JSON.
    #[serde(skip)]
    pub tps_curves: Vec<(String, TpsDvh)>,
    /// The DVHs the check computed (ROI order of the constraints, then the external
    /// contour), for plots and CSV; not part of the JSON.
    #[serde(skip)]
    pub dvhs: Vec<StructureDvh>,
}

impl CheckOutcome {
    /// An outcome with nothing evaluated yet: the plan set's problems as errors and its
    /// warnings.
    fn start(set: &PlanSet) -> CheckOutcome {
        CheckOutcome {
            verdict: Verdict::Error,
            targets: Vec::new(),
            fractions_planned: None,
            dose_scale_factor: 1.0,
            results: Vec::new(),
            not_present: Vec::new(),
            site: None,
            unused_rois: Vec::new(),
            errors: set.problems.clone(),
            failures: Vec::new(),
            warnings: set.all_warnings(),
            overrides: set.overrides.clone(),
            tps_agreement: None,
            tps_curves: Vec::new(),
            dvhs: Vec::new(),
        }
    }

    /// The outcome of a plan set that could not be checked at all: ERROR with `reason`.
    pub fn not_checked(set: &PlanSet, reason: String) -> CheckOutcome {
        let mut out = CheckOutcome::start(set);
        out.errors.push(reason);
        out
    }
}

/// Checks one plan set against a protocol. `Err` only for usage problems (a `--map` naming
/// something that does not exist, two ROIs for one protocol structure); everything about
/// the data ends in the outcome.
pub fn check(set: &PlanSet, protocol: &Protocol, opts: &CheckOptions) -> Result<CheckOutcome> {
    let mut out = CheckOutcome::start(set);
    let Some((dose, ss)) = dose_and_structures(set, &mut out) else {
        return Ok(finish(out));
    };
    let rois = roi_names(ss);
    validate_mappings(&opts.mappings, &rois, &protocol.all_names())?;
    let structures = accept_defects(&ss.rois, &opts.accept_defects, &mut out)?;

    // 1-2. Inputs and the dose of the whole plan.
    let Some(plan) = plan::usable_inputs(set, dose, protocol, &mut out) else {
        return Ok(finish(out));
    };
    let Some(dose) = plan::scaled_dose(dose, &mut out) else {
        return Ok(finish(out));
    };

    // 3. Prescriptions and targets.
    let mut matched: BTreeMap<String, i64> =
        plan::prescriptions(plan, ss, &rois, protocol, &opts.mappings, &mut out)?;

    // 4. Organs at risk, then the site and the organs missing at it.
    match_organs(protocol, &rois, &opts.mappings, &mut matched, &mut out)?;
    let chosen = site::gate(protocol, opts, set, &rois, &matched, &mut out)?;
    keep_missing_organs_of_site(protocol, &mut out);

    // 5-6. Every quantity the constraints read, in one pass.
    let needs = compute::needed(
        protocol,
        ss,
        &matched,
        &out.targets,
        chosen,
        &mut out.warnings,
    );
    let mut computed = compute::run(&dose, &structures, &needs, &opts.sampling);
    accept_solid_defects(&mut computed.dvhs, &ss.rois, &opts.accept_defects, &mut out);
    report_computed(&computed, ss, &mut out);

    // 7. Evaluation, and what it leaves to say.
    out.results = evaluate_constraints(protocol, &computed, &matched, &out);
    warn_of_results(&mut out);
    if let Some(source) = &opts.tps {
        let mandatory = constrained_rois(protocol, &matched, &out, Some(Level::Mandatory));
        tps_agreement(
            source,
            &dose_path(set),
            &computed.dvhs,
            &ss.rois,
            &mandatory,
            opts.require_tps_agreement,
            &mut out,
        );
    }
    out.unused_rois = unused_rois(&rois, &constrained_rois(protocol, &matched, &out, None));
    out.dvhs = computed.dvhs;
    Ok(finish(out))
}

/// A plan set -> its dose and structure set, or `None` with an error in `out` for each one
/// missing.
fn dose_and_structures<'s>(
    set: &'s PlanSet,
    out: &mut CheckOutcome,
) -> Option<(&'s DoseGrid, &'s StructureSet)> {
    let (Some(dose), Some(ss)) = (set.dose.as_deref(), set.structures.as_deref()) else {
        if set.dose.is_none() {
            out.errors.push("no RT Dose".to_string());
        }
        if set.structures.is_none() {
            out.errors
                .push("no RT Structure Set linked to the dose".to_string());
        }
        return None;
    };
    Some((dose, ss))
}

/// A structure set -> the numbers and names of its ROIs, for matching.
fn roi_names(ss: &StructureSet) -> Vec<RoiName<'_>> {
    ss.rois
        .iter()
        .map(|r| RoiName {
            number: r.number,
            name: &r.name,
        })
        .collect()
}

/// Step 4: each protocol organ -> its ROI in `matched` (protocol name -> ROI number), or,
/// when a constraint reads it, its name in `out.not_present`. `Err` for two ROIs for one
/// organ.
fn match_organs(
    protocol: &Protocol,
    rois: &[RoiName<'_>],
    mappings: &[(String, String)],
    matched: &mut BTreeMap<String, i64>,
    out: &mut CheckOutcome,
) -> Result<()> {
    for s in &protocol.structures {
        let names = protocol.names_of(&s.name).unwrap_or_default();
        match match_structure(&names, rois, mappings, &s.name)? {
            Match::Found { roi, .. } => {
                matched.insert(s.name.clone(), roi);
            }
            Match::NotPresent => {
                if protocol.constraints.iter().any(|c| c.structure == s.name) {
                    out.not_present.push(s.name.clone());
                }
            }
        }
    }
    Ok(())
}

/// Keeps in `out.not_present` only the organs a constraint at the chosen site reads.
fn keep_missing_organs_of_site(protocol: &Protocol, out: &mut CheckOutcome) {
    let site = out.site.clone();
    out.not_present.retain(|name| {
        protocol
            .constraints_at(site.as_deref())
            .any(|c| &c.structure == name)
    });
}

/// The computed DVHs -> their warnings and repairs in `out.warnings`, and an error for a
/// target that cannot be evaluated or lies partly outside the dose grid.
fn report_computed(computed: &compute::Computed, ss: &StructureSet, out: &mut CheckOutcome) {
    for d in &computed.dvhs {
        out.warnings
            .extend(d.warnings.iter().map(|w| format!("{}: {w}", d.name)));
        if let Some(r) = ss.roi(d.number).filter(|r| !r.repairs.is_empty()) {
            out.warnings
                .push(format!("{}: repaired: {}", d.name, r.repairs.join("; ")));
        }
    }
    for t in &out.targets {
        if let Some(d) = t.roi_number.and_then(|n| computed.dvh(n)) {
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
}

/// Step 7: each constraint at the chosen site whose structure has an ROI -> its result,
/// from the computed values alone.
fn evaluate_constraints(
    protocol: &Protocol,
    computed: &compute::Computed,
    matched: &BTreeMap<String, i64>,
    out: &CheckOutcome,
) -> Vec<ConstraintResult> {
    let plan_fractions = out
        .fractions_planned
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or_else(|| protocol.prescriptions.first().map_or(0, |p| p.fractions));
    let values = evaluate::Values {
        protocol,
        computed,
        targets: &out.targets,
        plan_fractions,
    };
    protocol
        .constraints_at(out.site.as_deref())
        .filter_map(|c| matched.get(&c.structure).map(|&roi| (c, roi)))
        .map(|(c, roi)| evaluate::evaluate(&values, c, roi))
        .collect()
}

/// The results -> warnings: acceptable variations first (before all others), then each
/// optimal constraint not evaluated or missed.
fn warn_of_results(out: &mut CheckOutcome) {
    let variations = out
        .results
        .iter()
        .filter(|r| r.grade == Some(evaluate::Grade::AcceptableVariation))
        .map(|r| {
            format!(
                "acceptable variation ({}): {} {} (value {}, acceptable limit {})",
                if r.level == Level::Mandatory {
                    "mandatory"
                } else {
                    "optimal"
                },
                r.structure,
                r.constraint,
                r.value.map_or("-".to_string(), |v| format!("{v:.3}")),
                r.acceptable.map_or("-".to_string(), |v| format!("{v:.3}"))
            )
        })
        .collect::<Vec<_>>();
    out.warnings.splice(0..0, variations);
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
}

/// The ROI numbers of the constraints at the chosen site (of `level` only, when given), in
/// constraint order.
fn constrained_rois(
    protocol: &Protocol,
    matched: &BTreeMap<String, i64>,
    out: &CheckOutcome,
    level: Option<Level>,
) -> Vec<i64> {
    protocol
        .constraints_at(out.site.as_deref())
        .filter(|c| level.is_none_or(|l| c.level == l))
        .filter_map(|c| matched.get(&c.structure).copied())
        .collect()
}

/// The ROIs and the ROI numbers the constraints used -> the names of the others, in ROI
/// number order.
fn unused_rois(rois: &[RoiName<'_>], used: &[i64]) -> Vec<String> {
    let mut unused: Vec<&RoiName<'_>> = rois.iter().filter(|r| !used.contains(&r.number)).collect();
    unused.sort_by_key(|r| r.number);
    unused.iter().map(|r| r.name.to_string()).collect()
}

/// The ROIs to compute, with the contour defects of reading that the user accepted by ROI
/// name moved out of the way (each acceptance recorded in `out.overrides`). A name that is
/// no ROI is a usage error.
fn accept_defects<'a>(
    rois: &'a [Roi],
    accepted: &[String],
    out: &mut CheckOutcome,
) -> Result<Cow<'a, [Roi]>> {
    if accepted.is_empty() {
        return Ok(Cow::Borrowed(rois));
    }
    let mut owned = rois.to_vec();
    for name in accepted {
        if !owned.iter().any(|r| names_roi(name, r)) {
            return Err(crate::Error::usage(format!(
                "--accept-defect '{name}': the structure set has no ROI of that name"
            )));
        }
        for r in owned
            .iter_mut()
            .filter(|r| names_roi(name, r) && !r.defects.is_empty())
        {
            out.overrides
                .push(accepted_text(&r.name, r.number, &r.defects));
            r.defects.clear();
        }
    }
    Ok(Cow::Owned(owned))
}

/// The defects found building the solids of the ROIs the user accepted (a missing plane
/// inside a piece, a contour crossing itself) no longer stop their evaluation; each
/// acceptance is recorded. An accepted ROI with no defect at all is a warning.
fn accept_solid_defects(
    dvhs: &mut [StructureDvh],
    rois: &[Roi],
    accepted: &[String],
    out: &mut CheckOutcome,
) {
    for name in accepted {
        let mut any = rois
            .iter()
            .any(|r| names_roi(name, r) && !r.defects.is_empty());
        for d in dvhs.iter_mut().filter(|d| d.name.trim() == name.trim()) {
            if d.accept_defects() {
                out.overrides
                    .push(accepted_text(&d.name, d.number, &d.defects));
                any = true;
            }
        }
        if !any {
            out.warnings.push(format!(
                "--accept-defect '{name}': the ROI has no contour defect to accept"
            ));
        }
    }
}

/// The RT Dose file of a plan set (empty when there is none).
fn dose_path(set: &PlanSet) -> std::path::PathBuf {
    set.dose
        .as_ref()
        .map(|d| d.path.clone())
        .unwrap_or_default()
}

/// Compares the computed DVHs with the planning system's. A disagreement is a warning, or,
/// with `require`, an error when the ROI is among `mandatory` (so is a mandatory ROI the
/// planning system gave no DVH for). DVHs that cannot be read are an error: they were
/// asked for.
fn tps_agreement(
    source: &TpsSource,
    dose_path: &std::path::Path,
    dvhs: &[StructureDvh],
    rois: &[Roi],
    mandatory: &[i64],
    require: bool,
    out: &mut CheckOutcome,
) {
    let (file, curves, skipped) = match crate::dvh::tps::load(source, dose_path) {
        Ok(loaded) => loaded,
        Err(e) => {
            out.errors
                .push(format!("the planning system's DVHs cannot be read: {e}"));
            return;
        }
    };
    let mut agreement = crate::dvh::tps::agreement(file, dvhs, rois, &curves, skipped);
    // A check computes only the structures it evaluates: the planning system's other DVHs
    // are not "unmatched" (only its items left out are listed).
    agreement
        .unmatched
        .retain(|u| !curves.iter().any(|c| &c.name == u));
    for d in dvhs.iter().filter(|d| d.error.is_none()) {
        let needed = require && mandatory.contains(&d.number);
        let found = agreement.structures.iter().find(|a| a.structure == d.name);
        let problem = match found {
            None if needed => Some(format!(
                "{} (ROI {}): the planning system gives no DVH to compare",
                d.name, d.number
            )),
            Some(a) if !a.agrees => Some(format!(
                "{} (ROI {}) disagrees with the planning system's DVH: {}{}",
                d.name,
                d.number,
                a.disagreements(),
                a.note.as_ref().map_or(String::new(), |n| format!("; {n}"))
            )),
            _ => None,
        };
        match problem {
            Some(p) if needed => out.errors.push(format!("{p} (--require-tps-agreement)")),
            Some(p) => out.warnings.push(p),
            None => {}
        }
    }
    out.tps_curves = dvhs
        .iter()
        .filter_map(|d| {
            crate::dvh::tps::curve_for(&curves, d, rois).map(|t| (d.name.clone(), t.clone()))
        })
        .collect();
    out.tps_agreement = Some(agreement);
}

/// True when `--accept-defect NAME` designates ROI `r` (exports pad names with spaces).
fn names_roi(name: &str, r: &Roi) -> bool {
    r.name == name || r.name.trim() == name.trim()
}

fn accepted_text(name: &str, number: i64, defects: &[String]) -> String {
    format!(
        "contour defects of {name} (ROI {number}) accepted with --accept-defect: {}",
        defects.join("; ")
    )
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

/// Step 8, the verdict: ERROR on any error, else FAIL on a plan contradiction or a
/// mandatory limit missed, else ERROR on a mandatory constraint not evaluated (or none
/// evaluated at all), else PASS.
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
