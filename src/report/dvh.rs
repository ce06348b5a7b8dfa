//! [`StructureDvh`]s -> the `dvh` report: one serializable value, shown as a table, JSON
//! (a contract; fields in the README) or CSV (cumulative DVH, a column per structure).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::SCHEMA_VERSION;
use crate::dicom::DoseGrid;
use crate::dvh::{MetricSpec, StructureDvh};
use crate::raster::EndCap;

#[derive(Debug, Serialize)]
pub struct DvhReport {
    pub schema_version: &'static str,
    pub dose: DoseInfo,
    pub end_cap: EndCap,
    pub bin_width_gy: f64,
    pub structures: Vec<StructureReport>,
    pub warnings: Vec<String>,
}

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
}

#[derive(Debug, Serialize)]
pub struct Cumulative {
    pub dose_gy: Vec<f64>,
    pub volume_cc: Vec<f64>,
}

/// The report of structures reported one by one (see [`structure_report`]).
pub fn assemble(
    dose: &DoseGrid,
    structures: Vec<StructureReport>,
    end_cap: EndCap,
    bin_width_gy: f64,
    warnings: Vec<String>,
) -> DvhReport {
    DvhReport {
        schema_version: SCHEMA_VERSION,
        dose: DoseInfo {
            file: dose.path.display().to_string(),
            summation_type: dose.summation.as_str().to_string(),
            max_gy: f64::from(dose.max_value()),
        },
        end_cap,
        bin_width_gy,
        structures,
        warnings,
    }
}

/// One structure's part of the report: everything read off its DVH, so that the DVH can
/// be dropped once this is built.
pub fn structure_report(
    s: &StructureDvh,
    metrics: &[MetricSpec],
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
        metrics: metrics.iter().map(|m| (m.name(), m.eval(&s.dvh))).collect(),
        samples: s.samples,
        supersampling: s.supersampling,
        planes: s.planes,
        cumulative: Cumulative { dose_gy, volume_cc },
        warnings: s.warnings.clone(),
        error: s.error.clone(),
    }
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
pub fn render_table(r: &DvhReport, metrics: &[MetricSpec]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Dose: {} ({}, max {:.2} Gy); end caps: {:?}",
        r.dose.file, r.dose.summation_type, r.dose.max_gy, r.end_cap
    );
    let names: Vec<String> = metrics.iter().map(MetricSpec::name).collect();
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
    use super::csv_field;

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
