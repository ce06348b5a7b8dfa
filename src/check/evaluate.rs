//! Step 7 of a check: one protocol constraint on one ROI -> value, limit, margin and status,
//! from the quantities computed before ([`super::compute::Computed`]) alone.
//!
//! A query's value comes from [`crate::dvh::indices::query_value`]; this module puts it in
//! the limit's unit and compares. Anything that cannot be evaluated (ROI partly outside the
//! dose grid, contour defects, a metric undefined for the ROI, no prescription to refer to,
//! a limit table that does not cover the target's volume) is NOT_EVALUATED with the reason:
//! never PASS.

use serde::Serialize;

use super::compute::{constraint_rx_gy, Computed};
use super::TargetReport;
use crate::dvh::indices::{query_value, PlanValues};
use crate::dvh::StructureDvh;
use crate::protocol::{
    Comparator, ConstraintDef, Level, Limit, LimitSpec, LimitUnit, Protocol, Query,
    ResolvedConstraint, ValueKind,
};

/// The outcome of one constraint: PASS within the acceptable-variation limit (or the
/// limit, when there is none), FAIL beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pass,
    Fail,
    NotEvaluated,
}

/// The trial-QA grade of an evaluated value (RTOG / NRG style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Within the limit.
    PerProtocol,
    /// Beyond the limit, within the acceptable-variation limit: not a FAIL.
    AcceptableVariation,
    /// Beyond the limit and any acceptable-variation limit.
    UnacceptableDeviation,
}

/// The dose scale at which a constraint's status would change: every dose of the plan
/// multiplied by `factor` puts the value on the limit that decides the status (the
/// acceptable-variation limit when there is one).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Headroom {
    pub factor: f64,
    /// What happens past `factor`: `fails above`, `fails below`, `passes above` or
    /// `passes below`.
    pub change: &'static str,
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
    /// The acceptable-variation limit in `unit`, when the constraint has one.
    pub acceptable: Option<f64>,
    /// Gy, %Rx... as the limit; volumes in cc or % of the structure; "" for indices.
    pub unit: &'static str,
    /// How far inside the limit the value is, in `unit` (negative: outside).
    pub margin: Option<f64>,
    pub status: Status,
    /// Per protocol, acceptable variation or unacceptable deviation (null when not
    /// evaluated).
    pub grade: Option<Grade>,
    /// For mandatory constraints: the dose scale factor at which the status would change
    /// (null when not evaluated, for optional constraints and for indices).
    pub headroom: Option<Headroom>,
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

/// What evaluation reads: the protocol, the computed quantities and the targets found.
pub struct Values<'a> {
    pub protocol: &'a Protocol,
    pub computed: &'a Computed,
    pub targets: &'a [TargetReport],
    /// The plan's number of fractions (limits for other fractionations are converted).
    pub plan_fractions: u32,
}

/// A value and its limit in one unit, and a caveat on how the value was obtained.
struct Evaluated {
    value: f64,
    limit: f64,
    unit: &'static str,
    caveat: Option<String>,
}

/// Evaluates constraint `c` on ROI number `roi`.
pub fn evaluate(v: &Values<'_>, c: &ConstraintDef, roi: i64) -> ConstraintResult {
    let dvh = v.computed.dvh(roi);
    let roi_name = dvh.map_or_else(|| format!("ROI {roi}"), |d| d.name.clone());
    let mut r = unevaluated(c, roi_name);
    let dvh = match evaluable(dvh) {
        Ok(dvh) => dvh,
        Err(reason) => {
            r.reason = Some(reason);
            return r;
        }
    };
    let Some(resolved) = v.protocol.resolve(c, v.plan_fractions, Some(dvh.volume_cc)) else {
        r.reason = Some(format!(
            "the limit table does not cover a volume of {:.2} cc",
            dvh.volume_cc
        ));
        return r;
    };
    r.derived = resolved.derived;
    r.constraint = resolved_text(c, &resolved);
    let rx_gy = constraint_rx_gy(v.protocol, c, v.targets);
    let limit = resolved.limit;
    let needs_rx = resolved.query.needs_prescription() || matches!(limit, Limit::PercentRx(_));
    if needs_rx && rx_gy.is_none() {
        r.reason = Some("no prescription present to refer to".to_string());
        return r;
    }
    let plan = plan_values(v.computed, roi, resolved.query, rx_gy);
    let e = match value_and_limit(dvh, resolved.query, limit, &plan) {
        Ok(e) => e,
        Err(reason) => {
            r.reason = Some(reason);
            return r;
        }
    };
    // The acceptable limit in the unit of the value (same conversion as the limit).
    let acceptable = resolved.acceptable.and_then(|a| {
        value_and_limit(dvh, resolved.query, a, &plan)
            .ok()
            .map(|x| x.limit)
    });
    r.dvh_point = dvh_point(dvh, resolved.query, e.value, rx_gy.unwrap_or(f64::NAN));
    r.value = Some(e.value);
    r.limit = Some(e.limit);
    r.acceptable = acceptable;
    r.unit = e.unit;
    r.reason = e.caveat.clone();
    let cmp = resolved.comparator;
    r.margin = Some(margin(cmp, e.value, e.limit));
    let grade = grade(cmp, e.value, e.limit, acceptable);
    r.grade = Some(grade);
    r.status = match grade {
        Grade::UnacceptableDeviation => Status::Fail,
        _ => Status::Pass,
    };
    if c.level == Level::Mandatory {
        let deciding = acceptable.unwrap_or(e.limit);
        let passes = r.status == Status::Pass;
        r.headroom = headroom(dvh, resolved.query, &e, deciding, rx_gy).map(|factor| Headroom {
            factor,
            change: change_past(passes, factor),
        });
    }
    r
}

/// Constraint `c` matched to ROI `roi_name` -> its row, NOT_EVALUATED until a value is set.
fn unevaluated(c: &ConstraintDef, roi_name: String) -> ConstraintResult {
    ConstraintResult {
        structure: c.structure.clone(),
        roi: roi_name,
        constraint: constraint_text(c, None),
        value: None,
        limit: None,
        acceptable: None,
        unit: "",
        margin: None,
        status: Status::NotEvaluated,
        grade: None,
        headroom: None,
        level: c.level,
        source: c.source.clone(),
        derived: false,
        note: c.note.clone(),
        reason: None,
        dvh_point: None,
    }
}

/// The ROI's DVH -> itself when a constraint can be read from it, else why not (missing,
/// not computed, partly outside the dose grid).
fn evaluable(dvh: Option<&StructureDvh>) -> Result<&StructureDvh, String> {
    let Some(dvh) = dvh else {
        return Err("no DVH for the ROI".to_string());
    };
    if let Some(e) = &dvh.error {
        return Err(format!("ROI not evaluated: {e}"));
    }
    if !dvh.complete() {
        return Err(format!(
            "{:.3} cc ({:.1} %) of the ROI is outside the dose grid",
            dvh.outside_cc,
            100.0 * dvh.outside_cc / dvh.volume_cc
        ));
    }
    Ok(dvh)
}

/// The resolved constraint -> its text; a limit converted from another fractionation is
/// printed as converted, with the fractionation it came from.
fn resolved_text(c: &ConstraintDef, resolved: &ResolvedConstraint) -> String {
    if !resolved.derived {
        return constraint_text(c, resolved.acceptable);
    }
    let l = resolved.limit;
    format!(
        "{} {} {:.2}{} (derived from {} fx)",
        resolved.query,
        resolved.comparator,
        l.value(),
        l.unit().suffix(),
        c.fractions.unwrap_or(0)
    )
}

/// How far inside `limit` the value is, in its unit (negative: outside).
fn margin(cmp: Comparator, value: f64, limit: f64) -> f64 {
    match cmp {
        Comparator::Lt | Comparator::Le => limit - value,
        Comparator::Gt | Comparator::Ge => value - limit,
    }
}

/// A value against its limit and acceptable-variation limit -> its grade.
fn grade(cmp: Comparator, value: f64, limit: f64, acceptable: Option<f64>) -> Grade {
    if cmp.holds(value, limit) {
        Grade::PerProtocol
    } else if acceptable.is_some_and(|a| cmp.holds(value, a)) {
        Grade::AcceptableVariation
    } else {
        Grade::UnacceptableDeviation
    }
}

/// Whether the constraint passes now and the headroom factor -> what happens past it.
fn change_past(passes: bool, factor: f64) -> &'static str {
    match (passes, factor > 1.0) {
        (true, true) => "fails above",
        (true, false) => "fails below",
        (false, true) => "passes above",
        (false, false) => "passes below",
    }
}

/// The factor by which every dose of the plan would have to be multiplied for the value
/// of `query` to reach `deciding` (a limit in the unit of `e`). Dose values scale with the
/// dose; a volume at a dose threshold t, read at factor f, is the curve's volume at t / f,
/// so the factor is t over the dose at which the curve has the limit's volume. `None` for
/// indices and where the factor is undefined (zero dose, a limit beyond the structure).
fn headroom(
    dvh: &StructureDvh,
    query: Query,
    e: &Evaluated,
    deciding: f64,
    rx_gy: Option<f64>,
) -> Option<f64> {
    let positive = |x: f64| (x.is_finite() && x > 0.0).then_some(x);
    let factor = match query.value_kind() {
        ValueKind::Dose => deciding / positive(e.value)?,
        ValueKind::Volume => {
            let vol = dvh.volume_cc;
            let limit_cc = if e.unit == "%" {
                deciding / 100.0 * vol
            } else {
                deciding
            };
            let (threshold, at_volume_cc) = match query {
                Query::VolumeAtDose(d) => (d, limit_cc),
                Query::VolumeAtRxPercent(p) => (p / 100.0 * rx_gy?, limit_cc),
                Query::SparedVolume(d) => (d, vol - limit_cc),
                _ => return None,
            };
            threshold / positive(dvh.dvh.dose_at_volume_cc(at_volume_cc)?)?
        }
        ValueKind::Ratio => return None,
    };
    positive(factor)
}

/// `V100% >= 95%`, with ` (acceptable 90%)` when there is an acceptable-variation limit
/// (a table's: its value at the target's volume, when known).
fn constraint_text(c: &ConstraintDef, acceptable: Option<Limit>) -> String {
    let text = format!("{} {} {}", c.query, c.comparator, c.limit);
    match (&c.acceptable, acceptable) {
        (Some(LimitSpec::Fixed(a)), _) => format!("{text} (acceptable {a})"),
        (Some(LimitSpec::Table(_)), Some(a)) => {
            format!("{text} (acceptable {:.2}{})", a.value(), a.unit().suffix())
        }
        (Some(LimitSpec::Table(_)), None) => format!("{text} (acceptable by table)"),
        (None, _) => text,
    }
}

/// The plan quantities `query` on ROI `roi` reads, from what was computed.
fn plan_values(computed: &Computed, roi: i64, query: Query, rx_gy: Option<f64>) -> PlanValues {
    let isodose = |f: f64| rx_gy.and_then(|rx| computed.isodose_cc(f * rx));
    let indices = matches!(
        query,
        Query::CiRtog | Query::CiPaddick | Query::Gi | Query::R50
    );
    PlanValues {
        rx_gy,
        piv_cc: isodose(1.0),
        piv50_cc: isodose(0.5),
        isodose_caveat: if indices {
            computed.isodose_caveat.clone()
        } else {
            None
        },
        d2cm_gy: computed.d2cm_gy.get(&roi).copied(),
    }
}

/// The query's value and the limit in one unit: doses in Gy (D2cm against a `%` limit in
/// % of the prescription), volumes in the limit's unit (cc or % of the ROI), indices bare.
fn value_and_limit(
    dvh: &StructureDvh,
    query: Query,
    limit: Limit,
    plan: &PlanValues,
) -> Result<Evaluated, String> {
    let value = query_value(dvh, query, plan)?;
    let rx = plan.rx_gy.unwrap_or(f64::NAN);
    match query.value_kind() {
        ValueKind::Dose => {
            if let (Query::D2cm, Limit::PercentRx(p)) = (query, limit) {
                return Ok(Evaluated {
                    value: 100.0 * value / rx,
                    limit: p,
                    unit: "%Rx",
                    caveat: Some(
                        "maximum voxel dose >= 2 cm from the target's voxel centres".into(),
                    ),
                });
            }
            let limit = limit
                .dose_gy(rx)
                .ok_or_else(|| format!("limit {limit} is not a dose"))?;
            Ok(Evaluated {
                value,
                limit,
                unit: "Gy",
                caveat: None,
            })
        }
        ValueKind::Volume => match limit.unit() {
            LimitUnit::Cc => Ok(Evaluated {
                value,
                limit: limit.value(),
                unit: "cc",
                caveat: None,
            }),
            LimitUnit::PercentVolume => Ok(Evaluated {
                value: 100.0 * value / dvh.volume_cc,
                limit: limit.value(),
                unit: "%",
                caveat: None,
            }),
            _ => Err(format!("limit {limit} is not a volume")),
        },
        ValueKind::Ratio => Ok(Evaluated {
            value,
            limit: limit.value(),
            unit: "",
            caveat: plan.isodose_caveat.clone(),
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::compute::{self, Needs};
    use crate::dicom::Roi;
    use crate::raster::sample::tests_support::{linear_grid, square_roi};
    use crate::raster::SamplingOptions;

    /// A box |x|, |y| <= half on planes z = -(n-1)..(n-1) step 2 (half caps: |z| <= n).
    fn box_roi(number: i64, name: &str, half: f64, n: i32, kind: &str) -> Roi {
        let planes: Vec<f64> = (0..n).map(|k| f64::from(2 * k - (n - 1))).collect();
        Roi {
            number,
            name: name.into(),
            interpreted_type: Some(kind.into()),
            ..square_roi(half, &planes)
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
        let targets = vec![TargetReport {
            role: "PTV".into(),
            structure: Some("Target".into()),
            roi_number: Some(1),
            total_gy: 12.0,
            fractions: 5,
            per_fraction_gy: 2.4,
            prescribed_by_plan: true,
        }];
        let needs = Needs {
            dvh_rois: vec![1, 2, 3],
            external: Some(3),
            isodose_levels_gy: vec![6.0, 12.0],
            d2cm_rois: vec![1],
            hosts: Default::default(),
        };
        let computed = compute::run(&dose, &rois, &needs, &SamplingOptions::default());
        let ctx = Values {
            protocol: &protocol,
            computed: &computed,
            targets: &targets,
            plan_fractions: 5,
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

    /// The quantities of the 1 cc organ box alone on the linear field.
    fn organ_only() -> Computed {
        let rois = vec![box_roi(2, "Organ", 5.0, 5, "ORGAN")];
        let needs = Needs {
            dvh_rois: vec![2],
            ..Needs::default()
        };
        compute::run(&linear_grid(), &rois, &needs, &SamplingOptions::default())
    }

    /// (query, comparator, limit, acceptable, grade, status, headroom factor and change)
    /// on the 1 cc organ box of the linear field (5..15 Gy; D50% 10 Gy, Dmax 15 Gy,
    /// V12Gy 0.3 cc, D0.5cc 10 Gy).
    #[allow(clippy::type_complexity)]
    const GRADED: &[(&str, &str, &str, Option<&str>, Grade, Status, f64, &str)] = &[
        (
            "Dmax",
            "<=",
            "20Gy",
            None,
            Grade::PerProtocol,
            Status::Pass,
            20.0 / 15.0,
            "fails above",
        ),
        (
            "Dmax",
            "<=",
            "14Gy",
            Some("16Gy"),
            Grade::AcceptableVariation,
            Status::Pass,
            16.0 / 15.0,
            "fails above",
        ),
        (
            "Dmax",
            "<=",
            "12Gy",
            Some("14Gy"),
            Grade::UnacceptableDeviation,
            Status::Fail,
            14.0 / 15.0,
            "passes below",
        ),
        (
            "D50%",
            ">=",
            "11Gy",
            Some("9Gy"),
            Grade::AcceptableVariation,
            Status::Pass,
            0.9,
            "fails below",
        ),
        (
            "D50%",
            ">=",
            "12Gy",
            None,
            Grade::UnacceptableDeviation,
            Status::Fail,
            1.2,
            "passes above",
        ),
        // V12Gy(f) = V(12 / f) reaches 0.5 cc where 12 / f = D0.5cc = 10 Gy.
        (
            "V12Gy",
            "<",
            "0.5cc",
            None,
            Grade::PerProtocol,
            Status::Pass,
            1.2,
            "fails above",
        ),
        (
            "V12Gy",
            "<",
            "50%",
            None,
            Grade::PerProtocol,
            Status::Pass,
            1.2,
            "fails above",
        ),
    ];

    #[test]
    fn grades_follow_the_acceptable_limit_and_headroom_the_limit_that_decides() {
        let mut text = PROTOCOL.to_string();
        for (q, c, l, a, ..) in GRADED {
            let acceptable = a.map_or(String::new(), |a| format!("acceptable = \"{a}\"\n"));
            text.push_str(&format!(
                "\n[[constraint]]\nstructure = \"Organ\"\nquery = \"{q}\"\ncomparator = \"{c}\"\nlimit = \"{l}\"\n{acceptable}level = \"mandatory\"\nsource = \"hand\"\n"
            ));
        }
        let protocol = crate::protocol::parse(&text, "unit.toml").unwrap();
        let computed = organ_only();
        let ctx = Values {
            protocol: &protocol,
            computed: &computed,
            targets: &[],
            plan_fractions: 5,
        };
        for (c, (q, _, l, a, grade, status, factor, change)) in
            protocol.constraints.iter().zip(GRADED)
        {
            let r = evaluate(&ctx, c, 2);
            let what = format!("{q} {l} {a:?}: {r:?}");
            assert_eq!(r.grade, Some(*grade), "{what}");
            assert_eq!(r.status, *status, "{what}");
            assert_eq!(r.acceptable.is_some(), a.is_some(), "{what}");
            let h = r.headroom.unwrap_or_else(|| panic!("no headroom: {what}"));
            assert!((h.factor - factor).abs() < 0.01, "{what}");
            assert_eq!(h.change, *change, "{what}");
        }
        // Optimal constraints get a grade but no headroom.
        let optimal = text.replace("\"mandatory\"", "\"optimal\"");
        let protocol = crate::protocol::parse(&optimal, "unit.toml").unwrap();
        let ctx = Values {
            protocol: &protocol,
            ..ctx
        };
        let r = evaluate(&ctx, &protocol.constraints[1], 2);
        assert_eq!(r.grade, Some(Grade::AcceptableVariation));
        assert_eq!(r.headroom, None);
    }

    #[test]
    fn undefined_metrics_and_missing_prescriptions_are_not_evaluated() {
        let text = format!(
            "{PROTOCOL}\n[[constraint]]\nstructure = \"Organ\"\nquery = \"DC5cc\"\ncomparator = \"<\"\nlimit = \"8Gy\"\nlevel = \"mandatory\"\nsource = \"hand\"\n\n[[constraint]]\nstructure = \"Organ\"\nquery = \"D2cc\"\ncomparator = \"<\"\nlimit = \"8Gy\"\nlevel = \"mandatory\"\nsource = \"hand\"\n\n[[constraint]]\nstructure = \"Organ\"\nquery = \"Dmax\"\ncomparator = \"<\"\nlimit = \"110%\"\nlevel = \"mandatory\"\nsource = \"hand\"\n"
        );
        let protocol = crate::protocol::parse(&text, "unit.toml").unwrap();
        let computed = organ_only();
        let ctx = Values {
            protocol: &protocol,
            computed: &computed,
            targets: &[],
            plan_fractions: 5,
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
            end_cap_cc: 0.0,
            outside_cc: 0.0,
            dvh: Dvh::new(&dose, &[1.0; 10]),
            min: Some(1.0),
            max: Some(10.0),
            samples: 10,
            supersampling: 1,
            planes: 1,
            warnings: vec![],
            defects: vec![],
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
