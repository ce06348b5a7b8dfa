//! The phantom's dose grid (voxel centres) and its stored dose (integers and scaling): the
//! data a case is defined on and the RT Dose is written from.

/// A regular dose grid. `origin` is the centre of the first voxel (mm); `spacing` and `dims`
/// are ordered (x: columns, y: rows, z: frames).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub origin: [f64; 3],
    pub spacing: [f64; 3],
    pub dims: [usize; 3],
}

impl Grid {
    /// Centre of voxel (column i, row j, frame k), mm.
    pub fn centre(&self, i: usize, j: usize, k: usize) -> [f64; 3] {
        [
            self.origin[0] + i as f64 * self.spacing[0],
            self.origin[1] + j as f64 * self.spacing[1],
            self.origin[2] + k as f64 * self.spacing[2],
        ]
    }

    pub fn voxel_count(&self) -> usize {
        self.dims.iter().product()
    }
}

/// The stored dose: integers (frame-major, then row, then column) and their scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseVolume {
    pub bits: u16,
    /// DoseGridScaling as written (DS text) and as parsed back.
    pub scaling_text: String,
    pub scaling: f64,
    pub values: Vec<u32>,
}

impl DoseVolume {
    /// Largest stored value × scaling (Gy).
    pub fn max_gy(&self) -> f64 {
        self.values.iter().copied().max().unwrap_or(0) as f64 * self.scaling
    }
}
