//! Geometry: where dose voxels are in patient space.
//!
//! - [`grid`]: patient mm <-> fractional voxel index of an axial dose grid.
//! - [`distance`]: exact Euclidean distance transform on rectilinear grids.
//! - [`polygon`]: area, point-in-polygon, nesting, crossings.
//! - [`union`]: crossing polygons -> the disjoint trapezoids of their union.

pub mod distance;
pub mod grid;
pub mod polygon;
pub mod union;

pub use grid::GridGeometry;
