//! RT Plan and RT Ion Plan -> [`Plan`]: label, fractions, dose references, beams.
//!
//! DICOM PS3.3 C.8.8.9 (RT General Plan), C.8.8.10 (RT Prescription), C.8.8.13 (RT Fraction
//! Scheme), C.8.8.14 (RT Beams) and C.8.8.25 (RT Ion Beams).

use serde::Serialize;

use dicom_dictionary_std::tags;

use super::attrs::Attrs;
use super::part10::DicomFile;
use super::Patient;
use crate::error::Result;

/// Treatment Sites (300A,000B); the dictionary marks the retired tag deprecated.
const TREATMENT_SITES: dicom_core::Tag = dicom_core::Tag(0x300A, 0x000B);

/// One item of DoseReferenceSequence (300A,0010).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoseReference {
    pub number: Option<i64>,
    pub description: Option<String>,
    /// DoseReferenceStructureType: POINT, VOLUME, COORDINATES, SITE.
    pub structure_type: Option<String>,
    /// DoseReferenceType: TARGET or ORGAN_AT_RISK.
    pub reference_type: Option<String>,
    /// TargetPrescriptionDose (300A,0026): total prescribed dose, Gy.
    pub target_prescription_dose_gy: Option<f64>,
    pub target_minimum_dose_gy: Option<f64>,
    pub target_maximum_dose_gy: Option<f64>,
    pub delivery_maximum_dose_gy: Option<f64>,
    pub organ_at_risk_maximum_dose_gy: Option<f64>,
    /// ReferencedROINumber (3006,0084).
    pub referenced_roi_number: Option<i64>,
}

/// One item of FractionGroupSequence (300A,0070).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FractionGroup {
    pub number: Option<i64>,
    pub fractions_planned: Option<u64>,
    pub number_of_beams: Option<u64>,
}

/// One beam (BeamSequence or IonBeamSequence item).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Beam {
    pub number: Option<i64>,
    pub name: Option<String>,
    pub radiation_type: Option<String>,
    pub machine: Option<String>,
}

/// An RT Plan or RT Ion Plan object.
#[derive(Debug, Clone)]
pub struct Plan {
    pub path: std::path::PathBuf,
    pub sop_instance_uid: String,
    pub is_ion: bool,
    pub label: Option<String>,
    pub name: Option<String>,
    pub intent: Option<String>,
    pub approval_status: Option<String>,
    /// Treatment Sites (300A,000B), retired from the standard but still written by planning
    /// systems, then Treatment Site (3010,0077): the site names the planner gave.
    pub treatment_sites: Vec<String>,
    pub frame_of_reference_uid: Option<String>,
    pub study_instance_uid: Option<String>,
    pub patient: Patient,
    pub referenced_structure_set_uid: Option<String>,
    pub dose_references: Vec<DoseReference>,
    pub fraction_groups: Vec<FractionGroup>,
    pub beams: Vec<Beam>,
    pub warnings: Vec<String>,
}

impl Plan {
    /// Reads an RT Plan or RT Ion Plan data set.
    pub fn from_file(file: &DicomFile, is_ion: bool) -> Result<Self> {
        let at = file.attrs();
        let mut warnings = Vec::new();

        let dose_references = at
            .items(tags::DOSE_REFERENCE_SEQUENCE)
            .iter()
            .map(read_dose_reference)
            .collect::<Result<Vec<_>>>()?;
        let fraction_groups = at
            .items(tags::FRACTION_GROUP_SEQUENCE)
            .iter()
            .map(|g| {
                Ok(FractionGroup {
                    number: g.int_opt(tags::FRACTION_GROUP_NUMBER)?,
                    fractions_planned: g.uint_opt(tags::NUMBER_OF_FRACTIONS_PLANNED, 10_000)?,
                    number_of_beams: g.uint_opt(tags::NUMBER_OF_BEAMS, 10_000)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if fraction_groups.len() > 1 {
            warnings.push(format!(
                "plan has {} fraction groups; the first is used for the number of fractions",
                fraction_groups.len()
            ));
        }
        let beam_seq = if is_ion {
            tags::ION_BEAM_SEQUENCE
        } else {
            tags::BEAM_SEQUENCE
        };
        let beams = at
            .items(beam_seq)
            .iter()
            .map(|b| {
                Ok(Beam {
                    number: b.int_opt(tags::BEAM_NUMBER)?,
                    name: b.str_opt(tags::BEAM_NAME)?,
                    radiation_type: b.str_opt(tags::RADIATION_TYPE)?,
                    machine: b.str_opt(tags::TREATMENT_MACHINE_NAME)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        Ok(Plan {
            path: file.path.clone(),
            sop_instance_uid: at.str_req(tags::SOP_INSTANCE_UID)?,
            is_ion,
            label: at.str_opt(tags::RT_PLAN_LABEL)?,
            name: at.str_opt(tags::RT_PLAN_NAME)?,
            intent: at.str_opt(tags::PLAN_INTENT)?,
            approval_status: at.str_opt(tags::APPROVAL_STATUS)?,
            treatment_sites: [TREATMENT_SITES, tags::TREATMENT_SITE]
                .into_iter()
                .map(|tag| at.str_opt(tag))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .flat_map(|v| {
                    v.split('\\')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                })
                .collect(),
            frame_of_reference_uid: at.str_opt(tags::FRAME_OF_REFERENCE_UID)?,
            study_instance_uid: at.str_opt(tags::STUDY_INSTANCE_UID)?,
            patient: Patient::read(&at)?,
            referenced_structure_set_uid: at
                .first_referenced_uid(tags::REFERENCED_STRUCTURE_SET_SEQUENCE)?,
            dose_references,
            fraction_groups,
            beams,
            warnings,
        })
    }

    /// NumberOfFractionsPlanned of the first fraction group.
    pub fn fractions_planned(&self) -> Option<u64> {
        self.fraction_groups.first()?.fractions_planned
    }
}

fn read_dose_reference(r: &Attrs<'_>) -> Result<DoseReference> {
    Ok(DoseReference {
        number: r.int_opt(tags::DOSE_REFERENCE_NUMBER)?,
        description: r.str_opt(tags::DOSE_REFERENCE_DESCRIPTION)?,
        structure_type: r.str_opt(tags::DOSE_REFERENCE_STRUCTURE_TYPE)?,
        reference_type: r.str_opt(tags::DOSE_REFERENCE_TYPE)?,
        target_prescription_dose_gy: r.f64_opt(tags::TARGET_PRESCRIPTION_DOSE)?,
        target_minimum_dose_gy: r.f64_opt(tags::TARGET_MINIMUM_DOSE)?,
        target_maximum_dose_gy: r.f64_opt(tags::TARGET_MAXIMUM_DOSE)?,
        delivery_maximum_dose_gy: r.f64_opt(tags::DELIVERY_MAXIMUM_DOSE)?,
        organ_at_risk_maximum_dose_gy: r.f64_opt(tags::ORGAN_AT_RISK_MAXIMUM_DOSE)?,
        referenced_roi_number: r.int_opt(tags::REFERENCED_ROI_NUMBER)?,
    })
}
