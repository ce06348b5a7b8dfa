//! Typed access to the attributes of a data set: the one place that turns tags (from
//! [`dicom_dictionary_std::tags`]) into strings, numbers, integers and sequence items.
//! Every error names the file, the attribute's keyword and its tag, e.g.
//! `RD.dcm: missing GridFrameOffsetVector (3004,000C)`.

use std::borrow::Cow;
use std::path::Path;

use dicom_core::dictionary::DataDictionary;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;

use crate::error::{Error, Result};

/// A tag as DICOM writes it: `(3004,000C)`.
pub fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

/// Keeps an error message on one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The DICOM keyword of a tag (e.g. `GridFrameOffsetVector`), from the standard dictionary;
/// `UnknownAttribute` for a tag it does not know (the message gives the tag too).
fn keyword(tag: Tag) -> &'static str {
    StandardDataDictionary
        .by_tag(tag)
        .map_or("UnknownAttribute", |e| e.alias)
}

/// Typed access to the attributes of one data set (or sequence item), with the file path
/// for error messages.
#[derive(Clone, Copy)]
pub struct Attrs<'a> {
    pub path: &'a Path,
    pub obj: &'a InMemDicomObject,
}

impl<'a> Attrs<'a> {
    pub fn new(path: &'a Path, obj: &'a InMemDicomObject) -> Self {
        Attrs { path, obj }
    }

    /// Error: attribute missing.
    pub fn missing(&self, tag: Tag) -> Error {
        Error::MissingTag {
            path: self.path.to_path_buf(),
            name: keyword(tag),
            tag: tag_text(tag),
        }
    }

    /// Error: attribute present but its value is wrong.
    pub fn bad(&self, tag: Tag, message: impl Into<String>) -> Error {
        Error::BadValue {
            path: self.path.to_path_buf(),
            name: keyword(tag),
            tag: tag_text(tag),
            message: message.into(),
        }
    }

    /// True when the attribute is present (even if empty).
    pub fn has(&self, tag: Tag) -> bool {
        self.element(tag).is_some()
    }

    /// The element itself (for pixel data).
    pub fn element(&self, tag: Tag) -> Option<&'a InMemElement> {
        self.obj.element_opt(tag).ok().flatten()
    }

    /// The text of a string attribute without its padding (spaces, NULs), `None` when
    /// absent or empty. Values stored with VR UN are decoded as text.
    fn text(&self, tag: Tag) -> Result<Option<Cow<'a, str>>> {
        let Some(el) = self.element(tag) else {
            return Ok(None);
        };
        let text: Cow<'a, str> = if el.vr() == VR::UN {
            let bytes = el
                .to_bytes()
                .map_err(|e| self.bad(tag, one_line(&e.to_string())))?;
            Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            match el.value() {
                Value::Primitive(p) => p.to_str(),
                _ => return Err(self.bad(tag, "expected a value, found a sequence")),
            }
        };
        fn trim(t: &str) -> &str {
            t.trim_matches(|c: char| c == '\0' || c.is_whitespace())
        }
        let text = match text {
            Cow::Borrowed(t) => Cow::Borrowed(trim(t)),
            Cow::Owned(t) => Cow::Owned(trim(&t).to_string()),
        };
        Ok((!text.is_empty()).then_some(text))
    }

    /// The raw text of a string attribute, `None` when absent or empty. Values stored
    /// with VR UN are decoded as text.
    pub fn str_opt(&self, tag: Tag) -> Result<Option<String>> {
        Ok(self.text(tag)?.map(Cow::into_owned))
    }

    /// A required string attribute.
    pub fn str_req(&self, tag: Tag) -> Result<String> {
        self.str_opt(tag)?.ok_or_else(|| self.missing(tag))
    }

    /// All numbers of a numeric attribute (DS, IS, US, UL, FD, FL, SS, SL, or UN text),
    /// `None` when absent or empty. Non-finite values are an error.
    pub fn numbers_opt(&self, tag: Tag) -> Result<Option<Vec<f64>>> {
        let Some(el) = self.element(tag) else {
            return Ok(None);
        };
        let vr = el.vr();
        let values: Vec<f64> = match (vr, el.value()) {
            (VR::DS | VR::IS | VR::UN | VR::LO | VR::SH | VR::CS, _) => {
                self.text_numbers(tag, vr)?.unwrap_or_default()
            }
            (_, Value::Primitive(p)) => p
                .to_multi_float64()
                .map_err(|e| self.bad(tag, one_line(&e.to_string())))?,
            _ => return Err(self.bad(tag, "expected numbers, found a sequence")),
        };
        if values.is_empty() {
            return Ok(None);
        }
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(self.bad(tag, format!("non-finite value {v}")));
        }
        Ok(Some(values))
    }

    /// The numbers of a textual attribute (`None` when empty): split at backslashes, each
    /// part trimmed of ASCII whitespace and read by fast-float2, which reads what `str::parse`
    /// reads, to the bit (as dicom-core's `to_multi_float64` reads each value of a decimal
    /// string), in half the time. A decimal string is kept as one text when it is read (see
    /// [`super::dataset`]), so it is split here.
    fn text_numbers(&self, tag: Tag, vr: VR) -> Result<Option<Vec<f64>>> {
        let Some(text) = self.text(tag)? else {
            return Ok(None);
        };
        if vr == VR::UN && !text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(self.bad(tag, "unreadable value stored as UN"));
        }
        // Sized once: no regrowth, and the capacity is the count (see `read_contour`).
        let mut numbers = Vec::with_capacity(text.bytes().filter(|&b| b == b'\\').count() + 1);
        for s in text.as_bytes().split(|&b| b == b'\\') {
            let s = s.trim_ascii();
            let x = fast_float2::parse::<f64, _>(s).map_err(|_| {
                let s = String::from_utf8_lossy(s);
                self.bad(tag, format!("'{s}' is not a number"))
            })?;
            numbers.push(x);
        }
        Ok(Some(numbers))
    }

    /// A required numeric attribute with exactly `n` values (any count when `n` is 0).
    pub fn numbers_req(&self, tag: Tag, n: usize) -> Result<Vec<f64>> {
        let v = self.numbers_opt(tag)?.ok_or_else(|| self.missing(tag))?;
        if n != 0 && v.len() != n {
            return Err(self.bad(tag, format!("expected {n} values, found {}", v.len())));
        }
        Ok(v)
    }

    /// An optional single number.
    pub fn f64_opt(&self, tag: Tag) -> Result<Option<f64>> {
        Ok(self.numbers_opt(tag)?.map(|v| v[0]))
    }

    pub fn f64_req(&self, tag: Tag) -> Result<f64> {
        self.f64_opt(tag)?.ok_or_else(|| self.missing(tag))
    }

    /// An optional non-negative integer in `0..=max`.
    pub fn uint_opt(&self, tag: Tag, max: u64) -> Result<Option<u64>> {
        let Some(v) = self.f64_opt(tag)? else {
            return Ok(None);
        };
        if v < 0.0 || v.fract() != 0.0 || v > max as f64 {
            return Err(self.bad(tag, format!("expected a whole number 0..={max}, found {v}")));
        }
        Ok(Some(v as u64))
    }

    pub fn uint_req(&self, tag: Tag, max: u64) -> Result<u64> {
        self.uint_opt(tag, max)?.ok_or_else(|| self.missing(tag))
    }

    /// An optional integer (e.g. ROI numbers, which may in practice be any integer).
    pub fn int_opt(&self, tag: Tag) -> Result<Option<i64>> {
        let Some(v) = self.f64_opt(tag)? else {
            return Ok(None);
        };
        if v.fract() != 0.0 || v.abs() > 1e15 {
            return Err(self.bad(tag, format!("expected an integer, found {v}")));
        }
        Ok(Some(v as i64))
    }

    /// The items of a sequence; empty when the sequence is absent.
    pub fn items(&self, tag: Tag) -> Vec<Attrs<'a>> {
        self.element(tag)
            .and_then(|el| el.items())
            .map(|items| {
                items
                    .iter()
                    .map(|obj| Attrs {
                        path: self.path,
                        obj,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `ReferencedSOPInstanceUID` of the first item of a reference sequence.
    pub fn first_referenced_uid(&self, seq: Tag) -> Result<Option<String>> {
        match self.items(seq).first() {
            Some(item) => item.str_opt(tags::REFERENCED_SOP_INSTANCE_UID),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::PrimitiveValue;
    use dicom_core::DataElement;

    fn with(tag: Tag, vr: VR, value: PrimitiveValue) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([DataElement::new(tag, vr, value)])
    }

    #[test]
    fn one_line_folds_whitespace() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
    }

    #[test]
    fn decimal_strings_read_as_str_parse_reads_them() {
        let texts = [
            "0",
            "-0",
            "+1.5",
            "1.",
            ".5",
            "-.5e-3",
            "1E5",
            "1e+05",
            "00012",
            "1e400",
            "-1e400",
            "1e-400",
            "4.9e-324",
            "1.7976931348623159e308",
            "9007199254740993",
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "",
            "+",
            "-",
            ".",
            "e5",
            "1e",
            "1.5.3",
            "--1",
            "1,5",
            "0x10",
            "1_0",
            "1d5",
            "1 5",
        ];
        for text in texts {
            let ours = fast_float2::parse::<f64, _>(text).map(f64::to_bits).ok();
            let std = text.parse::<f64>().map(f64::to_bits).ok();
            if text.eq_ignore_ascii_case("nan") {
                // NaN bits may differ; both read a NaN.
                assert!(ours.is_some() && std.is_some(), "{text:?}");
            } else {
                assert_eq!(ours, std, "{text:?}");
            }
        }
    }

    #[test]
    fn a_decimal_string_kept_as_one_text_reads_as_its_numbers() {
        let path = Path::new("RS.dcm");
        let text = "1.5\\-2\\+3e2\\ 4.25 \\1E-1 \0";
        let obj = with(tags::CONTOUR_DATA, VR::DS, PrimitiveValue::Str(text.into()));
        let at = Attrs::new(path, &obj);
        assert_eq!(
            at.numbers_opt(tags::CONTOUR_DATA).unwrap(),
            Some(vec![1.5, -2.0, 300.0, 4.25, 0.1])
        );
        // The same numbers as dicom-core reads from the values one by one.
        let parts = PrimitiveValue::Strs(text.split('\\').map(String::from).collect());
        assert_eq!(
            parts.to_multi_float64().unwrap(),
            at.numbers_opt(tags::CONTOUR_DATA).unwrap().unwrap()
        );
    }

    #[test]
    fn bad_decimal_strings_are_errors_naming_file_keyword_and_tag() {
        let path = Path::new("RD.dcm");
        for (text, says) in [
            ("1.5\\\\2", "'' is not a number"),
            ("1.5\\abc", "'abc' is not a number"),
            ("1,5", "'1,5' is not a number"),
            ("nan", "non-finite value NaN"),
            ("inf\\1", "non-finite value inf"),
            ("1e400", "non-finite value inf"),
        ] {
            let obj = with(
                tags::GRID_FRAME_OFFSET_VECTOR,
                VR::DS,
                PrimitiveValue::Str(text.into()),
            );
            let e = Attrs::new(path, &obj)
                .numbers_opt(tags::GRID_FRAME_OFFSET_VECTOR)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("RD.dcm: bad GridFrameOffsetVector (3004,000C)") && e.contains(says),
                "{text:?}: {e}"
            );
        }
        let empty = with(
            tags::DOSE_GRID_SCALING,
            VR::DS,
            PrimitiveValue::Str(" ".into()),
        );
        let e = Attrs::new(path, &empty)
            .f64_req(tags::DOSE_GRID_SCALING)
            .unwrap_err();
        assert_eq!(e.to_string(), "RD.dcm: missing DoseGridScaling (3004,000E)");
    }
}
