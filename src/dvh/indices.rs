//! A structure's DVH and the plan's dose grid -> the value of any query of the constraint
//! language ([`crate::protocol::Query`]): the DVH metrics (D_x, V_x, mean, extremes) read
//! off the curve, and the plan indices that need more than one structure's DVH: the
//! isodose volumes (inside the external contour, or over the whole grid) behind CI, GI and
//! R50, the homogeneity index HI and D2cm (the maximum dose at least 2 cm from a target).
//!
//! [`query_value`] is the one place a query becomes a number; `check` and `dvh --metric`
//! both call it. The grid computations ([`isodose_volume_cc`], [`max_dose_beyond`],
//! [`grid_dvh`]) are done once per plan by the caller and handed in as [`PlanValues`].

use ndarray::Array3;

use super::calc::StructureDvh;
use super::curve::Dvh;
use crate::dicom::{DoseGrid, Roi};
use crate::geometry::distance::squared_distance;
use crate::protocol::{Metric, Query, ValueKind};
use crate::raster::sample::{sample_roi, Sample, Window};

/// Distance from the target for D2cm, mm (RTOG 0813 / 0915).
pub const D2CM_DISTANCE_MM: f64 = 20.0;

/// What some queries read beyond the structure's own DVH, computed once per plan.
#[derive(Debug, Clone, Default)]
pub struct PlanValues {
    /// The prescription dose a `%` of the prescription refers to, Gy.
    pub rx_gy: Option<f64>,
    /// Prescription isodose volume (PIV): volume receiving at least `rx_gy`, cc.
    pub piv_cc: Option<f64>,
    /// Volume receiving at least half of `rx_gy`, cc.
    pub piv50_cc: Option<f64>,
    /// How the isodose volumes were measured, when it is worth saying (no external contour,
    /// or one partly outside the dose grid).
    pub isodose_caveat: Option<String>,
    /// D2cm of this structure, Gy: `Some(None)` when it is undefined (no voxel centre in
    /// the target, or none 2 cm away), `None` when it was not computed.
    pub d2cm_gy: Option<Option<f64>>,
}

/// The value of `query` for structure `s`: Gy for dose queries, cc for volume queries, a
/// bare number for the indices. `Err` says why it is undefined (or what is missing).
pub fn query_value(s: &StructureDvh, query: Query, plan: &PlanValues) -> Result<f64, String> {
    let h = &s.dvh;
    let vol = s.volume_cc;
    let dose = |v: Option<f64>, what: &str| {
        v.ok_or_else(|| format!("{what} is undefined for this ROI ({vol:.3} cc)"))
    };
    let rx = || {
        plan.rx_gy
            .ok_or_else(|| "no prescription present to refer to".to_string())
    };
    let isodose =
        |v: Option<f64>| v.ok_or_else(|| "the isodose volumes were not computed".to_string());
    match query {
        Query::Dmax => dose(s.max, "Dmax"),
        Query::Dmin => dose(s.min, "Dmin"),
        Query::Dmean => dose(h.mean(), "Dmean"),
        Query::DosePercentVolume(x) => dose(h.dose_at_volume_percent(x), &format!("D{x}%")),
        Query::DoseCc(x) => dose(h.dose_at_volume_cc(x), &format!("D{x}cc")),
        Query::ColdDose(x) => {
            if x > vol {
                return Err(format!(
                    "the ROI ({vol:.1} cc) is smaller than the {x} cc the limit spares"
                ));
            }
            // The coldest x cc receive at most D where V(>= D) = volume - x.
            dose(h.dose_at_volume_cc(vol - x), &format!("DC{x}cc"))
        }
        Query::VolumeAtDose(d) => Ok(h.volume_at_dose_cc(d)),
        Query::VolumeAtRxPercent(p) => Ok(h.volume_at_dose_cc(p / 100.0 * rx()?)),
        Query::SparedVolume(d) => Ok((vol - h.volume_at_dose_cc(d)).max(0.0)),
        Query::Hi => homogeneity_index(h),
        Query::CiRtog => Ok(isodose(plan.piv_cc)? / vol),
        Query::CiPaddick => {
            let piv = isodose(plan.piv_cc)?;
            let tv_piv = h.volume_at_dose_cc(rx()?);
            Ok(if piv <= 0.0 {
                0.0
            } else {
                tv_piv * tv_piv / (vol * piv)
            })
        }
        Query::Gi => {
            let (piv, piv50) = (isodose(plan.piv_cc)?, isodose(plan.piv50_cc)?);
            if piv <= 0.0 {
                return Err("GI is undefined: no prescription isodose volume".into());
            }
            Ok(piv50 / piv)
        }
        Query::R50 => Ok(isodose(plan.piv50_cc)? / vol),
        Query::D2cm => match plan.d2cm_gy {
            Some(Some(d)) => Ok(d),
            Some(None) => {
                Err("D2cm is undefined: no voxel centre in the target or none 2 cm away".into())
            }
            None => Err("D2cm was not computed".into()),
        },
    }
}

/// The value of `metric` as the `dvh` command reports it: over the part of the structure
/// inside the dose grid (percent volumes of that part); `None` when undefined.
pub fn metric_value(s: &StructureDvh, metric: &Metric) -> Option<f64> {
    if s.dvh.is_empty() {
        return None;
    }
    if metric.volume_percent && metric.query.value_kind() == ValueKind::Volume {
        let Query::VolumeAtDose(d) = metric.query else {
            let cc = query_value(s, metric.query, &PlanValues::default()).ok()?;
            let total = s.dvh.volume_cc();
            return Some(if total > 0.0 { 100.0 * cc / total } else { 0.0 });
        };
        return Some(s.dvh.volume_at_dose_percent(d));
    }
    query_value(s, metric.query, &PlanValues::default()).ok()
}

/// The metrics every `dvh` report lists.
pub fn default_metrics() -> Vec<Metric> {
    [0.035]
        .map(Query::DoseCc)
        .into_iter()
        .chain([1.0, 2.0, 5.0, 50.0, 95.0, 98.0, 99.0].map(Query::DosePercentVolume))
        .map(|query| Metric {
            query,
            volume_percent: false,
        })
        .collect()
}

/// ICRU 83 homogeneity index (D2% - D98%) / D50%.
fn homogeneity_index(h: &Dvh) -> Result<f64, String> {
    let (Some(d2), Some(d98), Some(d50)) = (
        h.dose_at_volume_percent(2.0),
        h.dose_at_volume_percent(98.0),
        h.dose_at_volume_percent(50.0),
    ) else {
        return Err("HI is undefined for this ROI".to_string());
    };
    if d50 <= 0.0 {
        return Err("HI is undefined: D50% is 0".to_string());
    }
    Ok((d2 - d98) / d50)
}

/// Axis positions (mm, increasing) of the grid: frames, rows, columns.
fn axis_positions(dose: &DoseGrid) -> [Vec<f64>; 3] {
    let g = &dose.geometry;
    let z0 = g.frame_z_mm[0];
    let sign = if g.frames > 1 && g.frame_z_mm[g.frames - 1] < z0 {
        -1.0
    } else {
        1.0
    };
    [
        g.frame_z_mm.iter().map(|z| sign * (z - z0)).collect(),
        (0..g.rows).map(|j| j as f64 * g.row_spacing_mm).collect(),
        (0..g.columns)
            .map(|i| i as f64 * g.column_spacing_mm)
            .collect(),
    ]
}

/// The highest voxel dose at least `distance_mm` from every voxel centre of `target`
/// (voxel centres inside the target, see [`crate::raster::mask::centre_mask`]). `None`
/// when the target has no voxel centre or no voxel is that far.
///
/// Exact: the distance transform runs only inside the target's bounding box grown by the
/// distance (plus a voxel); every voxel outside that box is farther than the distance from
/// the target by construction and is taken as is.
pub fn max_dose_beyond(dose: &DoseGrid, target: &Array3<bool>, distance_mm: f64) -> Option<f64> {
    let (nk, nj, ni) = target.dim();
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for ((k, j, i), &m) in target.indexed_iter() {
        if m {
            for (a, v) in [k, j, i].into_iter().enumerate() {
                lo[a] = lo[a].min(v);
                hi[a] = hi[a].max(v);
            }
        }
    }
    if lo[0] == usize::MAX {
        return None;
    }
    let pos = axis_positions(dose);
    // Grow the box along each axis until the positions are more than the distance away.
    let dims = [nk, nj, ni];
    let mut b0 = [0usize; 3];
    let mut b1 = [0usize; 3];
    for a in 0..3 {
        let p = &pos[a];
        let (pl, ph) = (p[lo[a]], p[hi[a]]);
        b0[a] = (0..=lo[a])
            .rev()
            .find(|&x| pl - p[x] > distance_mm)
            .unwrap_or(0);
        b1[a] = (hi[a]..dims[a])
            .find(|&x| p[x] - ph > distance_mm)
            .unwrap_or(dims[a] - 1);
    }
    use ndarray::s;
    let sub_mask = target
        .slice(s![b0[0]..=b1[0], b0[1]..=b1[1], b0[2]..=b1[2]])
        .to_owned();
    let sub_pos: Vec<Vec<f64>> = (0..3).map(|a| pos[a][b0[a]..=b1[a]].to_vec()).collect();
    let d2 = squared_distance(&sub_mask, [&sub_pos[0], &sub_pos[1], &sub_pos[2]]);
    let limit = distance_mm * distance_mm;
    let inside_box = |k: usize, j: usize, i: usize| {
        (b0[0]..=b1[0]).contains(&k) && (b0[1]..=b1[1]).contains(&j) && (b0[2]..=b1[2]).contains(&i)
    };
    let mut best: Option<f64> = None;
    for ((k, j, i), v) in dose.values.indexed_iter() {
        let far = if inside_box(k, j, i) {
            d2[[k - b0[0], j - b0[1], i - b0[2]]] >= limit
        } else {
            true
        };
        if far {
            let v = f64::from(*v);
            best = Some(best.map_or(v, |m| m.max(v)));
        }
    }
    best
}

/// Samples for an isodose volume: 0.1 % on the trial phantoms against a dense reference.
const ISODOSE_SAMPLES: f64 = 500_000.0;

/// Volume (cc) of `roi` receiving at least `level`. The interpolated dose can reach `level`
/// only within one voxel of a voxel at or above it, so the ROI is sampled finely inside that
/// box alone (about 500,000 samples whatever the ROI's size): exact outside the box, and
/// far finer than the ROI's own DVH where the isodose surface lies.
pub fn isodose_volume_cc(
    dose: &DoseGrid,
    roi: &Roi,
    level: f64,
    base: &crate::raster::SamplingOptions,
) -> f64 {
    let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
    for ((k, j, i), v) in dose.values.indexed_iter() {
        if f64::from(*v) >= level {
            for (a, x) in [k, j, i].into_iter().enumerate() {
                lo[a] = lo[a].min(x);
                hi[a] = hi[a].max(x);
            }
        }
    }
    if lo[0] == usize::MAX {
        return 0.0;
    }
    let g = &dose.geometry;
    let frame = |k: isize| g.frame_z_mm[k.clamp(0, g.frames as isize - 1) as usize];
    let (za, zb) = (frame(lo[0] as isize - 1), frame(hi[0] as isize + 1));
    let window = Window {
        i: (lo[2] as f64 - 1.0, hi[2] as f64 + 1.0),
        j: (lo[1] as f64 - 1.0, hi[1] as f64 + 1.0),
        z_mm: (za.min(zb), za.max(zb)),
    };
    let voxels = ((hi[0] - lo[0] + 3) * (hi[1] - lo[1] + 3) * (hi[2] - lo[2] + 3)) as f64;
    let factor = ((ISODOSE_SAMPLES / voxels).cbrt().round() as usize).clamp(1, base.max_factor);
    let s = sample_roi(
        roi,
        dose,
        &crate::raster::SamplingOptions {
            factor: Some(factor),
            window: Some(window),
            ..*base
        },
    );
    // Read off the DVH curve, like every other volume: a sample whose dose equals the level
    // counts by half (in a linear field the level falls on whole rows of sample centres).
    Dvh::from_chunks(s.samples).volume_at_dose_cc(level)
}

/// The DVH of the whole grid: each voxel is a sample of its cell's volume.
pub fn grid_dvh(dose: &DoseGrid) -> Dvh {
    let g = &dose.geometry;
    let zs = &g.frame_z_mm;
    let n = zs.len();
    let thickness: Vec<f64> = (0..n)
        .map(|k| {
            if n == 1 {
                return g.row_spacing_mm.min(g.column_spacing_mm);
            }
            let below = if k > 0 {
                (zs[k] - zs[k - 1]).abs()
            } else {
                (zs[1] - zs[0]).abs()
            };
            let above = if k + 1 < n {
                (zs[k + 1] - zs[k]).abs()
            } else {
                (zs[n - 1] - zs[n - 2]).abs()
            };
            0.5 * (below + above)
        })
        .collect();
    let area = g.row_spacing_mm * g.column_spacing_mm;
    let per_frame = g.rows * g.columns;
    let samples: Vec<Sample> = dose
        .values
        .iter()
        .enumerate()
        .map(|(idx, &v)| Sample::new(f64::from(v), area * thickness[idx / per_frame] / 1000.0))
        .collect();
    Dvh::from_chunks(vec![samples])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::sample::tests_support::linear_grid;
    use approx::assert_relative_eq;

    #[test]
    fn max_dose_beyond_a_distance_on_a_linear_field() {
        // Dose = 10 + x on a 1 mm grid spanning -20..20; target: the voxel at x = -20.
        let g = linear_grid();
        let mut target = Array3::from_elem(g.values.dim(), false);
        target[[20, 20, 0]] = true;
        // Farthest reachable with x distance: every voxel >= 20 mm away; the max dose
        // is at x = 20 (30 Gy), 40 mm away.
        assert_relative_eq!(max_dose_beyond(&g, &target, 20.0).unwrap(), 30.0);
        // Target at x = +20: points >= 20 mm away in x have x <= 0 (dose <= 10), but
        // points far in y or z reach higher x: at x = 20, (y, z) distance must be >= 20.
        let mut t2 = Array3::from_elem(g.values.dim(), false);
        t2[[20, 20, 40]] = true;
        assert_relative_eq!(max_dose_beyond(&g, &t2, 20.0).unwrap(), 30.0);
        assert_eq!(max_dose_beyond(&g, &t2, 100.0), None);
        let empty = Array3::from_elem(g.values.dim(), false);
        assert_eq!(max_dose_beyond(&g, &empty, 20.0), None);
        // The cropped transform equals a brute-force answer for an off-centre target.
        let mut t3 = Array3::from_elem(g.values.dim(), false);
        t3[[10, 12, 30]] = true;
        t3[[11, 12, 31]] = true;
        let brute = g
            .values
            .indexed_iter()
            .filter(|((k, j, i), _)| {
                [(10.0, 12.0, 30.0), (11.0, 12.0, 31.0)]
                    .iter()
                    .all(|(a, b, c)| {
                        let d2 = (*k as f64 - a).powi(2)
                            + (*j as f64 - b).powi(2)
                            + (*i as f64 - c).powi(2);
                        d2 >= 15.0 * 15.0
                    })
            })
            .map(|(_, v)| f64::from(*v))
            .fold(f64::NEG_INFINITY, f64::max);
        assert_relative_eq!(max_dose_beyond(&g, &t3, 15.0).unwrap(), brute);
    }

    #[test]
    fn grid_dvh_volume_is_the_grid_volume() {
        let g = linear_grid();
        let h = grid_dvh(&g);
        // Sample volumes are f32 (0.001 cc is rounded by about 5e-8 relative).
        assert_relative_eq!(
            h.volume_cc(),
            41.0 * 41.0 * 41.0 / 1000.0,
            max_relative = 1e-6
        );
        // Half the columns are >= 10 Gy plus the centre column.
        assert_relative_eq!(
            h.volume_at_dose_cc(30.0) * 1000.0,
            41.0 * 41.0 * 0.5,
            max_relative = 1e-6
        );
    }
}
