//! Dose-volume histograms.
//!
//! - [`curve`]: the DVH value object ([`Dvh`]) over weighted samples, and the doses and
//!   volumes read from it (D_x in % and cc, V_x in cc and %), by interpolation on one
//!   cumulative curve.
//! - [`metric_spec`]: the metrics a user names (`D95%`, `V20Gy`), read off a [`Dvh`].
//! - [`spatial`]: grid-level metrics: max dose beyond a distance (D2cm), whole-grid DVH.
//! - [`calc`]: a dose grid and ROIs -> [`StructureDvh`]s, in parallel and deterministic.

pub mod calc;
pub mod curve;
pub mod metric_spec;
pub mod spatial;

pub use calc::{compute, compute_each, StructureDvh};
pub use curve::Dvh;
pub use metric_spec::{default_metrics, MetricSpec};
