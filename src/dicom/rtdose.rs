//! RT Dose -> [`DoseGrid`]: geometry, units, summation type and values in Gy.
//!
//! DICOM PS3.3 C.8.8.3 (RT Dose Module). Values are stored samples x DoseGridScaling,
//! as an `ndarray` of f32 indexed `[frame][row][column]` (= `[z][y][x]` for axial grids).

use std::path::Path;

use ndarray::Array3;
use serde::Serialize;

use super::pixels::{decode_samples, SampleLayout};
use dicom_dictionary_std::tags;

use super::attrs::Attrs;
use super::part10::DicomFile;
use super::Patient;
use crate::error::{Error, Result};
use crate::geometry::GridGeometry;

/// Largest number of voxels accepted (refused before allocating): 512 x 512 x 1024.
pub const MAX_VOXELS: usize = 512 * 512 * 1024;

/// Tolerance on direction cosines for a grid to count as axial.
const AXIS_TOLERANCE: f64 = 1e-4;

/// DoseUnits (3004,0002).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DoseUnits {
    /// Gray: the only unit dose checks accept.
    Gy,
    /// Relative to some reference: values cannot be compared with limits in Gy.
    Relative,
    Other(String),
}

impl DoseUnits {
    /// The DICOM term.
    pub fn as_str(&self) -> &str {
        match self {
            DoseUnits::Gy => "GY",
            DoseUnits::Relative => "RELATIVE",
            DoseUnits::Other(s) => s,
        }
    }
}

/// DoseSummationType (3004,000A).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DoseSummation {
    Plan,
    MultiPlan,
    Fraction,
    Beam,
    Brachy,
    FractionSession,
    BeamSession,
    BrachySession,
    ControlPoint,
    Record,
    Other(String),
}

impl DoseSummation {
    fn parse(s: &str) -> Self {
        match s {
            "PLAN" => DoseSummation::Plan,
            "MULTI_PLAN" => DoseSummation::MultiPlan,
            "FRACTION" => DoseSummation::Fraction,
            "BEAM" => DoseSummation::Beam,
            "BRACHY" => DoseSummation::Brachy,
            "FRACTION_SESSION" => DoseSummation::FractionSession,
            "BEAM_SESSION" => DoseSummation::BeamSession,
            "BRACHY_SESSION" => DoseSummation::BrachySession,
            "CONTROL_POINT" => DoseSummation::ControlPoint,
            "RECORD" => DoseSummation::Record,
            other => DoseSummation::Other(other.to_string()),
        }
    }

    /// The DICOM defined term.
    pub fn as_str(&self) -> &str {
        match self {
            DoseSummation::Plan => "PLAN",
            DoseSummation::MultiPlan => "MULTI_PLAN",
            DoseSummation::Fraction => "FRACTION",
            DoseSummation::Beam => "BEAM",
            DoseSummation::Brachy => "BRACHY",
            DoseSummation::FractionSession => "FRACTION_SESSION",
            DoseSummation::BeamSession => "BEAM_SESSION",
            DoseSummation::BrachySession => "BRACHY_SESSION",
            DoseSummation::ControlPoint => "CONTROL_POINT",
            DoseSummation::Record => "RECORD",
            DoseSummation::Other(s) => s,
        }
    }
}

/// DoseType (3004,0004): what the values are. Only PHYSICAL and EFFECTIVE are doses;
/// ERROR (a dose-difference map), a missing DoseType or another term is kept here and
/// refused when the plan set is linked ([`super::discover`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DoseType {
    /// Physical dose.
    Physical,
    /// Physical dose corrected for a biological effect.
    Effective,
    /// A dose-difference map: not a dose.
    Error,
    /// Another term.
    Other(String),
}

impl DoseType {
    fn parse(s: &str) -> Self {
        match s {
            "PHYSICAL" => DoseType::Physical,
            "EFFECTIVE" => DoseType::Effective,
            "ERROR" => DoseType::Error,
            other => DoseType::Other(other.to_string()),
        }
    }

    /// The DICOM term.
    pub fn as_str(&self) -> &str {
        match self {
            DoseType::Physical => "PHYSICAL",
            DoseType::Effective => "EFFECTIVE",
            DoseType::Error => "ERROR",
            DoseType::Other(s) => s,
        }
    }

    /// True for the types whose values are a dose (PHYSICAL, EFFECTIVE).
    pub fn is_dose(&self) -> bool {
        matches!(self, DoseType::Physical | DoseType::Effective)
    }
}

/// An RT Dose object: a 3-D dose distribution on an axial grid.
#[derive(Debug, Clone)]
pub struct DoseGrid {
    pub path: std::path::PathBuf,
    pub sop_instance_uid: String,
    pub frame_of_reference_uid: Option<String>,
    pub study_instance_uid: Option<String>,
    pub patient: Patient,
    pub geometry: GridGeometry,
    pub units: DoseUnits,
    /// DoseType (3004,0004); `None` when missing (refused when linked).
    pub dose_type: Option<DoseType>,
    pub summation: DoseSummation,
    pub grid_scaling: f64,
    pub bits_allocated: u16,
    /// SOP Instance UID of the RT Plan this dose references.
    pub referenced_plan_uid: Option<String>,
    pub comment: Option<String>,
    /// Dose, in the unit of `units` (Gy for [`DoseUnits::Gy`]), `[frame][row][column]`.
    pub values: Array3<f32>,
    /// Things a physicist should know that do not stop the read.
    pub warnings: Vec<String>,
}

/// The largest of `values`: sixteen running maxima (a chain of dependent maxima would
/// take a few cycles per voxel; independent lanes vectorize).
fn block_max(values: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for c in &mut chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = m.max(v);
        }
    }
    chunks
        .remainder()
        .iter()
        .chain(&lanes)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

impl DoseGrid {
    /// Largest stored dose (unit of `units`).
    pub fn max_value(&self) -> f32 {
        use rayon::prelude::*;
        let Some(values) = self.values.as_slice() else {
            return self
                .values
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
        };
        // Blocks in parallel (the maximum does not depend on the order).
        values
            .par_chunks(1 << 16)
            .map(block_max)
            .reduce(|| f32::NEG_INFINITY, f32::max)
    }

    /// Reads an RT Dose data set.
    pub fn from_file(file: &DicomFile) -> Result<Self> {
        let at = file.attrs();
        let path = file.path.as_path();
        let (layout, voxels) = read_layout(&at, path)?;
        let grid_scaling = at.f64_req(tags::DOSE_GRID_SCALING)?;
        if grid_scaling <= 0.0 {
            return Err(at.bad(
                tags::DOSE_GRID_SCALING,
                format!("must be positive, found {grid_scaling}"),
            ));
        }

        let mut warnings = Vec::new();
        let (rows, columns, frames) = (layout.rows, layout.columns, layout.frames);
        let geometry = read_geometry(file, rows, columns, frames, &mut warnings)?;

        let units = match at.str_opt(tags::DOSE_UNITS)?.as_deref() {
            Some("GY") => DoseUnits::Gy,
            Some("RELATIVE") => DoseUnits::Relative,
            Some(other) => DoseUnits::Other(other.to_string()),
            None => return Err(at.missing(tags::DOSE_UNITS)),
        };
        let summation = DoseSummation::parse(&at.str_req(tags::DOSE_SUMMATION_TYPE)?);
        let dose_type = at.str_opt(tags::DOSE_TYPE)?.as_deref().map(DoseType::parse);

        let values = decode_samples(file, layout, grid_scaling)?;
        debug_assert_eq!(values.len(), voxels);
        check_values(&at, &values, &units)?;
        let values = Array3::from_shape_vec((frames, rows, columns), values)
            .expect("sample count was checked against the grid dimensions");

        Ok(DoseGrid {
            path: path.to_path_buf(),
            sop_instance_uid: at.str_req(tags::SOP_INSTANCE_UID)?,
            frame_of_reference_uid: at.str_opt(tags::FRAME_OF_REFERENCE_UID)?,
            study_instance_uid: at.str_opt(tags::STUDY_INSTANCE_UID)?,
            patient: Patient::read(&at)?,
            geometry,
            units,
            dose_type,
            summation,
            grid_scaling,
            bits_allocated: layout.bits_allocated,
            referenced_plan_uid: at.first_referenced_uid(tags::REFERENCED_RT_PLAN_SEQUENCE)?,
            comment: at.str_opt(tags::DOSE_COMMENT)?,
            values,
            warnings,
        })
    }
}

/// The image pixel attributes -> the layout of the samples and their number; an empty
/// grid, one over [`MAX_VOXELS`], or samples the reader does not decode are refused.
fn read_layout(at: &Attrs<'_>, path: &Path) -> Result<(SampleLayout, usize)> {
    let rows = at.uint_req(tags::ROWS, 65535)? as usize;
    let columns = at.uint_req(tags::COLUMNS, 65535)? as usize;
    let frames = at.uint_opt(tags::NUMBER_OF_FRAMES, 1 << 20)?.unwrap_or(1) as usize;
    if rows == 0 || columns == 0 || frames == 0 {
        return Err(Error::invalid(
            path,
            format!("empty dose grid ({columns} columns x {rows} rows x {frames} frames)"),
        ));
    }
    let voxels = rows
        .checked_mul(columns)
        .and_then(|v| v.checked_mul(frames))
        .filter(|&v| v <= MAX_VOXELS)
        .ok_or_else(|| {
            Error::invalid(
                path,
                format!(
                    "dose grid of {columns} x {rows} x {frames} voxels exceeds the {MAX_VOXELS}-voxel limit"
                ),
            )
        })?;
    let samples_per_pixel = at.uint_opt(tags::SAMPLES_PER_PIXEL, 65535)?.unwrap_or(1);
    if samples_per_pixel != 1 {
        return Err(at.bad(
            tags::SAMPLES_PER_PIXEL,
            format!("expected 1, found {samples_per_pixel}"),
        ));
    }
    let bits_allocated = at.uint_req(tags::BITS_ALLOCATED, 64)? as u16;
    if bits_allocated != 16 && bits_allocated != 32 {
        return Err(at.bad(
            tags::BITS_ALLOCATED,
            format!("expected 16 or 32, found {bits_allocated}"),
        ));
    }
    // The RT Dose module requires BitsStored = BitsAllocated: fewer bits stored would
    // leave the high bits to be masked, which the samples are not.
    let bits_stored = at.uint_opt(tags::BITS_STORED, 64)?;
    if let Some(bits_stored) = bits_stored.filter(|&b| b != u64::from(bits_allocated)) {
        return Err(at.bad(
            tags::BITS_STORED,
            format!(
                "{bits_stored}, not equal to BitsAllocated (0028,0100) {bits_allocated} as the RT Dose module requires"
            ),
        ));
    }
    let signed = at.uint_opt(tags::PIXEL_REPRESENTATION, 1)?.unwrap_or(0) == 1;
    let layout = SampleLayout {
        rows,
        columns,
        frames,
        bits_allocated,
        signed,
    };
    Ok((layout, voxels))
}

/// The scaled dose values -> an error when one is not finite or negative.
fn check_values(at: &Attrs<'_>, values: &[f32], units: &DoseUnits) -> Result<()> {
    // Both checks in one pass over the grid (independent per value, so it vectorizes);
    // the minimum is looked for only when there is a negative value to report.
    let (not_finite, negative) = values.iter().fold((false, false), |(bad, neg), &v| {
        (bad || !v.is_finite(), neg || v < 0.0)
    });
    if not_finite {
        return Err(at.bad(tags::DOSE_GRID_SCALING, "scaled dose is not finite"));
    }
    if negative {
        let min = values.iter().copied().fold(f32::INFINITY, f32::min);
        return Err(at.bad(
            tags::PIXEL_DATA,
            format!(
                "negative dose values (minimum {min} {}): a dose cannot be negative",
                units.as_str()
            ),
        ));
    }
    Ok(())
}

/// Image position, orientation, pixel spacing and frame positions -> [`GridGeometry`].
fn read_geometry(
    file: &DicomFile,
    rows: usize,
    columns: usize,
    frames: usize,
    warnings: &mut Vec<String>,
) -> Result<GridGeometry> {
    let at = file.attrs();
    let ipp = at.numbers_req(tags::IMAGE_POSITION_PATIENT, 3)?;
    let (x_sign, y_sign) = axis_signs(&at)?;
    // Normal = row x col: its z component is x_sign * y_sign for axial grids.
    let normal_z = x_sign * y_sign;

    let spacing = at.numbers_req(tags::PIXEL_SPACING, 2)?;
    // PixelSpacing = row spacing (between rows, along y) \ column spacing (along x).
    let (row_spacing_mm, column_spacing_mm) = (spacing[0], spacing[1]);
    if row_spacing_mm <= 0.0 || column_spacing_mm <= 0.0 {
        return Err(at.bad(tags::PIXEL_SPACING, "spacing must be positive"));
    }

    let frame_z_mm = frame_positions(&at, ipp[2], normal_z, frames, warnings)?;
    let increasing = frame_z_mm.windows(2).all(|w| w[1] > w[0]);
    let decreasing = frame_z_mm.windows(2).all(|w| w[1] < w[0]);
    if !(increasing || decreasing) {
        return Err(at.bad(
            tags::GRID_FRAME_OFFSET_VECTOR,
            "frame positions are not strictly monotonic",
        ));
    }
    let geometry = GridGeometry {
        columns,
        rows,
        frames,
        origin_mm: [ipp[0], ipp[1], ipp[2]],
        x_sign,
        y_sign,
        column_spacing_mm,
        row_spacing_mm,
        frame_z_mm,
    };
    if frames > 1 && geometry.uniform_slice_spacing_mm().is_none() {
        warnings.push("dose frames are not evenly spaced".to_string());
    }
    Ok(geometry)
}

/// ImageOrientationPatient -> the signs of the row (x) and column (y) directions; a grid
/// that is not axial is refused.
fn axis_signs(at: &Attrs<'_>) -> Result<(f64, f64)> {
    let iop = at.numbers_req(tags::IMAGE_ORIENTATION_PATIENT, 6)?;
    let row_dir = [iop[0], iop[1], iop[2]];
    let col_dir = [iop[3], iop[4], iop[5]];
    let is_axis = |v: [f64; 3], axis: usize| {
        (v[axis].abs() - 1.0).abs() < AXIS_TOLERANCE
            && (0..3).all(|i| i == axis || v[i].abs() < AXIS_TOLERANCE)
    };
    if !is_axis(row_dir, 0) || !is_axis(col_dir, 1) {
        return Err(at.bad(
            tags::IMAGE_ORIENTATION_PATIENT,
            format!(
                "only axial dose grids are supported (rows along x, columns along y); found {}",
                iop.iter()
                    .map(|v| format!("{v}"))
                    .collect::<Vec<_>>()
                    .join("\\")
            ),
        ));
    }
    Ok((row_dir[0].signum(), col_dir[1].signum()))
}

/// GridFrameOffsetVector (relative or absolute form) -> the z of each frame, mm, from the
/// first frame's z (`ipp_z_mm`) and the z component of the image normal.
fn frame_positions(
    at: &Attrs<'_>,
    ipp_z_mm: f64,
    normal_z: f64,
    frames: usize,
    warnings: &mut Vec<String>,
) -> Result<Vec<f64>> {
    let Some(offsets) = at.numbers_opt(tags::GRID_FRAME_OFFSET_VECTOR)? else {
        if frames == 1 {
            return Ok(vec![ipp_z_mm]);
        }
        return Err(at.missing(tags::GRID_FRAME_OFFSET_VECTOR));
    };
    if frames == 1 && offsets.len() > 1 {
        warnings.push(format!(
            "GridFrameOffsetVector has {} values for a single frame; the first is used",
            offsets.len()
        ));
    } else if offsets.len() != frames {
        return Err(at.bad(
            tags::GRID_FRAME_OFFSET_VECTOR,
            format!("{} values for {frames} frames", offsets.len()),
        ));
    }
    if offsets[0] == 0.0 {
        // Relative form: offsets along the image normal from the first frame.
        if normal_z < 0.0 {
            warnings.push(
                "image normal points to -z: frame offsets taken along the normal, as the standard says"
                    .to_string(),
            );
        }
        Ok(offsets[..frames]
            .iter()
            .map(|o| ipp_z_mm + normal_z * o)
            .collect())
    } else if (offsets[0] - ipp_z_mm).abs() < 1e-3 {
        // Absolute form (allowed by the standard, seldom used): z positions.
        warnings.push("GridFrameOffsetVector is in the absolute form (z positions)".to_string());
        Ok(offsets[..frames].to_vec())
    } else {
        Err(at.bad(
            tags::GRID_FRAME_OFFSET_VECTOR,
            format!(
                "first value {} is neither 0 (relative) nor ImagePositionPatient z {} (absolute)",
                offsets[0], ipp_z_mm
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maximum_is_found_in_any_block_and_in_the_tail() {
        let mut grid = crate::raster::sample::tests_support::linear_grid();
        // 41^3 = 68,921 values: one full block of 65,536 and a tail of 3,385, whose last
        // 9 values are not a whole lane group.
        let n = grid.values.len();
        for at in [0, 17, 65_535, 65_536, n - 5, n - 1] {
            grid.values.fill(-1.0);
            grid.values.as_slice_mut().unwrap()[at] = 7.5;
            assert_eq!(grid.max_value(), 7.5, "maximum at {at}");
        }
        assert_eq!(block_max(&[]), f32::NEG_INFINITY);
    }
}
