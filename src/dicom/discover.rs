//! Paths -> RT objects -> plan sets, linked by UID and checked by frame of reference.
//!
//! Every file under the given paths is read (in parallel); RT Dose, RT Structure Set,
//! RT Plan and RT Ion Plan objects are kept, other DICOM objects are counted by modality,
//! non-DICOM files are counted and skipped, and files that claim to be DICOM but cannot
//! be read are reported one line each.
//!
//! Linking: each RT Dose makes a plan set with the plan it references
//! (ReferencedRTPlanSequence) and that plan's structure set (ReferencedStructureSetSequence),
//! by SOP Instance UID only: a referenced object that is not among the inputs is a problem
//! of that plan set (its own data is not there), never replaced by another object of the
//! same frame of reference. Plans and structure sets not reached from a dose make plan sets
//! of their own. Objects of one plan set must share the frame of reference and the patient
//! (ID and name): a mismatch is a problem of that plan set (it cannot be evaluated), unless
//! a patient mismatch is accepted ([`LinkOptions`]), which the set records in
//! [`PlanSet::overrides`]. A dose whose DoseType is not PHYSICAL or EFFECTIVE is a problem of
//! its plan set.
//!
//! Files are never skipped silently: a file that cannot be opened (a dangling symbolic link,
//! no permission) and a file named like DICOM (`.dcm`) that is empty or not readable as
//! DICOM are errors ([`Discovery::file_errors`]).

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
    /// The paths searched, as given.
    pub roots: Vec<PathBuf>,
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
    /// Checks the user chose to override (e.g. a patient mismatch accepted), one line each.
    pub overrides: Vec<String>,
}

/// How objects are linked into plan sets.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkOptions {
    /// Pair objects whose patient ID or name differ (research exports anonymised one
    /// object at a time); each such pairing is recorded in [`PlanSet::overrides`].
    pub accept_patient_mismatch: bool,
    /// When a dose's plan is missing, pair the dose with the only structure set of its frame
    /// of reference (warned). For DVHs alone (`dvh`), which need no plan; a check never does.
    pub pair_dose_with_structures_by_frame: bool,
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
        } else if ft.is_file()
            || (ft.is_symlink() && (path.is_file() || std::fs::metadata(&path).is_err()))
        {
            // A symbolic link to a file, or one that leads nowhere (reported unreadable
            // when it is opened); links to folders and special files are not followed.
            out.insert(path);
        }
    }
    Ok(())
}

fn read_one(path: &Path) -> Result<Option<RtObject>> {
    let before = read::stamp(path)?;
    match read::open_unless_other(path)? {
        Some(read::Opened::Dicom(file)) => {
            let object = RtObject::from_file(&file)?;
            read::unchanged_since(path, &before)?;
            Ok(Some(object))
        }
        Some(read::Opened::Other(kind)) => Ok(Some(RtObject::Other(kind))),
        None if named_like_dicom(path) => Err(Error::invalid(
            path,
            "named like a DICOM file but empty or not readable as DICOM (truncated?)",
        )),
        None => Ok(None),
    }
}

/// True for a file name ending in `.dcm` (any case).
fn named_like_dicom(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dcm"))
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
    discover_with(paths, LinkOptions::default())
}

/// [`discover`], linking with `options`.
pub fn discover_with(paths: &[PathBuf], options: LinkOptions) -> Result<Discovery> {
    let files = list_files(paths)?;
    let results = read_all(&files);

    let mut d = Discovery {
        files: files.len(),
        roots: paths.to_vec(),
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
    d.plan_sets = link(doses, plans, structs, options);
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

/// The objects read -> the plan sets: one per dose (with the plan it references and that
/// plan's structure set), then one per plan no dose references, then one per structure set
/// nothing references.
fn link(
    doses: Vec<DoseGrid>,
    plans: Vec<Arc<Plan>>,
    structs: Vec<Arc<StructureSet>>,
    options: LinkOptions,
) -> Vec<PlanSet> {
    let mut linker = Linker {
        plan_by_uid: by_uid(&plans, |p| &p.sop_instance_uid),
        struct_by_uid: by_uid(&structs, |s| &s.sop_instance_uid),
        structs: &structs,
        options,
        used_plans: BTreeSet::new(),
        used_structs: BTreeSet::new(),
    };
    let mut sets: Vec<PlanSet> = doses.into_iter().map(|d| linker.dose_set(d)).collect();
    sets.extend(plans.iter().filter_map(|p| linker.plan_without_dose(p)));
    sets.extend(structs.iter().filter_map(|s| linker.lone_structure_set(s)));
    sets
}

/// The objects read, by UID, and the plans and structure sets already in a plan set.
struct Linker<'a> {
    plan_by_uid: BTreeMap<&'a str, Vec<&'a Arc<Plan>>>,
    struct_by_uid: BTreeMap<&'a str, Vec<&'a Arc<StructureSet>>>,
    structs: &'a [Arc<StructureSet>],
    options: LinkOptions,
    used_plans: BTreeSet<String>,
    used_structs: BTreeSet<String>,
}

impl Linker<'_> {
    /// A dose -> its plan set: the plan it references and that plan's structure set, or,
    /// without a plan and when asked, the only structure set of its frame of reference.
    fn dose_set(&mut self, dose: DoseGrid) -> PlanSet {
        let mut warnings = Vec::new();
        let mut problems = Vec::new();
        let plan = match dose.referenced_plan_uid.as_deref() {
            Some(uid) => referenced(&self.plan_by_uid, uid, "dose", "RT Plan", &mut problems),
            None => {
                warnings.push("dose references no RT Plan".to_string());
                None
            }
        };
        let mut structures = plan
            .as_ref()
            .and_then(|p| self.structures_of(p, &mut warnings, &mut problems));
        if plan.is_none() && self.options.pair_dose_with_structures_by_frame {
            if let Some(only) = self.only_of_frame(&dose) {
                // The plan is not needed for a DVH: its absence is worth a warning only.
                warnings.append(&mut problems);
                warnings.push(format!(
                    "paired with the only structure set of its frame of reference, {}",
                    file_name(&only.path)
                ));
                structures = Some(Arc::clone(only));
            }
        }
        if let Some(p) = &plan {
            self.used_plans.insert(p.sop_instance_uid.clone());
        }
        if let Some(s) = &structures {
            self.used_structs.insert(s.sop_instance_uid.clone());
        }
        let found = Found {
            dose: Some(Arc::new(dose)),
            plan,
            structures,
        };
        finish(found, warnings, problems, self.options)
    }

    /// A plan no dose references -> its plan set, with its structure set; `None` for a
    /// plan already in a dose's set.
    fn plan_without_dose(&mut self, plan: &Arc<Plan>) -> Option<PlanSet> {
        if self.used_plans.contains(&plan.sop_instance_uid) {
            return None;
        }
        let mut warnings = vec!["no RT Dose references this plan".to_string()];
        let mut problems = Vec::new();
        let structures = self.structures_of(plan, &mut warnings, &mut problems);
        if let Some(s) = &structures {
            self.used_structs.insert(s.sop_instance_uid.clone());
        }
        let found = Found {
            dose: None,
            plan: Some(Arc::clone(plan)),
            structures,
        };
        Some(finish(found, warnings, problems, self.options))
    }

    /// A structure set nothing references -> a plan set of its own; `None` for one already
    /// in a set.
    fn lone_structure_set(&self, s: &Arc<StructureSet>) -> Option<PlanSet> {
        if self.used_structs.contains(&s.sop_instance_uid) {
            return None;
        }
        let warnings = vec!["structure set without plan or dose".to_string()];
        let found = Found {
            dose: None,
            plan: None,
            structures: Some(Arc::clone(s)),
        };
        Some(finish(found, warnings, Vec::new(), self.options))
    }

    /// A plan -> the structure set it references (a warning when it references none, a
    /// problem when that one is not found once).
    fn structures_of(
        &self,
        plan: &Plan,
        warnings: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) -> Option<Arc<StructureSet>> {
        match plan.referenced_structure_set_uid.as_deref() {
            Some(uid) => referenced(&self.struct_by_uid, uid, "plan", "structure set", problems),
            None => {
                warnings.push("plan references no structure set".to_string());
                None
            }
        }
    }

    /// A dose -> the structure set of its frame of reference, when there is exactly one.
    fn only_of_frame(&self, dose: &DoseGrid) -> Option<&Arc<StructureSet>> {
        let same_frame: Vec<&Arc<StructureSet>> = self
            .structs
            .iter()
            .filter(|s| {
                s.frame_of_reference_uid.is_some()
                    && s.frame_of_reference_uid == dose.frame_of_reference_uid
            })
            .collect();
        match same_frame.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }
}

/// The object `uid` that a `from` references, when exactly one file has that UID; else
/// `None` and the problem: the object is not among the inputs, or several files share
/// its UID.
fn referenced<T>(
    by_uid: &BTreeMap<&str, Vec<&Arc<T>>>,
    uid: &str,
    from: &str,
    what: &str,
    problems: &mut Vec<String>,
) -> Option<Arc<T>> {
    match by_uid.get(uid).map(Vec::as_slice) {
        Some([one]) => Some(Arc::clone(one)),
        Some(_) => {
            problems.push(format!(
                "{from} references {what} {uid}, and several different files have that UID"
            ));
            None
        }
        None => {
            problems.push(format!(
                "{from} references {what} {uid}, which is not among the inputs (no object has that SOP Instance UID)"
            ));
            None
        }
    }
}

/// The objects linked into one plan set.
struct Found {
    dose: Option<Arc<DoseGrid>>,
    plan: Option<Arc<Plan>>,
    structures: Option<Arc<StructureSet>>,
}

/// Checks frame of reference, patient agreement and the dose type of one set.
fn finish(
    found: Found,
    mut warnings: Vec<String>,
    mut problems: Vec<String>,
    options: LinkOptions,
) -> PlanSet {
    let objects = linked_objects(&found);
    check_frames(&objects, &mut warnings, &mut problems);
    let overrides = check_patients(&objects, options, &mut problems);
    if let Some(d) = &found.dose {
        check_dose_type(d, &mut problems);
    }
    let Found {
        dose,
        plan,
        structures,
    } = found;
    PlanSet {
        dose,
        plan,
        structures,
        warnings,
        problems,
        overrides,
    }
}

/// One object of a plan set as the link checks see it: its kind, file, frame of reference
/// and patient.
type Linked<'a> = (&'a str, &'a Path, Option<&'a String>, &'a super::Patient);

/// The objects linked -> each one's kind, file, frame of reference and patient, in the
/// order dose, structure set, plan.
fn linked_objects(found: &Found) -> Vec<Linked<'_>> {
    [
        found.dose.as_ref().map(|d| {
            (
                "RT Dose",
                d.path.as_path(),
                d.frame_of_reference_uid.as_ref(),
                &d.patient,
            )
        }),
        found.structures.as_ref().map(|s| {
            (
                "RT Struct",
                s.path.as_path(),
                s.frame_of_reference_uid.as_ref(),
                &s.patient,
            )
        }),
        found.plan.as_ref().map(|p| {
            (
                "RT Plan",
                p.path.as_path(),
                p.frame_of_reference_uid.as_ref(),
                &p.patient,
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The objects' frames of reference -> a problem for each that differs from the first
/// one given, and a warning for a dose or structure set without one.
fn check_frames(objects: &[Linked<'_>], warnings: &mut Vec<String>, problems: &mut Vec<String>) {
    let named: Vec<_> = objects
        .iter()
        .filter_map(|(k, p, f, _)| f.map(|f| (*k, *p, f)))
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
    for (k, p, f, _) in objects {
        if f.is_none() && *k != "RT Plan" {
            warnings.push(format!(
                "{k} {} has no frame of reference UID",
                file_name(p)
            ));
        }
    }
}

/// The objects' patients -> a problem when they differ, or, when the user accepts that, the
/// override recorded (returned).
fn check_patients(
    objects: &[Linked<'_>],
    options: LinkOptions,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let patients: Vec<&super::Patient> = objects.iter().map(|o| o.3).collect();
    let mut overrides = Vec::new();
    if let Some(mismatch) = patient_mismatch(&patients) {
        if options.accept_patient_mismatch {
            overrides.push(format!(
                "patient mismatch accepted (--accept-patient-mismatch): {mismatch}"
            ));
        } else {
            problems.push(format!(
                "patient mismatch: {mismatch}; if these objects belong together (e.g. anonymised separately), use --accept-patient-mismatch"
            ));
        }
    }
    overrides
}

/// A dose -> a problem when its DoseType is missing or not a dose.
fn check_dose_type(d: &DoseGrid, problems: &mut Vec<String>) {
    match &d.dose_type {
        Some(t) if t.is_dose() => {}
        Some(t) => problems.push(format!(
            "{}: DoseType (3004,0004) is {}, not a dose (PHYSICAL or EFFECTIVE)",
            file_name(&d.path),
            t.as_str()
        )),
        None => problems.push(format!(
            "{}: missing DoseType (3004,0004): PHYSICAL or EFFECTIVE is required",
            file_name(&d.path)
        )),
    }
}

/// What differs between the patients of one plan set's objects (identifiers are not
/// named: they are patient data): IDs compared as they are, names after
/// [`normalized_name`]. `None` when they agree (a missing identifier agrees with any).
fn patient_mismatch(patients: &[&super::Patient]) -> Option<String> {
    let ids: BTreeSet<&str> = patients.iter().filter_map(|p| p.id.as_deref()).collect();
    let names: BTreeSet<String> = patients
        .iter()
        .filter_map(|p| p.name.as_deref().map(normalized_name))
        .collect();
    match (ids.len() > 1, names.len() > 1) {
        (false, false) => None,
        (true, false) => Some("the objects of this plan set have different patient IDs".into()),
        (false, true) => Some(
            "the objects of this plan set have the same patient ID but different patient names"
                .into(),
        ),
        (true, true) => {
            Some("the objects of this plan set have different patient IDs and names".into())
        }
    }
}

/// A PatientName for comparison: component separators (`^`) as spaces, runs of spaces
/// as one, no spaces at the ends, upper case. `DOE^JOHN`, `Doe^John^^^` and `doe john`
/// are the same name.
fn normalized_name(name: &str) -> String {
    name.replace('^', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
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
            // A --plan or --dose that names nothing found is a usage mistake (exit 2).
            [] => Err(match (&sel.plan_uid, &sel.dose_path) {
                (Some(uid), _) => Error::usage(format!("no RT Dose found for plan {uid}")),
                (_, Some(p)) => Error::usage(format!(
                    "{}: not among the RT Doses found",
                    crate::error::shown(p)
                )),
                _ => Error::NothingFound {
                    message: self.no_dose_message(),
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

    /// Where no RT Dose was found and what was found instead: `no RT Dose found among 2
    /// DICOM files in DIR (found 1 RTPLAN, 1 RTSTRUCT)`.
    fn no_dose_message(&self) -> String {
        let mut plans = BTreeSet::new();
        let mut structures = BTreeSet::new();
        for s in &self.plan_sets {
            plans.extend(s.plan.as_ref().map(|p| p.path.clone()));
            structures.extend(s.structures.as_ref().map(|x| x.path.clone()));
        }
        let mut found: Vec<String> = Vec::new();
        for (n, modality) in [(plans.len(), "RTPLAN"), (structures.len(), "RTSTRUCT")] {
            if n > 0 {
                found.push(format!("{n} {modality}"));
            }
        }
        found.extend(self.other_objects.iter().map(|(m, n)| format!("{n} {m}")));
        let dicom = self
            .files
            .saturating_sub(self.non_dicom + self.file_errors.len());
        format!(
            "no RT Dose found among {} in {} (found {})",
            crate::report::plural(dicom, "DICOM file"),
            self.roots
                .iter()
                .map(|p| crate::error::shown(p))
                .collect::<Vec<_>>()
                .join(", "),
            if found.is_empty() {
                "no RT object".to_string()
            } else {
                found.join(", ")
            }
        )
    }

    /// True when nothing RT was found.
    pub fn is_empty(&self) -> bool {
        self.plan_sets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::Patient;

    fn patient(id: Option<&str>, name: Option<&str>) -> Patient {
        Patient {
            id: id.map(String::from),
            name: name.map(String::from),
        }
    }

    #[test]
    fn patient_names_are_compared_without_separators_case_or_spacing() {
        assert_eq!(
            normalized_name("Doe^John^^^"),
            normalized_name(" doe  JOHN ")
        );
        let same = [
            patient(Some("1"), Some("DOE^JOHN")),
            patient(Some("1"), Some("Doe John ")),
            patient(None, None),
        ];
        assert_eq!(patient_mismatch(&same.iter().collect::<Vec<_>>()), None);
        let other_name = [
            patient(Some("1"), Some("DOE^JOHN")),
            patient(Some("1"), Some("ROE^JANE")),
        ];
        let m = patient_mismatch(&other_name.iter().collect::<Vec<_>>()).unwrap();
        assert!(
            m.contains("same patient ID but different patient names"),
            "{m}"
        );
        assert!(
            !m.contains("DOE") && !m.contains("ROE"),
            "no patient data: {m}"
        );
        let other_id = [patient(Some("1"), None), patient(Some("2"), None)];
        assert!(patient_mismatch(&other_id.iter().collect::<Vec<_>>())
            .unwrap()
            .contains("different patient IDs"));
    }
}
