//! [`CheckOutcome`] -> the `check` report: JSON (a contract for planning scripts; fields in
//! the README) and a table for a physicist at a terminal.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::inspect::PatientReport;
use super::plot::{render_svg, Curve, LimitMark, Marker, StructureCurve};
use super::plural;
use super::term::{paint, wrap, wrap_indented, Tone};
use super::SCHEMA_VERSION;
use crate::check::{CheckOutcome, ConstraintResult, Grade, Status, TargetReport, Verdict};
use crate::dicom::PlanSet;
use crate::protocol::{Level, Protocol, Query};

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
    /// Our DVHs against the planning system's (`--tps-dvh`, `--embedded-tps-dvh`; null
    /// otherwise).
    pub tps_agreement: Option<crate::dvh::tps::TpsAgreement>,
    /// The files of the checked plan set (RT Plan, RT Dose, RT Structure Set, those
    /// present), each with its SHA-256: which bytes the verdict is about.
    pub inputs: Vec<InputFile>,
}

/// One checked input file.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    /// The path as the user gave it (the folder given, joined with the file's name in it).
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex; null when it could not be read again.
    pub sha256: Option<String>,
}

/// SHA-256 of a file's bytes as lowercase hex; `None` when it cannot be read.
pub fn sha256_hex(path: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    Some(
        hasher
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut o, b| {
                let _ = write!(o, "{b:02x}");
                o
            }),
    )
}

/// The plan set's files in report order: RT Plan, RT Dose, RT Structure Set.
fn input_files(set: &PlanSet) -> Vec<InputFile> {
    [
        set.plan.as_ref().map(|p| p.path.as_path()),
        set.dose.as_ref().map(|d| d.path.as_path()),
        set.structures.as_ref().map(|s| s.path.as_path()),
    ]
    .into_iter()
    .flatten()
    .map(|p| InputFile {
        path: crate::error::shown(p),
        sha256: sha256_hex(p),
    })
    .collect()
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
    /// DoseType: PHYSICAL or EFFECTIVE (a dose corrected for a biological effect).
    pub dose_type: Option<String>,
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
            dose_type: set
                .dose
                .as_ref()
                .and_then(|d| d.dose_type.as_ref())
                .map(|t| t.as_str().to_string()),
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
        tps_agreement: outcome.tps_agreement.clone(),
        inputs: input_files(set),
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

/// Status text of the JSON and the plot labels.
pub fn status_text(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::NotEvaluated => "NOT_EVALUATED",
    }
}

/// A result's mark where a reader decides at a glance: an optimal limit missed is
/// `MISS (optimal)` (it does not decide a FAIL), never `FAIL`.
/// An acceptable variation (beyond the limit, within the acceptable one) is `VARIATION`.
pub fn mark(c: &ConstraintResult) -> &'static str {
    match (c.status, c.level) {
        (Status::Fail, Level::Optimal) => "MISS (optimal)",
        (Status::Pass, _) if c.grade == Some(Grade::AcceptableVariation) => "VARIATION",
        (s, _) => status_text(s),
    }
}

/// The colour tone of a result's [`mark`].
pub fn mark_tone(c: &ConstraintResult) -> Tone {
    match (c.status, c.level) {
        (Status::Pass, _) if c.grade == Some(Grade::AcceptableVariation) => Tone::Warn,
        (Status::Pass, _) => Tone::Pass,
        (Status::Fail, Level::Mandatory) => Tone::Fail,
        (Status::Fail, Level::Optimal) => Tone::Warn,
        (Status::NotEvaluated, _) => Tone::Error,
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

/// The report as a table; `color` adds ANSI colours to the verdict banner and marks (see
/// [`super::term::use_color`]); `width` fits every line to that many columns, long texts
/// wrapped inside their column (`None`: one table row per line, see
/// [`super::term::stdout_width`]).
pub fn render_table(r: &CheckReport, color: bool, width: Option<usize>) -> String {
    let mut o = String::new();
    let banner_text = format!("== {}", verdict_text(r.verdict));
    let banner = paint(&banner_text, verdict_tone(r.verdict), color);
    let _ = writeln!(o, "{banner}");
    write_summary(&mut o, r, width);
    o.push('\n');
    if r.results.is_empty() {
        write_line(&mut o, "No constraint was evaluated.", width);
    } else {
        render_results(&mut o, &r.results, color, width);
    }
    if let Some(h) = headroom_line(r) {
        o.push('\n');
        write_line(&mut o, &h, width);
    }
    if let Some(t) = &r.tps_agreement {
        super::dvh::render_tps_table(&mut o, t);
    }
    if !r.not_present.is_empty() {
        o.push('\n');
        write_line(
            &mut o,
            &format!("Not present: {}", r.not_present.join(", ")),
            width,
        );
    }
    write_recap(&mut o, r, color, width);
    let _ = writeln!(o, "{banner}");
    o
}

/// One line of text, wrapped to `width` with an indent of 2 for its continuation.
fn write_line(o: &mut String, text: &str, width: Option<usize>) {
    let _ = writeln!(o, "{}", wrap_indented(text, width, 2));
}

/// The report -> the lines above the table: protocol, plan, site and targets.
fn write_summary(o: &mut String, r: &CheckReport, width: Option<usize>) {
    write_line(
        o,
        &format!(
            "Protocol: {} v{} ({})",
            r.protocol.name, r.protocol.version, r.protocol.origin
        ),
        width,
    );
    let p = &r.plan;
    write_line(
        o,
        &format!(
            "Plan: {} | patient {} (ID {}) | {} | approval {} | dose {} ({}{})",
            p.title,
            p.patient.name,
            p.patient.id,
            p.fractions_planned.map_or_else(
                || "? fractions".to_string(),
                |n| plural(n as usize, "fraction")
            ),
            p.approval_status.as_deref().unwrap_or("-"),
            p.dose_file.as_deref().unwrap_or("-"),
            p.summation_type.as_deref().unwrap_or("-"),
            if p.dose_scale_factor != 1.0 {
                format!(" x{}", p.dose_scale_factor)
            } else {
                String::new()
            }
        ),
        width,
    );
    if let Some(site) = &r.site {
        write_line(o, &format!("Site: {site}"), width);
    }
    for t in &p.targets {
        write_line(
            o,
            &format!(
                "Target {}: {} | {} Gy in {} ({} Gy/fx){}",
                t.role,
                t.structure.as_deref().unwrap_or("(not present)"),
                t.total_gy,
                plural(t.fractions as usize, "fraction"),
                t.per_fraction_gy,
                if t.prescribed_by_plan {
                    ", prescribed in the RT Plan"
                } else {
                    ""
                }
            ),
            width,
        );
    }
}

/// The report -> the tagged lines under the table: errors, failures, warnings, overrides,
/// then the results that decided the verdict.
fn write_recap(o: &mut String, r: &CheckReport, color: bool, width: Option<usize>) {
    let tagged = |o: &mut String, tag: &str, tone: Tone, text: &str| {
        let wrapped = wrap_indented(&format!("{tag} {text}"), width, 2);
        let _ = writeln!(o, "{}{}", paint(tag, tone, color), &wrapped[tag.len()..]);
    };
    for e in &r.errors {
        tagged(o, "ERROR:", Tone::Error, e);
    }
    for f in &r.failures {
        tagged(o, "FAIL:", Tone::Fail, f);
    }
    for w in &r.warnings {
        tagged(o, "warning:", Tone::Warn, w);
    }
    for x in &r.overrides {
        tagged(o, "override:", Tone::Warn, x);
    }
    for d in deciding(r) {
        tagged(o, d.0, verdict_tone(r.verdict), &d.1);
    }
}

/// The mandatory results that decided the verdict, as (tag, text) lines for the recap:
/// each mandatory limit missed for a FAIL, each mandatory constraint not evaluated for an
/// ERROR. Optimal results never decide a verdict.
pub fn deciding(r: &CheckReport) -> Vec<(&'static str, String)> {
    let (tag, status) = match r.verdict {
        Verdict::Pass => return Vec::new(),
        Verdict::Fail => ("decided FAIL:", Status::Fail),
        Verdict::Error => ("decided ERROR:", Status::NotEvaluated),
    };
    r.results
        .iter()
        .filter(|c| c.level == Level::Mandatory && c.status == status)
        .map(|c| {
            let [value, limit, margin] = row_numbers(c);
            let unit = if c.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", c.unit)
            };
            let name = if c.roi == c.structure {
                c.structure.clone()
            } else {
                format!("{} (ROI {})", c.structure, c.roi)
            };
            let text = match status {
                Status::Fail => format!(
                    "{name} {}: {value}{unit} against {limit} (margin {margin})",
                    c.constraint
                ),
                _ => format!(
                    "{name} {}: not evaluated ({})",
                    c.constraint,
                    c.reason.as_deref().unwrap_or("no reason given")
                ),
            };
            (tag, text)
        })
        .collect()
}

/// How many mandatory rows the headroom line names.
const HEADROOM_ROWS: usize = 4;

/// The mandatory rows closest to changing status under a uniform dose scaling, closest
/// first: `Headroom: SpinalCord D0.035cc fails above x1.21; ...`.
pub fn headroom_line(r: &CheckReport) -> Option<String> {
    let mut rows: Vec<(&ConstraintResult, f64, &str)> = r
        .results
        .iter()
        .filter_map(|c| c.headroom.map(|h| (c, h.factor, h.change)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    rows.sort_by(|a, b| a.1.ln().abs().total_cmp(&b.1.ln().abs()));
    let parts: Vec<String> = rows
        .iter()
        .take(HEADROOM_ROWS)
        .map(|(c, f, change)| format!("{} {} {change} x{f:.2}", c.structure, query_of(c)))
        .collect();
    Some(format!(
        "Headroom (all doses scaled; closest first): {}",
        parts.join("; ")
    ))
}

/// The query part of a result's constraint text (`D0.035cc` of `D0.035cc <= 25.3Gy`).
fn query_of(c: &ConstraintResult) -> &str {
    c.constraint.split_whitespace().next().unwrap_or("")
}

/// One column of the results table.
struct Column {
    head: &'static str,
    cells: Vec<String>,
    right: bool,
    wraps: bool,
    width: usize,
}

impl Column {
    /// A cell's text -> the text padded to the column's width, on its side.
    fn pad(&self, s: &str) -> String {
        if self.right {
            format!("{s:>w$}", w = self.width)
        } else {
            format!("{s:<w$}", w = self.width)
        }
    }
}

/// The narrowest a wrapped column gets when the table is shrunk to fit.
const MIN_WRAPPED_WIDTH: usize = 8;

/// The results table (the ROI column only when some ROI differs from its structure's
/// name): numbers right-aligned with their units in a column of their own;
/// when wider than `width`, the widest text column (structure, ROI, constraint, source)
/// gives up a column at a time and its texts wrap inside it.
fn render_results(o: &mut String, results: &[ConstraintResult], color: bool, width: Option<usize>) {
    let mut cols = result_columns(results);
    if let Some(width) = width {
        shrink_to(&mut cols, width);
    }
    let head: Vec<String> = cols.iter().map(|c| c.pad(c.head)).collect();
    let _ = writeln!(o, "{}", head.join(" ").trim_end());
    let status = cols.iter().position(|c| c.head == "status");
    for (row, c) in results.iter().enumerate() {
        write_result_row(o, &cols, row, c, status, color, width);
    }
}

/// The results -> the table's columns, each as wide as its widest cell (the ROI column only
/// when some ROI is not named as its structure, a `--map`).
fn result_columns(results: &[ConstraintResult]) -> Vec<Column> {
    let numbers: Vec<[String; 3]> = results.iter().map(row_numbers).collect();
    let text = |head, cells: Vec<String>, right, wraps| {
        let width = cells
            .iter()
            .map(|c: &String| c.chars().count())
            .chain([str::len(head)])
            .max()
            .unwrap_or(0);
        Column {
            head,
            cells,
            right,
            wraps,
            width,
        }
    };
    let of = |f: &dyn Fn(&ConstraintResult) -> String| results.iter().map(f).collect::<Vec<_>>();
    let nth = |i: usize| numbers.iter().map(|n| n[i].clone()).collect::<Vec<_>>();
    let mut cols = vec![
        text("structure", of(&|c| c.structure.clone()), false, true),
        text("ROI", of(&|c| c.roi.clone()), false, true),
        text("constraint", of(&|c| c.constraint.clone()), false, true),
        text("value", nth(0), true, false),
        text("", of(&|c| c.unit.to_string()), false, false),
        text("limit", nth(1), true, false),
        text("margin", nth(2), true, false),
        text("status", of(&|c| mark(c).to_string()), false, false),
        text(
            "level",
            of(&|c| level_text(c.level).to_string()),
            false,
            false,
        ),
        text("source", of(&|c| c.source.clone()), false, true),
    ];
    if results.iter().all(|c| c.roi == c.structure) {
        cols.remove(1);
    }
    cols
}

/// Narrows the widest wrapping column one character at a time until the table fits in
/// `width` (or no wrapping column can give up more).
fn shrink_to(cols: &mut [Column], width: usize) {
    let total = |cols: &[Column]| cols.iter().map(|c| c.width + 1).sum::<usize>() - 1;
    while total(cols) > width {
        let widest = cols
            .iter_mut()
            .filter(|c| c.wraps && c.width > MIN_WRAPPED_WIDTH.max(c.head.len()))
            .max_by_key(|c| c.width);
        match widest {
            Some(c) => c.width -= 1,
            None => break,
        }
    }
}

/// Result `c` (row `row` of the columns) -> its lines, its texts wrapped in their columns
/// when a `width` is given and its status mark coloured, then its reason under it.
fn write_result_row(
    o: &mut String,
    cols: &[Column],
    row: usize,
    c: &ConstraintResult,
    status: Option<usize>,
    color: bool,
    width: Option<usize>,
) {
    let cells: Vec<Vec<String>> = cols
        .iter()
        .map(|col| match width {
            Some(_) if col.wraps => wrap(&col.cells[row], col.width),
            _ => vec![col.cells[row].clone()],
        })
        .collect();
    let height = cells.iter().map(Vec::len).max().unwrap_or(1);
    for i in 0..height {
        let parts: Vec<String> = cols
            .iter()
            .zip(&cells)
            .enumerate()
            .map(|(k, (col, lines))| {
                let padded = col.pad(lines.get(i).map_or("", String::as_str));
                if Some(k) == status && i == 0 {
                    paint(&padded, mark_tone(c), color)
                } else {
                    padded
                }
            })
            .collect();
        let _ = writeln!(o, "{}", parts.join(" ").trim_end());
    }
    if let Some(reason) = &c.reason {
        let indent = cols[0].width + 1;
        let _ = writeln!(
            o,
            "{:indent$}{}",
            "",
            wrap_indented(
                &format!("^ {reason}"),
                width.map(|w| w.saturating_sub(indent).max(MIN_WRAPPED_WIDTH)),
                2
            )
            .replace('\n', &format!("\n{:indent$}", ""))
        );
    }
}

fn level_text(level: Level) -> &'static str {
    match level {
        Level::Mandatory => "mandatory",
        Level::Optimal => "optimal",
    }
}

/// Bin width of the DVH curves in plots and `dvh.csv`, Gy.
pub const CURVE_BIN_WIDTH_GY: f64 = 0.01;

/// The check's DVHs as an SVG plot: one curve per evaluated ROI (its display colour, else
/// the palette), volume in % of the part inside the dose grid, and for each constraint
/// that is a point of its ROI's curve the value achieved (a marker on the curve) and the
/// limit beside it (a bar), in the curve's colour, the marker's shape saying met or missed.
/// `None` when no DVH was computed (the check stopped before).
pub fn render_plot(set: &PlanSet, outcome: &CheckOutcome) -> Option<String> {
    let rois = set
        .structures
        .as_ref()
        .map(|s| s.rois.as_slice())
        .unwrap_or(&[]);
    let plotted: Vec<&crate::dvh::StructureDvh> = outcome
        .dvhs
        .iter()
        .filter(|d| d.error.is_none() && d.volume_cc > 0.0)
        .collect();
    let mut curves = our_curves(&plotted, rois);
    if curves.is_empty() {
        return None;
    }
    let tps = planning_system_curves(&plotted, &curves, outcome);
    curves.extend(tps);
    let markers = plot_markers(&plotted, &curves, outcome);
    Some(render_svg(
        &format!("DVH: {}", set.title()),
        &curves,
        &markers,
    ))
}

/// The DVHs plotted -> their curves, each in its ROI's display colour or the palette's.
fn our_curves(plotted: &[&crate::dvh::StructureDvh], rois: &[crate::dicom::Roi]) -> Vec<Curve> {
    plotted
        .iter()
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
        .collect()
}

/// The planning system's curve of each compared structure, dashed in the colour of ours.
fn planning_system_curves(
    plotted: &[&crate::dvh::StructureDvh],
    ours: &[Curve],
    outcome: &CheckOutcome,
) -> Vec<Curve> {
    plotted
        .iter()
        .zip(ours)
        .filter_map(|(d, ours)| {
            let (_, t) = outcome.tps_curves.iter().find(|(n, _)| *n == d.name)?;
            let v0 = t.cumulative_cc.first().copied().filter(|v| *v > 0.0)?;
            Some(Curve {
                name: format!("{} (planning system)", d.name),
                color: ours.color,
                points: t
                    .dose_gy
                    .iter()
                    .zip(&t.cumulative_cc)
                    .map(|(dose, v)| (*dose, 100.0 * v / v0))
                    .collect(),
                partial: true,
            })
        })
        .collect()
}

/// Each evaluated result that is a point of a plotted curve -> its marker (and limit), in
/// that curve's colour.
fn plot_markers(
    plotted: &[&crate::dvh::StructureDvh],
    curves: &[Curve],
    outcome: &CheckOutcome,
) -> Vec<Marker> {
    outcome
        .results
        .iter()
        .filter(|c| c.status != Status::NotEvaluated)
        .filter_map(|c| {
            let p = c.dvh_point?;
            let k = plotted.iter().position(|d| d.name == c.roi)?;
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
                color: curves[k].color,
                limit: limit_mark(c, plotted[k].volume_cc),
            })
        })
        .collect()
}

/// Where a result's limit lies on its ROI's curve (see [`LimitMark`]): dose limits (Gy) at
/// the point's volume; volume limits (cc of `volume_cc`, or %) at the point's dose, as
/// the spared volume's complement for a `CV` query. `None` for values that are no point of
/// the curve.
fn limit_mark(c: &ConstraintResult, volume_cc: f64) -> Option<LimitMark> {
    let limit = c.limit?;
    let percent = match c.unit {
        "Gy" => return Some(LimitMark::DoseGy(limit)),
        "%" => limit,
        "cc" if volume_cc > 0.0 => 100.0 * limit / volume_cc,
        _ => return None,
    };
    // The query is the constraint text's first word (`CV13.5Gy >= 1cc`).
    let query = c
        .constraint
        .split_whitespace()
        .next()
        .and_then(|q| crate::protocol::parse_query(q).ok())?;
    Some(LimitMark::VolumePercent(match query {
        Query::SparedVolume(_) => 100.0 - percent,
        _ => percent,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_lie_on_the_axis_they_are_measured_on() {
        let c = |constraint: &str, unit: &'static str, limit: f64| ConstraintResult {
            structure: "Cord".into(),
            roi: "Cord".into(),
            constraint: constraint.into(),
            value: Some(1.0),
            limit: Some(limit),
            acceptable: None,
            unit,
            margin: Some(0.0),
            status: Status::Pass,
            grade: None,
            headroom: None,
            level: Level::Mandatory,
            source: "s".into(),
            derived: false,
            note: None,
            reason: None,
            dvh_point: None,
        };
        let mark = |r: ConstraintResult| limit_mark(&r, 4.0);
        assert_eq!(
            mark(c("D0.035cc <= 25.3Gy", "Gy", 25.3)),
            Some(LimitMark::DoseGy(25.3))
        );
        assert_eq!(
            mark(c("V14.5Gy < 1.2cc", "cc", 1.2)),
            Some(LimitMark::VolumePercent(30.0))
        );
        assert_eq!(
            mark(c("V100% >= 95%", "%", 95.0)),
            Some(LimitMark::VolumePercent(95.0))
        );
        assert_eq!(
            mark(c("CV13.5Gy >= 1cc", "cc", 1.0)),
            Some(LimitMark::VolumePercent(75.0))
        );
        assert_eq!(mark(c("CI_RTOG < 1.2", "", 1.2)), None);
    }

    #[test]
    fn sha256_of_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("abc");
        std::fs::write(&f, b"abc").unwrap();
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_hex(&tmp.path().join("missing")), None);
    }

    #[test]
    fn values_next_to_their_limit_get_enough_digits() {
        let mut c = ConstraintResult {
            structure: "PTV".into(),
            roi: "PTV".into(),
            constraint: "CI_RTOG < 1.5".into(),
            value: Some(1.49996),
            limit: Some(1.5),
            acceptable: None,
            unit: "",
            margin: Some(0.00004),
            status: Status::Pass,
            grade: Some(Grade::PerProtocol),
            headroom: None,
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
