//! Reports: library values -> what people and scripts read.
//!
//! - [`inspect`]: what a set of files holds (table or JSON).
//! - [`check`]: the verdict with every constraint's value, limit and margin (table, JSON).
//! - [`dvh`]: DVHs and metrics per structure (table, JSON, CSV).
//! - [`plot`]: cumulative DVHs as a self-contained SVG.
//! - [`html`]: the `check` report as one self-contained HTML page (verdict, table, plot).
//! - [`folder`]: a checked plan set's report folder (HTML, DVH CSV, JSON).
//! - [`protocol`]: what a protocol checks (`protocol list`, `protocol show`).
//! - [`batch`]: one line / JSON object / CSV row per plan set of a batch check.
//! - [`term`]: whether to colour terminal output (TTY, `NO_COLOR`).
//! - [`output`]: atomic file writing (temp file + rename), never over an input.

pub mod batch;
pub mod check;
pub mod dvh;
pub mod folder;
pub mod html;
pub mod inspect;
pub mod npy;
pub mod plot;
pub mod protocol;
pub mod term;

pub use inspect::SCHEMA_VERSION;

/// `n` and the noun, plural unless `n` is 1: "1 fraction", "5 fractions".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
