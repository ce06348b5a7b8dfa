//! Rasterization: ROI contours -> weighted dose samples on a lattice aligned with the dose
//! grid.
//!
//! - [`coverage`]: exact fractional coverage of lattice cells by even-odd polygons.
//! - [`mask`]: voxel centres inside an ROI (for spatial metrics).
//! - [`sample`]: ROI slabs x coverage x trilinear dose -> `(dose, cc)` samples.

pub mod coverage;
pub mod mask;
pub mod sample;

pub use sample::{sample_roi, EndCap, RoiSamples, SamplingOptions};
