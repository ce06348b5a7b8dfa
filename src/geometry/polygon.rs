//! Planar polygons: signed area, point-in-polygon, nesting depth, edge crossings.
//!
//! Areas are computed with coordinates shifted to the first vertex, which keeps the shoelace
//! sum accurate for small polygons far from the origin (patient coordinates are often several
//! hundred mm from it).

/// A closed polygon in a plane (the closing edge from the last to the first vertex is implied).
pub type Polygon = Vec<[f64; 2]>;

/// Signed area (positive when counter-clockwise in a right-handed x/y frame).
pub fn signed_area(p: &[[f64; 2]]) -> f64 {
    if p.len() < 3 {
        return 0.0;
    }
    let [x0, y0] = p[0];
    let mut s = 0.0;
    for k in 1..p.len() - 1 {
        let (ax, ay) = (p[k][0] - x0, p[k][1] - y0);
        let (bx, by) = (p[k + 1][0] - x0, p[k + 1][1] - y0);
        s += ax * by - bx * ay;
    }
    0.5 * s
}

/// Even-odd point-in-polygon test (a point on an edge may go either way).
pub fn contains(p: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = p.len();
    let mut j = n - 1;
    for i in 0..n {
        let (xi, yi) = (p[i][0], p[i][1]);
        let (xj, yj) = (p[j][0], p[j][1]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Nesting depth of each polygon among the others (0 = outermost), judged from a point just
/// inside each polygon near its first vertex... in practice its vertex centroid when that is
/// inside, else its first vertex. Meant for non-crossing contours of one plane.
pub fn nesting_depths(polys: &[Polygon]) -> Vec<usize> {
    polys
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let probe = probe_point(p);
            polys
                .iter()
                .enumerate()
                .filter(|(j, q)| *j != i && contains(q, probe[0], probe[1]))
                .count()
        })
        .collect()
}

/// A vertex of `p` (used to judge nesting): vertices of non-crossing contours are strictly
/// inside or outside each other.
fn probe_point(p: &[[f64; 2]]) -> [f64; 2] {
    p[0]
}

/// True when two edges of the polygons cross (proper intersection, not touching at
/// vertices); see [`edge_contact`].
pub fn any_edges_cross(a: &[[f64; 2]], b: &[[f64; 2]]) -> bool {
    edge_contact(a, b) == Contact::Cross
}

/// How the boundaries of two polygons meet, as far as [`edge_contact`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    /// No edge of one comes near an edge of the other (their bounding boxes are apart):
    /// the boundaries have no point in common.
    Apart,
    /// No two edges cross, but some come close enough that they may touch.
    Near,
    /// Two edges cross (proper intersection, not touching at vertices).
    Cross,
}

/// Whether edges of the two polygons cross, may touch or are apart. A sweep in x like
/// [`self_intersects`]: the edges of both, in order of their left end, each compared only
/// with the other polygon's edges still open there whose y range overlaps (about
/// O((n + m) log(n + m)) for contours). Edges whose bounding boxes meet (boundaries
/// included) but do not cross make the answer [`Contact::Near`]: every common point of the
/// boundaries is in such a pair.
pub fn edge_contact(a: &[[f64; 2]], b: &[[f64; 2]]) -> Contact {
    let mut edges: Vec<(usize, usize, [f64; 4])> = Vec::with_capacity(a.len() + b.len());
    for (which, p) in [a, b].into_iter().enumerate() {
        edges.extend(edge_boxes(p).into_iter().map(|(i, r)| (which, i, r)));
    }
    edges.sort_by(|x, y| x.2[0].total_cmp(&y.2[0]));
    let polygons = [a, b];
    let edge = |which: usize, i: usize| {
        let p = polygons[which];
        (p[i], p[(i + 1) % p.len()])
    };
    let mut contact = Contact::Apart;
    let mut open: [Vec<(usize, [f64; 4])>; 2] = [Vec::new(), Vec::new()];
    for &(which, i, r) in &edges {
        let other = 1 - which;
        open[other].retain(|(_, o)| o[1] >= r[0]);
        let (p, q) = edge(which, i);
        for &(j, o) in &open[other] {
            if o[3] < r[2] || o[2] > r[3] {
                continue;
            }
            let (c, d) = edge(other, j);
            if segments_cross(p, q, c, d) {
                return Contact::Cross;
            }
            contact = Contact::Near;
        }
        open[which].push((i, r));
    }
    contact
}

/// Each edge `i` of a closed polygon (from point `i` to the next) with its x and y ranges
/// `[xmin, xmax, ymin, ymax]`.
fn edge_boxes(p: &[[f64; 2]]) -> Vec<(usize, [f64; 4])> {
    let n = p.len();
    (0..n)
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % n]);
            (
                i,
                [
                    a[0].min(b[0]),
                    a[0].max(b[0]),
                    a[1].min(b[1]),
                    a[1].max(b[1]),
                ],
            )
        })
        .collect()
}

/// True when a polygon's own non-adjacent edges cross. A sweep in x: edges are taken in
/// order of their left end and compared only with the edges still open there whose y range
/// overlaps (a contour has a few open edges at any x, so this is about O(n log n)).
pub fn self_intersects(p: &[[f64; 2]]) -> bool {
    let n = p.len();
    if n < 4 {
        return false;
    }
    let adjacent = |i: usize, j: usize| i.abs_diff(j) <= 1 || (i.min(j) == 0 && i.max(j) == n - 1);
    let edge = |i: usize| (p[i], p[(i + 1) % n]);
    // Each edge's index and its x and y ranges, in order of the left end.
    let mut edges = edge_boxes(p);
    edges.sort_by(|x, y| x.1[0].total_cmp(&y.1[0]));
    let mut open: Vec<(usize, [f64; 4])> = Vec::new();
    for &(i, r) in &edges {
        open.retain(|(_, o)| o[1] >= r[0]);
        let (a, b) = edge(i);
        for &(j, o) in &open {
            if o[3] < r[2] || o[2] > r[3] || adjacent(i, j) {
                continue;
            }
            let (c, d) = edge(j);
            if segments_cross(a, b, c, d) {
                return true;
            }
        }
        open.push((i, r));
    }
    false
}

fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

fn segments_cross(p: [f64; 2], q: [f64; 2], r: [f64; 2], s: [f64; 2]) -> bool {
    let d1 = orient(r, s, p);
    let d2 = orient(r, s, q);
    let d3 = orient(p, q, r);
    let d4 = orient(p, q, s);
    ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
}

/// The part of a polygon inside the rectangle `[0, xmax] x [0, ymax]` (Sutherland-Hodgman
/// against each side). Parts outside collapse onto the sides, so for any cell inside the
/// rectangle the covered area is the original polygon's.
pub fn clip_to_rect(pts: &[[f64; 2]], xmax: f64, ymax: f64) -> Vec<[f64; 2]> {
    let mut poly = pts.to_vec();
    // (axis, bound, keep when coordinate >= bound?)
    for (axis, bound, keep_above) in [
        (0, 0.0, true),
        (0, xmax, false),
        (1, 0.0, true),
        (1, ymax, false),
    ] {
        if poly.is_empty() {
            break;
        }
        let inside = |p: &[f64; 2]| {
            if keep_above {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let mut out = Vec::with_capacity(poly.len() + 4);
        for k in 0..poly.len() {
            let (p, q) = (poly[k], poly[(k + 1) % poly.len()]);
            let (pin, qin) = (inside(&p), inside(&q));
            if pin {
                out.push(p);
            }
            if pin != qin {
                let t = (bound - p[axis]) / (q[axis] - p[axis]);
                let mut x = [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])];
                x[axis] = bound;
                out.push(x);
            }
        }
        poly = out;
    }
    poly
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn square(x0: f64, y0: f64, side: f64) -> Polygon {
        vec![
            [x0, y0],
            [x0 + side, y0],
            [x0 + side, y0 + side],
            [x0, y0 + side],
        ]
    }

    #[test]
    fn clipping_keeps_the_area_inside_the_rectangle() {
        // Square [-5, 5] x [1, 3] clipped to [0, 4] x [0, 10]: [0, 4] x [1, 3].
        let sq = vec![[-5.0, 1.0], [5.0, 1.0], [5.0, 3.0], [-5.0, 3.0]];
        let c = clip_to_rect(&sq, 4.0, 10.0);
        assert!((signed_area(&c).abs() - 8.0).abs() < 1e-12);
        assert!(c.iter().all(|p| (0.0..=4.0).contains(&p[0])));
        // Entirely outside: nothing left.
        let far = vec![[1e9, 1.0], [2e9, 1.0], [2e9, 3.0]];
        assert!(signed_area(&clip_to_rect(&far, 4.0, 10.0)).abs() < 1e-9);
    }

    #[test]
    fn area_sign_and_precision_far_from_origin() {
        assert_relative_eq!(signed_area(&square(0.0, 0.0, 2.0)), 4.0);
        let mut cw = square(0.0, 0.0, 2.0);
        cw.reverse();
        assert_relative_eq!(signed_area(&cw), -4.0);
        // A 0.1 mm square 1e5 mm from the origin keeps its area.
        assert_relative_eq!(
            signed_area(&square(1e5, -1e5, 0.1)),
            0.01,
            max_relative = 1e-9
        );
    }

    #[test]
    fn regular_polygon_area_matches_closed_form() {
        let n = 64;
        let r = 10.0;
        let p: Polygon = (0..n)
            .map(|k| {
                let t = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
                [r * t.cos(), r * t.sin()]
            })
            .collect();
        let exact = 0.5 * n as f64 * r * r * (2.0 * std::f64::consts::PI / n as f64).sin();
        assert_relative_eq!(signed_area(&p), exact, max_relative = 1e-12);
    }

    #[test]
    fn nesting_and_crossing() {
        let outer = square(0.0, 0.0, 10.0);
        let hole = square(2.0, 2.0, 6.0);
        let island = square(4.0, 4.0, 2.0);
        let apart = square(20.0, 0.0, 1.0);
        assert_eq!(
            nesting_depths(&[outer.clone(), hole.clone(), island.clone(), apart.clone()]),
            vec![0, 1, 2, 0]
        );
        assert!(!any_edges_cross(&outer, &hole));
        assert!(any_edges_cross(&outer, &square(8.0, 8.0, 5.0)));
        assert!(contains(&outer, 5.0, 5.0));
        assert!(!contains(&outer, 11.0, 5.0));
        let bowtie = vec![[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0]];
        assert!(self_intersects(&bowtie));
        assert!(!self_intersects(&outer));
        // Many vertices: a circle is simple; swapping two far vertices makes it cross itself.
        let mut circle: Polygon = (0..500)
            .map(|k| {
                let t = 2.0 * std::f64::consts::PI * f64::from(k) / 500.0;
                [10.0 * t.cos(), 10.0 * t.sin()]
            })
            .collect();
        assert!(!self_intersects(&circle));
        circle.swap(10, 200);
        assert!(self_intersects(&circle));
    }

    #[test]
    fn the_sweep_between_two_polygons_finds_what_comparing_every_pair_finds() {
        let brute = |a: &[[f64; 2]], b: &[[f64; 2]]| {
            (0..a.len()).any(|i| {
                (0..b.len())
                    .any(|j| segments_cross(a[i], a[(i + 1) % a.len()], b[j], b[(j + 1) % b.len()]))
            })
        };
        // Stars of random radii around nearby centres (nested, apart, crossing) and random
        // points on a small lattice (touching and overlapping in every way).
        let mut seed = 777u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / f64::from(1u32 << 31)
        };
        let (mut apart, mut crossing, mut boxes_apart) = (0, 0, 0);
        for case in 0..600 {
            let polygon = |n: usize, next: &mut dyn FnMut() -> f64| -> Polygon {
                if case % 2 == 0 {
                    let (cx, cy, scale) = (8.0 * next(), 8.0 * next(), 1.0 + 6.0 * next());
                    (0..n)
                        .map(|k| {
                            let t = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
                            let r = scale * (0.6 + 0.4 * next());
                            [cx + r * t.cos(), cy + r * t.sin()]
                        })
                        .collect()
                } else {
                    (0..n)
                        .map(|_| [(next() * 6.0).floor(), (next() * 6.0).floor()])
                        .collect()
                }
            };
            let a = polygon(3 + case % 23, &mut next);
            let b = polygon(3 + case % 17, &mut next);
            let expected = brute(&a, &b);
            assert_eq!(any_edges_cross(&a, &b), expected, "{a:?} {b:?}");
            assert_eq!(any_edges_cross(&b, &a), expected, "{b:?} {a:?}");
            // Apart exactly when no two edges' boxes meet.
            let boxes_meet = edge_boxes(&a).iter().any(|(_, r)| {
                edge_boxes(&b)
                    .iter()
                    .any(|(_, o)| o[0] <= r[1] && r[0] <= o[1] && o[2] <= r[3] && r[2] <= o[3])
            });
            boxes_apart += usize::from(!boxes_meet);
            for contact in [edge_contact(&a, &b), edge_contact(&b, &a)] {
                assert_eq!(contact == Contact::Apart, !boxes_meet, "{a:?} {b:?}");
                assert_eq!(contact == Contact::Cross, expected, "{a:?} {b:?}");
            }
            if expected {
                crossing += 1;
            } else {
                apart += 1;
            }
        }
        assert!(
            apart > 50 && crossing > 100 && boxes_apart > 20,
            "{apart} apart, {crossing} crossing, {boxes_apart} with edge boxes apart"
        );
    }

    #[test]
    fn sweep_finds_the_same_crossings_as_comparing_every_pair() {
        let brute = |p: &[[f64; 2]]| {
            let n = p.len();
            (0..n).any(|i| {
                (i + 2..n).any(|j| {
                    !(i == 0 && j == n - 1)
                        && segments_cross(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n])
                })
            })
        };
        // Star-shaped polygons with random radii are simple; random points on a small
        // integer lattice cross, touch and overlap in every way.
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / f64::from(1u32 << 31)
        };
        let (mut simple, mut crossing) = (0, 0);
        for case in 0..400 {
            let n = 4 + case % 40;
            let p: Polygon = if case % 2 == 0 {
                (0..n)
                    .map(|k| {
                        let t = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
                        let r = 5.0 + 5.0 * next();
                        [r * t.cos(), r * t.sin()]
                    })
                    .collect()
            } else {
                (0..n)
                    .map(|_| [(next() * 6.0).floor(), (next() * 6.0).floor()])
                    .collect()
            };
            let expected = brute(&p);
            assert_eq!(self_intersects(&p), expected, "{p:?}");
            if expected {
                crossing += 1;
            } else {
                simple += 1;
            }
        }
        assert!(
            simple > 100 && crossing > 100,
            "{simple} simple, {crossing} crossing"
        );
    }
}
