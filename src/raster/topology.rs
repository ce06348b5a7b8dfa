//! An ROI's contour planes -> the slabs of its solid, following its pieces between planes.
//!
//! On each plane the contours fall into **blobs**: contours linked by nesting (an outline
//! with its holes and islands) or by crossing. Blobs on neighbouring planes that overlap in
//! x-y belong to one **piece**. A blob stands for the slab between its boundaries with the
//! previous and the next plane on each side where its piece continues: halfway
//! ([`Between::Midpoint`]), or where a smooth profile of the piece's cross-section area puts
//! them ([`Between::Profile`], the default: halfway between equal areas, beyond halfway
//! towards the smaller one, so that the volume between the planes is that of the profile;
//! only between blobs linked one to one, halfway where a piece branches). On a side where it
//! does not
//! (no overlapping blob on the next plane, or no next plane), the piece ends there and the
//! end cap ([`EndCap`]) applies: `Half` extends it by half the gap on its other side (half
//! the structure's usual plane spacing for a piece on one plane), `None` not at all.
//!
//! A gap between planes wider than [`GAP_FACTOR`] times the structure's usual (median) plane
//! spacing is never bridged: the pieces on both sides end there. When blobs on both sides of
//! such a gap overlap in x-y, one piece lacks a plane, which is a defect of the ROI (its
//! volume between them is unknown).
//!
//! In plane, nested contours are filled by the even-odd rule (weights +1, -1 by nesting
//! depth). Contours that cross each other are filled as their union, with a warning
//! ([`crate::geometry::union`]), never XORed. A contour that crosses itself is a defect.

use rayon::prelude::*;

use crate::dicom::{Contour, Plane, Roi};
use crate::geometry::polygon::{self, Contact, Polygon};
use crate::geometry::union::positive_winding_trapezoids;

/// How the first and last contour planes end the solid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndCap {
    /// Extend every end of every piece by half its neighbour gap (the default; like most
    /// planning systems).
    Half,
    /// Stop every piece at its end planes.
    None,
}

/// How the gap between two neighbouring contour planes of one piece is shared between their
/// slabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Between {
    /// Each plane's slab reaches halfway to the other plane.
    Midpoint,
    /// The boundary is placed so that the volume between the planes is that of a smooth
    /// profile of the piece's cross-section area along z ([`profile_split_mm`]); halfway
    /// when both planes' areas are equal. The default.
    Profile,
}

/// How far from halfway a boundary between two planes may move, as a fraction of their gap.
pub const MAX_SHIFT: f64 = 0.25;

/// An end plane whose area is below this fraction of its neighbour's is where the piece
/// closes (a tip, like the pole of a sphere): the gap before it follows a power law.
pub const TIP_FRACTION: f64 = 0.05;

/// Where the boundary between the slabs of planes `a` and `b` (z mm, cross-section area
/// mm^2; `a` below `b`) of one piece lies, as its distance above `a`, mm. `before` and
/// `after` are the piece's planes below `a` and above `b` when it continues there as one
/// piece; `b_ends` (`a_ends`) says that the piece ends at `b` (at `a`).
///
/// The volume between the planes is the integral of the cross-section area along z:
/// - the area is interpolated through the available planes (cubic through four, quadratic
///   through three, linear through two) and integrated exactly (two-point Gauss-Legendre,
///   exact for cubics): exact for a sphere or a cone, whose areas are quadratic in z;
/// - into a tip (an end plane with less than [`TIP_FRACTION`] of its neighbour's area), the
///   area falls as a power of the distance to the tip, `A(d) = c d^p`, with `p` from the
///   two planes before it (clamped to 0.25..4): the volume is `A g / (p + 1)`;
/// - the volume is kept between the two planes' slabs' extremes (`g` times the smaller and
///   the larger area).
///
/// The boundary then divides the gap `g` so that `e A_a + (g - e) A_b` is that volume, but
/// moves at most [`MAX_SHIFT`] of the gap from halfway: between nearly equal areas a small
/// difference of volume would move it far, and each plane's contour should still stand for
/// the z range nearest it.
pub fn profile_split_mm(
    before: Option<(f64, f64)>,
    a: (f64, f64),
    b: (f64, f64),
    after: Option<(f64, f64)>,
    a_ends: bool,
    b_ends: bool,
) -> f64 {
    let g = b.0 - a.0;
    let power_law = |near: (f64, f64), far: (f64, f64), tip_z: f64| {
        let p = ((far.1 / near.1).ln() / ((far.0 - tip_z) / (near.0 - tip_z)).abs().ln())
            .clamp(0.25, 4.0);
        near.1 * g / (p + 1.0)
    };
    let volume = match (before, after) {
        (Some(pre), _) if b_ends && b.1 < TIP_FRACTION * a.1 && pre.1 > a.1 => {
            power_law(a, pre, b.0)
        }
        (_, Some(post)) if a_ends && a.1 < TIP_FRACTION * b.1 && post.1 > b.1 => {
            power_law(b, post, a.0)
        }
        _ => {
            let points: Vec<(f64, f64)> = [before, Some(a), Some(b), after]
                .into_iter()
                .flatten()
                .collect();
            let (mid, h) = (0.5 * (a.0 + b.0), g / (2.0 * 3f64.sqrt()));
            0.5 * g * (lagrange(&points, mid - h) + lagrange(&points, mid + h))
        }
    };
    if !(volume.is_finite() && a.1.is_finite() && b.1.is_finite()) {
        // Not a number (a defective contour's area): halfway, never a panic.
        return 0.5 * g;
    }
    let volume = volume.clamp(g * a.1.min(b.1), g * a.1.max(b.1));
    if (a.1 - b.1).abs() <= 1e-12 * a.1.max(b.1) {
        0.5 * g
    } else {
        ((volume - b.1 * g) / (a.1 - b.1)).clamp((0.5 - MAX_SHIFT) * g, (0.5 + MAX_SHIFT) * g)
    }
}

/// The polynomial through `points` (distinct z) at `z`.
fn lagrange(points: &[(f64, f64)], z: f64) -> f64 {
    points
        .iter()
        .enumerate()
        .map(|(i, &(zi, ai))| {
            let basis: f64 = points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &(zj, _))| (z - zj) / (zi - zj))
                .product();
            ai * basis
        })
        .sum()
}

/// Gaps wider than this many times the usual plane spacing are left empty.
pub const GAP_FACTOR: f64 = 1.5;

/// Tolerance on plane gaps, mm (coordinates are exported with a few decimals).
const GAP_TOLERANCE_MM: f64 = 1e-3;

/// Some of one plane's blobs and the slab they stand for.
#[derive(Debug, Clone)]
pub struct Slab {
    pub z_mm: f64,
    pub z_lo_mm: f64,
    pub z_hi_mm: f64,
    /// Polygons (x, y in mm).
    pub polygons: Vec<Polygon>,
    /// Weight of each polygon's inside: +1 (outline, island, trapezoid of a union) or -1
    /// (hole).
    pub signs: Vec<f64>,
}

impl Slab {
    /// Exact area of the slab's region, mm^2.
    pub fn area_mm2(&self) -> f64 {
        self.polygons
            .iter()
            .zip(&self.signs)
            .map(|(p, s)| s * polygon::signed_area(p).abs())
            .sum::<f64>()
            .max(0.0)
    }
}

/// The solid of an ROI: its slabs in plane order and what was found building it.
#[derive(Debug, Clone, Default)]
pub struct Solid {
    pub slabs: Vec<Slab>,
    /// Number of contour planes.
    pub planes: usize,
    pub warnings: Vec<String>,
    /// Problems that leave part of the solid unknown (a plane missing inside a piece).
    pub defects: Vec<String>,
    /// The volume the end caps add: the part of the slabs beyond the planes where a piece
    /// ends, mm^3 (0 with [`EndCap::None`]).
    pub end_cap_mm3: f64,
}

/// One plane's contours sorted into blobs.
struct PlaneBlobs {
    z_mm: f64,
    polygons: Vec<Polygon>,
    signs: Vec<f64>,
    blobs: Vec<Blob>,
    warning: Option<String>,
    defect: Option<String>,
}

struct Blob {
    /// Indices into the plane's polygons, increasing.
    members: Vec<usize>,
    /// The members no other member contains (the blob's footprint).
    outer: Vec<usize>,
    crossing: bool,
}

/// The slabs of an ROI. `fallback_thickness_mm` is the thickness of a single-plane ROI.
pub fn solid(roi: &Roi, end_cap: EndCap, between: Between, fallback_thickness_mm: f64) -> Solid {
    let planes = roi.planes();
    let n = planes.len();
    let mut out = Solid {
        planes: n,
        ..Default::default()
    };
    if n == 0 {
        return out;
    }
    let stack = Stack::new(roi, &planes, fallback_thickness_mm);
    (out.defects, out.warnings) = stack.gap_problems();
    if n == 1 {
        out.warnings.push(match end_cap {
            EndCap::Half => format!(
                "single contour plane: given a thickness of {fallback_thickness_mm:.2} mm (the dose slice spacing)"
            ),
            EndCap::None => "single contour plane without end caps has no volume".to_string(),
        });
    }
    let split = splits(&stack, between);
    for (k, plane) in stack.planes.iter().enumerate() {
        out.defects.extend(plane.defect.clone());
        out.warnings.extend(plane.warning.clone());
        let extents = blob_extents(&stack, &split, k, end_cap);
        out.slabs
            .extend(plane_slabs(plane, &extents, &mut out.end_cap_mm3));
    }
    out
}

/// An ROI's planes sorted into blobs, the gaps between the planes and which blobs overlap
/// across each gap.
struct Stack {
    planes: Vec<PlaneBlobs>,
    gaps: Vec<f64>,
    /// The structure's usual (median) plane spacing, mm.
    usual_mm: f64,
    /// Whether each gap is bridged: not wider than [`GAP_FACTOR`] times the usual spacing.
    bridged: Vec<bool>,
    /// `links[k][b]`: the blobs of plane `k + 1` that blob `b` of plane `k` overlaps.
    links: Vec<Vec<Vec<usize>>>,
}

impl Stack {
    /// An ROI's contour planes (at least one) -> their blobs, gaps and links.
    fn new(roi: &Roi, planes: &[Plane], fallback_thickness_mm: f64) -> Stack {
        let planes: Vec<PlaneBlobs> = planes
            .par_iter()
            .map(|p| {
                blobs(
                    p.z_mm,
                    p.contours.iter().map(|&c| xy(&roi.contours[c])).collect(),
                )
            })
            .collect();
        let gaps: Vec<f64> = planes.windows(2).map(|w| w[1].z_mm - w[0].z_mm).collect();
        let usual_mm = usual_spacing_mm(&gaps).unwrap_or(fallback_thickness_mm);
        let bridged = gaps
            .iter()
            .map(|g| *g <= GAP_FACTOR * usual_mm + GAP_TOLERANCE_MM)
            .collect();
        let links = (0..planes.len() - 1)
            .into_par_iter()
            .map(|k| {
                let (lo, hi) = (&planes[k], &planes[k + 1]);
                lo.blobs
                    .iter()
                    .map(|a| {
                        (0..hi.blobs.len())
                            .filter(|&b| blobs_overlap(lo, a, hi, &hi.blobs[b]))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Stack {
            planes,
            gaps,
            usual_mm,
            bridged,
            links,
        }
    }

    /// Blob `b` of plane `k`'s piece continues on plane `k + 1`.
    fn continues_up(&self, k: usize, b: usize) -> bool {
        k + 1 < self.planes.len() && self.bridged[k] && !self.links[k][b].is_empty()
    }

    /// Blob `b` of plane `k`'s piece continues on plane `k - 1`.
    fn continues_down(&self, k: usize, b: usize) -> bool {
        k > 0 && self.bridged[k - 1] && self.links[k - 1].iter().any(|l| l.contains(&b))
    }

    /// The gaps not bridged -> defects (blobs overlap across one: a plane is missing inside
    /// a piece) and warnings (it separates pieces).
    fn gap_problems(&self) -> (Vec<String>, Vec<String>) {
        let (mut defects, mut warnings) = (Vec::new(), Vec::new());
        for (k, &gap) in self.gaps.iter().enumerate() {
            if self.bridged[k] {
                continue;
            }
            let (z0, z1, usual) = (self.planes[k].z_mm, self.planes[k + 1].z_mm, self.usual_mm);
            if self.links[k].iter().any(|l| !l.is_empty()) {
                defects.push(format!(
                    "no contour between z = {z0:.2} and {z1:.2} mm ({:.1}x the usual plane spacing of {usual:.2} mm) where the contours on both sides overlap: a plane is missing",
                    gap / usual
                ));
            } else {
                warnings.push(format!(
                    "the {gap:.2} mm gap between z = {z0:.2} and {z1:.2} mm separates pieces and is left empty"
                ));
            }
        }
        (defects, warnings)
    }
}

/// How far the slab of each blob of plane `k` reaches below and above its plane, mm, and how
/// much of that is end cap: up to its boundary with the next plane where its piece continues
/// (`split`), else the end cap (half the gap on its other side; half the usual spacing for a
/// piece on one plane).
fn blob_extents(stack: &Stack, split: &[Vec<f64>], k: usize, end_cap: EndCap) -> Vec<BlobExtent> {
    let gaps = &stack.gaps;
    let below = |b: usize| {
        stack
            .continues_down(k, b)
            .then(|| match chain_below(&stack.links, k, b) {
                Some(a) => gaps[k - 1] - split[k - 1][a],
                None => 0.5 * gaps[k - 1],
            })
    };
    let above = |b: usize| stack.continues_up(k, b).then(|| split[k][b]);
    let cap = |other_gap: Option<f64>| match end_cap {
        EndCap::Half => 0.5 * other_gap.unwrap_or(stack.usual_mm),
        EndCap::None => 0.0,
    };
    (0..stack.planes[k].blobs.len())
        .map(|b| {
            let (down, up) = (below(b), above(b));
            let down_mm = down.unwrap_or_else(|| cap(up.map(|_| gaps[k])));
            let up_mm = up.unwrap_or_else(|| cap(down.map(|_| gaps[k - 1])));
            BlobExtent {
                down_mm,
                up_mm,
                cap_mm: if down.is_none() { down_mm } else { 0.0 }
                    + if up.is_none() { up_mm } else { 0.0 },
            }
        })
        .collect()
}

/// How far a blob's slab reaches below and above its plane, and the part that is end cap, mm.
struct BlobExtent {
    down_mm: f64,
    up_mm: f64,
    cap_mm: f64,
}

/// A plane's blobs and their extents -> its slabs, one per extent shared by blobs (crossing
/// contours as the trapezoids of their union); adds the volume of the end caps to
/// `end_cap_mm3`.
fn plane_slabs(plane: &PlaneBlobs, extents: &[BlobExtent], end_cap_mm3: &mut f64) -> Vec<Slab> {
    let mut groups: Vec<((f64, f64), Vec<usize>)> = Vec::new();
    for (b, e) in extents.iter().enumerate() {
        let extent = (e.down_mm, e.up_mm);
        match groups.iter_mut().find(|(g, _)| *g == extent) {
            Some((_, members)) => members.push(b),
            None => groups.push((extent, vec![b])),
        }
    }
    let mut slabs = Vec::with_capacity(groups.len());
    for ((down, up), members) in groups {
        let mut slab = Slab {
            z_mm: plane.z_mm,
            z_lo_mm: plane.z_mm - down,
            z_hi_mm: plane.z_mm + up,
            polygons: Vec::new(),
            signs: Vec::new(),
        };
        let mut plain: Vec<usize> = Vec::new();
        for &b in &members {
            let blob = &plane.blobs[b];
            if blob.crossing {
                for t in union_trapezoids(plane, blob) {
                    *end_cap_mm3 += extents[b].cap_mm * polygon::signed_area(&t).abs();
                    slab.polygons.push(t);
                    slab.signs.push(1.0);
                }
            } else {
                *end_cap_mm3 += extents[b].cap_mm * blob_area_mm2(plane, blob);
                plain.extend(&blob.members);
            }
        }
        // The contours in their order in the structure set.
        plain.sort_unstable();
        for m in plain {
            slab.polygons.push(plane.polygons[m].clone());
            slab.signs.push(plane.signs[m]);
        }
        slabs.push(slab);
    }
    slabs
}

/// A blob of crossing contours -> the trapezoids of their union.
fn union_trapezoids(plane: &PlaneBlobs, blob: &Blob) -> Vec<Polygon> {
    let polys: Vec<Polygon> = blob
        .members
        .iter()
        .map(|&m| plane.polygons[m].clone())
        .collect();
    let signs: Vec<f64> = blob.members.iter().map(|&m| plane.signs[m]).collect();
    positive_winding_trapezoids(&polys, &signs)
}

/// For each blob of each plane but the last, where the boundary between its slab and the next
/// plane's lies, mm above its plane: halfway, except between the blobs of a one-to-one link
/// (one piece, neither branching nor merging) with [`Between::Profile`]
/// ([`profile_split_mm`]).
fn splits(stack: &Stack, between: Between) -> Vec<Vec<f64>> {
    let (planes, links, bridged) = (&stack.planes, &stack.links, &stack.bridged);
    if between == Between::Midpoint {
        // No areas needed (a crossing blob's costs a union).
        return (0..links.len())
            .map(|k| vec![0.5 * stack.gaps[k]; planes[k].blobs.len()])
            .collect();
    }
    let areas: Vec<Vec<f64>> = planes
        .iter()
        .map(|p| p.blobs.iter().map(|b| blob_area_mm2(p, b)).collect())
        .collect();
    let point = |k: usize, b: usize| (planes[k].z_mm, areas[k][b]);
    (0..links.len())
        .map(|k| {
            let gap = stack.gaps[k];
            (0..planes[k].blobs.len())
                .map(|b| {
                    let c = match chain_above(links, k, b) {
                        Some(c) if bridged[k] => c,
                        _ => return 0.5 * gap,
                    };
                    let before = chain_below(links, k, b)
                        .filter(|_| bridged[k - 1])
                        .map(|a| point(k - 1, a));
                    let after = chain_above(links, k + 1, c)
                        .filter(|_| bridged[k + 1])
                        .map(|d| point(k + 2, d));
                    profile_split_mm(
                        before,
                        point(k, b),
                        point(k + 1, c),
                        after,
                        !stack.continues_down(k, b),
                        !stack.continues_up(k + 1, c),
                    )
                })
                .collect()
        })
        .collect()
}

/// The one blob of plane `k + 1` that blob `b` of plane `k` overlaps, when that blob
/// overlaps no other blob of plane `k`.
fn chain_above(links: &[Vec<Vec<usize>>], k: usize, b: usize) -> Option<usize> {
    match links.get(k)?[b].as_slice() {
        &[c] => (links[k].iter().filter(|l| l.contains(&c)).count() == 1).then_some(c),
        _ => None,
    }
}

/// The one blob of plane `k - 1` that blob `b` of plane `k` overlaps, when that blob
/// overlaps no other blob of plane `k`.
fn chain_below(links: &[Vec<Vec<usize>>], k: usize, b: usize) -> Option<usize> {
    let below = links.get(k.checked_sub(1)?)?;
    let mut from = below.iter().enumerate().filter(|(_, l)| l.contains(&b));
    match (from.next(), from.next()) {
        (Some((a, l)), None) if l.len() == 1 => Some(a),
        _ => None,
    }
}

/// The area of a blob's region, mm^2.
fn blob_area_mm2(plane: &PlaneBlobs, blob: &Blob) -> f64 {
    if blob.crossing {
        union_trapezoids(plane, blob)
            .iter()
            .map(|t| polygon::signed_area(t).abs())
            .sum()
    } else {
        blob.members
            .iter()
            .map(|&m| plane.signs[m] * polygon::signed_area(&plane.polygons[m]).abs())
            .sum::<f64>()
            .max(0.0)
    }
}

/// The median gap between neighbouring planes.
fn usual_spacing_mm(gaps: &[f64]) -> Option<f64> {
    let mut sorted = gaps.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

/// A contour's points in the plane (x, y), mm.
pub fn xy(c: &Contour) -> Polygon {
    c.points_mm.iter().map(|q| [q[0], q[1]]).collect()
}

/// x and y ranges `[xmin, xmax, ymin, ymax]` of a polygon.
pub(super) fn bbox(p: &[[f64; 2]]) -> [f64; 4] {
    p.iter().fold(
        [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, q| {
            [
                b[0].min(q[0]),
                b[1].max(q[0]),
                b[2].min(q[1]),
                b[3].max(q[1]),
            ]
        },
    )
}

fn boxes_overlap(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] <= b[1] && b[0] <= a[1] && a[2] <= b[3] && b[2] <= a[3]
}

/// True when two polygons' insides overlap: one holds a point inside the other, or their
/// edges cross, or (when neither test decides and their edges come close, as with shared
/// edges) the area of their intersection is positive. Boundaries apart, with neither
/// holding a point inside the other, are neither nested nor overlapping.
fn polygons_overlap(a: &[[f64; 2]], b: &[[f64; 2]]) -> bool {
    if a.len() < 3 || b.len() < 3 || !boxes_overlap(&bbox(a), &bbox(b)) {
        return false;
    }
    let holds = |p: &[[f64; 2]], q: &[[f64; 2]]| {
        interior_point(q).is_some_and(|c| polygon::contains(p, c[0], c[1]))
    };
    if holds(a, b) || holds(b, a) {
        return true;
    }
    match polygon::edge_contact(a, b) {
        Contact::Cross => return true,
        Contact::Apart => return false,
        Contact::Near => {}
    }
    let (area_a, area_b) = (polygon::signed_area(a).abs(), polygon::signed_area(b).abs());
    let union: f64 = positive_winding_trapezoids(&[a.to_vec(), b.to_vec()], &[1.0, 1.0])
        .iter()
        .map(|t| polygon::signed_area(t).abs())
        .sum();
    area_a + area_b - union > OVERLAP_AREA_TOLERANCE * area_a.min(area_b)
}

/// Fraction of the smaller polygon's area an intersection must exceed to count (rounding).
const OVERLAP_AREA_TOLERANCE: f64 = 1e-9;

/// A point well inside a polygon: on the horizontal line halfway across the widest gap
/// between its vertices' y values, the middle of the widest interval inside it.
fn interior_point(p: &[[f64; 2]]) -> Option<[f64; 2]> {
    let mut ys: Vec<f64> = p.iter().map(|q| q[1]).collect();
    ys.sort_by(f64::total_cmp);
    ys.dedup();
    let (lo, hi) = ys
        .windows(2)
        .map(|w| (w[0], w[1]))
        .max_by(|x, y| (x.1 - x.0).total_cmp(&(y.1 - y.0)))?;
    let y = 0.5 * (lo + hi);
    let n = p.len();
    let mut xs: Vec<f64> = (0..n)
        .filter_map(|i| {
            let (u, v) = (p[i], p[(i + 1) % n]);
            ((u[1] > y) != (v[1] > y)).then(|| u[0] + (y - u[1]) * (v[0] - u[0]) / (v[1] - u[1]))
        })
        .collect();
    xs.sort_by(f64::total_cmp);
    let (x0, x1) = xs
        .chunks_exact(2)
        .map(|c| (c[0], c[1]))
        .max_by(|x, y| (x.1 - x.0).total_cmp(&(y.1 - y.0)))?;
    Some([0.5 * (x0 + x1), y])
}

/// True when two blobs (on neighbouring planes) overlap in x-y.
fn blobs_overlap(pa: &PlaneBlobs, a: &Blob, pb: &PlaneBlobs, b: &Blob) -> bool {
    a.outer.iter().any(|&i| {
        b.outer
            .iter()
            .any(|&j| polygons_overlap(&pa.polygons[i], &pb.polygons[j]))
    })
}

/// One plane's contours: nesting signs, blobs, a warning for contours crossing each other
/// and a defect for a contour crossing itself.
fn blobs(z_mm: f64, polygons: Vec<Polygon>) -> PlaneBlobs {
    let relations = Relations::new(&polygons);
    let depth = relations.depths();
    let signs: Vec<f64> = depth
        .iter()
        .map(|d| if d % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let blobs = group_blobs(&relations, &depth);
    let warning = relations.crosses.iter().any(|&c| c).then(|| {
        format!("contours at z = {z_mm:.2} mm overlap without nesting: filled as their union")
    });
    // A contour that crosses itself has no inside to trust (which loop is the organ?).
    let defect = polygons
        .iter()
        .any(|p| polygon::self_intersects(p))
        .then(|| format!("a contour at z = {z_mm:.2} mm intersects itself"));
    PlaneBlobs {
        z_mm,
        polygons,
        signs,
        blobs,
        warning,
        defect,
    }
}

/// Which contours of one plane cross each other and which contain which.
struct Relations {
    n: usize,
    /// `crosses[a * n + b]`: the edges of a and b cross.
    crosses: Vec<bool>,
    /// `contains[a * n + b]`: b is nested inside a (judged from its first vertex).
    contains: Vec<bool>,
}

impl Relations {
    /// A plane's polygons -> their crossings and nesting.
    fn new(polygons: &[Polygon]) -> Relations {
        let n = polygons.len();
        let boxes: Vec<[f64; 4]> = polygons.iter().map(|p| bbox(p)).collect();
        let mut crosses = vec![false; n * n];
        for a in 0..n {
            for b in a + 1..n {
                if boxes_overlap(&boxes[a], &boxes[b])
                    && polygon::any_edges_cross(&polygons[a], &polygons[b])
                {
                    crosses[a * n + b] = true;
                    crosses[b * n + a] = true;
                }
            }
        }
        let mut contains = vec![false; n * n];
        for a in 0..n {
            for b in 0..n {
                if a != b
                    && !crosses[a * n + b]
                    && !polygons[b].is_empty()
                    && boxes_overlap(&boxes[a], &boxes[b])
                    && polygon::contains(&polygons[a], polygons[b][0][0], polygons[b][0][1])
                {
                    contains[a * n + b] = true;
                }
            }
        }
        Relations {
            n,
            crosses,
            contains,
        }
    }

    /// How many contours contain each contour (its nesting depth).
    fn depths(&self) -> Vec<usize> {
        let n = self.n;
        (0..n)
            .map(|b| (0..n).filter(|&a| self.contains[a * n + b]).count())
            .collect()
    }
}

/// Contours, their relations and depths -> blobs: the connected components of nesting and
/// crossing, in the order of their first contour, members in contour order.
fn group_blobs(relations: &Relations, depth: &[usize]) -> Vec<Blob> {
    let n = relations.n;
    let linked = |a: usize, b: usize| relations.contains[a * n + b] || relations.crosses[a * n + b];
    let mut root: Vec<usize> = (0..n).collect();
    fn find(root: &mut [usize], mut x: usize) -> usize {
        while root[x] != x {
            root[x] = root[root[x]];
            x = root[x];
        }
        x
    }
    for a in 0..n {
        for b in 0..n {
            if linked(a, b) {
                let (ra, rb) = (find(&mut root, a), find(&mut root, b));
                root[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut blobs: Vec<Blob> = Vec::new();
    let mut blob_of_root: Vec<Option<usize>> = vec![None; n];
    for (m, &d) in depth.iter().enumerate() {
        let r = find(&mut root, m);
        let b = *blob_of_root[r].get_or_insert_with(|| {
            blobs.push(Blob {
                members: Vec::new(),
                outer: Vec::new(),
                crossing: false,
            });
            blobs.len() - 1
        });
        let blob = &mut blobs[b];
        blob.members.push(m);
        if d == 0 {
            blob.outer.push(m);
        }
        if (0..n).any(|o| relations.crosses[m * n + o]) {
            blob.crossing = true;
        }
    }
    blobs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::ContourType;
    use approx::assert_relative_eq;

    fn square(cx: f64, cy: f64, half: f64, z: f64) -> Contour {
        Contour {
            kind: ContourType::ClosedPlanar,
            points_mm: vec![
                [cx - half, cy - half, z],
                [cx + half, cy - half, z],
                [cx + half, cy + half, z],
                [cx - half, cy + half, z],
            ],
        }
    }

    /// A stack of squares centred on the z axis whose areas are `area(z)` on planes `zs`.
    fn stack(zs: &[f64], area: impl Fn(f64) -> f64) -> Roi {
        roi(zs
            .iter()
            .map(|&z| square(0.0, 0.0, 0.5 * area(z).sqrt(), z))
            .collect())
    }

    #[test]
    fn profile_volume_is_exact_for_areas_quadratic_in_z_and_midpoint_is_not() {
        // A sphere's cross-sections (r = 12 mm) between z = -9 and 9 mm, 3 mm apart.
        let area = |z: f64| std::f64::consts::PI * (144.0 - z * z);
        let zs: Vec<f64> = (-3..=3).map(|k| 3.0 * k as f64).collect();
        let exact = std::f64::consts::PI * (144.0 * 18.0 - 2.0 * 729.0 / 3.0);
        let profile = solid(&stack(&zs, area), EndCap::None, Between::Profile, 3.0);
        assert_relative_eq!(volume_mm3(&profile), exact, max_relative = 1e-9);
        let midpoint = solid(&stack(&zs, area), EndCap::None, Between::Midpoint, 3.0);
        assert!(volume_mm3(&midpoint) < exact * 0.995);
        // Slabs still tile the z range without overlap.
        for w in profile.slabs.windows(2) {
            assert_relative_eq!(w[0].z_hi_mm, w[1].z_lo_mm, epsilon = 1e-12);
        }
    }

    #[test]
    fn profile_split_into_a_tip_follows_the_power_law_of_the_planes_before_it() {
        // A(d) = 10 d^0.5 at 6 and 3 mm from a tip at z = 0 whose plane has almost no area.
        let a = |d: f64| 10.0 * d.sqrt();
        let (pre, near, tip) = ((-6.0, a(6.0)), (-3.0, a(3.0)), (0.0, 1e-6));
        let e = profile_split_mm(Some(pre), near, tip, None, false, true);
        let volume = e * near.1 + (3.0 - e) * tip.1;
        assert_relative_eq!(volume, 10.0 * 3f64.powf(1.5) / 1.5, max_relative = 1e-6);
        // Not a tip when the piece goes on beyond it: the polynomial through the planes.
        let e = profile_split_mm(Some(pre), near, tip, None, false, false);
        assert!((e * near.1 + (3.0 - e) * tip.1 - volume).abs() > 1.0);
        // Equal areas: halfway.
        assert_eq!(
            profile_split_mm(None, (0.0, 5.0), (2.0, 5.0), None, true, true),
            1.0
        );
        // Nearly equal areas on a curved profile: the volume alone would put the boundary
        // on the first plane; it moves at most a quarter of the gap.
        let (pre, a, b, post) = ((-3.0, 90.0), (0.0, 100.0), (3.0, 100.5), (6.0, 90.0));
        let e = profile_split_mm(Some(pre), a, b, Some(post), false, false);
        assert_eq!(e, (0.5 - MAX_SHIFT) * 3.0);
        // An area that is not a number (a defective contour) leaves the boundary halfway.
        let e = profile_split_mm(Some(pre), (0.0, f64::NAN), b, Some(post), false, false);
        assert_eq!(e, 1.5);
    }

    #[test]
    fn a_branching_piece_keeps_halfway_boundaries() {
        // One square under two smaller ones: not a one-to-one link.
        let c = vec![
            square(0.0, 0.0, 4.0, 0.0),
            square(-2.0, 0.0, 1.0, 3.0),
            square(2.0, 0.0, 1.0, 3.0),
        ];
        let s = solid(&roi(c), EndCap::None, Between::Profile, 3.0);
        assert!(s
            .slabs
            .iter()
            .all(|s| (s.z_hi_mm - s.z_lo_mm - 1.5).abs() < 1e-12));
    }

    fn roi(contours: Vec<Contour>) -> Roi {
        Roi {
            number: 1,
            name: "r".into(),
            interpreted_type: None,
            color: None,
            frame_of_reference_uid: None,
            contours,
            defects: vec![],
            repairs: vec![],
        }
    }

    fn volume_mm3(s: &Solid) -> f64 {
        s.slabs
            .iter()
            .map(|s| s.area_mm2() * (s.z_hi_mm - s.z_lo_mm))
            .sum()
    }

    #[test]
    fn a_wide_gap_between_separate_pieces_is_left_empty_with_half_caps_on_each() {
        // Two 2 x 2 mm pieces on 1 mm planes: z 0..2 at x = 0 and z 10..12 at x = 20.
        let mut c: Vec<Contour> = (0..3).map(|k| square(0.0, 0.0, 1.0, k as f64)).collect();
        c.extend((10..13).map(|k| square(20.0, 0.0, 1.0, k as f64)));
        let s = solid(&roi(c.clone()), EndCap::Half, Between::Midpoint, 3.0);
        assert!(s.defects.is_empty());
        assert_relative_eq!(volume_mm3(&s), 2.0 * 4.0 * 3.0, max_relative = 1e-12);
        assert!(s.warnings.iter().any(|w| w.contains("left empty")));
        let s = solid(&roi(c), EndCap::None, Between::Midpoint, 3.0);
        assert_relative_eq!(volume_mm3(&s), 2.0 * 4.0 * 2.0, max_relative = 1e-12);
    }

    #[test]
    fn identical_and_edge_sharing_contours_on_neighbouring_planes() {
        // The same square on every plane is one piece (its vertices lie on each other's
        // edges, where a point-in-polygon test may go either way).
        let c: Vec<Contour> = (0..4).map(|k| square(0.0, 0.0, 1.0, k as f64)).collect();
        let s = solid(&roi(c), EndCap::None, Between::Midpoint, 3.0);
        assert_relative_eq!(volume_mm3(&s), 4.0 * 3.0, max_relative = 1e-12);
        // Rectangles [0, 2] and [1, 3] x [0, 2] share collinear edges and overlap by half.
        let rect = |x0: f64, z: f64| Contour {
            kind: ContourType::ClosedPlanar,
            points_mm: vec![
                [x0, 0.0, z],
                [x0 + 2.0, 0.0, z],
                [x0 + 2.0, 2.0, z],
                [x0, 2.0, z],
            ],
        };
        let s = solid(
            &roi(vec![rect(0.0, 0.0), rect(1.0, 1.0)]),
            EndCap::None,
            Between::Midpoint,
            3.0,
        );
        assert_relative_eq!(volume_mm3(&s), 4.0, max_relative = 1e-12);
        // Side by side, sharing one edge only: two pieces, no volume without end caps.
        let s = solid(
            &roi(vec![rect(0.0, 0.0), rect(2.0, 1.0)]),
            EndCap::None,
            Between::Midpoint,
            3.0,
        );
        assert_eq!(volume_mm3(&s), 0.0);
    }

    #[test]
    fn overlap_of_two_polygons_whatever_test_decides_it() {
        let rect =
            |x0: f64, y0: f64, x1: f64, y1: f64| vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
        let a = rect(0.0, 1.0, 3.0, 3.0);
        // Overlapping by [2, 3] x [1, 3] along shared edges: neither holds the other's
        // interior point ((3, 2) is on a's edge) and no edges cross; only the area tells.
        let shared = rect(2.0, 1.0, 4.0, 3.0);
        assert!(!polygon::contains(&a, 3.0, 2.0));
        assert_eq!(polygon::edge_contact(&a, &shared), Contact::Near);
        assert!(polygons_overlap(&a, &shared) && polygons_overlap(&shared, &a));
        // Touching along an edge or at a corner only, apart, nested, crossing.
        assert!(!polygons_overlap(&a, &rect(3.0, 0.0, 5.0, 2.0)));
        assert!(!polygons_overlap(&a, &rect(3.0, 3.0, 4.0, 4.0)));
        assert!(!polygons_overlap(&a, &rect(3.5, 0.0, 4.0, 5.0)));
        assert!(polygons_overlap(&a, &rect(1.0, 1.5, 2.0, 2.5)));
        assert!(polygons_overlap(&a, &rect(2.5, 0.0, 2.8, 5.0)));
        // A piece inside an outline, their boundaries apart: held, so overlapping.
        let outline = rect(0.0, 0.0, 10.0, 10.0);
        let piece = rect(4.0, 4.0, 6.0, 6.0);
        assert_eq!(polygon::edge_contact(&outline, &piece), Contact::Apart);
        assert!(polygons_overlap(&outline, &piece));
    }

    #[test]
    fn a_missing_plane_inside_one_piece_is_a_defect() {
        let mut c: Vec<Contour> = (0..3).map(|k| square(0.0, 0.0, 1.0, k as f64)).collect();
        c.extend((5..8).map(|k| square(0.5, 0.0, 1.0, k as f64)));
        let s = solid(&roi(c), EndCap::Half, Between::Midpoint, 3.0);
        assert_eq!(s.defects.len(), 1, "{:?}", s.defects);
        assert!(s.defects[0].contains("missing"));
    }

    #[test]
    fn a_piece_ending_inside_the_structure_gets_its_own_end_cap() {
        // A big square on planes 0..4 and a small one beside it on planes 0..1 only.
        let mut c: Vec<Contour> = (0..5).map(|k| square(0.0, 0.0, 2.0, k as f64)).collect();
        c.extend((0..2).map(|k| square(10.0, 0.0, 1.0, k as f64)));
        let s = solid(&roi(c), EndCap::Half, Between::Midpoint, 3.0);
        assert!(
            s.defects.is_empty() && s.warnings.is_empty(),
            "{:?}",
            s.warnings
        );
        // 16 mm^2 x 5 mm + 4 mm^2 x 2 mm.
        assert_relative_eq!(volume_mm3(&s), 16.0 * 5.0 + 4.0 * 2.0, max_relative = 1e-12);
        // The caps: half a plane gap at both ends of both pieces.
        assert_relative_eq!(s.end_cap_mm3, 16.0 + 4.0, max_relative = 1e-12);
        let s = solid(
            &roi((0..2).map(|k| square(10.0, 0.0, 1.0, k as f64)).collect()),
            EndCap::None,
            Between::Midpoint,
            3.0,
        );
        assert_relative_eq!(volume_mm3(&s), 4.0, max_relative = 1e-12);
        assert_eq!(s.end_cap_mm3, 0.0);
    }

    #[test]
    fn holes_keep_working_and_crossing_contours_are_their_union() {
        let ring: Vec<Contour> = (0..2)
            .flat_map(|k| {
                [
                    square(0.0, 0.0, 3.0, k as f64),
                    square(0.0, 0.0, 1.0, k as f64),
                ]
            })
            .collect();
        let s = solid(&roi(ring), EndCap::Half, Between::Midpoint, 3.0);
        assert_relative_eq!(volume_mm3(&s), (36.0 - 4.0) * 2.0, max_relative = 1e-12);
        // Two planes 1 mm apart: each half the gap beyond, the hole left out.
        assert_relative_eq!(s.end_cap_mm3, 36.0 - 4.0, max_relative = 1e-12);
        assert!(s.warnings.is_empty());
        let crossing: Vec<Contour> = (0..2)
            .flat_map(|k| {
                [
                    square(-1.0, -1.0, 3.0, k as f64),
                    square(1.0, 1.0, 3.0, k as f64),
                ]
            })
            .collect();
        let s = solid(&roi(crossing), EndCap::Half, Between::Midpoint, 3.0);
        assert_relative_eq!(
            volume_mm3(&s),
            (36.0 + 36.0 - 16.0) * 2.0,
            max_relative = 1e-9
        );
        assert!(s.warnings.iter().any(|w| w.contains("union")));
    }
}
