//! Structure names: a protocol structure (TG-263 name plus aliases) + the plan's ROI names
//! + the user's `--map` options -> the one ROI that is that structure, or "not present".
//!
//! The order, first hit wins:
//!
//! 1. **Mapped**: an explicit `--map "ROI NAME=ProtocolName"` for this structure.
//! 2. **Exact or alias**: an ROI named exactly like the protocol name (case-sensitive), or
//!    whose [`normalize`]d name equals the normalized protocol name or one of its aliases
//!    (case folded; spaces, hyphens and underscores dropped).
//!
//! The matcher never guesses: two candidates at step 2, however exact one of them is, is an
//! error that names both and asks for `--map`. A structure matched by none is [`Match::NotPresent`] (reported, not an
//! error).
//!
//! TG-263 conventions that must not match the base organ, and do not:
//!
//! - planning risk volumes (`SpinalCord_PRV05`): the suffix survives normalization;
//! - partial structures (`SpinalCord~`) and custom qualifiers (`Brainstem^Avoid`): `~` and
//!   `^` are kept by normalization;
//! - structures not for dose evaluation (`zSpinalCord`, `_SpinalCord`): excluded from the
//!   alias step (normalization would otherwise drop the `_`); see
//!   [`is_not_for_evaluation`];
//! - laterality is part of the name: `BrachialPlex_L` never matches `BrachialPlex_R`.
//!
//! Mappings name an ROI that must exist ([`validate_mappings`] and [`match_structure`]
//! refuse one that does not), and an ROI mapped to one protocol structure takes no part in
//! automatic matching for any other.

use serde::Serialize;

use crate::{Error, Result};

/// An ROI of the plan's structure set: its ROI Number (3006,0022) and ROI Name (3006,0026).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoiName<'a> {
    pub number: i64,
    pub name: &'a str,
}

/// How a protocol structure was found among the ROIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// By an explicit user mapping (`--map`).
    Mapped,
    /// The ROI name equals the protocol name exactly.
    Exact,
    /// The normalized ROI name equals the normalized protocol name or an alias.
    Alias,
}

/// The result of matching one protocol structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The ROI (by ROI number) that is the structure.
    Found { roi: i64, how: MatchKind },
    /// No ROI is the structure.
    NotPresent,
}

/// Folds case and drops spaces, hyphens and underscores: `Spinal_Cord`, `SPINAL CORD` and
/// `spinal-cord` all become `spinalcord`. Other characters (`~`, `^`, digits) are kept.
///
/// A Chinese laterality prefix becomes the TG-263 suffix: `左` or `左侧` (left) at the start
/// of a name is the same as `_L` at its end, `右` or `右侧` (right) as `_R`, so that
/// `左视神经` and `视神经_L` both become `视神经l`.
pub fn normalize(s: &str) -> String {
    let trimmed = s.trim_start();
    let (body, side) = match LATERALITY_PREFIXES
        .iter()
        .find_map(|(prefix, side)| trimmed.strip_prefix(prefix).map(|rest| (rest, *side)))
    {
        Some((rest, side)) if !rest.trim().is_empty() => (rest, Some(side)),
        _ => (s, None),
    };
    body.chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .chain(side)
        .collect()
}

/// Chinese laterality prefixes and the (normalized) TG-263 suffix each stands for; longer
/// prefixes first.
const LATERALITY_PREFIXES: [(&str, char); 4] =
    [("左侧", 'l'), ("右侧", 'r'), ("左", 'l'), ("右", 'r')];

/// True for TG-263 names of structures not meant for dose evaluation: a leading `_`, or a
/// leading lowercase `z` followed by anything but a lowercase letter (`zPTV_opt`, `z_Ring`,
/// `zSpinalCord`; `zygoma` is an ordinary name). Leading whitespace is ignored.
pub fn is_not_for_evaluation(roi_name: &str) -> bool {
    let mut chars = roi_name.trim_start().chars();
    match chars.next() {
        Some('_') => true,
        Some('z') => chars.next().is_some_and(|c| !c.is_lowercase()),
        _ => false,
    }
}

/// Parses a `--map` value `ROI NAME=ProtocolName` into `(roi name, protocol name)`.
///
/// Splits at the last `=` (protocol names never contain one); both sides are trimmed and
/// must be non-empty.
pub fn parse_mapping(s: &str) -> Result<(String, String)> {
    let Some((roi, name)) = s.rsplit_once('=') else {
        return Err(Error::usage(format!(
            "--map '{s}': expected ROI_NAME=PROTOCOL_NAME, e.g. --map \"Spinal Cord=SpinalCord\""
        )));
    };
    let (roi, name) = (roi.trim(), name.trim());
    if roi.is_empty() || name.is_empty() {
        return Err(Error::usage(format!(
            "--map '{s}': both the ROI name and the protocol name must be non-empty \
             (ROI_NAME=PROTOCOL_NAME)"
        )));
    }
    Ok((roi.to_string(), name.to_string()))
}

/// Checks every mapping: its ROI exists in the structure set, its protocol name is one of
/// `protocol_names`, and no protocol structure is mapped from two different ROIs.
pub fn validate_mappings(
    mappings: &[(String, String)],
    rois: &[RoiName<'_>],
    protocol_names: &[&str],
) -> Result<()> {
    for (i, (roi, name)) in mappings.iter().enumerate() {
        if !protocol_names.contains(&name.as_str()) {
            return Err(Error::usage(format!(
                "--map '{roi}={name}': the protocol has no structure '{name}' (it has: {})",
                protocol_names.join(", ")
            )));
        }
        mapped_rois(roi, name, rois)?;
        if let Some((other, _)) = mappings[..i]
            .iter()
            .find(|(r, n)| n == name && r.as_str() != roi.as_str())
        {
            return Err(Error::usage(format!(
                "--map: '{name}' is mapped from two ROIs, '{other}' and '{roi}'; keep one"
            )));
        }
    }
    Ok(())
}

/// Finds the ROI that is the protocol structure `protocol_name`, whose names are `names`
/// (the protocol name first, then its aliases; for a target, its role then its structure
/// names).
///
/// Errors (usage, exit 2): a mapping for this structure names an ROI that does not exist;
/// two ROIs match at the same step (the message names both and asks for `--map`).
pub fn match_structure(
    names: &[&str],
    rois: &[RoiName<'_>],
    mappings: &[(String, String)],
    protocol_name: &str,
) -> Result<Match> {
    // 1. Explicit mappings for this structure.
    let mut mapped: Vec<RoiName<'_>> = Vec::new();
    for (roi, name) in mappings.iter().filter(|(_, n)| n == protocol_name) {
        for r in mapped_rois(roi, name, rois)? {
            if !mapped.iter().any(|m| m.number == r.number) {
                mapped.push(r);
            }
        }
    }
    if let Some(m) = unique(&mapped, protocol_name, MatchKind::Mapped)? {
        return Ok(m);
    }

    // ROIs the user mapped to some other protocol structure take no part below.
    let claimed = |r: &RoiName<'_>| {
        mappings
            .iter()
            .any(|(roi, name)| name != protocol_name && mapping_names(roi, r.name))
    };
    let free: Vec<RoiName<'_>> = rois.iter().copied().filter(|r| !claimed(r)).collect();

    // 2. The exact protocol name, or a normalized name or alias: every candidate counts,
    // so that a second ROI for the organ (`SpinalCord` and `spinal cord`) is never ignored.
    let wanted: Vec<String> = std::iter::once(protocol_name)
        .chain(names.iter().copied())
        .map(normalize)
        .filter(|n| !n.is_empty())
        .collect();
    let exact = |r: &RoiName<'_>| r.name == protocol_name;
    let candidates: Vec<RoiName<'_>> = free
        .iter()
        .copied()
        .filter(|r| {
            exact(r) || (!is_not_for_evaluation(r.name) && wanted.contains(&normalize(r.name)))
        })
        .collect();
    let how = if candidates.iter().all(exact) {
        MatchKind::Exact
    } else {
        MatchKind::Alias
    };
    Ok(unique(&candidates, protocol_name, how)?.unwrap_or(Match::NotPresent))
}

/// True when the mapping's ROI text designates an ROI called `roi_name`: exactly, or equal
/// after trimming the ROI name (exports sometimes pad names with spaces).
fn mapping_names(mapping_roi: &str, roi_name: &str) -> bool {
    roi_name == mapping_roi || roi_name.trim() == mapping_roi
}

/// The ROIs a mapping designates; an error when there are none.
fn mapped_rois<'a>(roi: &str, name: &str, rois: &[RoiName<'a>]) -> Result<Vec<RoiName<'a>>> {
    let found: Vec<RoiName<'a>> = rois
        .iter()
        .copied()
        .filter(|r| mapping_names(roi, r.name))
        .collect();
    if found.is_empty() {
        return Err(Error::usage(format!(
            "--map '{roi}={name}': the structure set has no ROI named '{roi}' (ROIs: {})",
            list_rois(rois)
        )));
    }
    Ok(found)
}

/// One candidate -> that match; none -> `None`; more -> the ambiguity error.
fn unique(found: &[RoiName<'_>], protocol_name: &str, how: MatchKind) -> Result<Option<Match>> {
    match found {
        [] => Ok(None),
        [one] => Ok(Some(Match::Found {
            roi: one.number,
            how,
        })),
        many => {
            let listed: Vec<String> = many
                .iter()
                .map(|r| format!("'{}' (ROI {})", r.name, r.number))
                .collect();
            let why = match how {
                MatchKind::Mapped => "are both mapped to it",
                MatchKind::Exact => "both have exactly its name",
                MatchKind::Alias => "both match its name or an alias",
            };
            Err(Error::usage(format!(
                "structure '{protocol_name}': ROIs {} {why}; choose one with \
                 --map \"ROI NAME={protocol_name}\"",
                join_and(&listed)
            )))
        }
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// ROI names in ROI-number order, quoted, for error messages.
fn list_rois(rois: &[RoiName<'_>]) -> String {
    if rois.is_empty() {
        return "none".into();
    }
    let mut sorted: Vec<&RoiName<'_>> = rois.iter().collect();
    sorted.sort_by_key(|r| r.number);
    sorted
        .iter()
        .map(|r| format!("'{}'", r.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORD: [&str; 5] = ["SpinalCord", "Cord", "Spinal Cord", "SPINAL_CORD", "CORD"];

    fn rois<'a>(names: &[&'a str]) -> Vec<RoiName<'a>> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| RoiName {
                number: i as i64 + 1,
                name,
            })
            .collect()
    }

    fn map(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(r, n)| (r.to_string(), n.to_string()))
            .collect()
    }

    fn find(names: &[&str], roi_names: &[&str], mappings: &[(String, String)]) -> Result<Match> {
        match_structure(names, &rois(roi_names), mappings, names[0])
    }

    #[test]
    fn normalize_folds_case_and_drops_separators() {
        assert_eq!(normalize("Spinal_Cord"), "spinalcord");
        assert_eq!(normalize(" SPINAL CORD "), "spinalcord");
        assert_eq!(normalize("Lungs-GTV"), "lungsgtv");
        assert_eq!(normalize("SpinalCord~"), "spinalcord~");
        assert_eq!(normalize("SpinalCord_PRV05"), "spinalcordprv05");
    }

    #[test]
    fn chinese_laterality_prefixes_become_the_suffix() {
        assert_eq!(normalize("左视神经"), normalize("视神经_L"));
        assert_eq!(normalize("右侧 股骨头"), normalize("股骨头_R"));
        assert_eq!(normalize("左臂丛神经"), "臂丛神经l");
        assert_ne!(normalize("左耳蜗"), normalize("耳蜗_R"));
        // Only a prefix counts, and a bare prefix stays a name of its own.
        assert_eq!(normalize("视神经左"), "视神经左");
        assert_eq!(normalize("左"), "左");
        let left = ["OpticNrv_L", "OpticNerve_L", "视神经_L"];
        assert_eq!(
            find(&left, &["右视神经", "左侧视神经"], &[]).unwrap(),
            Match::Found {
                roi: 2,
                how: MatchKind::Alias
            }
        );
        assert_eq!(find(&left, &["右视神经"], &[]).unwrap(), Match::NotPresent);
    }

    #[test]
    fn exact_then_alias() {
        assert_eq!(
            find(&CORD, &["PTV", "SpinalCord", "Esophagus"], &[]).unwrap(),
            Match::Found {
                roi: 2,
                how: MatchKind::Exact
            }
        );
        assert_eq!(
            find(&CORD, &["PTV", "spinal cord"], &[]).unwrap(),
            Match::Found {
                roi: 2,
                how: MatchKind::Alias
            }
        );
        assert_eq!(
            find(&CORD, &["CORD"], &[]).unwrap(),
            Match::Found {
                roi: 1,
                how: MatchKind::Alias
            }
        );
    }

    #[test]
    fn an_exact_name_does_not_hide_a_second_candidate() {
        for second in ["Cord", "spinal cord", "SPINAL_CORD"] {
            let e = find(&CORD, &["SpinalCord", second], &[]).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("'SpinalCord' (ROI 1)"), "{msg}");
            assert!(msg.contains(&format!("'{second}' (ROI 2)")), "{msg}");
            assert!(msg.contains("--map"), "{msg}");
            assert_eq!(e.exit_code(), crate::ExitCode::Usage);
        }
        // The mapping settles it.
        assert_eq!(
            find(
                &CORD,
                &["SpinalCord", "Cord"],
                &map(&[("SpinalCord", "SpinalCord")])
            )
            .unwrap(),
            Match::Found {
                roi: 1,
                how: MatchKind::Mapped
            }
        );
    }

    #[test]
    fn two_candidates_are_an_error_naming_both() {
        let e = find(&CORD, &["Cord", "SPINAL_CORD"], &[]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("'Cord' (ROI 1)") && msg.contains("'SPINAL_CORD' (ROI 2)"),
            "{msg}"
        );
        assert!(msg.contains("--map"), "{msg}");
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
        // Two ROIs with the same exact name.
        let e = find(&CORD, &["SpinalCord", "SpinalCord"], &[]).unwrap_err();
        assert!(e.to_string().contains("exactly its name"), "{e}");
    }

    #[test]
    fn a_mapping_resolves_the_ambiguity_and_wins() {
        let m = map(&[("SPINAL_CORD", "SpinalCord")]);
        assert_eq!(
            find(&CORD, &["Cord", "SPINAL_CORD", "SpinalCord"], &m).unwrap(),
            Match::Found {
                roi: 2,
                how: MatchKind::Mapped
            }
        );
    }

    #[test]
    fn a_mapped_roi_is_not_matched_to_another_structure() {
        // The user says "Cord" is the PRV; the cord itself must then not pick "Cord".
        let m = map(&[("Cord", "SpinalCord_PRV05")]);
        assert_eq!(find(&CORD, &["Cord"], &m).unwrap(), Match::NotPresent);
    }

    #[test]
    fn mapping_to_a_missing_roi_is_a_usage_error() {
        let m = map(&[("Spinal Cord", "SpinalCord")]);
        let e = find(&CORD, &["Cord", "PTV"], &m).unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
        assert!(e.to_string().contains("no ROI named 'Spinal Cord'"), "{e}");
        let r = rois(&["Cord", "PTV"]);
        let e = validate_mappings(&m, &r, &["SpinalCord"]).unwrap_err();
        assert!(e.to_string().contains("'Cord', 'PTV'"), "{e}");
    }

    #[test]
    fn validate_mappings_checks_names_and_duplicates() {
        let r = rois(&["Cord", "Cord2", "PTV"]);
        assert!(validate_mappings(&map(&[("Cord", "SpinalCord")]), &r, &["SpinalCord"]).is_ok());
        let e =
            validate_mappings(&map(&[("Cord", "SpinalKord")]), &r, &["SpinalCord"]).unwrap_err();
        assert!(e.to_string().contains("no structure 'SpinalKord'"), "{e}");
        let e = validate_mappings(
            &map(&[("Cord", "SpinalCord"), ("Cord2", "SpinalCord")]),
            &r,
            &["SpinalCord"],
        )
        .unwrap_err();
        assert!(e.to_string().contains("two ROIs"), "{e}");
    }

    #[test]
    fn prv_partial_and_not_for_evaluation_structures_do_not_match_the_organ() {
        for name in [
            "SpinalCord_PRV05",
            "SpinalCord_PRV",
            "Cord_PRV5",
            "SpinalCord~",
            "~SpinalCord",
            "SpinalCord^Avoid",
            "zSpinalCord",
            "z_SpinalCord",
            "_SpinalCord",
            "_Cord",
            "__CORD",
            "zCord",
        ] {
            assert_eq!(
                find(&CORD, &[name], &[]).unwrap(),
                Match::NotPresent,
                "{name}"
            );
        }
        // ...while the real cord beside them is found without ambiguity.
        assert_eq!(
            find(
                &CORD,
                &["_SpinalCord", "SpinalCord_PRV05", "Cord", "zCord"],
                &[]
            )
            .unwrap(),
            Match::Found {
                roi: 3,
                how: MatchKind::Alias
            }
        );
        assert!(is_not_for_evaluation("zPTV_opt"));
        assert!(!is_not_for_evaluation("zygoma"));
        assert!(!is_not_for_evaluation("Zygoma"));
    }

    #[test]
    fn laterality_is_part_of_the_name() {
        let left = ["BrachialPlex_L", "BrachialPlexus_L"];
        assert_eq!(
            find(&left, &["BrachialPlex_R", "BrachialPlexus_R"], &[]).unwrap(),
            Match::NotPresent
        );
        assert_eq!(
            find(&left, &["BrachialPlex_R", "brachial plexus l"], &[]).unwrap(),
            Match::Found {
                roi: 2,
                how: MatchKind::Alias
            }
        );
    }

    #[test]
    fn parse_mapping_splits_at_the_last_equals_sign() {
        assert_eq!(
            parse_mapping("Spinal Cord=SpinalCord").unwrap(),
            ("Spinal Cord".to_string(), "SpinalCord".to_string())
        );
        assert_eq!(
            parse_mapping(" a=b = SpinalCord ").unwrap(),
            ("a=b".to_string(), "SpinalCord".to_string())
        );
        for bad in ["", "SpinalCord", "=SpinalCord", "Cord=", " = "] {
            let e = parse_mapping(bad).unwrap_err();
            assert_eq!(e.exit_code(), crate::ExitCode::Usage, "{bad}");
        }
    }

    #[test]
    fn padded_roi_names_are_found_by_mapping_and_alias() {
        let m = map(&[("Cord", "SpinalCord")]);
        assert_eq!(
            find(&CORD, &["Cord "], &m).unwrap(),
            Match::Found {
                roi: 1,
                how: MatchKind::Mapped
            }
        );
        assert_eq!(
            find(&CORD, &[" Spinal Cord "], &[]).unwrap(),
            Match::Found {
                roi: 1,
                how: MatchKind::Alias
            }
        );
    }
}
