//! The error type: every failure names the file (or the argument) and the problem.
//!
//! Exit codes are part of the CLI contract and are decided here, not in the CLI:
//! usage problems are [`ExitCode::Usage`] (2), anything about the input data is
//! [`ExitCode::CannotEvaluate`] (3).

use std::path::{Path, PathBuf};

/// Process exit codes (a documented contract; planning scripts parse them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The plan passes (or, for commands without a verdict, the job succeeded).
    Pass = 0,
    /// The plan fails a mandatory limit.
    Fail = 1,
    /// Bad command line or protocol file.
    Usage = 2,
    /// The input could not be read or evaluated; never a PASS.
    CannotEvaluate = 3,
}

/// A failure of the library. `Display` is one line that names the file and the problem
/// (control characters from the input are escaped, see [`printable`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {}", shown(path), printable(&source.to_string()))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a DICOM file ({})", shown(path), printable(reason))]
    NotDicom { path: PathBuf, reason: String },
    #[error("{}: cannot parse DICOM: {}", shown(path), printable(message))]
    Parse { path: PathBuf, message: String },
    #[error("{}: missing {name} {tag}", shown(path))]
    MissingTag {
        path: PathBuf,
        name: &'static str,
        tag: String,
    },
    #[error("{}: bad {name} {tag}: {}", shown(path), printable(message))]
    BadValue {
        path: PathBuf,
        name: &'static str,
        tag: String,
        message: String,
    },
    #[error("{}: unsupported: {}", shown(path), printable(message))]
    Unsupported { path: PathBuf, message: String },
    #[error("{}: {}", shown(path), printable(message))]
    Invalid { path: PathBuf, message: String },
    /// Objects that do not belong together (frame of reference, UIDs).
    #[error("{}", printable(message))]
    Link { message: String },
    /// Nothing usable under the given paths.
    #[error("{}", printable(message))]
    NothingFound { message: String },
    /// Command-line or protocol-file problems (exit 2).
    #[error("{}", printable(message))]
    Usage { message: String },
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage { .. } => ExitCode::Usage,
            _ => ExitCode::CannotEvaluate,
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn invalid(path: &Path, message: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub fn unsupported(path: &Path, message: impl Into<String>) -> Self {
        Error::Unsupported {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
        }
    }

    pub fn link(message: impl Into<String>) -> Self {
        Error::Link {
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Text from the input (attribute values, ROI names, file names) made safe for a one-line
/// message: line breaks, NULs and other control characters are shown escaped (`\n`,
/// `\0`, `\u{1b}`), so an error is always one line and cannot forge others.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_debug().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A path for a message or a table, with [`printable`] applied.
pub fn shown(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}
