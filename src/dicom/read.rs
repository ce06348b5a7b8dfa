//! Bytes on disk -> a DICOM data set, and typed attribute access with file/tag context.
//!
//! [`open`] reads Part-10 files (with File Meta) and bare data sets without File Meta
//! (the transfer syntax is then guessed from the first element). [`Attrs`] is the one
//! place that turns tags into typed values; every error it returns names the file, the
//! attribute and its tag, e.g. `RD.dcm: missing GridFrameOffsetVector (3004,000C)`.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::dataset;
use super::mapped::Mapping;
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
    pixel_bytes: Option<(Held, Range<usize>)>,
}

/// A file's bytes as read: copied into memory, or mapped ([`super::mapped`]).
#[derive(Debug)]
enum Held {
    Owned(Vec<u8>),
    Mapped(Mapping),
}

impl Held {
    fn bytes(&self) -> &[u8] {
        match self {
            Held::Owned(v) => v,
            Held::Mapped(m) => m.bytes(),
        }
    }
}

/// The bytes [`parse_file`] parses: borrowed from the caller, or a file's own.
enum Input<'a> {
    Borrowed(&'a [u8]),
    Held(Held),
}

impl Input<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Input::Borrowed(b) => b,
            Input::Held(h) => h.bytes(),
        }
    }

    /// The bytes kept with the parsed file (borrowed ones copied).
    fn into_held(self) -> Held {
        match self {
            Input::Borrowed(b) => Held::Owned(b.to_vec()),
            Input::Held(h) => h,
        }
    }
}

impl DicomFile {
    /// Typed access to the top-level attributes.
    pub fn attrs(&self) -> Attrs<'_> {
        Attrs {
            path: &self.path,
            obj: &self.obj,
        }
    }

    /// The value of the top-level PixelData when it was left in the file's bytes (native,
    /// not encapsulated, pixel data of a file with a preamble).
    pub fn native_pixel_data(&self) -> Option<&[u8]> {
        self.pixel_bytes
            .as_ref()
            .and_then(|(held, range)| held.bytes().get(range.clone()))
    }

    /// True when multi-byte values in the data set are big endian.
    pub fn is_big_endian(&self) -> bool {
        self.transfer_syntax == ts::EXPLICIT_VR_BE
    }
}

/// Deepest nesting of sequences accepted (RT objects nest about 5 deep). Deeper nesting is
/// refused before parsing: the parser recurses once per level.
pub const MAX_NESTING: usize = 32;

/// Reads one file. `Ok(None)` means "not DICOM" (no preamble and no plausible data set).
/// Errors name the file. The bytes are read whole (or mapped, see [`super::mapped`]) and
/// parsed as by [`from_bytes`].
pub fn open(path: &Path) -> Result<Option<DicomFile>> {
    let (file, len) = open_sized(path)?;
    if let Some(m) = Mapping::of(&file, len) {
        return parse_file(Input::Held(Held::Mapped(m)), path);
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    read_up_to(file, MAX_FILE_BYTES + 1, &mut bytes, path)?;
    parse_file(Input::Held(Held::Owned(bytes)), path)
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

/// Appends at most `limit` more bytes of `file` to `bytes`.
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

/// [`open`], except that a file larger than [`super::peek::PREFIX_BYTES`] whose first
/// bytes show a class sbrt-verify does not read (a CT slice) is classified from them and
/// not read further. `Ok(None)`: not DICOM.
pub fn open_unless_other(path: &Path) -> Result<Option<Opened>> {
    let (mut file, len) = open_sized(path)?;
    let prefix = super::peek::PREFIX_BYTES as u64;
    // The prefix first; the rest is mapped, or read after it into the same buffer.
    let mut bytes = Vec::with_capacity(if len < super::mapped::MIN_BYTES {
        len as usize + 1
    } else {
        super::peek::PREFIX_BYTES
    });
    read_up_to(&mut file, prefix, &mut bytes, path)?;
    if bytes.len() as u64 == prefix {
        if let Some(kind) = super::peek::other_kind(&bytes) {
            return Ok(Some(Opened::Other(kind)));
        }
        if let Some(m) = Mapping::of(&file, len) {
            let input = Input::Held(Held::Mapped(m));
            return Ok(parse_file(input, path)?.map(Opened::Dicom));
        }
        bytes.reserve_exact((len + 1).saturating_sub(prefix) as usize);
        read_up_to(file, MAX_FILE_BYTES + 1 - prefix, &mut bytes, path)?;
    }
    Ok(parse_file(Input::Held(Held::Owned(bytes)), path)?.map(Opened::Dicom))
}

fn too_large(path: &Path, len: u64) -> Error {
    Error::invalid(
        path,
        format!("file is {len} bytes, more than the {MAX_FILE_BYTES} bytes an RT object may have"),
    )
}

/// Parses the bytes of one file; `path` names it in errors and in the result. `Ok(None)`
/// means "not DICOM". This is what [`open`] does after reading the file.
///
/// Before anything is parsed, every declared length (File Meta elements, data elements,
/// items, fragments) is checked against the bytes there are, and sequence nesting against
/// [`MAX_NESTING`]: a small file declaring a 4 GB element is refused instead of making the
/// parser allocate 4 GB.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Option<DicomFile>> {
    parse_file(Input::Borrowed(bytes), path)
}

/// [`from_bytes`] on bytes that may be a file's own: its pixel data is then left in them.
fn parse_file(input: Input<'_>, path: &Path) -> Result<Option<DicomFile>> {
    let bytes = input.bytes();
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        const PREAMBLE: usize = 128;
        let (mut file, pixels) = read_part10(&bytes[PREAMBLE..], path, true)?;
        file.pixel_bytes =
            pixels.map(|r| (input.into_held(), r.start + PREAMBLE..r.end + PREAMBLE));
        return Ok(Some(file));
    }
    // Some exports start with the File Meta group but no preamble.
    let Some(guess) = guess_bare_transfer_syntax(bytes) else {
        return Ok(None);
    };
    if guess.starts_with_meta_group {
        let mut with_magic = Vec::with_capacity(bytes.len() + 4);
        with_magic.extend_from_slice(b"DICM");
        with_magic.extend_from_slice(bytes);
        return read_part10(&with_magic, path, false).map(|(file, _)| Some(file));
    }
    let ts = TransferSyntaxRegistry
        .get(guess.uid)
        .expect("built-in transfer syntaxes are registered");
    let parsed = dataset::parse(bytes, ts, false);
    match parsed {
        Ok((obj, _)) => {
            // A bare data set is only accepted as DICOM if it says what it is.
            if obj
                .element_opt(tags::SOP_CLASS_UID)
                .ok()
                .flatten()
                .is_none()
            {
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
        Err(message) if names_rt_class(bytes) => Err(Error::Parse {
            path: path.to_path_buf(),
            message,
        }),
        Err(_) => Ok(None),
    }
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
    check_meta_lengths(&from_magic[4..]).map_err(parse_error)?;
    let mut cursor = std::io::Cursor::new(from_magic);
    let meta = dicom_object::meta::FileMetaTable::from_reader(&mut cursor)
        .map_err(|e| parse_error(one_line(&e.to_string())))?;
    let transfer_syntax = meta.transfer_syntax().trim_end_matches('\0').to_string();
    let rest = &from_magic[cursor.position() as usize..];
    let ts = TransferSyntaxRegistry
        .get(&transfer_syntax)
        .ok_or_else(|| Error::unsupported(path, format!("transfer syntax {transfer_syntax}")))?;
    let inflated;
    let deflated = transfer_syntax == ts::DEFLATED_EXPLICIT_VR_LE;
    let (body, body_ts) = if deflated {
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
    let body_start = from_magic.len() - body.len();
    let pixels = pixels.map(|r| r.start + body_start..r.end + body_start);
    // The File Meta says what the data set is; an RT object that does not say so itself
    // (e.g. a file cut before its SOP Class UID) would otherwise pass for "other DICOM".
    let meta_class = meta.media_storage_sop_class_uid();
    if meta_class.starts_with(RT_CLASS_ROOT)
        && obj
            .element_opt(tags::SOP_CLASS_UID)
            .ok()
            .flatten()
            .is_none()
    {
        return Err(Attrs::new(path, &obj).missing(a::SOP_CLASS_UID));
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

/// Keeps an error message on one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Typed access to the attributes of one data set (or sequence item), with the file path
/// for error messages. Attribute names are given with the tag for the messages.
#[derive(Clone, Copy)]
pub struct Attrs<'a> {
    pub path: &'a Path,
    pub obj: &'a InMemDicomObject,
}

/// An attribute: its tag and keyword (for messages).
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub tag: Tag,
    pub name: &'static str,
}

/// Declares attribute constants with their keywords.
macro_rules! attrs {
    ($($konst:ident = $g:literal, $e:literal;)*) => {
        $(pub const $konst: Attr = Attr { tag: Tag($g, $e), name: stringify!($konst) };)*
    };
}

/// The attributes sbrt-verify reads, by keyword (upper snake case of the DICOM keyword).
pub mod a {
    use super::Attr;
    use dicom_core::Tag;
    attrs! {
        SOP_CLASS_UID = 0x0008, 0x0016;
        SOP_INSTANCE_UID = 0x0008, 0x0018;
        MODALITY = 0x0008, 0x0060;
        SERIES_DESCRIPTION = 0x0008, 0x103E;
        MANUFACTURER = 0x0008, 0x0070;
        REFERENCED_SOP_INSTANCE_UID = 0x0008, 0x1155;
        PATIENT_NAME = 0x0010, 0x0010;
        PATIENT_ID = 0x0010, 0x0020;
        STUDY_INSTANCE_UID = 0x0020, 0x000D;
        IMAGE_POSITION_PATIENT = 0x0020, 0x0032;
        IMAGE_ORIENTATION_PATIENT = 0x0020, 0x0037;
        FRAME_OF_REFERENCE_UID = 0x0020, 0x0052;
        SAMPLES_PER_PIXEL = 0x0028, 0x0002;
        NUMBER_OF_FRAMES = 0x0028, 0x0008;
        ROWS = 0x0028, 0x0010;
        COLUMNS = 0x0028, 0x0011;
        PIXEL_SPACING = 0x0028, 0x0030;
        BITS_ALLOCATED = 0x0028, 0x0100;
        BITS_STORED = 0x0028, 0x0101;
        PIXEL_REPRESENTATION = 0x0028, 0x0103;
        DOSE_UNITS = 0x3004, 0x0002;
        DOSE_TYPE = 0x3004, 0x0004;
        DOSE_COMMENT = 0x3004, 0x0006;
        DOSE_SUMMATION_TYPE = 0x3004, 0x000A;
        GRID_FRAME_OFFSET_VECTOR = 0x3004, 0x000C;
        DOSE_GRID_SCALING = 0x3004, 0x000E;
        STRUCTURE_SET_LABEL = 0x3006, 0x0002;
        STRUCTURE_SET_NAME = 0x3006, 0x0004;
        REFERENCED_FRAME_OF_REFERENCE_SEQUENCE = 0x3006, 0x0010;
        STRUCTURE_SET_ROI_SEQUENCE = 0x3006, 0x0020;
        ROI_NUMBER = 0x3006, 0x0022;
        REFERENCED_FRAME_OF_REFERENCE_UID = 0x3006, 0x0024;
        ROI_NAME = 0x3006, 0x0026;
        ROI_DISPLAY_COLOR = 0x3006, 0x002A;
        ROI_CONTOUR_SEQUENCE = 0x3006, 0x0039;
        CONTOUR_SEQUENCE = 0x3006, 0x0040;
        CONTOUR_GEOMETRIC_TYPE = 0x3006, 0x0042;
        NUMBER_OF_CONTOUR_POINTS = 0x3006, 0x0046;
        CONTOUR_DATA = 0x3006, 0x0050;
        RT_ROI_OBSERVATIONS_SEQUENCE = 0x3006, 0x0080;
        REFERENCED_ROI_NUMBER = 0x3006, 0x0084;
        RT_ROI_INTERPRETED_TYPE = 0x3006, 0x00A4;
        RT_PLAN_LABEL = 0x300A, 0x0002;
        RT_PLAN_NAME = 0x300A, 0x0003;
        PLAN_INTENT = 0x300A, 0x000A;
        DOSE_REFERENCE_SEQUENCE = 0x300A, 0x0010;
        DOSE_REFERENCE_NUMBER = 0x300A, 0x0012;
        DOSE_REFERENCE_UID = 0x300A, 0x0013;
        DOSE_REFERENCE_STRUCTURE_TYPE = 0x300A, 0x0014;
        DOSE_REFERENCE_DESCRIPTION = 0x300A, 0x0016;
        DOSE_REFERENCE_TYPE = 0x300A, 0x0020;
        DELIVERY_MAXIMUM_DOSE = 0x300A, 0x0023;
        TARGET_MINIMUM_DOSE = 0x300A, 0x0025;
        TARGET_PRESCRIPTION_DOSE = 0x300A, 0x0026;
        TARGET_MAXIMUM_DOSE = 0x300A, 0x0027;
        ORGAN_AT_RISK_MAXIMUM_DOSE = 0x300A, 0x002C;
        FRACTION_GROUP_SEQUENCE = 0x300A, 0x0070;
        FRACTION_GROUP_NUMBER = 0x300A, 0x0071;
        NUMBER_OF_FRACTIONS_PLANNED = 0x300A, 0x0078;
        NUMBER_OF_BEAMS = 0x300A, 0x0080;
        BEAM_SEQUENCE = 0x300A, 0x00B0;
        TREATMENT_MACHINE_NAME = 0x300A, 0x00B2;
        BEAM_TYPE = 0x300A, 0x00C4;
        BEAM_NUMBER = 0x300A, 0x00C0;
        BEAM_NAME = 0x300A, 0x00C2;
        RADIATION_TYPE = 0x300A, 0x00C6;
        ION_BEAM_SEQUENCE = 0x300A, 0x03A2;
        REFERENCED_RT_PLAN_SEQUENCE = 0x300C, 0x0002;
        REFERENCED_STRUCTURE_SET_SEQUENCE = 0x300C, 0x0060;
        APPROVAL_STATUS = 0x300E, 0x0002;
        PIXEL_DATA = 0x7FE0, 0x0010;
    }
}

pub(super) fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

/// The DICOM keyword of an attribute (e.g. `GridFrameOffsetVector`), from the standard
/// dictionary; the constant's name when the dictionary does not know the tag.
fn keyword(at: Attr) -> &'static str {
    use dicom_core::dictionary::DataDictionary;
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(at.tag)
        .map(|e| e.alias)
        .unwrap_or(at.name)
}

impl<'a> Attrs<'a> {
    pub fn new(path: &'a Path, obj: &'a InMemDicomObject) -> Self {
        Attrs { path, obj }
    }

    /// Error: attribute missing.
    pub fn missing(&self, at: Attr) -> Error {
        Error::MissingTag {
            path: self.path.to_path_buf(),
            name: keyword(at),
            tag: tag_text(at.tag),
        }
    }

    /// Error: attribute present but its value is wrong.
    pub fn bad(&self, at: Attr, message: impl Into<String>) -> Error {
        Error::BadValue {
            path: self.path.to_path_buf(),
            name: keyword(at),
            tag: tag_text(at.tag),
            message: message.into(),
        }
    }

    /// True when the attribute is present (even if empty).
    pub fn has(&self, at: Attr) -> bool {
        matches!(self.obj.element_opt(at.tag), Ok(Some(_)))
    }

    /// The raw text of a string attribute, `None` when absent or empty. Values stored
    /// with VR UN are decoded as text.
    pub fn str_opt(&self, at: Attr) -> Result<Option<String>> {
        let Ok(Some(el)) = self.obj.element_opt(at.tag) else {
            return Ok(None);
        };
        let text: Cow<'_, str> = if el.vr() == VR::UN {
            let bytes = el
                .to_bytes()
                .map_err(|e| self.bad(at, one_line(&e.to_string())))?;
            Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            match el.value() {
                Value::Primitive(p) => p.to_str(),
                _ => return Err(self.bad(at, "expected a value, found a sequence")),
            }
        };
        let t = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        Ok(if t.is_empty() {
            None
        } else {
            Some(t.to_string())
        })
    }

    /// A required string attribute.
    pub fn str_req(&self, at: Attr) -> Result<String> {
        self.str_opt(at)?.ok_or_else(|| self.missing(at))
    }

    /// All numbers of a numeric attribute (DS, IS, US, UL, FD, FL, SS, SL, or UN text),
    /// `None` when absent or empty. Non-finite values are an error.
    pub fn numbers_opt(&self, at: Attr) -> Result<Option<Vec<f64>>> {
        let Ok(Some(el)) = self.obj.element_opt(at.tag) else {
            return Ok(None);
        };
        let vr = el.vr();
        // A decimal string kept as its text (see `dataset`) is read straight from its
        // bytes when it is plain decimal numbers, else as any other text.
        let values: Vec<f64> = match (vr, el.value()) {
            (VR::DS, Value::Primitive(PrimitiveValue::Str(text))) => {
                match dataset::ds_numbers(text.as_bytes()) {
                    Some(values) => values,
                    None => self.text_numbers(at, vr)?.unwrap_or_default(),
                }
            }
            (VR::DS | VR::IS | VR::UN | VR::LO | VR::SH | VR::CS, _) => {
                self.text_numbers(at, vr)?.unwrap_or_default()
            }
            (_, Value::Primitive(p)) => p
                .to_multi_float64()
                .map_err(|e| self.bad(at, one_line(&e.to_string())))?,
            _ => return Err(self.bad(at, "expected numbers, found a sequence")),
        };
        if values.is_empty() {
            return Ok(None);
        }
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(self.bad(at, format!("non-finite value {v}")));
        }
        Ok(Some(values))
    }

    /// The numbers of a textual attribute split at backslashes (`None` when empty).
    fn text_numbers(&self, at: Attr, vr: VR) -> Result<Option<Vec<f64>>> {
        let Some(text) = self.str_opt(at)? else {
            return Ok(None);
        };
        if vr == VR::UN && !text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(self.bad(at, "unreadable value stored as UN"));
        }
        text.split('\\')
            .map(|s| {
                let s = s.trim();
                s.parse::<f64>()
                    .map_err(|_| self.bad(at, format!("'{s}' is not a number")))
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// A required numeric attribute with exactly `n` values (any count when `n` is 0).
    pub fn numbers_req(&self, at: Attr, n: usize) -> Result<Vec<f64>> {
        let v = self.numbers_opt(at)?.ok_or_else(|| self.missing(at))?;
        if n != 0 && v.len() != n {
            return Err(self.bad(at, format!("expected {n} values, found {}", v.len())));
        }
        Ok(v)
    }

    /// An optional single number.
    pub fn f64_opt(&self, at: Attr) -> Result<Option<f64>> {
        Ok(self.numbers_opt(at)?.map(|v| v[0]))
    }

    pub fn f64_req(&self, at: Attr) -> Result<f64> {
        self.f64_opt(at)?.ok_or_else(|| self.missing(at))
    }

    /// An optional non-negative integer in `0..=max`.
    pub fn uint_opt(&self, at: Attr, max: u64) -> Result<Option<u64>> {
        let Some(v) = self.f64_opt(at)? else {
            return Ok(None);
        };
        if v < 0.0 || v.fract() != 0.0 || v > max as f64 {
            return Err(self.bad(at, format!("expected a whole number 0..={max}, found {v}")));
        }
        Ok(Some(v as u64))
    }

    pub fn uint_req(&self, at: Attr, max: u64) -> Result<u64> {
        self.uint_opt(at, max)?.ok_or_else(|| self.missing(at))
    }

    /// An optional integer (e.g. ROI numbers, which may in practice be any integer).
    pub fn int_opt(&self, at: Attr) -> Result<Option<i64>> {
        let Some(v) = self.f64_opt(at)? else {
            return Ok(None);
        };
        if v.fract() != 0.0 || v.abs() > 1e15 {
            return Err(self.bad(at, format!("expected an integer, found {v}")));
        }
        Ok(Some(v as i64))
    }

    /// The items of a sequence; empty when the sequence is absent.
    pub fn items(&self, at: Attr) -> Vec<Attrs<'a>> {
        match self.obj.element_opt(at.tag) {
            Ok(Some(el)) => el
                .items()
                .map(|items| {
                    items
                        .iter()
                        .map(|obj| Attrs {
                            path: self.path,
                            obj,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// `ReferencedSOPInstanceUID` of the first item of a reference sequence.
    pub fn first_referenced_uid(&self, seq: Attr) -> Result<Option<String>> {
        match self.items(seq).first() {
            Some(item) => item.str_opt(a::REFERENCED_SOP_INSTANCE_UID),
            None => Ok(None),
        }
    }

    /// The element itself (for pixel data).
    pub fn element(&self, at: Attr) -> Option<&'a dicom_object::mem::InMemElement> {
        self.obj.element_opt(at.tag).ok().flatten()
    }
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

    #[test]
    fn one_line_folds_whitespace() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
    }
}
