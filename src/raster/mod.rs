//! Rasterization: ROI contours -> weighted dose samples on a lattice aligned with the dose
//! grid.
//!
//! - [`coverage`]: exact fractional coverage of lattice cells by even-odd polygons.
//! - [`mask`]: voxel centres inside an ROI (for spatial metrics).
//! - [`topology`]: contour planes -> the slabs of the solid (pieces, gaps, end caps, holes,
//!   unions).
//! - [`difference`]: an organ's slabs minus target slabs (host organs), exact on the slab
//!   model.
//! - [`sample`]: ROI slabs x coverage x trilinear dose -> `(dose, cc)` samples.

pub mod coverage;
pub mod difference;
pub mod mask;
pub mod sample;
pub mod topology;

pub use sample::{sample_difference, sample_roi, RoiSamples, SamplingOptions};
pub use topology::{Between, EndCap};
