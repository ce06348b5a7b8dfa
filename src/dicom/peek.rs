//! A look at the first bytes of a Part-10 file: an object of a class sbrt-verify does not
//! read (CT and MR images, registrations, ...) is classified from its SOP Class UID and
//! Modality without reading the rest. An export folder often holds the planning CT, 100 to
//! 300 slices of half a megabyte each; reading them whole only to set them aside would
//! cost more than the whole DVH work.
//!
//! Anything unusual (no preamble, a deflated, big-endian or unknown transfer syntax, an
//! undefined length before the two attributes, a value cut by the end of the prefix, an RT
//! class in the File Meta or the data set) answers "read it whole", so the file then takes
//! the usual, fully checked path.

use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::read::ts;
use super::sop;

/// How much of a file is looked at first.
pub const PREFIX_BYTES: usize = 64 << 10;

const MEDIA_STORAGE_SOP_CLASS_UID: (u16, u16) = (0x0002, 0x0002);
const TRANSFER_SYNTAX_UID: (u16, u16) = (0x0002, 0x0010);
const SOP_CLASS_UID: (u16, u16) = (0x0008, 0x0016);
const MODALITY: (u16, u16) = (0x0008, 0x0060);

/// The kind of a Part-10 object that is not one sbrt-verify reads, named as
/// [`super::ObjectKind::Other`] names it (Modality, else the SOP Class UID), from the first
/// bytes of its file; `None` when those bytes do not show that for certain.
pub fn other_kind(prefix: &[u8]) -> Option<String> {
    if prefix.get(128..132)? != b"DICM" {
        return None;
    }
    // File Meta: explicit VR little endian, group 0002.
    let mut pos = 132;
    let (mut meta_class, mut syntax) = (None, None);
    loop {
        let group = u16_at(prefix, pos)?;
        if group != 0x0002 {
            break;
        }
        let (tag, value, next) = explicit_element(prefix, pos)?;
        if tag == MEDIA_STORAGE_SOP_CLASS_UID {
            meta_class = Some(text(value));
        } else if tag == TRANSFER_SYNTAX_UID {
            syntax = Some(text(value));
        }
        pos = next;
    }
    // A File Meta that says RT: the full read checks it against the data set.
    if meta_class.as_deref().is_some_and(is_read_here) {
        return None;
    }
    let syntax = syntax?;
    let implicit = match syntax.as_str() {
        ts::IMPLICIT_VR_LE => true,
        // Deflated and big-endian data sets are not walked here, nor syntaxes the reader
        // does not know.
        ts::DEFLATED_EXPLICIT_VR_LE | ts::EXPLICIT_VR_BE => return None,
        uid if TransferSyntaxRegistry.get(uid).is_none() => return None,
        // Explicit VR little endian, native or encapsulated pixel data.
        _ => false,
    };
    let (mut class, mut modality) = (None, None);
    loop {
        // The prefix must reach past Modality: a file cut short is read whole.
        let tag = (u16_at(prefix, pos)?, u16_at(prefix, pos + 2)?);
        if tag > MODALITY {
            break;
        }
        let (_, value, next) = if implicit {
            implicit_element(prefix, pos)?
        } else {
            explicit_element(prefix, pos)?
        };
        if tag == SOP_CLASS_UID {
            class = Some(text(value));
        } else if tag == MODALITY {
            modality = Some(text(value));
        }
        pos = next;
    }
    let class = class.filter(|c| !c.is_empty() && !is_read_here(c))?;
    Some(modality.filter(|m| !m.is_empty()).unwrap_or(class))
}

/// True for the SOP classes sbrt-verify reads (RT Dose, Structure Set, Plan, Ion Plan).
fn is_read_here(class: &str) -> bool {
    [
        sop::RT_DOSE,
        sop::RT_STRUCTURE_SET,
        sop::RT_PLAN,
        sop::RT_ION_PLAN,
    ]
    .contains(&class)
}

fn u16_at(b: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(pos..pos + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], pos: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(pos..pos + 4)?.try_into().ok()?))
}

/// An explicit-VR little-endian element at `pos`: its tag, its value (whole, inside the
/// prefix) and where the next element starts. `None` for an undefined length.
fn explicit_element(b: &[u8], pos: usize) -> Option<((u16, u16), &[u8], usize)> {
    let tag = (u16_at(b, pos)?, u16_at(b, pos + 2)?);
    let vr = b.get(pos + 4..pos + 6)?;
    const LONG: [&[u8]; 13] = [
        b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
    ];
    let (len, header) = if LONG.contains(&vr) {
        (u32_at(b, pos + 8)?, 12)
    } else {
        (u32::from(u16_at(b, pos + 6)?), 8)
    };
    value(b, tag, pos + header, len)
}

/// An implicit-VR little-endian element at `pos` (see [`explicit_element`]).
fn implicit_element(b: &[u8], pos: usize) -> Option<((u16, u16), &[u8], usize)> {
    let tag = (u16_at(b, pos)?, u16_at(b, pos + 2)?);
    value(b, tag, pos + 8, u32_at(b, pos + 4)?)
}

fn value(b: &[u8], tag: (u16, u16), start: usize, len: u32) -> Option<((u16, u16), &[u8], usize)> {
    if len == u32::MAX {
        return None;
    }
    let end = start.checked_add(len as usize)?;
    Some((tag, b.get(start..end)?, end))
}

/// A text value without its padding (spaces, NULs), as the attribute readers trim it.
fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An element to write: tag, VR, value.
    type Element<'a> = ((u16, u16), &'a [u8; 2], &'a [u8]);

    /// A Part-10 prefix: preamble, File Meta with `syntax`, then `elements` encoded
    /// explicitly (or implicitly for Implicit VR Little Endian).
    fn file(syntax: &str, elements: &[Element<'_>]) -> Vec<u8> {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        let explicit = |b: &mut Vec<u8>, tag: (u16, u16), vr: &[u8; 2], v: &[u8]| {
            b.extend_from_slice(&tag.0.to_le_bytes());
            b.extend_from_slice(&tag.1.to_le_bytes());
            b.extend_from_slice(vr);
            b.extend_from_slice(&(v.len() as u16).to_le_bytes());
            b.extend_from_slice(v);
        };
        explicit(&mut b, (0x0002, 0x0010), b"UI", &padded(syntax));
        for &(tag, vr, v) in elements {
            if syntax == "1.2.840.10008.1.2" {
                b.extend_from_slice(&tag.0.to_le_bytes());
                b.extend_from_slice(&tag.1.to_le_bytes());
                b.extend_from_slice(&(v.len() as u32).to_le_bytes());
                b.extend_from_slice(v);
            } else {
                explicit(&mut b, tag, vr, v);
            }
        }
        // Some pixel data, as a CT would have.
        explicit(&mut b, (0x7FE0, 0x0010), b"OB", &[]);
        b
    }

    /// [`file`] with 100 KB of pixel data (more than the prefix).
    fn big_file(syntax: &str, elements: &[Element<'_>]) -> Vec<u8> {
        let mut b = file(syntax, elements);
        // The empty OB element's 4-byte length is the last field: make it 100,000.
        let n = b.len();
        b[n - 4..].copy_from_slice(&100_000u32.to_le_bytes());
        b.resize(n + 100_000, 0);
        b
    }

    #[test]
    fn discover_reads_a_large_ct_only_as_far_as_its_prefix() {
        use crate::dicom::read::{open_unless_other, Opened};
        let dir = tempfile::tempdir().unwrap();
        let ct = big_file(
            "1.2.840.10008.1.2.1",
            &[
                ((0x0008, 0x0016), b"UI", &padded(CT)),
                ((0x0008, 0x0060), b"CS", b"CT"),
            ],
        );
        // Cut short after the prefix: still told apart, never read to the cut.
        let path = dir.path().join("ct.dcm");
        std::fs::write(&path, &ct[..PREFIX_BYTES + 10]).unwrap();
        match open_unless_other(&path) {
            Ok(Some(Opened::Other(kind))) => assert_eq!(kind, "CT"),
            _ => panic!("a CT slice should be classified from its prefix"),
        }
        // An RT Dose of the same shape is read whole, and its damage reported.
        let dose = big_file(
            "1.2.840.10008.1.2.1",
            &[
                ((0x0008, 0x0016), b"UI", &padded(sop::RT_DOSE)),
                ((0x0008, 0x0060), b"CS", b"RTDOSE"),
            ],
        );
        let path = dir.path().join("rd.dcm");
        std::fs::write(&path, &dose[..PREFIX_BYTES + 10]).unwrap();
        assert!(
            !matches!(open_unless_other(&path), Ok(Some(Opened::Other(_)))),
            "an RT Dose must not be set aside"
        );
        assert!(
            open_unless_other(&path).is_err(),
            "a cut RT Dose is an error"
        );
    }

    fn padded(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        if v.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";

    #[test]
    fn a_ct_is_told_by_its_first_bytes_in_both_little_endian_syntaxes() {
        for syntax in [
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.4.90",
        ] {
            let b = file(
                syntax,
                &[
                    ((0x0008, 0x0005), b"CS", b"ISO_IR 100"),
                    ((0x0008, 0x0016), b"UI", &padded(CT)),
                    ((0x0008, 0x0018), b"UI", &padded("1.2.3.4")),
                    ((0x0008, 0x0060), b"CS", b"CT"),
                    ((0x0010, 0x0010), b"PN", b"Doe^J "),
                ],
            );
            assert_eq!(other_kind(&b).as_deref(), Some("CT"), "{syntax}");
        }
    }

    #[test]
    fn without_modality_the_class_names_it() {
        let b = file(
            "1.2.840.10008.1.2.1",
            &[((0x0008, 0x0016), b"UI", &padded(CT))],
        );
        assert_eq!(other_kind(&b).as_deref(), Some(CT));
    }

    #[test]
    fn rt_objects_and_anything_unclear_are_read_whole() {
        let rt = [
            sop::RT_DOSE,
            sop::RT_STRUCTURE_SET,
            sop::RT_PLAN,
            sop::RT_ION_PLAN,
        ];
        for class in rt {
            let b = file(
                "1.2.840.10008.1.2.1",
                &[
                    ((0x0008, 0x0016), b"UI", &padded(class)),
                    ((0x0008, 0x0060), b"CS", b"RTDOSE"),
                ],
            );
            assert_eq!(other_kind(&b), None, "{class}");
        }
        let ct = [
            ((0x0008, 0x0016), b"UI", padded(CT)),
            ((0x0008, 0x0060), b"CS", b"CT".to_vec()),
        ];
        let elements: Vec<Element<'_>> = ct
            .iter()
            .map(|(t, vr, v)| (*t, *vr, v.as_slice()))
            .collect();
        let whole = file("1.2.840.10008.1.2.1", &elements);
        assert_eq!(other_kind(&whole).as_deref(), Some("CT"));
        // Deflated or big endian: not walked.
        for syntax in ["1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"] {
            assert_eq!(other_kind(&file(syntax, &elements)), None);
        }
        // No preamble, or the prefix ends inside the class UID.
        assert_eq!(other_kind(&whole[128..]), None);
        let class_end = whole
            .windows(CT.len())
            .position(|w| w == CT.as_bytes())
            .unwrap()
            + CT.len();
        assert_eq!(other_kind(&whole[..class_end - 3]), None);
        // An undefined length before the class: read whole.
        let mut undefined = whole[..132].to_vec();
        undefined.extend_from_slice(&whole[132..132 + 8 + padded("1.2.840.10008.1.2.1").len()]);
        undefined.extend_from_slice(&[0x08, 0x00, 0x06, 0x00]);
        undefined.extend_from_slice(b"SQ\0\0");
        undefined.extend_from_slice(&u32::MAX.to_le_bytes());
        undefined.extend_from_slice(&whole[132 + 8 + padded("1.2.840.10008.1.2.1").len()..]);
        assert_eq!(other_kind(&undefined), None);
        // A File Meta that names an RT class, over a data set that says CT: read whole.
        let mut rt_meta = whole[..132].to_vec();
        let class = padded(sop::RT_DOSE);
        rt_meta.extend_from_slice(&[0x02, 0x00, 0x02, 0x00]);
        rt_meta.extend_from_slice(b"UI");
        rt_meta.extend_from_slice(&(class.len() as u16).to_le_bytes());
        rt_meta.extend_from_slice(&class);
        rt_meta.extend_from_slice(&whole[132..]);
        assert_eq!(other_kind(&rt_meta), None);
        // A transfer syntax the reader does not know: read whole (and refused there).
        assert_eq!(other_kind(&file("1.2.3.4.5.6", &elements)), None);
        // A class that is not there at all.
        let no_class = file("1.2.840.10008.1.2.1", &[((0x0008, 0x0060), b"CS", b"CT")]);
        assert_eq!(other_kind(&no_class), None);
    }
}
