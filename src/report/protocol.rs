//! `protocol list` and `protocol show`: what a protocol checks, without reading its TOML.

use std::fmt::Write as _;

use serde::Serialize;

use super::SCHEMA_VERSION;
use crate::protocol::file::Site;
use crate::protocol::{Level, Protocol};
use crate::{Error, Result};

/// A protocol as `protocol show --format json` prints it.
#[derive(Debug, Serialize)]
pub struct ProtocolReport {
    pub schema_version: &'static str,
    pub name: String,
    pub version: String,
    pub origin: String,
    pub description: String,
    pub prescriptions: Vec<PrescriptionRow>,
    /// The treatment sites (with `--site`: that one only).
    pub sites: Vec<Site>,
    /// The constraints (with `--site`: those that apply at that site).
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
    /// The acceptable-variation limit, when the constraint has one.
    pub acceptable: Option<String>,
    pub level: Level,
    /// The sites where it applies (empty: every site).
    pub sites: Vec<String>,
    pub source: String,
    /// The number of fractions the limit was published for, when the protocol says.
    pub fractions: Option<u32>,
    pub note: Option<String>,
}

/// The report of protocol `p`, or of what applies at `site` (a site name or alias; a
/// usage error when the protocol has no such site).
pub fn build(p: &Protocol, site: Option<&str>) -> Result<ProtocolReport> {
    let chosen: Option<&Site> =
        match site {
            None => None,
            Some(wanted) => Some(p.sites.iter().find(|s| s.is_called(wanted)).ok_or_else(
                || {
                    let names: Vec<&str> = p.sites.iter().map(|s| s.name.as_str()).collect();
                    Error::usage(format!(
                        "--site '{wanted}': protocol {} has no such site (sites: {})",
                        p.name,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ))
                },
            )?),
        };
    let sites: Vec<&Site> = match chosen {
        Some(s) => vec![s],
        None => p.sites.iter().collect(),
    };
    let constraints: Vec<_> = match chosen {
        Some(s) => p.constraints_at(Some(&s.name)).collect(),
        None => p.constraints.iter().collect(),
    };
    Ok(ProtocolReport {
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
        sites: sites.into_iter().cloned().collect(),
        constraints: constraints
            .into_iter()
            .map(|c| ConstraintRow {
                structure: c.structure.clone(),
                query: c.query.to_string(),
                comparator: c.comparator.to_string(),
                limit: c.limit.to_string(),
                acceptable: c.acceptable.as_ref().map(ToString::to_string),
                level: c.level,
                sites: c.sites.clone(),
                source: c.source.clone(),
                fractions: c.fractions,
                note: c.note.clone(),
            })
            .collect(),
    })
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
    for s in &r.sites {
        write_site(&mut o, s);
    }
    write_constraints(&mut o, &r.constraints);
    o
}

/// A site -> its two lines: name, aliases and description, then what it requires, expects
/// and hosts.
fn write_site(o: &mut String, s: &Site) {
    let required: Vec<String> = s.required.iter().map(|g| g.join(" or ")).collect();
    let _ = writeln!(
        o,
        "Site {}{}: {}",
        s.name,
        if s.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", s.aliases.join(", "))
        },
        s.description
    );
    let _ = writeln!(
        o,
        "  requires: {}; expects: {}; host organs (checked minus the targets): {}",
        if required.is_empty() {
            "-".to_string()
        } else {
            required.join("; ")
        },
        if s.expected.is_empty() {
            "-".to_string()
        } else {
            s.expected.join(", ")
        },
        if s.hosts.is_empty() {
            "-".to_string()
        } else {
            s.hosts.join(", ")
        }
    );
}

/// The constraints -> a table of structure, constraint, level and source, its columns as
/// wide as their widest text.
fn write_constraints(o: &mut String, constraints: &[ConstraintRow]) {
    let texts: Vec<String> = constraints.iter().map(constraint_text).collect();
    let sw = constraints
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
    for (c, text) in constraints.iter().zip(&texts) {
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
}

/// A constraint -> its text: query, comparator and limit, with its acceptable limit,
/// fractions and sites when it has them.
fn constraint_text(c: &ConstraintRow) -> String {
    let mut s = format!("{} {} {}", c.query, c.comparator, c.limit);
    if let Some(a) = &c.acceptable {
        let _ = write!(s, " (acceptable {a})");
    }
    if let Some(n) = c.fractions {
        let _ = write!(s, " ({n} fx)");
    }
    if !c.sites.is_empty() {
        let _ = write!(s, " [{} only]", c.sites.join(", "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constraint_is_a_row_with_its_source() {
        let p = crate::protocol::builtin("NCT06863584").unwrap();
        let r = build(&p, None).unwrap();
        assert_eq!(r.constraints.len(), p.constraints.len());
        assert_eq!(r.sites.len(), p.sites.len());
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

    #[test]
    fn a_site_shows_its_requirements_and_only_its_constraints() {
        let p = crate::protocol::builtin("NCT06863584").unwrap();
        let all = build(&p, None).unwrap();
        let spine = build(&p, Some("T-spine")).unwrap();
        let hn = build(&p, Some("head_neck")).unwrap();
        assert_eq!(spine.sites.len(), 1);
        assert_eq!(spine.sites[0].name, "spine");
        assert!(spine.sites[0]
            .required
            .concat()
            .contains(&"SpinalCord".to_string()));
        // Site-only rows (the carotid's, at head and neck) leave the other sites' lists.
        let only =
            |r: &ProtocolReport| r.constraints.iter().filter(|c| !c.sites.is_empty()).count();
        assert!(only(&all) > 0);
        assert_eq!(only(&spine), 0);
        assert_eq!(spine.constraints.len(), all.constraints.len() - only(&all));
        assert_eq!(only(&hn), only(&all));
        let text = render_table(&spine);
        assert!(
            text.contains("Site spine") && text.contains("requires: SpinalCord"),
            "{text}"
        );
        let rib = render_table(&build(&p, Some("rib")).unwrap());
        assert!(
            rib.contains("host organs (checked minus the targets): Rib"),
            "{rib}"
        );
        let e = build(&p, Some("moon")).unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
        assert!(e.to_string().contains("sites: spine"), "{e}");
    }
}
