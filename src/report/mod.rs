//! Reports: library values -> what people and scripts read.
//!
//! - [`inspect`]: what a set of files holds (table or JSON).
//! - [`check`]: the verdict with every constraint's value, limit and margin (table, JSON).
//! - [`dvh`]: DVHs and metrics per structure (table, JSON, CSV).
//! - [`plot`]: cumulative DVHs as a self-contained SVG.
//! - [`output`]: atomic file writing (temp file + rename), never over an input.

pub mod check;
pub mod dvh;
pub mod inspect;
pub mod npy;
pub mod output;
pub mod plot;

pub use inspect::SCHEMA_VERSION;
