//! Steps 1-3 of a check: the plan set's objects -> the plan to verify, the dose of the
//! whole plan, and the protocol's targets found among the ROIs, with every contradiction
//! between the plan and the protocol (FAIL) and every gap that stops evaluation (ERROR)
//! written into the outcome.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{CheckOutcome, TargetReport};
use crate::dicom::{
    DoseGrid, DoseReference, DoseSummation, DoseUnits, Plan, PlanSet, StructureSet,
};
use crate::protocol::names::{match_structure, Match, RoiName};
use crate::protocol::Protocol;
use crate::Result;

/// Prescribed doses equal within this, Gy.
pub const RX_TOLERANCE_GY: f64 = 0.01;

/// Step 1: the plan to verify, once the dose is in Gy and the plan is complete enough to
/// say what was prescribed (beams, one fraction group, a number of fractions). `None` when
/// there is no plan; the other gaps are errors in `out` and the check goes on to report
/// what it can.
pub fn usable_inputs<'a>(
    set: &'a PlanSet,
    dose: &DoseGrid,
    protocol: &Protocol,
    out: &mut CheckOutcome,
) -> Option<&'a Plan> {
    if dose.units != DoseUnits::Gy {
        out.errors.push(format!(
            "{}: DoseUnits is {}, not GY",
            crate::error::shown(&dose.path),
            dose.units.as_str()
        ));
    }
    let Some(plan) = set.plan.as_deref() else {
        out.errors.push(
            "no RT Plan linked: the fractions and prescription cannot be verified".to_string(),
        );
        return None;
    };
    if dose.referenced_plan_uid.as_deref() != Some(plan.sop_instance_uid.as_str()) {
        out.warnings
            .push("the RT Dose does not reference this RT Plan".to_string());
    }

    // Beams: an external-beam plan without them is incomplete (e.g. a cut file).
    let beams_declared = plan.fraction_groups.first().and_then(|g| g.number_of_beams);
    if plan.beams.is_empty() {
        out.errors
            .push("RT Plan has no beams (BeamSequence / IonBeamSequence is empty)".to_string());
    } else if let Some(n) = beams_declared.filter(|&n| n != plan.beams.len() as u64) {
        out.errors.push(format!(
            "RT Plan's fraction group says {n} beams, but the plan has {}",
            plan.beams.len()
        ));
    }

    // Fraction groups: a second group (a boost, a sequential phase) is more fractions
    // than the first group says, and the dose may hold either or both.
    if plan.fraction_groups.len() > 1 {
        out.errors.push(format!(
            "RT Plan has {} fraction groups: only a single-phase plan can be verified \
             (the fractions and the dose of each phase are not known apart)",
            plan.fraction_groups.len()
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
    Some(plan)
}

/// Step 2: the dose of the whole plan. A FRACTION dose is multiplied by the planned
/// fractions; a BEAM or other partial dose is refused (`None`, with the error in `out`).
pub fn scaled_dose<'a>(dose: &'a DoseGrid, out: &mut CheckOutcome) -> Option<Cow<'a, DoseGrid>> {
    match &dose.summation {
        DoseSummation::Plan => Some(Cow::Borrowed(dose)),
        DoseSummation::Fraction => match out.fractions_planned {
            Some(n) if n > 0 => {
                let mut d = dose.clone();
                d.values.mapv_inplace(|v| v * n as f32);
                out.dose_scale_factor = n as f64;
                out.warnings.push(format!(
                    "dose summation type FRACTION: the dose was multiplied by {n} fractions"
                ));
                Some(Cow::Owned(d))
            }
            _ => {
                out.errors
                    .push("FRACTION dose and no number of fractions to scale it by".to_string());
                None
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
            None
        }
    }
}

/// The dose references that prescribe: TARGET references with a prescription dose; point
/// references (calculation points) only when the plan has no other kind. Points left out
/// are said in the warnings.
fn prescribing_references<'a>(
    plan: &'a Plan,
    warnings: &mut Vec<String>,
) -> Vec<&'a DoseReference> {
    let prescribing: Vec<&DoseReference> = plan
        .dose_references
        .iter()
        .filter(|r| {
            r.target_prescription_dose_gy.is_some()
                && r.reference_type.as_deref().is_none_or(|t| t == "TARGET")
        })
        .collect();
    let (points, volumes): (Vec<&DoseReference>, Vec<&DoseReference>) = prescribing
        .iter()
        .partition(|r| matches!(r.structure_type.as_deref(), Some("POINT" | "COORDINATES")));
    if volumes.is_empty() {
        return points;
    }
    for r in &points {
        warnings.push(format!(
            "point dose reference '{}' ({} Gy) is not checked against the protocol's prescriptions",
            r.description.as_deref().unwrap_or("?"),
            r.target_prescription_dose_gy.unwrap_or(f64::NAN)
        ));
    }
    volumes
}

/// Step 3: the plan's prescriptions against the protocol's, and each protocol target
/// found among the ROIs (into `out.targets`). Returns the ROI number of each target found,
/// by role.
///
/// A dose reference that names an ROI (ReferencedROINumber) prescribes to that ROI: it
/// must exist (else ERROR) and be the protocol target of that dose (else FAIL).
pub fn prescriptions(
    plan: &Plan,
    ss: &StructureSet,
    rois: &[RoiName<'_>],
    protocol: &Protocol,
    mappings: &[(String, String)],
    out: &mut CheckOutcome,
) -> Result<BTreeMap<String, i64>> {
    let used = prescribing_references(plan, &mut out.warnings);
    let plan_rx: Vec<f64> = used
        .iter()
        .filter_map(|r| r.target_prescription_dose_gy)
        .collect();
    check_plan_doses(&plan_rx, protocol, out);
    let matched = find_targets(&plan_rx, ss, rois, protocol, mappings, out)?;
    check_referenced_rois(&used, ss, out);
    Ok(matched)
}

/// Two prescribed doses -> whether they are the same, within [`RX_TOLERANCE_GY`].
fn same_dose(a_gy: f64, b_gy: f64) -> bool {
    (a_gy - b_gy).abs() <= RX_TOLERANCE_GY
}

/// The plan's prescribed doses -> an ERROR when there is none, a FAIL for each the
/// protocol does not prescribe.
fn check_plan_doses(plan_rx: &[f64], protocol: &Protocol, out: &mut CheckOutcome) {
    if plan_rx.is_empty() {
        out.errors.push(
            "RT Plan states no prescription dose (TargetPrescriptionDose in DoseReferenceSequence): the prescription cannot be verified"
                .to_string(),
        );
    }
    for rx in plan_rx {
        if !protocol
            .prescriptions
            .iter()
            .any(|p| same_dose(p.total_gy, *rx))
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
}

/// Each protocol prescription -> its target among the ROIs (into `out.targets`), an ERROR
/// for a target the plan prescribes to but that is not found, and one when no target is
/// found at all. Returns the ROI number of each target found, by role.
fn find_targets(
    plan_rx: &[f64],
    ss: &StructureSet,
    rois: &[RoiName<'_>],
    protocol: &Protocol,
    mappings: &[(String, String)],
    out: &mut CheckOutcome,
) -> Result<BTreeMap<String, i64>> {
    let mut matched = BTreeMap::new();
    for p in &protocol.prescriptions {
        let names = protocol.names_of(&p.role).unwrap_or_default();
        let prescribed = plan_rx.iter().any(|rx| same_dose(p.total_gy, *rx));
        let roi = match match_structure(&names, rois, mappings, &p.role)? {
            Match::Found { roi, .. } => {
                matched.insert(p.role.clone(), roi);
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
    Ok(matched)
}

/// Dose references naming an ROI -> an ERROR for an ROI the structure set lacks, a FAIL
/// for an ROI that is not the protocol target of that dose (a reference prescribes to the
/// ROI it names).
fn check_referenced_rois(used: &[&DoseReference], ss: &StructureSet, out: &mut CheckOutcome) {
    for r in used {
        let (Some(n), Some(rx)) = (r.referenced_roi_number, r.target_prescription_dose_gy) else {
            continue;
        };
        let Some(roi) = ss.roi(n) else {
            out.errors.push(format!(
                "RT Plan prescribes {rx} Gy to ROI number {n}, which the structure set does not have"
            ));
            continue;
        };
        match out.targets.iter().find(|t| t.roi_number == Some(n)) {
            Some(t) if !same_dose(t.total_gy, rx) => out.failures.push(format!(
                "RT Plan prescribes {rx} Gy to {} ({}); the protocol prescribes {} Gy",
                t.structure.as_deref().unwrap_or("?"),
                t.role,
                t.total_gy
            )),
            Some(_) => {}
            None => {
                let target_of_dose = out
                    .targets
                    .iter()
                    .find(|t| same_dose(t.total_gy, rx) && t.structure.is_some());
                out.failures.push(format!(
                    "RT Plan prescribes {rx} Gy to {} (ROI {n}), which is not {}",
                    roi.name,
                    match target_of_dose {
                        Some(t) => format!(
                            "the {} ({}, ROI {})",
                            t.role,
                            t.structure.as_deref().unwrap_or("?"),
                            t.roi_number.unwrap_or(0)
                        ),
                        None => "a target of the protocol".to_string(),
                    }
                ));
            }
        }
    }
}
