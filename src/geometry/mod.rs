//! Geometry: where dose voxels are in patient space.
//!
//! - [`grid`]: patient mm <-> fractional voxel index of an axial dose grid.
//! - [`polygon`]: area, point-in-polygon, nesting, crossings.

pub mod grid;
pub mod polygon;

pub use grid::GridGeometry;
