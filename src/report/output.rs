//! Writing output files atomically: a temporary file in the same folder, then a rename,
//! so that a reader never sees half a report and a crash leaves the old file intact.

use std::io::Write;
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

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
