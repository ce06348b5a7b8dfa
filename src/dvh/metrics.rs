//! Samples -> a dose-volume histogram and the metrics read from it.
//!
//! The samples are sorted by dose, highest first, and samples of exactly equal dose are
//! merged (in a linear dose field many samples share one dose; the curve must not depend on
//! how such a group is split). The cumulative DVH is the curve through the points
//! `(C_i - w_i / 2, d_i)`, where `C_i` is the volume with dose `>= d_i` and `w_i` the volume
//! at dose `d_i` (each dose's volume is centred on it), extended flat to volume 0 and to the
//! full volume. Every metric is read off this one curve,
//! with linear interpolation, never from a histogram bin:
//!
//! - `D_x` = the curve's dose at volume `x`: the largest dose `D` with `V(>= D) >= x`;
//! - `V(>= D)` = the largest volume at which the curve is still `>= D`.

use serde::Serialize;

use crate::raster::sample::Sample;
#[cfg(test)]
use crate::raster::sample::{from_order_key, order_key};

/// A cumulative DVH over `(dose, volume)` samples.
///
/// The curve's points are kept in the buffer the samples were sorted in (8 bytes a point,
/// no second copy): each point is a [`Sample`] holding its dose and its volume (f32 cc),
/// highest dose first. The cumulative volume, summed in f64 from the highest dose down, is
/// stored once every [`BLOCK`] points and completed from the volumes in between when a
/// query needs it: the same additions in the same order as a stored running sum.
#[derive(Debug, Clone)]
pub struct Dvh {
    /// Points by descending dose (rank 0: the highest); doses distinct, volumes positive.
    points: Vec<Sample>,
    /// `before[b]`: volume of the points of rank below `BLOCK*b` (the higher doses), cc.
    before: Vec<f64>,
    /// Total sampled volume, cc.
    total_cc: f64,
    /// Volume-weighted mean dose.
    mean: f64,
}

/// Points between two stored cumulative volumes.
const BLOCK: usize = 16;

impl Dvh {
    /// Builds the DVH from `(dose, volume cc)` samples in any order (see [`Dvh::from_chunks`]).
    pub fn new(dose: &[f64], volume_cc: &[f64]) -> Self {
        assert_eq!(dose.len(), volume_cc.len());
        let samples: Vec<Sample> = dose
            .iter()
            .zip(volume_cc)
            .map(|(d, w)| Sample::new(*d, *w))
            .collect();
        Self::from_chunks(vec![samples])
    }

    /// Builds the DVH from samples gathered in chunks (e.g. one per contour plane), freeing
    /// each chunk once it is copied. Samples without volume are ignored. The sort by dose is
    /// stable (a radix sort on the dose key), so equal doses are summed in the order of the
    /// chunks: the result depends only on that order, never on the thread count.
    pub fn from_chunks(chunks: Vec<Vec<Sample>>) -> Self {
        let mut points = sort_by_dose(chunks);
        // One pass down the sorted samples: runs of equal dose merged into one point each
        // (in place: points never overtake the samples still to read), the running sum of
        // volume stored at each block start, and the weighted dose.
        let n = points.len();
        let mut before = Vec::new();
        let (mut m, mut k) = (0, 0);
        let (mut sum, mut weighted) = (0.0, 0.0);
        while k < n {
            let key = points[k].key();
            let mut w = 0.0;
            while k < n && points[k].key() == key {
                let x = points[k].volume_cc();
                if x > 0.0 {
                    w += x;
                }
                k += 1;
            }
            let w = w as f32;
            if w > 0.0 {
                if m % BLOCK == 0 {
                    before.push(sum);
                }
                let p = Sample((u64::from(key) << 32) | u64::from(w.to_bits()));
                points[m] = p;
                m += 1;
                let w = f64::from(w);
                weighted += p.dose() * w;
                sum += w;
            }
        }
        points.truncate(m);
        if points.capacity() - m > points.capacity() / 4 {
            // Give back what merging freed when it is worth a copy.
            points.shrink_to_fit();
        }
        Dvh {
            mean: if sum > 0.0 { weighted / sum } else { f64::NAN },
            points,
            before,
            total_cc: sum,
        }
    }

    /// The point of rank `r` (0: the highest dose).
    #[inline]
    fn point(&self, r: usize) -> Sample {
        self.points[r]
    }

    /// The dose of the point of rank `r`.
    fn dose(&self, r: usize) -> f64 {
        self.point(r).dose()
    }

    /// Volume of the points above rank `r` (the higher doses), cc: the stored running sum
    /// of its block completed along the block.
    fn above(&self, r: usize) -> f64 {
        let b = r / BLOCK;
        (b * BLOCK..r).fold(self.before[b], |sum, q| sum + self.point(q).volume_cc())
    }

    /// Curve abscissa of the point of rank `r`: the volume above it plus half its own, cc.
    fn mid_cc(&self, r: usize) -> f64 {
        self.above(r) + 0.5 * self.point(r).volume_cc()
    }

    /// `(mid_cc(r), mid_cc(r + 1))`, with one walk along the block.
    fn mid_pair(&self, r: usize) -> (f64, f64) {
        let above = self.above(r);
        let w = self.point(r).volume_cc();
        (
            above + 0.5 * w,
            above + w + 0.5 * self.point(r + 1).volume_cc(),
        )
    }

    /// The last rank whose abscissa is `<= x`, given `mid_cc(0) <= x`: the last block whose
    /// first point is at most `x` (by bisection on the stored sums), then along that block.
    fn last_mid_at_most(&self, x: f64) -> usize {
        let (mut lo, mut hi) = (1, self.before.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.mid_cc(mid * BLOCK) <= x {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let start = (lo - 1) * BLOCK;
        let end = self.points.len().min(start + BLOCK);
        (start + 1..end)
            .take_while(|&r| self.mid_cc(r) <= x)
            .last()
            .unwrap_or(start)
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Volume of the samples, cc.
    pub fn volume_cc(&self) -> f64 {
        self.total_cc
    }

    pub fn max(&self) -> Option<f64> {
        self.points.first().map(|p| p.dose())
    }

    pub fn min(&self) -> Option<f64> {
        self.points.last().map(|p| p.dose())
    }

    pub fn mean(&self) -> Option<f64> {
        (!self.is_empty()).then_some(self.mean)
    }

    /// `D_x` for `x` in cc: the dose received by at least `x` cc.
    pub fn dose_at_volume_cc(&self, x: f64) -> Option<f64> {
        let n = self.points.len();
        if n == 0 || x.is_nan() || x < 0.0 {
            return None;
        }
        if x > self.total_cc {
            // More volume than the structure has: undefined.
            return None;
        }
        if x <= self.mid_cc(0) {
            return Some(self.dose(0));
        }
        if x >= self.mid_cc(n - 1) {
            return Some(self.dose(n - 1));
        }
        // Largest i with mid_cc(i) <= x.
        let i = self.last_mid_at_most(x);
        let (m0, m1) = self.mid_pair(i);
        let t = if m1 > m0 { (x - m0) / (m1 - m0) } else { 0.0 };
        let (d0, d1) = (self.dose(i), self.dose(i + 1));
        Some(d0 + t * (d1 - d0))
    }

    /// `D_x` for `x` in percent of the sampled volume.
    pub fn dose_at_volume_percent(&self, pct: f64) -> Option<f64> {
        if !(0.0..=100.0).contains(&pct) {
            return None;
        }
        self.dose_at_volume_cc(pct / 100.0 * self.total_cc)
    }

    /// `V(>= d)` in cc.
    pub fn volume_at_dose_cc(&self, d: f64) -> f64 {
        let n = self.points.len();
        if d.is_nan() {
            // No threshold, no volume: a NaN in is a NaN out (never a number that passes).
            return f64::NAN;
        }
        if n == 0 || d > self.dose(0) {
            return 0.0;
        }
        if d <= self.dose(n - 1) {
            return self.total_cc;
        }
        // Last rank i with dose >= d (ranks descend in dose); then dose(i+1) < d.
        let i = self.points.partition_point(|p| p.dose() >= d) - 1;
        let (d0, d1) = (self.dose(i), self.dose(i + 1));
        let t = if d0 > d1 { (d0 - d) / (d0 - d1) } else { 0.0 };
        let (m0, m1) = self.mid_pair(i);
        m0 + t * (m1 - m0)
    }

    /// `V(>= d)` in percent of the sampled volume.
    pub fn volume_at_dose_percent(&self, d: f64) -> f64 {
        if self.total_cc > 0.0 {
            100.0 * self.volume_at_dose_cc(d) / self.total_cc
        } else {
            0.0
        }
    }

    /// The cumulative DVH at bin edges `0, w, 2w, ...` up to the first edge above the
    /// maximum (where it is 0): `(dose_gy, volume_cc)`. Starts at the full volume and never
    /// increases.
    pub fn cumulative(&self, bin_width: f64) -> (Vec<f64>, Vec<f64>) {
        let Some(max) = self.max() else {
            return (vec![0.0], vec![0.0]);
        };
        let bins = (max.max(0.0) / bin_width).floor() as usize + 2;
        let mut vols = Vec::with_capacity(bins);
        let mut last = f64::INFINITY;
        for b in 0..bins {
            let v = self.volume_at_dose_cc(b as f64 * bin_width).min(last);
            last = v;
            vols.push(v);
        }
        let doses = (0..bins)
            .map(|b| round_to(b as f64 * bin_width, 1e-9))
            .collect();
        (doses, vols)
    }
}

/// The samples of all chunks sorted by dose, descending, stable; each chunk is freed
/// once copied. Large inputs: one radix pass on the top 11 bits of the (inverted) order
/// key (sign, exponent and two mantissa bits: a quarter octave of dose each) straight from
/// the chunks, then each bucket on its own, while it is in cache: an LSD radix sort on the low 21 bits in
/// two passes (a pass whose digit is the same for every sample is skipped), or an
/// insertion sort for a few samples. Small inputs: the standard stable sort.
fn sort_by_dose(chunks: Vec<Vec<Sample>>) -> Vec<Sample> {
    const SMALL: usize = 4_096;
    let n: usize = chunks.iter().map(Vec::len).sum();
    if n < SMALL {
        let mut sorted = chunks.concat();
        sorted.sort_by_key(|s| desc(*s));
        return sorted;
    }
    let mut sorted = vec![Sample(0); n];
    const TOP: u32 = 21;
    let mut next = [0usize; 2048];
    for chunk in &chunks {
        for s in chunk {
            next[(desc(*s) >> TOP) as usize] += 1;
        }
    }
    let mut starts = [0usize; 2049];
    for d in 0..2048 {
        starts[d + 1] = starts[d] + next[d];
    }
    next.copy_from_slice(&starts[..2048]);
    for chunk in chunks {
        scatter(&chunk, &mut sorted, &mut next, TOP, 2047);
    }
    // The spare buffer only ever holds one bucket.
    let largest = (0..2048)
        .map(|d| starts[d + 1] - starts[d])
        .max()
        .unwrap_or(0);
    let mut spare = vec![Sample(0); largest];
    for d in 0..2048 {
        let (lo, hi) = (starts[d], starts[d + 1]);
        sort_low_bits(&mut sorted[lo..hi], &mut spare[..hi - lo]);
    }
    sorted
}

/// The sort key: dose descending.
#[inline]
fn desc(s: Sample) -> u32 {
    !s.key()
}

/// Sorts samples that share the top 11 bits of their key by the low 21 bits, stable.
fn sort_low_bits(v: &mut [Sample], spare: &mut [Sample]) {
    if v.len() < 64 {
        // Insertion sort: stable, and quick for a few samples.
        for i in 1..v.len() {
            let x = v[i];
            let mut j = i;
            while j > 0 && desc(v[j - 1]) > desc(x) {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = x;
        }
        return;
    }
    let mut low = [0usize; 2048];
    let mut mid = [0usize; 1024];
    for s in v.iter() {
        let k = desc(*s) as usize;
        low[k & 2047] += 1;
        mid[(k >> 11) & 1023] += 1;
    }
    let n = v.len();
    let mut in_v = true;
    for (counts, shift, mask) in [(&mut low[..], 0u32, 2047usize), (&mut mid[..], 11, 1023)] {
        if counts.contains(&n) {
            continue;
        }
        let mut total = 0;
        for x in counts.iter_mut() {
            let m = *x;
            *x = total;
            total += m;
        }
        if in_v {
            scatter(v, spare, counts, shift, mask);
        } else {
            scatter(spare, v, counts, shift, mask);
        }
        in_v = !in_v;
    }
    if !in_v {
        v.copy_from_slice(spare);
    }
}

/// One counting-sort pass: each sample goes to the next free place of its bucket (the
/// digit `(key >> shift) & mask`).
fn scatter(from: &[Sample], to: &mut [Sample], next: &mut [usize], shift: u32, mask: usize) {
    for s in from {
        let d = (desc(*s) >> shift) as usize & mask;
        to[next[d]] = *s;
        next[d] += 1;
    }
}

fn round_to(x: f64, q: f64) -> f64 {
    (x / q).round() * q
}

/// A metric a user can ask for by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MetricSpec {
    /// Dose to x % of the volume (`D95%`).
    DosePercent(f64),
    /// Dose to x cc (`D0.035cc`).
    DoseCc(f64),
    /// Volume receiving at least x Gy, in cc (`V20Gy` or `V20Gy[cc]`).
    VolumeCc(f64),
    /// Volume receiving at least x Gy, in % (`V20Gy[%]`).
    VolumePercent(f64),
}

impl MetricSpec {
    /// Parses `D95%`, `D0.035cc`, `V20Gy` (cc), `V20Gy%` (percent of volume).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let num = |x: &str| -> Result<f64, String> {
            x.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("'{s}': '{x}' is not a non-negative number"))
        };
        if let Some(rest) = t.strip_prefix('D') {
            if let Some(x) = rest.strip_suffix('%') {
                let v = num(x)?;
                if v > 100.0 {
                    return Err(format!("'{s}': percent over 100"));
                }
                return Ok(MetricSpec::DosePercent(v));
            }
            if let Some(x) = rest.strip_suffix("cc") {
                return Ok(MetricSpec::DoseCc(num(x)?));
            }
        }
        if let Some(rest) = t.strip_prefix('V') {
            if let Some(x) = rest.strip_suffix("Gy%") {
                return Ok(MetricSpec::VolumePercent(num(x)?));
            }
            if let Some(x) = rest.strip_suffix("Gy") {
                return Ok(MetricSpec::VolumeCc(num(x)?));
            }
        }
        Err(format!(
            "'{s}': expected D<x>%, D<x>cc, V<x>Gy (cc) or V<x>Gy% (percent)"
        ))
    }

    /// The canonical name (used as the JSON key).
    pub fn name(&self) -> String {
        match self {
            MetricSpec::DosePercent(x) => format!("D{}%", fmt_num(*x)),
            MetricSpec::DoseCc(x) => format!("D{}cc", fmt_num(*x)),
            MetricSpec::VolumeCc(x) => format!("V{}Gy_cc", fmt_num(*x)),
            MetricSpec::VolumePercent(x) => format!("V{}Gy_%", fmt_num(*x)),
        }
    }

    /// Evaluates on a DVH (`None` when undefined, e.g. D2cc of a 1 cc structure).
    pub fn eval(&self, dvh: &Dvh) -> Option<f64> {
        if dvh.is_empty() {
            return None;
        }
        match *self {
            MetricSpec::DosePercent(x) => dvh.dose_at_volume_percent(x),
            MetricSpec::DoseCc(x) => dvh.dose_at_volume_cc(x),
            MetricSpec::VolumeCc(d) => Some(dvh.volume_at_dose_cc(d)),
            MetricSpec::VolumePercent(d) => Some(dvh.volume_at_dose_percent(d)),
        }
    }
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The metrics every DVH report lists.
pub fn default_metrics() -> Vec<MetricSpec> {
    vec![
        MetricSpec::DoseCc(0.035),
        MetricSpec::DosePercent(1.0),
        MetricSpec::DosePercent(2.0),
        MetricSpec::DosePercent(5.0),
        MetricSpec::DosePercent(50.0),
        MetricSpec::DosePercent(95.0),
        MetricSpec::DosePercent(98.0),
        MetricSpec::DosePercent(99.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// 100 samples of 1 cc with doses 0.5, 1.5, ..., 99.5: a uniform distribution on [0, 100].
    fn uniform() -> Dvh {
        let d: Vec<f64> = (0..100).map(|i| i as f64 + 0.5).collect();
        Dvh::new(&d, &vec![1.0; 100])
    }

    #[test]
    fn dose_at_volume_interpolates_the_uniform_distribution_exactly() {
        let h = uniform();
        assert_relative_eq!(h.volume_cc(), 100.0);
        // For a uniform distribution on [0,100], D_x% = 100 - x.
        for x in [1.0, 2.0, 50.0, 95.0, 98.0] {
            assert_relative_eq!(
                h.dose_at_volume_percent(x).unwrap(),
                100.0 - x,
                epsilon = 1e-9
            );
        }
        assert_relative_eq!(h.mean().unwrap(), 50.0);
        assert_eq!(h.max(), Some(99.5));
        assert_eq!(h.min(), Some(0.5));
        assert_eq!(h.dose_at_volume_cc(100.5), None);
        assert_eq!(h.dose_at_volume_percent(101.0), None);
    }

    #[test]
    fn volume_at_dose_inverts_dose_at_volume() {
        let h = uniform();
        for d in [10.0, 33.3, 75.0, 90.0] {
            assert_relative_eq!(h.volume_at_dose_cc(d), 100.0 - d, epsilon = 1e-9);
            let back = h.dose_at_volume_cc(h.volume_at_dose_cc(d)).unwrap();
            assert_relative_eq!(back, d, epsilon = 1e-9);
        }
        assert_eq!(h.volume_at_dose_cc(100.0), 0.0);
        assert_eq!(h.volume_at_dose_cc(0.0), 100.0);
    }

    #[test]
    fn volume_at_a_nan_dose_is_nan_not_a_panic() {
        let h = uniform();
        assert!(h.volume_at_dose_cc(f64::NAN).is_nan());
        assert!(h.volume_at_dose_percent(f64::NAN).is_nan());
    }

    #[test]
    fn uniform_dose_structure_is_fully_covered_at_its_dose() {
        let h = Dvh::new(&[30.0; 10], &[0.5; 10]);
        assert_eq!(h.volume_at_dose_cc(30.0), 5.0);
        assert_eq!(h.volume_at_dose_percent(30.0), 100.0);
        assert_eq!(h.volume_at_dose_cc(30.0001), 0.0);
        assert_eq!(h.dose_at_volume_percent(95.0), Some(30.0));
    }

    #[test]
    fn equal_doses_are_one_point_of_the_curve() {
        // Symmetric plateaus 15 and 17 (in many samples each): the median is between them.
        let mut d = vec![15.0; 7];
        d.extend(vec![17.0; 3]);
        let mut w = vec![1.0 / 7.0; 7];
        w.extend(vec![1.0 / 3.0; 3]);
        let h = Dvh::new(&d, &w);
        // Sample volumes are f32: 1/7 and 1/3 are rounded (about 6e-8 relative).
        assert_relative_eq!(
            h.dose_at_volume_percent(50.0).unwrap(),
            16.0,
            max_relative = 1e-6
        );
        assert_relative_eq!(h.volume_at_dose_percent(16.0), 50.0, max_relative = 1e-6);
    }

    #[test]
    fn order_of_samples_changes_results_only_by_rounding() {
        // Determinism comes from the fixed order samples are gathered in; a permutation of
        // the same samples may differ only in the last bits of sums over equal doses.
        let d = [3.0, 1.0, 2.0, 2.0, 5.0];
        let w = [0.1, 0.2, 0.3, 0.4, 0.5];
        let a = Dvh::new(&d, &w);
        let b = Dvh::new(&[2.0, 5.0, 2.0, 1.0, 3.0], &[0.4, 0.5, 0.3, 0.2, 0.1]);
        assert_relative_eq!(
            a.dose_at_volume_cc(0.77).unwrap(),
            b.dose_at_volume_cc(0.77).unwrap(),
            max_relative = 1e-12
        );
        assert_relative_eq!(a.mean().unwrap(), b.mean().unwrap(), max_relative = 1e-12);
        assert_eq!(
            Dvh::new(&d, &w).dose_at_volume_cc(0.77),
            a.dose_at_volume_cc(0.77)
        );
    }

    #[test]
    fn cumulative_and_blocked_abscissae_match_running_sums() {
        // Many points (several blocks of stored sums), repeats, a few doses on bin edges.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let d: Vec<f64> = (0..5_000)
            .map(|i| if i % 50 == 0 { 2.5 } else { 30.0 * next() })
            .collect();
        let w: Vec<f64> = (0..5_000).map(|_| 0.001 + next()).collect();
        let h = Dvh::new(&d, &w);
        let (edges, vols) = h.cumulative(0.01);
        let mut last = f64::INFINITY;
        for (b, v) in vols.iter().enumerate() {
            // The edges are printed rounded; the volumes are at the exact multiples.
            let d = b as f64 * 0.01;
            assert!((edges[b] - d).abs() < 1e-9);
            let expected = h.volume_at_dose_cc(d).min(last);
            last = expected;
            assert_eq!(*v, expected, "at {d} Gy");
        }
        // And the blocked abscissae equal a plain running sum.
        let mut sum = 0.0;
        let n = h.points.len();
        for r in 0..n {
            let w = h.point(r).volume_cc();
            assert_eq!(h.mid_cc(r), sum + 0.5 * w);
            if r + 1 < n {
                assert_eq!(h.mid_pair(r), (h.mid_cc(r), h.mid_cc(r + 1)));
            }
            sum += w;
        }
        assert_eq!(sum, h.volume_cc());
        // The bisection over blocks finds the same rank as a search along every point.
        for x in [h.mid_cc(0), 0.3, 17.0, 1234.5, h.mid_cc(n - 1) - 1e-9] {
            let linear = (0..n).rev().find(|&r| h.mid_cc(r) <= x).unwrap();
            assert_eq!(h.last_mid_at_most(x), linear, "at {x} cc");
        }
    }

    #[test]
    fn cumulative_starts_full_and_never_increases() {
        let h = uniform();
        let (d, v) = h.cumulative(0.01);
        assert_eq!(d[0], 0.0);
        assert_relative_eq!(v[0], 100.0);
        assert!(v.windows(2).all(|w| w[1] <= w[0]));
        assert_eq!(*v.last().unwrap(), 0.0);
        assert_relative_eq!(*d.last().unwrap(), 99.51, epsilon = 1e-9);
    }

    #[test]
    fn order_keys_sort_like_the_floats_and_radix_sort_is_stable() {
        let xs = [-3.5f32, -0.0, 0.0, 1e-30, 2.5, 2.5000002, 40.0, -1e-20];
        let mut sorted = xs;
        sorted.sort_by(f32::total_cmp);
        let mut keys: Vec<u32> = xs.iter().map(|x| order_key(*x)).collect();
        keys.sort();
        let back: Vec<f32> = keys.iter().map(|k| from_order_key(*k)).collect();
        assert_eq!(back, sorted);
        // Large input through the radix path, in chunks: same as a stable sort.
        let v: Vec<Sample> = (0..50_000u64)
            .map(|i| Sample(((i * 7919 % 1000) << 32) | i))
            .collect();
        let chunks: Vec<Vec<Sample>> = v.chunks(7_000).map(<[Sample]>::to_vec).collect();
        let mut w = v.clone();
        w.sort_by_key(|s| std::cmp::Reverse(s.key()));
        assert_eq!(sort_by_dose(chunks), w);
        let few: Vec<Sample> = w[..20_000].iter().rev().copied().collect();
        let mut expected = few.clone();
        expected.sort_by_key(|s| std::cmp::Reverse(s.key()));
        assert_eq!(sort_by_dose(vec![few]), expected);
        // Doses over many octaves with repeats (buckets of every size), in uneven chunks,
        // weights numbering the samples: the same order as the standard stable sort.
        let mut seed = 99u64;
        let doses: Vec<Sample> = (0..60_000u32)
            .map(|i| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                let octave = (seed >> 60) as i32 - 8;
                let dose = f64::from((seed >> 40) as u32 % 50) / 50.0 * 2f64.powi(octave);
                Sample((u64::from(Sample::new(dose, 1.0).key()) << 32) | u64::from(i))
            })
            .collect();
        let chunks: Vec<Vec<Sample>> = doses.chunks(977).map(<[Sample]>::to_vec).collect();
        let mut expected = doses.clone();
        expected.sort_by_key(|s| std::cmp::Reverse(s.key()));
        assert_eq!(sort_by_dose(chunks), expected);
        // Keys that differ only in the high digit (the low pass is skipped), and only in
        // the low digit (the high pass is skipped).
        for scale in [1u64 << 16, 1] {
            let v: Vec<Sample> = (0..30_000u64)
                .map(|i| Sample((((i * 31 % 500) * scale) << 32) | i))
                .collect();
            let mut w = v.clone();
            w.sort_by_key(|s| std::cmp::Reverse(s.key()));
            assert_eq!(sort_by_dose(vec![v]), w);
        }
    }

    #[test]
    fn metric_names_parse_and_print() {
        assert_eq!(
            MetricSpec::parse("D95%").unwrap(),
            MetricSpec::DosePercent(95.0)
        );
        assert_eq!(
            MetricSpec::parse("D0.035cc").unwrap(),
            MetricSpec::DoseCc(0.035)
        );
        assert_eq!(
            MetricSpec::parse("V20Gy").unwrap(),
            MetricSpec::VolumeCc(20.0)
        );
        assert_eq!(
            MetricSpec::parse("V20Gy%").unwrap(),
            MetricSpec::VolumePercent(20.0)
        );
        assert!(MetricSpec::parse("D120%").is_err());
        assert!(MetricSpec::parse("X5").is_err());
        assert!(MetricSpec::parse("D-1cc").is_err());
        assert_eq!(MetricSpec::DoseCc(0.035).name(), "D0.035cc");
        assert_eq!(MetricSpec::VolumePercent(30.0).name(), "V30Gy_%");
    }
}
