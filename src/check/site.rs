//! The treatment site of a plan and the structures it requires.
//!
//! A protocol with `[[site]]` tables is checked at one site: `--site NAME`, else the site
//! the RT Plan's Treatment Sites (300A,000B) names (by site name or alias, normalized like
//! structure names). No site, or several, is an error naming the sites to choose from. At
//! the site, every `required` group needs one of its structures matched to an ROI (else
//! ERROR, with the closest ROI names and the `--map` to write); an `expected` structure
//! that is absent is a warning. A `hosts` organ (one the target may lie in) is evaluated
//! on its ROI minus the target ROIs ([`super::compute::needed`]). A protocol without sites
//! is checked as before.

use std::collections::BTreeMap;

use super::{CheckOptions, CheckOutcome};
use crate::dicom::PlanSet;
use crate::protocol::file::Site;
use crate::protocol::names::{normalize, RoiName};
use crate::protocol::Protocol;
use crate::{Error, Result};

/// How many ROI names an error for a missing structure proposes.
const CLOSEST: usize = 3;

/// Chooses the site and checks its required and expected structures against `matched`
/// (protocol name -> ROI number); returns the site (`None` for a protocol without sites
/// or when no single site is named, an error in `out`). `Err` only for a `--site` the
/// protocol does not have.
pub fn gate<'p>(
    protocol: &'p Protocol,
    opts: &CheckOptions,
    set: &PlanSet,
    rois: &[RoiName<'_>],
    matched: &BTreeMap<String, i64>,
    out: &mut CheckOutcome,
) -> Result<Option<&'p Site>> {
    let Some(site) = choose(protocol, opts, set, out)? else {
        return Ok(None);
    };
    out.site = Some(site.name.clone());
    for group in &site.required {
        if group.iter().any(|name| matched.contains_key(name)) {
            continue;
        }
        out.errors
            .push(missing(protocol, site, group, rois, matched));
    }
    for name in site.expected.iter().filter(|n| !matched.contains_key(*n)) {
        out.warnings.push(format!(
            "site {}: expected structure {name} has no ROI (names tried: {})",
            site.name,
            protocol.names_of(name).unwrap_or_default().join(", ")
        ));
    }
    Ok(Some(site))
}

/// The site to check at: `--site`, else the plan's Treatment Sites. `None` for a protocol
/// without sites, or (with an error in `out`) when the plan names no site or several.
fn choose<'p>(
    protocol: &'p Protocol,
    opts: &CheckOptions,
    set: &PlanSet,
    out: &mut CheckOutcome,
) -> Result<Option<&'p Site>> {
    let names = || {
        protocol
            .sites
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(wanted) = &opts.site {
        if protocol.sites.is_empty() {
            return Err(Error::usage(format!(
                "--site '{wanted}': protocol {} has no sites",
                protocol.name
            )));
        }
        return match protocol.sites.iter().find(|s| s.is_called(wanted)) {
            Some(s) => Ok(Some(s)),
            None => Err(Error::usage(format!(
                "--site '{wanted}': protocol {} has no such site (sites: {})",
                protocol.name,
                names()
            ))),
        };
    }
    if protocol.sites.is_empty() {
        return Ok(None);
    }
    let given: Vec<String> = set
        .plan
        .as_ref()
        .map(|p| p.treatment_sites.clone())
        .unwrap_or_default();
    let mut found: Vec<&Site> = Vec::new();
    for s in &protocol.sites {
        if given.iter().any(|g| s.is_called(g)) {
            found.push(s);
        }
    }
    match found.as_slice() {
        [one] => Ok(Some(one)),
        _ => {
            let said = if given.is_empty() {
                "names no treatment site".to_string()
            } else {
                format!(
                    "names the treatment sites '{}', which {} of the protocol's sites",
                    given.join("', '"),
                    if found.is_empty() {
                        "match none"
                    } else {
                        "match several"
                    }
                )
            };
            out.errors.push(format!(
                "protocol {} is checked per site and the RT Plan (300A,000B Treatment Sites) \
                 {said}: choose one with --site ({})",
                protocol.name,
                names()
            ));
            Ok(None)
        }
    }
}

/// The error for a required group none of whose structures has an ROI.
fn missing(
    protocol: &Protocol,
    site: &Site,
    group: &[String],
    rois: &[RoiName<'_>],
    matched: &BTreeMap<String, i64>,
) -> String {
    let names: Vec<&str> = group
        .iter()
        .flat_map(|g| protocol.names_of(g).unwrap_or_default())
        .collect();
    let taken: Vec<i64> = matched.values().copied().collect();
    let mut scored: Vec<(usize, i64, &str)> = rois
        .iter()
        .filter(|r| !taken.contains(&r.number))
        .map(|r| {
            let n = normalize(r.name);
            let d = names
                .iter()
                .map(|w| edit_distance(&n, &normalize(w)))
                .min()
                .unwrap_or(usize::MAX);
            (d, r.number, r.name)
        })
        .collect();
    scored.sort();
    let closest: Vec<String> = scored
        .iter()
        .take(CLOSEST)
        .map(|(_, _, n)| format!("'{n}'"))
        .collect();
    let first = &group[0];
    let what = if group.len() == 1 {
        format!("requires {first}")
    } else {
        format!("requires one of {}", group.join(", "))
    };
    let present = if closest.is_empty() {
        "no unmatched ROI".to_string()
    } else {
        format!("closest unmatched ROIs: {}", closest.join(", "))
    };
    format!(
        "site {} {what}, and no ROI matches (names tried: {}); {present}; if one of them is \
         the organ, add --map \"ROI NAME={first}\"",
        site.name,
        names.join(", ")
    )
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("myelon", "myelon"), 0);
        assert_eq!(edit_distance("cord", "cords"), 1);
        assert_eq!(edit_distance("spinalcanal", "spinalcord"), 4);
        assert_eq!(edit_distance("", "sc"), 2);
        assert_eq!(edit_distance("脊髓", "脊髓l"), 1);
    }
}
