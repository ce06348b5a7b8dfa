//! Files on disk -> [`DicomFile`]s: a file's size checked against [`MAX_FILE_BYTES`]
//! before it is read whole with `std::fs::read`, and objects of classes sbrt-verify does
//! not read (a CT slice) told from their first bytes without reading the rest
//! ([`open_unless_other`], [`super::peek`]). The bytes are then parsed by
//! [`super::part10`].

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

pub use super::part10::{from_bytes, ts, DicomFile, MAX_FILE_BYTES};
use super::part10::{parse, too_large};
use super::peek;
use crate::error::{Error, Result};

/// Reads one file. `Ok(None)` means "not DICOM" (no preamble and no plausible data set).
/// Errors name the file.
pub fn open(path: &Path) -> Result<Option<DicomFile>> {
    let (file, len) = open_sized(path)?;
    let mut bytes = Vec::with_capacity(len as usize + 1);
    read_up_to(file, MAX_FILE_BYTES + 1, &mut bytes, path)?;
    parse(Cow::Owned(bytes), path)
}

/// The file opened and its size, checked against [`MAX_FILE_BYTES`]. Buffers are sized
/// from it once (growing a 10 MB buffer by doubling copies it four times).
fn open_sized(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(too_large(path, len));
    }
    Ok((file, len))
}

/// Appends at most `limit` more bytes of `file` to `bytes` (a file that grew since its
/// size was taken is still read at most to the limit).
fn read_up_to(file: impl Read, limit: u64, bytes: &mut Vec<u8>, path: &Path) -> Result<()> {
    file.take(limit)
        .read_to_end(bytes)
        .map(drop)
        .map_err(|e| Error::io(path, e))
}

/// A file read by [`open_unless_other`].
pub enum Opened {
    /// A data set (RT or not) read whole.
    Dicom(DicomFile),
    /// An object sbrt-verify does not read, told by its first bytes and not read further
    /// (see [`super::peek`]), named as [`super::ObjectKind::Other`] names it.
    Other(String),
}

/// [`open`], except that a file larger than [`peek::PREFIX_BYTES`] whose first bytes show
/// a class sbrt-verify does not read (a CT slice) is classified from them and not read
/// further. `Ok(None)`: not DICOM.
pub fn open_unless_other(path: &Path) -> Result<Option<Opened>> {
    let (mut file, len) = open_sized(path)?;
    let prefix = peek::PREFIX_BYTES as u64;
    // The prefix first, then the rest after it into the same buffer.
    let mut bytes = Vec::with_capacity(len.min(prefix) as usize + 1);
    read_up_to(&mut file, prefix, &mut bytes, path)?;
    if bytes.len() as u64 == prefix {
        if let Some(kind) = peek::other_kind(&bytes) {
            return Ok(Some(Opened::Other(kind)));
        }
        bytes.reserve_exact((len + 1).saturating_sub(prefix) as usize);
        read_up_to(file, MAX_FILE_BYTES + 1 - prefix, &mut bytes, path)?;
    }
    Ok(parse(Cow::Owned(bytes), path)?.map(Opened::Dicom))
}
