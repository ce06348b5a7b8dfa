//! Overlapping polygons -> the disjoint trapezoids of their filled region.
//!
//! Contours of one plane that cross each other (two pieces drawn over each other) are filled
//! by their signed winding: each polygon has a weight (+1 for an outline, -1 for a hole) and
//! a point is inside when the weights of the polygons around it add up to more than zero.
//! Two crossing outlines thus give their union, not the even-odd XOR.
//!
//! The region is cut into vertical strips at every vertex and every crossing of two edges;
//! inside a strip no edges cross, so the filled part is a stack of trapezoids whose parallel
//! sides are the strip's sides. The trapezoids are disjoint and together are exactly the
//! region: their areas add up to its area and rasterizing each one adds up to its coverage.

use super::polygon::Polygon;

/// The filled region of `polygons` (weights `signs`, +1 or -1) as disjoint trapezoids.
pub fn positive_winding_trapezoids(polygons: &[Polygon], signs: &[f64]) -> Vec<Polygon> {
    // Edges (left point, right point, polygon); vertical edges bound no strip.
    let mut edges: Vec<([f64; 2], [f64; 2], usize)> = Vec::new();
    for (which, p) in polygons.iter().enumerate() {
        let n = p.len();
        for k in 0..n {
            let (a, b) = (p[k], p[(k + 1) % n]);
            if a[0] == b[0] {
                continue;
            }
            let (l, r) = if a[0] < b[0] { (a, b) } else { (b, a) };
            edges.push((l, r, which));
        }
    }
    let mut xs: Vec<f64> = polygons.iter().flatten().map(|q| q[0]).collect();
    edges.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
    for (m, &(p, q, _)) in edges.iter().enumerate() {
        for &(c, d, _) in &edges[m + 1..] {
            if c[0] >= q[0] {
                break;
            }
            if let Some(x) = crossing_x(p, q, c, d) {
                xs.push(x);
            }
        }
    }
    xs.sort_by(f64::total_cmp);
    xs.dedup();

    let y_at = |e: &([f64; 2], [f64; 2], usize), x: f64| {
        let (l, r) = (e.0, e.1);
        l[1] + (r[1] - l[1]) * ((x - l[0]) / (r[0] - l[0]))
    };
    let mut out = Vec::new();
    let mut inside = vec![false; polygons.len()];
    for w in xs.windows(2) {
        let (xl, xr) = (w[0], w[1]);
        if xr <= xl {
            continue;
        }
        let xm = 0.5 * (xl + xr);
        let mut span: Vec<(f64, usize)> = edges
            .iter()
            .enumerate()
            .take_while(|(_, e)| e.0[0] < xr)
            .filter(|(_, e)| e.0[0] <= xm && e.1[0] >= xm)
            .map(|(m, e)| (y_at(e, xm), m))
            .collect();
        span.sort_by(|a, b| a.0.total_cmp(&b.0));
        inside.iter_mut().for_each(|b| *b = false);
        let mut winding = 0.0;
        let mut bottom: Option<usize> = None;
        for &(_, m) in &span {
            let which = edges[m].2;
            inside[which] = !inside[which];
            winding += if inside[which] {
                signs[which]
            } else {
                -signs[which]
            };
            match bottom {
                None if winding > 0.5 => bottom = Some(m),
                Some(b) if winding <= 0.5 => {
                    let (lo, hi) = (&edges[b], &edges[m]);
                    out.push(vec![
                        [xl, y_at(lo, xl)],
                        [xr, y_at(lo, xr)],
                        [xr, y_at(hi, xr)],
                        [xl, y_at(hi, xl)],
                    ]);
                    bottom = None;
                }
                _ => {}
            }
        }
    }
    out
}

/// The x of the proper crossing of segments p-q and c-d (each given left to right), if any.
fn crossing_x(p: [f64; 2], q: [f64; 2], c: [f64; 2], d: [f64; 2]) -> Option<f64> {
    let r = [q[0] - p[0], q[1] - p[1]];
    let s = [d[0] - c[0], d[1] - c[1]];
    let denom = r[0] * s[1] - r[1] * s[0];
    if denom == 0.0 {
        return None;
    }
    let cp = [c[0] - p[0], c[1] - p[1]];
    let t = (cp[0] * s[1] - cp[1] * s[0]) / denom;
    let u = (cp[0] * r[1] - cp[1] * r[0]) / denom;
    ((0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&u)).then(|| p[0] + t * r[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::polygon::signed_area;
    use approx::assert_abs_diff_eq;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon {
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    }

    fn area(t: &[Polygon]) -> f64 {
        t.iter().map(|p| signed_area(p).abs()).sum()
    }

    #[test]
    fn two_overlapping_squares_give_their_union() {
        // 6 x 6 squares overlapping in a 4 x 4 square: union 36 + 36 - 16 = 56.
        let a = rect(-4.0, -4.0, 2.0, 2.0);
        let b = rect(-2.0, -2.0, 4.0, 4.0);
        let t = positive_winding_trapezoids(&[a, b.clone()], &[1.0, 1.0]);
        assert_abs_diff_eq!(area(&t), 56.0, epsilon = 1e-9);
        // Reversed orientation of one: the same region.
        let mut br = b;
        br.reverse();
        let t = positive_winding_trapezoids(&[rect(-4.0, -4.0, 2.0, 2.0), br], &[1.0, 1.0]);
        assert_abs_diff_eq!(area(&t), 56.0, epsilon = 1e-9);
    }

    #[test]
    fn a_hole_inside_one_of_two_crossing_outlines_stays_a_hole() {
        let a = rect(0.0, 0.0, 10.0, 10.0);
        let b = rect(8.0, 2.0, 14.0, 6.0);
        let hole = rect(2.0, 2.0, 4.0, 4.0);
        let t = positive_winding_trapezoids(&[a, b, hole], &[1.0, 1.0, -1.0]);
        assert_abs_diff_eq!(area(&t), 100.0 + 24.0 - 8.0 - 4.0, epsilon = 1e-9);
    }

    #[test]
    fn crossing_triangles_area_matches_inclusion_exclusion() {
        // Two triangles whose union is a six-pointed star's outline region.
        let up = vec![[0.0, 0.0], [6.0, 0.0], [3.0, 6.0]];
        let down = vec![[0.0, 4.0], [6.0, 4.0], [3.0, -2.0]];
        let t = positive_winding_trapezoids(&[up, down], &[1.0, 1.0]);
        // Each triangle 18; their intersection is a hexagon of 12 (for 1 <= x <= 2 between
        // y = 4 - 2x and 2x, for 2 <= x <= 3 between 0 and 4, and symmetric about x = 3).
        assert_abs_diff_eq!(area(&t), 18.0 + 18.0 - 12.0, epsilon = 1e-9);
    }
}
