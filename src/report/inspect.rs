//! [`Discovery`] -> the `inspect` report: one serializable value, shown as a table or JSON.
//!
//! The JSON is a contract (fields documented in the README); patient identifiers are masked
//! unless the caller asks for them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::plural;
use crate::dicom::{Discovery, DoseGrid, Plan, PlanSet, Roi, StructureSet};

/// Version of the JSON layout of every report; bumped only on purpose.
pub const SCHEMA_VERSION: &str = "2";

#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub schema_version: &'static str,
    pub files: usize,
    pub non_dicom_files: usize,
    /// Non-RT DICOM objects by modality (counted, not used).
    pub other_objects: BTreeMap<String, usize>,
    pub plan_sets: Vec<PlanSetReport>,
    /// Files that could not be read: one line each.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PatientReport {
    pub name: String,
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct PlanSetReport {
    pub index: usize,
    pub title: String,
    pub patient: PatientReport,
    pub frame_of_reference_uid: Option<String>,
    pub plan: Option<PlanReport>,
    pub prescriptions: Vec<PrescriptionReport>,
    pub dose: Option<DoseReport>,
    pub structure_set: Option<StructureSetReport>,
    pub warnings: Vec<String>,
    /// Inconsistencies that make this set impossible to evaluate.
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub file: String,
    pub sop_instance_uid: String,
    pub ion: bool,
    pub label: Option<String>,
    pub name: Option<String>,
    pub intent: Option<String>,
    pub approval_status: Option<String>,
    pub fractions_planned: Option<u64>,
    pub beams: usize,
    pub radiation_types: Vec<String>,
    pub machines: Vec<String>,
    pub referenced_structure_set_uid: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PrescriptionReport {
    pub description: Option<String>,
    /// DoseReferenceType: TARGET or ORGAN_AT_RISK.
    pub reference_type: Option<String>,
    /// DoseReferenceStructureType: POINT, VOLUME, COORDINATES or SITE.
    pub structure_type: Option<String>,
    pub roi_number: Option<i64>,
    pub roi_name: Option<String>,
    pub total_gy: Option<f64>,
    pub fractions: Option<u64>,
    pub per_fraction_gy: Option<f64>,
    pub delivery_maximum_gy: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct DoseReport {
    pub file: String,
    pub sop_instance_uid: String,
    pub columns: usize,
    pub rows: usize,
    pub frames: usize,
    /// Column (x), row (y) and slice (z) spacing; z is null when slices are uneven.
    pub spacing_mm: [Option<f64>; 3],
    /// Voxel-centre extent.
    pub extent_min_mm: [f64; 3],
    pub extent_max_mm: [f64; 3],
    /// Largest dose, in `units`.
    pub max_dose: f64,
    pub units: String,
    pub dose_type: Option<String>,
    pub summation_type: String,
    pub bits_allocated: u16,
    pub grid_scaling: f64,
    pub referenced_plan_uid: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StructureSetReport {
    pub file: String,
    pub sop_instance_uid: String,
    pub label: Option<String>,
    pub rois: Vec<RoiReport>,
}

#[derive(Debug, Serialize)]
pub struct RoiReport {
    pub number: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub interpreted_type: Option<String>,
    /// All contours, any geometric type.
    pub contours: usize,
    /// Contours that are not CLOSED_PLANAR (kept, not used for volumes).
    pub unused_contours: usize,
    pub planes: usize,
    pub z_min_mm: Option<f64>,
    pub z_max_mm: Option<f64>,
    pub defects: Vec<String>,
    /// What reading repaired (an exact duplicate contour removed, POINT markers ignored);
    /// left out when nothing was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<String>,
}

fn path_text(p: &std::path::Path) -> String {
    crate::error::shown(p)
}

/// Builds the report. `show_phi` decides whether patient identifiers appear.
pub fn build(d: &Discovery, show_phi: bool) -> InspectReport {
    InspectReport {
        schema_version: SCHEMA_VERSION,
        files: d.files,
        non_dicom_files: d.non_dicom,
        other_objects: d.other_objects.clone(),
        plan_sets: d
            .plan_sets
            .iter()
            .enumerate()
            .map(|(i, s)| plan_set(i + 1, s, show_phi))
            .collect(),
        errors: d.file_errors.iter().map(|e| e.to_string()).collect(),
        warnings: d.warnings.clone(),
    }
}

/// A plan set -> its `inspect` report: patient, frame of reference, plan, prescriptions,
/// dose and structure set, each summarized by a function of its own.
fn plan_set(index: usize, s: &PlanSet, show_phi: bool) -> PlanSetReport {
    let (name, id) = s.patient().display(show_phi);
    PlanSetReport {
        index,
        title: s.title(),
        patient: PatientReport { name, id },
        frame_of_reference_uid: frame_of_reference(s),
        plan: s.plan.as_deref().map(plan_report),
        prescriptions: prescriptions(s),
        dose: s.dose.as_deref().map(dose_report),
        structure_set: s.structures.as_deref().map(structure_set_report),
        warnings: s.all_warnings(),
        problems: s.problems.clone(),
    }
}

/// A plan set -> its frame of reference: the dose's, else the structure set's, else the
/// plan's.
fn frame_of_reference(s: &PlanSet) -> Option<String> {
    s.dose
        .as_ref()
        .and_then(|d| d.frame_of_reference_uid.clone())
        .or_else(|| {
            s.structures
                .as_ref()
                .and_then(|x| x.frame_of_reference_uid.clone())
        })
        .or_else(|| {
            s.plan
                .as_ref()
                .and_then(|p| p.frame_of_reference_uid.clone())
        })
}

/// A plan set -> its plan's dose references, each with its ROI's name and the dose per
/// fraction.
fn prescriptions(s: &PlanSet) -> Vec<PrescriptionReport> {
    let fractions = s.plan.as_ref().and_then(|p| p.fractions_planned());
    let roi_name = |n: i64| {
        s.structures
            .as_ref()
            .and_then(|ss| ss.roi(n))
            .map(|r| r.name.clone())
    };
    s.plan
        .iter()
        .flat_map(|p| p.dose_references.iter())
        .map(|r| PrescriptionReport {
            description: r.description.clone(),
            reference_type: r.reference_type.clone(),
            structure_type: r.structure_type.clone(),
            roi_number: r.referenced_roi_number,
            roi_name: r.referenced_roi_number.and_then(roi_name),
            total_gy: r.target_prescription_dose_gy,
            fractions,
            per_fraction_gy: match (r.target_prescription_dose_gy, fractions) {
                (Some(t), Some(f)) if f > 0 => Some(t / f as f64),
                _ => None,
            },
            delivery_maximum_gy: r.delivery_maximum_dose_gy,
        })
        .collect()
}

/// An RT Plan -> its summary: identity, fractions, beams, and their radiation types and
/// machines (sorted, each once).
fn plan_report(p: &Plan) -> PlanReport {
    let mut radiation_types: Vec<String> = p
        .beams
        .iter()
        .filter_map(|b| b.radiation_type.clone())
        .collect();
    radiation_types.sort();
    radiation_types.dedup();
    let mut machines: Vec<String> = p.beams.iter().filter_map(|b| b.machine.clone()).collect();
    machines.sort();
    machines.dedup();
    PlanReport {
        file: path_text(&p.path),
        sop_instance_uid: p.sop_instance_uid.clone(),
        ion: p.is_ion,
        label: p.label.clone(),
        name: p.name.clone(),
        intent: p.intent.clone(),
        approval_status: p.approval_status.clone(),
        fractions_planned: p.fractions_planned(),
        beams: p.beams.len(),
        radiation_types,
        machines,
        referenced_structure_set_uid: p.referenced_structure_set_uid.clone(),
    }
}

/// An RT Dose -> its summary: grid, extent, maximum, units and scaling.
fn dose_report(d: &DoseGrid) -> DoseReport {
    let g = &d.geometry;
    let (lo, hi) = g.extent_mm();
    DoseReport {
        file: path_text(&d.path),
        sop_instance_uid: d.sop_instance_uid.clone(),
        columns: g.columns,
        rows: g.rows,
        frames: g.frames,
        spacing_mm: [
            Some(g.column_spacing_mm),
            Some(g.row_spacing_mm),
            g.uniform_slice_spacing_mm(),
        ],
        extent_min_mm: lo,
        extent_max_mm: hi,
        max_dose: f64::from(d.max_value()),
        units: d.units.as_str().to_string(),
        dose_type: d.dose_type.as_ref().map(|t| t.as_str().to_string()),
        summation_type: d.summation.as_str().to_string(),
        bits_allocated: d.bits_allocated,
        grid_scaling: d.grid_scaling,
        referenced_plan_uid: d.referenced_plan_uid.clone(),
    }
}

/// An RT Structure Set -> its summary, with one line per ROI.
fn structure_set_report(ss: &StructureSet) -> StructureSetReport {
    StructureSetReport {
        file: path_text(&ss.path),
        sop_instance_uid: ss.sop_instance_uid.clone(),
        label: ss.label.clone(),
        rois: ss.rois.iter().map(roi_report).collect(),
    }
}

/// An ROI -> its summary: contours used and not, planes, z extent, defects and repairs.
fn roi_report(r: &Roi) -> RoiReport {
    let (closed, other) = r.contour_counts();
    let z = r.z_extent_mm();
    RoiReport {
        number: r.number,
        name: r.name.clone(),
        interpreted_type: r.interpreted_type.clone(),
        contours: closed + other,
        unused_contours: other,
        planes: r.planes().len(),
        z_min_mm: z.map(|z| z.0),
        z_max_mm: z.map(|z| z.1),
        defects: r.defects.clone(),
        repairs: r.repairs.clone(),
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

/// The report as text for a terminal.
pub fn render_table(r: &InspectReport) -> String {
    let mut o = String::new();
    let others: Vec<String> = r
        .other_objects
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let _ = writeln!(
        o,
        "{}: {}; other DICOM objects: {}; non-DICOM files: {}",
        plural(r.files, "file"),
        plural(r.plan_sets.len(), "plan set"),
        if others.is_empty() {
            "none".to_string()
        } else {
            others.join(", ")
        },
        r.non_dicom_files
    );
    for s in &r.plan_sets {
        write_plan_set(&mut o, s);
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    for e in &r.errors {
        let _ = writeln!(o, "error: {e}");
    }
    o
}

/// One plan set -> its lines: patient, plan, prescriptions, dose, structures, then its
/// warnings and problems.
fn write_plan_set(o: &mut String, s: &PlanSetReport) {
    let _ = writeln!(o, "\n== Plan set {}: {}", s.index, s.title);
    let _ = writeln!(o, "Patient: {} (ID {})", s.patient.name, s.patient.id);
    match &s.plan {
        Some(p) => write_plan(o, p),
        None => {
            let _ = writeln!(o, "Plan: none");
        }
    }
    for rx in &s.prescriptions {
        write_prescription(o, rx);
    }
    match &s.dose {
        Some(d) => write_dose(o, d),
        None => {
            let _ = writeln!(o, "Dose: none");
        }
    }
    match &s.structure_set {
        Some(ss) => write_structure_set(o, ss),
        None => {
            let _ = writeln!(o, "Structures: none");
        }
    }
    for w in &s.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    for p in &s.problems {
        let _ = writeln!(o, "PROBLEM: {p}");
    }
}

/// A plan -> its line: label, kind, file, approval, fractions, beams, radiation types and
/// machines.
fn write_plan(o: &mut String, p: &PlanReport) {
    let _ = writeln!(
        o,
        "Plan: {} [{}] {}, approval {}, {}, {} ({}; {})",
        opt(&p.label),
        if p.ion { "RT Ion Plan" } else { "RT Plan" },
        p.file,
        opt(&p.approval_status),
        p.fractions_planned.map_or_else(
            || "? fractions".to_string(),
            |n| plural(n as usize, "fraction")
        ),
        plural(p.beams, "beam"),
        p.radiation_types.join("/"),
        p.machines.join("/")
    );
}

/// A prescription -> its indented line: dose, fractions, dose per fraction and ROI.
fn write_prescription(o: &mut String, rx: &PrescriptionReport) {
    let _ = writeln!(
        o,
        "  Rx: {} ({}): {} Gy in {} = {} Gy/fx{}",
        opt(&rx.description),
        opt(&rx.reference_type),
        num(rx.total_gy, 2),
        rx.fractions.map_or_else(
            || "? fractions".to_string(),
            |n| plural(n as usize, "fraction")
        ),
        num(rx.per_fraction_gy, 2),
        rx.roi_name
            .as_ref()
            .map(|n| format!(", ROI {n}"))
            .unwrap_or_default()
    );
}

/// A dose -> its line: grid, spacing, extent, maximum, units and storage.
fn write_dose(o: &mut String, d: &DoseReport) {
    let _ = writeln!(
        o,
        "Dose: {} {}x{}x{} at {}x{}x{} mm, extent x {:.1}..{:.1} y {:.1}..{:.1} z {:.1}..{:.1} mm, max {:.2} {}, {} {}, {}-bit",
        d.file,
        d.columns,
        d.rows,
        d.frames,
        num(d.spacing_mm[0], 2),
        num(d.spacing_mm[1], 2),
        match (d.frames, d.spacing_mm[2]) {
            (1, _) => "(1 frame)".to_string(),
            (_, None) => "(uneven)".to_string(),
            (_, Some(v)) => format!("{v:.2}"),
        },
        d.extent_min_mm[0],
        d.extent_max_mm[0],
        d.extent_min_mm[1],
        d.extent_max_mm[1],
        d.extent_min_mm[2],
        d.extent_max_mm[2],
        d.max_dose,
        if d.units == "GY" { "Gy" } else { &d.units },
        opt(&d.dose_type),
        d.summation_type,
        d.bits_allocated
    );
}

/// A structure set -> its line and a table of its ROIs, each with its defects and repairs.
fn write_structure_set(o: &mut String, ss: &StructureSetReport) {
    let _ = writeln!(
        o,
        "Structures: {} ({} ROIs) {}",
        opt(&ss.label),
        ss.rois.len(),
        ss.file
    );
    let _ = writeln!(
        o,
        "  {:>4}  {:<24} {:<10} {:>8} {:>6} {:>18}",
        "#", "name", "type", "contours", "planes", "z extent (mm)"
    );
    for roi in &ss.rois {
        let z = match (roi.z_min_mm, roi.z_max_mm) {
            (Some(a), Some(b)) => format!("{a:.1}..{b:.1}"),
            _ => "-".to_string(),
        };
        let unused = if roi.unused_contours > 0 {
            format!(" ({} unused)", roi.unused_contours)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  {:>4}  {:<24} {:<10} {:>8} {:>6} {:>18}{}",
            roi.number,
            roi.name,
            opt(&roi.interpreted_type),
            roi.contours,
            roi.planes,
            z,
            unused
        );
        for d in &roi.defects {
            let _ = writeln!(o, "        ! {d}");
        }
        for r in &roi.repairs {
            let _ = writeln!(o, "        repaired: {r}");
        }
    }
}
