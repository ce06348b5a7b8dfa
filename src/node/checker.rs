//! New objects in `incoming/` -> checks of the plan sets they complete.
//!
//! The [`Checker`] keeps the RT objects received since they were last part of a check
//! (pending). A round ([`Checker::run_round`], after each association or folder scan)
//! links the pending objects and the stored objects they reference (found in `incoming/`
//! by their UIDs, the file names) into plan sets ([`crate::dicom::discover`]) and checks
//! each set that has an RT Dose and pending objects and is complete: plan and structure
//! set linked, or a problem that makes it impossible to evaluate (which the check turns
//! into ERROR: a set is never left waiting for an object it can never get). Each check
//! writes its report folder and one [`CheckLine`] in `checks.jsonl`. Sets still missing an
//! object stay pending; [`Checker::list_waiting`] logs them once they have waited the
//! settle time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use super::log::EventLog;
use super::{store, time, NodeOptions};
use crate::check::{batch, CheckOutcome, Verdict};
use crate::dicom::{self, PlanSet};
use crate::error::{Error, Result};
use crate::report::batch::{self as batchreport, FailingConstraint};
use crate::report::inspect::PatientReport;
use crate::report::{check as checkreport, folder, SCHEMA_VERSION};

/// Where and from whom an object came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// UTC, RFC 3339.
    pub received_at: String,
    /// The calling AE title (`listen`), or `folder` (`watch`).
    pub calling_ae: String,
}

#[derive(Debug)]
struct Pending {
    arrival: Arrival,
    since: Instant,
}

/// A plan set that misses an object, as found by the last round.
#[derive(Debug)]
struct Waiting {
    files: BTreeSet<PathBuf>,
    description: String,
    listed: bool,
}

#[derive(Debug, Default)]
struct State {
    pending: BTreeMap<PathBuf, Pending>,
    waiting: Vec<Waiting>,
    /// The files of the sets checked since the node started, by each UID they involve: an
    /// object received again with other bytes brings back the sets it belongs to.
    linked: BTreeMap<String, BTreeSet<PathBuf>>,
}

/// One line of `checks.jsonl` (a contract: fields are added, never renamed).
#[derive(Debug, Serialize)]
pub struct CheckLine {
    pub schema_version: &'static str,
    /// When the last new object of the plan set arrived (UTC, RFC 3339).
    pub received_at: String,
    /// Who sent the new objects (several joined by `,`).
    pub calling_ae: String,
    pub plan_label: String,
    pub plan_sop_instance_uid: Option<String>,
    /// `***` unless `--show-phi`.
    pub patient: PatientReport,
    pub verdict: Verdict,
    pub exit_code: u8,
    /// The report folder, relative to the node folder.
    pub report_dir: String,
    /// Mandatory constraints missed.
    pub failing: Vec<FailingConstraint>,
    /// Plan facts that contradict the protocol (fractions, prescription).
    pub failures: Vec<String>,
    /// Why the plan set could not be evaluated.
    pub errors: Vec<String>,
}

/// Checks plan sets as their objects arrive.
#[derive(Debug)]
pub struct Checker {
    opts: NodeOptions,
    incoming: PathBuf,
    log: Arc<EventLog>,
    state: Mutex<State>,
}

/// The files of a plan set.
fn files_of(set: &PlanSet) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    if let Some(d) = &set.dose {
        files.insert(d.path.clone());
    }
    if let Some(p) = &set.plan {
        files.insert(p.path.clone());
    }
    if let Some(s) = &set.structures {
        files.insert(s.path.clone());
    }
    files
}

/// What a plan set has and misses, for the waiting list.
fn describe_waiting(set: &PlanSet) -> String {
    let parts = [
        ("RT Dose", set.dose.is_some()),
        ("RT Plan", set.plan.is_some()),
        ("RT Structure Set", set.structures.is_some()),
    ];
    let missing: Vec<&str> = parts.iter().filter(|p| !p.1).map(|p| p.0).collect();
    let uid = set
        .plan
        .as_ref()
        .map(|p| format!(" (plan {})", p.sop_instance_uid))
        .unwrap_or_default();
    format!(
        "plan set '{}'{uid} waits for: {}",
        set.title(),
        missing.join(", ")
    )
}

/// A set is checked when nothing more can arrive that it needs: the objects it references
/// by UID have arrived (`arrived`: a UID has a stored object; a dose waits for its plan even
/// when another plan of its frame of reference is there), and it is complete or broken.
fn ready(set: &PlanSet, arrived: impl Fn(&str) -> bool) -> bool {
    let Some(dose) = &set.dose else {
        return false;
    };
    let plan_arrived = dose.referenced_plan_uid.as_deref().is_none_or(&arrived);
    let structures_arrived = set
        .plan
        .as_ref()
        .and_then(|p| p.referenced_structure_set_uid.as_deref())
        .is_none_or(&arrived);
    if !plan_arrived || !structures_arrived {
        return false;
    }
    !set.problems.is_empty() || (set.plan.is_some() && set.structures.is_some())
}

/// The SOP Instance UIDs a plan set is made of or references.
fn involved_uids(set: &PlanSet) -> BTreeSet<String> {
    let mut uids = BTreeSet::new();
    if let Some(d) = &set.dose {
        uids.insert(d.sop_instance_uid.clone());
        uids.extend(d.referenced_plan_uid.clone());
    }
    if let Some(p) = &set.plan {
        uids.insert(p.sop_instance_uid.clone());
        uids.extend(p.referenced_structure_set_uid.clone());
    }
    if let Some(s) = &set.structures {
        uids.insert(s.sop_instance_uid.clone());
    }
    uids
}

/// The report folder name: `<time>-<plan label>-<last 8 characters of the plan UID>`,
/// reduced to letters, digits, `.`, `_` and `-`.
fn report_folder_name(stamp: &str, set: &PlanSet) -> String {
    let safe = |s: &str, max: usize| -> String {
        let t: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .take(max)
            .collect();
        t.trim_start_matches('.').to_string()
    };
    let label = safe(&set.title(), 40);
    let uid = set.plan.as_ref().map_or_else(
        || "noplan".to_string(),
        |p| {
            let u = &p.sop_instance_uid;
            safe(&u[u.len().saturating_sub(8)..], 8)
        },
    );
    format!(
        "{stamp}-{}-{uid}",
        if label.is_empty() { "plan" } else { &label }
    )
}

impl Checker {
    pub fn new(opts: NodeOptions, incoming: &Path, log: Arc<EventLog>) -> Checker {
        Checker {
            opts,
            incoming: incoming.to_path_buf(),
            log,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a new RT object, to be checked with its plan set.
    pub fn add(&self, path: PathBuf, arrival: Arrival) {
        self.state().pending.insert(
            path,
            Pending {
                arrival,
                since: Instant::now(),
            },
        );
    }

    /// Checks every ready plan set with pending objects; returns the lines written to
    /// `checks.jsonl`. Fails only when `incoming/`, a report or `checks.jsonl` cannot be
    /// written or read.
    pub fn run_round(&self) -> Result<Vec<CheckLine>> {
        let pending: BTreeMap<PathBuf, Arrival> = self
            .state()
            .pending
            .iter()
            .map(|(p, x)| (p.clone(), x.arrival.clone()))
            .collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.discover_scope(&pending)?;
        // Unreadable new objects: logged, and an ERROR for every set checked in this round
        // (one of them may be the object a set should have had).
        let unreadable: Vec<&Error> = found
            .file_errors
            .iter()
            .filter(|e| error_path(e).is_some_and(|p| pending.contains_key(p)))
            .collect();
        for e in &unreadable {
            self.log.event(&format!("unreadable object: {e}"));
        }
        let (to_check, waiting) = self.ready_or_waiting(&found.plan_sets, &pending);
        let outcomes = batch::check_all(&to_check, &self.opts.protocol, &self.opts.check, &|| {});
        let mut lines = Vec::new();
        let mut done: BTreeSet<PathBuf> = unreadable
            .iter()
            .filter_map(|e| error_path(e).cloned())
            .collect();
        for (set, mut outcome) in to_check.into_iter().zip(outcomes) {
            for e in &unreadable {
                outcome.errors.push(format!("unreadable input: {e}"));
                outcome.verdict = Verdict::Error;
            }
            let (uids, files) = self.refuse_duplicate_uids(set, &mut outcome);
            let arrivals: Vec<&Arrival> = files.iter().filter_map(|f| pending.get(f)).collect();
            let line = self.write_check(set, &outcome, &arrivals)?;
            self.log.event(&format!(
                "checked plan '{}' ({}): {} -> {}",
                line.plan_label,
                line.plan_sop_instance_uid.as_deref().unwrap_or("no plan"),
                checkreport::verdict_text(line.verdict),
                line.report_dir
            ));
            lines.push(line);
            let mut state = self.state();
            for uid in uids {
                state
                    .linked
                    .entry(uid)
                    .or_default()
                    .extend(files.iter().cloned());
            }
            drop(state);
            done.extend(files);
        }
        self.end_round(&done, waiting);
        Ok(lines)
    }

    /// The plan sets found -> those concerned by a pending object, split into the ones
    /// ready to check and the ones waiting for an object (with the files they wait with).
    fn ready_or_waiting<'a>(
        &self,
        plan_sets: &'a [PlanSet],
        pending: &BTreeMap<PathBuf, Arrival>,
    ) -> (Vec<&'a PlanSet>, Vec<Waiting>) {
        let mut to_check: Vec<&PlanSet> = Vec::new();
        let mut waiting = Vec::new();
        for set in plan_sets {
            // Its objects, and the other objects stored under the UIDs it uses (a plan
            // received again with other bytes concerns the dose that references it).
            let mut files = files_of(set);
            for uid in involved_uids(set) {
                files.extend(self.files_for_uid(&uid));
            }
            if !files.iter().any(|f| pending.contains_key(f)) {
                continue;
            }
            if ready(set, |uid| !self.files_for_uid(uid).is_empty()) {
                to_check.push(set);
            } else {
                waiting.push(Waiting {
                    description: describe_waiting(set),
                    files,
                    listed: false,
                });
            }
        }
        (to_check, waiting)
    }

    /// A set about to be reported -> the UIDs it uses and every file stored under them; an
    /// ERROR in `outcome` for each UID received twice with different bytes (which version
    /// the planning system meant is unknown, so the set cannot be evaluated).
    fn refuse_duplicate_uids(
        &self,
        set: &PlanSet,
        outcome: &mut CheckOutcome,
    ) -> (BTreeSet<String>, BTreeSet<PathBuf>) {
        let mut files = files_of(set);
        let uids = involved_uids(set);
        for uid in &uids {
            let same = self.files_for_uid(uid);
            if same.len() > 1 {
                outcome.errors.push(format!(
                    "SOP Instance UID {uid} was received {} times with different contents: {}",
                    same.len(),
                    same.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                outcome.verdict = Verdict::Error;
            }
            files.extend(same);
        }
        (uids, files)
    }

    /// The files dealt with in a round -> no longer pending; the sets still waiting ->
    /// the new waiting list (keeping "listed" for those already listed).
    fn end_round(&self, done: &BTreeSet<PathBuf>, mut waiting: Vec<Waiting>) {
        let mut state = self.state();
        for f in done {
            state.pending.remove(f);
        }
        let listed: BTreeSet<String> = state
            .waiting
            .iter()
            .filter(|w| w.listed)
            .map(|w| w.description.clone())
            .collect();
        for w in &mut waiting {
            w.listed = listed.contains(&w.description);
        }
        state.waiting = waiting;
    }

    /// The files of `incoming/` stored for `uid`: `<uid>.dcm`, then `<uid>~2.dcm`, ...
    fn files_for_uid(&self, uid: &str) -> Vec<PathBuf> {
        let stem = store::file_stem(uid);
        let first = self.incoming.join(format!("{stem}.dcm"));
        if !first.is_file() {
            return Vec::new();
        }
        let mut files = vec![first];
        for n in 2.. {
            let next = self.incoming.join(format!("{stem}~{n}.dcm"));
            if !next.is_file() {
                break;
            }
            files.push(next);
        }
        files
    }

    /// The plan sets of the pending objects: they and, found by name in `incoming/`, the
    /// objects they reference (plan, then structure set) and the other objects stored
    /// under their UIDs, and the objects of the sets already checked with those UIDs. A round reads these, not everything ever received: its time and
    /// memory follow what arrived, not the size of `incoming/`.
    fn discover_scope(&self, pending: &BTreeMap<PathBuf, Arrival>) -> Result<dicom::Discovery> {
        let mut scope: BTreeSet<PathBuf> =
            pending.keys().filter(|p| p.is_file()).cloned().collect();
        loop {
            let paths: Vec<PathBuf> = scope.iter().cloned().collect();
            let found = dicom::discover(&paths)?;
            let uids: BTreeSet<String> = found.plan_sets.iter().flat_map(involved_uids).collect();
            let before = scope.len();
            for uid in &uids {
                scope.extend(self.files_for_uid(uid));
                if let Some(files) = self.state().linked.get(uid) {
                    scope.extend(files.iter().filter(|p| p.is_file()).cloned());
                }
            }
            if scope.len() == before {
                return Ok(found);
            }
        }
    }

    /// Logs each plan set that has waited the settle time for a missing object (once).
    pub fn list_waiting(&self) {
        let settle = self.opts.settle;
        let mut state = self.state();
        let State {
            pending, waiting, ..
        } = &mut *state;
        for w in waiting.iter_mut().filter(|w| !w.listed) {
            let oldest = w
                .files
                .iter()
                .filter_map(|f| pending.get(f))
                .map(|p| p.since)
                .min();
            if oldest.is_some_and(|t| t.elapsed() >= settle) {
                self.log.event(&format!("waiting: {}", w.description));
                w.listed = true;
            }
        }
    }

    /// Writes the report folder and appends the `checks.jsonl` line of one checked set.
    fn write_check(
        &self,
        set: &PlanSet,
        outcome: &CheckOutcome,
        arrivals: &[&Arrival],
    ) -> Result<CheckLine> {
        let out = &self.opts.out;
        let reports = out.join("reports");
        let base = report_folder_name(&time::now_compact(), set);
        let mut name = base.clone();
        let mut n = 1;
        while reports.join(&name).exists() {
            n += 1;
            name = format!("{base}-{n}");
        }
        let dir = reports.join(&name);
        let report = checkreport::build(set, &self.opts.protocol, outcome, self.opts.show_phi);
        let inputs: Vec<PathBuf> = files_of(set).into_iter().collect();
        folder::write_report_dir(&dir, set, outcome, &report, &inputs)?;
        let record = batchreport::record(1, set, outcome, self.opts.show_phi);
        let received_at = arrivals
            .iter()
            .map(|a| a.received_at.clone())
            .max()
            .unwrap_or_else(time::now_rfc3339);
        let aes: BTreeSet<&str> = arrivals.iter().map(|a| a.calling_ae.as_str()).collect();
        let line = CheckLine {
            schema_version: SCHEMA_VERSION,
            received_at,
            calling_ae: aes.into_iter().collect::<Vec<_>>().join(","),
            plan_label: set.title(),
            plan_sop_instance_uid: set.plan.as_ref().map(|p| p.sop_instance_uid.clone()),
            patient: record.patient,
            verdict: record.verdict,
            exit_code: record.exit_code,
            report_dir: format!("reports/{name}"),
            failing: record.failing,
            failures: record.failures,
            errors: record.errors,
        };
        let jsonl = out.join("checks.jsonl");
        let mut text = serde_json::to_string(&line).expect("check line serializes");
        text.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&jsonl)
            .map_err(|e| Error::io(&jsonl, e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&jsonl, e))?;
        Ok(line)
    }
}

/// The file an error is about, when it names one.
fn error_path(e: &Error) -> Option<&PathBuf> {
    match e {
        Error::Io { path, .. }
        | Error::NotDicom { path, .. }
        | Error::Parse { path, .. }
        | Error::MissingTag { path, .. }
        | Error::BadValue { path, .. }
        | Error::Unsupported { path, .. }
        | Error::Invalid { path, .. } => Some(path),
        _ => None,
    }
}
