//! [`StructureDvh`]s -> the `dvh` report: one serializable value, shown as a table, JSON
//! (a contract; fields in the README) or CSV (cumulative DVH, a column per structure).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::SCHEMA_VERSION;
use crate::dicom::DoseGrid;
use crate::dvh::indices::metric_value;
use crate::dvh::StructureDvh;
use crate::protocol::Metric;
use crate::raster::{Between, EndCap};

#[derive(Debug, Serialize)]
pub struct DvhReport {
    pub schema_version: &'static str,
    pub dose: DoseInfo,
    pub end_cap: EndCap,
    /// How the gap between contour planes is shared between them (`--interpolation`).
    pub interpolation: Between,
    pub bin_width_gy: f64,
    pub structures: Vec<StructureReport>,
    pub warnings: Vec<String>,
    /// Agreement with a planning system's DVHs (`--tps-dvh`); absent when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tps_agreement: Option<TpsAgreement>,
}

pub use crate::dvh::tps::TpsAgreement;

#[derive(Debug, Serialize)]
pub struct DoseInfo {
    pub file: String,
    pub summation_type: String,
    pub max_gy: f64,
}

#[derive(Debug, Serialize)]
pub struct StructureReport {
    pub name: String,
    pub number: i64,
    #[serde(rename = "type")]
    pub interpreted_type: Option<String>,
    /// Slab-model volume of the whole structure.
    pub volume_cc: f64,
    pub outside_dose_grid_cc: f64,
    pub outside_dose_grid_percent: f64,
    /// False when part of the structure is outside the dose grid or it could not be
    /// evaluated: its metrics then describe only the part inside, and checks fail closed.
    pub complete: bool,
    pub min_gy: Option<f64>,
    pub mean_gy: Option<f64>,
    pub max_gy: Option<f64>,
    /// D_x and V_x values by name (`D95%`, `D0.035cc`, `V20Gy_cc`, `V20Gy_%`); null when
    /// undefined (e.g. more cc than the structure has).
    pub metrics: BTreeMap<String, Option<f64>>,
    pub samples: usize,
    pub supersampling: usize,
    pub planes: usize,
    pub cumulative: Cumulative,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    /// This structure's part of the JSON report, rendered by [`StructureReport::prerender`]
    /// (on the thread that computed it, while the others still work).
    #[serde(skip)]
    pub json: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Cumulative {
    pub dose_gy: Vec<f64>,
    pub volume_cc: Vec<f64>,
}

/// The report of structures reported one by one (see [`structure_report`]); `max_gy` is
/// the dose grid's maximum ([`DoseGrid::max_value`]).
pub fn assemble(
    dose: &DoseGrid,
    max_gy: f64,
    structures: Vec<StructureReport>,
    end_cap: EndCap,
    interpolation: Between,
    bin_width_gy: f64,
    warnings: Vec<String>,
) -> DvhReport {
    DvhReport {
        schema_version: SCHEMA_VERSION,
        dose: DoseInfo {
            file: crate::error::shown(&dose.path),
            summation_type: dose.summation.as_str().to_string(),
            max_gy,
        },
        end_cap,
        interpolation,
        bin_width_gy,
        structures,
        warnings,
        tps_agreement: None,
    }
}

/// One structure's part of the report: everything read off its DVH, so that the DVH can
/// be dropped once this is built.
pub fn structure_report(
    s: &StructureDvh,
    metrics: &[Metric],
    bin_width_gy: f64,
) -> StructureReport {
    let (dose_gy, volume_cc) = s.dvh.cumulative(bin_width_gy);
    StructureReport {
        name: s.name.clone(),
        number: s.number,
        interpreted_type: s.interpreted_type.clone(),
        volume_cc: s.volume_cc,
        outside_dose_grid_cc: s.outside_cc,
        outside_dose_grid_percent: if s.volume_cc > 0.0 {
            100.0 * s.outside_cc / s.volume_cc
        } else {
            0.0
        },
        complete: s.complete(),
        min_gy: s.min,
        mean_gy: s.dvh.mean(),
        max_gy: s.max,
        metrics: metrics
            .iter()
            .map(|m| (m.name(), metric_value(s, m)))
            .collect(),
        samples: s.samples,
        supersampling: s.supersampling,
        planes: s.planes,
        cumulative: Cumulative { dose_gy, volume_cc },
        warnings: s.warnings.clone(),
        error: s.error.clone(),
        json: None,
    }
}

/// Indentation of a structure in the pretty JSON report (an element of its `structures`).
const STRUCTURE_INDENT: &str = "    ";

impl StructureReport {
    /// Renders this structure's part of the JSON report now, as [`render_json`] would.
    pub fn prerender(&mut self) {
        self.json = Some(structure_json(self));
    }
}

/// A structure as pretty JSON, indented as an element of the report's `structures`.
fn structure_json(s: &StructureReport) -> String {
    let text = serde_json::to_string_pretty(s).expect("a structure report serializes");
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(STRUCTURE_INDENT);
        }
        out.push_str(line);
    }
    out
}

/// The report as pretty JSON (the same text as `serde_json::to_string_pretty`), with each
/// structure's part taken from [`StructureReport::prerender`] when it was rendered there.
pub fn render_json(mut r: DvhReport) -> String {
    let structures = std::mem::take(&mut r.structures);
    let head = serde_json::to_string_pretty(&r).expect("the report serializes");
    let rendered: Vec<std::borrow::Cow<'_, str>> = structures
        .iter()
        .map(|s| match &s.json {
            Some(json) => json.as_str().into(),
            None => structure_json(s).into(),
        })
        .collect();
    let mut text = match splice_structures(&head, &rendered) {
        Some(text) => text,
        None => {
            // The head is not laid out as expected: serialize the whole report instead of
            // ever writing one without its structures.
            drop(rendered);
            r.structures = structures;
            serde_json::to_string_pretty(&r).expect("the report serializes")
        }
    };
    text.push('\n');
    text
}

/// `head` (the report serialized with no structures) with the rendered structures in its
/// `structures` array; `None` when that empty array is not where the pretty printer puts it.
fn splice_structures(head: &str, rendered: &[std::borrow::Cow<'_, str>]) -> Option<String> {
    // The empty array as the pretty printer writes it at the top level: a JSON string holds
    // no raw newline, so this can only be the `structures` field.
    const EMPTY: &str = "\n  \"structures\": [],";
    let at = head.find(EMPTY)?;
    if rendered.is_empty() {
        return Some(head.to_string());
    }
    // One allocation for the whole text (the curves make it hundreds of kB).
    let size = head.len()
        + rendered
            .iter()
            .map(|j| j.len() + 2 + STRUCTURE_INDENT.len())
            .sum::<usize>()
        + 16;
    let mut text = String::with_capacity(size);
    text.push_str(&head[..at]);
    text.push_str("\n  \"structures\": [");
    for (i, json) in rendered.iter().enumerate() {
        text.push_str(if i == 0 { "\n" } else { ",\n" });
        text.push_str(STRUCTURE_INDENT);
        text.push_str(json);
    }
    text.push_str("\n  ],");
    text.push_str(&head[at + EMPTY.len()..]);
    Some(text)
}

/// The report's cumulative DVHs as an SVG plot (volume in % of each structure).
pub fn render_plot(r: &DvhReport, colors: &[Option<[u8; 3]>]) -> String {
    let curves: Vec<super::plot::Curve> = r
        .structures
        .iter()
        .zip(colors)
        .enumerate()
        .filter(|(_, (s, _))| s.error.is_none() && s.volume_cc > 0.0)
        .map(|(i, (s, c))| {
            super::plot::Curve::of_structure(super::plot::StructureCurve {
                name: &s.name,
                color: *c,
                index: i,
                volume_cc: s.volume_cc,
                outside_cc: s.outside_dose_grid_cc,
                complete: s.complete,
                dose_gy: &s.cumulative.dose_gy,
                cumulative_cc: &s.cumulative.volume_cc,
            })
        })
        .collect();
    super::plot::render_svg(&format!("DVH: {}", r.dose.file), &curves, &[])
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

/// A table for a terminal.
pub fn render_table(r: &DvhReport, metrics: &[Metric]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Dose: {} ({}, max {:.2} Gy); end caps: {}; between planes: {}",
        r.dose.file,
        r.dose.summation_type,
        r.dose.max_gy,
        // As the options spell them (`--end-cap half`, `--interpolation profile`).
        format!("{:?}", r.end_cap).to_lowercase(),
        format!("{:?}", r.interpolation).to_lowercase()
    );
    let names: Vec<String> = metrics.iter().map(Metric::name).collect();
    let _ = write!(
        o,
        "{:<24} {:>10} {:>9} {:>8} {:>8} {:>8}",
        "structure", "volume cc", "outside%", "min Gy", "mean Gy", "max Gy"
    );
    for n in &names {
        let _ = write!(o, " {:>9}", n);
    }
    o.push('\n');
    for s in &r.structures {
        if let Some(e) = &s.error {
            let _ = writeln!(o, "{:<24} not evaluated: {e}", s.name);
            continue;
        }
        let _ = write!(
            o,
            "{:<24} {:>10.3} {:>9.2} {:>8} {:>8} {:>8}",
            s.name,
            s.volume_cc,
            s.outside_dose_grid_percent,
            num(s.min_gy, 2),
            num(s.mean_gy, 2),
            num(s.max_gy, 2)
        );
        for n in &names {
            let v = s.metrics.get(n).copied().flatten();
            let _ = write!(o, " {:>9}", num(v, if n.starts_with('V') { 3 } else { 2 }));
        }
        o.push('\n');
    }
    if let Some(t) = &r.tps_agreement {
        render_tps_table(&mut o, t);
    }
    for s in &r.structures {
        for w in &s.warnings {
            let _ = writeln!(o, "warning: {}: {w}", s.name);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// The agreement table: ours minus the planning system's per metric (volume in %), `*` where
/// outside the tolerance.
pub fn render_tps_table(o: &mut String, t: &TpsAgreement) {
    let _ = writeln!(
        o,
        "\nAgreement with the planning system's DVHs ({}): ours - TPS (volume %, doses Gy), * outside tolerance",
        t.file
    );
    let _ = write!(o, "{:<24}", "structure");
    let names = ["volume", "Dmean", "D0.035cc", "D98%", "D95%", "D50%", "D2%"];
    for n in names {
        let _ = write!(o, " {n:>9}");
    }
    let _ = writeln!(o, "  agrees");
    for a in &t.structures {
        let _ = write!(o, "{:<24}", a.structure);
        for m in &a.metrics {
            let shown = match (m.difference, m.tps) {
                (Some(d), Some(tps)) if m.metric == "volume" && tps != 0.0 => {
                    format!("{:+.2}", 100.0 * d / tps)
                }
                (Some(d), _) => format!("{d:+.2}"),
                _ => "-".to_string(),
            };
            let mark = if m.within { " " } else { "*" };
            let _ = write!(o, " {shown:>8}{mark}");
        }
        let _ = writeln!(o, "  {}", if a.agrees { "yes" } else { "NO" });
        if let Some(note) = &a.note {
            let _ = writeln!(o, "  note: {note}");
        }
    }
    for u in &t.unmatched {
        let _ = writeln!(o, "{u:<24} (no structure of this name)");
    }
}

/// The cumulative DVHs as CSV: `dose_gy` then one column of V(>= dose) in cc per structure.
pub fn render_csv(r: &DvhReport) -> String {
    let cols: Vec<(&str, &[f64])> = r
        .structures
        .iter()
        .filter(|s| s.error.is_none())
        .map(|s| (s.name.as_str(), s.cumulative.volume_cc.as_slice()))
        .collect();
    cumulative_csv(&cols, r.bin_width_gy)
}

/// [`StructureDvh`]s (those evaluated) as the same CSV as [`render_csv`].
pub fn dvhs_csv(dvhs: &[StructureDvh], bin_width_gy: f64) -> String {
    let curves: Vec<(&str, Vec<f64>)> = dvhs
        .iter()
        .filter(|s| s.error.is_none())
        .map(|s| (s.name.as_str(), s.dvh.cumulative(bin_width_gy).1))
        .collect();
    let cols: Vec<(&str, &[f64])> = curves.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    cumulative_csv(&cols, bin_width_gy)
}

/// `dose_gy` (row `i` at `i * bin_width_gy`) then one column per `(name, V(>= dose) cc)`;
/// a column shorter than the longest is 0 beyond its end.
fn cumulative_csv(cols: &[(&str, &[f64])], bin_width_gy: f64) -> String {
    let rows = cols.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let mut o = String::from("dose_gy");
    for (name, _) in cols {
        o.push(',');
        o.push_str(&csv_field(name));
    }
    o.push('\n');
    for i in 0..rows {
        let _ = write!(o, "{}", fmt_dose(i as f64 * bin_width_gy));
        for (_, v) in cols {
            let v = v.get(i).copied().unwrap_or(0.0);
            let _ = write!(o, ",{v:.6}");
        }
        o.push('\n');
    }
    o
}

fn fmt_dose(d: f64) -> String {
    format!("{:.4}", d)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// A CSV text field: quoted when it holds a comma, quote or line break, and prefixed with
/// `'` when it starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab, carriage return),
/// so that a structure or plan name is never run as a formula when the file is opened.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structure(name: &str, n: usize) -> StructureReport {
        StructureReport {
            name: name.to_string(),
            number: n as i64,
            interpreted_type: (n % 2 == 0).then(|| "PTV".to_string()),
            volume_cc: 12.5 + n as f64,
            outside_dose_grid_cc: 0.0,
            outside_dose_grid_percent: 0.0,
            complete: n % 3 != 0,
            min_gy: Some(0.1),
            mean_gy: None,
            max_gy: Some(f64::from(n as u32) * 1.5e-7),
            metrics: [
                ("D95%".to_string(), Some(29.5)),
                ("V30Gy_%".to_string(), None),
            ]
            .into_iter()
            .collect(),
            samples: 1000 * n,
            supersampling: 4,
            planes: 7,
            cumulative: Cumulative {
                dose_gy: (0..n).map(|i| i as f64 * 0.01).collect(),
                volume_cc: (0..n).map(|i| 10.0 / (1.0 + i as f64)).collect(),
            },
            warnings: vec![format!("line one\nline \"two\" of {name}")],
            error: None,
            json: None,
        }
    }

    fn report(structures: Vec<StructureReport>) -> DvhReport {
        DvhReport {
            schema_version: SCHEMA_VERSION,
            dose: DoseInfo {
                file: "dir/\"structures\": [],\n.dcm".to_string(),
                summation_type: "PLAN".to_string(),
                max_gy: 35.2,
            },
            end_cap: EndCap::Half,
            interpolation: Between::Profile,
            bin_width_gy: 0.01,
            structures,
            warnings: vec!["w".to_string()],
            tps_agreement: None,
        }
    }

    #[test]
    fn the_json_report_with_prerendered_structures_is_the_pretty_printed_report() {
        let names = ["PTV", "Cord \"PRV\"", "Lung\nL", "Ösophagus", "", "x"];
        for count in [0, 1, 2, 6] {
            for prerendered in [0usize, 1, 2] {
                let build = || -> Vec<StructureReport> {
                    (0..count).map(|i| structure(names[i], i)).collect()
                };
                let expected = serde_json::to_string_pretty(&report(build())).unwrap() + "\n";
                let mut structures = build();
                for (i, s) in structures.iter_mut().enumerate() {
                    // None, some or all rendered ahead.
                    if prerendered == 2 || (prerendered == 1 && i % 2 == 0) {
                        s.prerender();
                    }
                }
                assert_eq!(
                    render_json(report(structures)),
                    expected,
                    "{count} {prerendered}"
                );
            }
        }
    }

    #[test]
    fn structures_are_never_spliced_into_a_head_laid_out_otherwise() {
        let parts = [std::borrow::Cow::from("{}")];
        for head in ["{\n  \"structures\": []\n}", "{\"structures\":[]}", "{}"] {
            assert_eq!(splice_structures(head, &parts), None, "{head}");
        }
        let head = "{\n  \"a\": 1,\n  \"structures\": [],\n  \"w\": []\n}";
        assert_eq!(
            splice_structures(head, &parts).as_deref(),
            Some("{\n  \"a\": 1,\n  \"structures\": [\n    {}\n  ],\n  \"w\": []\n}")
        );
        assert_eq!(splice_structures(head, &[]).as_deref(), Some(head));
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("PTV"), "PTV");
        assert_eq!(csv_field("Lt Lung, upper"), "\"Lt Lung, upper\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-PRV"), "'-PRV");
    }
}
