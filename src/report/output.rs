//! Writing output files atomically: a temporary file in the same folder, then a rename,
//! so that a reader never sees half a report and a crash leaves the old file intact.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
}
