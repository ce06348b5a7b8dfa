//! Dose-volume histograms.
//!
//! - [`curve`]: the DVH value object ([`Dvh`]) over weighted samples, and the doses and
//!   volumes read from it (D_x in % and cc, V_x in cc and %), by interpolation on one
//!   cumulative curve.
//! - [`indices`]: any query's value (D_x, V_x, mean) and the plan indices (CI, GI, R50, HI,
//!   D2cm, isodose volumes) over the dose grid.
//! - [`calc`]: a dose grid and ROIs (or an ROI minus others: [`Subject`]) ->
//!   [`StructureDvh`]s, in parallel and deterministic.
//! - [`tps`]: a planning system's DVHs (Eclipse text export) -> agreement with ours.

pub mod calc;
pub mod curve;
pub mod indices;
pub mod tps;

pub use calc::{compute, compute_each, compute_subjects, StructureDvh, Subject};
pub use curve::Dvh;
