//! Paths -> RT objects -> plan sets, linked by UID and checked by frame of reference.
//!
//! Every file under the given paths is read (in parallel); RT Dose, RT Structure Set,
//! RT Plan and RT Ion Plan objects are kept, other DICOM objects are counted by modality,
//! non-DICOM files are counted and skipped, and files that claim to be DICOM but cannot
//! be read are reported one line each.
//!
//! Linking: each RT Dose makes a plan set with the plan it references
//! (ReferencedRTPlanSequence) and that plan's structure set (ReferencedStructureSetSequence).
//! A dose without a usable plan reference is linked to the only plan / structure set in its
//! frame of reference, with a warning. Plans and structure sets not reached from a dose
//! make plan sets of their own. Objects of one plan set must share the frame of reference
//! and the patient: a mismatch is a problem of that plan set (it cannot be evaluated).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::read;
use super::{DoseGrid, Plan, RtObject, StructureSet};
use crate::error::{Error, Result};

/// Everything found under the given paths.
#[derive(Debug, Default)]
pub struct Discovery {
    pub plan_sets: Vec<PlanSet>,
    /// Files read.
    pub files: usize,
    /// Non-RT DICOM objects by modality.
    pub other_objects: BTreeMap<String, usize>,
    /// Files that are not DICOM.
    pub non_dicom: usize,
    /// Files that could not be read, one error each.
    pub file_errors: Vec<Error>,
    /// Warnings not tied to one plan set.
    pub warnings: Vec<String>,
}

/// A dose with the plan and structure set it belongs to (any may be missing).
#[derive(Debug, Clone)]
pub struct PlanSet {
    pub dose: Option<Arc<DoseGrid>>,
    pub plan: Option<Arc<Plan>>,
    pub structures: Option<Arc<StructureSet>>,
    /// Worth knowing; does not stop evaluation.
    pub warnings: Vec<String>,
    /// Inconsistencies that make the set impossible to evaluate (e.g. frame of reference).
    pub problems: Vec<String>,
}

impl PlanSet {
    /// A short name: the plan label, else the dose file name, else the structure set label.
    pub fn title(&self) -> String {
        if let Some(p) = &self.plan {
            return p
                .label
                .clone()
                .or_else(|| p.name.clone())
                .unwrap_or_else(|| file_name(&p.path));
        }
        if let Some(d) = &self.dose {
            return file_name(&d.path);
        }
        if let Some(s) = &self.structures {
            return s.label.clone().unwrap_or_else(|| file_name(&s.path));
        }
        "(empty)".to_string()
    }

    /// Every warning of the set: the linking's, then each object's (prefixed with what it
    /// is). Every command prints this one list.
    pub fn all_warnings(&self) -> Vec<String> {
        let mut warnings = self.warnings.clone();
        for (what, w) in [
            ("RT Dose", self.dose.as_ref().map(|d| &d.warnings)),
            ("RT Plan", self.plan.as_ref().map(|p| &p.warnings)),
            ("RT Struct", self.structures.as_ref().map(|x| &x.warnings)),
        ] {
            for w in w.into_iter().flatten() {
                warnings.push(format!("{what}: {w}"));
            }
        }
        warnings
    }

    /// Patient identifiers of the set (from the first object that has them).
    pub fn patient(&self) -> super::Patient {
        let candidates = [
            self.plan.as_ref().map(|p| &p.patient),
            self.dose.as_ref().map(|d| &d.patient),
            self.structures.as_ref().map(|s| &s.patient),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|p| p.id.is_some() || p.name.is_some())
            .cloned()
            .unwrap_or_default()
    }
}

/// How a command that needs one plan set picks it.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// SOP Instance UID of the RT Plan.
    pub plan_uid: Option<String>,
    /// Path of the RT Dose file.
    pub dose_path: Option<PathBuf>,
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| crate::error::shown(p))
}

/// Lists the files under `paths` (folders recursively), sorted, without duplicates.
pub fn list_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = BTreeSet::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.insert(p.clone());
        }
    }
    Ok(out.into_iter().collect())
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            out.insert(path);
        }
    }
    Ok(())
}

fn read_one(path: &Path) -> Result<Option<RtObject>> {
    match read::open_unless_other(path)? {
        Some(read::Opened::Dicom(file)) => RtObject::from_file(&file).map(Some),
        Some(read::Opened::Other(kind)) => Ok(Some(RtObject::Other(kind))),
        None => Ok(None),
    }
}

/// Reads `files`, the largest first, each thread taking the next file when it is done
/// with one ([`crate::par::map_longest_first`]): the dose and the structure set start
/// together and the plan goes to the first thread free (rayon's halving of the list in
/// name order gave one thread the plan and then the structure set while the other read
/// the dose alone). The results come back in the order of `files`.
fn read_all(files: &[PathBuf]) -> Vec<Result<Option<RtObject>>> {
    let size = |p: &PathBuf| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64);
    crate::par::map_longest_first(files, size, |p| read_one(p))
}

/// Reads every file under `paths` and links the RT objects into plan sets.
///
/// Fails only when a path itself cannot be listed; unreadable files are collected in
/// [`Discovery::file_errors`].
pub fn discover(paths: &[PathBuf]) -> Result<Discovery> {
    let files = list_files(paths)?;
    let results = read_all(&files);

    let mut d = Discovery {
        files: files.len(),
        ..Default::default()
    };
    let mut doses = Vec::new();
    let mut plans: Vec<Arc<Plan>> = Vec::new();
    let mut structs: Vec<Arc<StructureSet>> = Vec::new();
    for r in results {
        match r {
            Ok(Some(RtObject::Dose(x))) => doses.push(x),
            Ok(Some(RtObject::Plan(x))) => plans.push(Arc::new(x)),
            Ok(Some(RtObject::Structures(x))) => structs.push(Arc::new(x)),
            Ok(Some(RtObject::Other(m))) => *d.other_objects.entry(m).or_default() += 1,
            Ok(None) => d.non_dicom += 1,
            Err(e) => d.file_errors.push(e),
        }
    }
    warn_shared_uids(&doses, &plans, &structs, &mut d.warnings);
    d.plan_sets = link(doses, plans, structs);
    Ok(d)
}

/// Objects by SOP Instance UID; more than one per UID when different files share a UID.
fn by_uid<T>(items: &[Arc<T>], uid: impl Fn(&T) -> &String) -> BTreeMap<&str, Vec<&Arc<T>>> {
    let mut m: BTreeMap<&str, Vec<&Arc<T>>> = BTreeMap::new();
    for it in items {
        m.entry(uid(it).as_str()).or_default().push(it);
    }
    m
}

/// Different files with one SOP Instance UID: worth a warning (seen in exports that copy a
/// template's UID), and a problem for whatever references that UID.
fn warn_shared_uids(
    doses: &[DoseGrid],
    plans: &[Arc<Plan>],
    structs: &[Arc<StructureSet>],
    warnings: &mut Vec<String>,
) {
    let mut seen: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
    let all = doses
        .iter()
        .map(|x| (x.sop_instance_uid.as_str(), x.path.as_path()))
        .chain(
            plans
                .iter()
                .map(|x| (x.sop_instance_uid.as_str(), x.path.as_path())),
        )
        .chain(
            structs
                .iter()
                .map(|x| (x.sop_instance_uid.as_str(), x.path.as_path())),
        );
    for (uid, path) in all {
        seen.entry(uid).or_default().push(path);
    }
    for (uid, paths) in seen {
        if paths.len() > 1 {
            warnings.push(format!(
                "{} files share SOP Instance UID {uid}: {}",
                paths.len(),
                paths
                    .iter()
                    .map(|p| crate::error::shown(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

fn same_frame<'a>(a: Option<&'a String>, b: Option<&'a String>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x == y)
}

fn link(
    doses: Vec<DoseGrid>,
    plans: Vec<Arc<Plan>>,
    structs: Vec<Arc<StructureSet>>,
) -> Vec<PlanSet> {
    let plan_by_uid = by_uid(&plans, |p| &p.sop_instance_uid);
    let struct_by_uid = by_uid(&structs, |s| &s.sop_instance_uid);
    let mut used_plans = BTreeSet::new();
    let mut used_structs = BTreeSet::new();
    let mut sets = Vec::new();

    let structures_of = |plan: &Plan, warnings: &mut Vec<String>, problems: &mut Vec<String>| {
        match plan.referenced_structure_set_uid.as_deref() {
            Some(uid) => match struct_by_uid.get(uid).map(Vec::as_slice) {
                Some([s]) => Some(Arc::clone(s)),
                Some(_) => {
                    problems.push(format!(
                        "plan references structure set {uid}, and several different files have that UID"
                    ));
                    None
                }
                None => {
                    warnings.push(format!(
                        "plan references structure set {uid}, which was not found"
                    ));
                    None
                }
            },
            None => {
                warnings.push("plan references no structure set".to_string());
                None
            }
        }
    };

    for dose in doses {
        let mut warnings = Vec::new();
        let mut problems = Vec::new();
        let dose_frame = dose.frame_of_reference_uid.clone();
        let mut plan = match dose.referenced_plan_uid.as_deref() {
            Some(uid) => match plan_by_uid.get(uid).map(Vec::as_slice) {
                Some([p]) => Some(Arc::clone(p)),
                Some(_) => {
                    problems.push(format!(
                        "dose references plan {uid}, and several different files have that UID"
                    ));
                    None
                }
                None => {
                    warnings.push(format!("dose references plan {uid}, which was not found"));
                    None
                }
            },
            None => {
                warnings.push("dose references no RT Plan".to_string());
                None
            }
        };
        if plan.is_none() && problems.is_empty() {
            let candidates: Vec<_> = plans
                .iter()
                .filter(|p| same_frame(p.frame_of_reference_uid.as_ref(), dose_frame.as_ref()))
                .collect();
            if let [only] = candidates.as_slice() {
                warnings.push(
                    "plan linked by frame of reference only (the only plan in it)".to_string(),
                );
                plan = Some(Arc::clone(only));
            }
        }
        let mut structures = plan
            .as_ref()
            .and_then(|p| structures_of(p, &mut warnings, &mut problems));
        if structures.is_none() && problems.is_empty() {
            let candidates: Vec<_> = structs
                .iter()
                .filter(|s| same_frame(s.frame_of_reference_uid.as_ref(), dose_frame.as_ref()))
                .collect();
            match candidates.as_slice() {
                [only] => {
                    warnings.push(
                        "structure set linked by frame of reference only (the only one in it)"
                            .to_string(),
                    );
                    structures = Some(Arc::clone(only));
                }
                [] => {}
                many => warnings.push(format!(
                    "{} structure sets share the dose's frame of reference and none is referenced; give the files explicitly",
                    many.len()
                )),
            }
        }
        if let Some(p) = &plan {
            used_plans.insert(p.sop_instance_uid.clone());
        }
        if let Some(s) = &structures {
            used_structs.insert(s.sop_instance_uid.clone());
        }
        sets.push(finish(
            Some(Arc::new(dose)),
            plan,
            structures,
            warnings,
            problems,
        ));
    }
    for plan in &plans {
        if used_plans.contains(&plan.sop_instance_uid) {
            continue;
        }
        let mut warnings = vec!["no RT Dose references this plan".to_string()];
        let mut problems = Vec::new();
        let structures = structures_of(plan, &mut warnings, &mut problems);
        if let Some(s) = &structures {
            used_structs.insert(s.sop_instance_uid.clone());
        }
        sets.push(finish(
            None,
            Some(Arc::clone(plan)),
            structures,
            warnings,
            problems,
        ));
    }
    for s in &structs {
        if used_structs.contains(&s.sop_instance_uid) {
            continue;
        }
        let warnings = vec!["structure set without plan or dose".to_string()];
        sets.push(finish(
            None,
            None,
            Some(Arc::clone(s)),
            warnings,
            Vec::new(),
        ));
    }
    sets
}

/// Checks frame of reference and patient agreement of one set.
fn finish(
    dose: Option<Arc<DoseGrid>>,
    plan: Option<Arc<Plan>>,
    structures: Option<Arc<StructureSet>>,
    mut warnings: Vec<String>,
    mut problems: Vec<String>,
) -> PlanSet {
    let frames: Vec<(&str, &Path, Option<&String>)> = [
        dose.as_ref().map(|d| {
            (
                "RT Dose",
                d.path.as_path(),
                d.frame_of_reference_uid.as_ref(),
            )
        }),
        structures.as_ref().map(|s| {
            (
                "RT Struct",
                s.path.as_path(),
                s.frame_of_reference_uid.as_ref(),
            )
        }),
        plan.as_ref().map(|p| {
            (
                "RT Plan",
                p.path.as_path(),
                p.frame_of_reference_uid.as_ref(),
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let named: Vec<_> = frames
        .iter()
        .filter_map(|(k, p, f)| f.map(|f| (*k, *p, f)))
        .collect();
    if let Some((k0, p0, f0)) = named.first() {
        for (k, p, f) in &named[1..] {
            if f != f0 {
                problems.push(format!(
                    "frame of reference mismatch: {k0} {} has {f0}, {k} {} has {f}",
                    file_name(p0),
                    file_name(p)
                ));
            }
        }
    }
    for (k, p, f) in &frames {
        if f.is_none() && *k != "RT Plan" {
            warnings.push(format!(
                "{k} {} has no frame of reference UID",
                file_name(p)
            ));
        }
    }
    let ids: BTreeSet<&String> = [
        dose.as_ref().and_then(|d| d.patient.id.as_ref()),
        structures.as_ref().and_then(|s| s.patient.id.as_ref()),
        plan.as_ref().and_then(|p| p.patient.id.as_ref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if ids.len() > 1 {
        problems.push("the objects of this plan set have different patient IDs".to_string());
    }
    PlanSet {
        dose,
        plan,
        structures,
        warnings,
        problems,
    }
}

impl Discovery {
    /// Picks the one plan set a command works on: by `--plan UID` or `--dose FILE`, else the
    /// only plan set with a dose. Errors say how to choose.
    pub fn select(&self, sel: &Selection) -> Result<&PlanSet> {
        let with_dose: Vec<&PlanSet> = self.plan_sets.iter().filter(|s| s.dose.is_some()).collect();
        let chosen: Vec<&PlanSet> = if let Some(uid) = &sel.plan_uid {
            with_dose
                .into_iter()
                .filter(|s| s.plan.as_ref().is_some_and(|p| &p.sop_instance_uid == uid))
                .collect()
        } else if let Some(path) = &sel.dose_path {
            let want = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            with_dose
                .into_iter()
                .filter(|s| {
                    s.dose.as_ref().is_some_and(|d| {
                        std::fs::canonicalize(&d.path).unwrap_or_else(|_| d.path.clone()) == want
                    })
                })
                .collect()
        } else {
            with_dose
        };
        match chosen.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::NothingFound {
                message: match (&sel.plan_uid, &sel.dose_path) {
                    (Some(uid), _) => format!("no RT Dose found for plan {uid}"),
                    (_, Some(p)) => {
                        format!("{}: not among the RT Doses found", crate::error::shown(p))
                    }
                    _ => "no RT Dose found".to_string(),
                },
            }),
            many => Err(Error::usage(format!(
                "{} plan sets with a dose found; choose one with --dose FILE ({}) or --plan UID",
                many.len(),
                many.iter()
                    .filter_map(|s| s.dose.as_ref().map(|d| crate::error::shown(&d.path)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// True when nothing RT was found.
    pub fn is_empty(&self) -> bool {
        self.plan_sets.is_empty()
    }
}
