//! # sbrt-verify
//!
//! Verifies stereotactic body radiotherapy (SBRT) dose plans before treatment.
//!
//! The pipeline, one module per step, each turning one thing into the next:
//!
//! 1. [`dicom`]: files and folders -> [`dicom::PlanSet`]s (RT Dose as a [`dicom::DoseGrid`],
//!    RT Struct as a [`dicom::StructureSet`], RT Plan as a [`dicom::Plan`]), linked by UIDs
//!    and checked by frame of reference.
//! 2. [`geometry`]: patient coordinates (mm) <-> dose-grid indices; polygon area.
//! 3. [`phantom`]: analytic test cases written as DICOM RT, with their exact answers.
//! 4. [`report`]: what the CLI prints (tables, JSON) over the library's values.
//! 5. [`node`]: a DICOM receiver and a folder watcher that check each plan set as it
//!    arrives.
//!
//! Errors ([`Error`]) are one line naming the file and the problem; they map to the
//! documented exit codes ([`ExitCode`]).

pub mod check;
pub mod dicom;
pub mod dvh;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod geometry;
pub mod node;
pub mod output;
mod par;
pub mod phantom;
pub mod protocol;
pub mod raster;
pub mod report;

pub use error::{Error, ExitCode, Result};
