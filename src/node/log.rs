//! Node events -> one line each, `<UTC time> <text>`, on stderr and appended to
//! `OUT/node.log` (the file is opened once, in append mode; lines from concurrent
//! associations never interleave).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::time;
use crate::error::{Error, Result};

/// Where node events go.
#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl EventLog {
    /// Opens (creates) `path` for appending.
    pub fn open(path: &Path) -> Result<EventLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(EventLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one event line (stderr and file). A failure to write the file is reported on
    /// stderr; the node goes on.
    pub fn event(&self, text: &str) {
        let line = format!("{} {text}\n", time::now_rfc3339());
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        eprint!("{line}");
        if let Err(e) = file.write_all(line.as_bytes()) {
            eprintln!("sbrt-verify: error: {}: {e}", self.path.display());
        }
    }
}
