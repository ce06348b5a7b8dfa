//! One checked plan set -> its report folder: `report.html` (verdict, table, DVH plot),
//! `dvh.csv` (cumulative DVHs) and `result.json` (the check report), each written
//! atomically. Used by `check --report`, `check --batch --report` and the DICOM node.

use std::path::{Path, PathBuf};

use super::check::{self as checkreport, CheckReport};
use super::{dvh as dvhreport, html, output};
use crate::check::CheckOutcome;
use crate::dicom::PlanSet;
use crate::error::{Error, Result};

/// Writes `report.html`, `dvh.csv` and `result.json` of one plan set into `dir` (created
/// if needed), each atomically, never over one of `inputs`.
pub fn write_report_dir(
    dir: &Path,
    set: &PlanSet,
    outcome: &CheckOutcome,
    report: &CheckReport,
    inputs: &[PathBuf],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let svg = checkreport::render_plot(set, outcome);
    let page = html::render(report, svg.as_deref());
    output::write_atomic(&dir.join("report.html"), page.as_bytes(), inputs)?;
    let csv = dvhreport::dvhs_csv(&outcome.dvhs, checkreport::CURVE_BIN_WIDTH_GY);
    output::write_atomic(&dir.join("dvh.csv"), csv.as_bytes(), inputs)?;
    let mut json = serde_json::to_string_pretty(report).expect("report serializes");
    json.push('\n');
    output::write_atomic(&dir.join("result.json"), json.as_bytes(), inputs)
}
