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
//!    ([`super::read::Attrs::numbers_opt`]), straight from that text ([`ds_numbers`]) when
//!    they are read: most of a plan's are never read, and a structure set's contours are
//!    read in parallel. A DS that is not ASCII is read by dicom-rs as before. Integer
//!    strings, dates and times (IS, DA, TM, DT) made only of digits, signs, points,
//!    exponents, colons and spaces are split into strings directly: every DICOM character
//!    set decodes those bytes to themselves.

use std::cell::Cell;
use std::ops::Range;

use dicom_core::header::{DataElementHeader, Length, SequenceItemHeader};
use dicom_core::value::PrimitiveValue;
use dicom_core::{Tag, VR};
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

use super::read::{one_line, tag_text, MAX_NESTING};

/// PixelData (7FE0,0010).
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

/// Checks the declared lengths and the nesting of a data set, then reads it. With
/// `leave_pixel_data`, the value of a top-level native PixelData is not copied into the
/// object (its element is there, empty): its place in `data` is returned instead, so a
/// dose grid is converted straight from the file's bytes.
pub(super) fn parse(
    data: &[u8],
    ts: &TransferSyntax,
    leave_pixel_data: bool,
) -> Result<(InMemDicomObject, Option<Range<usize>>), String> {
    let pixel_data = check_lengths(data, ts)?.filter(|_| leave_pixel_data);
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
fn check_lengths(data: &[u8], ts: &TransferSyntax) -> Result<Option<Range<usize>>, String> {
    let size = data.len() as u64;
    let fits = |len: Length, what: &dyn Fn() -> String| match len.get() {
        Some(n) if u64::from(n) > size => Err(format!(
            "{} declares {n} bytes, more than the {size} bytes of the data set",
            what()
        )),
        _ => Ok(()),
    };
    let skipped = Cell::new(None);
    let reached = Cell::new(0);
    let skim = SkipValues {
        inner: decoder(data, ts)?,
        size,
        skipped: &skipped,
        reached: &reached,
    };
    let reader = DataSetReader::new(skim, DataSetReaderOptions::default());
    // Sequences and items each count one level.
    let mut depth = 0usize;
    let mut pixel_data = None;
    let mut top_pixel_header = false;
    // The last tag of the data set or item being read, and those of the ones around it.
    let mut last: Option<Tag> = None;
    let mut outer: Vec<Option<Tag>> = Vec::new();
    let in_order = |tag: Tag, last: &mut Option<Tag>| match *last {
        Some(before) if tag <= before => Err(format!(
            "element {} after {}: elements out of order or repeated (corrupted file?)",
            tag_text(tag),
            tag_text(before)
        )),
        _ => {
            *last = Some(tag);
            Ok(())
        }
    };
    for token in reader {
        let token = token.map_err(|e| one_line(&e.to_string()))?;
        if std::mem::take(&mut top_pixel_header) {
            if let DataToken::PrimitiveValue(_) = token {
                pixel_data = skipped.take();
            }
        }
        match token {
            DataToken::ElementHeader(h) => {
                fits(h.len, &|| format!("element {}", tag_text(h.tag)))?;
                whole_values(&h)?;
                in_order(h.tag, &mut last)?;
                top_pixel_header = h.tag == PIXEL_DATA && depth == 0;
                skipped.set(None);
            }
            DataToken::SequenceStart { tag, len } => {
                fits(len, &|| format!("sequence {}", tag_text(tag)))?;
                in_order(tag, &mut last)?;
                depth += 1;
            }
            DataToken::PixelSequenceStart => {
                in_order(PIXEL_DATA, &mut last)?;
                depth += 1;
            }
            DataToken::ItemStart { len } => {
                fits(len, &|| "an item".to_string())?;
                outer.push(last.take());
                depth += 1;
            }
            DataToken::ItemEnd => {
                if let Some(around) = outer.pop() {
                    last = around;
                }
                depth = depth.saturating_sub(1);
            }
            DataToken::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > 2 * MAX_NESTING {
            return Err(format!("sequences nested more than {MAX_NESTING} deep"));
        }
    }
    // The parser takes the end of the data inside a sequence for the end of the data set,
    // which would silently drop the rest of the sequence (e.g. the last contours).
    if depth != 0 {
        return Err("the data ends inside a sequence (truncated file?)".to_string());
    }
    // The parser also takes bytes too few for an element's header for the end.
    let extra = size.saturating_sub(reached.get());
    if extra > 0 {
        return Err(format!(
            "{extra} byte(s) after the last whole element (truncated or corrupted file?)"
        ));
    }
    Ok(pixel_data)
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

/// The numbers of a DS value when every backslash-separated part is a plain decimal number
/// (digits, sign, point, exponent; spaces around it); `None` otherwise.
///
/// One pass over the bytes: each part is read where it starts ([`plain_decimal_at`]) and
/// must be followed by spaces and a backslash or the end. A part that is not read so (a
/// long mantissa, other white space) is trimmed and read by `str::parse`, as it would be
/// on its own.
pub(super) fn ds_numbers(bytes: &[u8]) -> Option<Vec<f64>> {
    let mut out = Vec::with_capacity(bytes.iter().filter(|b| **b == b'\\').count() + 1);
    let spaces_from = |mut at: usize| {
        while bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        at
    };
    let mut at = 0;
    loop {
        let fast = plain_decimal_at(bytes, spaces_from(at)).and_then(|(v, end)| {
            let end = spaces_from(end);
            matches!(bytes.get(end), None | Some(b'\\')).then_some((v, end))
        });
        let (value, end) = match fast {
            Some(read) => read,
            None => {
                let end = bytes[at..]
                    .iter()
                    .position(|b| *b == b'\\')
                    .map_or(bytes.len(), |i| at + i);
                (other_decimal(&bytes[at..end])?, end)
            }
        };
        out.push(value);
        if end == bytes.len() {
            return Some(out);
        }
        at = end + 1;
    }
}

/// A part of a DS value that is not a plain decimal: trimmed, made only of digits, signs,
/// points and exponents, and read by `str::parse`.
fn other_decimal(part: &[u8]) -> Option<f64> {
    let part = part.trim_ascii();
    if part.is_empty()
        || !part
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    // Only ASCII bytes are left, so this is valid UTF-8.
    std::str::from_utf8(part).ok()?.parse::<f64>().ok()
}

/// Powers of ten that are exact in f64.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The whole of `s` as a plain decimal number ([`plain_decimal_at`]).
#[cfg(test)]
fn plain_decimal(s: &[u8]) -> Option<f64> {
    plain_decimal_at(s, 0).and_then(|(v, end)| (end == s.len()).then_some(v))
}

/// `[+-]digits[.digits][(e|E)[+-]digits]` from `s[at]` on, whose digits make an integer of
/// at most 2^53 and whose power of ten (exponent less decimals) is within +-22 (what
/// contour coordinates and plan values look like): that integer times or divided by an
/// exact power of ten, one correctly rounded operation, so the same f64 as `str::parse`.
/// Returns the number and where it ends (the first byte that cannot continue it). `None`
/// for anything else (long mantissas, large powers), which `str::parse` then reads.
fn plain_decimal_at(s: &[u8], mut at: usize) -> Option<(f64, usize)> {
    let negative = s.get(at) == Some(&b'-');
    if matches!(s.get(at), Some(b'-' | b'+')) {
        at += 1;
    }
    // Digits before and after the point, in plain loops (no per-digit overflow check:
    // more than 19 digits, which could overflow, go to `str::parse`).
    let mut mantissa: u64 = 0;
    let mut digits = digits_at(s, &mut at, &mut mantissa);
    let mut decimals = 0;
    if s.get(at) == Some(&b'.') {
        at += 1;
        decimals = digits_at(s, &mut at, &mut mantissa);
        digits += decimals;
    }
    if digits == 0 || digits > 19 || mantissa > 1 << 53 {
        return None;
    }
    let mut exponent = 0;
    if matches!(s.get(at), Some(b'e' | b'E')) {
        at += 1;
        let negative = s.get(at) == Some(&b'-');
        if matches!(s.get(at), Some(b'-' | b'+')) {
            at += 1;
        }
        let mut e = 0u64;
        // At most 4 exponent digits.
        if !(1..=4).contains(&digits_at(s, &mut at, &mut e)) {
            return None;
        }
        exponent = if negative { -(e as i64) } else { e as i64 };
    }
    let power = exponent - decimals as i64;
    let exact = |p: i64| EXACT_POWERS_OF_TEN.get(usize::try_from(p).ok()?).copied();
    let v = if power >= 0 {
        mantissa as f64 * exact(power)?
    } else {
        mantissa as f64 / exact(-power)?
    };
    Some((if negative { -v } else { v }, at))
}

/// The decimal digits from `s[*at]` on, accumulated into `value` (wrapping); moves `at`
/// past them and returns how many there were.
#[inline(always)]
fn digits_at(s: &[u8], at: &mut usize, value: &mut u64) -> usize {
    let start = *at;
    while let Some(&b) = s.get(*at) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *value = value.wrapping_mul(10).wrapping_add(u64::from(d));
        *at += 1;
    }
    *at - start
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

    #[test]
    fn plain_decimals_parse_to_the_same_f64_as_the_standard_library() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 11
        };
        let mut fast = 0;
        for _ in 0..200_000 {
            let int = next() % 1_000_000;
            let frac = next() % 10_000_000_000;
            let decimals = (next() % 12) as usize;
            let frac = format!("{frac:010}");
            let sign = ["", "-", "+"][(next() % 3) as usize];
            let exp = (next() % 61) as i64 - 30;
            let e = match next() % 4 {
                0 => format!("e{exp}"),
                1 => format!("E{exp}"),
                2 => format!("e+{}", exp.abs()),
                _ => format!("e-0{}", exp.abs()),
            };
            let text = match next() % 6 {
                0 => format!("{sign}{int}"),
                1 => format!("{sign}{int}.{}", &frac[..decimals.min(10)]),
                2 => format!("{sign}.{}", &frac[..decimals.clamp(1, 10)]),
                3 => format!("{sign}{int}.{}{e}", &frac[..decimals.min(10)]),
                4 => format!("{sign}{}.{}{e}", int % 10, &frac[..decimals.clamp(1, 10)]),
                _ => format!("{sign}{int}{}.{frac}{frac}", next()),
            };
            let expected: f64 = text.parse().unwrap();
            if let Some(v) = plain_decimal(text.as_bytes()) {
                fast += 1;
                assert_eq!(v.to_bits(), expected.to_bits(), "{text}");
            }
            assert_eq!(
                ds_numbers(text.as_bytes()).map(|v| v[0].to_bits()),
                Some(expected.to_bits()),
                "{text}"
            );
        }
        assert!(fast > 100_000, "{fast}");
        for bad in [
            &b""[..],
            b"-",
            b".",
            b"1.2.3",
            b"1e",
            b"1e+",
            b"e5",
            b"1.5e-",
            b"1e5.0",
            b"1e12345",
            b"1e--2",
            b"--1",
            b"1-2",
            b" 1",
        ] {
            assert_eq!(
                plain_decimal(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            plain_decimal(b"-0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
    }

    #[test]
    fn ds_numbers_reads_every_part_as_str_parse_reads_it_trimmed() {
        // The reference: split at backslashes, trim, and every part must be made of digits,
        // signs, points and exponents that `str::parse` reads.
        let reference = |text: &str| -> Option<Vec<u64>> {
            text.split('\\')
                .map(|part| {
                    let part = part.trim_ascii();
                    let allowed = !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
                    allowed
                        .then(|| part.parse::<f64>().ok().map(f64::to_bits))
                        .flatten()
                })
                .collect()
        };
        let parts = [
            "17.72",
            "-336.73",
            "+0.5",
            "1e3",
            "-2.5E-2",
            " 4.25 ",
            "  7",
            "12345678901234567890.5",
            "\t3.5",
            "1e400",
            "",
            " ",
            "1.2.3",
            "abc",
            "-",
            ".5",
            "5.",
            "0000000000000000000001",
        ];
        let mut seed = 99u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let (mut read, mut refused) = (0, 0);
        for _ in 0..5_000 {
            let n = 1 + next() % 6;
            let text = (0..n)
                .map(|_| parts[next() % parts.len()])
                .collect::<Vec<_>>()
                .join("\\");
            let got =
                ds_numbers(text.as_bytes()).map(|v| v.into_iter().map(f64::to_bits).collect());
            assert_eq!(got, reference(&text), "{text:?}");
            if got.is_some() {
                read += 1;
            } else {
                refused += 1;
            }
        }
        assert!(
            read > 500 && refused > 500,
            "{read} read, {refused} refused"
        );
    }

    #[test]
    fn ds_numbers_reads_plain_decimals_and_refuses_the_rest() {
        assert_eq!(
            ds_numbers(b"1.5\\-2\\+3e2\\ 4.25 \\1E-1 "),
            Some(vec![1.5, -2.0, 300.0, 4.25, 0.1])
        );
        for bad in [
            &b"1.5\\\\2"[..],
            b"1.5\\abc",
            b"nan",
            b"inf\\1",
            b"1.5\0",
            b"1,5",
            b"",
            b"1.2.3",
        ] {
            assert_eq!(ds_numbers(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
