//! Steps 5-6 of a check: the matched constraints -> the quantities they read ([`Needs`]:
//! DVHs, a host organ's minus the targets, isodose volumes, D2cm values) -> all of them computed in one parallel pass
//! ([`Computed`]). The evaluation that follows reads only these values.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::TargetReport;
use crate::dicom::{DoseGrid, Roi, StructureSet};
use crate::dvh::indices::{self, D2CM_DISTANCE_MM};
use crate::dvh::{self, StructureDvh};
use crate::protocol::file::Site;
use crate::protocol::{Protocol, Query};
use crate::raster::mask::centre_mask;
use crate::raster::SamplingOptions;

/// What the constraints of a check read.
#[derive(Debug, Default)]
pub struct Needs {
    /// ROIs whose DVH is needed (targets, constrained organs, then the external contour),
    /// each once, by ROI number.
    pub dvh_rois: Vec<i64>,
    /// The external contour for isodose volumes (RTROIInterpretedType EXTERNAL).
    pub external: Option<i64>,
    /// Isodose levels (Gy) whose volume is needed, in increasing order, each once.
    pub isodose_levels_gy: Vec<f64>,
    /// ROIs whose D2cm is needed.
    pub d2cm_rois: Vec<i64>,
    /// Host organs of the site, by ROI number, with the target ROIs taken out of them: the
    /// DVH of such an ROI is that of the organ minus the targets.
    pub hosts: BTreeMap<i64, Vec<i64>>,
}

/// Every quantity the evaluation reads.
#[derive(Debug)]
pub struct Computed {
    /// In the order of [`Needs::dvh_rois`].
    pub dvhs: Vec<StructureDvh>,
    /// Volume receiving at least each level (by the level's bits), cc.
    pub isodose_cc: BTreeMap<u64, f64>,
    /// How the isodose volumes were measured, when worth saying.
    pub isodose_caveat: Option<String>,
    /// D2cm by ROI number, Gy (`None`: undefined).
    pub d2cm_gy: BTreeMap<i64, Option<f64>>,
}

impl Computed {
    /// The DVH of ROI `number`, when it was computed.
    pub fn dvh(&self, number: i64) -> Option<&StructureDvh> {
        self.dvhs.iter().find(|d| d.number == number)
    }

    /// The volume receiving at least `level_gy`, when it was computed.
    pub fn isodose_cc(&self, level_gy: f64) -> Option<f64> {
        self.isodose_cc.get(&level_gy.to_bits()).copied()
    }
}

/// The prescription (Gy) a constraint's `%` refers to: its `rx_role`'s target, else the
/// lowest prescription among the targets present.
pub fn constraint_rx_gy(
    protocol: &Protocol,
    c: &crate::protocol::ConstraintDef,
    targets: &[TargetReport],
) -> Option<f64> {
    let present = targets.iter().filter(|t| t.structure.is_some());
    match protocol.rx_role(c) {
        Some(role) => present
            .into_iter()
            .find(|t| t.role == role)
            .map(|t| t.total_gy),
        None => present
            .map(|t| t.total_gy)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x)))),
    }
}

/// Step 5: the quantities the constraints on the matched ROIs read, of the constraints that
/// apply at `site` (the site chosen, if the protocol has sites). The site's host organs
/// (protocol names) matched to an ROI get the DVH of that ROI minus every target ROI present
/// (in the order of the protocol's prescriptions). Several EXTERNAL ROIs are a warning (the
/// first is used).
pub fn needed(
    protocol: &Protocol,
    ss: &StructureSet,
    matched: &BTreeMap<String, i64>,
    targets: &[TargetReport],
    site: Option<&Site>,
    warnings: &mut Vec<String>,
) -> Needs {
    let hosts = site.map_or(&[][..], |s| s.hosts.as_slice());
    let mut needs = Needs {
        external: external_roi(&ss.rois, warnings).map(|r| r.number),
        ..Needs::default()
    };
    let mut target_rois: Vec<i64> = Vec::new();
    for n in targets.iter().filter_map(|t| t.roi_number) {
        if ss.roi(n).is_some() && !target_rois.contains(&n) {
            target_rois.push(n);
        }
    }
    if !target_rois.is_empty() {
        for organ in hosts.iter().filter_map(|h| matched.get(h)) {
            needs.hosts.insert(*organ, target_rois.clone());
        }
    }
    let constrained = protocol
        .constraints_at(site.map(|s| s.name.as_str()))
        .filter_map(|c| matched.get(&c.structure).map(|&n| (c, n)));
    // Every present target (checked whatever the constraints), every constrained ROI, and
    // the external contour.
    let rois = targets
        .iter()
        .filter_map(|t| t.roi_number)
        .chain(constrained.clone().map(|(_, n)| n))
        .chain(needs.external);
    for n in rois {
        if ss.roi(n).is_some() && !needs.dvh_rois.contains(&n) {
            needs.dvh_rois.push(n);
        }
    }
    for (c, n) in constrained {
        let Some(rx) = constraint_rx_gy(protocol, c, targets) else {
            continue;
        };
        let levels: &[f64] = match c.query {
            Query::CiRtog | Query::CiPaddick => &[1.0],
            Query::Gi => &[1.0, 0.5],
            Query::R50 => &[0.5],
            Query::D2cm => {
                if !needs.d2cm_rois.contains(&n) {
                    needs.d2cm_rois.push(n);
                }
                &[]
            }
            _ => &[],
        };
        for f in levels {
            let level = f * rx;
            if !needs.isodose_levels_gy.contains(&level) {
                needs.isodose_levels_gy.push(level);
            }
        }
    }
    needs.isodose_levels_gy.sort_by(f64::total_cmp);
    needs
}

/// The external contour (RTROIInterpretedType EXTERNAL), for isodose volumes.
fn external_roi<'a>(rois: &'a [Roi], warnings: &mut Vec<String>) -> Option<&'a Roi> {
    let ext: Vec<&Roi> = rois
        .iter()
        .filter(|r| r.interpreted_type.as_deref() == Some("EXTERNAL") && !r.contours.is_empty())
        .collect();
    if ext.len() > 1 {
        warnings.push(format!(
            "{} EXTERNAL ROIs; {} is used for isodose volumes",
            ext.len(),
            ext[0].name
        ));
    }
    ext.first().copied()
}

/// Step 6: computes everything in `needs` on the (scaled) dose. The DVHs run in parallel
/// beside the grid quantities; every result lands in a fixed place, so the output does not
/// depend on the thread count.
pub fn run(dose: &DoseGrid, rois: &[Roi], needs: &Needs, sampling: &SamplingOptions) -> Computed {
    let roi = |n: i64| roi_by_number(rois, n);
    let minus: Vec<Vec<&Roi>> = needs
        .dvh_rois
        .iter()
        .map(|n| {
            let taken = needs.hosts.get(n).map_or(&[][..], Vec::as_slice);
            taken.iter().filter_map(|&t| roi(t)).collect()
        })
        .collect();
    let subjects: Vec<dvh::Subject<'_>> = needs
        .dvh_rois
        .iter()
        .zip(&minus)
        .filter_map(|(&n, minus)| {
            Some(dvh::Subject {
                roi: roi(n)?,
                minus,
            })
        })
        .collect();
    let (dvhs, d2cm) = rayon::join(
        || dvh::compute_subjects(dose, &subjects, sampling),
        || d2cm_values(dose, rois, &needs.d2cm_rois, sampling),
    );
    let external = needs
        .external
        .and_then(|n| dvhs.iter().find(|d| d.number == n).zip(roi(n)))
        .filter(|(e, _)| e.error.is_none());
    let (isodose_cc, isodose_caveat) =
        isodose_volumes(dose, external, &needs.isodose_levels_gy, sampling);
    Computed {
        dvhs,
        isodose_cc,
        isodose_caveat,
        d2cm_gy: d2cm,
    }
}

/// The ROI numbered `n`, when the structure set has it.
fn roi_by_number(rois: &[Roi], n: i64) -> Option<&Roi> {
    rois.iter().find(|r| r.number == n)
}

/// ROI numbers -> the D2cm of each ROI present (Gy; `None`: undefined), in parallel.
fn d2cm_values(
    dose: &DoseGrid,
    rois: &[Roi],
    d2cm_rois: &[i64],
    sampling: &SamplingOptions,
) -> BTreeMap<i64, Option<f64>> {
    d2cm_rois
        .par_iter()
        .filter_map(|&n| roi_by_number(rois, n))
        .map(|r| {
            let mask = centre_mask(r, dose, sampling.end_cap, sampling.between);
            (
                r.number,
                indices::max_dose_beyond(dose, &mask, D2CM_DISTANCE_MM),
            )
        })
        .collect()
}

/// Isodose levels (Gy) -> the volume receiving at least each (cc, by the level's bits) and
/// a caveat on how it was measured: within the external contour (its DVH and ROI) when
/// there is one, else over the whole dose grid.
fn isodose_volumes(
    dose: &DoseGrid,
    external: Option<(&StructureDvh, &Roi)>,
    levels_gy: &[f64],
    sampling: &SamplingOptions,
) -> (BTreeMap<u64, f64>, Option<String>) {
    match external {
        Some((e, r)) => {
            let caveat = (!e.complete()).then(|| {
                format!(
                    "isodose volumes within {}, {:.1} % of which is outside the dose grid",
                    e.name,
                    100.0 * e.outside_cc / e.volume_cc
                )
            });
            let volumes = levels_gy
                .par_iter()
                .map(|&l| {
                    (
                        l.to_bits(),
                        indices::isodose_volume_cc(dose, r, l, sampling),
                    )
                })
                .collect();
            (volumes, caveat)
        }
        None if levels_gy.is_empty() => (BTreeMap::new(), None),
        None => {
            let g = indices::grid_dvh(dose);
            let volumes = levels_gy
                .iter()
                .map(|&l| (l.to_bits(), g.volume_at_dose_cc(l)))
                .collect();
            (
                volumes,
                Some("no external contour: isodose volumes over the whole dose grid".into()),
            )
        }
    }
}
