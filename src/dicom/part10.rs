//! The bytes of one file -> [`DicomFile`]: the Part-10 framing (preamble, File Meta, the
//! transfer syntax it names, a deflated data set inflated) and data sets without File Meta
//! (the transfer syntax is then guessed from the first element). The data set itself is
//! read by [`super::dataset`]; reading the file from disk is [`super::read`]'s job.
//!
//! Before anything is parsed, every declared length (File Meta elements, data elements,
//! items, fragments) is checked against the bytes there are, and sequence nesting against
//! [`MAX_NESTING`]: a small file declaring a 4 GB element is refused instead of making the
//! parser allocate 4 GB.

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_encoding::TransferSyntax;
use dicom_object::meta::FileMetaTable;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::attrs::{one_line, tag_text, Attrs};
use super::dataset;
pub use super::dataset::MAX_NESTING;
use crate::error::{Error, Result};

/// Transfer syntax UIDs we name explicitly.
pub mod ts {
    pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
    pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
    pub const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";
    pub const DEFLATED_EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1.99";
    pub const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
}

/// The largest file we read. RT objects beyond this are refused before reading
/// (a dose grid of 1 GiB is about 16 times a large clinical grid).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Bytes before the magic `DICM` of a Part-10 file.
const PREAMBLE: usize = 128;

/// A DICOM data set read from one file.
#[derive(Debug)]
pub struct DicomFile {
    pub path: PathBuf,
    pub obj: InMemDicomObject,
    /// Transfer syntax UID of the data set (from File Meta, or guessed).
    pub transfer_syntax: String,
    /// False for bare data sets without File Meta.
    pub has_file_meta: bool,
    /// The file's bytes and where the value of its top-level native PixelData lies in them,
    /// when that value was left there instead of copied into `obj` (where its element is
    /// empty).
    pixel_bytes: Option<(FileBytes, Range<usize>)>,
}

/// The bytes of a file: read into memory, or mapped (see [`super::read`]).
#[derive(Debug)]
pub(crate) enum FileBytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Read(bytes) => bytes,
            FileBytes::Mapped(map) => map,
        }
    }
}

/// Bytes to parse: the caller's, or a file's own (then kept for its pixel data).
pub(super) enum Bytes<'a> {
    Borrowed(&'a [u8]),
    File(FileBytes),
}

impl std::ops::Deref for Bytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(bytes) => bytes,
            Bytes::File(bytes) => bytes,
        }
    }
}

impl Bytes<'_> {
    /// The bytes as a file's own, copied when borrowed.
    fn into_file_bytes(self) -> FileBytes {
        match self {
            Bytes::Borrowed(bytes) => FileBytes::Read(bytes.to_vec()),
            Bytes::File(bytes) => bytes,
        }
    }
}

impl DicomFile {
    /// Typed access to the top-level attributes.
    pub fn attrs(&self) -> Attrs<'_> {
        Attrs::new(&self.path, &self.obj)
    }

    /// The value of the top-level PixelData when it was left in the file's bytes (native,
    /// not encapsulated, pixel data of a file with a preamble).
    pub fn native_pixel_data(&self) -> Option<&[u8]> {
        self.pixel_bytes
            .as_ref()
            .and_then(|(bytes, range)| bytes.get(range.clone()))
    }

    /// True when the pixel data left in the file's bytes is read from a map of the file.
    #[cfg(test)]
    pub(super) fn pixels_mapped(&self) -> bool {
        matches!(self.pixel_bytes, Some((FileBytes::Mapped(_), _)))
    }

    /// True when multi-byte values in the data set are big endian.
    pub fn is_big_endian(&self) -> bool {
        self.transfer_syntax == ts::EXPLICIT_VR_BE
    }
}

pub(super) fn too_large(path: &Path, len: u64) -> Error {
    Error::invalid(
        path,
        format!("file is {len} bytes, more than the {MAX_FILE_BYTES} bytes an RT object may have"),
    )
}

/// Parses the bytes of one file; `path` names it in errors and in the result. `Ok(None)`
/// means "not DICOM" (no preamble and no plausible data set).
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Option<DicomFile>> {
    parse(Bytes::Borrowed(bytes), path)
}

/// [`from_bytes`] on bytes that may be a file's own: its pixel data is then left in them.
pub(super) fn parse(bytes: Bytes<'_>, path: &Path) -> Result<Option<DicomFile>> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    if has_preamble(&bytes) {
        let (mut file, pixels) = read_part10(&bytes[PREAMBLE..], path, true)?;
        file.pixel_bytes = pixels.map(|r| {
            (
                bytes.into_file_bytes(),
                r.start + PREAMBLE..r.end + PREAMBLE,
            )
        });
        return Ok(Some(file));
    }
    // Some exports start with the File Meta group but no preamble.
    let Some(guess) = guess_bare_transfer_syntax(&bytes) else {
        return Ok(None);
    };
    if guess.starts_with_meta_group {
        let mut with_magic = Vec::with_capacity(bytes.len() + 4);
        with_magic.extend_from_slice(b"DICM");
        with_magic.extend_from_slice(&bytes);
        return read_part10(&with_magic, path, false).map(|(file, _)| Some(file));
    }
    let ts = TransferSyntaxRegistry
        .get(guess.uid)
        .expect("built-in transfer syntaxes are registered");
    match dataset::parse(&bytes, ts, false) {
        Ok((obj, _)) => {
            // A bare data set is only accepted as DICOM if it says what it is.
            if !Attrs::new(path, &obj).has(tags::SOP_CLASS_UID) {
                return Ok(None);
            }
            Ok(Some(DicomFile {
                path: path.to_path_buf(),
                obj,
                transfer_syntax: guess.uid.to_string(),
                has_file_meta: false,
                pixel_bytes: None,
            }))
        }
        // Without a preamble a corrupt data set is hard to tell from another kind of file;
        // one that names an RT SOP class near its start claims to be RT and is an error.
        Err(message) if names_rt_class(&bytes) => Err(Error::Parse {
            path: path.to_path_buf(),
            message,
        }),
        Err(_) => Ok(None),
    }
}

/// True when `bytes` start with a Part-10 preamble and the magic `DICM`.
pub fn has_preamble(bytes: &[u8]) -> bool {
    bytes.get(PREAMBLE..PREAMBLE + 4) == Some(b"DICM")
}

/// True when the first 4 KiB hold an RT SOP Class UID (RT Dose, Struct, Plan, Ion Plan...).
fn names_rt_class(bytes: &[u8]) -> bool {
    let root = RT_CLASS_ROOT.as_bytes();
    bytes[..bytes.len().min(4096)]
        .windows(root.len())
        .any(|w| w == root)
}

/// The root of the RT SOP Class UIDs (RT Dose, Structure Set, Plan, Ion Plan, ...).
const RT_CLASS_ROOT: &str = "1.2.840.10008.5.1.4.1.1.481.";

/// The File Meta of a Part-10 stream from the magic `DICM` on (its lengths checked first),
/// and where the data set starts in `from_magic`.
pub(super) fn file_meta(from_magic: &[u8]) -> std::result::Result<(FileMetaTable, usize), String> {
    check_meta_lengths(from_magic.get(4..).unwrap_or_default())?;
    let mut cursor = std::io::Cursor::new(from_magic);
    let meta = FileMetaTable::from_reader(&mut cursor).map_err(|e| one_line(&e.to_string()))?;
    Ok((meta, cursor.position() as usize))
}

/// A Part-10 stream from the magic `DICM` on: File Meta, then the data set in the transfer
/// syntax the File Meta names. With `leave_pixel_data`, a top-level native PixelData value
/// is left unread and its place in `from_magic` returned (not for deflated data sets).
fn read_part10(
    from_magic: &[u8],
    path: &Path,
    leave_pixel_data: bool,
) -> Result<(DicomFile, Option<Range<usize>>)> {
    let parse_error = |message: String| Error::Parse {
        path: path.to_path_buf(),
        message,
    };
    let (meta, body_start) = file_meta(from_magic).map_err(parse_error)?;
    let transfer_syntax = meta.transfer_syntax().trim_end_matches('\0').to_string();
    let rest = &from_magic[body_start..];
    let ts = TransferSyntaxRegistry
        .get(&transfer_syntax)
        .ok_or_else(|| Error::unsupported(path, format!("transfer syntax {transfer_syntax}")))?;
    let inflated;
    let deflated = transfer_syntax == ts::DEFLATED_EXPLICIT_VR_LE;
    let (body, body_ts): (&[u8], &TransferSyntax) = if deflated {
        inflated = inflate(rest).map_err(parse_error)?;
        let explicit = TransferSyntaxRegistry
            .get(ts::EXPLICIT_VR_LE)
            .expect("built-in transfer syntaxes are registered");
        (inflated.as_slice(), explicit)
    } else {
        if matches!(ts.codec(), Codec::Dataset(_)) {
            return Err(Error::unsupported(
                path,
                format!("transfer syntax {transfer_syntax} ({})", ts.name()),
            ));
        }
        (rest, ts)
    };
    let (obj, pixels) =
        dataset::parse(body, body_ts, leave_pixel_data && !deflated).map_err(parse_error)?;
    // The body is the end of `from_magic` (it was not inflated).
    let pixels = pixels.map(|r| r.start + body_start..r.end + body_start);
    // The File Meta says what the data set is; an RT object that does not say so itself
    // (e.g. a file cut before its SOP Class UID) would otherwise pass for "other DICOM".
    let attrs = Attrs::new(path, &obj);
    if meta
        .media_storage_sop_class_uid()
        .starts_with(RT_CLASS_ROOT)
        && !attrs.has(tags::SOP_CLASS_UID)
    {
        return Err(attrs.missing(tags::SOP_CLASS_UID));
    }
    Ok((
        DicomFile {
            path: path.to_path_buf(),
            obj,
            transfer_syntax,
            has_file_meta: true,
            pixel_bytes: None,
        },
        pixels,
    ))
}

/// Inflates a Deflated Explicit VR Little Endian data set, refusing more than
/// [`MAX_FILE_BYTES`] of output (a small deflate stream can expand a thousandfold).
fn inflate(deflated: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            format!(
                "cannot inflate the deflated data set: {}",
                one_line(&e.to_string())
            )
        })?;
    if out.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the deflated data set inflates to more than {MAX_FILE_BYTES} bytes"
        ));
    }
    Ok(out)
}

/// Checks the File Meta group (Explicit VR Little Endian) after the magic the way
/// dicom-object reads it: the group length, then elements (of any group) until that many
/// bytes are consumed. Every declared length must fit in the bytes left: the File Meta
/// reader allocates a declared length before reading it.
fn check_meta_lengths(after_magic: &[u8]) -> std::result::Result<(), String> {
    use dicom_encoding::decode::Decode;
    let decoder = dicom_encoding::decode::file_header_decoder();
    let mut src = after_magic;
    let Ok((first, _)) = decoder.decode_header(&mut src) else {
        return Ok(()); // the File Meta reader reports it
    };
    if first.len.0 != 4 || src.len() < 4 {
        return Ok(());
    }
    let group_length = u64::from(u32::from_le_bytes([src[0], src[1], src[2], src[3]]));
    src = &src[4..];
    let mut consumed = 0u64;
    while consumed < group_length {
        let Ok((header, header_len)) = decoder.decode_header(&mut src) else {
            break;
        };
        let Some(len) = header.len.get() else {
            break; // undefined length: refused by the File Meta reader
        };
        if len as usize > src.len() {
            return Err(format!(
                "File Meta element {} declares {len} bytes, but only {} bytes follow",
                tag_text(header.tag),
                src.len()
            ));
        }
        src = &src[len as usize..];
        consumed += header_len as u64 + u64::from(len);
    }
    Ok(())
}

struct BareGuess {
    uid: &'static str,
    starts_with_meta_group: bool,
}

/// Guesses the transfer syntax of a data set without preamble from its first element.
fn guess_bare_transfer_syntax(head: &[u8]) -> Option<BareGuess> {
    if head.len() < 8 {
        return None;
    }
    let group_le = u16::from_le_bytes([head[0], head[1]]);
    let group_be = u16::from_be_bytes([head[0], head[1]]);
    let vr_ok = VR::from_binary([head[4], head[5]]).is_some()
        && head[4].is_ascii_uppercase()
        && head[5].is_ascii_uppercase();
    // Plausible first groups of a data set: File Meta (0002) or 0008 (identification).
    let plausible = |g: u16| g == 0x0002 || g == 0x0008;
    if plausible(group_le) {
        if group_le == 0x0002 {
            return Some(BareGuess {
                uid: ts::EXPLICIT_VR_LE,
                starts_with_meta_group: true,
            });
        }
        let uid = if vr_ok {
            ts::EXPLICIT_VR_LE
        } else {
            ts::IMPLICIT_VR_LE
        };
        return Some(BareGuess {
            uid,
            starts_with_meta_group: false,
        });
    }
    if plausible(group_be) && vr_ok {
        return Some(BareGuess {
            uid: ts::EXPLICIT_VR_BE,
            starts_with_meta_group: false,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_transfer_syntax_from_first_element() {
        // (0008,0005) implicit LE: group 08 00, element 05 00, length 4 bytes
        let implicit = [0x08, 0x00, 0x05, 0x00, 0x0A, 0x00, 0x00, 0x00];
        assert_eq!(
            guess_bare_transfer_syntax(&implicit).unwrap().uid,
            ts::IMPLICIT_VR_LE
        );
        let explicit_le = [0x08, 0x00, 0x05, 0x00, b'C', b'S', 0x0A, 0x00];
        assert_eq!(
            guess_bare_transfer_syntax(&explicit_le).unwrap().uid,
            ts::EXPLICIT_VR_LE
        );
        let explicit_be = [0x00, 0x08, 0x00, 0x05, b'C', b'S', 0x00, 0x0A];
        assert_eq!(
            guess_bare_transfer_syntax(&explicit_be).unwrap().uid,
            ts::EXPLICIT_VR_BE
        );
        assert!(guess_bare_transfer_syntax(b"hello world, not dicom").is_none());
        assert!(guess_bare_transfer_syntax(b"").is_none());
    }
}
