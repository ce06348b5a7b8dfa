//! The dose grid's geometry: patient coordinates (mm) <-> fractional voxel indices.
//!
//! Only axial grids are supported: rows run along +-x and columns along +-y of the patient
//! coordinate system (any sign), frames are stacked along z at the positions given by
//! GridFrameOffsetVector (strictly monotonic, not necessarily uniform). Other orientations
//! are refused when the grid is read.

use serde::Serialize;

/// Where the voxels of a dose grid are, in patient coordinates (mm).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridGeometry {
    /// Number of columns (x), rows (y) and frames (z).
    pub columns: usize,
    pub rows: usize,
    pub frames: usize,
    /// Centre of the first voxel (ImagePositionPatient), mm.
    pub origin_mm: [f64; 3],
    /// +1 or -1: the direction of increasing column index along patient x.
    pub x_sign: f64,
    /// +1 or -1: the direction of increasing row index along patient y.
    pub y_sign: f64,
    /// Distance between adjacent columns (PixelSpacing[1]), mm.
    pub column_spacing_mm: f64,
    /// Distance between adjacent rows (PixelSpacing[0]), mm.
    pub row_spacing_mm: f64,
    /// Patient z of each frame, mm, strictly monotonic.
    pub frame_z_mm: Vec<f64>,
}

impl GridGeometry {
    /// Patient x of column `i`.
    pub fn x_of(&self, i: f64) -> f64 {
        self.origin_mm[0] + self.x_sign * self.column_spacing_mm * i
    }

    /// Patient y of row `j`.
    pub fn y_of(&self, j: f64) -> f64 {
        self.origin_mm[1] + self.y_sign * self.row_spacing_mm * j
    }

    /// Fractional column index of patient x.
    pub fn i_of(&self, x: f64) -> f64 {
        (x - self.origin_mm[0]) / (self.x_sign * self.column_spacing_mm)
    }

    /// Fractional row index of patient y.
    pub fn j_of(&self, y: f64) -> f64 {
        (y - self.origin_mm[1]) / (self.y_sign * self.row_spacing_mm)
    }

    /// Fractional frame index of patient z, by linear interpolation between frame
    /// positions; `None` when z is outside the frames (beyond a tolerance of 1e-6 mm).
    pub fn k_of(&self, z: f64) -> Option<f64> {
        let zs = &self.frame_z_mm;
        let n = zs.len();
        if n == 1 {
            return ((z - zs[0]).abs() <= Z_TOLERANCE_MM).then_some(0.0);
        }
        let increasing = zs[n - 1] > zs[0];
        // Work on an increasing view of the positions.
        let at = |k: usize| if increasing { zs[k] } else { zs[n - 1 - k] };
        if z < at(0) - Z_TOLERANCE_MM || z > at(n - 1) + Z_TOLERANCE_MM {
            return None;
        }
        let z = z.clamp(at(0), at(n - 1));
        // Largest k with at(k) <= z.
        let (mut lo, mut hi) = (0usize, n - 1);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if at(mid) <= z {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let t = (z - at(lo)) / (at(hi) - at(lo));
        let k_inc = lo as f64 + t;
        Some(if increasing {
            k_inc
        } else {
            (n - 1) as f64 - k_inc
        })
    }

    /// The z range covered by the frames' cells: each frame stands for the slab halfway to
    /// its neighbours, the first and last extend half their neighbour gap outward (a single
    /// frame: half the smaller pixel spacing each way).
    pub fn z_cells_mm(&self) -> (f64, f64) {
        let zs = &self.frame_z_mm;
        let n = zs.len();
        let (lo, hi) = if zs[n - 1] >= zs[0] {
            (zs[0], zs[n - 1])
        } else {
            (zs[n - 1], zs[0])
        };
        // Frames are strictly monotonic (checked when the grid is read): the end gaps are
        // those of the first and last pairs, in increasing order.
        let (g_lo, g_hi) = if n > 1 {
            let (first, last) = ((zs[1] - zs[0]).abs(), (zs[n - 1] - zs[n - 2]).abs());
            if zs[n - 1] >= zs[0] {
                (first, last)
            } else {
                (last, first)
            }
        } else {
            let g = self.row_spacing_mm.min(self.column_spacing_mm);
            (g, g)
        };
        (lo - 0.5 * g_lo, hi + 0.5 * g_hi)
    }

    /// Fractional frame index of z for a point inside the frames' cells: z between the
    /// outermost frame and its cell boundary maps to that frame (no extrapolation).
    pub fn k_of_in_cells(&self, z: f64) -> Option<f64> {
        let (lo, hi) = self.z_cells_mm();
        if z < lo - Z_TOLERANCE_MM || z > hi + Z_TOLERANCE_MM {
            return None;
        }
        let zs = &self.frame_z_mm;
        let (zmin, zmax) = (zs[0].min(zs[zs.len() - 1]), zs[0].max(zs[zs.len() - 1]));
        self.k_of(z.clamp(zmin, zmax))
    }

    /// The extent covered by voxel centres: ([x_min, y_min, z_min], [x_max, y_max, z_max]).
    pub fn extent_mm(&self) -> ([f64; 3], [f64; 3]) {
        let xs = [self.x_of(0.0), self.x_of((self.columns - 1) as f64)];
        let ys = [self.y_of(0.0), self.y_of((self.rows - 1) as f64)];
        let zs = [self.frame_z_mm[0], self.frame_z_mm[self.frames - 1]];
        (
            [xs[0].min(xs[1]), ys[0].min(ys[1]), zs[0].min(zs[1])],
            [xs[0].max(xs[1]), ys[0].max(ys[1]), zs[0].max(zs[1])],
        )
    }

    /// Slice spacing when uniform (within 1e-3 mm), else `None`.
    pub fn uniform_slice_spacing_mm(&self) -> Option<f64> {
        if self.frames < 2 {
            return None;
        }
        let d0 = (self.frame_z_mm[1] - self.frame_z_mm[0]).abs();
        self.frame_z_mm
            .windows(2)
            .all(|w| ((w[1] - w[0]).abs() - d0).abs() < 1e-3)
            .then_some(d0)
    }

    /// Volume of one voxel when slices are uniform, cc.
    pub fn voxel_volume_cc(&self) -> Option<f64> {
        self.uniform_slice_spacing_mm()
            .map(|dz| self.column_spacing_mm * self.row_spacing_mm * dz / 1000.0)
    }
}

/// Tolerance for a z position to count as on the first or last frame, mm.
pub const Z_TOLERANCE_MM: f64 = 1e-6;

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn grid(x_sign: f64, zs: Vec<f64>) -> GridGeometry {
        GridGeometry {
            columns: 4,
            rows: 3,
            frames: zs.len(),
            origin_mm: [10.0, -5.0, zs[0]],
            x_sign,
            y_sign: 1.0,
            column_spacing_mm: 2.0,
            row_spacing_mm: 3.0,
            frame_z_mm: zs,
        }
    }

    #[test]
    fn index_and_patient_coordinates_are_inverse() {
        for sign in [1.0, -1.0] {
            let g = grid(sign, vec![0.0, 2.5, 5.0]);
            for i in [0.0, 1.5, 3.0] {
                assert_relative_eq!(g.i_of(g.x_of(i)), i);
            }
            assert_relative_eq!(g.j_of(g.y_of(2.0)), 2.0);
        }
        let g = grid(-1.0, vec![0.0, 2.5]);
        assert_relative_eq!(g.x_of(1.0), 8.0);
    }

    #[test]
    fn z_index_handles_nonuniform_and_decreasing_frames() {
        let g = grid(1.0, vec![0.0, 2.0, 6.0]);
        assert_relative_eq!(g.k_of(1.0).unwrap(), 0.5);
        assert_relative_eq!(g.k_of(4.0).unwrap(), 1.5);
        assert_relative_eq!(g.k_of(6.0).unwrap(), 2.0);
        assert!(g.k_of(6.1).is_none());
        assert!(g.k_of(-0.1).is_none());
        assert_eq!(g.uniform_slice_spacing_mm(), None);
        let d = grid(1.0, vec![6.0, 4.0, 2.0]);
        assert_relative_eq!(d.k_of(5.0).unwrap(), 0.5);
        assert_relative_eq!(d.k_of(2.0).unwrap(), 2.0);
        assert_eq!(d.uniform_slice_spacing_mm(), Some(2.0));
    }

    #[test]
    fn frame_cells_extend_half_a_gap() {
        let g = grid(1.0, vec![0.0, 2.0, 6.0]);
        assert_eq!(g.z_cells_mm(), (-1.0, 8.0));
        assert_eq!(g.k_of_in_cells(-0.9), Some(0.0));
        assert_eq!(g.k_of_in_cells(7.9), Some(2.0));
        assert_eq!(g.k_of_in_cells(8.1), None);
        let d = grid(1.0, vec![6.0, 2.0, 0.0]);
        assert_eq!(d.z_cells_mm(), (-1.0, 8.0));
        assert_eq!(d.k_of_in_cells(7.5), Some(0.0));
    }

    #[test]
    fn extent_is_ordered_whatever_the_signs() {
        let g = grid(-1.0, vec![4.0, 2.0]);
        let (lo, hi) = g.extent_mm();
        assert_eq!(lo, [4.0, -5.0, 2.0]);
        assert_eq!(hi, [10.0, 1.0, 4.0]);
    }
}
