//! The bytes of a data set -> an [`InMemDicomObject`], in two walks over the token stream
//! dicom-object builds its objects from (one reader, so both walks see the same structure):
//!
//! 1. [`check_lengths`] walks the headers and skips the values (nothing is decoded or
//!    allocated) and checks, before the parser would allocate anything, that every declared
//!    length fits in the data and that sequences nest at most [`MAX_NESTING`] deep.
//! 2. dicom-object builds the object through a decoder that reads ContourData (3006,0050)
//!    straight from its ASCII bytes into numbers. dicom-rs would make one `String` per
//!    number through the character-set codec, which was most of the time spent reading a
//!    structure set. A value that is not plain decimal numbers is kept as text, split at
//!    the backslashes as dicom-rs splits it, so the errors about it stay the same.

use std::cell::Cell;
use std::ops::Range;

use dicom_core::header::{DataElementHeader, Length, SequenceItemHeader};
use dicom_core::value::{PrimitiveValue, C};
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

/// ContourData (3006,0050).
const CONTOUR_DATA: Tag = Tag(0x3006, 0x0050);
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
        ContourNumbers {
            inner: decoder(data, ts)?,
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
/// Returns where the value of a top-level native PixelData lies in `data`.
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
    let skim = SkipValues {
        inner: decoder(data, ts)?,
        size,
        skipped: &skipped,
    };
    let reader = DataSetReader::new(skim, DataSetReaderOptions::default());
    // Sequences and items each count one level.
    let mut depth = 0usize;
    let mut pixel_data = None;
    let mut top_pixel_header = false;
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
                top_pixel_header = h.tag == PIXEL_DATA && depth == 0;
                skipped.set(None);
            }
            DataToken::SequenceStart { tag, len } => {
                fits(len, &|| format!("sequence {}", tag_text(tag)))?;
                depth += 1;
            }
            DataToken::PixelSequenceStart => depth += 1,
            DataToken::ItemStart { len } => {
                fits(len, &|| "an item".to_string())?;
                depth += 1;
            }
            DataToken::ItemEnd | DataToken::SequenceEnd => depth = depth.saturating_sub(1),
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
    Ok(pixel_data)
}

/// A decoder that skips values instead of reading them, when they fit in the data; a
/// value that does not is handed to the real decoder, which fails on it. The place of the
/// last value skipped is kept in `skipped`.
struct SkipValues<'a, D> {
    inner: D,
    size: u64,
    skipped: &'a Cell<Option<Range<usize>>>,
}

impl<D: StatefulDecode> SkipValues<'_, D> {
    fn room_for(&self, len: u32) -> bool {
        self.inner.position() + u64::from(len) <= self.size
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
    type Reader = D::Reader;

    fn decode_header(&mut self) -> DecodeResult<DataElementHeader> {
        self.inner.decode_header()
    }

    fn decode_item_header(&mut self) -> DecodeResult<SequenceItemHeader> {
        self.inner.decode_item_header()
    }

    fn read_value(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.skip_value(header)
    }

    fn read_value_preserved(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.skip_value(header)
    }

    fn read_value_bytes(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.skip_value(header)
    }

    fn read_to_vec(&mut self, length: u32, vec: &mut Vec<u8>) -> DecodeResult<()> {
        if self.room_for(length) {
            self.inner.skip_bytes(length)
        } else {
            self.inner.read_to_vec(length, vec)
        }
    }

    fn read_u32_to_vec(&mut self, length: u32, vec: &mut Vec<u32>) -> DecodeResult<()> {
        if self.room_for(length) {
            self.inner.skip_bytes(length)
        } else {
            self.inner.read_u32_to_vec(length, vec)
        }
    }

    fn read_to<W>(&mut self, length: u32, out: W) -> DecodeResult<()>
    where
        Self: Sized,
        W: std::io::Write,
    {
        if self.room_for(length) {
            self.inner.skip_bytes(length)
        } else {
            self.inner.read_to(length, out)
        }
    }

    fn skip_bytes(&mut self, length: u32) -> DecodeResult<()> {
        self.inner.skip_bytes(length)
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
}

/// A decoder that reads ContourData as numbers (see the module documentation), leaves the
/// value at `leave` (the top-level PixelData) unread, and reads everything else as the
/// wrapped decoder does.
struct ContourNumbers<D> {
    inner: D,
    leave: Option<Range<usize>>,
}

impl<D: StatefulDecode> StatefulDecode for ContourNumbers<D> {
    type Reader = D::Reader;

    fn decode_header(&mut self) -> DecodeResult<DataElementHeader> {
        self.inner.decode_header()
    }

    fn decode_item_header(&mut self) -> DecodeResult<SequenceItemHeader> {
        self.inner.decode_item_header()
    }

    fn read_value(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        self.inner.read_value(header)
    }

    fn read_value_preserved(&mut self, header: &DataElementHeader) -> DecodeResult<PrimitiveValue> {
        if let Some(leave) = &self.leave {
            if header.tag == PIXEL_DATA
                && self.inner.position() == leave.start as u64
                && header.len.get() == Some(leave.len() as u32)
            {
                self.inner.skip_bytes(leave.len() as u32)?;
                return Ok(PrimitiveValue::Empty);
            }
        }
        if header.tag != CONTOUR_DATA || header.vr != VR::DS || header.len.get().is_none() {
            return self.inner.read_value_preserved(header);
        }
        Ok(match self.inner.read_value_bytes(header)? {
            PrimitiveValue::U8(bytes) => match ds_numbers(&bytes) {
                Some(numbers) => PrimitiveValue::F64(C::from_vec(numbers)),
                None => PrimitiveValue::Strs(
                    bytes
                        .split(|b| *b == b'\\')
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect(),
                ),
            },
            other => other,
        })
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

    fn skip_bytes(&mut self, length: u32) -> DecodeResult<()> {
        self.inner.skip_bytes(length)
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
}

/// The numbers of a DS value when every backslash-separated part is a plain decimal number
/// (digits, sign, point, exponent; spaces around it); `None` otherwise.
fn ds_numbers(bytes: &[u8]) -> Option<Vec<f64>> {
    let mut out = Vec::with_capacity(bytes.len() / 8 + 1);
    for part in bytes.split(|b| *b == b'\\') {
        let part = part.trim_ascii();
        if part.is_empty()
            || !part
                .iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        {
            return None;
        }
        // Only ASCII bytes are left, so this is valid UTF-8.
        out.push(std::str::from_utf8(part).ok()?.parse::<f64>().ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
