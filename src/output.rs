//! Writing outputs without harming inputs: each file atomically (a temporary file in the
//! same folder, then a rename), so that a reader never sees half a file and a crash leaves
//! the old one intact; a report folder built beside its place and renamed into it
//! ([`StagedDir`]), so that it always holds one run's files; never over an input file or
//! an existing DICOM file, and not into an input folder unless asked.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// True when the file at `path` is a DICOM file: named `.dcm`, or with the Part 10
/// preamble (`DICM` at byte 128).
fn is_dicom_file(path: &Path) -> bool {
    let named = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dcm"));
    let mut head = [0u8; 132];
    let preamble = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head[128..] == b"DICM";
    named || preamble
}

/// Writes `bytes` to `path` atomically. Refuses to replace any of `inputs`.
pub fn write_atomic(path: &Path, bytes: &[u8], inputs: &[std::path::PathBuf]) -> Result<()> {
    if let Ok(target) = std::fs::canonicalize(path) {
        if inputs
            .iter()
            .filter_map(|i| std::fs::canonicalize(i).ok())
            .any(|i| i == target)
        {
            return Err(Error::usage(format!(
                "{}: refusing to overwrite an input file",
                path.display()
            )));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::usage(format!("{}: not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// The absolute, symlink-free form of `path`, which need not exist yet: its longest
/// existing ancestor canonicalized, then the rest appended (`.` and `..` resolved).
pub fn resolve_path(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(path, e))?
            .join(path)
    };
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    let mut base = abs.as_path();
    loop {
        if let Ok(c) = std::fs::canonicalize(base) {
            let mut out = c;
            for part in rest.iter().rev() {
                match part.to_str() {
                    Some(".") => {}
                    Some("..") => {
                        out.pop();
                    }
                    _ => out.push(part),
                }
            }
            return Ok(out);
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            (Some(parent), None) => {
                // A trailing `..` or `.`: keep it for the resolution above.
                rest.push(
                    base.components()
                        .next_back()
                        .map_or_else(|| ".".into(), |c| c.as_os_str().to_os_string()),
                );
                base = parent;
            }
            (None, _) => return Ok(abs),
        }
    }
}

/// The input folders of `inputs` (each folder given, and the folder of each file given).
fn input_folders(inputs: &[PathBuf]) -> Vec<PathBuf> {
    inputs
        .iter()
        .filter_map(|i| {
            let c = std::fs::canonicalize(i).ok()?;
            if c.is_dir() {
                Some(c)
            } else {
                c.parent().map(Path::to_path_buf)
            }
        })
        .collect()
}

/// Checks that output folder `dir` is not an input folder nor inside one (inputs: the
/// paths given on the command line). A usage error naming both otherwise.
pub fn check_out_dir(dir: &Path, inputs: &[PathBuf]) -> Result<()> {
    let out = resolve_path(dir)?;
    for folder in input_folders(inputs) {
        if out.starts_with(&folder) {
            let relation = if out == folder {
                "the input folder"
            } else {
                "inside the input folder"
            };
            return Err(Error::usage(format!(
                "--report {}: is {relation} {}; choose another folder, or add \
                 --report-in-input to write there",
                dir.display(),
                folder.display()
            )));
        }
    }
    Ok(())
}

/// Checks that output file `path` is not an existing DICOM file, and not in an input
/// folder (inputs: the paths given on the command line) unless `allowed`; `flag` names the
/// option in the message.
pub fn check_out_file(path: &Path, inputs: &[PathBuf], flag: &str, allowed: bool) -> Result<()> {
    if path.is_file() && is_dicom_file(path) {
        return Err(Error::usage(format!(
            "{flag} {}: refusing to overwrite a DICOM file",
            crate::error::shown(path)
        )));
    }
    if allowed {
        return Ok(());
    }
    let out = resolve_path(path)?;
    let folder = out.parent().unwrap_or(&out);
    for input in input_folders(inputs) {
        if folder.starts_with(&input) {
            return Err(Error::usage(format!(
                "{flag} {}: is in the input folder {}; choose another folder, or add \
                 --output-in-input to write there",
                crate::error::shown(path),
                crate::error::shown(&input)
            )));
        }
    }
    Ok(())
}

/// The file that marks a folder as a report of sbrt-verify (which a later run may replace).
const REPORT_MARKER: &str = ".sbrt-verify-report";

/// A report folder under construction: the files are written into a temporary folder beside
/// `DIR`, which [`StagedDir::commit`] renames into place, replacing an earlier report. So
/// `DIR` always holds the files of one run, even when two runs write it at once. Dropped
/// without a commit, the temporary folder is removed.
pub struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Starts a report folder at `dir`, which must be absent, an empty folder or an earlier
    /// report (a folder with other files, a file or a symbolic link is a usage error).
    pub fn new(dir: &Path) -> Result<StagedDir> {
        let shown = crate::error::shown(dir);
        match std::fs::symlink_metadata(dir) {
            Err(_) => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::usage(format!(
                    "--report {shown}: is a symbolic link; give the folder itself"
                )));
            }
            Ok(m) if !m.is_dir() => {
                return Err(Error::usage(format!(
                    "--report {shown}: exists and is not a folder"
                )));
            }
            Ok(_) => {
                let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
                if entries.next().is_some() && !dir.join(REPORT_MARKER).is_file() {
                    return Err(Error::usage(format!(
                        "--report {shown}: holds files that are not a report of sbrt-verify; \
                         choose a new or empty folder"
                    )));
                }
            }
        }
        let name = dir
            .file_name()
            .ok_or_else(|| Error::usage(format!("--report {shown}: not a folder name")))?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let staging = unique_sibling(parent, name, "tmp");
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        std::fs::write(staging.join(REPORT_MARKER), b"").map_err(|e| Error::io(&staging, e))?;
        Ok(StagedDir {
            target: dir.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Where the files go until the commit.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Renames the folder into place, replacing an earlier report there.
    pub fn commit(mut self) -> Result<()> {
        let name = self.target.file_name().unwrap_or_default().to_os_string();
        let parent = self
            .staging
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        // Another run may put its report in place between our two renames: try again.
        for _ in 0..100 {
            match std::fs::rename(&self.staging, &self.target) {
                Ok(()) => {
                    self.committed = true;
                    return Ok(());
                }
                Err(_) if self.target.is_dir() => {
                    let old = unique_sibling(&parent, &name, "old");
                    if std::fs::rename(&self.target, &old).is_ok() {
                        let _ = std::fs::remove_dir_all(&old);
                    }
                }
                Err(e) => return Err(Error::io(&self.target, e)),
            }
        }
        Err(Error::io(
            &self.target,
            std::io::Error::other("another run keeps replacing this report folder"),
        ))
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// A new path `.NAME.KIND-PID-N` beside `NAME` in `parent`.
fn unique_sibling(parent: &Path, name: &std::ffi::OsStr, kind: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    parent.join(format!(
        ".{}.{kind}-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_folder_may_not_be_or_be_inside_an_input_folder() {
        let root = tempfile::tempdir().unwrap();
        let input = root.path().join("plan");
        std::fs::create_dir_all(&input).unwrap();
        std::fs::write(input.join("RD.dcm"), b"x").unwrap();
        let inputs = vec![input.clone()];
        assert!(check_out_dir(&input, &inputs).is_err());
        assert!(check_out_dir(&input.join("report"), &inputs).is_err());
        assert!(check_out_dir(&input.join("new/deeper"), &inputs).is_err());
        assert!(check_out_dir(&root.path().join("plan/../plan/x"), &inputs).is_err());
        assert!(check_out_dir(&root.path().join("report"), &inputs).is_ok());
        assert!(check_out_dir(&root.path().join("plan/../report"), &inputs).is_ok());
        // A file given: its folder is the input folder.
        let files = vec![input.join("RD.dcm")];
        assert!(check_out_dir(&input.join("r"), &files).is_err());
        assert!(check_out_dir(root.path(), &files).is_ok());
        let e = check_out_dir(&input.join("r"), &inputs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("inside the input folder"), "{e}");
        assert!(e.contains("--report-in-input"), "{e}");
    }

    #[test]
    fn writes_and_replaces_but_never_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.json");
        write_atomic(&out, b"one", &[]).unwrap();
        write_atomic(&out, b"two", &[]).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"two");
        let input = dir.path().join("RD.dcm");
        std::fs::write(&input, b"dose").unwrap();
        let err = write_atomic(&input, b"x", &[dir.path().to_path_buf().join("RD.dcm")]);
        assert!(err.is_err());
        assert_eq!(std::fs::read(&input).unwrap(), b"dose");
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn an_existing_dicom_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("RS.dcm");
        std::fs::write(&named, b"not even dicom").unwrap();
        let e = check_out_file(&named, &[], "--out", true).unwrap_err();
        assert!(e.to_string().contains("DICOM"), "{e}");
        let mut part10 = vec![0u8; 128];
        part10.extend_from_slice(b"DICM....");
        let unnamed = dir.path().join("IMG0001");
        std::fs::write(&unnamed, &part10).unwrap();
        assert!(check_out_file(&unnamed, &[], "--plot", true).is_err());
        assert_eq!(std::fs::read(&unnamed).unwrap(), part10);
        assert_eq!(std::fs::read(&named).unwrap(), b"not even dicom");
    }

    #[test]
    fn an_output_file_goes_into_an_input_folder_only_when_allowed() {
        let root = tempfile::tempdir().unwrap();
        let input = root.path().join("plan");
        std::fs::create_dir_all(&input).unwrap();
        std::fs::write(input.join("RD.dcm"), b"dose").unwrap();
        let inputs = vec![input.join("RD.dcm")];
        let e = check_out_file(&input.join("plot.svg"), &inputs, "--plot", false).unwrap_err();
        assert!(e.to_string().contains("--output-in-input"), "{e}");
        assert!(check_out_file(&input.join("plot.svg"), &inputs, "--plot", true).is_ok());
        assert!(check_out_file(&root.path().join("plot.svg"), &inputs, "--plot", false).is_ok());
    }

    #[test]
    fn a_report_folder_holds_one_run_and_replaces_only_reports() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("report");
        for run in ["one", "two"] {
            let staged = StagedDir::new(&dir).unwrap();
            std::fs::write(staged.path().join("result.json"), run).unwrap();
            if run == "one" {
                std::fs::write(staged.path().join("only-in-one"), run).unwrap();
            }
            staged.commit().unwrap();
        }
        assert_eq!(std::fs::read(dir.join("result.json")).unwrap(), b"two");
        assert!(!dir.join("only-in-one").exists());
        // Nothing left beside it.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
        // A dropped, uncommitted report leaves nothing behind.
        drop(StagedDir::new(&dir).unwrap());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
        // A folder of other files, a file and a dangling link are refused as usage errors.
        let other = root.path().join("mine");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("notes.txt"), b"keep").unwrap();
        let file = root.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(root.path().join("missing"), &link).unwrap();
        for p in [&other, &file, &link] {
            let e = StagedDir::new(p).err().unwrap();
            assert_eq!(e.exit_code(), crate::ExitCode::Usage, "{e}");
        }
        assert_eq!(std::fs::read(other.join("notes.txt")).unwrap(), b"keep");
    }
}
