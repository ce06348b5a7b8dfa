//! One checked plan set -> its report folder: `report.html` (verdict, table, DVH plot),
//! `dvh.csv` (cumulative DVHs) and `result.json` (the check report), built beside its place
//! and renamed into it ([`crate::output::StagedDir`]). Used by `check --report`,
//! `check --batch --report` and the DICOM node.

use std::path::{Path, PathBuf};

use super::check::{self as checkreport, CheckReport};
use super::{dvh as dvhreport, html};
use crate::check::CheckOutcome;
use crate::dicom::PlanSet;
use crate::error::{Error, Result};
use crate::output::{self, StagedDir};

/// Writes the report folder `dir` of one plan set: built beside it, then renamed into place
/// (replacing an earlier report there), never over one of `inputs`.
pub fn write_report_dir(
    dir: &Path,
    set: &PlanSet,
    outcome: &CheckOutcome,
    report: &CheckReport,
    inputs: &[PathBuf],
) -> Result<()> {
    let staged = StagedDir::new(dir)?;
    write_report_files(staged.path(), set, outcome, report, inputs)?;
    staged.commit()
}

/// Writes `report.html`, `dvh.csv` and `result.json` of one plan set into `dir` (created
/// if needed; e.g. a sub-folder of a staged batch report), each atomically, never over one
/// of `inputs`.
pub fn write_report_files(
    dir: &Path,
    set: &PlanSet,
    outcome: &CheckOutcome,
    report: &CheckReport,
    inputs: &[PathBuf],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let svg = checkreport::render_plot(set, outcome);
    let page = html::render(report, svg.as_deref(), &crate::node::time::now_rfc3339());
    output::write_atomic(&dir.join("report.html"), page.as_bytes(), inputs)?;
    let csv = dvhreport::dvhs_csv(&outcome.dvhs, checkreport::CURVE_BIN_WIDTH_GY);
    output::write_atomic(&dir.join("dvh.csv"), csv.as_bytes(), inputs)?;
    let mut json = serde_json::to_string_pretty(report).expect("report serializes");
    json.push('\n');
    output::write_atomic(&dir.join("result.json"), json.as_bytes(), inputs)
}
