//! Geometry: where dose voxels are in patient space.
//!
//! - [`grid`]: patient mm <-> fractional voxel index of an axial dose grid.

pub mod grid;

pub use grid::GridGeometry;
