//! Samples -> the cumulative dose-volume histogram ([`Dvh`]) and the doses and volumes read
//! off it.
//!
//! The curve, by its definition, which is also how it is computed: the samples (dose, volume)
//! are sorted by dose, highest first, and samples of exactly equal dose are merged into one
//! point (in a linear dose field many samples share one dose; the curve must not depend on
//! how such a group is split). With `w_i` the volume at dose `d_i` and `C_i` the volume at
//! doses `>= d_i`, the cumulative DVH is the curve through the points `(C_i - w_i / 2, d_i)`
//! (each dose's volume is centred on it), extended flat to volume 0 and to the full volume.
//! Every metric is read off this one curve, with linear interpolation, never from a
//! histogram bin:
//!
//! - `D_x` = the curve's dose at volume `x`: the largest dose `D` with `V(>= D) >= x`;
//! - `V(>= D)` = the largest volume at which the curve is still `>= D`.
//!
//! The sort is stable: the volumes of equal doses add up in the order the samples were
//! gathered in, which is fixed (plane by plane, see [`crate::raster::sample_roi`]), so the
//! curve does not depend on the thread count.
//!
//! The sort is a radix sort ([`sorted_words`]) whose two buffers then hold the curve's
//! points: a structure's samples take no memory beyond those two buffers, and the points
//! none beyond them. A curve that is no longer needed hands its buffers back
//! (`Dvh::into_buffers`) for the next one to be built in (`Dvh::from_chunks_in`).

use crate::raster::sample::Sample;

/// A cumulative DVH over `(dose, volume)` samples.
#[derive(Debug, Clone)]
pub struct Dvh {
    /// The doses of the curve's points, highest first, one per distinct dose.
    doses: Vec<f64>,
    /// The volume of each point: the volume at higher doses plus half the volume at its
    /// dose, cc.
    volumes_cc: Vec<f64>,
    /// Volume of the samples, cc.
    total_cc: f64,
    /// Volume-weighted mean dose.
    mean: f64,
}

/// A point of the curve.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    dose: f64,
    volume_cc: f64,
}

impl Dvh {
    /// Builds the DVH from `(dose, volume cc)` samples in any order (see [`Dvh::from_chunks`]).
    pub fn new(dose: &[f64], volume_cc: &[f64]) -> Self {
        assert_eq!(dose.len(), volume_cc.len());
        let samples = dose
            .iter()
            .zip(volume_cc)
            .map(|(d, w)| Sample::new(*d, *w))
            .collect();
        Self::from_chunks(vec![samples])
    }

    /// Builds the DVH from samples gathered in chunks (e.g. one per contour plane). Samples
    /// without volume are ignored, and so are those whose dose is not finite (none come
    /// from [`crate::raster::sample_roi`]: a dose grid with such values is refused when it
    /// is read).
    pub fn from_chunks(chunks: Vec<Vec<Sample>>) -> Self {
        let mut dvh = Self::from_chunks_in(chunks, Buffers::default());
        dvh.doses.shrink_to_fit();
        dvh.volumes_cc.shrink_to_fit();
        dvh
    }

    /// [`Dvh::from_chunks`] built in `buffers` (what an earlier curve handed back, see
    /// [`Dvh::into_buffers`]), replaced by new ones where they are too small; the same curve
    /// whatever they held. Their memory stays with the curve, unused parts included.
    pub(crate) fn from_chunks_in(chunks: Vec<Vec<Sample>>, buffers: Buffers) -> Self {
        // Highest dose first; a stable sort, so equal doses stay in gathered order.
        let (mut sorted, mut spare) = sorted_words(chunks, buffers);
        // Point k is written over word k of each buffer, which the walk has passed: the
        // doses over the sorted words, the volumes over the spare buffer.
        let (mut k, mut i) = (0, 0);
        let mut above_cc = 0.0;
        let mut weighted = 0.0;
        while i < sorted.len() {
            let same_dose = word_dose(sorted[i]);
            let mut w = 0.0;
            while i < sorted.len() && word_dose(sorted[i]) == same_dose {
                w += f64::from(word_volume(sorted[i]));
                i += 1;
            }
            let dose = f64::from(same_dose);
            sorted[k] = dose.to_bits();
            spare[k] = (above_cc + 0.5 * w).to_bits();
            above_cc += w;
            weighted += dose * w;
            k += 1;
        }
        let as_f64 = |mut words: Vec<u64>| -> Vec<f64> {
            words.truncate(k);
            // Collected in place: the same memory, read as the numbers written to it.
            words.into_iter().map(f64::from_bits).collect()
        };
        Dvh {
            doses: as_f64(sorted),
            volumes_cc: as_f64(spare),
            total_cc: above_cc,
            mean: weighted / above_cc,
        }
    }

    /// The curve's memory, for the next curve to be built in ([`Dvh::from_chunks_in`]).
    pub(crate) fn into_buffers(self) -> Buffers {
        // In place, like the conversion the other way in `from_chunks_in`.
        let words = |numbers: Vec<f64>| numbers.into_iter().map(f64::to_bits).collect();
        Buffers {
            first: words(self.doses),
            second: words(self.volumes_cc),
        }
    }

    /// Point `i` of the curve.
    fn point(&self, i: usize) -> Point {
        Point {
            dose: self.doses[i],
            volume_cc: self.volumes_cc[i],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.doses.is_empty()
    }

    /// Volume of the samples, cc.
    pub fn volume_cc(&self) -> f64 {
        self.total_cc
    }

    pub fn max(&self) -> Option<f64> {
        self.doses.first().copied()
    }

    pub fn min(&self) -> Option<f64> {
        self.doses.last().copied()
    }

    pub fn mean(&self) -> Option<f64> {
        (!self.is_empty()).then_some(self.mean)
    }

    /// `D_x` for `x` in cc: the dose received by at least `x` cc.
    pub fn dose_at_volume_cc(&self, x: f64) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        let (first, last) = (self.point(0), self.point(self.doses.len() - 1));
        if x.is_nan() || x < 0.0 || x > self.total_cc {
            // More volume than the structure has: undefined.
            return None;
        }
        if x <= first.volume_cc {
            return Some(first.dose);
        }
        if x >= last.volume_cc {
            return Some(last.dose);
        }
        // The last point at or before x, and the next one (both exist: x is strictly
        // between the first and the last).
        let i = self.volumes_cc.partition_point(|&v| v <= x) - 1;
        let (a, b) = (self.point(i), self.point(i + 1));
        let t = (x - a.volume_cc) / (b.volume_cc - a.volume_cc);
        Some(a.dose + t * (b.dose - a.dose))
    }

    pub fn dose_at_volume_percent(&self, pct: f64) -> Option<f64> {
        if !(0.0..=100.0).contains(&pct) {
            return None;
        }
        self.dose_at_volume_cc(pct / 100.0 * self.total_cc)
    }

    /// `V(>= d)`, cc: the curve's volume at dose `d`.
    pub fn volume_at_dose_cc(&self, d: f64) -> f64 {
        if d.is_nan() {
            return f64::NAN;
        }
        let (Some(max), Some(min)) = (self.max(), self.min()) else {
            return 0.0;
        };
        if d > max {
            return 0.0;
        }
        if d <= min {
            return self.total_cc;
        }
        // The last point at or above d, and the next one, below d (both exist: d is above
        // the minimum and at most the maximum).
        let i = self.doses.partition_point(|&dose| dose >= d) - 1;
        let (a, b) = (self.point(i), self.point(i + 1));
        let t = (a.dose - d) / (a.dose - b.dose);
        a.volume_cc + t * (b.volume_cc - a.volume_cc)
    }

    pub fn volume_at_dose_percent(&self, d: f64) -> f64 {
        if self.total_cc > 0.0 {
            100.0 * self.volume_at_dose_cc(d) / self.total_cc
        } else {
            0.0
        }
    }

    /// The cumulative DVH at `0, w, 2w, ...` up to the maximum dose and one bin beyond
    /// (doses rounded for printing; volumes at the exact multiples, never increasing).
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

fn round_to(x: f64, q: f64) -> f64 {
    (x / q).round() * q
}

/// The memory a [`Dvh`] is built in: two buffers of words, reused from one curve to the
/// next (a structure's curve takes 16 bytes a sample; memory fresh from the system costs a
/// page fault every 4 KiB).
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    first: Vec<u64>,
    second: Vec<u64>,
}

impl Buffers {
    /// Buffers with room for curves of `samples` samples. Zeroed memory comes from the
    /// system untouched: only the part a curve uses is ever faulted in.
    pub(crate) fn for_samples(samples: usize) -> Self {
        Buffers {
            first: vec![0; samples],
            second: vec![0; samples],
        }
    }
}

/// The samples of `chunks` that have volume and a finite dose, sorted by dose, highest
/// first, samples of equal dose in the order of the chunks; and a spare buffer of the same
/// length; both in `buffers`. Each sample is one word ([`word`]) whose high half orders the
/// doses; the sort is a least-significant-digit radix sort on that half, a byte at a time
/// (each pass keeps the order of the one before among equal bytes, so the whole sort is
/// stable). The first pass reads the chunks; a pass in which every sample has the same
/// byte is skipped.
fn sorted_words(chunks: Vec<Vec<Sample>>, buffers: Buffers) -> (Vec<u64>, Vec<u64>) {
    let counted = |s: &Sample| s.volume_cc() > 0.0 && s.dose().is_finite();
    let mut counts = [[0usize; 256]; 4];
    let mut n = 0;
    for s in chunks.iter().flatten().filter(|s| counted(s)) {
        let w = word(*s);
        for (byte, count) in counts.iter_mut().enumerate() {
            count[digit(w, byte)] += 1;
        }
        n += 1;
    }
    let mut sorted = sized(buffers.first, n);
    let mut next = starts(&counts[0]);
    for chunk in chunks {
        for w in chunk.into_iter().filter(counted).map(word) {
            let at = &mut next[digit(w, 0)];
            sorted[*at] = w;
            *at += 1;
        }
    }
    let mut spare = sized(buffers.second, n);
    for (byte, count) in counts.iter().enumerate().skip(1) {
        if count.contains(&n) {
            continue;
        }
        let mut next = starts(count);
        for &w in &sorted {
            let at = &mut next[digit(w, byte)];
            spare[*at] = w;
            *at += 1;
        }
        std::mem::swap(&mut sorted, &mut spare);
    }
    (sorted, spare)
}

/// `words` with length `n`, its words left as they are (each pass of the sort writes every
/// word before it reads one); too small, a new buffer instead (zeroed memory comes from the
/// system untouched, and nothing is copied).
fn sized(mut words: Vec<u64>, n: usize) -> Vec<u64> {
    if words.capacity() < n {
        return vec![0; n];
    }
    words.resize(n, 0);
    words
}

/// A sample as one word: in the high half a key whose ascending order is the dose's order
/// by [`f32::total_cmp`] reversed (highest dose first), in the low half the volume's bits.
fn word(s: Sample) -> u64 {
    let bits = s.dose_f32().to_bits();
    // Positive doses: the sign bit cleared and the rest flipped (higher doses, lower keys),
    // above every negative dose, whose bits, sign set, already order them reversed.
    let key = if bits >> 31 == 1 {
        bits
    } else {
        !bits & !(1 << 31)
    };
    u64::from(key) << 32 | u64::from(s.volume_cc_f32().to_bits())
}

/// The dose of a [`word`].
fn word_dose(w: u64) -> f32 {
    let key = (w >> 32) as u32;
    f32::from_bits(if key >> 31 == 1 {
        key
    } else {
        !key & !(1 << 31)
    })
}

/// The volume of a [`word`], cc.
fn word_volume(w: u64) -> f32 {
    f32::from_bits(w as u32)
}

/// Byte `byte` (0 lowest) of a [`word`]'s key.
fn digit(w: u64, byte: usize) -> usize {
    (w >> (32 + 8 * byte)) as usize & 0xff
}

/// Where the words of each byte value start, from how many there are of each.
fn starts(count: &[usize; 256]) -> [usize; 256] {
    let mut starts = [0; 256];
    for b in 1..256 {
        starts[b] = starts[b - 1] + count[b - 1];
    }
    starts
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
    fn doses_that_are_not_finite_are_left_out_without_hanging() {
        let h = Dvh::new(
            &[1.0, f64::INFINITY, f64::NAN, 2.0, f64::NEG_INFINITY],
            &[1.0; 5],
        );
        assert_eq!(h.volume_cc(), 2.0);
        assert_eq!((h.min(), h.max()), (Some(1.0), Some(2.0)));
        assert!(Dvh::new(&[f64::NAN], &[1.0]).is_empty());
    }

    #[test]
    fn an_empty_dvh_answers_every_query() {
        let h = Dvh::new(&[], &[]);
        assert!(h.is_empty());
        assert_eq!((h.min(), h.max(), h.mean()), (None, None, None));
        assert_eq!(h.dose_at_volume_cc(0.0), None);
        assert_eq!(h.volume_at_dose_cc(1.0), 0.0);
        assert_eq!(h.cumulative(0.01), (vec![0.0], vec![0.0]));
        let zero = Dvh::new(&[1.0, 2.0], &[0.0, -1.0]);
        assert!(zero.is_empty());
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
    fn the_points_are_the_merged_doses_at_the_middle_of_their_volume() {
        let h = Dvh::new(&[3.0, 1.0, 3.0, 2.0], &[1.0, 2.0, 0.5, 1.0]);
        // 3 Gy: 1.5 cc from 0 to 1.5; 2 Gy: 1 cc from 1.5 to 2.5; 1 Gy: 2 cc from 2.5 to 4.5.
        let expected = [(3.0, 0.75), (2.0, 2.0), (1.0, 3.5)];
        let points: Vec<(f64, f64)> = h.doses.iter().copied().zip(h.volumes_cc.clone()).collect();
        assert_eq!(points, expected);
        assert_eq!(h.volume_cc(), 4.5);
        assert_eq!(h.mean(), Some(8.5 / 4.5));
        // Flat before the first point and after the last, linear between points.
        assert_eq!(h.dose_at_volume_cc(0.5), Some(3.0));
        assert_eq!(h.dose_at_volume_cc(1.375), Some(2.5));
        assert_eq!(h.dose_at_volume_cc(4.0), Some(1.0));
        assert_eq!(h.dose_at_volume_cc(4.6), None);
        assert_eq!(h.volume_at_dose_cc(2.5), 1.375);
        assert_eq!(h.volume_at_dose_cc(1.5), 2.75);
        assert_eq!(h.volume_at_dose_cc(1.0), 4.5);
        assert_eq!(h.volume_at_dose_cc(3.0), 0.75);
        assert_eq!(h.volume_at_dose_cc(3.1), 0.0);
    }

    /// A reproducible sequence of numbers in [0, 1) (a linear congruential generator).
    fn uniform_numbers(mut seed: u64) -> impl FnMut() -> f64 {
        move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn the_radix_sort_orders_as_a_plain_stable_sort_by_dose_highest_first() {
        let mut next = uniform_numbers(11);
        // Wide and narrow dose ranges (a narrow one leaves the key's high bytes equal, so
        // passes are skipped), ties, both zeros, negative doses, and samples left out.
        let mut samples = Vec::new();
        for i in 0..20_000 {
            let d = match i % 7 {
                0 => 2.5,
                1 => 30.0 + 1e-3 * next(),
                2 => -5.0 * next(),
                3 => {
                    if i % 2 == 0 {
                        0.0
                    } else {
                        -0.0
                    }
                }
                4 => f64::NAN,
                _ => 60.0 * next(),
            };
            let v = if i % 11 == 0 { 0.0 } else { next() };
            samples.push(Sample::new(d, v));
        }
        for narrow in [false, true] {
            let input: Vec<Sample> = samples
                .iter()
                .copied()
                .filter(|s| !narrow || s.dose() > 30.0 && s.dose() < 30.01)
                .collect();
            let mut plain: Vec<Sample> = input
                .iter()
                .copied()
                .filter(|s| s.volume_cc() > 0.0 && s.dose().is_finite())
                .collect();
            plain.sort_by(|a, b| b.dose_f32().total_cmp(&a.dose_f32()));
            let chunks = input.chunks(333).map(<[Sample]>::to_vec).collect();
            let (sorted, spare) = sorted_words(chunks, Buffers::default());
            assert_eq!(sorted.len(), plain.len());
            assert_eq!(spare.len(), plain.len());
            for (w, s) in sorted.iter().zip(&plain) {
                assert_eq!(word_dose(*w).to_bits(), s.dose_f32().to_bits());
                assert_eq!(word_volume(*w).to_bits(), s.volume_cc_f32().to_bits());
            }
        }
    }

    #[test]
    fn a_curve_built_in_another_curves_buffers_is_the_curve_built_in_fresh_memory() {
        let mut next = uniform_numbers(5);
        // Doses of 1 to 3 decimals: many ties. Sizes in an order that reuses buffers
        // longer than needed (stale words past the end) and grows them.
        let samples = |n: usize, next: &mut dyn FnMut() -> f64| -> Vec<Vec<Sample>> {
            let all: Vec<Sample> = (0..n)
                .map(|i| {
                    let d = (60.0 * next() * 10f64.powi(1 + i as i32 % 3)).round();
                    Sample::new(d / 10f64.powi(1 + i as i32 % 3), next())
                })
                .collect();
            all.chunks(97).map(<[Sample]>::to_vec).collect()
        };
        let mut buffers = Buffers::default();
        for n in [3_000, 500, 2_999, 8_000, 1, 0, 4_000] {
            let chunks = samples(n, &mut next);
            let fresh = Dvh::from_chunks(chunks.clone());
            let reused = Dvh::from_chunks_in(chunks, buffers);
            assert_eq!(reused.doses, fresh.doses);
            assert_eq!(reused.volumes_cc, fresh.volumes_cc);
            assert_eq!(reused.total_cc.to_bits(), fresh.total_cc.to_bits());
            assert_eq!(
                reused.mean().map(f64::to_bits),
                fresh.mean().map(f64::to_bits)
            );
            buffers = reused.into_buffers();
        }
    }

    #[test]
    fn the_curve_depends_on_the_order_of_the_samples_only_by_rounding() {
        let mut next = uniform_numbers(7);
        // A third of the samples on a plateau, so that merged volumes are sums of many.
        let samples: Vec<Sample> = (0..5_000)
            .map(|i| {
                let d = if i % 3 == 0 { 2.5 } else { 30.0 * next() };
                Sample::new(d, 0.001 + next())
            })
            .collect();
        let a = Dvh::from_chunks(samples.chunks(7).map(<[Sample]>::to_vec).collect());
        assert!(a.doses.len() < samples.len());
        // The same order in other chunks: the same bits.
        let b = Dvh::from_chunks(samples.chunks(1_000).map(<[Sample]>::to_vec).collect());
        assert_eq!(a.doses, b.doses);
        assert_eq!(a.volumes_cc, b.volumes_cc);
        assert_eq!(a.total_cc.to_bits(), b.total_cc.to_bits());
        assert_eq!(a.mean.to_bits(), b.mean.to_bits());
        // Another order: the same doses, the sums of equal doses rounded differently.
        let mut reversed = samples.clone();
        reversed.reverse();
        let c = Dvh::from_chunks(vec![reversed]);
        assert_eq!(a.doses.len(), c.doses.len());
        for (p, q) in (0..a.doses.len()).map(|i| (a.point(i), c.point(i))) {
            assert_eq!(p.dose, q.dose);
            assert_relative_eq!(p.volume_cc, q.volume_cc, max_relative = 1e-12);
        }
        assert_relative_eq!(a.mean, c.mean, max_relative = 1e-12);
    }
}
