//! An export folder -> copies in `OUT/incoming/` -> checks, as `listen` does for C-STORE.
//!
//! The folder is scanned every interval (recursively). A file is read only once its size
//! and modification time have stayed the same for the settle time (the planning system
//! may still be writing it); it is then copied into `incoming/` under its SOP Instance UID
//! (from its File Meta), with the same duplicate rules as received objects. The watched
//! folder is only read: nothing in it is moved, changed or deleted. A file that changes
//! later is copied again. After a scan that copied RT objects, the [`Checker`] checks the
//! plan sets that are now complete.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use dicom_object::meta::FileMetaTable;

use super::checker::{Arrival, Checker};
use super::log::EventLog;
use super::store::{Store, Stored};
use super::{class_name, is_checked_class, signal, time, NodeOptions};
use crate::dicom::discover::list_files;
use crate::error::{Error, Result};

/// Calling AE of objects that came from the folder, in `checks.jsonl`.
pub const FOLDER_SENDER: &str = "folder";

/// Largest File Meta group read, bytes.
const MAX_META_BYTES: u64 = 1 << 20;

#[derive(Debug)]
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    /// When the file was first seen with this size and time.
    since: Instant,
    copied: bool,
}

/// SOP Class and Instance UIDs of a Part-10 file, from its File Meta; `None` for anything
/// else.
fn meta_uids(path: &Path) -> Option<(String, String)> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut preamble = [0u8; 128];
    f.read_exact(&mut preamble).ok()?;
    let meta = FileMetaTable::from_reader(f.take(MAX_META_BYTES)).ok()?;
    let clean = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    Some((
        clean(meta.media_storage_sop_class_uid()),
        clean(meta.media_storage_sop_instance_uid()),
    ))
}

/// Watches `dir` every `interval` until [`signal::stop_requested`], then runs the last
/// checks and returns.
pub fn run(dir: &Path, interval: Duration, node: NodeOptions) -> Result<()> {
    std::fs::create_dir_all(&node.out).map_err(|e| Error::io(&node.out, e))?;
    let log = Arc::new(EventLog::open(&node.out.join("node.log"))?);
    let store = Store::open(&node.out)?;
    let checker = Checker::new(node.clone(), store.incoming(), Arc::clone(&log));
    log.event(&format!(
        "watching {}; copies to {}",
        dir.display(),
        store.incoming().display()
    ));
    let mut seen: BTreeMap<PathBuf, Seen> = BTreeMap::new();
    while !signal::stop_requested() {
        let copied = scan(dir, &store, &checker, &log, &mut seen, node.settle)?;
        if copied > 0 {
            if let Err(e) = checker.run_round() {
                log.event(&format!("check failed: {e}"));
            }
        }
        checker.list_waiting();
        let until = Instant::now() + interval;
        while Instant::now() < until && !signal::stop_requested() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if let Err(e) = checker.run_round() {
        log.event(&format!("check failed: {e}"));
    }
    log.event("stopped");
    Ok(())
}

/// One scan: copies the files that have settled; returns how many RT objects were new.
fn scan(
    dir: &Path,
    store: &Store,
    checker: &Checker,
    log: &EventLog,
    seen: &mut BTreeMap<PathBuf, Seen>,
    settle: Duration,
) -> Result<usize> {
    let files = list_files(&[dir.to_path_buf()])?;
    seen.retain(|p, _| files.binary_search(p).is_ok());
    let mut new_rt = 0;
    for path in files {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let (len, modified) = (meta.len(), meta.modified().ok());
        let entry = seen.entry(path.clone()).or_insert(Seen {
            len,
            modified,
            since: Instant::now(),
            copied: false,
        });
        if entry.len != len || entry.modified != modified {
            *entry = Seen {
                len,
                modified,
                since: Instant::now(),
                copied: false,
            };
        }
        if entry.copied || entry.since.elapsed() < settle {
            continue;
        }
        entry.copied = true;
        let Some((class, uid)) = meta_uids(&path) else {
            log.event(&format!("{}: not a DICOM file; skipped", path.display()));
            continue;
        };
        let Some(kind) = class_name(&class) else {
            log.event(&format!(
                "{}: SOP class {class} is not stored here; skipped",
                path.display()
            ));
            continue;
        };
        match store.copy_file(&path, &uid) {
            Ok(stored) => {
                let what = match &stored {
                    Stored::New(_) => "copied",
                    Stored::Duplicate(_) => "already stored (identical)",
                    Stored::Conflict(_) => {
                        "copied beside an object with the same UID and other contents"
                    }
                };
                log.event(&format!(
                    "{kind} {uid} from {} {what}: {}",
                    path.display(),
                    stored.path().display()
                ));
                if stored.is_new() && is_checked_class(&class) {
                    checker.add(
                        stored.path().to_path_buf(),
                        Arrival {
                            received_at: time::now_rfc3339(),
                            calling_ae: FOLDER_SENDER.to_string(),
                        },
                    );
                    new_rt += 1;
                }
            }
            Err(e) => {
                // Tried again at the next scan.
                entry.copied = false;
                log.event(&format!("cannot copy: {e}"));
            }
        }
    }
    Ok(new_rt)
}
