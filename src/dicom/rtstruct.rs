//! RT Structure Set -> [`StructureSet`]: ROIs, their contours grouped by plane.
//!
//! DICOM PS3.3 C.8.8.5 (Structure Set), C.8.8.6 (ROI Contour), C.8.8.8 (RT ROI
//! Observations). Only CLOSED_PLANAR contours make volumes; POINT and OPEN contours are kept
//! and marked unused.
//!
//! A contour that cannot be drawn as the standard says never vanishes silently
//! ([`Roi::review_contours`]): on a structure of closed planar contours, a closed contour
//! of zero area (collapsed to a line or to one point) or an open contour is a defect of the
//! ROI (its constraints are not evaluated); what provably cannot change a result is
//! repaired and recorded (an exact duplicate of a polygon on its plane removed, POINT
//! markers ignored).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use dicom_dictionary_std::tags;

use super::attrs::Attrs;
use super::part10::DicomFile;
use super::Patient;
use crate::error::{Error, Result};

/// Contour points closer than this in z are on the same plane, mm.
pub const PLANE_TOLERANCE_MM: f64 = 0.01;

/// Contour coordinates beyond this (100 m from the origin) are a defect, not anatomy.
pub const MAX_COORDINATE_MM: f64 = 1e5;

/// A closed planar contour enclosing less than this encloses nothing: its points lie on a
/// line or on one point, mm². A square of 1 µm side; a drawn contour is millions of times
/// larger.
pub const ZERO_AREA_MM2: f64 = 1e-6;

/// ContourGeometricType (3006,0042).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContourType {
    ClosedPlanar,
    OpenPlanar,
    OpenNonplanar,
    Point,
    Other(String),
}

/// One contour: a polygon (closed planar) or points, in patient mm.
#[derive(Debug, Clone)]
pub struct Contour {
    pub kind: ContourType,
    pub points_mm: Vec<[f64; 3]>,
}

impl Contour {
    /// The plane z of a closed planar contour (its first point).
    pub fn z_mm(&self) -> f64 {
        self.points_mm[0][2]
    }
}

/// All closed planar contours of an ROI at one z.
#[derive(Debug, Clone)]
pub struct Plane {
    pub z_mm: f64,
    /// Indices into [`Roi::contours`].
    pub contours: Vec<usize>,
}

/// A region of interest.
#[derive(Debug, Clone, Serialize)]
pub struct Roi {
    pub number: i64,
    pub name: String,
    /// RTROIInterpretedType (PTV, CTV, ORGAN, EXTERNAL, ...), from RT ROI Observations.
    pub interpreted_type: Option<String>,
    pub color: Option<[u8; 3]>,
    pub frame_of_reference_uid: Option<String>,
    #[serde(skip)]
    pub contours: Vec<Contour>,
    /// Problems that make the ROI unusable for volume metrics (e.g. NaN coordinates).
    pub defects: Vec<String>,
    /// What reading repaired because it cannot change a result (an exact duplicate
    /// contour removed, POINT markers ignored).
    pub repairs: Vec<String>,
}

impl Roi {
    /// Closed planar contours grouped by plane, in increasing z.
    pub fn planes(&self) -> Vec<Plane> {
        let mut planes: Vec<Plane> = Vec::new();
        let mut closed: Vec<(f64, usize)> = self
            .contours
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ContourType::ClosedPlanar && !c.points_mm.is_empty())
            .map(|(i, c)| (c.z_mm(), i))
            .collect();
        closed.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for (z, i) in closed {
            match planes.last_mut() {
                Some(p) if (z - p.z_mm).abs() <= PLANE_TOLERANCE_MM => p.contours.push(i),
                _ => planes.push(Plane {
                    z_mm: z,
                    contours: vec![i],
                }),
            }
        }
        planes
    }

    /// Number of contours of each kind: (closed planar, other).
    pub fn contour_counts(&self) -> (usize, usize) {
        let closed = self
            .contours
            .iter()
            .filter(|c| c.kind == ContourType::ClosedPlanar)
            .count();
        (closed, self.contours.len() - closed)
    }

    /// The contour-level rules (see the module documentation): on a structure with closed
    /// planar contours, zero-area closed contours and open contours become defects, POINT
    /// markers are ignored and an exact duplicate of a closed contour on its plane (the
    /// same points, perhaps from another start) is removed, each recorded in
    /// [`Roi::repairs`].
    pub fn review_contours(&mut self) {
        let closed = |c: &Contour| c.kind == ContourType::ClosedPlanar;
        if !self.contours.iter().any(closed) {
            return;
        }
        let mut points = 0;
        for c in &self.contours {
            match &c.kind {
                ContourType::ClosedPlanar => {
                    if polygon_area_mm2(&c.points_mm) <= ZERO_AREA_MM2 {
                        self.defects.push(format!(
                            "a closed planar contour on z = {} mm has zero area (its {} points lie on a line or on one point)",
                            c.z_mm(),
                            c.points_mm.len()
                        ));
                    }
                }
                ContourType::Point => points += 1,
                other => self.defects.push(format!(
                    "a contour of type {} near z = {} mm among closed planar contours",
                    other.as_str(),
                    c.points_mm.first().map_or(f64::NAN, |p| p[2])
                )),
            }
        }
        match points {
            0 => {}
            1 => self.repairs.push("POINT marker ignored".to_string()),
            n => self.repairs.push(format!("{n} POINT markers ignored")),
        }
        let mut duplicate = vec![false; self.contours.len()];
        for plane in self.planes() {
            for (k, &i) in plane.contours.iter().enumerate() {
                for &j in &plane.contours[k + 1..] {
                    if !duplicate[j]
                        && !duplicate[i]
                        && same_polygon(&self.contours[i].points_mm, &self.contours[j].points_mm)
                    {
                        duplicate[j] = true;
                        self.repairs.push(format!(
                            "exact duplicate contour removed on z = {} mm",
                            self.contours[j].z_mm()
                        ));
                    }
                }
            }
        }
        if duplicate.contains(&true) {
            let mut keep = duplicate.iter().map(|d| !d);
            self.contours.retain(|_| keep.next().unwrap_or(true));
        }
    }

    /// (z min, z max) of the closed planar contours.
    pub fn z_extent_mm(&self) -> Option<(f64, f64)> {
        let planes = self.planes();
        Some((planes.first()?.z_mm, planes.last()?.z_mm))
    }
}

/// An RT Structure Set object.
#[derive(Debug, Clone)]
pub struct StructureSet {
    pub path: std::path::PathBuf,
    pub sop_instance_uid: String,
    pub label: Option<String>,
    pub frame_of_reference_uid: Option<String>,
    pub study_instance_uid: Option<String>,
    pub patient: Patient,
    /// In ROI number order.
    pub rois: Vec<Roi>,
    pub warnings: Vec<String>,
}

impl StructureSet {
    /// Reads an RT Structure Set data set.
    pub fn from_file(file: &DicomFile) -> Result<Self> {
        let at = file.attrs();
        let path = file.path.as_path();
        let mut warnings = Vec::new();
        require_sequences(&at)?;
        let mut rois = read_rois(&at, path)?;
        add_contours(&at, path, &mut rois, &mut warnings)?;
        add_interpreted_types(&at, &mut rois, &mut warnings)?;
        let frame_of_reference_uid = frame_of_reference(&at, &mut rois, &mut warnings)?;
        Ok(StructureSet {
            path: path.to_path_buf(),
            sop_instance_uid: at.str_req(tags::SOP_INSTANCE_UID)?,
            label: at.str_opt(tags::STRUCTURE_SET_LABEL)?,
            frame_of_reference_uid,
            study_instance_uid: at.str_opt(tags::STUDY_INSTANCE_UID)?,
            patient: Patient::read(&at)?,
            rois: rois.into_values().collect(),
            warnings,
        })
    }

    /// The ROI with this number.
    pub fn roi(&self, number: i64) -> Option<&Roi> {
        self.rois.iter().find(|r| r.number == number)
    }
}

impl ContourType {
    /// The DICOM defined term.
    pub fn as_str(&self) -> &str {
        match self {
            ContourType::ClosedPlanar => "CLOSED_PLANAR",
            ContourType::OpenPlanar => "OPEN_PLANAR",
            ContourType::OpenNonplanar => "OPEN_NONPLANAR",
            ContourType::Point => "POINT",
            ContourType::Other(s) => s,
        }
    }
}

/// The data set -> an error unless it has the three sequences of a structure set. They are
/// Type 1 in the standard; a file cut between two top-level elements reads as a shorter
/// data set: these three make sure a cut structure set is refused.
fn require_sequences(at: &Attrs<'_>) -> Result<()> {
    for seq in [
        tags::STRUCTURE_SET_ROI_SEQUENCE,
        tags::ROI_CONTOUR_SEQUENCE,
        tags::RTROI_OBSERVATIONS_SEQUENCE,
    ] {
        if !at.has(seq) {
            return Err(at.missing(seq));
        }
    }
    Ok(())
}

/// StructureSetROISequence -> the ROIs by number, without contours yet; a duplicate ROI
/// number is an error.
fn read_rois(at: &Attrs<'_>, path: &Path) -> Result<BTreeMap<i64, Roi>> {
    let mut rois: BTreeMap<i64, Roi> = BTreeMap::new();
    for item in at.items(tags::STRUCTURE_SET_ROI_SEQUENCE) {
        let number = item
            .int_opt(tags::ROI_NUMBER)?
            .ok_or_else(|| item.missing(tags::ROI_NUMBER))?;
        let name = item.str_opt(tags::ROI_NAME)?.unwrap_or_default();
        if rois.contains_key(&number) {
            return Err(Error::invalid(
                path,
                format!("duplicate ROI number {number} in StructureSetROISequence (3006,0020)"),
            ));
        }
        rois.insert(
            number,
            Roi {
                number,
                name,
                interpreted_type: None,
                color: None,
                frame_of_reference_uid: item.str_opt(tags::REFERENCED_FRAME_OF_REFERENCE_UID)?,
                contours: Vec::new(),
                defects: Vec::new(),
                repairs: Vec::new(),
            },
        );
    }
    Ok(rois)
}

/// ROIContourSequence -> each ROI's colour and contours (reviewed), with the defects found
/// in reading them. An item of an unknown ROI is a warning; two items of one ROI an error.
fn add_contours(
    at: &Attrs<'_>,
    path: &Path,
    rois: &mut BTreeMap<i64, Roi>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut seen_contour_rois = BTreeSet::new();
    let mut contours: Vec<(i64, Attrs<'_>)> = Vec::new();
    for item in at.items(tags::ROI_CONTOUR_SEQUENCE) {
        let number = item
            .int_opt(tags::REFERENCED_ROI_NUMBER)?
            .ok_or_else(|| item.missing(tags::REFERENCED_ROI_NUMBER))?;
        let Some(roi) = rois.get_mut(&number) else {
            warnings.push(format!(
                "ROIContourSequence references ROI number {number}, which is not in StructureSetROISequence; ignored"
            ));
            continue;
        };
        if !seen_contour_rois.insert(number) {
            return Err(Error::invalid(
                path,
                format!("ROI number {number} has two ROIContourSequence items"),
            ));
        }
        roi.color = read_color(&item);
        contours.extend(
            item.items(tags::CONTOUR_SEQUENCE)
                .into_iter()
                .map(|c| (number, c)),
        );
    }
    // The contours read in parallel (their coordinates are parsed from their text as
    // they are read), and added to their ROIs in file order.
    let read: Vec<Result<ContourRead>> =
        contours.par_iter().map(|(_, c)| read_contour(c)).collect();
    for ((number, _), read) in contours.iter().zip(read) {
        let read = read?;
        let roi = rois.get_mut(number).expect("contours are of known ROIs");
        roi.defects.extend(read.defects);
        roi.contours.extend(read.contour);
    }
    for roi in rois.values_mut() {
        roi.review_contours();
    }
    Ok(())
}

/// RTROIObservationsSequence -> each ROI's RTROIInterpretedType; an item of an unknown ROI
/// is a warning.
fn add_interpreted_types(
    at: &Attrs<'_>,
    rois: &mut BTreeMap<i64, Roi>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for item in at.items(tags::RTROI_OBSERVATIONS_SEQUENCE) {
        let Some(number) = item.int_opt(tags::REFERENCED_ROI_NUMBER)? else {
            continue;
        };
        match rois.get_mut(&number) {
            Some(roi) => roi.interpreted_type = item.str_opt(tags::RTROI_INTERPRETED_TYPE)?,
            None => warnings.push(format!(
                "RTROIObservationsSequence references ROI number {number}, which is not in StructureSetROISequence; ignored"
            )),
        }
    }
    Ok(())
}

/// The structure set's frame of reference: ReferencedFrameOfReferenceSequence, else the
/// ROIs'. Several are a warning (the first is used); an ROI in another frame gets a defect.
fn frame_of_reference(
    at: &Attrs<'_>,
    rois: &mut BTreeMap<i64, Roi>,
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    let mut frames: BTreeSet<String> = BTreeSet::new();
    for item in at.items(tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE) {
        if let Some(uid) = item.str_opt(tags::FRAME_OF_REFERENCE_UID)? {
            frames.insert(uid);
        }
    }
    let roi_frames: BTreeSet<String> = rois
        .values()
        .filter_map(|r| r.frame_of_reference_uid.clone())
        .collect();
    if frames.is_empty() {
        frames = roi_frames.clone();
    }
    if frames.len() > 1 {
        warnings.push(format!(
            "structure set references {} frames of reference",
            frames.len()
        ));
    }
    let frame_of_reference_uid = frames.into_iter().next();
    if let Some(f) = &frame_of_reference_uid {
        for roi in rois.values_mut() {
            if roi.frame_of_reference_uid.as_ref().is_some_and(|r| r != f) {
                roi.defects
                    .push("ROI is in another frame of reference than the structure set".into());
            }
        }
    }
    Ok(frame_of_reference_uid)
}

/// The area enclosed by a planar polygon in x-y (shoelace formula, the points shifted to
/// the first one so that large coordinates do not cancel), mm².
fn polygon_area_mm2(points: &[[f64; 3]]) -> f64 {
    let Some(first) = points.first() else {
        return 0.0;
    };
    let twice: f64 = points
        .iter()
        .zip(points.iter().cycle().skip(1))
        .map(|(p, q)| {
            let (px, py) = (p[0] - first[0], p[1] - first[1]);
            let (qx, qy) = (q[0] - first[0], q[1] - first[1]);
            px * qy - qx * py
        })
        .sum();
    (twice / 2.0).abs()
}

/// The points of a polygon without a last point that repeats the first.
fn open_ring(points: &[[f64; 3]]) -> &[[f64; 3]] {
    match points {
        [first, .., last] if first == last => &points[..points.len() - 1],
        _ => points,
    }
}

/// True when `a` and `b` are the same polygon: the same points in the same order, perhaps
/// from another start.
fn same_polygon(a: &[[f64; 3]], b: &[[f64; 3]]) -> bool {
    let (a, b) = (open_ring(a), open_ring(b));
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    (0..b.len()).filter(|&k| b[k] == a[0]).any(|k| {
        a.iter()
            .zip(b[k..].iter().chain(&b[..k]))
            .all(|(p, q)| p == q)
    })
}

fn read_color(item: &Attrs<'_>) -> Option<[u8; 3]> {
    let v = item.numbers_opt(tags::ROI_DISPLAY_COLOR).ok()??;
    (v.len() == 3 && v.iter().all(|c| (0.0..=255.0).contains(c)))
        .then(|| [v[0] as u8, v[1] as u8, v[2] as u8])
}

/// One ContourSequence item: its contour, or the defects that keep it out (a defect may
/// also come with the contour).
fn read_contour(c: &Attrs<'_>) -> Result<ContourRead> {
    let mut read = ContourRead::default();
    let kind = match c.str_opt(tags::CONTOUR_GEOMETRIC_TYPE)?.as_deref() {
        Some("CLOSED_PLANAR") => ContourType::ClosedPlanar,
        Some("OPEN_PLANAR") => ContourType::OpenPlanar,
        Some("OPEN_NONPLANAR") => ContourType::OpenNonplanar,
        Some("POINT") => ContourType::Point,
        Some(other) => ContourType::Other(other.to_string()),
        None => {
            read.defects
                .push("a contour has no ContourGeometricType (3006,0042)".into());
            return Ok(read);
        }
    };
    let data = match c.numbers_opt(tags::CONTOUR_DATA) {
        Ok(Some(d)) => d,
        Ok(None) => {
            read.defects
                .push("a contour has no ContourData (3006,0050)".into());
            return Ok(read);
        }
        Err(e) => {
            read.defects.push(format!("unreadable contour: {e}"));
            return Ok(read);
        }
    };
    if data.len() % 3 != 0 {
        read.defects.push(format!(
            "ContourData (3006,0050) has {} values, not a multiple of 3",
            data.len()
        ));
        return Ok(read);
    }
    if let Some(v) = data.iter().find(|v| v.abs() > MAX_COORDINATE_MM) {
        read.defects.push(format!(
            "ContourData (3006,0050) has a coordinate of {v} mm, beyond {MAX_COORDINATE_MM} mm"
        ));
        return Ok(read);
    }
    // The parser sizes the numbers exactly, so they become the points in place (no copy
    // of the coordinates, nor fresh memory for it); otherwise they are copied.
    let points_mm: Vec<[f64; 3]> = match bytemuck::allocation::try_cast_vec(data) {
        Ok(points) => points,
        Err((_, data)) => data.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
    };
    if let Ok(Some(n)) = c.uint_opt(tags::NUMBER_OF_CONTOUR_POINTS, u32::MAX.into()) {
        if n as usize != points_mm.len() {
            read.defects.push(format!(
                "NumberOfContourPoints (3006,0046) says {n}, ContourData has {} points",
                points_mm.len()
            ));
        }
    }
    if kind == ContourType::ClosedPlanar {
        if points_mm.len() < 3 {
            read.defects.push(format!(
                "a closed planar contour has {} points (at least 3 needed)",
                points_mm.len()
            ));
            return Ok(read);
        }
        let z0 = points_mm[0][2];
        if points_mm
            .iter()
            .any(|p| (p[2] - z0).abs() > PLANE_TOLERANCE_MM)
        {
            read.defects.push(format!(
                "a closed planar contour near z = {z0} mm is not in one axial plane"
            ));
            return Ok(read);
        }
    }
    read.contour = Some(Contour { kind, points_mm });
    Ok(read)
}

/// What [`read_contour`] makes of a contour item.
#[derive(Default)]
struct ContourRead {
    contour: Option<Contour>,
    defects: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contour(kind: ContourType, xy: &[(f64, f64)], z: f64) -> Contour {
        Contour {
            kind,
            points_mm: xy.iter().map(|&(x, y)| [x, y, z]).collect(),
        }
    }

    fn roi(contours: Vec<Contour>) -> Roi {
        let mut roi = Roi {
            number: 1,
            name: "Cord".into(),
            interpreted_type: None,
            color: None,
            frame_of_reference_uid: None,
            contours,
            defects: Vec::new(),
            repairs: Vec::new(),
        };
        roi.review_contours();
        roi
    }

    const SQUARE: [(f64, f64); 4] = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];

    #[test]
    fn a_closed_contour_collapsed_to_a_line_or_a_point_is_a_defect() {
        let line = [(0.0, 0.0), (5.0, 5.0), (10.0, 10.0)];
        let point = [(3.0, 4.0), (3.0, 4.0), (3.0, 4.0)];
        for bad in [&line[..], &point[..]] {
            let r = roi(vec![
                contour(ContourType::ClosedPlanar, &SQUARE, 0.0),
                contour(ContourType::ClosedPlanar, bad, 3.0),
            ]);
            assert_eq!(r.defects.len(), 1, "{:?}", r.defects);
            assert!(
                r.defects[0].contains("z = 3 mm has zero area"),
                "{:?}",
                r.defects
            );
        }
        // A thin but real contour (0.1 mm wide) is not.
        let thin = [(0.0, 0.0), (10.0, 0.0), (10.0, 0.1), (0.0, 0.1)];
        assert!(roi(vec![contour(ContourType::ClosedPlanar, &thin, 0.0)])
            .defects
            .is_empty());
    }

    #[test]
    fn an_open_contour_among_closed_ones_is_a_defect_and_a_point_marker_a_repair() {
        let r = roi(vec![
            contour(ContourType::ClosedPlanar, &SQUARE, 0.0),
            contour(ContourType::OpenPlanar, &[(0.0, 0.0), (4.0, 4.0)], 0.0),
            contour(ContourType::Point, &[(5.0, 5.0)], 0.0),
        ]);
        assert_eq!(r.defects.len(), 1);
        assert!(r.defects[0].starts_with("a contour of type OPEN_PLANAR near z = 0 mm"));
        assert_eq!(r.repairs, ["POINT marker ignored"]);
        // A structure of points only (a marker ROI) is left as it is.
        let markers = roi(vec![contour(ContourType::Point, &[(5.0, 5.0)], 0.0)]);
        assert!(markers.defects.is_empty() && markers.repairs.is_empty());
    }

    #[test]
    fn an_exact_duplicate_on_a_plane_is_removed_and_recorded() {
        let rotated = [SQUARE[2], SQUARE[3], SQUARE[0], SQUARE[1], SQUARE[2]];
        let r = roi(vec![
            contour(ContourType::ClosedPlanar, &SQUARE, 2.5),
            contour(ContourType::ClosedPlanar, &rotated, 2.5),
            contour(ContourType::ClosedPlanar, &SQUARE, 5.0),
        ]);
        assert_eq!(r.contours.len(), 2);
        assert_eq!(r.repairs, ["exact duplicate contour removed on z = 2.5 mm"]);
        assert!(r.defects.is_empty());
        // Reversed order, or one point moved, is not an exact duplicate.
        let reversed: Vec<_> = SQUARE.iter().rev().copied().collect();
        let mut moved = SQUARE;
        moved[1].0 = 10.5;
        for other in [&reversed[..], &moved[..]] {
            let r = roi(vec![
                contour(ContourType::ClosedPlanar, &SQUARE, 0.0),
                contour(ContourType::ClosedPlanar, other, 0.0),
            ]);
            assert_eq!(r.contours.len(), 2);
            assert!(r.repairs.is_empty());
        }
    }
}
