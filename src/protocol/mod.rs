//! Protocols: what a plan is checked against.
//!
//! What turns into what:
//!
//! - [`query`]: constraint text (`D0.035cc <= 25.3Gy`, Mayo / TG-263 style) ->
//!   [`Query`] + [`Comparator`] + [`Limit`], with the unit of `%` fixed by the query kind.
//! - [`mod@file`]: a TOML protocol file (or a built-in one) -> a validated [`Protocol`]:
//!   [`Prescription`]s (target roles), [`StructureDef`]s (organs at risk with aliases and
//!   alpha/beta) and [`ConstraintDef`]s (each with level and source). Every problem is one
//!   line `FILE:LINE: ...` and exit code 2. The schema: [`SCHEMA_DOC`].
//! - [`names`]: a protocol structure's names + the plan's ROI names + `--map` options ->
//!   the one matching ROI, or "not present"; never a guess between two candidates.
//! - [`mod@bed`]: total dose and fractions -> BED / EQD2 (Gy), and a limit for n1 fractions ->
//!   the same-BED limit for n2 fractions (used by [`Protocol::resolve`], marked derived).
//! - [`builtin`](builtin()): built-in protocols by name (trial NCT06863584).
//!
//! ```
//! use sbrt_verify::protocol::{builtin, Level};
//! let p = builtin("NCT06863584").unwrap();
//! let cord = p.constraints.iter().find(|c| c.structure == "SpinalCord").unwrap();
//! assert_eq!(cord.to_string(), "SpinalCord D0.035cc <= 25.3Gy");
//! assert_eq!(cord.level, Level::Mandatory);
//! ```

pub mod bed;
mod builtin;
pub mod file;
pub mod names;
pub mod query;

pub use bed::{bed, convert_same_bed, eqd2};
pub use builtin::{builtin, builtin_names};
pub use file::{
    load, parse, ConstraintDef, Level, LimitSpec, LimitTable, Prescription, Protocol,
    ResolvedConstraint, StructureDef, TableBy, SCHEMA_DOC,
};
pub use names::{
    match_structure, normalize, parse_mapping, validate_mappings, Match, MatchKind, RoiName,
};
pub use query::{
    parse_constraint, parse_limit, parse_metric, parse_query, Comparator, Constraint, Limit,
    LimitUnit, Metric, Query, QueryError, ValueKind,
};
