//! The bytes of a data set -> an [`InMemDicomObject`], in two walks over the token stream
//! dicom-object builds its objects from (one reader, so both walks see the same structure):
//!
//! 1. [`check_lengths`] walks the headers and skips the values (nothing is decoded or
//!    allocated) and checks, before the parser would allocate anything, that every declared
//!    length fits in the data and that sequences nest at most [`MAX_NESTING`] deep; and
//!    what the parser lets pass: elements out of order or repeated, bytes left over.
//! 2. dicom-object builds the object through a decoder that keeps each ASCII decimal
//!    string (DS: ContourData, the leaf positions of an RT Plan...) as one string, its
//!    text as stored. dicom-rs would make one `String` per number through the
//!    character-set codec, which was most of the time spent reading a structure set or a
//!    plan. sbrt-verify reads DS attributes only as numbers
//!    ([`super::attrs::Attrs::numbers_opt`]), split and parsed from that text when they
//!    are read: most of a plan's are never read, and a structure set's contours are read
//!    in parallel. A DS that is not ASCII is read by dicom-rs as before. Integer
//!    strings, dates and times (IS, DA, TM, DT) made only of digits, signs, points,
//!    exponents, colons and spaces are split into strings directly: every DICOM character
//!    set decodes those bytes to themselves.

use std::cell::Cell;
use std::ops::Range;

use dicom_core::header::{DataElementHeader, Length, SequenceItemHeader};
use dicom_core::value::PrimitiveValue;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags::PIXEL_DATA;
use dicom_dictionary_std::StandardDataDictionary;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_encoding::TransferSyntax;
use dicom_object::InMemDicomObject;
use dicom_parser::dataset::read::DataSetReaderOptions;
use dicom_parser::dataset::DataToken;
use dicom_parser::stateful::decode::{
    CharacterSetOverride, DynStatefulDecoder, Result as DecodeResult, StatefulDecode,
};
use dicom_parser::DataSetReader;

use super::attrs::{one_line, tag_text};

/// Deepest nesting of sequences accepted (RT objects nest about 5 deep). Deeper nesting is
/// refused before parsing: the parser recurses once per level.
pub const MAX_NESTING: usize = 32;

/// Checks the declared lengths and the nesting of a data set, then reads it. With
/// `leave_pixel_data`, the value of a top-level native PixelData is not copied into the
/// object (its element is there, empty): its place in `data` is returned instead, so a
/// dose grid is converted straight from the file's bytes.
pub(super) fn parse(
    data: &[u8],
    ts: &TransferSyntax,
    leave_pixel_data: bool,
) -> Result<(InMemDicomObject, Option<Range<usize>>), String> {
    let pixel_data = check_lengths(data, ts, None)?.filter(|_| leave_pixel_data);
    let obj = InMemDicomObject::read_dataset_with_dict(
        FastValues {
            inner: decoder(data, ts)?,
            data,
            leave: pixel_data.clone(),
        },
        StandardDataDictionary,
    )
    .map_err(|e| one_line(&e.to_string()))?;
    Ok((obj, pixel_data))
}

/// The decoder dicom-object's `read_dataset_with_ts` reads with (default character set,
/// standard text rules).
fn decoder<'a>(
    data: &'a [u8],
    ts: &TransferSyntax,
) -> Result<DynStatefulDecoder<&'a [u8]>, String> {
    DynStatefulDecoder::new_with_override(
        data,
        ts,
        SpecificCharacterSet::default(),
        CharacterSetOverride::default(),
        0,
    )
    .map_err(|e| one_line(&e.to_string()))
}

/// Walks the data set's tokens and checks, before each value would be read, that its
/// declared length fits in the data and that sequences nest at most [`MAX_NESTING`] deep.
/// Values are skipped, not read; a value that runs past the end of the data is read by the
/// parser (after its length was found to fit), which reports the truncation as it would.
/// Also refused, as the parser would take them silently: elements of one data set or item
/// out of ascending tag order or repeated (PS3.5 7.1; what a value whose bytes were cut
/// looks like once the parser falls back into step, with one item's elements read into
/// another), and bytes after the last whole element (a file cut inside an element's
/// header, or with bytes added inside a value). Returns where the value of a top-level
/// native PixelData lies in `data`.
///
/// With `stop`, the walk ends at the first top-level element whose tag is `stop` or
/// later, and the data may end anywhere after it (a file's first bytes, see
/// [`super::peek`]).
pub(super) fn check_lengths(
    data: &[u8],
    ts: &TransferSyntax,
    stop: Option<Tag>,
) -> Result<Option<Range<usize>>, String> {
    let size = data.len() as u64;
    let skipped = Cell::new(None);
    let reached = Cell::new(0);
    let skim = SkipValues {
        inner: decoder(data, ts)?,
        size,
        skipped: &skipped,
        reached: &reached,
    };
    let reader = DataSetReader::new(skim, DataSetReaderOptions::default());
    let mut nesting = Nesting::default();
    let mut pixel_data = None;
    let mut top_pixel_header = false;
    for token in reader {
        let token = token.map_err(|e| one_line(&e.to_string()))?;
        if std::mem::take(&mut top_pixel_header) {
            if let DataToken::PrimitiveValue(_) = token {
                pixel_data = skipped.take();
            }
        }
        let past_stop = opened_tag(&token)
            .zip(stop)
            .is_some_and(|(tag, stop)| tag >= stop);
        if nesting.depth == 0 && past_stop {
            return Ok(None);
        }
        nesting.step(&token, size)?;
        if let DataToken::ElementHeader(h) = &token {
            top_pixel_header = h.tag == PIXEL_DATA && nesting.depth == 0;
            skipped.set(None);
        }
    }
    check_end(stop, nesting.depth, size, reached.get())?;
    Ok(pixel_data)
}

/// A token -> the tag it opens an element, sequence or pixel sequence with, if any.
fn opened_tag(token: &DataToken) -> Option<Tag> {
    match token {
        DataToken::ElementHeader(h) => Some(h.tag),
        DataToken::SequenceStart { tag, .. } => Some(*tag),
        DataToken::PixelSequenceStart => Some(PIXEL_DATA),
        _ => None,
    }
}

/// A declared length -> an error when it is more than the `size` bytes of the data set
/// (`what` names what declares it).
fn fits(len: Length, size: u64, what: impl FnOnce() -> String) -> Result<(), String> {
    match len.get() {
        Some(n) if u64::from(n) > size => Err(format!(
            "{} declares {n} bytes, more than the {size} bytes of the data set",
            what()
        )),
        _ => Ok(()),
    }
}

/// Where [`check_lengths`] is in the nesting of sequences and items.
#[derive(Default)]
struct Nesting {
    /// Sequences and items each count one level.
    depth: usize,
    /// The last tag of the data set or item being read.
    last: Option<Tag>,
    /// The last tags of the data sets and items around it.
    outer: Vec<Option<Tag>>,
}

impl Nesting {
    /// One token -> its declared length checked against the `size` bytes of the data set,
    /// its tag against the last one of its data set or item, and the nesting followed (at
    /// most [`MAX_NESTING`] deep).
    fn step(&mut self, token: &DataToken, size: u64) -> Result<(), String> {
        match token {
            DataToken::ElementHeader(h) => {
                fits(h.len, size, || format!("element {}", tag_text(h.tag)))?;
                whole_values(h)?;
                self.in_order(h.tag)?;
            }
            DataToken::SequenceStart { tag, len } => {
                fits(*len, size, || format!("sequence {}", tag_text(*tag)))?;
                self.in_order(*tag)?;
                self.depth += 1;
            }
            DataToken::PixelSequenceStart => {
                self.in_order(PIXEL_DATA)?;
                self.depth += 1;
            }
            DataToken::ItemStart { len } => {
                fits(*len, size, || "an item".to_string())?;
                self.outer.push(self.last.take());
                self.depth += 1;
            }
            DataToken::ItemEnd => {
                if let Some(around) = self.outer.pop() {
                    self.last = around;
                }
                self.depth = self.depth.saturating_sub(1);
            }
            DataToken::SequenceEnd => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        if self.depth > 2 * MAX_NESTING {
            return Err(format!("sequences nested more than {MAX_NESTING} deep"));
        }
        Ok(())
    }

    /// A tag -> an error unless it comes after the last one of its data set or item.
    fn in_order(&mut self, tag: Tag) -> Result<(), String> {
        match self.last {
            Some(before) if tag <= before => Err(format!(
                "element {} after {}: elements out of order or repeated (corrupted file?)",
                tag_text(tag),
                tag_text(before)
            )),
            _ => {
                self.last = Some(tag);
                Ok(())
            }
        }
    }
}

/// The end of the walk -> an error when the data ended before `stop`, inside a sequence
/// (`depth` levels in), or with bytes after the last whole element (`reached` of `size`).
fn check_end(stop: Option<Tag>, depth: usize, size: u64, reached: u64) -> Result<(), String> {
    if stop.is_some() {
        return Err("the data ends before the element to stop at".to_string());
    }
    // The parser takes the end of the data inside a sequence for the end of the data set,
    // which would silently drop the rest of the sequence (e.g. the last contours).
    if depth != 0 {
        return Err("the data ends inside a sequence (truncated file?)".to_string());
    }
    // The parser also takes bytes too few for an element's header for the end.
    let extra = size.saturating_sub(reached);
    if extra > 0 {
        return Err(format!(
            "{extra} byte(s) after the last whole element (truncated or corrupted file?)"
        ));
    }
    Ok(())
}

/// Bytes in one value of a VR that dicom-parser reads as binary numbers (US, UL, FL, FD,
/// AT and the like); `None` for the others.
fn binary_value_bytes(vr: VR) -> Option<u32> {
    match vr {
        VR::US | VR::OW | VR::SS => Some(2),
        VR::AT | VR::FL | VR::OF | VR::SL | VR::UL | VR::OL => Some(4),
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => Some(8),
        _ => None,
    }
}

/// Refuses a binary-number element whose declared length is not a whole number of values
/// (PS3.5 6.2). dicom-parser reads the whole values of such an element and counts the rest
/// as read without reading it, so every header after it is read from the wrong place: a
/// UL group length of 42 bytes made the next "header" declare 4 GB, which the parser
/// allocated (this walk, skipping by the declared length, had seen nothing wrong).
fn whole_values(h: &DataElementHeader) -> Result<(), String> {
    match (binary_value_bytes(h.vr), h.len.get()) {
        (Some(size), Some(n)) if n % size != 0 => Err(format!(
            "element {} ({}) declares {n} bytes, not a whole number of its {size}-byte values (corrupted file?)",
            tag_text(h.tag),
            h.vr
        )),
        _ => Ok(()),
    }
}

/// The decoder methods both wrappers below leave to the decoder they wrap: headers,
/// skipping and position (only values are read differently). Each header or skip's result
/// is passed through the wrapper's method `$after` (which may note the position).
macro_rules! headers_and_position_from_inner {
    ($after:ident) => {
        type Reader = D::Reader;

        fn decode_header(&mut self) -> DecodeResult<DataElementHeader> {
            let header = self.inner.decode_header();
            self.$after(header)
        }

        fn decode_item_header(&mut self) -> DecodeResult<SequenceItemHeader> {
            let header = self.inner.decode_item_header();
            self.$after(header)
        }

        fn skip_bytes(&mut self, length: u32) -> DecodeResult<()> {
            let skipped = self.inner.skip_bytes(length);
            self.$after(skipped)
        }

        fn seek(&mut self, position: u64) -> DecodeResult<()>
        where
            Self::Reader: std::io::Seek,
        {
            self.inner.seek(position)
        }

        fn position(&self) -> u64 {
            self.inner.position()
        }
    };
}

/// A decoder that skips values instead of reading them, when they fit in the data; a
/// value that does not is handed to the real decoder, which fails on it. The place of the
/// last value skipped is kept in `skipped`, and the position after the last header or
/// value read whole in `reached`.
struct SkipValues<'a, D> {
    inner: D,
    size: u64,
    skipped: &'a Cell<Option<Range<usize>>>,
    reached: &'a Cell<u64>,
}

impl<D: StatefulDecode> SkipValues<'_, D> {
    fn room_for(&self, len: u32) -> bool {
        self.inner.position() + u64::from(len) <= self.size
    }

    /// `result`, with the position after it kept in `reached` when it succeeded.
    fn mark<T>(&self, result: DecodeResult<T>) -> DecodeResult<T> {
        if result.is_ok() {
            self.reached.set(self.inner.position());
        }
        result
    }

    fn skip_value(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        match header.len.get() {
            Some(n) if self.room_for(n) => {
                let start = self.inner.position() as usize;
                self.inner.skip_bytes(n)?;
                self.skipped.set(Some(start..start + n as usize));
                Ok(PrimitiveValue::Empty)
            }
            _ => self.inner.read_value_bytes(header),
        }
    }
}

impl<D: StatefulDecode> StatefulDecode for SkipValues<'_, D> {
    headers_and_position_from_inner!(mark);

    fn read_value(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        let value = self.skip_value(header);
        self.mark(value)
    }

    fn read_value_preserved(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        let value = self.skip_value(header);
        self.mark(value)
    }

    fn read_value_bytes(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        let value = self.skip_value(header);
        self.mark(value)
    }

    fn read_to_vec(&mut self, length: u32, vec: &mut Vec<u8>) -> DecodeResult<()> {
        let read = if self.room_for(length) {
            self.inner.skip_bytes(length)
        } else {
            self.inner.read_to_vec(length, vec)
        };
        self.mark(read)
    }

    fn read_u32_to_vec(&mut self, length: u32, vec: &mut Vec<u32>) -> DecodeResult<()> {
        let read = if self.room_for(length) {
            self.inner.skip_bytes(length)
        } else {
            self.inner.read_u32_to_vec(length, vec)
        };
        self.mark(read)
    }

    fn read_to<W>(&mut self, length: u32, out: W) -> DecodeResult<()>
    where
        Self: Sized,
        W: std::io::Write,
    {
        let read = if self.room_for(length) {
            self.inner.skip_bytes(length)
        } else {
            self.inner.read_to(length, out)
        };
        self.mark(read)
    }
}

/// A decoder that keeps ASCII decimal strings as their text and reads integer strings,
/// dates and times in plain ASCII without the character-set codec (see the module
/// documentation), leaves the value at `leave` (the top-level PixelData) unread, and reads
/// everything else as the wrapped decoder does. `data` is what the wrapped decoder reads,
/// from its position 0.
struct FastValues<'a, D> {
    inner: D,
    data: &'a [u8],
    leave: Option<Range<usize>>,
}

impl<D> FastValues<'_, D> {
    /// A header or skip's result, as it is (see [`headers_and_position_from_inner`]).
    fn unchanged<T>(&self, result: DecodeResult<T>) -> DecodeResult<T> {
        result
    }
}

impl<D: StatefulDecode> StatefulDecode for FastValues<'_, D> {
    headers_and_position_from_inner!(unchanged);

    fn read_value(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.inner.read_value(header)
    }

    fn read_value_preserved(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        let start = self.inner.position() as usize;
        let len = header.len.get().unwrap_or(0);
        if let Some(leave) = &self.leave {
            if header.tag == PIXEL_DATA && start == leave.start && len as usize == leave.len() {
                self.inner.skip_bytes(len)?;
                return Ok(PrimitiveValue::Empty);
            }
        }
        // Values that run past the data (or have no length) take the usual path and error.
        let bytes = match self.data.get(start..start.saturating_add(len as usize)) {
            Some(b) if !b.is_empty() => b,
            _ => return self.inner.read_value_preserved(header),
        };
        let value = if header.vr == VR::DS {
            // Kept as its text, parsed when read (see the module documentation).
            bytes
                .is_ascii()
                .then(|| String::from_utf8(bytes.to_vec()).ok())
                .flatten()
                .map(PrimitiveValue::Str)
        } else if matches!(header.vr, VR::IS | VR::DA | VR::TM | VR::DT)
            && bytes
                .iter()
                .all(|b| b.is_ascii_digit() || b" +-.eE:\\".contains(b))
        {
            // What the codec of any DICOM character set makes of these bytes.
            Some(PrimitiveValue::Strs(
                bytes
                    .split(|b| *b == b'\\')
                    .map(|part| part.iter().map(|&b| char::from(b)).collect())
                    .collect(),
            ))
        } else {
            None
        };
        match value {
            Some(v) => {
                self.inner.skip_bytes(len)?;
                Ok(v)
            }
            None => self.inner.read_value_preserved(header),
        }
    }

    fn read_value_bytes(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.inner.read_value_bytes(header)
    }

    fn read_to_vec(&mut self, length: u32, vec: &mut Vec<u8>) -> DecodeResult<()> {
        self.inner.read_to_vec(length, vec)
    }

    fn read_u32_to_vec(&mut self, length: u32, vec: &mut Vec<u32>) -> DecodeResult<()> {
        self.inner.read_u32_to_vec(length, vec)
    }

    fn read_to<W>(&mut self, length: u32, out: W) -> DecodeResult<()>
    where
        Self: Sized,
        W: std::io::Write,
    {
        self.inner.read_to(length, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An implicit VR little endian element.
    fn element(out: &mut Vec<u8>, group: u16, elem: u16, value: &[u8]) {
        out.extend(group.to_le_bytes());
        out.extend(elem.to_le_bytes());
        out.extend((value.len() as u32).to_le_bytes());
        out.extend(value);
    }

    #[test]
    fn binary_values_that_are_not_whole_are_refused_before_the_parser_loses_its_place() {
        let ts = dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN.erased();
        // Modality, then Rows (US) with `rows` as its value, then Columns (US).
        let data = |rows: &[u8]| {
            let mut d = Vec::new();
            element(&mut d, 0x0008, 0x0060, b"RTDOSE");
            element(&mut d, 0x0028, 0x0010, rows);
            element(&mut d, 0x0028, 0x0011, &7u16.to_le_bytes());
            d
        };
        let (obj, _) = parse(&data(&[5, 0]), &ts, false).unwrap();
        assert_eq!(
            obj.element(Tag(0x0028, 0x0011))
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            7
        );
        for bad in [&[5u8, 0, 0][..], &[5], &[5, 0, 0, 0, 9]] {
            let e = parse(&data(bad), &ts, false).unwrap_err();
            assert!(
                e.contains("element (0028,0010) (US)")
                    && e.contains(&format!(
                        "declares {} bytes, not a whole number of its 2-byte",
                        bad.len()
                    )),
                "{e}"
            );
        }
        // Binary numbers of 4 and 8 bytes, and text (any length) pass through as before.
        assert_eq!(binary_value_bytes(VR::UL), Some(4));
        assert_eq!(binary_value_bytes(VR::FD), Some(8));
        assert_eq!(binary_value_bytes(VR::AT), Some(4));
        assert_eq!(binary_value_bytes(VR::DS), None);
        assert_eq!(binary_value_bytes(VR::OB), None);
    }
}
