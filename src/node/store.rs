//! Received bytes -> files under `OUT/incoming/`, never half written, never lost.
//!
//! An object is streamed into a temporary file under `OUT/.partial/` ([`Partial`]: memory
//! stays bounded whatever its size), then [`Store::finish`] flushes and fsyncs it and
//! links it into `incoming/` under its SOP Instance UID (`<uid>.dcm`) without ever
//! replacing a file, and fsyncs the folder. Only then is the object acknowledged. A
//! partial object (a dropped client, a failed write) is deleted when its [`Partial`] is
//! dropped. The same UID again with identical bytes is a [`Stored::Duplicate`] (nothing
//! new); with other bytes both are kept (`<uid>~2.dcm`, ...) and it is a
//! [`Stored::Conflict`], which the check of the plan set reports.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use dicom_object::meta::FileMetaTableBuilder;

use crate::error::{Error, Result};

/// How one object ended up in `incoming/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A new object, at this path.
    New(PathBuf),
    /// The same bytes were already there, at this path; nothing was added.
    Duplicate(PathBuf),
    /// Another object with the same SOP Instance UID was there; this one is kept beside it,
    /// at this path.
    Conflict(PathBuf),
}

impl Stored {
    pub fn path(&self) -> &Path {
        match self {
            Stored::New(p) | Stored::Duplicate(p) | Stored::Conflict(p) => p,
        }
    }

    /// True when the object added something to `incoming/`.
    pub fn is_new(&self) -> bool {
        !matches!(self, Stored::Duplicate(_))
    }
}

/// The `incoming/` folder of a node and its temporary files.
#[derive(Debug)]
pub struct Store {
    incoming: PathBuf,
    partial: PathBuf,
    counter: AtomicU64,
}

/// An object being received: a temporary file, deleted on drop unless finished.
#[derive(Debug)]
pub struct Partial {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    bytes: u64,
}

impl Partial {
    /// Appends received bytes.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let file = self
            .file
            .as_mut()
            .expect("a partial object is open until finished");
        file.write_all(data).map_err(|e| Error::io(&self.path, e))?;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        drop(self.file.take());
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A SOP Instance UID as a file name: UID characters kept (digits and dots, plus letters,
/// `-` and `_` from non-conforming senders), anything else replaced by `_`, at most 64.
pub fn file_stem(uid: &str) -> String {
    let stem: String = uid
        .trim_end_matches(['\0', ' '])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() {
        "no-uid".to_string()
    } else {
        stem.to_string()
    }
}

/// True when the two files hold the same bytes (compared in blocks).
fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (fa, fb) = (File::open(a)?, File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 64 << 10], vec![0u8; 64 << 10]);
    loop {
        let n = ra.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        rb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Store {
    /// The store of node folder `out`: creates `incoming/` and `.partial/`, and deletes
    /// temporary files a previous run left (objects it never acknowledged).
    pub fn open(out: &Path) -> Result<Store> {
        let incoming = out.join("incoming");
        let partial = out.join(".partial");
        for dir in [&incoming, &partial] {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        for entry in std::fs::read_dir(&partial).map_err(|e| Error::io(&partial, e))? {
            let path = entry.map_err(|e| Error::io(&partial, e))?.path();
            let _ = std::fs::remove_file(path);
        }
        Ok(Store {
            incoming,
            partial,
            counter: AtomicU64::new(0),
        })
    }

    /// The folder the objects are stored in.
    pub fn incoming(&self) -> &Path {
        &self.incoming
    }

    /// Starts a temporary file.
    pub fn begin(&self) -> Result<Partial> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let path = self
            .partial
            .join(format!("{}-{n}.part", std::process::id()));
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Partial {
            path,
            file: Some(BufWriter::with_capacity(256 << 10, file)),
            bytes: 0,
        })
    }

    /// Starts a Part-10 file for a data set received in `transfer_syntax`: the preamble,
    /// `DICM` and the File Meta group are written; the data set bytes follow.
    pub fn begin_part10(
        &self,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
        source_ae: &str,
    ) -> Result<Partial> {
        let mut partial = self.begin()?;
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(sop_class_uid)
            .media_storage_sop_instance_uid(sop_instance_uid)
            .transfer_syntax(transfer_syntax)
            .source_application_entity_title(source_ae)
            .build()
            .map_err(|e| Error::invalid(&partial.path, format!("File Meta: {e}")))?;
        let mut head = vec![0u8; 128];
        head.extend_from_slice(b"DICM");
        meta.write(&mut head)
            .map_err(|e| Error::invalid(&partial.path, format!("File Meta: {e}")))?;
        partial.write(&head)?;
        Ok(partial)
    }

    /// Makes `partial` durable and puts it in `incoming/` as object `sop_instance_uid`.
    pub fn finish(&self, mut partial: Partial, sop_instance_uid: &str) -> Result<Stored> {
        let tmp = partial.path.clone();
        let mut file = partial.file.take().expect("finished once");
        file.flush().map_err(|e| Error::io(&tmp, e))?;
        let file = file
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(file);
        let stem = file_stem(sop_instance_uid);
        let mut n = 1;
        let stored = loop {
            let name = if n == 1 {
                format!("{stem}.dcm")
            } else {
                format!("{stem}~{n}.dcm")
            };
            let target = self.incoming.join(name);
            // A hard link never replaces an existing file: two objects with one UID
            // arriving together cannot overwrite each other.
            match std::fs::hard_link(&tmp, &target) {
                Ok(()) if n == 1 => break Stored::New(target),
                Ok(()) => break Stored::Conflict(target),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if same_bytes(&tmp, &target).map_err(|e| Error::io(&target, e))? {
                        break Stored::Duplicate(target);
                    }
                    n += 1;
                }
                Err(e) => return Err(Error::io(&target, e)),
            }
        };
        // The temporary name goes (Partial's drop); the link in incoming/ stays.
        drop(partial);
        sync_dir(&self.incoming).map_err(|e| Error::io(&self.incoming, e))?;
        Ok(stored)
    }

    /// Copies file `src` into `incoming/` as object `sop_instance_uid` (the source is only
    /// read).
    pub fn copy_file(&self, src: &Path, sop_instance_uid: &str) -> Result<Stored> {
        let mut partial = self.begin()?;
        let mut input = File::open(src).map_err(|e| Error::io(src, e))?;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = input.read(&mut buf).map_err(|e| Error::io(src, e))?;
            if n == 0 {
                break;
            }
            partial.write(&buf[..n])?;
        }
        self.finish(partial, sop_instance_uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn put(store: &Store, uid: &str, bytes: &[u8]) -> Stored {
        let mut p = store.begin().unwrap();
        p.write(bytes).unwrap();
        store.finish(p, uid).unwrap()
    }

    #[test]
    fn duplicates_are_idempotent_and_conflicts_kept_beside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = put(&store, "1.2.3", b"one");
        assert_eq!(a, Stored::New(store.incoming().join("1.2.3.dcm")));
        let again = put(&store, "1.2.3", b"one");
        assert_eq!(again, Stored::Duplicate(store.incoming().join("1.2.3.dcm")));
        let other = put(&store, "1.2.3", b"two");
        assert_eq!(
            other,
            Stored::Conflict(store.incoming().join("1.2.3~2.dcm"))
        );
        // The second version again is a duplicate of it, not a third file.
        assert!(!put(&store, "1.2.3", b"two").is_new());
        assert_eq!(names(store.incoming()), ["1.2.3.dcm", "1.2.3~2.dcm"]);
        assert_eq!(
            std::fs::read(store.incoming().join("1.2.3.dcm")).unwrap(),
            b"one"
        );
        // No temporary file is left.
        assert!(names(&dir.path().join(".partial")).is_empty());
    }

    #[test]
    fn a_dropped_partial_leaves_nothing_and_uids_cannot_leave_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut p = store.begin().unwrap();
        p.write(b"half an object").unwrap();
        drop(p);
        assert!(names(&dir.path().join(".partial")).is_empty());
        assert!(names(store.incoming()).is_empty());
        let s = put(&store, "../../etc/passwd", b"x");
        assert_eq!(s.path().parent().unwrap(), store.incoming());
        assert_eq!(file_stem("1.2.840.1\0"), "1.2.840.1");
        assert_eq!(file_stem(""), "no-uid");
    }

    #[test]
    fn part10_head_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let p = store
            .begin_part10(
                super::super::RT_STORAGE[2],
                "1.2.3.4",
                "1.2.840.10008.1.2",
                "TPS1",
            )
            .unwrap();
        let s = store.finish(p, "1.2.3.4").unwrap();
        let bytes = std::fs::read(s.path()).unwrap();
        assert_eq!(&bytes[128..132], b"DICM");
        let meta = dicom_object::meta::FileMetaTable::from_reader(&bytes[128..]).unwrap();
        assert_eq!(meta.media_storage_sop_instance_uid(), "1.2.3.4");
        assert_eq!(meta.transfer_syntax(), "1.2.840.10008.1.2");
    }
}
