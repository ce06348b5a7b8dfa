//! Samples -> a dose-volume histogram and the metrics read from it.
//!
//! The samples are ordered by dose, highest first, and samples of exactly equal dose are
//! merged (in a linear dose field many samples share one dose; the curve must not depend on
//! how such a group is split). The cumulative DVH is the curve through the points
//! `(C_i - w_i / 2, d_i)`, where `C_i` is the volume with dose `>= d_i` and `w_i` the volume
//! at dose `d_i` (each dose's volume is centred on it), extended flat to volume 0 and to the
//! full volume. Every metric is read off this one curve,
//! with linear interpolation, never from a histogram bin:
//!
//! - `D_x` = the curve's dose at volume `x`: the largest dose `D` with `V(>= D) >= x`;
//! - `V(>= D)` = the largest volume at which the curve is still `>= D`.

use std::sync::OnceLock;

use serde::Serialize;

use crate::raster::sample::{from_order_key, order_key, Sample};

/// A cumulative DVH over `(dose, volume)` samples.
///
/// The samples are not sorted whole, nor moved. One pass over them, in the order they were
/// gathered, sums them by dose into buckets [`BUCKET_GY`] wide (the default bin width, so a
/// cumulative DVH at those bins is read at bucket edges). Each bucket knows its volume and
/// its highest and lowest points (dose and merged volume), which is all a query needs when
/// its dose or volume falls between two buckets' points; a bucket's samples are picked out
/// and sorted (and its equal doses merged) only when a query falls inside it, once, on
/// first use. The curve is the one a full sort gives: the same points, the same
/// interpolation.
#[derive(Debug, Clone)]
pub struct Dvh {
    /// Width of a bucket, Gy; bucket `k` holds the doses in `[e(k), e(k + 1))`, with the
    /// edge `e(k) = (first + k) * width` (computed that way, so that `b * width` in the
    /// caller is the same number).
    width: f64,
    /// Global index of bucket 0's lower edge, in widths.
    first: i64,
    /// The samples as gathered (one chunk per contour plane). A bucket's samples are
    /// gathered from them when a query first falls inside it, never all moved at once:
    /// the buckets' dose ranges do not overlap, so the samples strictly between a bucket's
    /// lowest and highest dose are those of the bucket that need sorting.
    chunks: Vec<Vec<Sample>>,
    /// The lowest and highest dose key of the counted samples in each block of [`BLOCK`]
    /// samples of the chunks (a chunk's last block may be shorter), in order; `[u32::MAX,
    /// 0]` for a block without any. Neighbouring samples have close doses, so a query
    /// skips most blocks.
    ranges: Vec<[u32; 2]>,
    buckets: Vec<Bucket>,
    /// `above[k]`: volume of the buckets above `k` (higher doses), summed from the top, cc.
    above: Vec<f64>,
    /// For each bucket, the nearest non-empty bucket above it and below it.
    next_up: Vec<u32>,
    next_down: Vec<u32>,
    /// The samples of each bucket strictly between its lowest and highest dose, sorted
    /// (highest first), when a query first needs them; [`Points`] merges equal doses.
    sorted: Vec<OnceLock<Box<[Sample]>>>,
    /// Total sampled volume, cc.
    total_cc: f64,
    /// Volume-weighted mean dose.
    mean: f64,
}

/// Width of the dose buckets, Gy: the default bin width of cumulative DVHs.
pub const BUCKET_GY: f64 = 0.01;

/// No more buckets than this (a dose range over 655 Gy gets wider buckets)...
const MAX_BUCKETS: usize = u16::MAX as usize;
/// ...and none narrower than needed to hold this many samples each on average (small
/// ROIs: every query sorts a bucket, and the buckets are few).
const MIN_SAMPLES_PER_BUCKET: usize = 16;

/// Samples per entry of [`Dvh::ranges`].
const BLOCK: usize = 64;

/// True for a sample a DVH counts: its volume is above 0 and its dose is finite. Integer
/// tests on the bits, which the compiler vectorizes: a volume `v > 0.0` has bits in
/// `1..=0x7F80_0000` (up to +inf; not -0.0, a negative or a NaN), and a finite dose a key
/// strictly between those of -inf (`0x007F_FFFF`) and +inf (`0xFF80_0000`).
#[inline]
fn counted(s: &Sample) -> bool {
    let (key, volume) = (s.key(), s.0 as u32);
    volume.wrapping_sub(1) < 0x7F80_0000 && key.wrapping_sub(0x0080_0000) < 0xFF00_0000
}

/// No bucket: the end of the `next_up` / `next_down` chains.
const NONE: u32 = u32::MAX;

/// A bucket's volume and extreme points (keys are [`Sample`] dose keys).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    volume: f64,
    /// Number of samples.
    n: u32,
    /// Highest dose key and the volume of the samples at exactly that dose.
    hi: u32,
    hi_cc: f64,
    /// Lowest dose key and its volume.
    lo: u32,
    lo_cc: f64,
}

/// A bucket as [`Dvh::from_chunks`] sums it: what a sample updates, in one cache line (the
/// volume and weighted dose in two lanes each, summed by turns). A [`Bucket`] is made from
/// it once the pass is done (with room for a lane sum, a `Bucket` would not fit in 64
/// bytes).
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Acc {
    n: u32,
    hi: u32,
    lo: u32,
    hi_cc: f64,
    lo_cc: f64,
    sum: [f64; 4],
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            n: 0,
            hi: 0,
            lo: u32::MAX,
            hi_cc: 0.0,
            lo_cc: 0.0,
            sum: [0.0; 4],
        }
    }
}

/// A point of a sorted bucket: a distinct dose, its merged volume and the volume of the
/// bucket's points above it.
#[derive(Debug, Clone, Copy)]
struct Point {
    key: u32,
    cc: f64,
    above: f64,
}

/// The points of a bucket in order, each with its merged volume and the volume of those
/// before it (summed in this order, one point at a time). A query walks them: a bucket is
/// read by one or two queries, and walking its sorted samples costs less than building
/// and keeping 24 bytes a point (the body outline's lowest bucket has 90,000).
struct Points<'a> {
    /// The point being merged (complete when the next sample has another dose).
    next: Option<Point>,
    middle: std::slice::Iter<'a, Sample>,
    /// The lowest point, `(key, volume)`, when it is not the highest.
    lo: Option<(u32, f64)>,
}

impl Iterator for Points<'_> {
    type Item = Point;

    fn next(&mut self) -> Option<Point> {
        let mut current = self.next.take()?;
        for s in self.middle.by_ref() {
            if s.key() == current.key {
                current.cc += s.volume_cc();
            } else {
                self.next = Some(Point {
                    key: s.key(),
                    cc: s.volume_cc(),
                    above: current.above + current.cc,
                });
                return Some(current);
            }
        }
        if let Some((key, cc)) = self.lo.take() {
            self.next = Some(Point {
                key,
                cc,
                above: current.above + current.cc,
            });
        }
        Some(current)
    }
}

fn key_dose(key: u32) -> f64 {
    f64::from(from_order_key(key))
}

/// The index (in widths) of the bucket holding dose `x`: the `j` with
/// `j * width <= x < (j + 1) * width`, with the edges computed as the callers compute them.
/// `inverse` is `1 / width`: the estimate (a product and a truncation, no `floor` call) is
/// off by at most one and corrected against the edges themselves.
#[inline]
fn edge_index(x: f64, width: f64, inverse: f64) -> i64 {
    // Clamped so that j + 1 cannot overflow; doses that large all share one bucket.
    let mut j = (x * inverse).clamp(-4.0e15, 4.0e15) as i64;
    if (j as f64) * width > x {
        j -= 1;
    } else if ((j + 1) as f64) * width <= x {
        j += 1;
    }
    j
}

/// The smallest dose key whose dose (as f64) is at least `e`.
fn smallest_key_at_least(e: f64) -> u32 {
    let mut key = order_key(e as f32);
    while key > 0 && key_dose(key - 1) >= e {
        key -= 1;
    }
    while key < u32::MAX && key_dose(key) < e {
        key += 1;
    }
    key
}

/// Sorts samples by descending dose key, stably: a least-significant-digit radix sort
/// (11-bit digits; a digit all samples share is skipped) for a large bucket (the low-dose
/// bucket of a body outline holds a fifth of its samples), the standard stable sort for a
/// small one.
fn sort_desc_stable(v: &mut Vec<Sample>) {
    if v.len() < 256 {
        v.sort_by_key(|s| std::cmp::Reverse(s.key()));
        return;
    }
    let digit = |s: &Sample, shift: u32| ((!s.key() >> shift) & 0x7FF) as usize;
    let mut spare = vec![Sample(0); v.len()];
    for shift in [0u32, 11, 22] {
        let mut counts = [0usize; 2048];
        for s in v.iter() {
            counts[digit(s, shift)] += 1;
        }
        if counts.contains(&v.len()) {
            continue;
        }
        let mut total = 0;
        for c in counts.iter_mut() {
            (*c, total) = (total, total + *c);
        }
        for s in v.iter() {
            let d = digit(s, shift);
            spare[counts[d]] = *s;
            counts[d] += 1;
        }
        std::mem::swap(v, &mut spare);
    }
}

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

    /// Builds the DVH from samples gathered in chunks (e.g. one per contour plane), which it
    /// keeps as they are (no copy, no reordering). Samples without volume are ignored, and
    /// so are those whose dose is not finite (none come from [`crate::raster::sample_roi`]:
    /// a dose grid with such values is refused when it is read). Every sum runs in the
    /// order of the chunks (equal doses too), so the result depends only on that order,
    /// never on the thread count.
    pub fn from_chunks(chunks: Vec<Vec<Sample>>) -> Self {
        let mut ranges = Vec::with_capacity(chunks.iter().map(|c| c.len().div_ceil(BLOCK)).sum());
        let mut n = 0usize;
        for chunk in &chunks {
            for block in chunk.chunks(BLOCK) {
                let (mut lo, mut hi) = (u32::MAX, 0u32);
                for s in block {
                    let ok = counted(s);
                    n += usize::from(ok);
                    lo = lo.min(if ok { s.key() } else { u32::MAX });
                    hi = hi.max(if ok { s.key() } else { 0 });
                }
                ranges.push([lo, hi]);
            }
        }
        let lo = ranges.iter().map(|r| r[0]).min().unwrap_or(u32::MAX);
        let hi = ranges.iter().map(|r| r[1]).max().unwrap_or(0);
        if n == 0 {
            return Dvh {
                width: BUCKET_GY,
                first: 0,
                chunks: Vec::new(),
                ranges: Vec::new(),
                buckets: Vec::new(),
                above: Vec::new(),
                next_up: Vec::new(),
                next_down: Vec::new(),
                sorted: Vec::new(),
                total_cc: 0.0,
                mean: f64::NAN,
            };
        }
        // The narrowest width of BUCKET_GY * 2^p whose buckets from the lowest dose's to
        // the highest's are within bounds.
        let most = (n / MIN_SAMPLES_PER_BUCKET).clamp(1, MAX_BUCKETS) as i64;
        let (lo_gy, hi_gy) = (key_dose(lo), key_dose(hi));
        let span = |width: f64| {
            let inverse = 1.0 / width;
            let first = edge_index(lo_gy, width, inverse);
            (first, edge_index(hi_gy, width, inverse) - first + 1)
        };
        let mut width = BUCKET_GY;
        while span(width).1 > most {
            width *= 2.0;
        }
        let inverse = 1.0 / width;
        let (first, count) = span(width);
        let count = count as usize;
        // The bucket of a sample from its key alone: the edges as the smallest key at or
        // above each, and an f32 estimate of the index corrected against them.
        let edges: Vec<u32> = (0..=count as i64)
            .map(|k| smallest_key_at_least((first + k) as f64 * width))
            .collect();
        let (inverse32, first32) = (inverse as f32, first as f32);
        let last = count - 1;
        let bucket_of = |key: u32| {
            // Clamped as a float (NaN becomes 0), so the conversion needs no saturation.
            let guess = (from_order_key(key) * inverse32 - first32)
                .max(0.0)
                .min(last as f32);
            // SAFETY: `guess` is finite and within [0, last], which fits in a u32.
            let mut k = unsafe { guess.to_int_unchecked::<u32>() } as usize;
            while k > 0 && key < edges[k] {
                k -= 1;
            }
            while k < last && key >= edges[k + 1] {
                k += 1;
            }
            k
        };

        // Each bucket's volume, extremes (with the volume at exactly the extreme dose) and
        // weighted dose, along the samples in gathered order. The volume and the weighted
        // dose of a bucket are summed in two lanes by turns (one running sum would make
        // each addition wait for the one before).
        let mut acc = vec![Acc::default(); count];
        for s in chunks.iter().flatten().filter(|s| counted(s)) {
            let (key, w) = (s.key(), s.volume_cc());
            let b = &mut acc[bucket_of(key)];
            let lane = (b.n & 1) as usize;
            b.n += 1;
            b.sum[lane] += w;
            b.sum[2 + lane] += key_dose(key) * w;
            if key > b.hi || b.hi_cc == 0.0 {
                (b.hi, b.hi_cc) = (key, w);
            } else if key == b.hi {
                b.hi_cc += w;
            }
            if key < b.lo {
                (b.lo, b.lo_cc) = (key, w);
            } else if key == b.lo {
                b.lo_cc += w;
            }
        }
        let mut weighted = 0.0;
        let buckets: Vec<Bucket> = acc
            .iter()
            .map(|a| {
                weighted += a.sum[2] + a.sum[3];
                Bucket {
                    volume: a.sum[0] + a.sum[1],
                    n: a.n,
                    hi: a.hi,
                    hi_cc: a.hi_cc,
                    lo: a.lo,
                    lo_cc: a.lo_cc,
                }
            })
            .collect();
        drop(acc);
        let mut above = vec![0.0; count];
        let mut sum = 0.0;
        for k in (0..count).rev() {
            above[k] = sum;
            sum += buckets[k].volume;
        }
        let mut next_up = vec![NONE; count];
        let mut next_down = vec![NONE; count];
        let mut last = NONE;
        for k in (0..count).rev() {
            next_up[k] = last;
            if buckets[k].volume > 0.0 {
                last = k as u32;
            }
        }
        last = NONE;
        for k in 0..count {
            next_down[k] = last;
            if buckets[k].volume > 0.0 {
                last = k as u32;
            }
        }
        Dvh {
            width,
            first,
            chunks,
            ranges,
            buckets,
            above,
            next_up,
            next_down,
            sorted: (0..count).map(|_| OnceLock::new()).collect(),
            total_cc: sum,
            mean: weighted / sum,
        }
    }

    /// The points of bucket `k`, highest dose first: its highest dose, the distinct doses
    /// of the samples strictly between (sorted on first use, then kept), its lowest.
    fn points(&self, k: usize) -> Points<'_> {
        let b = &self.buckets[k];
        let middle = self.sorted[k].get_or_init(|| {
            // The samples at the bucket's highest and lowest dose need no sorting: their
            // merged volumes are the bucket's `hi_cc` and `lo_cc`; only those in between are
            // gathered (a bucket of a body outline can hold nearly all of its million
            // samples at 0 Gy and a few above).
            let mut middle = self.middle_of(b);
            // Stable: equal doses keep the gathered order, so their volumes add up in the
            // order `from_chunks` adds them.
            sort_desc_stable(&mut middle);
            middle.into_boxed_slice()
        });
        Points {
            next: Some(Point {
                key: b.hi,
                cc: b.hi_cc,
                above: 0.0,
            }),
            middle: middle.iter(),
            lo: (b.lo != b.hi).then_some((b.lo, b.lo_cc)),
        }
    }

    /// The samples of bucket `b` strictly between its lowest and highest dose, in gathered
    /// order: the counted samples with a dose in that open range (no other bucket's are),
    /// from the blocks whose range meets it.
    fn middle_of(&self, b: &Bucket) -> Vec<Sample> {
        let inside = |s: &Sample| s.key() > b.lo && s.key() < b.hi && counted(s);
        let mut middle = Vec::with_capacity(b.n as usize);
        let blocks = self.chunks.iter().flat_map(|c| c.chunks(BLOCK));
        for (block, &[lo, hi]) in blocks.zip(&self.ranges) {
            if hi > b.lo && lo < b.hi {
                middle.extend(block.iter().filter(|s| inside(s)));
            }
        }
        middle
    }

    /// The bucket that holds dose `d`, clamped to the buckets there are.
    fn bucket_at(&self, d: f64) -> usize {
        let j = edge_index(d, self.width, 1.0 / self.width) - self.first;
        j.clamp(0, self.buckets.len() as i64 - 1) as usize
    }

    /// The nearest non-empty bucket above `k`.
    fn up(&self, k: usize) -> Option<usize> {
        let j = self.next_up[k];
        (j != NONE).then_some(j as usize)
    }

    /// The highest point of the nearest non-empty bucket below `k`: (dose, its curve
    /// abscissa), or `None`.
    fn top_below(&self, k: usize) -> Option<(f64, f64)> {
        let j = self.next_down[k];
        (j != NONE).then(|| {
            let b = &self.buckets[j as usize];
            (key_dose(b.hi), self.above[j as usize] + 0.5 * b.hi_cc)
        })
    }

    /// The lowest point of bucket `k` (non-empty): (dose, curve abscissa).
    fn bottom_of(&self, k: usize) -> (f64, f64) {
        let b = &self.buckets[k];
        (key_dose(b.lo), self.above[k] + b.volume - 0.5 * b.lo_cc)
    }

    /// The highest point of bucket `k` (non-empty): (dose, curve abscissa).
    fn top_of(&self, k: usize) -> (f64, f64) {
        let b = &self.buckets[k];
        (key_dose(b.hi), self.above[k] + 0.5 * b.hi_cc)
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Volume of the samples, cc.
    pub fn volume_cc(&self) -> f64 {
        self.total_cc
    }

    pub fn max(&self) -> Option<f64> {
        let top = self.buckets.last()?;
        Some(key_dose(top.hi))
    }

    pub fn min(&self) -> Option<f64> {
        let bottom = self.buckets.first()?;
        Some(key_dose(bottom.lo))
    }

    pub fn mean(&self) -> Option<f64> {
        (!self.is_empty()).then_some(self.mean)
    }

    /// The curve's first abscissa (the highest point's) and last (the lowest point's).
    fn ends(&self) -> (f64, f64) {
        let top = self.buckets.len() - 1;
        (self.top_of(top).1, self.bottom_of(0).1)
    }

    /// `D_x` for `x` in cc: the dose received by at least `x` cc.
    pub fn dose_at_volume_cc(&self, x: f64) -> Option<f64> {
        if self.is_empty() || x.is_nan() || x < 0.0 {
            return None;
        }
        if x > self.total_cc {
            // More volume than the structure has: undefined.
            return None;
        }
        let (first_mid, last_mid) = self.ends();
        if x <= first_mid {
            return self.max();
        }
        if x >= last_mid {
            return self.min();
        }
        // The bucket whose volume interval [above, above + volume) holds x.
        let k = self
            .above
            .partition_point(|&a| a > x)
            .min(self.buckets.len() - 1);
        let (k_top, top_mid) = self.top_of(k);
        let (k_bottom, bottom_mid) = self.bottom_of(k);
        let ((d0, m0), (d1, m1)) = if x < top_mid {
            // Between the lowest point of the bucket above and this one's highest (there is
            // one above: x is past the first abscissa).
            let Some(up) = self.up(k) else {
                return self.max();
            };
            (self.bottom_of(up), (k_top, top_mid))
        } else if x >= bottom_mid {
            // Between this bucket's lowest point and the highest of the bucket below (there
            // is one: x is before the last abscissa).
            let Some(below) = self.top_below(k) else {
                return self.min();
            };
            ((k_bottom, bottom_mid), below)
        } else {
            // Inside the bucket: the last point whose abscissa is <= x (or the first), and
            // the next.
            let base = self.above[k];
            let mid = |p: &Point| base + p.above + 0.5 * p.cc;
            let mut points = self.points(k);
            let mut a = points.next().expect("a bucket has a highest point");
            let Some(mut b) = points.next() else {
                // One dose in the bucket (its volume summed in another order than its
                // point's made the bucket look wider than the point): that dose.
                return Some(key_dose(a.key));
            };
            for c in points {
                if mid(&b) > x {
                    break;
                }
                (a, b) = (b, c);
            }
            ((key_dose(a.key), mid(&a)), (key_dose(b.key), mid(&b)))
        };
        let t = if m1 > m0 {
            ((x - m0) / (m1 - m0)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        Some(d0 + t * (d1 - d0))
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
        // The lowest point at or above d, (d0, m0), and the next one below, (d1, m1).
        let k = self.bucket_at(d);
        let b = &self.buckets[k];
        let empty = b.volume <= 0.0;
        // Doses above the minimum have a point below them, and doses up to the maximum
        // one at or above them: the `else` answers are the curve's ends.
        let ((d0, m0), (d1, m1)) = if !empty && key_dose(b.lo) >= d {
            let Some(below) = self.top_below(k) else {
                return self.total_cc;
            };
            (self.bottom_of(k), below)
        } else if empty || key_dose(b.hi) < d {
            let below = if empty {
                self.top_below(k)
            } else {
                Some(self.top_of(k))
            };
            let (Some(up), Some(below)) = (self.up(k), below) else {
                return if self.up(k).is_none() {
                    0.0
                } else {
                    self.total_cc
                };
            };
            (self.bottom_of(up), below)
        } else {
            // The last point at or above d (the highest is: d is inside), and the next (the
            // lowest is below d).
            let base = self.above[k];
            let mid = |p: &Point| base + p.above + 0.5 * p.cc;
            let mut points = self.points(k);
            let mut a = points.next().expect("a bucket has a highest point");
            let mut b = a;
            for c in points {
                b = c;
                if key_dose(c.key) < d {
                    break;
                }
                a = c;
            }
            ((key_dose(a.key), mid(&a)), (key_dose(b.key), mid(&b)))
        };
        let t = if d0 > d1 { (d0 - d) / (d0 - d1) } else { 0.0 };
        m0 + t * (m1 - m0)
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

    /// The curve by definition: all samples sorted (stable), equal doses merged, abscissae
    /// from one running sum; D_x and V(>= D) interpolated along it as the module says.
    struct Reference {
        points: Vec<(f64, f64, f64)>, // (dose, merged volume, abscissa)
        total: f64,
    }

    impl Reference {
        fn new(samples: &[Sample]) -> Self {
            let mut v: Vec<Sample> = samples
                .iter()
                .copied()
                .filter(|s| s.volume_cc() > 0.0)
                .collect();
            v.sort_by_key(|s| std::cmp::Reverse(s.key()));
            let mut merged: Vec<(u32, f64)> = Vec::new();
            for s in v {
                match merged.last_mut() {
                    Some(m) if m.0 == s.key() => m.1 += s.volume_cc(),
                    _ => merged.push((s.key(), s.volume_cc())),
                }
            }
            let mut sum = 0.0;
            let points = merged
                .into_iter()
                .map(|(k, w)| {
                    let p = (f64::from(from_order_key(k)), w, sum + 0.5 * w);
                    sum += w;
                    p
                })
                .collect();
            Reference { points, total: sum }
        }

        fn dose_at(&self, x: f64) -> Option<f64> {
            let p = &self.points;
            if p.is_empty() || x < 0.0 || x > self.total {
                return None;
            }
            if x <= p[0].2 {
                return Some(p[0].0);
            }
            if x >= p[p.len() - 1].2 {
                return Some(p[p.len() - 1].0);
            }
            let i = p.partition_point(|q| q.2 <= x) - 1;
            let t = (x - p[i].2) / (p[i + 1].2 - p[i].2);
            Some(p[i].0 + t * (p[i + 1].0 - p[i].0))
        }

        fn volume_at(&self, d: f64) -> f64 {
            let p = &self.points;
            if p.is_empty() || d > p[0].0 {
                return 0.0;
            }
            if d <= p[p.len() - 1].0 {
                return self.total;
            }
            let i = p.partition_point(|q| q.0 >= d) - 1;
            let t = (p[i].0 - d) / (p[i].0 - p[i + 1].0);
            p[i].2 + t * (p[i + 1].2 - p[i].2)
        }
    }

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn the_bucketed_curve_is_the_fully_sorted_curve() {
        // Sizes below and above the narrowest buckets, doses on bucket edges, plateaus
        // (repeats), zero and negative volumes (ignored), gaps of empty buckets, doses
        // over a wide range (wider buckets), in uneven chunks.
        let mut seed = 11u64;
        for (n, range, chunk) in [
            (5usize, 3.0, 2usize),
            (300, 0.05, 7),
            (20_000, 30.0, 977),
            (60_000, 14.7, 4_096),
            (40_000, 2_000.0, 10_000),
        ] {
            let samples: Vec<Sample> = (0..n)
                .map(|i| {
                    let u = lcg(&mut seed);
                    let d = match i % 10 {
                        0 => 2.5,                               // a plateau
                        1 => (u * range / 0.01).floor() * 0.01, // on a bucket edge
                        2 => range * 0.9 + 0.2 * u,             // above a gap
                        _ => range * 0.4 * u,
                    };
                    let w = match i % 97 {
                        0 => 0.0,
                        1 => -0.5,
                        _ => 0.001 + lcg(&mut seed),
                    };
                    Sample::new(d, w)
                })
                .collect();
            let chunks: Vec<Vec<Sample>> = samples.chunks(chunk).map(<[Sample]>::to_vec).collect();
            let h = Dvh::from_chunks(chunks);
            let r = Reference::new(&samples);
            let close = |a: f64, b: f64, what: &str| {
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs())),
                    "n {n}: {what}: {a} vs {b}"
                );
            };
            close(h.volume_cc(), r.total, "volume");
            assert_eq!(h.max(), Some(r.points[0].0));
            assert_eq!(h.min(), Some(r.points[r.points.len() - 1].0));
            let mut volumes: Vec<f64> = r.points.iter().flat_map(|p| [p.2, p.2 + 1e-7]).collect();
            volumes.extend((0..=200).map(|i| r.total * f64::from(i) / 200.0));
            for x in volumes {
                match (h.dose_at_volume_cc(x), r.dose_at(x)) {
                    (Some(a), Some(b)) => close(a, b, &format!("D at {x} cc")),
                    (a, b) => assert_eq!(a, b, "n {n}: D at {x} cc"),
                }
            }
            let mut doses: Vec<f64> = r.points.iter().flat_map(|p| [p.0, p.0 - 1e-6]).collect();
            doses.extend((0..=(r.points[0].0 / 0.01) as usize + 1).map(|b| b as f64 * 0.01));
            for d in doses {
                close(
                    h.volume_at_dose_cc(d),
                    r.volume_at(d),
                    &format!("V at {d} Gy"),
                );
            }
            let (_, cumulative) = h.cumulative(0.01);
            let mut last = f64::INFINITY;
            for (b, v) in cumulative.iter().enumerate() {
                let expected = r.volume_at(b as f64 * 0.01).min(last);
                last = expected;
                close(*v, expected, &format!("cumulative bin {b}"));
            }
        }
    }

    #[test]
    fn a_bucket_of_mostly_one_dose_is_the_fully_sorted_curve() {
        // Most samples at exactly 0 Gy and a few just above in the same bucket (a body
        // outline far from the beams), a plateau at 2.5 Gy with a few doses around it,
        // and the queries that land inside those buckets.
        let mut seed = 21u64;
        let samples: Vec<Sample> = (0..30_000)
            .map(|i| {
                let d = match i % 50 {
                    0 => 0.01 * lcg(&mut seed),
                    1 => 2.5 + 0.009 * lcg(&mut seed),
                    2..=9 => 2.5,
                    _ => 0.0,
                };
                Sample::new(d, 0.001 + lcg(&mut seed))
            })
            .collect();
        let chunks: Vec<Vec<Sample>> = samples.chunks(1_000).map(<[Sample]>::to_vec).collect();
        let h = Dvh::from_chunks(chunks);
        let r = Reference::new(&samples);
        for i in 0..=1_000 {
            let x = r.total * f64::from(i) / 1_000.0;
            let (a, b) = (h.dose_at_volume_cc(x).unwrap(), r.dose_at(x).unwrap());
            assert!(
                (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                "D at {x}: {a} vs {b}"
            );
        }
        for d in [0.0, 1e-6, 0.003, 0.0099, 2.5, 2.5001, 2.505, 2.509] {
            let (a, b) = (h.volume_at_dose_cc(d), r.volume_at(d));
            assert!(
                (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                "V at {d}: {a} vs {b}"
            );
        }
        assert!(h.sorted.iter().any(|s| s.get().is_some()));
        // The plateaus (0 and 2.5 Gy, 90 % of the samples) are their buckets' extremes and
        // are never sorted: each is one point.
        let sorted: usize = h
            .sorted
            .iter()
            .filter_map(|s| s.get())
            .map(|p| p.len())
            .sum();
        assert!(sorted < samples.len() / 10, "{sorted} samples sorted");
    }

    #[test]
    fn the_bit_test_of_a_counted_sample_is_the_float_test() {
        let specials = [
            0.0f32,
            -0.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::from_bits(1),
            -f32::from_bits(1),
            1.0,
            -1.0,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7F80_0001),
            f32::from_bits(0xFFFF_FFFF),
        ];
        for &d in &specials {
            for &v in &specials {
                let s = Sample((u64::from(order_key(d)) << 32) | u64::from(v.to_bits()));
                assert_eq!(
                    counted(&s),
                    v > 0.0 && d.is_finite(),
                    "dose {d:?} ({:#x}), volume {v:?} ({:#x})",
                    d.to_bits(),
                    v.to_bits()
                );
            }
        }
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
    fn the_bucket_count_stays_within_its_bound() {
        // 16 x 65,535 samples from 0.009 to 655.351 Gy: 655.342 Gy is 65,534.2 bucket
        // widths, but the lowest and highest doses lie 65,536 buckets apart. A bucket count
        // bounded by the width alone went past the bound.
        let n = MIN_SAMPLES_PER_BUCKET * MAX_BUCKETS;
        let mut d = vec![300.0; n];
        d[0] = 0.009;
        d[n - 1] = 655.351;
        let h = Dvh::new(&d, &vec![0.001; n]);
        assert!(h.buckets.len() <= MAX_BUCKETS);
        assert_eq!(h.max(), Some(f64::from(655.351f32)));
        assert_eq!(h.min(), Some(f64::from(0.009f32)));
        assert!((h.volume_cc() - f64::from(0.001f32) * n as f64).abs() < 1e-6);
    }

    #[test]
    fn a_cumulative_dvh_at_the_bucket_width_sorts_no_bucket() {
        let mut seed = 5u64;
        let d: Vec<f64> = (0..50_000).map(|_| 20.0 * lcg(&mut seed)).collect();
        let w: Vec<f64> = (0..50_000).map(|_| 0.01 + lcg(&mut seed)).collect();
        let h = Dvh::new(&d, &w);
        assert_eq!(h.width, BUCKET_GY);
        let _ = h.cumulative(BUCKET_GY);
        assert!(h.sorted.iter().all(|s| s.get().is_none()));
        // A D_x inside a bucket sorts that bucket alone.
        let _ = h.dose_at_volume_percent(37.3);
        assert_eq!(h.sorted.iter().filter(|s| s.get().is_some()).count(), 1);
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
    fn order_keys_sort_like_the_floats() {
        let xs = [-3.5f32, -0.0, 0.0, 1e-30, 2.5, 2.5000002, 40.0, -1e-20];
        let mut sorted = xs;
        sorted.sort_by(f32::total_cmp);
        let mut keys: Vec<u32> = xs.iter().map(|x| order_key(*x)).collect();
        keys.sort();
        let back: Vec<f32> = keys.iter().map(|k| from_order_key(*k)).collect();
        assert_eq!(back, sorted);
    }

    #[test]
    fn the_radix_sort_of_a_bucket_is_the_stable_sort() {
        let mut seed = 3u64;
        for (n, spread) in [
            (100usize, 1e3),
            (5_000, 0.01),
            (40_000, 30.0),
            (40_000, 1e-6),
        ] {
            // Weights number the samples, so stability shows.
            let v: Vec<Sample> = (0..n)
                .map(|i| {
                    let d = (spread * lcg(&mut seed) * 50.0).round() / 50.0;
                    Sample((u64::from(Sample::new(d, 1.0).key()) << 32) | i as u64)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|s| std::cmp::Reverse(s.key()));
            let mut got = v;
            sort_desc_stable(&mut got);
            assert_eq!(got, expected, "n {n}, spread {spread}");
        }
    }

    #[test]
    fn bucket_edges_are_the_callers_multiples() {
        for b in [0usize, 1, 3, 7, 30, 100, 1_468, 99_999] {
            let e = b as f64 * BUCKET_GY;
            let inv = 1.0 / BUCKET_GY;
            assert_eq!(edge_index(e, BUCKET_GY, inv), b as i64, "edge {e}");
            if b > 0 {
                let below = f64::from_bits(e.to_bits() - 1);
                assert_eq!(edge_index(below, BUCKET_GY, inv), b as i64 - 1, "below {e}");
            }
        }
        assert_eq!(edge_index(-0.005, BUCKET_GY, 1.0 / BUCKET_GY), -1);
        assert_eq!(edge_index(-0.01, BUCKET_GY, 1.0 / BUCKET_GY), -1);
        assert_eq!(edge_index(-0.0100001, BUCKET_GY, 1.0 / BUCKET_GY), -2);
        // The key of an edge: its dose is at least the edge, the key below it is not.
        for e in [0.0, 0.01, 0.07, 2.53, 14.68, 1e-9] {
            let k = smallest_key_at_least(e);
            assert!(key_dose(k) >= e && key_dose(k - 1) < e, "edge {e}");
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
