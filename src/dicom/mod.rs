//! DICOM RT input: files and folders -> linked plan sets.
//!
//! - [`read`]: files on disk -> their bytes (size checked first) -> [`part10`].
//! - [`part10`]: a file's bytes -> File Meta and transfer syntax -> a data set read by
//!   `dataset` (declared lengths checked before anything is allocated).
//! - [`attrs`]: typed attribute access by tag, errors naming file, keyword and tag.
//! - [`pixels`]: PixelData -> stored samples (16/32-bit, both byte orders, RLE).
//! - [`rtdose`], [`rtstruct`], [`rtplan`]: one RT object each -> a checked model.
//! - [`peek`]: the first bytes of a file -> "an object sbrt-verify does not read" (a CT...).
//! - [`discover`]: walk paths, classify by SOP Class UID, link dose -> plan -> structure
//!   set by UID and check the frame of reference.

pub mod attrs;
mod dataset;
pub mod discover;
pub mod part10;
pub mod peek;
pub mod pixels;
pub mod read;
pub mod rtdose;
pub mod rtplan;
pub mod rtstruct;

pub use discover::{discover, discover_with, Discovery, LinkOptions, PlanSet, Selection};
pub use rtdose::{DoseGrid, DoseSummation, DoseType, DoseUnits};
pub use rtplan::{Beam, DoseReference, FractionGroup, Plan};
pub use rtstruct::{Contour, ContourType, Plane, Roi, StructureSet};

use attrs::Attrs;
use dicom_dictionary_std::tags;
use part10::DicomFile;

/// SOP Class UIDs of the objects sbrt-verify reads.
pub mod sop {
    pub const RT_DOSE: &str = "1.2.840.10008.5.1.4.1.1.481.2";
    pub const RT_STRUCTURE_SET: &str = "1.2.840.10008.5.1.4.1.1.481.3";
    pub const RT_PLAN: &str = "1.2.840.10008.5.1.4.1.1.481.5";
    pub const RT_ION_PLAN: &str = "1.2.840.10008.5.1.4.1.1.481.8";
}

/// What a DICOM object is, by SOP Class UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    Dose,
    StructureSet,
    Plan,
    IonPlan,
    /// Anything else, named by Modality (or the SOP Class UID when there is none).
    Other(String),
}

impl ObjectKind {
    /// Classifies a data set by its SOP Class UID.
    pub fn of(attrs: &Attrs<'_>) -> ObjectKind {
        let class = attrs.str_opt(tags::SOP_CLASS_UID).ok().flatten();
        match class.as_deref() {
            Some(sop::RT_DOSE) => ObjectKind::Dose,
            Some(sop::RT_STRUCTURE_SET) => ObjectKind::StructureSet,
            Some(sop::RT_PLAN) => ObjectKind::Plan,
            Some(sop::RT_ION_PLAN) => ObjectKind::IonPlan,
            other => {
                let modality = attrs.str_opt(tags::MODALITY).ok().flatten();
                ObjectKind::Other(
                    modality
                        .or_else(|| other.map(str::to_string))
                        .unwrap_or_else(|| "unknown".to_string()),
                )
            }
        }
    }
}

/// One DICOM object read into its checked model.
#[derive(Debug)]
pub enum RtObject {
    Dose(DoseGrid),
    Structures(StructureSet),
    /// An RT Plan or RT Ion Plan ([`Plan::is_ion`]).
    Plan(Plan),
    /// Any other DICOM object, by modality (see [`ObjectKind::Other`]).
    Other(String),
}

impl RtObject {
    /// Reads a data set into its RT model, by SOP Class UID.
    pub fn from_file(file: &DicomFile) -> crate::Result<RtObject> {
        Ok(match ObjectKind::of(&file.attrs()) {
            ObjectKind::Dose => RtObject::Dose(DoseGrid::from_file(file)?),
            ObjectKind::StructureSet => RtObject::Structures(StructureSet::from_file(file)?),
            ObjectKind::Plan => RtObject::Plan(Plan::from_file(file, false)?),
            ObjectKind::IonPlan => RtObject::Plan(Plan::from_file(file, true)?),
            ObjectKind::Other(m) => RtObject::Other(m),
        })
    }

    /// Bytes of one file -> its RT model; `Ok(None)` when the bytes are not DICOM. The code
    /// path of [`discover`] for one file, without the file system (`path` names it in
    /// errors).
    pub fn from_bytes(bytes: &[u8], path: &std::path::Path) -> crate::Result<Option<RtObject>> {
        match read::from_bytes(bytes, path)? {
            Some(file) => RtObject::from_file(&file).map(Some),
            None => Ok(None),
        }
    }
}

/// Patient identifiers. Never printed unless the user asks (`--show-phi`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patient {
    pub name: Option<String>,
    pub id: Option<String>,
}

impl Patient {
    fn read(at: &Attrs<'_>) -> crate::Result<Self> {
        Ok(Patient {
            // PatientName is PN; read as text. A UN or odd encoding never fails the read.
            name: at.str_opt(tags::PATIENT_NAME).ok().flatten(),
            id: at.str_opt(tags::PATIENT_ID).ok().flatten(),
        })
    }

    /// What reports show: the identifiers when `show_phi`, else a fixed mask.
    pub fn display(&self, show_phi: bool) -> (String, String) {
        if show_phi {
            (
                self.name.clone().unwrap_or_default(),
                self.id.clone().unwrap_or_default(),
            )
        } else {
            (MASK.to_string(), MASK.to_string())
        }
    }
}

/// What is shown in place of a patient identifier.
pub const MASK: &str = "***";
