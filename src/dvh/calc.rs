//! A dose grid and ROIs -> one [`StructureDvh`] per ROI, in parallel (rayon over ROIs and,
//! inside each, over contour planes). Results are identical for any thread count: samples
//! are gathered in plane order and reduced in a fixed order.

use super::curve::{Buffers, Dvh};
use crate::dicom::{DoseGrid, Roi};
use crate::raster::sample::{estimate, Estimate};
use crate::raster::{sample_difference, sample_roi, SamplingOptions};

/// The DVH of one ROI and what is known about its quality.
#[derive(Debug, Clone)]
pub struct StructureDvh {
    pub number: i64,
    pub name: String,
    pub interpreted_type: Option<String>,
    /// Slab-model volume of the whole ROI, cc.
    pub volume_cc: f64,
    /// Part of `volume_cc` the end caps add (0 with `--end-cap none`), cc.
    pub end_cap_cc: f64,
    /// Part of `volume_cc` outside the dose grid, cc: its dose is unknown.
    pub outside_cc: f64,
    /// DVH of the part inside the dose grid.
    pub dvh: Dvh,
    /// Extremes over the samples and the contour vertices inside the grid.
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub samples: usize,
    pub supersampling: usize,
    pub planes: usize,
    pub warnings: Vec<String>,
    /// Contour defects found building the solid between planes (a missing plane inside a
    /// piece, a contour crossing itself); they also set `error`.
    pub defects: Vec<String>,
    /// Why the ROI cannot be evaluated (defects, no contours); `None` when it can.
    pub error: Option<String>,
}

impl StructureDvh {
    /// Lifts the defects found building the solid, as a user's `--accept-defect` asks: the
    /// ROI is then evaluated unless something else stops it (no volume). False when it had
    /// no such defect.
    pub fn accept_defects(&mut self) -> bool {
        if self.defects.is_empty() {
            return false;
        }
        self.error = (self.volume_cc <= 0.0).then(|| NO_VOLUME.to_string());
        true
    }

    /// True when the whole ROI was inside the dose grid and nothing stopped its evaluation.
    pub fn complete(&self) -> bool {
        self.error.is_none() && self.outside_cc <= OUTSIDE_TOLERANCE_CC
    }
}

/// Why an ROI whose contours enclose nothing is not evaluated.
const NO_VOLUME: &str = "the contours enclose no volume";

/// Volume outside the grid below which an ROI still counts as inside (rounding), cc.
pub const OUTSIDE_TOLERANCE_CC: f64 = 1e-6;

/// What one DVH is of: an ROI, or an ROI minus other ROIs (a host organ outside its
/// targets, see [`crate::raster::difference`]).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub roi: &'a Roi,
    /// ROIs whose volume is taken out of `roi` (none: the whole ROI).
    pub minus: &'a [&'a Roi],
}

impl Subject<'_> {
    /// The name of the DVH: the ROI's, and for a difference the ROI names joined by `-` in
    /// the order given (`Rib-PTV`, `Rib-PTV-PGTV`), each trimmed.
    pub fn name(&self) -> String {
        if self.minus.is_empty() {
            return self.roi.name.clone();
        }
        std::iter::once(self.roi)
            .chain(self.minus.iter().copied())
            .map(|r| r.name.trim())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// Computes the DVH of each ROI (in the given order).
pub fn compute(dose: &DoseGrid, rois: &[&Roi], opts: &SamplingOptions) -> Vec<StructureDvh> {
    let subjects: Vec<Subject<'_>> = rois
        .iter()
        .map(|&roi| Subject { roi, minus: &[] })
        .collect();
    compute_subjects(dose, &subjects, opts)
}

/// Computes the DVH of each subject (in the given order), in parallel like [`compute`].
pub fn compute_subjects(
    dose: &DoseGrid,
    subjects: &[Subject<'_>],
    opts: &SamplingOptions,
) -> Vec<StructureDvh> {
    crate::par::map_longest_first(
        subjects,
        |s| estimate(s.roi, dose, opts).cost(),
        |s| one(dose, *s, opts, Buffers::default()),
    )
}

/// Computes the DVH of each ROI and passes it to `finish` on the thread that computed it;
/// returns what `finish` returns, in the order of `rois`. `finish` reads what it needs off
/// the DVH; the curve's memory then goes to the next ROI the thread computes, instead of
/// all curves being held at once (16 bytes a sample).
pub fn compute_each<T, F>(
    dose: &DoseGrid,
    rois: &[&Roi],
    opts: &SamplingOptions,
    finish: F,
) -> Vec<T>
where
    T: Send,
    F: Fn(&StructureDvh) -> T + Sync,
{
    let jobs: Vec<(&Roi, Estimate)> = rois
        .iter()
        .map(|&roi| (roi, estimate(roi, dose, opts)))
        .collect();
    // Room for the largest curve from the start, so that a thread's curves do not move to
    // new memory as they grow: twice its estimate (estimates are within about a factor 2),
    // but never more than one sample a dose voxel (an ROI reaching far outside the grid is
    // estimated by its whole area). A curve larger than the room gets buffers of its size.
    let largest = jobs.iter().map(|(_, e)| e.samples).fold(0.0, f64::max);
    let room = ((2.0 * largest) as usize).min(dose.values.len());
    // The costliest ROIs first (the body outline), so that the others fill the remaining
    // threads around them instead of one of them starting last.
    crate::par::map_longest_first_with(
        &jobs,
        |(_, e)| e.cost(),
        || Buffers::for_samples(room),
        |buffers, &(roi, _)| {
            let s = one(
                dose,
                Subject { roi, minus: &[] },
                opts,
                std::mem::take(buffers),
            );
            let finished = finish(&s);
            *buffers = s.dvh.into_buffers();
            finished
        },
    )
}

/// The DVH of `subject`, its curve built in `buffers` (see [`Dvh::from_chunks_in`]).
fn one(
    dose: &DoseGrid,
    subject: Subject<'_>,
    opts: &SamplingOptions,
    buffers: Buffers,
) -> StructureDvh {
    let roi = subject.roi;
    let mut out = StructureDvh {
        number: roi.number,
        name: subject.name(),
        interpreted_type: roi.interpreted_type.clone(),
        volume_cc: 0.0,
        end_cap_cc: 0.0,
        outside_cc: 0.0,
        dvh: Dvh::new(&[], &[]),
        min: None,
        max: None,
        samples: 0,
        supersampling: 0,
        planes: 0,
        warnings: Vec::new(),
        defects: Vec::new(),
        error: None,
    };
    if !roi.defects.is_empty() {
        out.error = Some(format!("contour defects: {}", roi.defects.join("; ")));
        return out;
    }
    // A target's region is unknown where its contours are defective: so is the difference.
    if let Some(t) = subject.minus.iter().find(|t| !t.defects.is_empty()) {
        out.error = Some(format!(
            "contour defects of {}, taken out of it: {}",
            t.name.trim(),
            t.defects.join("; ")
        ));
        return out;
    }
    if roi.planes().is_empty() {
        out.error = Some("no closed planar contours".to_string());
        return out;
    }
    let mut s = if subject.minus.is_empty() {
        sample_roi(roi, dose, opts)
    } else {
        sample_difference(roi, subject.minus, dose, opts)
    };
    out.samples = s.len();
    out.dvh = Dvh::from_chunks_in(std::mem::take(&mut s.samples), buffers);
    out.volume_cc = s.total_cc;
    out.end_cap_cc = s.end_cap_cc;
    out.outside_cc = s.outside_cc;
    out.supersampling = s.factor;
    out.planes = s.planes;
    out.warnings = s.warnings;
    if !s.defects.is_empty() {
        out.error = Some(format!("contour defects: {}", s.defects.join("; ")));
    }
    out.defects = s.defects;
    let pick = |a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64| match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, y) => x.or(y),
    };
    out.min = pick(out.dvh.min(), s.vertex_min, f64::min);
    out.max = pick(out.dvh.max(), s.vertex_max, f64::max);
    if out.volume_cc <= 0.0 {
        out.error.get_or_insert_with(|| NO_VOLUME.to_string());
    } else if out.outside_cc > OUTSIDE_TOLERANCE_CC {
        out.warnings.push(format!(
            "{:.3} cc ({:.1} %) outside the dose grid: dose there unknown",
            out.outside_cc,
            100.0 * out.outside_cc / out.volume_cc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::sample::tests_support::{linear_grid, square_roi};

    #[test]
    fn an_roi_reaching_far_outside_the_grid_is_computed_without_room_for_its_whole_area() {
        // A square 20 km wide: its estimate (its whole area, in 1 mm voxels) is far more
        // memory than there is; only the part inside the 41 mm grid is sampled.
        let dose = linear_grid();
        let z = [-2.0, -1.0, 0.0, 1.0, 2.0];
        let (huge, small) = (square_roi(1e7, &z), square_roi(5.0, &z));
        let done = compute_each(&dose, &[&huge, &small], &SamplingOptions::default(), |s| {
            (s.samples, s.outside_cc, s.dvh.mean(), s.error.clone())
        });
        let (samples, outside_cc, mean, error) = &done[0];
        assert!(error.is_none(), "{error:?}");
        assert!(
            *samples > 0 && *outside_cc > 1e6,
            "{samples} samples, {outside_cc} cc out"
        );
        // The part inside: the grid's whole width, dose 10 + x, mean 10 Gy.
        assert!((mean.unwrap() - 10.0).abs() < 1e-6, "{mean:?}");
        assert_eq!(done[1].3, None);
        assert!((done[1].2.unwrap() - 10.0).abs() < 1e-6);
    }

    fn with_defect(volume_cc: f64) -> StructureDvh {
        StructureDvh {
            number: 1,
            name: "Cord".into(),
            interpreted_type: None,
            volume_cc,
            end_cap_cc: 0.0,
            outside_cc: 0.0,
            dvh: Dvh::new(&[], &[]),
            min: None,
            max: None,
            samples: 0,
            supersampling: 1,
            planes: 1,
            warnings: vec![],
            defects: vec!["a contour at z = 0.00 mm intersects itself".into()],
            error: Some("contour defects: a contour at z = 0.00 mm intersects itself".into()),
        }
    }

    #[test]
    fn accepting_defects_never_hides_another_reason_not_to_evaluate() {
        let mut d = with_defect(2.0);
        assert!(d.accept_defects());
        assert_eq!(d.error, None);
        let mut empty = with_defect(0.0);
        assert!(empty.accept_defects());
        assert_eq!(empty.error.as_deref(), Some(NO_VOLUME));
        let mut clean = with_defect(2.0);
        clean.defects.clear();
        assert!(!clean.accept_defects());
        assert!(clean.error.is_some());
    }
}
