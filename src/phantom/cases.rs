//! The case list: geometry, dose field, dose grid and plan of every phantom case, and the
//! expected.json each one ships with.

use super::exact::{
    exact_metrics_with_plateaus, fraction_beyond_x, reference_metrics, Caps, DoseField, Linear,
    Lobe, Metrics, Plateaus, Sampling,
};
use super::grid::{DoseVolume, Grid};
use super::shapes::{prism, sphere, Structure};
use serde::Serialize;

/// Case names, in the order `write_all` writes them.
pub const CASE_NAMES: [&str; 10] = [
    "sphere_linear",
    "small_sphere_steep",
    "ring_hole",
    "two_islands",
    "cylinder_z",
    "trial_pass",
    "trial_cord_overdose",
    "trial_underdosed",
    "trial_outside_grid",
    "rib_lesion",
];

/// One dose reference of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Prescription {
    pub roi_number: u32,
    pub total_gy: f64,
    pub description: &'static str,
}

/// How the answers of a case are computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Answers {
    /// Linear field: exact slab-model metrics, with V<x>Gy_cc for each x.
    Exact { v_gy: Vec<f64> },
    /// Non-linear field: numerical reference metrics, per ROI name: the sampling and the
    /// x of each V<x>Gy_% reported.
    Reference {
        rois: Vec<(&'static str, Sampling, Vec<f64>)>,
    },
}

/// Everything that defines a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub name: &'static str,
    pub description: String,
    pub structures: Vec<Structure>,
    pub field: DoseField,
    pub grid: Grid,
    /// BitsAllocated of the RT Dose (32 or 16).
    pub bits: u16,
    pub isocentre: [f64; 3],
    pub fractions: u32,
    pub prescriptions: Vec<Prescription>,
    pub verdict: Option<&'static str>,
    /// Every mandatory constraint the check fails, as `STRUCTURE CONSTRAINT` (the
    /// structure and the constraint text of the check report), in report order.
    pub failures: Vec<&'static str>,
    pub answers: Answers,
    /// The RT Plan's Treatment Sites (300A,000B), which chooses the protocol's site.
    pub treatment_site: Option<&'static str>,
}

const RED: [u8; 3] = [255, 0, 0];

fn roi(
    name: &'static str,
    number: u32,
    kind: &'static str,
    color: [u8; 3],
    planes: Vec<super::shapes::Plane>,
) -> Structure {
    Structure {
        name,
        number,
        kind,
        color,
        planes,
    }
}

/// Common parts of the analytic cases: one ROI, 30 Gy / 5 fx referencing it, exact answers.
#[allow(clippy::too_many_arguments)]
fn analytic(
    name: &'static str,
    description: String,
    structure: Structure,
    field: Linear,
    grid: Grid,
    isocentre: [f64; 3],
    v_gy: Vec<f64>,
    rx_description: &'static str,
) -> Case {
    Case {
        name,
        description,
        structures: vec![structure],
        field: DoseField::Linear(field),
        grid,
        bits: 32,
        isocentre,
        fractions: 5,
        prescriptions: vec![Prescription {
            roi_number: 1,
            total_gy: 30.0,
            description: rx_description,
        }],
        verdict: None,
        failures: vec![],
        answers: Answers::Exact { v_gy },
        treatment_site: None,
    }
}

const ANALYTIC_NOTE: &str = "Circles are regular 128-gons (vertex 0 at angle 0, \
coordinates rounded to 1e-4 mm as written). Exact answers are for the written polygons under \
the slab model ('half': end planes extend half their neighbour gap outward; 'none': inward \
only), the in-plane region being the even-odd union of the plane's contours. The dose is \
linear, so trilinear interpolation of the grid reproduces it inside the grid (quantization \
<= 5e-7 Gy). D_x = largest D with V(>=D) >= x, by exact polygon/half-plane clipping (in-plane \
gradient) or slab-length intersection (z gradient) and bisection to f64 resolution.";

fn sphere_linear() -> Case {
    let c = [10.0, -20.0, 0.0];
    analytic(
        "sphere_linear",
        format!(
            "Sphere r=15 mm centred (10,-20,0); 11 contour planes every 2.5 mm at z=-12.5..12.5, \
             offset by half a slice from the 2.5 mm dose slices at z=-18.75..18.75. \
             Dose = 20 Gy + 0.5 Gy/mm * (x - 10). {ANALYTIC_NOTE}"
        ),
        roi("Sphere", 1, "PTV", RED, sphere(c, 15.0, 2.5)),
        Linear {
            base: 20.0,
            grad: [0.5, 0.0, 0.0],
            origin: c,
        },
        Grid {
            origin: [-13.75, -43.75, -18.75],
            spacing: [2.5, 2.5, 2.5],
            dims: [20, 20, 16],
        },
        c,
        vec![15.0, 20.0, 25.0],
        "Sphere 30Gy",
    )
}

fn small_sphere_steep() -> Case {
    let c = [-7.0, 13.0, 0.0];
    analytic(
        "small_sphere_steep",
        format!(
            "Small sphere r=5 mm (< 1 cc) centred (-7,13,0); 9 contour planes every 1 mm at \
             z=-4..4; dose grid 2 mm. Steep dose = 30 Gy + 3 Gy/mm * (y - 13), >= 3 Gy on the \
             whole grid. {ANALYTIC_NOTE}"
        ),
        roi("SmallSphere", 1, "PTV", RED, sphere(c, 5.0, 1.0)),
        Linear {
            base: 30.0,
            grad: [0.0, 3.0, 0.0],
            origin: c,
        },
        Grid {
            origin: [-16.0, 4.0, -9.0],
            spacing: [2.0, 2.0, 2.0],
            dims: [10, 10, 10],
        },
        c,
        vec![20.0, 30.0, 40.0],
        "SmallSphere 30Gy",
    )
}

fn ring_hole() -> Case {
    let c = [5.0, -5.0, 0.0];
    analytic(
        "ring_hole",
        format!(
            "Tube along z centred (5,-5): on each of 11 planes every 3 mm (z=-15..15) an outer \
             circle r=20 mm and an inner circle r=10 mm, both written counter-clockwise; the \
             inner one is a hole by even-odd nesting (not by orientation). Dose grid 2.5 mm. \
             Dose = 20 Gy + 0.5 Gy/mm * (x - 5). {ANALYTIC_NOTE}"
        ),
        roi(
            "Ring",
            1,
            "PTV",
            RED,
            prism(&[(c[0], c[1], 20.0), (c[0], c[1], 10.0)], -5, 5, 3.0),
        ),
        Linear {
            base: 20.0,
            grad: [0.5, 0.0, 0.0],
            origin: c,
        },
        Grid {
            origin: [-25.0, -35.0, -20.0],
            spacing: [2.5, 2.5, 2.5],
            dims: [25, 25, 17],
        },
        c,
        vec![15.0, 20.0, 25.0],
        "Ring 30Gy",
    )
}

fn two_islands() -> Case {
    let c = [0.0, 10.0, 0.0];
    analytic(
        "two_islands",
        format!(
            "One ROI of two separate cylinders r=8 mm centred (-20,10) and (20,10), two contours \
             on each of 11 planes every 2 mm (z=-10..10). Dose grid 2.5 mm. \
             Dose = 20 Gy + 0.5 Gy/mm * x: the left island gets 6-14 Gy, the right 26-34 Gy. \
             V(>=D) is flat at exactly 50 % for D between 14 and 26 Gy, so D50% (the largest D \
             with V >= 50 %) is the top of that plateau, 26 Gy; any DVH with finite resolution \
             may land anywhere in [14, 26] for D50% ('ill_conditioned' gives the interval). {ANALYTIC_NOTE}"
        ),
        roi(
            "Islands",
            1,
            "PTV",
            RED,
            prism(&[(-20.0, 10.0, 8.0), (20.0, 10.0, 8.0)], -5, 5, 2.0),
        ),
        Linear {
            base: 20.0,
            grad: [0.5, 0.0, 0.0],
            origin: c,
        },
        Grid {
            origin: [-35.0, -5.0, -15.0],
            spacing: [2.5, 2.5, 2.5],
            dims: [29, 13, 13],
        },
        c,
        vec![10.0, 20.0, 30.0],
        "Islands 30Gy",
    )
}

fn cylinder_z() -> Case {
    analytic(
        "cylinder_z",
        format!(
            "Cylinder along z r=12 mm centred (-5,5); 21 contour planes every 2 mm at \
             z=-20..20 (40 mm from first to last plane; slab length 42 mm with 'half' caps, \
             40 mm with 'none'). Dose slices 3 mm at z=-27..27, in-plane 2.5 mm. \
             Dose = 10 Gy + 0.5 Gy/mm * (z + 20) (z gradient). {ANALYTIC_NOTE}"
        ),
        roi(
            "CylinderZ",
            1,
            "PTV",
            RED,
            prism(&[(-5.0, 5.0, 12.0)], -10, 10, 2.0),
        ),
        Linear {
            base: 10.0,
            grad: [0.0, 0.0, 0.5],
            origin: [0.0, 0.0, -20.0],
        },
        Grid {
            origin: [-25.0, -15.0, -27.0],
            spacing: [2.5, 2.5, 3.0],
            dims: [17, 17, 19],
        },
        [-5.0, 5.0, 0.0],
        vec![15.0, 20.0, 25.0],
        "CylinderZ 30Gy",
    )
}

/// The trial_pass field: 36.6 Gy · exp(-(r/30 mm)^6) about the target centre (a flat
/// plateau over the PGTV, ≥ 32.4 Gy over the PTV, ~13.5 Gy at the cord surface).
const PASS_FIELD: DoseField = DoseField::Radial {
    centre: [0.0, 0.0, 0.0],
    peak: 36.6,
    rho: 30.0,
    power: 3,
    lobe: None,
};

/// Trial grid: 2.5 mm, voxel centres x, y in [-85, 85], z in [-52.5, 52.5], covering BODY.
const TRIAL_GRID: Grid = Grid {
    origin: [-85.0, -85.0, -52.5],
    spacing: [2.5, 2.5, 2.5],
    dims: [69, 69, 43],
};

/// Last voxel centre in x of the cropped grid of trial_outside_grid (mm).
pub const CROPPED_X_MAX: f64 = 7.5;

const TRIAL_NOTE: &str = "Geometry (NCT06863584-like vertebral SBRT, 30 Gy/5 fx to PTV and \
35 Gy/5 fx to PGTV): ROI 1 PTV sphere r=20 mm and ROI 2 PGTV sphere r=12 mm centred at the \
origin (planes every 2.5 mm), ROI 3 SpinalCord cylinder r=5 mm along z with axis at (0,35), \
z=-40..40, ROI 4 BODY cylinder r=80 mm about the z axis, z=-50..50; circles are regular \
128-gons. Dose grid 2.5 mm, 16-bit. Reference values: dense numerical integration of the \
analytic dose over the slab model ('half' and 'none' end caps as in the analytic cases): \
on each plane, scanlines h apart in y with exact even-odd x-intervals cut into cells <= h \
(quasi-random phase per scanline), each slab cut into cells <= hz in z, dose at cell \
midpoints, areas rescaled to the exact polygon areas (volume_cc is exact); h/hz = 0.1/0.2 mm \
for PTV and PGTV, 0.05/0.1 mm for SpinalCord, 0.5/0.5 mm for BODY. D_x from a 1 mGy-bin \
histogram; V_x and mean from the samples; min/max over the samples plus polygon vertices on \
slab faces and edge points nearest the field centres. Refining the sampling 2-4x changes no \
value by more than ~0.005 Gy or ~0.01 % of volume. These describe the analytic dose, not its trilinear interpolation on the 2.5 mm grid, \
which differs by up to a few tenths of a Gy in steep regions.";

/// The trial's prescriptions: 30 Gy to the PTV (ROI 1), 35 Gy to the PGTV (ROI 2).
fn trial_prescriptions() -> Vec<Prescription> {
    vec![
        Prescription {
            roi_number: 1,
            total_gy: 30.0,
            description: "PTV 30Gy",
        },
        Prescription {
            roi_number: 2,
            total_gy: 35.0,
            description: "PGTV 35Gy",
        },
    ]
}

fn trial(
    name: &'static str,
    description: String,
    field: DoseField,
    grid: Grid,
    verdict: &'static str,
    failures: Vec<&'static str>,
) -> Case {
    let h = |h_xy, h_z| Sampling { h_xy, h_z };
    Case {
        name,
        description,
        structures: vec![
            roi("PTV", 1, "PTV", [255, 0, 0], sphere([0.0; 3], 20.0, 2.5)),
            roi("PGTV", 2, "PTV", [255, 128, 0], sphere([0.0; 3], 12.0, 2.5)),
            roi(
                "SpinalCord",
                3,
                "ORGAN",
                [0, 255, 0],
                prism(&[(0.0, 35.0, 5.0)], -16, 16, 2.5),
            ),
            roi(
                "BODY",
                4,
                "EXTERNAL",
                [0, 128, 255],
                prism(&[(0.0, 0.0, 80.0)], -20, 20, 2.5),
            ),
        ],
        field,
        grid,
        bits: 16,
        isocentre: [0.0; 3],
        fractions: 5,
        prescriptions: trial_prescriptions(),
        verdict: Some(verdict),
        failures,
        answers: Answers::Reference {
            rois: vec![
                ("PTV", h(0.1, 0.2), vec![30.0, 35.0]),
                ("PGTV", h(0.1, 0.2), vec![30.0, 35.0]),
                ("SpinalCord", h(0.05, 0.1), vec![]),
                ("BODY", h(0.5, 0.5), vec![]),
            ],
        },
        // Spine plans: the cord lies beside the target.
        treatment_site: Some("spine"),
    }
}

fn trial_pass() -> Case {
    trial(
        "trial_pass",
        format!(
            "Plan that meets the protocol. Dose = 36.6 Gy * exp(-(r/30 mm)^6), r = distance \
             from the target centre: plateau 36.35-36.6 Gy over the PGTV, >= 32.4 Gy over the \
             PTV, Dmax 36.6 Gy, cord Dmax ~13.5 Gy. {TRIAL_NOTE}"
        ),
        PASS_FIELD,
        TRIAL_GRID,
        "PASS",
        vec![],
    )
}

fn trial_cord_overdose() -> Case {
    let field = DoseField::Radial {
        centre: [0.0; 3],
        peak: 36.6,
        rho: 30.0,
        power: 3,
        lobe: Some(Lobe {
            centre: [0.0, 36.0, 0.0],
            peak: 29.2,
            sigma_xy: 6.0,
            sigma_z: 10.5,
        }),
    };
    trial(
        "trial_cord_overdose",
        format!(
            "Cord overdose. Dose = the trial_pass field plus a hot lobe on the cord: \
             29.2 Gy * exp(-(x^2 + (y-36)^2)/(2*6^2) - z^2/(2*10.5^2)), giving SpinalCord Dmax \
             ~32 Gy, D0.035cc ~31 Gy, D0.35cc ~28 Gy and D1.2cc ~21 Gy: all three mandatory \
             cord limits of the 5-fx protocol are missed (D0.035cc <= 25.3 Gy, \
             V23Gy < 0.35 cc, V14.5Gy < 1.2 cc); targets stay covered. {TRIAL_NOTE}"
        ),
        field,
        TRIAL_GRID,
        "FAIL",
        vec![
            "SpinalCord D0.035cc <= 25.3Gy",
            "SpinalCord V23Gy < 0.35cc",
            "SpinalCord V14.5Gy < 1.2cc",
        ],
    )
}

fn trial_underdosed() -> Case {
    let field = DoseField::Radial {
        centre: [0.0; 3],
        peak: 36.4,
        rho: 40.3,
        power: 1,
        lobe: None,
    };
    trial(
        "trial_underdosed",
        format!(
            "Underdosed targets. Dose = 36.4 Gy * exp(-(r/40.3 mm)^2) (a Gaussian; a uniform \
             rescale of the trial_pass field cannot bring PTV V30Gy and PGTV V35Gy to ~70 % and \
             ~30 % at once because its PGTV plateau is flat), giving PTV V30Gy ~70 % and PGTV \
             V35Gy ~30 % (both far below 95 %). The cord gets Dmax ~21 Gy and D0.35cc ~18.5 Gy \
             (within their limits) but D1.2cc ~16.4 Gy: its V14.5Gy (~2.3 cc) misses the \
             1.2 cc limit. {TRIAL_NOTE}"
        ),
        field,
        TRIAL_GRID,
        "FAIL",
        vec![
            "PTV V100% >= 95% (acceptable 90%)",
            "PGTV V100% >= 95% (acceptable 90%)",
            "SpinalCord V14.5Gy < 1.2cc",
        ],
    )
}

fn trial_outside_grid() -> Case {
    let mut grid = TRIAL_GRID;
    grid.dims[0] = ((CROPPED_X_MAX - grid.origin[0]) / grid.spacing[0]).round() as usize + 1;
    trial(
        "trial_outside_grid",
        format!(
            "Dose grid cropped in +x: last voxel centre at x = {CROPPED_X_MAX} mm (voxel edge \
             {} mm), so about a fifth of the PTV, part of the PGTV and the +x side of BODY lie \
             outside the grid ('outside_grid' gives the exact slab-model fractions). The dose \
             inside the grid is the trial_pass field; the plan cannot be evaluated. Reference \
             values are those of the full analytic field. {TRIAL_NOTE}",
            CROPPED_X_MAX + 1.25
        ),
        PASS_FIELD,
        grid,
        "ERROR",
        vec![],
    )
}

/// Centre of the rib lesion (mm).
const RIB_LESION_CENTRE: [f64; 3] = [0.0, 65.0, 0.0];

/// The rib bar's outline: x in [-40, 40], y in [50, 80] mm (counter-clockwise).
fn rib_outline() -> Vec<super::shapes::Pt> {
    vec![[-40.0, 50.0], [40.0, 50.0], [40.0, 80.0], [-40.0, 80.0]]
}

/// A rib lesion: both targets inside a Rib ROI, so that TG-101's rib V35Gy < 1 cc fails on
/// the whole rib and passes on the rib outside the targets (the rib site's host organ).
fn rib_lesion() -> Case {
    let h = |h_xy, h_z| Sampling { h_xy, h_z };
    let c = RIB_LESION_CENTRE;
    let rib_planes = (-6..=6)
        .map(|k| super::shapes::Plane {
            z: k as f64 * 2.5,
            polygons: vec![rib_outline()],
        })
        .collect();
    Case {
        name: "rib_lesion",
        description: "Rib lesion (NCT06863584-like, 30 Gy/5 fx to PTV and 35 Gy/5 fx to PGTV; \
            the RT Plan names the site 'rib'). ROI 1 PTV sphere r=12 mm and ROI 2 PGTV sphere \
            r=8 mm centred (0,65,0) (planes every 2.5 mm), both inside ROI 3 Rib, a bar (the \
            rib expanded by the lesion) x=-40..40, y=50..80 mm on 13 planes every 2.5 mm at \
            z=-15..15; ROI 4 Lungs two cylinders r=50 mm with axes at (-55,0) and (55,0), \
            planes every 5 mm at z=-50..50; ROI 5 BODY cylinder r=108 mm about the z axis, \
            planes every 5 mm at z=-55..55; circles are regular 128-gons. Dose = 37 Gy * \
            exp(-(r/17 mm)^6), r = distance from the lesion centre: >= 36.5 Gy over the PGTV, \
            >= 32.6 Gy over the PTV, 35 Gy at r = 10.5 mm, so the whole Rib has V35Gy of about \
            4.8 cc (TG-101 rib V35Gy < 1 cc fails) while the Rib outside the targets has none \
            (the same limit passes on it); the Lungs get almost nothing. Expected verdict at \
            the rib site, where Rib is a host organ: PASS, with the rib's rows on Rib minus \
            the targets (volume: the Rib's minus the PTV's, the PTV lying inside it, under \
            'half' end caps where both end on planes of the same spacing). Checked with a \
            site where Rib is no host (e.g. --site other): FAIL on Rib V35Gy. Dose grid 3 mm, \
            16-bit. Reference values as in the trial cases: dense numerical integration of the \
            analytic dose over the slab model; h/hz = 0.1/0.2 mm for PTV and PGTV, 0.25/0.25 \
            mm for Rib, 1/1 mm for Lungs; none for BODY. These describe the analytic dose, \
            not its trilinear interpolation on the 3 mm grid."
            .to_string(),
        structures: vec![
            roi("PTV", 1, "PTV", [255, 0, 0], sphere(c, 12.0, 2.5)),
            roi("PGTV", 2, "PTV", [255, 128, 0], sphere(c, 8.0, 2.5)),
            roi("Rib", 3, "ORGAN", [230, 230, 180], rib_planes),
            roi(
                "Lungs",
                4,
                "ORGAN",
                [0, 200, 200],
                prism(&[(-55.0, 0.0, 50.0), (55.0, 0.0, 50.0)], -10, 10, 5.0),
            ),
            roi(
                "BODY",
                5,
                "EXTERNAL",
                [0, 128, 255],
                prism(&[(0.0, 0.0, 108.0)], -11, 11, 5.0),
            ),
        ],
        field: DoseField::Radial {
            centre: c,
            peak: 37.0,
            rho: 17.0,
            power: 3,
            lobe: None,
        },
        grid: Grid {
            origin: [-108.0, -108.0, -58.5],
            spacing: [3.0, 3.0, 3.0],
            dims: [73, 73, 40],
        },
        bits: 16,
        isocentre: c,
        fractions: 5,
        prescriptions: trial_prescriptions(),
        verdict: Some("PASS"),
        failures: vec![],
        answers: Answers::Reference {
            rois: vec![
                ("PTV", h(0.1, 0.2), vec![30.0, 35.0]),
                ("PGTV", h(0.1, 0.2), vec![30.0, 35.0]),
                ("Rib", h(0.25, 0.25), vec![35.0]),
                ("Lungs", h(1.0, 1.0), vec![]),
            ],
        },
        treatment_site: Some("rib"),
    }
}

/// Name of the clinical-size case: written on request (`--case clinical_size`) for
/// benchmarks, never by `write_all` (its files are about 20 MB).
pub const CLINICAL_SIZE: &str = "clinical_size";

/// A clinical-size plan for benchmarks: a 200 x 200 x 150 dose grid at 2.5 mm and 20 ROIs,
/// among them a 15,000 cc body outline, a ring-shaped rib cage (holes) and a thin skin shell,
/// with the trial's prescriptions. No reference answers (the benchmarks assert volumes).
fn clinical_size() -> Case {
    let s = 2.5;
    Case {
        name: CLINICAL_SIZE,
        description: "Benchmark phantom: 200x200x150 dose grid (2.5 mm), 20 ROIs including a \
                      15,000 cc BODY (cylinder r=115 mm, z=-180..180), spheres, cylinders, \
                      a rib-cage ring and a skin shell; 30 Gy PTV / 35 Gy PGTV in 5 fractions."
            .to_string(),
        structures: CLINICAL_ROIS
            .iter()
            .zip(1..)
            .map(|(&(name, kind, color, solid), number)| {
                roi(name, number, kind, color, solid.planes(s))
            })
            .collect(),
        field: DoseField::Radial {
            centre: [0.0; 3],
            peak: 36.6,
            rho: 30.0,
            power: 2,
            lobe: None,
        },
        grid: Grid {
            origin: [-248.75, -248.75, -186.25],
            spacing: [s, s, s],
            dims: [200, 200, 150],
        },
        bits: 16,
        isocentre: [0.0; 3],
        fractions: 5,
        prescriptions: vec![
            Prescription {
                roi_number: 2,
                total_gy: 30.0,
                description: "PTV 30Gy",
            },
            Prescription {
                roi_number: 3,
                total_gy: 35.0,
                description: "PGTV 35Gy",
            },
        ],
        verdict: None,
        failures: vec![],
        answers: Answers::Reference { rois: vec![] },
        treatment_site: None,
    }
}

/// The shape of an ROI of the clinical-size case, mm.
#[derive(Clone, Copy)]
enum Solid {
    /// A sphere: centre, radius.
    Sphere([f64; 3], f64),
    /// Prisms along z from one z to another (each rounded to a plane): one circle
    /// (cx, cy, r) per prism, a circle inside another a hole.
    Prism(&'static [(f64, f64, f64)], f64, f64),
}

impl Solid {
    /// The shape -> its contours on planes `spacing_mm` apart.
    fn planes(self, spacing_mm: f64) -> Vec<super::shapes::Plane> {
        let s = spacing_mm;
        match self {
            Solid::Sphere(centre, r) => sphere(centre, r, s),
            Solid::Prism(circles, z0, z1) => {
                prism(circles, (z0 / s).round() as i64, (z1 / s).round() as i64, s)
            }
        }
    }
}

/// The ROIs of the clinical-size case, numbered from 1 in this order: name,
/// RTROIInterpretedType, colour and shape.
const CLINICAL_ROIS: [(&str, &str, [u8; 3], Solid); 20] = {
    use Solid::{Prism, Sphere};
    [
        (
            "BODY",
            "EXTERNAL",
            [0, 128, 255],
            Prism(&[(0.0, 0.0, 115.0)], -180.0, 180.0),
        ),
        ("PTV", "PTV", [255, 0, 0], Sphere([0.0; 3], 25.0)),
        ("PGTV", "PTV", [255, 128, 0], Sphere([0.0; 3], 15.0)),
        (
            "SpinalCord",
            "ORGAN",
            [0, 255, 0],
            Prism(&[(0.0, 50.0, 5.0)], -150.0, 150.0),
        ),
        (
            "Esophagus",
            "ORGAN",
            [128, 64, 0],
            Prism(&[(0.0, 30.0, 8.0)], -60.0, 170.0),
        ),
        (
            "Heart",
            "ORGAN",
            [200, 0, 100],
            Sphere([30.0, -30.0, -40.0], 45.0),
        ),
        (
            "Lung_L",
            "ORGAN",
            [0, 200, 200],
            Prism(&[(-60.0, 0.0, 45.0)], 0.0, 150.0),
        ),
        (
            "Lung_R",
            "ORGAN",
            [0, 160, 200],
            Prism(&[(60.0, 0.0, 48.0)], 0.0, 150.0),
        ),
        (
            "Lungs",
            "ORGAN",
            [0, 120, 200],
            Prism(&[(-60.0, 0.0, 45.0), (60.0, 0.0, 48.0)], 0.0, 150.0),
        ),
        (
            "Liver",
            "ORGAN",
            [150, 75, 0],
            Sphere([50.0, -20.0, -110.0], 60.0),
        ),
        (
            "Kidney_L",
            "ORGAN",
            [255, 200, 0],
            Sphere([-55.0, 45.0, -130.0], 25.0),
        ),
        (
            "Kidney_R",
            "ORGAN",
            [255, 160, 0],
            Sphere([55.0, 45.0, -130.0], 25.0),
        ),
        (
            "Stomach",
            "ORGAN",
            [255, 100, 100],
            Sphere([-45.0, -35.0, -95.0], 38.0),
        ),
        (
            "Bowel_Small",
            "ORGAN",
            [200, 150, 100],
            Sphere([0.0, -45.0, -150.0], 28.0),
        ),
        (
            "Trachea",
            "ORGAN",
            [100, 100, 255],
            Prism(&[(0.0, 10.0, 9.0)], 100.0, 175.0),
        ),
        (
            "GreatVes",
            "ORGAN",
            [255, 0, 0],
            Prism(&[(25.0, 25.0, 12.0)], -80.0, 120.0),
        ),
        (
            "Rib",
            "ORGAN",
            [220, 220, 180],
            Prism(&[(0.0, 0.0, 110.0), (0.0, 0.0, 100.0)], -60.0, 150.0),
        ),
        (
            "Skin",
            "ORGAN",
            [255, 220, 180],
            Prism(&[(0.0, 0.0, 115.0), (0.0, 0.0, 112.0)], -180.0, 180.0),
        ),
        (
            "BrachialPlex_L",
            "ORGAN",
            [255, 255, 0],
            Prism(&[(-70.0, 20.0, 6.0)], 120.0, 170.0),
        ),
        (
            "Femur_Head_L",
            "ORGAN",
            [180, 180, 255],
            Sphere([-80.0, 0.0, -165.0], 14.0),
        ),
    ]
};

/// The case called `name`.
pub fn case(name: &str) -> Option<Case> {
    Some(match name {
        "sphere_linear" => sphere_linear(),
        "small_sphere_steep" => small_sphere_steep(),
        "ring_hole" => ring_hole(),
        "two_islands" => two_islands(),
        "cylinder_z" => cylinder_z(),
        "trial_pass" => trial_pass(),
        "trial_cord_overdose" => trial_cord_overdose(),
        "trial_underdosed" => trial_underdosed(),
        "trial_outside_grid" => trial_outside_grid(),
        "rib_lesion" => rib_lesion(),
        CLINICAL_SIZE => clinical_size(),
        _ => return None,
    })
}

// ---- expected.json ----

#[derive(Debug, Serialize)]
pub struct Expected {
    pub case: &'static str,
    pub description: String,
    pub plan: PlanJson,
    pub expected_verdict: Option<&'static str>,
    /// The complete list of mandatory constraints the check fails (see [`Case::failures`]).
    pub expected_failures: Vec<&'static str>,
    /// The analytic dose: `linear`: D = base_gy + gradient_gy_per_mm · (p - origin_mm);
    /// `radial`: D = peak_gy · exp(-(|p - centre_mm|² / rho_mm²)^power) + lobe, lobe (if any)
    /// = peak_gy · exp(-((x-cx)² + (y-cy)²) / (2 sigma_xy_mm²) - (z-cz)² / (2 sigma_z_mm²)).
    pub dose_function: DoseField,
    pub dose_grid: GridJson,
    pub structures: Vec<StructureJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_grid: Option<OutsideGridJson>,
}

#[derive(Debug, Serialize)]
pub struct PlanJson {
    pub fractions: u32,
    pub prescriptions: Vec<RxJson>,
}

#[derive(Debug, Serialize)]
pub struct RxJson {
    pub roi: &'static str,
    pub total_gy: f64,
}

#[derive(Debug, Serialize)]
pub struct GridJson {
    pub rows: usize,
    pub columns: usize,
    pub frames: usize,
    /// [column (x), row (y), slice (z)].
    pub spacing_mm: [f64; 3],
    /// Centre of the first voxel.
    pub origin_mm: [f64; 3],
    pub bits_allocated: u16,
    pub dose_grid_scaling: f64,
    pub max_gy: f64,
}

/// Metrics under both end-cap conventions.
#[derive(Debug, Serialize)]
pub struct CapsMetrics {
    pub half: Metrics,
    pub none: Metrics,
}

#[derive(Debug, Serialize)]
pub struct StructureJson {
    pub name: &'static str,
    pub number: u32,
    pub kind: &'static str,
    pub contours: usize,
    pub planes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<CapsMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<CapsMetrics>,
    /// Exact D_x values on a plateau of V(≥D): [bottom, top] per end-cap model. Only present
    /// when there is one (two_islands: D50%); the metric itself reports the top.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ill_conditioned: Option<CapsPlateaus>,
}

/// Plateaus under both end-cap conventions.
#[derive(Debug, Serialize)]
pub struct CapsPlateaus {
    pub half: Plateaus,
    pub none: Plateaus,
}

#[derive(Debug, Serialize)]
pub struct OutsideGridJson {
    pub x_max_voxel_centre_mm: f64,
    pub x_max_voxel_edge_mm: f64,
    /// Per ROI: % of the slab-model volume with x beyond the last voxel centre / voxel edge.
    pub structures: Vec<OutsideRoiJson>,
}

#[derive(Debug, Serialize)]
pub struct OutsideRoiJson {
    pub name: &'static str,
    pub half: OutsidePct,
    pub none: OutsidePct,
}

#[derive(Debug, Serialize)]
pub struct OutsidePct {
    #[serde(rename = "beyond_last_voxel_centre_%")]
    pub beyond_centre_pct: f64,
    #[serde(rename = "beyond_grid_edge_%")]
    pub beyond_edge_pct: f64,
}

/// The expected answers of a case, given its quantized dose.
pub fn expected(case: &Case, dose: &DoseVolume) -> Expected {
    let name_of = |n: u32| {
        case.structures
            .iter()
            .find(|s| s.number == n)
            .map_or("?", |s| s.name)
    };
    let structures = case
        .structures
        .iter()
        .map(|s| {
            let (exact, reference, ill_conditioned) = answers(case, s);
            StructureJson {
                name: s.name,
                number: s.number,
                kind: s.kind,
                contours: s.contour_count(),
                planes: s.planes.len(),
                exact,
                reference,
                ill_conditioned,
            }
        })
        .collect();
    let g = &case.grid;
    Expected {
        case: case.name,
        description: case.description.clone(),
        plan: PlanJson {
            fractions: case.fractions,
            prescriptions: case
                .prescriptions
                .iter()
                .map(|p| RxJson {
                    roi: name_of(p.roi_number),
                    total_gy: p.total_gy,
                })
                .collect(),
        },
        expected_verdict: case.verdict,
        expected_failures: case.failures.clone(),
        dose_function: case.field,
        dose_grid: GridJson {
            rows: g.dims[1],
            columns: g.dims[0],
            frames: g.dims[2],
            spacing_mm: g.spacing,
            origin_mm: g.origin,
            bits_allocated: dose.bits,
            dose_grid_scaling: dose.scaling,
            max_gy: dose.max_gy(),
        },
        structures,
        outside_grid: (case.name == "trial_outside_grid").then(|| outside_grid(case)),
    }
}

/// One ROI of a case -> its exact metrics (linear field: both end caps, and the plateaus
/// that make some ill-conditioned), or its reference metrics (other fields; none for an
/// ROI without a sampling, as in the benchmark phantom).
fn answers(
    case: &Case,
    s: &Structure,
) -> (
    Option<CapsMetrics>,
    Option<CapsMetrics>,
    Option<CapsPlateaus>,
) {
    match &case.answers {
        Answers::Exact { v_gy } => {
            let DoseField::Linear(f) = &case.field else {
                unreachable!("exact answers need a linear field")
            };
            let (half, half_p) = exact_metrics_with_plateaus(s, f, Caps::Half, v_gy);
            let (none, none_p) = exact_metrics_with_plateaus(s, f, Caps::None, v_gy);
            let plateaus = (!half_p.0.is_empty() || !none_p.0.is_empty()).then_some(CapsPlateaus {
                half: half_p,
                none: none_p,
            });
            (Some(CapsMetrics { half, none }), None, plateaus)
        }
        Answers::Reference { rois } => match rois.iter().find(|(n, _, _)| *n == s.name) {
            Some((_, samp, v)) => {
                let [half, none] = reference_metrics(s, &case.field, *samp, v);
                (None, Some(CapsMetrics { half, none }), None)
            }
            None => (None, None, None),
        },
    }
}

/// A case's grid and ROIs -> how much of each ROI lies beyond the grid's last voxel centre
/// and edge in x (the case with a target partly outside the grid).
fn outside_grid(case: &Case) -> OutsideGridJson {
    let g = &case.grid;
    let x_centre = g.origin[0] + (g.dims[0] - 1) as f64 * g.spacing[0];
    let x_edge = x_centre + 0.5 * g.spacing[0];
    OutsideGridJson {
        x_max_voxel_centre_mm: x_centre,
        x_max_voxel_edge_mm: x_edge,
        structures: case
            .structures
            .iter()
            .map(|s| {
                let pct = |caps| OutsidePct {
                    beyond_centre_pct: 100.0 * fraction_beyond_x(s, caps, x_centre),
                    beyond_edge_pct: 100.0 * fraction_beyond_x(s, caps, x_edge),
                };
                OutsideRoiJson {
                    name: s.name,
                    half: pct(Caps::Half),
                    none: pct(Caps::None),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference metrics (half caps) of one ROI of a case, sampled coarsely for speed.
    fn metrics(case: &Case, roi: &str) -> Metrics {
        let s = case.structures.iter().find(|s| s.name == roi).unwrap();
        let h = Sampling {
            h_xy: 0.25,
            h_z: 0.25,
        };
        let [half, _] = reference_metrics(s, &case.field, h, &[30.0, 35.0]);
        half
    }

    fn get(m: &Metrics, key: &str) -> f64 {
        m.get(key).unwrap()
    }

    #[test]
    fn names_and_lookup_agree() {
        for name in CASE_NAMES {
            let c = case(name).unwrap();
            assert_eq!(c.name, name);
            let mut numbers: Vec<u32> = c.structures.iter().map(|s| s.number).collect();
            numbers.dedup();
            assert_eq!(numbers.len(), c.structures.len());
            for p in &c.prescriptions {
                assert!(c.structures.iter().any(|s| s.number == p.roi_number));
            }
            assert_eq!(
                c.verdict.is_none(),
                matches!(c.answers, Answers::Exact { .. })
            );
        }
        assert!(case("Sphere_Linear").is_none());
    }

    #[test]
    fn analytic_grids_cover_structures_and_dose_is_non_negative() {
        for name in CASE_NAMES {
            let c = case(name).unwrap();
            let g = &c.grid;
            let hi = |a: usize| g.origin[a] + (g.dims[a] - 1) as f64 * g.spacing[a];
            let covered = |p: [f64; 3]| (0..3).all(|a| p[a] >= g.origin[a] && p[a] <= hi(a));
            for s in &c.structures {
                let sl = super::super::exact::slabs(&s.planes, Caps::Half);
                for (p, (lo, top)) in s.planes.iter().zip(sl) {
                    for &[x, y] in p.polygons.iter().flatten() {
                        let inside = covered([x, y, lo]) && covered([x, y, top]);
                        if name == "trial_outside_grid" && x > CROPPED_X_MAX {
                            assert!(!inside);
                        } else {
                            assert!(
                                inside,
                                "{name}/{}: ({x},{y},{lo}..{top}) outside grid",
                                s.name
                            );
                        }
                    }
                }
            }
            // the dose is non-negative on the grid corners (linear) / everywhere (radial)
            for k in [0, g.dims[2] - 1] {
                for j in [0, g.dims[1] - 1] {
                    for i in [0, g.dims[0] - 1] {
                        assert!(c.field.at(g.centre(i, j, k)) >= 0.0, "{name}");
                    }
                }
            }
        }
    }

    #[test]
    fn trial_pass_meets_the_protocol() {
        let c = case("trial_pass").unwrap();
        let (ptv, pgtv, cord) = (
            metrics(&c, "PTV"),
            metrics(&c, "PGTV"),
            metrics(&c, "SpinalCord"),
        );
        assert!(get(&ptv, "V30Gy_%") >= 98.0);
        assert!(get(&pgtv, "V35Gy_%") >= 98.0);
        assert!(get(&ptv, "min_gy") >= 31.5);
        let plateau = (get(&pgtv, "min_gy"), get(&pgtv, "max_gy"));
        assert!(plateau.0 > 36.0 && plateau.1 < 37.0, "{plateau:?}");
        assert!(get(&metrics(&c, "BODY"), "max_gy") <= 38.0);
        assert!(get(&cord, "max_gy") < 15.0);
        assert!(get(&cord, "D0.35cc") < 15.0);
    }

    #[test]
    fn trial_cord_overdose_fails_only_the_cord() {
        let c = case("trial_cord_overdose").unwrap();
        let (ptv, pgtv, cord) = (
            metrics(&c, "PTV"),
            metrics(&c, "PGTV"),
            metrics(&c, "SpinalCord"),
        );
        assert!(get(&ptv, "V30Gy_%") >= 98.0);
        assert!(get(&pgtv, "V35Gy_%") >= 98.0);
        let dmax = get(&cord, "max_gy");
        let d035 = get(&cord, "D0.35cc");
        assert!((31.5..=32.5).contains(&dmax), "{dmax}");
        assert!((27.5..=28.5).contains(&d035), "{d035}");
        assert!(get(&metrics(&c, "BODY"), "max_gy") <= 38.0);
    }

    #[test]
    fn trial_underdosed_fails_the_targets_only() {
        let c = case("trial_underdosed").unwrap();
        let (ptv, pgtv, cord) = (
            metrics(&c, "PTV"),
            metrics(&c, "PGTV"),
            metrics(&c, "SpinalCord"),
        );
        let v30 = get(&ptv, "V30Gy_%");
        let v35 = get(&pgtv, "V35Gy_%");
        assert!((65.0..=75.0).contains(&v30), "{v30}");
        assert!((25.0..=35.0).contains(&v35), "{v35}");
        assert!(get(&cord, "max_gy") < 25.0);
        assert!(get(&cord, "D0.35cc") < 20.0);
    }

    #[test]
    fn rib_lesion_overdoses_the_rib_only_inside_the_targets() {
        let c = case("rib_lesion").unwrap();
        let (ptv, pgtv) = (metrics(&c, "PTV"), metrics(&c, "PGTV"));
        assert!(get(&ptv, "V30Gy_%") >= 98.0);
        assert!(get(&pgtv, "V35Gy_%") >= 98.0);
        // The whole rib gets 35 Gy in several cc (TG-101: < 1 cc), all of it inside the
        // PTV: the 35 Gy isodose (r = 10.5 mm) lies inside the PTV (r = 12 mm) with the
        // slab model's steps (the dose at 11 mm from the centre is below 35 Gy).
        let rib = metrics(&c, "Rib");
        let rib_v35_cc = get(&rib, "V35Gy_%") / 100.0 * get(&rib, "volume_cc");
        assert!((3.0..6.0).contains(&rib_v35_cc), "{rib_v35_cc}");
        let at = |r: f64| c.field.at([0.0, 65.0 + r, 0.0]);
        assert!(at(10.0) > 35.0 && at(11.0) < 35.0);
        assert!(get(&rib, "max_gy") < 43.0);
    }

    #[test]
    fn trial_outside_grid_crops_a_fifth_of_the_ptv() {
        let c = case("trial_outside_grid").unwrap();
        assert_eq!(c.grid.dims, [38, 69, 43]);
        let ptv = &c.structures[0];
        let beyond_centre = fraction_beyond_x(ptv, Caps::Half, CROPPED_X_MAX);
        let beyond_edge = fraction_beyond_x(ptv, Caps::Half, CROPPED_X_MAX + 1.25);
        assert!((0.15..=0.25).contains(&beyond_centre), "{beyond_centre}");
        assert!((0.15..=0.25).contains(&beyond_edge), "{beyond_edge}");
        assert!(beyond_edge < beyond_centre);
        assert_eq!(c.field, PASS_FIELD);
    }
}
