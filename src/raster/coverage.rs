//! Polygons -> exact fractional coverage of the cells of a regular lattice, and the
//! centroid of each cell's covered part.
//!
//! Signed-area accumulation (the technique of scan-converting font rasterizers): every edge
//! adds, to the cells of each row it crosses, the exact signed area it sweeps to the right
//! within that row; a prefix sum along the row then gives, for every cell, the exact signed
//! area of the polygon inside the cell. No point sampling, so no aliasing: a cell half
//! covered gets 0.5 to rounding. The same walk accumulates the first moments of that area
//! (exact too), whose quotient by the area is the centroid of the covered part.
//!
//! Coordinates are in cell units: cell `(a, b)` is `[a, a+1) x [b, b+1)`. Contours must lie
//! in `[0, width) x [0, height)`. Even-odd fill of properly nested contours is obtained by
//! giving each contour the sign of its nesting depth (outer +, hole -, island +, ...).

/// A raster of `width x height` cells accumulating, from the edges of contours, each cell's
/// covered area and the first moments of its covered part. Reusable: [`Coverage::reset`]
/// starts a new raster in the same buffers.
#[derive(Default)]
pub struct Coverage {
    width: usize,
    height: usize,
    /// Per cell, row-major with one spare column: the coverage accumulation, then the area,
    /// x moment and y moment about the cell's lower corner (the centroid's). After
    /// [`Coverage::finish`] each holds the cell's own value.
    acc: Vec<[f64; 4]>,
    /// Where the edge being added crosses cell column boundaries within a row.
    cuts: Vec<f64>,
}

/// Index of the coverage in a cell's accumulation; the moments follow it.
const AREA: usize = 0;

/// Coverage at or below which a cell counts as empty (rounding).
pub const EMPTY: f64 = 1e-12;

impl Coverage {
    pub fn new(width: usize, height: usize) -> Self {
        let mut c = Coverage::default();
        c.reset(width, height);
        c
    }

    /// Empties the raster and gives it a new size.
    pub fn reset(&mut self, width: usize, height: usize) {
        // Zeroed by writing, not by the allocator: `add_contour` adds to cells (a read
        // first), and a calloc'ed page that is read first is the kernel's shared zero page,
        // whose copy on the first write costs a second fault and a TLB flush on every CPU
        // the process runs on.
        self.acc.clear();
        self.acc.resize((width + 2) * height, [0.0; 4]);
        (self.width, self.height) = (width, height);
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

    /// Accumulates the edge p -> q with weight `w`, row by row: its coverage
    /// ([`Coverage::row_coverage`]) and its moments ([`Coverage::row_moments`]).
    fn line(&mut self, p: [f64; 2], q: [f64; 2], w: f64) {
        if p[1] == q[1] {
            return;
        }
        let (dir, p0, p1) = if p[1] < q[1] { (w, p, q) } else { (-w, q, p) };
        let dxdy = (p1[0] - p0[0]) / (p1[1] - p0[1]);
        let y_start = p0[1].max(0.0);
        let mut x = p0[0] + (y_start - p0[1]) * dxdy;
        let row_start = y_start.floor() as usize;
        let row_end = (p1[1].ceil() as usize).min(self.height);
        for row in row_start..row_end {
            let top = ((row + 1) as f64).min(p1[1]);
            let bottom = (row as f64).max(p0[1]);
            let dy = top - bottom;
            if dy <= 0.0 {
                continue;
            }
            let xnext = x + dxdy * dy;
            self.row_coverage(row, x, xnext, dy * dir);
            self.row_moments(row, p0, dxdy, (bottom, top), dir);
            x = xnext;
        }
    }

    /// Adds to row `row` the area to the right of the edge's part from `x` (bottom) to
    /// `xnext` (top), `d` being its height times its weight.
    fn row_coverage(&mut self, row: usize, x: f64, xnext: f64, d: f64) {
        let line = row * self.stride();
        let mut add = |col: usize, v: f64| self.acc[line + col][AREA] += v;
        let (x0, x1) = if x < xnext { (x, xnext) } else { (xnext, x) };
        let x0floor = x0.floor();
        let x0i = x0floor as usize;
        let x1ceil = x1.ceil();
        let x1i = x1ceil as usize;
        if x1i <= x0i + 1 {
            // The edge stays within one cell on this row.
            let xmf = 0.5 * (x + xnext) - x0floor;
            add(x0i, d - d * xmf);
            add(x0i + 1, d * xmf);
        } else {
            let s = 1.0 / (x1 - x0);
            let x0f = x0 - x0floor;
            let a0 = 0.5 * s * (1.0 - x0f) * (1.0 - x0f);
            let x1f = x1 - x1ceil + 1.0;
            let am = 0.5 * s * x1f * x1f;
            add(x0i, d * a0);
            if x1i == x0i + 2 {
                add(x0i + 1, d * (1.0 - a0 - am));
            } else {
                let a1 = s * (1.5 - x0f);
                add(x0i + 1, d * (a1 - a0));
                for xi in x0i + 2..x1i - 1 {
                    add(xi, d * s);
                }
                let a2 = a1 + (x1i - x0i - 3) as f64 * s;
                add(x1i - 1, d * (1.0 - a2 - am));
            }
            add(x1i, d * am);
        }
    }

    /// Adds to row `row` the moments (area, x, y) of what lies to the right of the edge
    /// through `p0` with slope `dxdy`, between heights `ya` and `yb`, weighted `d`: the
    /// row's part of the edge is cut where it crosses a cell column boundary, and each piece
    /// adds to its own cell and, in full, to the next (the prefix sum carries it on).
    fn row_moments(&mut self, row: usize, p0: [f64; 2], dxdy: f64, (ya, yb): (f64, f64), d: f64) {
        let x_at = |y: f64| p0[0] + (y - p0[1]) * dxdy;
        let b = row as f64;
        let cuts = &mut self.cuts;
        cuts.clear();
        cuts.push(ya);
        let (xa, xb) = (x_at(ya), x_at(yb));
        if dxdy != 0.0 {
            let (lo, hi) = (xa.min(xb), xa.max(xb));
            let mut k = lo.floor() + 1.0;
            while k < hi {
                cuts.push(p0[1] + (k - p0[0]) / dxdy);
                k += 1.0;
            }
        }
        cuts.push(yb);
        if cuts.len() > 2 {
            cuts.sort_by(f64::total_cmp);
        }
        let line = row * (self.width + 2);
        for c in self.cuts.windows(2) {
            let (y0, y1) = (c[0].clamp(ya, yb), c[1].clamp(ya, yb));
            let dy = y1 - y0;
            if dy <= 0.0 {
                continue;
            }
            let ym = 0.5 * (y0 + y1);
            let col = x_at(ym).floor().max(0.0);
            let a = (col as usize).min(self.width);
            // Local coordinates in the cell; Simpson's rule is exact for these
            // integrands (at most quadratic in y).
            let u = |y: f64| (x_at(y) - col).clamp(0.0, 1.0);
            let (u0, um, u1) = (u(y0), u(ym), u(y1));
            let (r0, rm, r1) = (1.0 - u0, 1.0 - um, 1.0 - u1);
            let (t0, tm, t1) = (y0 - b, ym - b, y1 - b);
            let s = d * dy / 6.0;
            let part = [
                s * (r0 + 4.0 * rm + r1),
                s * 0.5 * ((1.0 - u0 * u0) + 4.0 * (1.0 - um * um) + (1.0 - u1 * u1)),
                s * (t0 * r0 + 4.0 * tm * rm + t1 * r1),
            ];
            let full = [d * dy, d * 0.5 * dy, d * 0.5 * (t1 * t1 - t0 * t0)];
            for m in 0..3 {
                self.acc[line + a][AREA + 1 + m] += part[m];
                self.acc[line + a + 1][AREA + 1 + m] += full[m] - part[m];
            }
        }
    }

    /// Turns the accumulation into each cell's own values (prefix sums along each row).
    pub fn finish(&mut self) -> Cells<'_> {
        let (width, stride) = (self.width, self.stride());
        let mut covered = 0;
        for row in 0..self.height {
            let mut sum = [0.0; 4];
            for v in &mut self.acc[row * stride..row * stride + width] {
                for m in 0..4 {
                    sum[m] += v[m];
                }
                *v = sum;
                covered += usize::from(sum[AREA] > EMPTY);
            }
        }
        Cells {
            width,
            stride,
            covered,
            acc: &self.acc,
        }
    }
}

/// The cells of a finished [`Coverage`]: each one's covered fraction and the centroid of
/// its covered part.
pub struct Cells<'a> {
    pub width: usize,
    stride: usize,
    /// How many cells have a coverage above [`EMPTY`].
    covered: usize,
    acc: &'a [[f64; 4]],
}

impl Cells<'_> {
    /// How many cells have a coverage above [`EMPTY`].
    pub fn covered(&self) -> usize {
        self.covered
    }

    /// The covered fraction of each cell of row `b` (exact to rounding; `width` values).
    pub fn row(&self, b: usize) -> impl Iterator<Item = f64> + '_ {
        self.acc[b * self.stride..b * self.stride + self.width]
            .iter()
            .map(|v| v[AREA])
    }

    /// The covered fraction of cell `(a, b)`.
    pub fn coverage(&self, a: usize, b: usize) -> f64 {
        self.acc[b * self.stride + a][AREA]
    }

    /// Cell `(a, b)`'s centroid of its covered part in local coordinates (`[0, 1]` in x and
    /// y from the cell's lower corner); the cell centre when the cell is empty.
    pub fn centroid(&self, a: usize, b: usize) -> [f64; 2] {
        let [_, area, mx, my] = self.acc[b * self.stride + a];
        if area > EMPTY {
            [(mx / area).clamp(0.0, 1.0), (my / area).clamp(0.0, 1.0)]
        } else {
            [0.5, 0.5]
        }
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
        let cells = c.finish();
        (0..h)
            .flat_map(|b| cells.row(b).collect::<Vec<_>>())
            .collect()
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
    fn centroids_of_partly_covered_cells_are_those_of_their_covered_part() {
        // Square [0.5, 2.5] x [1, 1.75]: cell (0, 1) covered on x 0.5..1, y 1..1.75.
        // Triangle (0,0) (2,0) (0,2): cell (1, 0) holds the triangle (1,0) (2,0) (1,1).
        let sq = vec![[0.5, 1.0], [2.5, 1.0], [2.5, 1.75], [0.5, 1.75]];
        let tri = vec![[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]];
        for reversed in [false, true] {
            let (mut s, mut t) = (sq.clone(), tri.clone());
            if reversed {
                s.reverse();
                t.reverse();
            }
            let mut raster = Coverage::new(4, 3);
            raster.add_contour(&s, 1.0);
            let c = raster.finish();
            let at = |a: usize, b: usize| c.centroid(a, b);
            assert_abs_diff_eq!(at(0, 1)[0], 0.75, epsilon = 1e-12);
            assert_abs_diff_eq!(at(0, 1)[1], 0.375, epsilon = 1e-12);
            assert_abs_diff_eq!(at(1, 1)[0], 0.5, epsilon = 1e-12);
            assert_abs_diff_eq!(at(2, 1)[0], 0.25, epsilon = 1e-12);
            // The same buffers, reset to another size.
            raster.reset(3, 3);
            raster.add_contour(&t, 1.0);
            let c = raster.finish();
            assert_abs_diff_eq!(c.centroid(1, 0)[0], 1.0 / 3.0, epsilon = 1e-12);
            assert_abs_diff_eq!(c.centroid(1, 0)[1], 1.0 / 3.0, epsilon = 1e-12);
            assert_abs_diff_eq!(c.centroid(0, 0)[0], 0.5, epsilon = 1e-12);
            assert_abs_diff_eq!(c.coverage(1, 0), 0.5, epsilon = 1e-12);
        }
    }

    #[test]
    fn finishing_counts_the_covered_cells() {
        // A triangle over a 4 x 3 raster, with a hole-like negative square in it.
        let mut c = Coverage::new(4, 3);
        c.add_contour(&[[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]], 1.0);
        c.add_contour(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], -1.0);
        let cells = c.finish();
        let counted = (0..3)
            .flat_map(|b| cells.row(b).collect::<Vec<_>>())
            .filter(|&v| v > EMPTY)
            .count();
        assert_eq!(cells.covered(), counted);
        // Cell (0, 0) is cut out; (3, 1), (2, 2) and (3, 2) lie beyond the hypotenuse.
        assert_eq!(counted, 12 - 1 - 3);
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
