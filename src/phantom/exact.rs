//! The answers: dose fields, the slab model, exact DVH metrics for linear fields and dense
//! numerical reference metrics for the (non-linear) trial fields.
//!
//! **Slab model.** Contour plane k at z_k stands for the slab between its boundaries with the
//! previous and the next plane: where [`profile_split_mm`] puts them (the tool's default
//! `profile` interpolation; halfway between planes of equal area). End caps: [`Caps::Half`]
//! lets the first and last planes extend outward by half their neighbour gap; [`Caps::None`]
//! not at all.
//! The in-plane region is the even-odd union of the plane's polygons. Volume = Σ area × thickness.
//!
//! **D_x** is the largest dose D with V(≥D) ≥ x (x in % of the volume or in cc).

use super::shapes::{self, nesting_signs, region_area_centroid, Plane, Pt, Structure};
use crate::raster::topology::profile_split_mm;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// End-cap convention of the slab model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caps {
    /// First and last planes extend half their neighbour gap outward (and inward).
    Half,
    /// First and last planes extend inward only (half their neighbour gap).
    None,
}

/// [lo, hi] z-extent (mm) of each plane's slab. The planes are one piece (each plane's
/// region overlaps its neighbours').
pub fn slabs(planes: &[Plane], caps: Caps) -> Vec<(f64, f64)> {
    let n = planes.len();
    let point = |k: usize| (planes[k].z, shapes::region_area_units(&planes[k].polygons));
    // boundary[k]: where the slabs of planes k and k + 1 meet, mm above plane k.
    let boundary: Vec<f64> = (0..n.saturating_sub(1))
        .map(|k| {
            profile_split_mm(
                k.checked_sub(1).map(point),
                point(k),
                point(k + 1),
                (k + 2 < n).then(|| point(k + 2)),
                k == 0,
                k + 2 == n,
            )
        })
        .collect();
    (0..n)
        .map(|k| {
            let z = planes[k].z;
            let below = (k > 0).then(|| planes[k].z - planes[k - 1].z - boundary[k - 1]);
            let above = (k + 1 < n).then(|| boundary[k]);
            let cap = |gap: Option<f64>| match caps {
                Caps::Half => 0.5 * gap.unwrap_or(0.0),
                Caps::None => 0.0,
            };
            let gap_below = (k > 0).then(|| planes[k].z - planes[k - 1].z);
            let gap_above = (k + 1 < n).then(|| planes[k + 1].z - z);
            (
                z - below.unwrap_or_else(|| cap(gap_above)),
                z + above.unwrap_or_else(|| cap(gap_below)),
            )
        })
        .collect()
}

/// Slab-model volume in cc (from the exact polygon areas, [`shapes::region_area_units`]).
pub fn volume_cc(s: &Structure, caps: Caps) -> f64 {
    s.planes
        .iter()
        .zip(slabs(&s.planes, caps))
        .map(|(p, (lo, hi))| shapes::region_area_units(&p.polygons) * (hi - lo))
        .sum::<f64>()
        * (shapes::COORD_STEP * shapes::COORD_STEP)
        / 1000.0
}

/// Ordered metric name -> value (serialized as a JSON object in this order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics(pub Vec<(String, f64)>);

impl Metrics {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == key).map(|&(_, v)| v)
    }

    fn push(&mut self, key: impl Into<String>, v: f64) {
        self.0.push((key.into(), v));
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// "20" for 20.0, "0.035" for 0.035.
fn num_label(x: f64) -> String {
    format!("{x}")
}

/// D = base + grad · (p - origin), in Gy with p in mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Linear {
    #[serde(rename = "base_gy")]
    pub base: f64,
    #[serde(rename = "gradient_gy_per_mm")]
    pub grad: [f64; 3],
    #[serde(rename = "origin_mm")]
    pub origin: [f64; 3],
}

impl Linear {
    pub fn at(&self, p: [f64; 3]) -> f64 {
        self.base
            + self.grad[0] * (p[0] - self.origin[0])
            + self.grad[1] * (p[1] - self.origin[1])
            + self.grad[2] * (p[2] - self.origin[2])
    }
}

/// A Gaussian lobe added to a radial field: peak · exp(-(dx²+dy²)/(2σxy²) - dz²/(2σz²)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lobe {
    #[serde(rename = "centre_mm")]
    pub centre: [f64; 3],
    #[serde(rename = "peak_gy")]
    pub peak: f64,
    #[serde(rename = "sigma_xy_mm")]
    pub sigma_xy: f64,
    #[serde(rename = "sigma_z_mm")]
    pub sigma_z: f64,
}

/// The dose of a case, Gy at a point in mm. Serialized (in expected.json) with a `type` of
/// `linear` or `radial` and the parameters, units in the key names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DoseField {
    Linear(Linear),
    /// peak · exp(-(r²/ρ²)^power), r = |p - centre|, plus an optional [`Lobe`].
    Radial {
        #[serde(rename = "centre_mm")]
        centre: [f64; 3],
        #[serde(rename = "peak_gy")]
        peak: f64,
        #[serde(rename = "rho_mm")]
        rho: f64,
        power: i32,
        lobe: Option<Lobe>,
    },
}

impl DoseField {
    pub fn at(&self, p: [f64; 3]) -> f64 {
        match self {
            DoseField::Linear(l) => l.at(p),
            DoseField::Radial {
                centre,
                peak,
                rho,
                power,
                lobe,
            } => {
                let d = [p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]];
                let u = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) / (rho * rho);
                let mut v = peak * (-u.powi(*power)).exp();
                if let Some(l) = lobe {
                    let (dx, dy, dz) = (p[0] - l.centre[0], p[1] - l.centre[1], p[2] - l.centre[2]);
                    v += l.peak
                        * (-(dx * dx + dy * dy) / (2.0 * l.sigma_xy * l.sigma_xy)
                            - dz * dz / (2.0 * l.sigma_z * l.sigma_z))
                            .exp();
                }
                v
            }
        }
    }

    /// Points where the field peaks (their nearest points in a structure are min/max candidates).
    fn special_points(&self) -> Vec<[f64; 3]> {
        match self {
            DoseField::Linear(l) => vec![l.origin],
            DoseField::Radial { centre, lobe, .. } => {
                let mut v = vec![*centre];
                if let Some(l) = lobe {
                    v.push(l.centre);
                }
                v
            }
        }
    }
}

/// Largest D in [lo, hi] with `v(D) >= target`, by bisection to the resolution of f64.
/// `v` must be non-increasing with v(lo) ≥ target. On a plateau of V(≥D) equal to the
/// target (two equal islands at 50 %, computed exactly) this is the top of the plateau.
fn largest_dose_with_volume(mut lo: f64, mut hi: f64, target: f64, v: impl Fn(f64) -> f64) -> f64 {
    let need = target;
    if v(hi) >= need {
        return hi;
    }
    for _ in 0..400 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if v(mid) >= need {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The dose levels reported for every structure.
pub const D_PERCENT: [f64; 4] = [2.0, 50.0, 95.0, 98.0];

/// Exact slab-model metrics of a linear field over a structure (mm, Gy; volumes in cc).
///
/// The gradient must be either in-plane (grad z = 0) or along z only (grad x = grad y = 0).
/// In-plane: V(≥D) = Σ thickness_k × area(region_k ∩ {dose ≥ D}) by half-plane clipping;
/// along z: V(≥D) = Σ area_k × |[lo_k, hi_k] ∩ {dose ≥ D}|. Min/max: polygon vertices
/// (in-plane) or slab ends (z). Mean: region centroids (in-plane) or slab midpoints (z).
/// Keys: volume_cc, min_gy, max_gy, mean_gy, D2%, D50%, D95%, D98%, D0.035cc, then
/// V<x>Gy_cc for each x in `v_gy`.
///
/// # Panics
/// If the gradient mixes in-plane and z components.
pub fn exact_metrics(s: &Structure, f: &Linear, caps: Caps, v_gy: &[f64]) -> Metrics {
    exact_metrics_with_plateaus(s, f, caps, v_gy).0
}

/// [`exact_metrics`], plus the D_x values that sit on a plateau of V(≥D): for each, the
/// interval [smallest, largest] D with V(≥D) equal to the target (wider than 1e-6 Gy; ends
/// rounded to 1e-6 Gy). Any
/// dose in that interval reaches the target volume, so a DVH of finite resolution may report
/// any of them; the metric reports the top.
pub fn exact_metrics_with_plateaus(
    s: &Structure,
    f: &Linear,
    caps: Caps,
    v_gy: &[f64],
) -> (Metrics, Plateaus) {
    let [gx, gy, gz] = f.grad;
    let in_plane = gz == 0.0;
    assert!(
        in_plane || (gx == 0.0 && gy == 0.0),
        "exact metrics need an in-plane or a pure z gradient"
    );
    let slab = slabs(&s.planes, caps);
    let signs: Vec<Vec<f64>> = s
        .planes
        .iter()
        .map(|p| nesting_signs(&p.polygons))
        .collect();
    let (min, max, mean) = min_max_mean(&s.planes, f, &slab, &signs);

    // Area units (1e-8 mm²) × mm: whole polygons have exact integer areas, so V(≥D) on a
    // plateau (every polygon wholly in or out) is exact and comparable with the target.
    let to_units = 1.0 / (shapes::COORD_STEP * shapes::COORD_STEP);
    let area_units: Vec<f64> = s
        .planes
        .iter()
        .map(|p| shapes::region_area_units(&p.polygons))
        .collect();
    let volume_units: f64 = area_units
        .iter()
        .zip(&slab)
        .map(|(a, (lo, hi))| a * (hi - lo))
        .sum();
    let volume_cc = volume_units / to_units / 1000.0;
    let v_at = |d: f64| volume_at_least_units(&s.planes, f, &slab, &signs, &area_units, d);

    let mut m = Metrics::default();
    m.push("volume_cc", volume_cc);
    m.push("min_gy", min);
    m.push("max_gy", max);
    m.push("mean_gy", mean);
    let cc = 0.035;
    assert!(cc <= volume_cc, "{}: volume below {cc} cc", s.name);
    let mut targets: Vec<(String, f64)> = D_PERCENT
        .iter()
        .map(|&x| (format!("D{}%", num_label(x)), x / 100.0 * volume_units))
        .collect();
    targets.push((format!("D{}cc", num_label(cc)), cc * 1000.0 * to_units));
    let mut plateaus = Plateaus::default();
    for (key, target) in targets {
        let top = largest_dose_with_volume(min, max, target, v_at);
        let bottom = smallest_dose_with_volume_at_most(min, max, target, v_at);
        if top - bottom > 1e-6 {
            // The bottom is found to ~1e-8 Gy only (a sliver of area at a vertex is below
            // the rounding of the volume sum), so both ends are rounded to 1 µGy.
            let r = |d: f64| (d * 1e6).round() / 1e6;
            plateaus.0.push((key.clone(), [r(bottom), r(top)]));
        }
        m.push(key, top);
    }
    for &x in v_gy {
        m.push(
            format!("V{}Gy_cc", num_label(x)),
            v_at(x) / to_units / 1000.0,
        );
    }
    (m, plateaus)
}

/// A linear field (in-plane or pure z gradient) over the slab model of `planes` (slab
/// `[lo, hi]` and polygon nesting signs of each plane) -> the minimum, maximum and mean
/// dose, Gy. Min/max: polygon vertices (in-plane) or slab ends (z); mean: region centroids
/// (in-plane) or slab midpoints (z).
fn min_max_mean(
    planes: &[Plane],
    f: &Linear,
    slab: &[(f64, f64)],
    signs: &[Vec<f64>],
) -> (f64, f64, f64) {
    let in_plane = f.grad[2] == 0.0;
    let region: Vec<(f64, Pt)> = planes
        .iter()
        .map(|p| region_area_centroid(&p.polygons))
        .collect();
    // Volume from the floating-point areas, to normalise the mean consistently.
    let volume_for_mean: f64 = region
        .iter()
        .zip(slab)
        .map(|((a, _), (lo, hi))| a * (hi - lo))
        .sum();

    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut weighted = 0.0;
    for (k, p) in planes.iter().enumerate() {
        let (lo, hi) = slab[k];
        if hi <= lo || region[k].0 <= 0.0 {
            continue;
        }
        if in_plane {
            for poly in &p.polygons {
                for &[x, y] in poly {
                    let d = f.at([x, y, p.z]);
                    min = min.min(d);
                    max = max.max(d);
                }
            }
            // Mean over the region = dose at its centroid (linear field), per polygon signed.
            for (poly, sg) in p.polygons.iter().zip(&signs[k]) {
                let (a, [cx, cy]) = shapes::area_centroid(poly);
                weighted += sg * a * (hi - lo) * f.at([cx, cy, p.z]);
            }
        } else {
            // The dose depends on z only: extremes at slab ends, mean at slab midpoints.
            let c = region[k].1;
            for z in [lo, hi] {
                let d = f.at([c[0], c[1], z]);
                min = min.min(d);
                max = max.max(d);
            }
            weighted += region[k].0 * (hi - lo) * f.at([c[0], c[1], 0.5 * (lo + hi)]);
        }
    }
    (min, max, weighted / volume_for_mean)
}

/// A dose `d` -> V(≥d) of a linear field over the slab model of `planes`, in area units
/// (1e-8 mm²) × mm: each plane's region clipped by a half-plane (in-plane gradient) or
/// each slab's length cut at the z where the dose is `d` (z gradient).
fn volume_at_least_units(
    planes: &[Plane],
    f: &Linear,
    slab: &[(f64, f64)],
    signs: &[Vec<f64>],
    area_units: &[f64],
    d: f64,
) -> f64 {
    let [gx, gy, gz] = f.grad;
    if gz == 0.0 {
        // base + gx(x-ox) + gy(y-oy) ≥ d  <=>  gx x + gy y ≥ d - base + gx ox + gy oy
        let c = d - f.base + gx * f.origin[0] + gy * f.origin[1];
        planes
            .iter()
            .enumerate()
            .map(|(k, p)| {
                (slab[k].1 - slab[k].0)
                    * shapes::region_area_in_half_plane_units(&p.polygons, &signs[k], gx, gy, c)
            })
            .sum()
    } else {
        // base + gz (z - oz) ≥ d
        let zt = f.origin[2] + (d - f.base) / gz;
        area_units
            .iter()
            .zip(slab)
            .map(|(a, &(lo, hi))| {
                let len = if gz > 0.0 {
                    (hi - zt.max(lo)).max(0.0)
                } else {
                    (zt.min(hi) - lo).max(0.0)
                };
                a * len
            })
            .sum()
    }
}

/// Smallest D in [lo, hi] with `v(D) <= target` (the bottom of a plateau at the target).
fn smallest_dose_with_volume_at_most(
    mut lo: f64,
    mut hi: f64,
    target: f64,
    v: impl Fn(f64) -> f64,
) -> f64 {
    if v(lo) <= target {
        return lo;
    }
    for _ in 0..400 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if v(mid) <= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// D_x metric name -> [bottom, top] of its plateau (serialized as a JSON object in order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plateaus(pub Vec<(String, [f64; 2])>);

impl Serialize for Plateaus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Area (mm²) of a plane's region with x > `x_cut`, by clipping.
fn plane_area_beyond_x(p: &Plane, x_cut: f64) -> f64 {
    let signs = nesting_signs(&p.polygons);
    shapes::region_area_in_half_plane(&p.polygons, &signs, 1.0, 0.0, x_cut)
}

/// Fraction of the slab-model volume with x > `x_cut` (exact, by polygon clipping).
pub fn fraction_beyond_x(s: &Structure, caps: Caps, x_cut: f64) -> f64 {
    let slab = slabs(&s.planes, caps);
    let (mut beyond, mut total) = (0.0, 0.0);
    for (p, (lo, hi)) in s.planes.iter().zip(slab) {
        beyond += plane_area_beyond_x(p, x_cut) * (hi - lo);
        total += region_area_centroid(&p.polygons).0 * (hi - lo);
    }
    beyond / total
}

/// Sample spacing of the numerical reference integration (mm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// In-plane: scanline spacing in y, and the largest cell width along each scanline.
    pub h_xy: f64,
    /// Along z inside each slab.
    pub h_z: f64,
}

/// Dose-histogram bin width (Gy) and range for reference metrics.
const BIN_GY: f64 = 1e-3;
const N_BINS: usize = 80_000;

/// Weighted dose samples of one part of the slab model.
#[derive(Debug, Clone)]
struct Acc {
    hist: Vec<f64>,
    volume: f64,
    dose_volume: f64,
    min: f64,
    max: f64,
    above: Vec<f64>,
}

impl Acc {
    fn new(n_thresholds: usize) -> Self {
        Acc {
            hist: vec![0.0; N_BINS],
            volume: 0.0,
            dose_volume: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            above: vec![0.0; n_thresholds],
        }
    }

    fn add(&mut self, d: f64, w: f64, thresholds: &[f64]) {
        let bin = ((d / BIN_GY).floor().max(0.0) as usize).min(N_BINS - 1);
        self.hist[bin] += w;
        self.volume += w;
        self.dose_volume += w * d;
        self.extreme(d);
        for (a, &t) in self.above.iter_mut().zip(thresholds) {
            if d >= t {
                *a += w;
            }
        }
    }

    fn extreme(&mut self, d: f64) {
        self.min = self.min.min(d);
        self.max = self.max.max(d);
    }

    fn merged(&self, other: &Acc) -> Acc {
        Acc {
            hist: self
                .hist
                .iter()
                .zip(&other.hist)
                .map(|(a, b)| a + b)
                .collect(),
            volume: self.volume + other.volume,
            dose_volume: self.dose_volume + other.dose_volume,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            above: self
                .above
                .iter()
                .zip(&other.above)
                .map(|(a, b)| a + b)
                .collect(),
        }
    }

    /// Largest D with V(≥D) ≥ target (mm³), dose uniform within each bin, clamped to [min, max].
    fn dose_at_volume(&self, target: f64) -> f64 {
        let mut above = 0.0; // volume in bins above i
        for i in (0..N_BINS).rev() {
            let w = self.hist[i];
            if above + w >= target && w > 0.0 {
                let top = (i + 1) as f64 * BIN_GY;
                let d = top - (target - above) / w * BIN_GY;
                return d.clamp(self.min, self.max);
            }
            above += w;
        }
        self.min
    }
}

/// Scanline samples of a plane's even-odd region: (x, y, area weight mm²), weights rescaled
/// so they add up to the exact polygon area.
fn plane_samples(p: &Plane, h: f64) -> Vec<(f64, f64, f64)> {
    let ys = p.polygons.iter().flatten().map(|q| q[1]);
    let (ymin, ymax) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if ymax <= ymin {
        return Vec::new();
    }
    let ny = ((ymax - ymin) / h).ceil() as usize;
    let dy = (ymax - ymin) / ny as f64;
    let mut out = Vec::new();
    let mut xs = Vec::new();
    for j in 0..ny {
        let y = ymin + (j as f64 + 0.5) * dy;
        xs.clear();
        for poly in &p.polygons {
            let n = poly.len();
            for i in 0..n {
                let (a, b) = (poly[i], poly[(i + 1) % n]);
                if (a[1] > y) != (b[1] > y) {
                    xs.push(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
                }
            }
        }
        xs.sort_by(f64::total_cmp);
        // Cells start at a quasi-random fraction of a cell into each interval (golden-ratio
        // sequence over scanlines), so a dose threshold at a fixed x does not fall at the same
        // place within a cell on every scanline (which would bias V(≥D) by up to h/2).
        let phase = ((j as f64 + 1.0) * 0.618_033_988_749_894_9).fract();
        for pair in xs.chunks_exact(2) {
            let (xa, xb) = (pair[0], pair[1]);
            if xb <= xa {
                continue;
            }
            let nx = ((xb - xa) / h).ceil().max(1.0);
            let dx = (xb - xa) / nx;
            let mut a = xa;
            let mut b = xa + phase * dx;
            if b <= a {
                b = a + dx;
            }
            loop {
                let b2 = b.min(xb);
                out.push((0.5 * (a + b2), y, (b2 - a) * dy));
                if b2 >= xb {
                    break;
                }
                a = b2;
                b = a + dx;
            }
        }
    }
    let sampled: f64 = out.iter().map(|s| s.2).sum();
    let exact = region_area_centroid(&p.polygons).0;
    if sampled > 0.0 {
        let k = exact / sampled;
        for s in &mut out {
            s.2 *= k;
        }
    }
    out
}

/// Closest point of segment ab to q.
fn closest_on_segment(a: Pt, b: Pt, q: Pt) -> Pt {
    let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
    let l2 = ex * ex + ey * ey;
    if l2 == 0.0 {
        return a;
    }
    let t = (((q[0] - a[0]) * ex + (q[1] - a[1]) * ey) / l2).clamp(0.0, 1.0);
    [a[0] + t * ex, a[1] + t * ey]
}

/// Boundary candidates for the extremes of the field over one slab [lo, hi] of a plane:
/// vertices on the slab faces, and, at the z of each special point clamped into the slab,
/// the vertices, the nearest points on every edge, and the special point itself if inside.
fn extreme_candidates(p: &Plane, lo: f64, hi: f64, field: &DoseField, acc: &mut Acc) {
    let special = field.special_points();
    let mut zs = vec![lo, hi];
    zs.extend(special.iter().map(|s| s[2].clamp(lo, hi)));
    for &z in &zs {
        for poly in &p.polygons {
            for &[x, y] in poly {
                acc.extreme(field.at([x, y, z]));
            }
        }
    }
    for s in &special {
        let z = s[2].clamp(lo, hi);
        let q = [s[0], s[1]];
        for poly in &p.polygons {
            let n = poly.len();
            for i in 0..n {
                let c = closest_on_segment(poly[i], poly[(i + 1) % n], q);
                acc.extreme(field.at([c[0], c[1], z]));
            }
        }
        let inside = p
            .polygons
            .iter()
            .filter(|poly| shapes::contains(poly, q))
            .count()
            % 2
            == 1;
        if inside {
            acc.extreme(field.at([q[0], q[1], z]));
        }
    }
}

/// Reference metrics by dense numerical integration of the slab model, `[half, none]`.
///
/// Each plane's region is sampled on scanlines `h_xy` apart in y with exact x-intervals
/// (even-odd crossings) cut into cells at most `h_xy` wide, weights rescaled to the exact
/// polygon area; each slab is cut into cells at most `h_z` thick; the dose is taken at cell
/// midpoints. D_x from a 1 mGy-bin histogram (linear within a bin); V≥x and the mean from
/// the samples directly; min/max over the samples plus the boundary candidates of
/// [`extreme_candidates`] (exact for a radial field about a point). Keys: volume_cc (exact),
/// min_gy, max_gy, mean_gy, D2%, D50%, D95%, D98%, D0.035cc, D0.35cc, D1.2cc (a D_cc
/// larger than the volume is left out), then V<x>Gy_% for each x in `v_pct`.
pub fn reference_metrics(
    s: &Structure,
    field: &DoseField,
    sampling: Sampling,
    v_pct: &[f64],
) -> [Metrics; 2] {
    let half = slabs(&s.planes, Caps::Half);
    let none = slabs(&s.planes, Caps::None);
    // Core: the Caps::None slabs (in both models); cap: what Caps::Half adds.
    let mut core = Acc::new(v_pct.len());
    let mut cap = Acc::new(v_pct.len());
    let mut ext_half = Acc::new(0);
    let mut ext_none = Acc::new(0);
    for (k, p) in s.planes.iter().enumerate() {
        let xy = plane_samples(p, sampling.h_xy);
        let mut parts = vec![(none[k].0, none[k].1, false)];
        if half[k].0 < none[k].0 {
            parts.push((half[k].0, none[k].0, true));
        }
        if half[k].1 > none[k].1 {
            parts.push((none[k].1, half[k].1, true));
        }
        for (a, b, is_cap) in parts {
            if b <= a {
                continue;
            }
            let m = ((b - a) / sampling.h_z).ceil().max(1.0) as usize;
            let dz = (b - a) / m as f64;
            let acc = if is_cap { &mut cap } else { &mut core };
            for i in 0..m {
                let z = a + (i as f64 + 0.5) * dz;
                for &(x, y, w) in &xy {
                    acc.add(field.at([x, y, z]), w * dz, v_pct);
                }
            }
        }
        if half[k].1 > half[k].0 {
            extreme_candidates(p, half[k].0, half[k].1, field, &mut ext_half);
        }
        if none[k].1 > none[k].0 {
            extreme_candidates(p, none[k].0, none[k].1, field, &mut ext_none);
        }
    }
    let models = [
        (core.merged(&cap), ext_half, Caps::Half),
        (core, ext_none, Caps::None),
    ];
    models.map(|(mut acc, ext, caps)| {
        acc.min = acc.min.min(ext.min);
        acc.max = acc.max.max(ext.max);
        let volume = acc.volume;
        let mut m = Metrics::default();
        m.push("volume_cc", volume_cc(s, caps));
        m.push("min_gy", acc.min);
        m.push("max_gy", acc.max);
        m.push("mean_gy", acc.dose_volume / volume);
        for x in D_PERCENT {
            m.push(
                format!("D{}%", num_label(x)),
                acc.dose_at_volume(x / 100.0 * volume),
            );
        }
        for cc in [0.035, 0.35, 1.2] {
            if cc * 1000.0 <= volume {
                m.push(
                    format!("D{}cc", num_label(cc)),
                    acc.dose_at_volume(cc * 1000.0),
                );
            }
        }
        for (&x, &a) in v_pct.iter().zip(&acc.above) {
            m.push(format!("V{}Gy_%", num_label(x)), 100.0 * a / volume);
        }
        m
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phantom::shapes::{circle, prism, regular_polygon_raw, sphere};
    use approx::assert_relative_eq;

    fn structure(planes: Vec<Plane>) -> Structure {
        Structure {
            name: "T",
            number: 1,
            kind: "PTV",
            color: [255, 0, 0],
            planes,
        }
    }

    fn area(r: f64) -> f64 {
        region_area_centroid(&[circle(0.0, 0.0, r)]).0
    }

    #[test]
    fn slab_extents() {
        let s = structure(prism(&[(0.0, 0.0, 5.0)], -2, 2, 2.0));
        let h = slabs(&s.planes, Caps::Half);
        let n = slabs(&s.planes, Caps::None);
        assert_eq!(h.first(), Some(&(-5.0, -3.0)));
        assert_eq!(h.last(), Some(&(3.0, 5.0)));
        assert_eq!(n.first(), Some(&(-4.0, -3.0)));
        assert_eq!(n.last(), Some(&(3.0, 4.0)));
        assert_eq!(h[2], (-1.0, 1.0));
    }

    #[test]
    fn cylinder_volume_is_area_times_length() {
        // 21 planes, 2 mm apart: 40 mm from first to last plane.
        let s = structure(prism(&[(1.0, 2.0, 12.0)], -10, 10, 2.0));
        assert_relative_eq!(
            volume_cc(&s, Caps::None),
            area(12.0) * 40.0 / 1000.0,
            max_relative = 1e-13
        );
        assert_relative_eq!(
            volume_cc(&s, Caps::Half),
            area(12.0) * 42.0 / 1000.0,
            max_relative = 1e-13
        );
    }

    #[test]
    fn d50_of_symmetric_shape_is_dose_at_centre() {
        let c = [10.0, -20.0, 0.0];
        let s = structure(sphere(c, 15.0, 2.5));
        for grad in [[0.5, 0.0, 0.0], [0.0, -3.0, 0.0], [0.3, 0.4, 0.0]] {
            let f = Linear {
                base: 20.0,
                grad,
                origin: c,
            };
            for caps in [Caps::Half, Caps::None] {
                let m = exact_metrics(&s, &f, caps, &[20.0]);
                assert_relative_eq!(m.get("D50%").unwrap(), 20.0, epsilon = 1e-9);
                assert_relative_eq!(m.get("mean_gy").unwrap(), 20.0, epsilon = 1e-9);
                assert_relative_eq!(
                    m.get("V20Gy_cc").unwrap(),
                    0.5 * m.get("volume_cc").unwrap(),
                    max_relative = 1e-9
                );
            }
        }
    }

    #[test]
    fn square_prism_in_linear_field_closed_form() {
        // 10 x 10 mm square, 3 planes 1 mm apart, half caps: 3 mm thick, 300 mm³.
        // Dose = x (Gy/mm) over x in [0, 10]: uniform distribution of dose on [0, 10].
        let sq = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let planes = (0..3)
            .map(|k| Plane {
                z: k as f64,
                polygons: vec![sq.clone()],
            })
            .collect();
        let s = structure(planes);
        let f = Linear {
            base: 0.0,
            grad: [1.0, 0.0, 0.0],
            origin: [0.0; 3],
        };
        let m = exact_metrics(&s, &f, Caps::Half, &[7.5]);
        assert_relative_eq!(m.get("volume_cc").unwrap(), 0.3);
        assert_relative_eq!(m.get("D95%").unwrap(), 0.5, epsilon = 1e-9);
        assert_relative_eq!(m.get("D2%").unwrap(), 9.8, epsilon = 1e-9);
        // 0.035 cc of 0.3 cc = 11.67 % from the top
        assert_relative_eq!(
            m.get("D0.035cc").unwrap(),
            10.0 - 35.0 / 30.0,
            epsilon = 1e-9
        );
        assert_relative_eq!(m.get("V7.5Gy_cc").unwrap(), 0.075, epsilon = 1e-12);
        assert_eq!(m.get("min_gy"), Some(0.0));
        assert_eq!(m.get("max_gy"), Some(10.0));
    }

    #[test]
    fn z_gradient_closed_form() {
        let s = structure(prism(&[(0.0, 0.0, 12.0)], -10, 10, 2.0));
        let f = Linear {
            base: 10.0,
            grad: [0.0, 0.0, 0.5],
            origin: [0.0, 0.0, -20.0],
        };
        let h = exact_metrics(&s, &f, Caps::Half, &[20.0]);
        // uniform over z in [-21, 21] -> dose uniform on [9.5, 30.5]
        assert_relative_eq!(h.get("D95%").unwrap(), 9.5 + 0.05 * 21.0, epsilon = 1e-9);
        assert_relative_eq!(h.get("mean_gy").unwrap(), 20.0, epsilon = 1e-9);
        assert_relative_eq!(h.get("min_gy").unwrap(), 9.5);
        let n = exact_metrics(&s, &f, Caps::None, &[20.0]);
        assert_relative_eq!(n.get("D98%").unwrap(), 10.0 + 0.02 * 20.0, epsilon = 1e-9);
        assert_relative_eq!(n.get("max_gy").unwrap(), 30.0);
        // D0.035cc: top 0.035 cc of a cylinder of area A: length 35/A mm
        let len = 35.0 / area(12.0);
        assert_relative_eq!(n.get("D0.035cc").unwrap(), 30.0 - 0.5 * len, epsilon = 1e-9);
    }

    #[test]
    fn two_island_plateau_d50_is_top_of_plateau() {
        let s = structure(prism(&[(-20.0, 0.0, 8.0), (20.0, 0.0, 8.0)], -5, 5, 2.0));
        let f = Linear {
            base: 20.0,
            grad: [0.5, 0.0, 0.0],
            origin: [0.0; 3],
        };
        let (m, p) = exact_metrics_with_plateaus(&s, &f, Caps::Half, &[]);
        // right island starts at x = 12 -> 26 Gy; the left one ends at x = -12 -> 14 Gy
        assert_relative_eq!(m.get("D50%").unwrap(), 26.0, epsilon = 1e-9);
        assert_eq!(p.0.len(), 1);
        assert_eq!(p.0[0].0, "D50%");
        assert_relative_eq!(p.0[0].1[0], 14.0, epsilon = 1e-9);
        assert_relative_eq!(p.0[0].1[1], 26.0, epsilon = 1e-9);
        // a connected shape has no plateau
        let one = structure(prism(&[(-20.0, 0.0, 8.0)], -5, 5, 2.0));
        assert!(exact_metrics_with_plateaus(&one, &f, Caps::Half, &[])
            .1
             .0
            .is_empty());
    }

    #[test]
    fn ring_hole_volume_and_metrics() {
        let s = structure(prism(&[(0.0, 0.0, 20.0), (0.0, 0.0, 10.0)], -5, 5, 3.0));
        let ring = area(20.0) - area(10.0);
        assert_relative_eq!(
            volume_cc(&s, Caps::Half),
            ring * 33.0 / 1000.0,
            max_relative = 1e-12
        );
        let f = Linear {
            base: 20.0,
            grad: [0.5, 0.0, 0.0],
            origin: [0.0; 3],
        };
        let m = exact_metrics(&s, &f, Caps::None, &[]);
        assert_relative_eq!(m.get("D50%").unwrap(), 20.0, epsilon = 1e-9);
        assert_relative_eq!(m.get("max_gy").unwrap(), 30.0);
    }

    #[test]
    fn fraction_beyond_x_of_square() {
        let sq = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let planes = (0..2)
            .map(|k| Plane {
                z: k as f64,
                polygons: vec![sq.clone()],
            })
            .collect();
        assert_relative_eq!(
            fraction_beyond_x(&structure(planes), Caps::Half, 8.0),
            0.2,
            epsilon = 1e-12
        );
    }

    #[test]
    fn reference_matches_exact_for_linear_field() {
        let c = [10.0, -20.0, 0.0];
        let s = structure(sphere(c, 15.0, 2.5));
        let lin = Linear {
            base: 20.0,
            grad: [0.5, 0.0, 0.0],
            origin: c,
        };
        let samp = Sampling {
            h_xy: 0.1,
            h_z: 2.5,
        };
        let [rh, rn] = reference_metrics(&s, &DoseField::Linear(lin), samp, &[21.3]);
        for (r, caps) in [(rh, Caps::Half), (rn, Caps::None)] {
            let e = exact_metrics(&s, &lin, caps, &[21.3]);
            for key in [
                "volume_cc",
                "min_gy",
                "max_gy",
                "mean_gy",
                "D2%",
                "D50%",
                "D95%",
                "D98%",
                "D0.035cc",
            ] {
                let (a, b) = (r.get(key).unwrap(), e.get(key).unwrap());
                assert!((a - b).abs() < 2e-3, "{key}: reference {a} exact {b}");
            }
            let v = r.get("V21.3Gy_%").unwrap();
            let want = 100.0 * e.get("V21.3Gy_cc").unwrap() / e.get("volume_cc").unwrap();
            assert!((v - want).abs() < 1e-2, "{v} {want}");
        }
    }

    #[test]
    fn radial_field_extremes() {
        let f = DoseField::Radial {
            centre: [0.0; 3],
            peak: 36.6,
            rho: 30.0,
            power: 3,
            lobe: None,
        };
        assert_relative_eq!(f.at([0.0, 0.0, 0.0]), 36.6);
        assert_relative_eq!(
            f.at([30.0, 0.0, 0.0]),
            36.6 / std::f64::consts::E,
            max_relative = 1e-15
        );
        let s = structure(sphere([0.0; 3], 20.0, 2.5));
        let [h, _] = reference_metrics(
            &s,
            &f,
            Sampling {
                h_xy: 0.5,
                h_z: 0.5,
            },
            &[],
        );
        assert_relative_eq!(h.get("max_gy").unwrap(), 36.6);
        // farthest point: a vertex of the z = ±17.5 circle on the slab face z = ±18.75
        let r = (400.0f64 - 17.5 * 17.5).sqrt();
        let far = regular_polygon_raw(0.0, 0.0, r, 128)
            .iter()
            .map(|&[x, y]| f.at([shapes::round_coord(x), shapes::round_coord(y), 18.75]))
            .fold(f64::INFINITY, f64::min);
        assert_relative_eq!(h.get("min_gy").unwrap(), far, epsilon = 1e-12);
    }
}
