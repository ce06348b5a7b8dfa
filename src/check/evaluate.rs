//! One protocol constraint on one ROI -> value, limit, margin and status.
//!
//! Values come from the ROI's DVH ([`crate::dvh`]); the prescription-isodose indices use the
//! external contour's DVH for isodose volumes (the whole dose grid when there is none, with
//! a warning in the result). Anything that cannot be evaluated (ROI partly outside the dose
//! grid, contour defects, a metric undefined for the ROI, no prescription to refer to, a
//! limit table that does not cover the target's volume) is NOT_EVALUATED with the reason:
//! never PASS.

use std::collections::BTreeMap;

use serde::Serialize;

use super::TargetReport;
use crate::dicom::{DoseGrid, Roi};
use crate::dvh::{spatial, StructureDvh};
use crate::protocol::{ConstraintDef, Level, Limit, LimitUnit, Protocol, Query};
use crate::raster::{mask::centre_mask, SamplingOptions};

/// The outcome of one constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pass,
    Fail,
    NotEvaluated,
}

/// One row of the result table.
#[derive(Debug, Clone, Serialize)]
pub struct ConstraintResult {
    /// The protocol's structure name or target role.
    pub structure: String,
    /// The ROI it was matched to.
    pub roi: String,
    /// The constraint as text, e.g. `D0.035cc <= 25.3Gy`.
    pub constraint: String,
    /// The value in `unit` (null when not evaluated).
    pub value: Option<f64>,
    /// The limit in `unit`.
    pub limit: Option<f64>,
    /// Gy, %Rx... as the limit; volumes in cc or % of the structure; "" for indices.
    pub unit: String,
    /// How far inside the limit the value is, in `unit` (negative: outside).
    pub margin: Option<f64>,
    pub status: Status,
    pub level: Level,
    pub source: String,
    /// The limit was converted from another fractionation (LQ, same BED).
    pub derived: bool,
    pub note: Option<String>,
    /// Why the constraint was not evaluated, or a caveat on how it was.
    pub reason: Option<String>,
    /// Where the evaluated value lies on the ROI's cumulative DVH, for plots: D-queries at
    /// (value, x % volume), V-queries at (threshold, value as % volume). `None` for values
    /// that are not a point of the curve (mean, indices, D2cm) and when not evaluated.
    #[serde(skip)]
    pub dvh_point: Option<DvhPoint>,
}

/// A point of a cumulative DVH: dose (Gy) and volume (% of the ROI).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DvhPoint {
    pub dose_gy: f64,
    pub volume_percent: f64,
}

/// What evaluation needs from the plan.
pub struct Context<'a> {
    pub protocol: &'a Protocol,
    /// The dose in Gy for the whole plan (already scaled).
    pub dose: &'a DoseGrid,
    pub rois: &'a [Roi],
    pub dvhs: &'a BTreeMap<i64, &'a StructureDvh>,
    pub external: Option<&'a StructureDvh>,
    pub targets: &'a [TargetReport],
    pub plan_fractions: u32,
    pub sampling: &'a SamplingOptions,
    /// D2cm per ROI number, computed once (two constraints may ask).
    pub d2cm_cache: std::cell::RefCell<BTreeMap<i64, Option<f64>>>,
    /// Isodose volumes (cc) by dose level (its f64 bits), computed once.
    pub isodose_cache: std::cell::RefCell<BTreeMap<u64, f64>>,
}

/// Distance from the PTV for D2cm, mm.
const D2CM_DISTANCE_MM: f64 = 20.0;

/// Evaluates constraint `c` on ROI number `roi`.
pub fn evaluate(ctx: &Context<'_>, c: &ConstraintDef, roi: i64) -> ConstraintResult {
    let dvh = ctx.dvhs.get(&roi).copied();
    let mut r = ConstraintResult {
        structure: c.structure.clone(),
        roi: dvh.map_or_else(|| format!("ROI {roi}"), |d| d.name.clone()),
        constraint: format!("{} {} {}", c.query, c.comparator, c.limit),
        value: None,
        limit: None,
        unit: String::new(),
        margin: None,
        status: Status::NotEvaluated,
        level: c.level,
        source: c.source.clone(),
        derived: false,
        note: c.note.clone(),
        reason: None,
        dvh_point: None,
    };
    let Some(dvh) = dvh else {
        r.reason = Some("no DVH for the ROI".to_string());
        return r;
    };
    if let Some(e) = &dvh.error {
        r.reason = Some(format!("ROI not evaluated: {e}"));
        return r;
    }
    if !dvh.complete() {
        r.reason = Some(format!(
            "{:.3} cc ({:.1} %) of the ROI is outside the dose grid",
            dvh.outside_cc,
            100.0 * dvh.outside_cc / dvh.volume_cc
        ));
        return r;
    }
    let Some(resolved) = ctx
        .protocol
        .resolve(c, ctx.plan_fractions, Some(dvh.volume_cc))
    else {
        r.reason = Some(format!(
            "the limit table does not cover a volume of {:.2} cc",
            dvh.volume_cc
        ));
        return r;
    };
    r.derived = resolved.derived;
    if resolved.derived {
        let l = resolved.limit;
        r.constraint = format!(
            "{} {} {:.2}{} (derived from {} fx)",
            resolved.query,
            resolved.comparator,
            l.value(),
            l.unit().suffix(),
            c.fractions.unwrap_or(0)
        );
    }
    // The prescription a % refers to.
    let rx_gy = match ctx.protocol.rx_role(c) {
        Some(role) => ctx
            .targets
            .iter()
            .find(|t| t.role == role && t.structure.is_some())
            .map(|t| t.total_gy),
        None => ctx
            .targets
            .iter()
            .filter(|t| t.structure.is_some())
            .map(|t| t.total_gy)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x)))),
    };
    let limit = resolved.limit;
    let needs_rx = resolved.query.needs_prescription() || matches!(limit, Limit::PercentRx(_));
    if needs_rx && rx_gy.is_none() {
        r.reason = Some("no prescription present to refer to".to_string());
        return r;
    }
    let rx = rx_gy.unwrap_or(f64::NAN);

    // Value and limit in one unit.
    let (value, limit_value, unit, caveat) =
        match value_and_limit(ctx, dvh, roi, resolved.query, limit, rx) {
            Ok(v) => v,
            Err(reason) => {
                r.reason = Some(reason);
                return r;
            }
        };
    r.dvh_point = dvh_point(dvh, resolved.query, value, rx);
    r.value = Some(value);
    r.limit = Some(limit_value);
    r.unit = unit;
    r.reason = caveat;
    let margin = match resolved.comparator {
        crate::protocol::Comparator::Lt | crate::protocol::Comparator::Le => limit_value - value,
        crate::protocol::Comparator::Gt | crate::protocol::Comparator::Ge => value - limit_value,
    };
    r.margin = Some(margin);
    r.status = if resolved.comparator.holds(value, limit_value) {
        Status::Pass
    } else {
        Status::Fail
    };
    r
}

/// Where a query's value lies on the ROI's DVH (see [`ConstraintResult::dvh_point`]).
/// `value` is in Gy for dose queries; volume queries are read again in % from the curve, so
/// the point does not depend on the limit's unit.
fn dvh_point(dvh: &StructureDvh, query: Query, value: f64, rx: f64) -> Option<DvhPoint> {
    let vol = dvh.volume_cc;
    if vol.is_nan() || vol <= 0.0 {
        return None;
    }
    let percent = |cc: f64| 100.0 * cc / vol;
    // (A NaN threshold, e.g. no prescription, has no point; never read the curve with it.)
    let at_dose = |d: f64| DvhPoint {
        dose_gy: d,
        volume_percent: if d.is_finite() {
            percent(dvh.dvh.volume_at_dose_cc(d))
        } else {
            f64::NAN
        },
    };
    let point = match query {
        Query::Dmax => DvhPoint {
            dose_gy: value,
            volume_percent: 0.0,
        },
        Query::Dmin => DvhPoint {
            dose_gy: value,
            volume_percent: 100.0,
        },
        Query::DosePercentVolume(x) => DvhPoint {
            dose_gy: value,
            volume_percent: x,
        },
        Query::DoseCc(x) => DvhPoint {
            dose_gy: value,
            volume_percent: percent(x),
        },
        Query::ColdDose(x) => DvhPoint {
            dose_gy: value,
            volume_percent: percent(vol - x),
        },
        Query::VolumeAtDose(d) | Query::SparedVolume(d) => at_dose(d),
        Query::VolumeAtRxPercent(p) => at_dose(p / 100.0 * rx),
        Query::Dmean
        | Query::Hi
        | Query::CiPaddick
        | Query::CiRtog
        | Query::Gi
        | Query::R50
        | Query::D2cm => return None,
    };
    (point.dose_gy.is_finite() && point.volume_percent.is_finite()).then_some(point)
}

type Evaluated = (f64, f64, String, Option<String>);

fn value_and_limit(
    ctx: &Context<'_>,
    dvh: &StructureDvh,
    roi: i64,
    query: Query,
    limit: Limit,
    rx: f64,
) -> Result<Evaluated, String> {
    let h = &dvh.dvh;
    let vol = dvh.volume_cc;
    let undefined = |what: String| Err::<Evaluated, String>(what);
    // Dose-valued queries: value in Gy, limit in Gy.
    let dose_value = |v: Option<f64>, what: &str| -> Result<Evaluated, String> {
        let Some(v) = v else {
            return Err(format!("{what} is undefined for this ROI ({vol:.3} cc)"));
        };
        let l = limit
            .dose_gy(rx)
            .ok_or_else(|| format!("limit {limit} is not a dose"))?;
        Ok((v, l, "Gy".to_string(), None))
    };
    // Volume-valued queries: value in the limit's unit (cc or % of the ROI).
    let volume_value = |cc: f64| -> Result<Evaluated, String> {
        match limit.unit() {
            LimitUnit::Cc => Ok((cc, limit.value(), "cc".to_string(), None)),
            LimitUnit::PercentVolume => {
                Ok((100.0 * cc / vol, limit.value(), "%".to_string(), None))
            }
            _ => Err(format!("limit {limit} is not a volume")),
        }
    };
    match query {
        Query::Dmax => dose_value(dvh.max, "Dmax"),
        Query::Dmin => dose_value(dvh.min, "Dmin"),
        Query::Dmean => dose_value(h.mean(), "Dmean"),
        Query::DosePercentVolume(x) => dose_value(h.dose_at_volume_percent(x), &format!("D{x}%")),
        Query::DoseCc(x) => dose_value(h.dose_at_volume_cc(x), &format!("D{x}cc")),
        Query::ColdDose(x) => {
            if x > vol {
                return undefined(format!(
                    "the ROI ({vol:.1} cc) is smaller than the {x} cc the limit spares"
                ));
            }
            // The coldest x cc receive at most D where V(>= D) = volume - x.
            dose_value(h.dose_at_volume_cc(vol - x), &format!("DC{x}cc"))
        }
        Query::VolumeAtDose(d) => volume_value(h.volume_at_dose_cc(d)),
        Query::VolumeAtRxPercent(p) => volume_value(h.volume_at_dose_cc(p / 100.0 * rx)),
        Query::SparedVolume(d) => volume_value(vol - h.volume_at_dose_cc(d)),
        Query::Hi => {
            let (Some(d2), Some(d98), Some(d50)) = (
                h.dose_at_volume_percent(2.0),
                h.dose_at_volume_percent(98.0),
                h.dose_at_volume_percent(50.0),
            ) else {
                return undefined("HI is undefined for this ROI".to_string());
            };
            if d50 <= 0.0 {
                return undefined("HI is undefined: D50% is 0".to_string());
            }
            Ok(((d2 - d98) / d50, limit.value(), String::new(), None))
        }
        Query::CiPaddick | Query::CiRtog | Query::Gi | Query::R50 => {
            let (piv, piv50, caveat) = isodose_volumes(ctx, rx);
            let tv = vol;
            let tv_piv = h.volume_at_dose_cc(rx);
            let value = match query {
                Query::CiRtog => piv / tv,
                Query::CiPaddick => {
                    if piv <= 0.0 {
                        0.0
                    } else {
                        tv_piv * tv_piv / (tv * piv)
                    }
                }
                Query::Gi => {
                    if piv <= 0.0 {
                        return undefined("GI is undefined: no prescription isodose volume".into());
                    }
                    piv50 / piv
                }
                _ => piv50 / tv,
            };
            Ok((value, limit.value(), String::new(), caveat))
        }
        Query::D2cm => {
            let Some(roi) = ctx.rois.iter().find(|r| r.number == roi) else {
                return undefined("ROI not found".into());
            };
            let cached = ctx.d2cm_cache.borrow().get(&roi.number).copied();
            let d2cm = match cached {
                Some(d) => d,
                None => {
                    let mask = centre_mask(roi, ctx.dose, ctx.sampling.end_cap);
                    let d = spatial::max_dose_beyond(ctx.dose, &mask, D2CM_DISTANCE_MM);
                    ctx.d2cm_cache.borrow_mut().insert(roi.number, d);
                    d
                }
            };
            let Some(d) = d2cm else {
                return undefined(
                    "D2cm is undefined: no voxel centre in the target or none 2 cm away".into(),
                );
            };
            match limit {
                Limit::PercentRx(p) => Ok((
                    100.0 * d / rx,
                    p,
                    "%Rx".to_string(),
                    Some("maximum voxel dose >= 2 cm from the target's voxel centres".into()),
                )),
                _ => dose_value(Some(d), "D2cm"),
            }
        }
    }
}

/// Volumes (cc) of the prescription isodose and of the 50 % isodose: within the external
/// contour when there is one, else the whole dose grid.
fn isodose_volumes(ctx: &Context<'_>, rx: f64) -> (f64, f64, Option<String>) {
    let external_roi = ctx.external.and_then(|e| {
        ctx.rois
            .iter()
            .find(|r| r.number == e.number)
            .map(|r| (e, r))
    });
    match external_roi {
        Some((e, roi)) if e.error.is_none() => {
            let caveat = (!e.complete()).then(|| {
                format!(
                    "isodose volumes within {}, {:.1} % of which is outside the dose grid",
                    e.name,
                    100.0 * e.outside_cc / e.volume_cc
                )
            });
            let volume = |level: f64| {
                let cached = ctx.isodose_cache.borrow().get(&level.to_bits()).copied();
                cached.unwrap_or_else(|| {
                    let v = spatial::isodose_volume_cc(ctx.dose, roi, level, ctx.sampling);
                    ctx.isodose_cache.borrow_mut().insert(level.to_bits(), v);
                    v
                })
            };
            (volume(rx), volume(0.5 * rx), caveat)
        }
        _ => {
            let g = spatial::grid_dvh(ctx.dose);
            (
                g.volume_at_dose_cc(rx),
                g.volume_at_dose_cc(0.5 * rx),
                Some("no external contour: isodose volumes over the whole dose grid".into()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::{Contour, ContourType};
    use crate::raster::sample::tests_support::linear_grid;

    /// A box |x|, |y| <= half on planes z = -(n-1)..(n-1) step 2 (half caps: |z| <= n).
    fn box_roi(number: i64, name: &str, half: f64, n: i32, kind: &str) -> Roi {
        Roi {
            number,
            name: name.into(),
            interpreted_type: Some(kind.into()),
            color: None,
            frame_of_reference_uid: None,
            contours: (0..n)
                .map(|k| {
                    let z = f64::from(2 * k - (n - 1));
                    Contour {
                        kind: ContourType::ClosedPlanar,
                        points_mm: vec![
                            [-half, -half, z],
                            [half, -half, z],
                            [half, half, z],
                            [-half, half, z],
                        ],
                    }
                })
                .collect(),
            defects: vec![],
            repairs: vec![],
        }
    }

    const PROTOCOL: &str = r#"
[protocol]
name = "unit"
version = "1"
description = "metrics on a linear field"

[[prescription]]
role = "PTV"
total_gy = 12.0
fractions = 5
names = ["Target"]

[[structure]]
name = "Organ"
aliases = []
alpha_beta_gy = 3.0
"#;

    /// (query, comparator, limit, expected value, unit)
    const CASES: &[(&str, &str, &str, f64, &str)] = &[
        ("Dmax", "<=", "20Gy", 15.0, "Gy"),
        ("Dmin", ">=", "1Gy", 5.0, "Gy"),
        ("Dmean", "<", "11Gy", 10.0, "Gy"),
        ("D50%", "<", "11Gy", 10.0, "Gy"),
        ("D90%", ">=", "5Gy", 6.0, "Gy"),
        ("D0.1cc", "<=", "20Gy", 14.0, "Gy"),
        ("V12Gy", "<", "0.5cc", 0.3, "cc"),
        ("V12Gy", "<", "50%", 30.0, "%"),
        ("DC0.2cc", "<", "8Gy", 7.0, "Gy"),
        ("CV8Gy", ">", "0.1cc", 0.3, "cc"),
        ("Dmax", "<=", "150%", 15.0, "Gy"),
    ];

    const TARGET_CASES: &[(&str, &str, &str, f64, &str)] = &[
        ("V100%", ">=", "20%", 30.0, "%"),
        ("HI", "<=", "1", 0.96, ""),
        ("CI_RTOG", "<", "5", 3.2, ""),
        ("CI_Paddick", ">", "0.01", 0.028125, ""),
        ("GI", "<", "3", 1.75, ""),
        ("R50", "<", "6", 5.6, ""),
        ("D2cm", "<", "300%", 250.0, "%Rx"),
    ];

    #[test]
    fn every_query_evaluates_to_its_hand_computed_value() {
        let mut text = PROTOCOL.to_string();
        for (q, c, l, _, _) in CASES {
            text.push_str(&format!(
                "\n[[constraint]]\nstructure = \"Organ\"\nquery = \"{q}\"\ncomparator = \"{c}\"\nlimit = \"{l}\"\nlevel = \"mandatory\"\nsource = \"hand\"\n"
            ));
        }
        for (q, c, l, _, _) in TARGET_CASES {
            text.push_str(&format!(
                "\n[[constraint]]\nstructure = \"PTV\"\nquery = \"{q}\"\ncomparator = \"{c}\"\nlimit = \"{l}\"\nlevel = \"mandatory\"\nsource = \"hand\"\n"
            ));
        }
        let protocol = crate::protocol::parse(&text, "unit.toml").unwrap();
        let dose = linear_grid();
        // Target and organ: 10 mm boxes (1 cc, dose 5..15 Gy); external: 20 mm box (8 cc).
        let rois = vec![
            box_roi(1, "Target", 5.0, 5, "PTV"),
            box_roi(2, "Organ", 5.0, 5, "ORGAN"),
            box_roi(3, "External", 10.0, 10, "EXTERNAL"),
        ];
        let refs: Vec<&Roi> = rois.iter().collect();
        let sampling = SamplingOptions::default();
        let dvhs = crate::dvh::compute(&dose, &refs, &sampling);
        let by: BTreeMap<i64, &StructureDvh> = dvhs.iter().map(|d| (d.number, d)).collect();
        let targets = vec![TargetReport {
            role: "PTV".into(),
            structure: Some("Target".into()),
            roi_number: Some(1),
            total_gy: 12.0,
            fractions: 5,
            per_fraction_gy: 2.4,
            prescribed_by_plan: true,
        }];
        let ctx = Context {
            protocol: &protocol,
            dose: &dose,
            rois: &rois,
            dvhs: &by,
            external: by.get(&3).copied(),
            targets: &targets,
            plan_fractions: 5,
            sampling: &sampling,
            d2cm_cache: Default::default(),
            isodose_cache: Default::default(),
        };
        let expected: Vec<_> = CASES.iter().chain(TARGET_CASES).collect();
        assert_eq!(protocol.constraints.len(), expected.len());
        for (c, (q, _, _, want, unit)) in protocol.constraints.iter().zip(expected) {
            let roi = if c.structure == "PTV" { 1 } else { 2 };
            let r = evaluate(&ctx, c, roi);
            let got = r.value.unwrap_or_else(|| panic!("{q}: {:?}", r.reason));
            let tol = 0.002 * want.abs().max(1.0);
            assert!((got - want).abs() <= tol, "{q}: {got} vs {want}");
            assert_eq!(r.unit, *unit, "{q}");
            assert_eq!(r.status, Status::Pass, "{q}: {got} {}", r.constraint);
        }
    }

    #[test]
    fn undefined_metrics_and_missing_prescriptions_are_not_evaluated() {
        let text = format!(
            "{PROTOCOL}\n[[constraint]]\nstructure = \"Organ\"\nquery = \"DC5cc\"\ncomparator = \"<\"\nlimit = \"8Gy\"\nlevel = \"mandatory\"\nsource = \"hand\"\n\n[[constraint]]\nstructure = \"Organ\"\nquery = \"D2cc\"\ncomparator = \"<\"\nlimit = \"8Gy\"\nlevel = \"mandatory\"\nsource = \"hand\"\n\n[[constraint]]\nstructure = \"Organ\"\nquery = \"Dmax\"\ncomparator = \"<\"\nlimit = \"110%\"\nlevel = \"mandatory\"\nsource = \"hand\"\n"
        );
        let protocol = crate::protocol::parse(&text, "unit.toml").unwrap();
        let dose = linear_grid();
        let rois = vec![box_roi(2, "Organ", 5.0, 5, "ORGAN")];
        let refs: Vec<&Roi> = rois.iter().collect();
        let sampling = SamplingOptions::default();
        let dvhs = crate::dvh::compute(&dose, &refs, &sampling);
        let by: BTreeMap<i64, &StructureDvh> = dvhs.iter().map(|d| (d.number, d)).collect();
        let ctx = Context {
            protocol: &protocol,
            dose: &dose,
            rois: &rois,
            dvhs: &by,
            external: None,
            targets: &[],
            plan_fractions: 5,
            sampling: &sampling,
            d2cm_cache: Default::default(),
            isodose_cache: Default::default(),
        };
        for c in &protocol.constraints {
            let r = evaluate(&ctx, c, 2);
            assert_eq!(r.status, Status::NotEvaluated, "{}", r.constraint);
            assert!(r.value.is_none());
            assert!(r.reason.is_some());
        }
    }

    use crate::dvh::Dvh;

    /// 10 cc: 1 cc at each of 1, 2, ..., 10 Gy.
    fn ten_cc() -> StructureDvh {
        let dose: Vec<f64> = (1..=10).map(f64::from).collect();
        StructureDvh {
            number: 1,
            name: "R".into(),
            interpreted_type: None,
            volume_cc: 10.0,
            outside_cc: 0.0,
            dvh: Dvh::new(&dose, &[1.0; 10]),
            min: Some(1.0),
            max: Some(10.0),
            samples: 10,
            supersampling: 1,
            planes: 1,
            warnings: vec![],
            error: None,
        }
    }

    fn at(dose_gy: f64, volume_percent: f64) -> Option<DvhPoint> {
        Some(DvhPoint {
            dose_gy,
            volume_percent,
        })
    }

    #[test]
    fn dose_queries_sit_at_their_volume_and_volume_queries_at_their_dose() {
        let d = ten_cc();
        assert_eq!(
            dvh_point(&d, Query::DosePercentVolume(95.0), 1.2, 30.0),
            at(1.2, 95.0)
        );
        assert_eq!(dvh_point(&d, Query::DoseCc(2.0), 9.0, 30.0), at(9.0, 20.0));
        assert_eq!(
            dvh_point(&d, Query::ColdDose(3.0), 3.0, 30.0),
            at(3.0, 70.0)
        );
        assert_eq!(dvh_point(&d, Query::Dmax, 10.0, 30.0), at(10.0, 0.0));
        assert_eq!(dvh_point(&d, Query::Dmin, 1.0, 30.0), at(1.0, 100.0));
        // V queries: at the threshold, with the curve's volume in % whatever the limit unit.
        let v = 100.0 * d.dvh.volume_at_dose_cc(5.0) / 10.0;
        assert!(v > 0.0 && v < 100.0);
        assert_eq!(
            dvh_point(&d, Query::VolumeAtDose(5.0), 0.123, 30.0),
            at(5.0, v)
        );
        assert_eq!(
            dvh_point(&d, Query::SparedVolume(5.0), 0.123, 30.0),
            at(5.0, v)
        );
        assert_eq!(
            dvh_point(&d, Query::VolumeAtRxPercent(50.0), 0.5, 10.0),
            at(5.0, v)
        );
        for q in [
            Query::Dmean,
            Query::Hi,
            Query::Gi,
            Query::D2cm,
            Query::CiRtog,
        ] {
            assert_eq!(dvh_point(&d, q, 1.0, 30.0), None);
        }
        // No prescription to place a V%Rx point: no point.
        assert_eq!(
            dvh_point(&d, Query::VolumeAtRxPercent(50.0), 0.5, f64::NAN),
            None
        );
    }
}
