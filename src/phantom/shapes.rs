//! Contour polygons of the phantom structures, and the plane-polygon arithmetic the exact
//! answers are built on (area, centroid, containment, half-plane clipping, even-odd nesting).
//!
//! Coordinates are patient coordinates in mm. Every vertex is rounded to [`COORD_STEP`]
//! when it is made, so the polygon kept in memory is exactly the polygon written to
//! ContourData (the DS text of a rounded value parses back to the same `f64`); every exact
//! answer is computed from these written polygons, not from ideal circles.

/// A point in a contour plane: `[x, y]` in mm.
pub type Pt = [f64; 2];

/// Vertices per circle. A regular 128-gon inscribed in a circle has an area 0.04 % below
/// the circle's (1 - sin(2π/n)·n/2π), inside the 0.1 % budget; 64 vertices would be 0.16 %.
pub const CIRCLE_VERTICES: usize = 128;

/// Grid that written vertex coordinates are rounded to (mm).
pub const COORD_STEP: f64 = 1e-4;
/// 1 / [`COORD_STEP`], exact.
const COORD_SCALE: f64 = 1e4;

/// Rounds a coordinate to [`COORD_STEP`]; never returns negative zero.
pub fn round_coord(v: f64) -> f64 {
    let r = (v * COORD_SCALE).round() / COORD_SCALE;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// One contour plane of a structure: its z (mm) and its closed polygons. The in-plane region
/// is the even-odd union of the polygons (a polygon inside another is a hole).
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub z: f64,
    pub polygons: Vec<Vec<Pt>>,
}

/// One ROI: what the RT Struct says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    pub name: &'static str,
    pub number: u32,
    /// RTROIInterpretedType (PTV, CTV, ORGAN, EXTERNAL, ...).
    pub kind: &'static str,
    pub color: [u8; 3],
    /// Planes in order of increasing z.
    pub planes: Vec<Plane>,
}

impl Structure {
    /// Number of ContourSequence items (closed polygons over all planes).
    pub fn contour_count(&self) -> usize {
        self.planes.iter().map(|p| p.polygons.len()).sum()
    }
}

/// Regular n-gon inscribed in the circle (cx, cy, r), counter-clockwise, vertex 0 at angle 0,
/// not rounded.
pub fn regular_polygon_raw(cx: f64, cy: f64, r: f64, n: usize) -> Vec<Pt> {
    (0..n)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            [cx + r * t.cos(), cy + r * t.sin()]
        })
        .collect()
}

/// [`regular_polygon_raw`] with [`CIRCLE_VERTICES`] vertices, rounded to [`COORD_STEP`].
pub fn circle(cx: f64, cy: f64, r: f64) -> Vec<Pt> {
    regular_polygon_raw(cx, cy, r, CIRCLE_VERTICES)
        .into_iter()
        .map(|[x, y]| [round_coord(x), round_coord(y)])
        .collect()
}

/// z of plane index k: an exact multiple of the plane spacing.
fn plane_z(k: i64, spacing: f64) -> f64 {
    k as f64 * spacing
}

/// Sphere of radius r about `centre`: one circle on every plane z = k·spacing strictly
/// inside the sphere (|z - cz| < r), of radius sqrt(r² - (z - cz)²).
pub fn sphere(centre: [f64; 3], r: f64, spacing: f64) -> Vec<Plane> {
    let k_lo = ((centre[2] - r) / spacing).floor() as i64;
    let k_hi = ((centre[2] + r) / spacing).ceil() as i64;
    (k_lo..=k_hi)
        .filter_map(|k| {
            let z = plane_z(k, spacing);
            let dz = z - centre[2];
            let rr = r * r - dz * dz;
            // Planes at (or beyond) the poles carry no area.
            (rr > 1e-9).then(|| Plane {
                z,
                polygons: vec![circle(centre[0], centre[1], rr.sqrt())],
            })
        })
        .collect()
}

/// Prisms along z: on each plane k·spacing for k in k_first..=k_last, one circle per
/// `(cx, cy, r)` in `circles`, in the order given (a circle inside another one is a hole).
pub fn prism(circles: &[(f64, f64, f64)], k_first: i64, k_last: i64, spacing: f64) -> Vec<Plane> {
    (k_first..=k_last)
        .map(|k| Plane {
            z: plane_z(k, spacing),
            polygons: circles
                .iter()
                .map(|&(cx, cy, r)| circle(cx, cy, r))
                .collect(),
        })
        .collect()
}

/// Twice the signed area, computed relative to the first vertex (translation-robust).
fn twice_signed_area(poly: &[Pt]) -> f64 {
    let Some(&[x0, y0]) = poly.first() else {
        return 0.0;
    };
    let mut s = 0.0;
    for i in 1..poly.len().saturating_sub(1) {
        let (ax, ay) = (poly[i][0] - x0, poly[i][1] - y0);
        let (bx, by) = (poly[i + 1][0] - x0, poly[i + 1][1] - y0);
        s += ax * by - bx * ay;
    }
    s
}

/// Twice the signed area in units of [`COORD_STEP`]² (an exact integer), if every vertex is
/// on the coordinate grid; `None` otherwise. Exact areas make V(≥D) exactly equal for
/// congruent polygons, so plateaus of the DVH (e.g. two equal islands) are exact.
pub fn twice_area_units(poly: &[Pt]) -> Option<i128> {
    let mut q = Vec::with_capacity(poly.len());
    for &[x, y] in poly {
        let (ix, iy) = ((x * COORD_SCALE).round(), (y * COORD_SCALE).round());
        if ix / COORD_SCALE != x || iy / COORD_SCALE != y || ix.abs() > 1e15 || iy.abs() > 1e15 {
            return None;
        }
        q.push((ix as i128, iy as i128));
    }
    let n = q.len();
    Some(
        (0..n)
            .map(|i| {
                let (a, b) = (q[i], q[(i + 1) % n]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum(),
    )
}

/// Signed area (mm²): positive for counter-clockwise vertices.
pub fn signed_area(poly: &[Pt]) -> f64 {
    0.5 * twice_signed_area(poly)
}

/// Absolute area (mm²) and centroid of a simple polygon. A degenerate polygon gives area 0
/// and its first vertex (or the origin) as centroid.
pub fn area_centroid(poly: &[Pt]) -> (f64, Pt) {
    let Some(&[x0, y0]) = poly.first() else {
        return (0.0, [0.0, 0.0]);
    };
    let (mut a2, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for i in 1..poly.len().saturating_sub(1) {
        let (ax, ay) = (poly[i][0] - x0, poly[i][1] - y0);
        let (bx, by) = (poly[i + 1][0] - x0, poly[i + 1][1] - y0);
        let cross = ax * by - bx * ay;
        a2 += cross;
        cx += (ax + bx) * cross;
        cy += (ay + by) * cross;
    }
    if a2 == 0.0 {
        return (0.0, [x0, y0]);
    }
    (0.5 * a2.abs(), [x0 + cx / (3.0 * a2), y0 + cy / (3.0 * a2)])
}

/// Even-odd point-in-polygon test (points exactly on an edge may go either way).
pub fn contains(poly: &[Pt], p: Pt) -> bool {
    let n = poly.len();
    let mut inside = false;
    for i in 0..n {
        let a = poly[i];
        let b = poly[(i + 1) % n];
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// Sign of each polygon in the even-odd union of non-crossing polygons on one plane:
/// +1 for a polygon nested in an even number of the others, -1 for an odd number (a hole).
pub fn nesting_signs(polys: &[Vec<Pt>]) -> Vec<f64> {
    (0..polys.len())
        .map(|i| {
            let depth = polys
                .iter()
                .enumerate()
                .filter(|&(j, other)| {
                    j != i && !polys[i].is_empty() && contains(other, polys[i][0])
                })
                .count();
            if depth % 2 == 0 {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

/// Sutherland–Hodgman clip of a polygon to the half-plane {a·x + b·y ≥ c}.
pub fn clip_half_plane(poly: &[Pt], a: f64, b: f64, c: f64) -> Vec<Pt> {
    let n = poly.len();
    let mut out = Vec::with_capacity(n + 2);
    let f = |p: Pt| a * p[0] + b * p[1] - c;
    for i in 0..n {
        let cur = poly[i];
        let next = poly[(i + 1) % n];
        let (fc, fn_) = (f(cur), f(next));
        if fc >= 0.0 {
            out.push(cur);
        }
        if (fc >= 0.0) != (fn_ >= 0.0) {
            let t = fc / (fc - fn_);
            out.push([
                cur[0] + t * (next[0] - cur[0]),
                cur[1] + t * (next[1] - cur[1]),
            ]);
        }
    }
    out
}

/// Area of the even-odd region of `polys` intersected with {a·x + b·y ≥ c}, in units of
/// [`COORD_STEP`]² (1e-8 mm²). A polygon wholly inside the half-plane counts with its exact
/// area ([`twice_area_units`]), one wholly outside with 0, a cut one with its clipped area.
pub fn region_area_in_half_plane_units(
    polys: &[Vec<Pt>],
    signs: &[f64],
    a: f64,
    b: f64,
    c: f64,
) -> f64 {
    polys
        .iter()
        .zip(signs)
        .map(|(p, s)| {
            let inside = p.iter().filter(|q| a * q[0] + b * q[1] - c >= 0.0).count();
            let units = if inside == 0 {
                0.0
            } else if inside == p.len() {
                area_units(p)
            } else {
                signed_area(&clip_half_plane(p, a, b, c)).abs() * COORD_SCALE * COORD_SCALE
            };
            s * units
        })
        .sum()
}

/// Absolute area in units of [`COORD_STEP`]²: exact for polygons on the coordinate grid.
pub fn area_units(p: &[Pt]) -> f64 {
    match twice_area_units(p) {
        Some(t) => t.unsigned_abs() as f64 * 0.5,
        None => signed_area(p).abs() * COORD_SCALE * COORD_SCALE,
    }
}

/// Area (mm²) of the even-odd region of `polys` intersected with {a·x + b·y ≥ c}.
pub fn region_area_in_half_plane(polys: &[Vec<Pt>], signs: &[f64], a: f64, b: f64, c: f64) -> f64 {
    region_area_in_half_plane_units(polys, signs, a, b, c) / (COORD_SCALE * COORD_SCALE)
}

/// Area of the even-odd region of `polys` in units of [`COORD_STEP`]².
pub fn region_area_units(polys: &[Vec<Pt>]) -> f64 {
    let signs = nesting_signs(polys);
    polys
        .iter()
        .zip(&signs)
        .map(|(p, s)| s * area_units(p))
        .sum()
}

/// Area (mm²) and centroid of the even-odd region of `polys`.
pub fn region_area_centroid(polys: &[Vec<Pt>]) -> (f64, Pt) {
    let signs = nesting_signs(polys);
    let (mut a, mut mx, mut my) = (0.0, 0.0, 0.0);
    for (p, s) in polys.iter().zip(&signs) {
        let (ai, [cx, cy]) = area_centroid(p);
        a += s * ai;
        mx += s * ai * cx;
        my += s * ai * cy;
    }
    if a == 0.0 {
        (0.0, [0.0, 0.0])
    } else {
        (a, [mx / a, my / a])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use std::f64::consts::TAU;

    fn square(x0: f64, y0: f64, s: f64) -> Vec<Pt> {
        vec![[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s]]
    }

    #[test]
    fn regular_ngon_area_matches_closed_form() {
        for &(n, r) in &[
            (3usize, 1.0),
            (4, 2.0),
            (64, 15.0),
            (128, 20.0),
            (1000, 7.0),
        ] {
            let p = regular_polygon_raw(3.0, -4.0, r, n);
            let want = n as f64 / 2.0 * r * r * (TAU / n as f64).sin();
            assert_relative_eq!(signed_area(&p), want, max_relative = 1e-13);
        }
    }

    #[test]
    fn rounded_circle_within_area_budget() {
        let p = circle(10.0, -20.0, 5.0);
        let ideal = std::f64::consts::PI * 25.0;
        let rel = (ideal - signed_area(&p)) / ideal;
        assert!(rel > 0.0 && rel < 1e-3, "{rel}");
        let (_, c) = area_centroid(&p);
        assert_relative_eq!(c[0], 10.0, epsilon = 1e-9);
        assert_relative_eq!(c[1], -20.0, epsilon = 1e-9);
        // every coordinate is on the 1e-4 grid
        for [x, y] in p {
            assert_eq!(round_coord(x), x);
            assert_eq!(round_coord(y), y);
        }
    }

    #[test]
    fn clipped_square_area() {
        let sq = square(0.0, 0.0, 10.0);
        // x >= 3
        assert_relative_eq!(signed_area(&clip_half_plane(&sq, 1.0, 0.0, 3.0)), 70.0);
        // y <= 2.5  <=>  -y >= -2.5
        assert_relative_eq!(signed_area(&clip_half_plane(&sq, 0.0, -1.0, -2.5)), 25.0);
        // x + y >= 10: half of the square (triangle above the diagonal)
        assert_relative_eq!(signed_area(&clip_half_plane(&sq, 1.0, 1.0, 10.0)), 50.0);
        // x + y >= 15: corner triangle with legs 5
        assert_relative_eq!(signed_area(&clip_half_plane(&sq, 1.0, 1.0, 15.0)), 12.5);
        // entirely inside / outside
        assert_relative_eq!(signed_area(&clip_half_plane(&sq, 1.0, 0.0, -1.0)), 100.0);
        assert_eq!(clip_half_plane(&sq, 1.0, 0.0, 11.0).len(), 0);
    }

    #[test]
    fn hole_is_subtracted_even_odd() {
        // both counter-clockwise: the hole is found by nesting, not by orientation
        let polys = vec![square(0.0, 0.0, 10.0), square(2.0, 2.0, 4.0)];
        assert_eq!(nesting_signs(&polys), vec![1.0, -1.0]);
        let (a, c) = region_area_centroid(&polys);
        assert_relative_eq!(a, 84.0);
        // centroid: (100*5 - 16*4) / 84
        assert_relative_eq!(c[0], (500.0 - 64.0) / 84.0, epsilon = 1e-12);
        let signs = nesting_signs(&polys);
        // x >= 4: outer 60, hole 8  -> 52
        assert_relative_eq!(
            region_area_in_half_plane(&polys, &signs, 1.0, 0.0, 4.0),
            52.0
        );
    }

    #[test]
    fn exact_area_units_are_translation_invariant() {
        let a = circle(-20.0, 10.0, 8.0);
        let b = circle(20.0, 10.0, 8.0);
        assert_eq!(twice_area_units(&a), twice_area_units(&b));
        assert_eq!(
            twice_area_units(&square(0.0, 0.0, 1.0)),
            Some(2 * 10_000 * 10_000)
        );
        assert_eq!(
            twice_area_units(&[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0 / 3.0]]),
            None
        );
        let t = twice_area_units(&a).unwrap() as f64 * 0.5e-8;
        assert_relative_eq!(t, signed_area(&a), max_relative = 1e-12);
    }

    #[test]
    fn sphere_planes_exclude_poles() {
        let planes = sphere([0.0, 0.0, 0.0], 15.0, 2.5);
        assert_eq!(planes.len(), 11);
        assert_eq!(planes[0].z, -12.5);
        assert_eq!(planes[10].z, 12.5);
        let (a, _) = region_area_centroid(&planes[5].polygons);
        assert_relative_eq!(a, 64.0 * 225.0 * (TAU / 128.0).sin(), max_relative = 1e-5);
    }
}
