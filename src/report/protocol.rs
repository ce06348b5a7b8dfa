//! `protocol list` and `protocol show`: what a protocol checks, without reading its TOML.

use std::fmt::Write as _;

use serde::Serialize;

use super::SCHEMA_VERSION;
use crate::protocol::{Level, Protocol};

/// A protocol as `protocol show --format json` prints it.
#[derive(Debug, Serialize)]
pub struct ProtocolReport {
    pub schema_version: &'static str,
    pub name: String,
    pub version: String,
    pub origin: String,
    pub description: String,
    pub prescriptions: Vec<PrescriptionRow>,
    pub constraints: Vec<ConstraintRow>,
}

#[derive(Debug, Serialize)]
pub struct PrescriptionRow {
    pub role: String,
    pub total_gy: f64,
    pub fractions: u32,
    pub names: Vec<String>,
}

/// One constraint, in file order.
#[derive(Debug, Serialize)]
pub struct ConstraintRow {
    pub structure: String,
    pub query: String,
    pub comparator: String,
    pub limit: String,
    pub level: Level,
    pub source: String,
    /// The number of fractions the limit was published for, when the protocol says.
    pub fractions: Option<u32>,
    pub note: Option<String>,
}

pub fn build(p: &Protocol) -> ProtocolReport {
    ProtocolReport {
        schema_version: SCHEMA_VERSION,
        name: p.name.clone(),
        version: p.version.clone(),
        origin: p.origin.clone(),
        description: p.description.clone(),
        prescriptions: p
            .prescriptions
            .iter()
            .map(|r| PrescriptionRow {
                role: r.role.clone(),
                total_gy: r.total_gy,
                fractions: r.fractions,
                names: r.names.clone(),
            })
            .collect(),
        constraints: p
            .constraints
            .iter()
            .map(|c| ConstraintRow {
                structure: c.structure.clone(),
                query: c.query.to_string(),
                comparator: c.comparator.to_string(),
                limit: c.limit.to_string(),
                level: c.level,
                source: c.source.clone(),
                fractions: c.fractions,
                note: c.note.clone(),
            })
            .collect(),
    }
}

/// The protocol as text: its header, the prescriptions, then one line per constraint
/// (structure, constraint, level, source), in file order.
pub fn render_table(r: &ProtocolReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Protocol: {} v{} ({})", r.name, r.version, r.origin);
    for p in &r.prescriptions {
        let _ = writeln!(
            o,
            "Target {}: {} Gy in {}{}",
            p.role,
            p.total_gy,
            super::plural(p.fractions as usize, "fraction"),
            if p.names.is_empty() {
                String::new()
            } else {
                format!(" (also named {})", p.names.join(", "))
            }
        );
    }
    let constraint = |c: &ConstraintRow| {
        let mut s = format!("{} {} {}", c.query, c.comparator, c.limit);
        if let Some(n) = c.fractions {
            let _ = write!(s, " ({n} fx)");
        }
        s
    };
    let texts: Vec<String> = r.constraints.iter().map(constraint).collect();
    let sw = r
        .constraints
        .iter()
        .map(|c| c.structure.chars().count())
        .chain(["structure".len()])
        .max()
        .unwrap_or(0);
    let cw = texts
        .iter()
        .map(|t| t.chars().count())
        .chain(["constraint".len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        o,
        "\n{:<sw$} {:<cw$} {:<9} source",
        "structure", "constraint", "level"
    );
    for (c, text) in r.constraints.iter().zip(&texts) {
        let level = match c.level {
            Level::Mandatory => "mandatory",
            Level::Optimal => "optimal",
        };
        let _ = writeln!(
            o,
            "{:<sw$} {text:<cw$} {level:<9} {}",
            c.structure, c.source
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constraint_is_a_row_with_its_source() {
        let p = crate::protocol::builtin("NCT06863584").unwrap();
        let r = build(&p);
        assert_eq!(r.constraints.len(), p.constraints.len());
        let text = render_table(&r);
        for c in &p.constraints {
            let row = format!("{} {} {}", c.query, c.comparator, c.limit);
            assert!(
                text.lines().any(|l| l.starts_with(&c.structure)
                    && l.contains(&row)
                    && l.ends_with(&c.source)),
                "{row} of {}:\n{text}",
                c.structure
            );
        }
    }
}
