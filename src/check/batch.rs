//! Many plan sets -> one [`CheckOutcome`] each, checked in parallel, in plan-set order.
//!
//! Each plan set is checked on its own: a plan set that cannot be checked (a `--map` that
//! does not fit its structure set, or even a panic in the check) gets verdict ERROR with
//! the reason, and the others go on. The outcomes come back in the order of the plan sets,
//! whichever finishes first, so the output of a batch does not depend on thread timing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{check, CheckOptions, CheckOutcome, Verdict};
use crate::dicom::{Discovery, PlanSet};
use crate::protocol::Protocol;

/// The plan sets a batch checks: every plan set with an RT Dose, root by root in the order
/// the roots were given ([`Discovery::roots`]), in discovery order within a root.
pub fn plan_sets_with_dose(found: &Discovery) -> Vec<&PlanSet> {
    let mut sets: Vec<&PlanSet> = found
        .plan_sets
        .iter()
        .filter(|s| s.dose.is_some())
        .collect();
    sets.sort_by_key(|s| root_of(s, &found.roots).map_or(usize::MAX, |(i, _)| i));
    sets
}

/// The dose's folder (its plan set's folder).
fn dose_folder(set: &PlanSet) -> Option<&Path> {
    set.dose.as_ref().and_then(|d| d.path.parent())
}

/// The first of `roots` that holds the plan set's dose, with its index.
fn root_of<'a>(set: &PlanSet, roots: &'a [PathBuf]) -> Option<(usize, &'a Path)> {
    let dose = &set.dose.as_ref()?.path;
    roots
        .iter()
        .enumerate()
        .find(|(_, r)| dose.starts_with(r))
        .map(|(i, r)| (i, r.as_path()))
}

/// The plan set's folder as a short name for its report folder: the dose's folder relative
/// to the root that holds it, else (the root is that folder, or the dose file itself) the
/// folder's own name. Never the patient's data: only folder names the user chose.
pub fn folder_label(set: &PlanSet, roots: &[PathBuf]) -> PathBuf {
    let Some(folder) = dose_folder(set) else {
        return PathBuf::new();
    };
    let relative = root_of(set, roots)
        .and_then(|(_, root)| folder.strip_prefix(root).ok())
        .filter(|r| !r.as_os_str().is_empty());
    match relative {
        Some(r) => r.to_path_buf(),
        None => std::fs::canonicalize(folder)
            .ok()
            .and_then(|f| f.file_name().map(PathBuf::from))
            .unwrap_or_default(),
    }
}

/// Checks each plan set; outcome `i` belongs to `sets[i]`. `done` is called once per
/// finished plan set, from any thread (e.g. to advance a progress bar).
pub fn check_all(
    sets: &[&PlanSet],
    protocol: &Protocol,
    opts: &CheckOptions,
    done: &(dyn Fn() + Sync),
) -> Vec<CheckOutcome> {
    sets.par_iter()
        .map(|set| {
            let outcome = match catch_unwind(AssertUnwindSafe(|| check(set, protocol, opts))) {
                Ok(Ok(o)) => o,
                Ok(Err(e)) => CheckOutcome::not_checked(set, e.to_string()),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown".to_string());
                    CheckOutcome::not_checked(set, format!("internal error in the check: {what}"))
                }
            };
            done();
            outcome
        })
        .collect()
}

/// The worst of the verdicts: ERROR over FAIL over PASS. No verdict at all is ERROR
/// (nothing checked is never a pass).
pub fn worst_verdict(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut worst: Option<Verdict> = None;
    for v in verdicts {
        worst = Some(match (worst, v) {
            (_, Verdict::Error) | (Some(Verdict::Error), _) => Verdict::Error,
            (_, Verdict::Fail) | (Some(Verdict::Fail), _) => Verdict::Fail,
            _ => Verdict::Pass,
        });
    }
    worst.unwrap_or(Verdict::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Error, Fail, Pass};

    #[test]
    fn worst_verdict_is_error_then_fail_then_pass() {
        assert_eq!(worst_verdict([Pass, Pass]), Pass);
        assert_eq!(worst_verdict([Pass, Fail, Pass]), Fail);
        assert_eq!(worst_verdict([Fail, Error, Pass]), Error);
        assert_eq!(worst_verdict([Error, Fail]), Error);
        assert_eq!(worst_verdict([Pass]), Pass);
        assert_eq!(worst_verdict([]), Error);
    }

    #[test]
    fn a_plan_set_without_a_structure_set_is_an_error_and_the_batch_goes_on() {
        let empty = PlanSet {
            dose: None,
            plan: None,
            structures: None,
            warnings: vec![],
            problems: vec!["frame of reference mismatch".into()],
            overrides: vec![],
        };
        let protocol = crate::protocol::builtin("nct06863584").unwrap();
        let count = std::sync::atomic::AtomicUsize::new(0);
        let out = check_all(
            &[&empty, &empty],
            &protocol,
            &CheckOptions::default(),
            &|| {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        );
        assert_eq!(out.len(), 2);
        assert_eq!(count.into_inner(), 2);
        for o in &out {
            assert_eq!(o.verdict, Error);
            assert!(o.errors.iter().any(|e| e.contains("frame of reference")));
        }
    }
}
