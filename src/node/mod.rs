//! The DICOM node: objects a planning system exports -> checked plan sets.
//!
//! Objects arrive by DICOM C-STORE ([`listen`]) or in an export folder ([`watch`]). Each
//! is first written under `OUT/incoming/` ([`store`]: a temporary file, fsync, then a
//! rename), and only then acknowledged. When an association ends, or a folder scan has
//! copied new files, the [`checker`] links everything in `incoming/` into plan sets, checks
//! each complete set (RT Dose, RT Plan and RT Structure Set linked by UID) that holds new
//! objects, writes `OUT/reports/<time>-<plan label>-<short uid>/` (`report.html`,
//! `result.json`, `dvh.csv`) and appends one JSON line to `OUT/checks.jsonl`. A set still
//! missing an object waits, and is listed as waiting once it has waited the settle time.
//! Every event is one line on stderr and in `OUT/node.log` ([`log`]).

pub mod checker;
pub mod listen;
pub mod log;
pub mod signal;
pub mod store;
pub mod time;
pub mod watch;

use std::path::PathBuf;
use std::time::Duration;

use crate::check::CheckOptions;
use crate::protocol::Protocol;

/// What a node does with the plan sets it receives: where it writes, and how it checks.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// `incoming/`, `reports/`, `checks.jsonl` and `node.log` go here.
    pub out: PathBuf,
    pub protocol: Protocol,
    pub check: CheckOptions,
    /// Patient name and ID in `checks.jsonl` and the reports (masked otherwise).
    pub show_phi: bool,
    /// How long a plan set may miss an object before it is listed as waiting; for `watch`
    /// also how long a file must stay unchanged before it is read.
    pub settle: Duration,
}

/// SOP classes whose objects are checked (RT Dose, RT Structure Set, RT Plan, RT Ion Plan).
pub const RT_STORAGE: [&str; 4] = [
    "1.2.840.10008.5.1.4.1.1.481.2",
    "1.2.840.10008.5.1.4.1.1.481.3",
    "1.2.840.10008.5.1.4.1.1.481.5",
    "1.2.840.10008.5.1.4.1.1.481.8",
];

/// SOP classes stored but not checked (CT, enhanced CT, MR, enhanced MR images).
pub const IMAGE_STORAGE: [&str; 4] = [
    "1.2.840.10008.5.1.4.1.1.2",
    "1.2.840.10008.5.1.4.1.1.2.1",
    "1.2.840.10008.5.1.4.1.1.4",
    "1.2.840.10008.5.1.4.1.1.4.1",
];

/// The name of a storage SOP class the node accepts, `None` for any other class.
pub fn class_name(sop_class_uid: &str) -> Option<&'static str> {
    let names = [
        "RT Dose",
        "RT Structure Set",
        "RT Plan",
        "RT Ion Plan",
        "CT Image",
        "Enhanced CT Image",
        "MR Image",
        "Enhanced MR Image",
    ];
    RT_STORAGE
        .iter()
        .chain(IMAGE_STORAGE.iter())
        .position(|c| *c == sop_class_uid)
        .map(|i| names[i])
}

/// True for the RT classes, whose objects are checked.
pub fn is_checked_class(sop_class_uid: &str) -> bool {
    RT_STORAGE.contains(&sop_class_uid)
}
