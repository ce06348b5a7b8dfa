//! A look at the first bytes of a Part-10 file: an object of a class sbrt-verify does not
//! read (CT and MR images, registrations, ...) is classified from its SOP Class UID and
//! Modality without reading the rest. An export folder often holds the planning CT, 100 to
//! 300 slices of half a megabyte each; reading them whole only to set them aside would
//! cost more than the whole DVH work.
//!
//! dicom-object reads the File Meta and the data set up to Modality
//! ([`OpenFileOptions::read_until`]), after the same length checks as a full read
//! ([`super::part10::file_meta`], [`super::dataset::check_lengths`]): the parser
//! allocates a declared length before reading it, and the first bytes of a file may
//! declare 4 GB. Anything unusual (no preamble, a deflated data set or an unknown transfer
//! syntax, a value cut by the end of the prefix, an RT class in the File Meta or the data
//! set) answers "read it whole", so the file then takes the usual, fully checked path.

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::file::ReadPreamble;
use dicom_object::OpenFileOptions;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::attrs::Attrs;
use super::dataset;
use super::part10::{self, ts};
use super::sop;

/// How much of a file is looked at first.
pub const PREFIX_BYTES: usize = 64 << 10;

/// The tag after Modality (0008,0060): reading stops there.
const AFTER_MODALITY: Tag = Tag(tags::MODALITY.0, tags::MODALITY.1 + 1);

/// The kind of a Part-10 object that is not one sbrt-verify reads, named as
/// [`super::ObjectKind::Other`] names it (Modality, else the SOP Class UID), from the first
/// bytes of its file; `None` when those bytes do not show that for certain.
pub fn other_kind(prefix: &[u8]) -> Option<String> {
    if !part10::has_preamble(prefix) {
        return None;
    }
    let from_magic = &prefix[128..];
    let (meta, body_start) = part10::file_meta(from_magic).ok()?;
    // A File Meta that says RT: the full read checks it against the data set.
    if is_read_here(meta.media_storage_sop_class_uid()) {
        return None;
    }
    let syntax = meta.transfer_syntax().trim_end_matches('\0');
    // A deflated data set cannot be length-checked before it is inflated.
    if syntax == ts::DEFLATED_EXPLICIT_VR_LE {
        return None;
    }
    let ts = TransferSyntaxRegistry.get(syntax)?;
    dataset::check_lengths(&from_magic[body_start..], ts, Some(AFTER_MODALITY)).ok()?;
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .read_until(AFTER_MODALITY)
        .from_reader(from_magic)
        .ok()?;
    let at = Attrs::new(Path::new(""), &obj);
    let class = at.str_opt(tags::SOP_CLASS_UID).ok()??;
    if is_read_here(&class) {
        return None;
    }
    Some(at.str_opt(tags::MODALITY).ok()?.unwrap_or(class))
}

/// True for the SOP classes sbrt-verify reads (RT Dose, Structure Set, Plan, Ion Plan).
fn is_read_here(class: &str) -> bool {
    let class = class.trim_end_matches(['\0', ' ']);
    [
        sop::RT_DOSE,
        sop::RT_STRUCTURE_SET,
        sop::RT_PLAN,
        sop::RT_ION_PLAN,
    ]
    .contains(&class)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An element to write: tag, VR, value.
    type Element<'a> = ((u16, u16), &'a [u8; 2], &'a [u8]);

    /// A Part-10 prefix: preamble, File Meta with `syntax`, then `elements` encoded
    /// explicitly (or implicitly for Implicit VR Little Endian).
    fn file(syntax: &str, elements: &[Element<'_>]) -> Vec<u8> {
        file_with_meta_class(syntax, None, elements)
    }

    /// [`file`] with a MediaStorageSOPClassUID in the File Meta.
    fn file_with_meta_class(
        syntax: &str,
        meta_class: Option<&str>,
        elements: &[Element<'_>],
    ) -> Vec<u8> {
        let explicit = |b: &mut Vec<u8>, tag: (u16, u16), vr: &[u8; 2], v: &[u8]| {
            b.extend_from_slice(&tag.0.to_le_bytes());
            b.extend_from_slice(&tag.1.to_le_bytes());
            b.extend_from_slice(vr);
            // VRs with a 4-byte length after two reserved bytes (PS3.5 7.1.2).
            if [b"OB", b"OW", b"SQ", b"UC", b"UN", b"UT"].contains(&vr) {
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&(v.len() as u32).to_le_bytes());
            } else {
                b.extend_from_slice(&(v.len() as u16).to_le_bytes());
            }
            b.extend_from_slice(v);
        };
        let mut meta = Vec::new();
        if let Some(class) = meta_class {
            explicit(&mut meta, (0x0002, 0x0002), b"UI", &padded(class));
        }
        explicit(&mut meta, (0x0002, 0x0010), b"UI", &padded(syntax));
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        explicit(
            &mut b,
            (0x0002, 0x0000),
            b"UL",
            &(meta.len() as u32).to_le_bytes(),
        );
        b.extend_from_slice(&meta);
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
        // An undefined length before the class, with no item: read whole.
        let mut undefined = elements.clone();
        undefined.insert(0, ((0x0008, 0x0006), b"SQ", &[] as &[u8]));
        let mut undefined = file("1.2.840.10008.1.2.1", &undefined);
        let sq = undefined.windows(4).position(|w| w == b"SQ\0\0").unwrap();
        undefined[sq + 4..sq + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(other_kind(&undefined), None);
        // A File Meta that names an RT class, over a data set that says CT: read whole.
        let rt_meta = file_with_meta_class("1.2.840.10008.1.2.1", Some(sop::RT_DOSE), &elements);
        assert_eq!(other_kind(&rt_meta), None);
        // A value declaring more bytes than the prefix has: refused before the parser
        // would allocate them.
        let huge = file(
            "1.2.840.10008.1.2.1",
            &[
                ((0x0008, 0x0012), b"UC", &[] as &[u8]),
                ((0x0008, 0x0016), b"UI", &padded(CT)),
                ((0x0008, 0x0060), b"CS", b"CT"),
            ],
        );
        let mut huge = huge;
        let uc = huge.windows(4).position(|w| w == b"UC\0\0").unwrap();
        huge[uc + 4..uc + 8].copy_from_slice(&u32::MAX.wrapping_sub(1).to_le_bytes());
        assert_eq!(other_kind(&huge), None);
        // A transfer syntax the reader does not know: read whole (and refused there).
        assert_eq!(other_kind(&file("1.2.3.4.5.6", &elements)), None);
        // A class that is not there at all.
        let no_class = file("1.2.840.10008.1.2.1", &[((0x0008, 0x0060), b"CS", b"CT")]);
        assert_eq!(other_kind(&no_class), None);
    }
}
