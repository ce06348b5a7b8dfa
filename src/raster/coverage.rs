//! Polygons -> exact fractional coverage of the cells of a regular lattice.
//!
//! Signed-area accumulation (the technique of scan-converting font rasterizers): every edge
//! adds, to the cells of each row it crosses, the exact signed area it sweeps to the right
//! within that row; a prefix sum along the row then gives, for every cell, the exact signed
//! area of the polygon inside the cell. No point sampling, so no aliasing: a cell half
//! covered gets 0.5 to rounding.
//!
//! Coordinates are in cell units: cell `(a, b)` is `[a, a+1) x [b, b+1)`. Contours must lie
//! in `[0, width) x [0, height)`. Even-odd fill of properly nested contours is obtained by
//! giving each contour the sign of its nesting depth (outer +, hole -, island +, ...).

/// A coverage raster: `width x height` cells, row-major.
pub struct Coverage {
    pub width: usize,
    pub height: usize,
    /// Per-row accumulation buffer with one spare column; after [`Coverage::finish`] holds
    /// coverage.
    acc: Vec<f64>,
}

impl Coverage {
    pub fn new(width: usize, height: usize) -> Self {
        // Zeroed by writing, not by the allocator: `add_contour` adds to cells (a read
        // first), and a calloc'ed page that is read first is the kernel's shared zero page,
        // whose copy on the first write costs a second fault and a TLB flush on every CPU
        // the process runs on.
        let n = (width + 2) * height;
        let mut acc = Vec::with_capacity(n);
        acc.resize(n, 0.0);
        Coverage { width, height, acc }
    }

    fn stride(&self) -> usize {
        self.width + 2
    }

    /// Adds one closed contour with weight `sign` (+1 or -1) times its orientation's sign, so
    /// that its inside contributes `sign` whatever the vertex order.
    pub fn add_contour(&mut self, pts: &[[f64; 2]], sign: f64) {
        let area = crate::geometry::polygon::signed_area(pts);
        if area == 0.0 {
            return;
        }
        // With this accumulation a counter-clockwise contour (y up) adds -1 inside; flip so
        // that the contribution is `sign`.
        let dir = if area > 0.0 { -sign } else { sign };
        let n = pts.len();
        for k in 0..n {
            self.line(pts[k], pts[(k + 1) % n], dir);
        }
    }

    /// Accumulates the edge p -> q with weight `w`.
    fn line(&mut self, p: [f64; 2], q: [f64; 2], w: f64) {
        if p[1] == q[1] {
            return;
        }
        let (dir, p0, p1) = if p[1] < q[1] { (w, p, q) } else { (-w, q, p) };
        let dxdy = (p1[0] - p0[0]) / (p1[1] - p0[1]);
        let stride = self.stride();
        let y_start = p0[1].max(0.0);
        let mut x = p0[0] + (y_start - p0[1]) * dxdy;
        let row_start = y_start.floor() as usize;
        let row_end = (p1[1].ceil() as usize).min(self.height);
        for row in row_start..row_end {
            let line_start = row * stride;
            let top = ((row + 1) as f64).min(p1[1]);
            let bottom = (row as f64).max(p0[1]);
            let dy = top - bottom;
            if dy <= 0.0 {
                continue;
            }
            let xnext = x + dxdy * dy;
            let d = dy * dir;
            let (x0, x1) = if x < xnext { (x, xnext) } else { (xnext, x) };
            let x0floor = x0.floor();
            let x0i = x0floor as usize;
            let x1ceil = x1.ceil();
            let x1i = x1ceil as usize;
            if x1i <= x0i + 1 {
                // The edge stays within one cell on this row.
                let xmf = 0.5 * (x + xnext) - x0floor;
                self.acc[line_start + x0i] += d - d * xmf;
                self.acc[line_start + x0i + 1] += d * xmf;
            } else {
                let s = 1.0 / (x1 - x0);
                let x0f = x0 - x0floor;
                let a0 = 0.5 * s * (1.0 - x0f) * (1.0 - x0f);
                let x1f = x1 - x1ceil + 1.0;
                let am = 0.5 * s * x1f * x1f;
                self.acc[line_start + x0i] += d * a0;
                if x1i == x0i + 2 {
                    self.acc[line_start + x0i + 1] += d * (1.0 - a0 - am);
                } else {
                    let a1 = s * (1.5 - x0f);
                    self.acc[line_start + x0i + 1] += d * (a1 - a0);
                    for xi in x0i + 2..x1i - 1 {
                        self.acc[line_start + xi] += d * s;
                    }
                    let a2 = a1 + (x1i - x0i - 3) as f64 * s;
                    self.acc[line_start + x1i - 1] += d * (1.0 - a2 - am);
                }
                self.acc[line_start + x1i] += d * am;
            }
            x = xnext;
        }
    }

    /// Turns the accumulation into per-cell coverage (prefix sum along each row) and returns
    /// it row-major, `width x height`.
    pub fn finish(mut self) -> Vec<f64> {
        // In place: cell (a, row) moves from row * stride + a to row * width + a, which is
        // never after it, so nothing is overwritten before it is read.
        let (width, stride) = (self.width, self.stride());
        for row in 0..self.height {
            let mut sum = 0.0;
            for a in 0..width {
                sum += self.acc[row * stride + a];
                self.acc[row * width + a] = sum;
            }
        }
        self.acc.truncate(width * self.height);
        self.acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn cover(polys: &[(Vec<[f64; 2]>, f64)], w: usize, h: usize) -> Vec<f64> {
        let mut c = Coverage::new(w, h);
        for (p, s) in polys {
            c.add_contour(p, *s);
        }
        c.finish()
    }

    #[test]
    fn axis_aligned_square_covers_cells_exactly() {
        // Square [0.5, 2.5] x [1, 2]: cells (0,1) and (2,1) half, (1,1) full.
        let sq = vec![[0.5, 1.0], [2.5, 1.0], [2.5, 2.0], [0.5, 2.0]];
        for orientation in [false, true] {
            let mut p = sq.clone();
            if orientation {
                p.reverse();
            }
            let c = cover(&[(p, 1.0)], 4, 3);
            let at = |a: usize, b: usize| c[b * 4 + a];
            assert_abs_diff_eq!(at(0, 1), 0.5, epsilon = 1e-12);
            assert_abs_diff_eq!(at(1, 1), 1.0, epsilon = 1e-12);
            assert_abs_diff_eq!(at(2, 1), 0.5, epsilon = 1e-12);
            assert_abs_diff_eq!(at(3, 1), 0.0, epsilon = 1e-12);
            assert_abs_diff_eq!(at(1, 0), 0.0, epsilon = 1e-12);
            assert_abs_diff_eq!(c.iter().sum::<f64>(), 2.0, epsilon = 1e-12);
        }
    }

    #[test]
    fn diagonal_triangle_area_per_cell() {
        // Right triangle (0,0) (2,0) (0,2): cell (0,0) fully covered, (1,0) and (0,1) half.
        let t = vec![[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]];
        let c = cover(&[(t, 1.0)], 3, 3);
        assert_abs_diff_eq!(c[0], 1.0, epsilon = 1e-12);
        assert_abs_diff_eq!(c[1], 0.5, epsilon = 1e-12);
        assert_abs_diff_eq!(c[3], 0.5, epsilon = 1e-12);
        assert_abs_diff_eq!(c[4], 0.0, epsilon = 1e-12);
    }

    #[test]
    fn circle_total_equals_polygon_area_and_hole_subtracts() {
        let circle = |cx: f64, cy: f64, r: f64, n: usize| -> Vec<[f64; 2]> {
            (0..n)
                .map(|k| {
                    let t = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
                    [cx + r * t.cos(), cy + r * t.sin()]
                })
                .collect()
        };
        let outer = circle(10.3, 9.7, 7.2, 97);
        let hole = circle(10.0, 10.0, 3.1, 61);
        let a_out = crate::geometry::polygon::signed_area(&outer);
        let a_hole = crate::geometry::polygon::signed_area(&hole);
        let c = cover(&[(outer, 1.0), (hole, -1.0)], 21, 21);
        assert_abs_diff_eq!(c.iter().sum::<f64>(), a_out - a_hole, epsilon = 1e-9);
        assert!(c.iter().all(|&v| (-1e-9..=1.0 + 1e-9).contains(&v)));
        // Cell (10, 10) is inside the hole.
        assert_abs_diff_eq!(c[10 * 21 + 10], 0.0, epsilon = 1e-12);
        // Cell (10, 5) is fully in the ring.
        assert_abs_diff_eq!(c[5 * 21 + 10], 1.0, epsilon = 1e-12);
    }
}
