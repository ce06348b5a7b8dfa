//! A planning system's DVHs -> their agreement with ours, structure by structure.
//!
//! - [`TpsDvh`]: one structure's cumulative DVH as the planning system computed it (dose in
//!   Gy, volume in cc), read from an Eclipse DVH text export ([`parse_eclipse`]: cumulative
//!   or differential, dose in Gy or cGy, volume in % or cm³).
//! - [`compare`]: our volume, Dmean, D0.035cc, D98 %, D95 %, D50 % and D2 % against the
//!   planning system's, read off its cumulative curve by linear interpolation, each with its
//!   tolerance: volume 2 %, doses max(2 %, 0.3 Gy) (AAPM TG-53's 2 %; Nelms 2015 investigates
//!   differences above 2 %).

use dicom_dictionary_std::tags;
use serde::Serialize;

use super::calc::StructureDvh;

/// Volume tolerance, a fraction of the planning system's volume.
pub const VOLUME_TOLERANCE: f64 = 0.02;
/// Dose tolerance: this fraction of the planning system's dose, or [`DOSE_TOLERANCE_GY`],
/// whichever is larger.
pub const DOSE_TOLERANCE: f64 = 0.02;
pub const DOSE_TOLERANCE_GY: f64 = 0.3;

/// One structure's DVH from a planning system.
#[derive(Debug, Clone, PartialEq)]
pub struct TpsDvh {
    pub name: String,
    /// The ROI it belongs to, when the planning system says (an RT Dose's DVH Sequence).
    pub roi_number: Option<i64>,
    /// The volume the planning system states for the structure, cc.
    pub volume_cc: f64,
    /// Increasing doses, Gy, and the volume receiving at least each, cc (non-increasing).
    pub dose_gy: Vec<f64>,
    pub cumulative_cc: Vec<f64>,
}

impl TpsDvh {
    /// Mean dose from the cumulative curve: the area under it over the volume.
    pub fn mean_gy(&self) -> Option<f64> {
        let v0 = *self.cumulative_cc.first()?;
        if v0 <= 0.0 {
            return None;
        }
        // Below the first dose point the whole volume received at least that dose.
        let mut area = self.dose_gy[0] * v0;
        for k in 1..self.dose_gy.len() {
            let dd = self.dose_gy[k] - self.dose_gy[k - 1];
            area += 0.5 * dd * (self.cumulative_cc[k] + self.cumulative_cc[k - 1]);
        }
        Some(area / v0)
    }

    /// The dose received by at least `x` cc, by linear interpolation on the curve.
    pub fn dose_at_volume_cc(&self, x: f64) -> Option<f64> {
        let v0 = *self.cumulative_cc.first()?;
        if !(0.0..=v0).contains(&x) {
            return None;
        }
        for k in 1..self.dose_gy.len() {
            let (va, vb) = (self.cumulative_cc[k - 1], self.cumulative_cc[k]);
            if va >= x && x > vb {
                let t = (va - x) / (va - vb);
                return Some(self.dose_gy[k - 1] + t * (self.dose_gy[k] - self.dose_gy[k - 1]));
            }
        }
        // At or below the last point's volume: the curve's last dose.
        self.dose_gy.last().copied()
    }

    pub fn dose_at_volume_percent(&self, pct: f64) -> Option<f64> {
        self.dose_at_volume_cc(pct / 100.0 * self.cumulative_cc.first()?)
    }
}

/// One compared metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricAgreement {
    pub metric: &'static str,
    /// `cc` for the volume, `Gy` for doses.
    pub unit: &'static str,
    pub ours: Option<f64>,
    pub tps: Option<f64>,
    /// Ours minus the planning system's.
    pub difference: Option<f64>,
    pub tolerance: Option<f64>,
    /// False when outside the tolerance or when either value is missing.
    pub within: bool,
}

/// The agreement of one structure.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub structure: String,
    pub number: i64,
    pub tps_structure: String,
    pub metrics: Vec<MetricAgreement>,
    pub agrees: bool,
    /// What in our model may explain a disagreement (a gap left empty, a piece ending
    /// inside the structure).
    pub note: Option<String>,
}

/// Where the planning system's DVHs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TpsSource {
    /// An Eclipse DVH text export.
    EclipseFile(std::path::PathBuf),
    /// The RT Dose's own DVH Sequence.
    Embedded,
}

/// Our DVHs against a planning system's, structure by structure.
#[derive(Debug, Clone, Serialize)]
pub struct TpsAgreement {
    /// Where the planning system's DVHs were read.
    pub file: String,
    pub structures: Vec<Agreement>,
    /// The planning system's structures we have no structure for, and its DVHs left out
    /// (units other than Gy and cc).
    pub unmatched: Vec<String>,
}

/// The planning system's DVHs from `source` (`dose_path`: the RT Dose, for
/// [`TpsSource::Embedded`]): a label naming where they were read, the curves, and the items
/// left out. Unreadable or unparseable input is an error naming the file.
pub fn load(
    source: &TpsSource,
    dose_path: &std::path::Path,
) -> crate::error::Result<(String, Vec<TpsDvh>, Vec<String>)> {
    use crate::error::Error;
    match source {
        TpsSource::EclipseFile(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let curves = parse_eclipse(&String::from_utf8_lossy(&bytes))
                .map_err(|e| Error::invalid(path, e))?;
            Ok((path.display().to_string(), curves, Vec::new()))
        }
        TpsSource::Embedded => {
            let file = crate::dicom::read::open(dose_path)?
                .ok_or_else(|| Error::invalid(dose_path, "not a DICOM file"))?;
            let (curves, skipped) = from_dvh_sequence(&file)?;
            Ok((
                format!("{} (DVH Sequence)", dose_path.display()),
                curves,
                skipped,
            ))
        }
    }
}

/// Every structure of `ours` that has a planning-system DVH compared with it (see
/// [`curve_for`]; `rois`: the structure set's), and the planning system's DVHs left without
/// a structure.
pub fn agreement(
    file: String,
    ours: &[StructureDvh],
    rois: &[crate::dicom::Roi],
    tps: &[TpsDvh],
    skipped: Vec<String>,
) -> TpsAgreement {
    let structures: Vec<Agreement> = ours
        .iter()
        .filter_map(|s| curve_for(tps, s, rois).map(|t| compare(s, t)))
        .collect();
    TpsAgreement::new(file, structures, tps, skipped)
}

/// The planning system's DVH of one of our DVHs: [`find`] when ours is the DVH of an ROI of
/// the structure set itself; by name only when it is derived from one (an organ minus the
/// targets, `Rib-PTV`), which shares the organ's ROI number but not its region.
pub fn curve_for<'a>(
    tps: &'a [TpsDvh],
    ours: &StructureDvh,
    rois: &[crate::dicom::Roi],
) -> Option<&'a TpsDvh> {
    let own = rois
        .iter()
        .any(|r| r.number == ours.number && r.name == ours.name);
    if own {
        find(tps, ours.number, &ours.name)
    } else {
        find_by_name(tps, &ours.name)
    }
}

impl TpsAgreement {
    /// The agreement of the `structures` compared; `tps` are all the planning system's
    /// DVHs (those no structure was compared with are listed as unmatched, after `skipped`).
    pub fn new(
        file: String,
        structures: Vec<Agreement>,
        tps: &[TpsDvh],
        skipped: Vec<String>,
    ) -> TpsAgreement {
        let mut unmatched: Vec<String> = tps
            .iter()
            .filter(|t| !structures.iter().any(|a| a.tps_structure == t.name))
            .map(|t| t.name.clone())
            .collect();
        unmatched.extend(skipped);
        TpsAgreement {
            file,
            structures,
            unmatched,
        }
    }
}

impl Agreement {
    /// The metrics outside tolerance, as `volume +3.1 % (tolerance 2 %), D2% +0.52 Gy
    /// (tolerance 0.30)`.
    pub fn disagreements(&self) -> String {
        let parts: Vec<String> = self
            .metrics
            .iter()
            .filter(|m| !m.within)
            .map(|m| match (m.difference, m.tps, m.tolerance) {
                (Some(d), Some(t), _) if m.metric == "volume" && t != 0.0 => format!(
                    "volume {:+.1} % (tolerance {:.0} %)",
                    100.0 * d / t,
                    100.0 * VOLUME_TOLERANCE
                ),
                (Some(d), _, Some(tol)) => {
                    format!("{} {d:+.2} {} (tolerance {tol:.2})", m.metric, m.unit)
                }
                _ => format!("{} not comparable", m.metric),
            })
            .collect();
        parts.join(", ")
    }
}

/// Compares our DVH of a structure with the planning system's.
pub fn compare(ours: &StructureDvh, tps: &TpsDvh) -> Agreement {
    let dose_tol = |v: Option<f64>| v.map(|d| (DOSE_TOLERANCE * d.abs()).max(DOSE_TOLERANCE_GY));
    let mut metrics = vec![metric(
        "volume",
        "cc",
        Some(ours.volume_cc),
        Some(tps.volume_cc),
        Some(VOLUME_TOLERANCE * tps.volume_cc),
    )];
    let mut doses = vec![
        ("Dmean", ours.dvh.mean(), tps.mean_gy()),
        (
            "D0.035cc",
            ours.dvh.dose_at_volume_cc(0.035),
            tps.dose_at_volume_cc(0.035),
        ),
    ];
    for (name, pct) in [("D98%", 98.0), ("D95%", 95.0), ("D50%", 50.0), ("D2%", 2.0)] {
        doses.push((
            name,
            ours.dvh.dose_at_volume_percent(pct),
            tps.dose_at_volume_percent(pct),
        ));
    }
    for (name, a, b) in doses {
        metrics.push(metric(name, "Gy", a, b, dose_tol(b)));
    }
    let agrees = ours.error.is_none() && metrics.iter().all(|m| m.within);
    let volume_within = metrics[0].within;
    let note = (!agrees)
        .then(|| explain(ours, tps, volume_within))
        .flatten();
    Agreement {
        structure: ours.name.clone(),
        number: ours.number,
        tps_structure: tps.name.clone(),
        metrics,
        agrees,
        note,
    }
}

/// What in our model may explain a disagreement: a gap between planes left empty (a
/// planning system that bridges it differs), or, for a volume outside tolerance, end caps:
/// the planning system's volume lies between ours without end caps and ours with them.
fn explain(ours: &StructureDvh, tps: &TpsDvh, volume_within: bool) -> Option<String> {
    let mut notes = Vec::new();
    if let Some(w) = ours.warnings.iter().find(|w| w.contains("left empty")) {
        notes.push(format!(
            "our model leaves a gap empty ({w}); a planning system that bridges it differs"
        ));
    }
    let tolerance = VOLUME_TOLERANCE * tps.volume_cc;
    let without_caps = ours.volume_cc - ours.end_cap_cc;
    if !volume_within
        && ours.end_cap_cc > 0.0
        && tps.volume_cc >= without_caps - tolerance
        && tps.volume_cc <= ours.volume_cc + tolerance
    {
        notes.push(format!(
            "the end caps: ours add {:.3} cc beyond the end planes, and the planning system's \
             volume lies between ours without them ({without_caps:.3} cc) and with them, so \
             its structure ends nearer its end planes",
            ours.end_cap_cc
        ));
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

fn metric(
    name: &'static str,
    unit: &'static str,
    ours: Option<f64>,
    tps: Option<f64>,
    tolerance: Option<f64>,
) -> MetricAgreement {
    let difference = ours.zip(tps).map(|(a, b)| a - b);
    let within = difference.zip(tolerance).is_some_and(|(d, t)| d.abs() <= t);
    MetricAgreement {
        metric: name,
        unit,
        ours,
        tps,
        difference,
        tolerance,
        within,
    }
}

/// The planning system's DVH for a structure: the same ROI number, else the same name, else
/// the same name ignoring case and spaces.
pub fn find<'a>(tps: &'a [TpsDvh], number: i64, name: &str) -> Option<&'a TpsDvh> {
    if let Some(t) = tps.iter().find(|t| t.roi_number == Some(number)) {
        return Some(t);
    }
    find_by_name(tps, name)
}

/// The planning system's DVH of this name, else of this name ignoring case and spaces.
pub fn find_by_name<'a>(tps: &'a [TpsDvh], name: &str) -> Option<&'a TpsDvh> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    tps.iter()
        .find(|t| t.name == name)
        .or_else(|| tps.iter().find(|t| squash(&t.name) == squash(name)))
}

/// The DVHs an RT Dose carries in its DVH Sequence (C.8.8.4) (3004,0050), those in GY and CM3: the
/// curves' doses are in Gy (the items' stated minimum, maximum and mean may be in % of the
/// prescription, and are not used). DVHData is pairs of (bin width, volume); a cumulative
/// volume is that at or above the bin's lower dose, a differential one that in the bin.
/// Items in other units are left out and named in the second list.
pub fn from_dvh_sequence(
    file: &crate::dicom::read::DicomFile,
) -> crate::error::Result<(Vec<TpsDvh>, Vec<String>)> {
    let at = file.attrs();
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for item in at.items(tags::DVH_SEQUENCE) {
        let number = item
            .items(tags::DVH_REFERENCED_ROI_SEQUENCE)
            .first()
            .map(|r| r.int_opt(tags::REFERENCED_ROI_NUMBER))
            .transpose()?
            .flatten();
        let Some(number) = number else {
            skipped.push("a DVH without a referenced ROI".to_string());
            continue;
        };
        let units = item.str_opt(tags::DOSE_UNITS)?.unwrap_or_default();
        let volume_units = item.str_opt(tags::DVH_VOLUME_UNITS)?.unwrap_or_default();
        if units != "GY" || volume_units != "CM3" {
            skipped.push(format!(
                "ROI {number}: DVH in {units} and {volume_units}, not GY and CM3"
            ));
            continue;
        }
        let differential = item.str_opt(tags::DVH_TYPE)?.as_deref() == Some("DIFFERENTIAL");
        let data = item.numbers_opt(tags::DVH_DATA)?.unwrap_or_default();
        if data.len() < 2 || data.len() % 2 != 0 {
            return Err(item.bad(tags::DVH_DATA, "expected pairs of bin width and volume"));
        }
        let mut dose_gy = Vec::with_capacity(data.len() / 2);
        let mut volume = Vec::with_capacity(data.len() / 2);
        let mut edge = 0.0;
        for pair in data.chunks_exact(2) {
            dose_gy.push(edge);
            volume.push(pair[1]);
            edge += pair[0];
        }
        if differential {
            to_cumulative(&mut volume);
        }
        out.push(TpsDvh {
            name: format!("ROI {number}"),
            roi_number: Some(number),
            volume_cc: volume[0],
            dose_gy,
            cumulative_cc: volume,
        });
    }
    Ok((out, skipped))
}

/// Per-bin volumes -> the volume at or above each bin's lower dose.
fn to_cumulative(volumes: &mut [f64]) {
    let mut above = 0.0;
    for v in volumes.iter_mut().rev() {
        above += *v;
        *v = above;
    }
}

/// Columns of an Eclipse DVH table.
#[derive(Debug, Default)]
struct Columns {
    /// Index of the absolute dose column and its factor to Gy.
    dose: Option<(usize, f64)>,
    /// Index of the volume column and whether it is in % of the structure (else cc).
    volume: Option<(usize, bool)>,
}

fn columns(header: &str) -> Columns {
    let mut c = Columns::default();
    // Column titles are separated by two or more spaces (or tabs).
    let titles: Vec<&str> = header
        .split("  ")
        .flat_map(|s| s.split('\t'))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for (k, t) in titles.iter().enumerate() {
        let lower = t.to_lowercase();
        if lower.starts_with("dose [cgy]") {
            c.dose = Some((k, 0.01));
        } else if lower.starts_with("dose [gy]") {
            c.dose = Some((k, 1.0));
        } else if lower.contains("ratio of total structure volume") {
            c.volume = Some((k, true));
        } else if lower.contains("structure volume") || lower.starts_with("volume [cm") {
            c.volume = Some((k, false));
        }
    }
    c
}

/// The value after the first ':' of a `Key: value` line whose key starts with `key`.
fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let (k, v) = line.split_once(':')?;
    k.trim()
        .to_lowercase()
        .starts_with(&key.to_lowercase())
        .then(|| v.trim())
}

/// Ends a structure's block: its table as a cumulative curve in Gy and cc.
fn finish(
    current: &mut Option<(String, Option<f64>)>,
    table: &mut Option<Columns>,
    rows: &mut Vec<(f64, f64)>,
    differential: bool,
    out: &mut Vec<TpsDvh>,
) -> Result<(), String> {
    if let (Some((name, volume)), Some(cols)) = (current.take(), table.take()) {
        let volume_cc =
            volume.ok_or_else(|| format!("structure {name}: no \"Volume [cm³]\" line"))?;
        let percent = cols.volume.is_some_and(|(_, percent)| percent);
        let dose_gy: Vec<f64> = rows.iter().map(|r| r.0).collect();
        let mut vol: Vec<f64> = rows
            .iter()
            .map(|r| {
                if percent {
                    r.1 / 100.0 * volume_cc
                } else {
                    r.1
                }
            })
            .collect();
        if differential {
            to_cumulative(&mut vol);
        }
        if dose_gy.windows(2).any(|w| w[1] < w[0]) {
            return Err(format!("structure {name}: doses are not increasing"));
        }
        out.push(TpsDvh {
            name,
            roi_number: None,
            volume_cc,
            dose_gy,
            cumulative_cc: vol,
        });
    }
    *current = None;
    rows.clear();
    Ok(())
}

/// Parses an Eclipse DVH text export: for each "Structure:" block its "Volume [cm³]" and
/// its table ("Dose [Gy]" or "Dose [cGy]", "Relative dose [%]", and "Ratio of Total
/// Structure Volume [%]" or "Structure Volume [cm³]"); cumulative, or differential when the
/// file's "Type" says so. Errors name the line.
pub fn parse_eclipse(text: &str) -> Result<Vec<TpsDvh>, String> {
    let mut out: Vec<TpsDvh> = Vec::new();
    let mut differential = false;
    let mut current: Option<(String, Option<f64>)> = None;
    let mut table: Option<Columns> = None;
    let mut rows: Vec<(f64, f64)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let numeric = line
            .split_whitespace()
            .next()
            .is_some_and(|f| f.parse::<f64>().is_ok());
        if table.is_some() && !line.is_empty() && !numeric {
            // A text line ends the table.
            finish(&mut current, &mut table, &mut rows, differential, &mut out)?;
        }
        if let Some(t) = value_of(line, "Type") {
            differential = t.to_lowercase().contains("differential");
            continue;
        }
        if let Some(name) = value_of(line, "Structure") {
            finish(&mut current, &mut table, &mut rows, differential, &mut out)?;
            current = Some((name.to_string(), None));
            continue;
        }
        let Some((_, volume)) = current.as_mut() else {
            continue;
        };
        if table.is_none() {
            if let Some(v) = value_of(line, "Volume [cm") {
                *volume = Some(
                    v.parse()
                        .map_err(|_| format!("line {}: volume {v:?} is not a number", n + 1))?,
                );
                continue;
            }
            if line.to_lowercase().contains("dose [") && line.contains("Volume") {
                let cols = columns(line);
                if cols.dose.is_none() || cols.volume.is_none() {
                    return Err(format!(
                        "line {}: a DVH table needs \"Dose [Gy]\" or \"Dose [cGy]\" and a structure volume column",
                        n + 1
                    ));
                }
                table = Some(cols);
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let cols = table.as_ref().expect("inside a table");
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some((dk, factor)), Some((vk, _))) = (cols.dose, cols.volume) else {
            continue;
        };
        let number = |k: usize| -> Result<f64, String> {
            fields
                .get(k)
                .and_then(|f| f.parse::<f64>().ok())
                .ok_or_else(|| format!("line {}: expected a number in column {}", n + 1, k + 1))
        };
        rows.push((number(dk)? * factor, number(vk)?));
    }
    finish(&mut current, &mut table, &mut rows, differential, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    /// A structure whose volume falls linearly from `v0` cc at 0 Gy to 0 at `top` Gy, as an
    /// export table in the given units.
    fn export(name: &str, v0: f64, top: f64, cgy: bool, percent: bool, diff: bool) -> String {
        let mut s = format!(
            "Patient Name         : Test^Phantom\nPatient ID           : 1\nType                 : {} Dose Volume Histogram\n\nStructure: {name}\nApproval Status: Approved\nVolume [cm³]: {v0}\n\n",
            if diff { "Differential" } else { "Cumulative" }
        );
        s.push_str(&format!(
            "{}  Relative dose [%]  {}\n",
            if cgy { "Dose [cGy]" } else { "Dose [Gy]" },
            if percent {
                "Ratio of Total Structure Volume [%]"
            } else {
                "Structure Volume [cm³]"
            }
        ));
        let n = 100;
        for k in 0..=n {
            let d = top * k as f64 / n as f64;
            let v = if diff {
                if k == n {
                    0.0
                } else {
                    v0 / n as f64
                }
            } else {
                v0 * (1.0 - k as f64 / n as f64)
            };
            let v = if percent { 100.0 * v / v0 } else { v };
            let dose = if cgy { 100.0 * d } else { d };
            s.push_str(&format!("{dose:.4}  {:.2}  {v:.6}\n", 100.0 * d / top));
        }
        s
    }

    #[test]
    fn every_unit_and_kind_of_export_gives_the_same_curve() {
        for (cgy, percent, diff) in [
            (false, true, false),
            (true, true, false),
            (false, false, false),
            (true, false, true),
            (false, true, true),
        ] {
            let text = export("PTV", 10.0, 40.0, cgy, percent, diff);
            let t = parse_eclipse(&text).unwrap();
            assert_eq!(t.len(), 1);
            let t = &t[0];
            assert_eq!(t.name, "PTV");
            assert_abs_diff_eq!(t.volume_cc, 10.0);
            // V(D) = 10 (1 - D / 40): the dose at x cc is 40 (1 - x / 10).
            assert_abs_diff_eq!(t.dose_at_volume_cc(2.5).unwrap(), 30.0, epsilon = 1e-3);
            assert_abs_diff_eq!(
                t.dose_at_volume_percent(50.0).unwrap(),
                20.0,
                epsilon = 1e-3
            );
            assert_abs_diff_eq!(t.mean_gy().unwrap(), 20.0, epsilon = 1e-3);
        }
    }

    #[test]
    fn two_structures_and_a_table_without_a_dose_column_is_an_error() {
        let text = export("PTV", 10.0, 40.0, false, true, false)
            + &export("Cord", 3.0, 20.0, true, false, false);
        let t = parse_eclipse(&text).unwrap();
        assert_eq!(
            t.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["PTV", "Cord"]
        );
        assert_abs_diff_eq!(t[1].dose_at_volume_cc(1.5).unwrap(), 10.0, epsilon = 1e-3);
        let bad = "Structure: X\nVolume [cm³]: 1\nRelative dose [%]  Structure Volume [cm³]\n0 1\n";
        assert!(parse_eclipse(bad).unwrap_err().contains("line 3"));
    }

    #[test]
    fn a_derived_structure_is_matched_by_name_never_by_its_organs_roi_number() {
        let rib = crate::dicom::Roi {
            number: 5,
            name: "Rib".into(),
            ..crate::raster::sample::tests_support::square_roi(1.0, &[0.0])
        };
        let curve = |name: &str, roi_number| TpsDvh {
            name: name.into(),
            roi_number,
            volume_cc: 1.0,
            dose_gy: vec![0.0],
            cumulative_cc: vec![1.0],
        };
        let embedded = [curve("ROI 5", Some(5))];
        let ours = |name: &str| StructureDvh {
            number: 5,
            name: name.into(),
            interpreted_type: None,
            volume_cc: 1.0,
            end_cap_cc: 0.0,
            outside_cc: 0.0,
            dvh: crate::dvh::Dvh::new(&[1.0], &[1.0]),
            min: None,
            max: None,
            samples: 1,
            supersampling: 1,
            planes: 1,
            warnings: vec![],
            defects: vec![],
            error: None,
        };
        let rois = [rib];
        assert!(curve_for(&embedded, &ours("Rib"), &rois).is_some());
        assert!(curve_for(&embedded, &ours("Rib-PTV"), &rois).is_none());
        let named = [curve("rib-ptv", None)];
        assert!(curve_for(&named, &ours("Rib-PTV"), &rois).is_some());
    }

    #[test]
    fn agreement_within_and_outside_tolerance() {
        use crate::dvh::Dvh;
        // Ours: 10 cc at doses 0..40 Gy uniformly (V(D) falls linearly), as samples.
        let n = 4000;
        let doses: Vec<f64> = (0..n).map(|k| 40.0 * (k as f64 + 0.5) / n as f64).collect();
        let vols = vec![10.0 / n as f64; n];
        let ours = StructureDvh {
            number: 1,
            name: "PTV".into(),
            interpreted_type: None,
            volume_cc: 10.0,
            end_cap_cc: 0.0,
            outside_cc: 0.0,
            dvh: Dvh::new(&doses, &vols),
            min: Some(0.0),
            max: Some(40.0),
            samples: n,
            supersampling: 1,
            planes: 1,
            warnings: vec![],
            defects: vec![],
            error: None,
        };
        let same = &parse_eclipse(&export("ptv", 10.0, 40.0, false, true, false)).unwrap();
        let a = compare(&ours, find(same, 7, "PTV").unwrap());
        assert!(a.agrees, "{a:?}");
        assert_eq!(a.metrics.len(), 7);
        // A planning system 3 % larger and hotter disagrees on the volume and the doses.
        let other = &parse_eclipse(&export("PTV", 10.3, 41.2, false, true, false)).unwrap();
        let a = compare(&ours, &other[0]);
        assert!(!a.agrees);
        let volume = &a.metrics[0];
        assert!(!volume.within);
        assert_abs_diff_eq!(volume.difference.unwrap(), -0.3, epsilon = 1e-9);
        // D50 20 Gy against 20.6 Gy: 0.6 Gy apart, beyond max(2 % of 20.6, 0.3) = 0.41 Gy.
        let d50 = a.metrics.iter().find(|m| m.metric == "D50%").unwrap();
        assert_abs_diff_eq!(d50.tolerance.unwrap(), 0.412, epsilon = 1e-9);
        assert!(!d50.within);
        // D98 0.8 Gy against 0.824 Gy: within 0.3 Gy.
        let d98 = a.metrics.iter().find(|m| m.metric == "D98%").unwrap();
        assert!(d98.within, "{d98:?}");
        assert_eq!(a.note, None, "no cap, no gap: nothing explains it");

        // With 1 cc of end caps, a planning system 9.2 cc large lies between ours without
        // caps (9 cc) and with them: the caps explain the volume; 8.5 cc they do not.
        let capped = StructureDvh {
            end_cap_cc: 1.0,
            ..ours
        };
        let smaller = &parse_eclipse(&export("PTV", 9.2, 40.0, false, true, false)).unwrap();
        let a = compare(&capped, &smaller[0]);
        assert!(!a.metrics[0].within);
        let note = a.note.unwrap_or_default();
        assert!(
            note.contains("end caps") && note.contains("(9.000 cc)"),
            "{note}"
        );
        let much = &parse_eclipse(&export("PTV", 8.5, 40.0, false, true, false)).unwrap();
        assert_eq!(compare(&capped, &much[0]).note, None);
    }
}
