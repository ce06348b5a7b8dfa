//! One ROI on one dose grid -> weighted dose samples `(dose, volume cc)`.
//!
//! **Slab model** ([`super::topology`]). Each contour plane stands for the slab between its
//! boundaries with the previous and the next plane (placed by [`super::topology::Between`]),
//! wherever the structure's piece continues there; gaps wider than 1.5x the usual plane spacing are left empty. End caps ([`EndCap`]):
//! `Half` extends every end of every piece by half its neighbour gap; `None` stops it at its
//! end plane.
//!
//! **In plane**, the plane's region (even-odd for nested contours, union for crossing ones) is rasterized onto a lattice of sub-cells, `s` per
//! dose voxel in x and y, aligned with the dose grid; each sub-cell's weight is its exact
//! covered area ([`super::coverage`]). **In z**, each slab is cut into equal sub-slabs
//! about the dose slice spacing / `s` thick (the nearest whole number of them, at least one). A sample sits at the centre of a sub-cell (for a
//! partly covered sub-cell, at the centroid of its covered part, so that its dose is one
//! from inside the contour) and of a sub-slab; its dose is the trilinear interpolation of the dose grid there (never the
//! nearest voxel). `s` is chosen per ROI so that small ROIs get at least
//! [`SamplingOptions::min_samples`] samples.
//!
//! The dose grid covers its voxels' cells: half a voxel beyond the outermost voxel centres
//! (in z, half the outermost frame gap); there the dose is the outermost voxel's, never
//! extrapolated. Sub-cells are aligned with the voxel cells and slabs are split at the
//! grid's z boundary, so the volume outside the grid is measured exactly; it carries no dose
//! and is counted in [`RoiSamples::outside_cc`]. Volume, dose and extremes come from the
//! same samples; Dmin and Dmax also look at the dose at the vertices of the solid (contour
//! vertices on their plane and on both faces of their slab).

use rayon::prelude::*;

use super::coverage::{Cells, Coverage, EMPTY};
use super::difference::difference;
use super::topology::{xy, Between, EndCap, Solid};
use crate::dicom::{DoseGrid, Roi};
use crate::geometry::polygon;
use crate::geometry::GridGeometry;

/// Sampling choices (defaults give sub-percent volume and dose accuracy).
#[derive(Debug, Clone, Copy)]
pub struct SamplingOptions {
    pub end_cap: EndCap,
    /// How the gap between two contour planes is shared between their slabs.
    pub between: Between,
    /// Supersampling grows until the ROI has about this many samples.
    pub min_samples: usize,
    /// Largest in-plane supersampling factor.
    pub max_factor: usize,
    /// A fixed supersampling factor instead of the one `min_samples` gives.
    pub factor: Option<usize>,
    /// Sample only inside this window of the grid; the rest of the ROI counts as outside.
    pub window: Option<Window>,
}

/// A box of the dose grid: fractional voxel indices `[lo, hi]` in x (columns) and y (rows),
/// and patient z (mm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub i: (f64, f64),
    pub j: (f64, f64),
    pub z_mm: (f64, f64),
}

impl Default for SamplingOptions {
    fn default() -> Self {
        SamplingOptions {
            end_cap: EndCap::Half,
            between: Between::Profile,
            min_samples: 200_000,
            max_factor: 16,
            factor: None,
            window: None,
        }
    }
}

/// The samples of one ROI.
#[derive(Debug, Clone, Default)]
pub struct RoiSamples {
    /// The samples inside the dose grid, one chunk per contour plane in z order: dose (unit
    /// of the grid, Gy for GY doses) and volume (cc).
    pub samples: Vec<Vec<Sample>>,
    /// Slab-model volume of the whole ROI, cc (inside + outside the dose grid).
    pub total_cc: f64,
    /// Volume outside the dose grid, cc.
    pub outside_cc: f64,
    /// Lowest and highest dose at the solid's vertices inside the grid.
    pub vertex_min: Option<f64>,
    pub vertex_max: Option<f64>,
    /// In-plane supersampling factor used.
    pub factor: usize,
    pub planes: usize,
    pub warnings: Vec<String>,
    /// Problems that leave part of the solid unknown ([`super::topology::Solid::defects`]).
    pub defects: Vec<String>,
    /// Part of `total_cc` the end caps add ([`super::topology::Solid::end_cap_mm3`]), cc.
    pub end_cap_cc: f64,
}

impl RoiSamples {
    /// Number of samples inside the dose grid.
    pub fn len(&self) -> usize {
        self.samples.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.iter().all(Vec::is_empty)
    }

    /// All samples, in plane order.
    pub fn iter(&self) -> impl Iterator<Item = Sample> + '_ {
        self.samples.iter().flatten().copied()
    }
}

/// One dose sample: a dose (the grid's unit, Gy for GY doses) and the volume it stands for,
/// at f32 precision (the dose grid's own).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    dose: f32,
    volume_cc: f32,
}

impl Sample {
    pub fn new(dose: f64, volume_cc: f64) -> Self {
        Sample {
            dose: dose as f32,
            volume_cc: volume_cc as f32,
        }
    }

    pub fn dose(self) -> f64 {
        f64::from(self.dose)
    }

    pub fn volume_cc(self) -> f64 {
        f64::from(self.volume_cc)
    }

    /// The dose as stored.
    pub fn dose_f32(self) -> f32 {
        self.dose
    }

    /// The volume as stored, cc.
    pub fn volume_cc_f32(self) -> f32 {
        self.volume_cc
    }
}

pub use super::topology::Slab;

/// Trilinear interpolation of the grid at fractional indices (each within `[0, n-1]`).
#[inline]
fn trilinear(d: &ndarray::Array3<f32>, i: f64, j: f64, k: f64) -> f64 {
    let (nk, nj, ni) = d.dim();
    let values = d.as_slice().expect("dose values are in standard layout");
    trilinear_split(
        values,
        (nj, ni),
        split_pair(i, ni),
        split_pair(j, nj),
        split_pair(k, nk),
    )
}

/// A fractional index in `[0, n-1]` as the two indices around it and the second's weight.
#[inline]
fn split_pair(x: f64, n: usize) -> (usize, usize, f64) {
    let (x0, fx) = split_index(x, n);
    (x0, (x0 + 1).min(n - 1), fx)
}

/// Trilinear interpolation of `values` (frames x `nj` rows x `ni` columns) between the
/// given index pairs: x first, then y, then z.
#[inline]
fn trilinear_split(
    values: &[f32],
    shape: (usize, usize),
    si: (usize, usize, f64),
    sj: (usize, usize, f64),
    (k0, k1, fk): (usize, usize, f64),
) -> f64 {
    let (c0, c1) = bilinear_pair(values, shape, si, sj, (k0, k1));
    c0 * (1.0 - fk) + c1 * fk
}

/// The in-plane (bilinear) part of [`trilinear_split`]: the values on frames `k0` and `k1`.
#[inline]
fn bilinear_pair(
    values: &[f32],
    (nj, ni): (usize, usize),
    (i0, i1, fi): (usize, usize, f64),
    (j0, j1, fj): (usize, usize, f64),
    (k0, k1): (usize, usize),
) -> (f64, f64) {
    let v = |k: usize, j: usize, i: usize| f64::from(values[(k * nj + j) * ni + i]);
    let c00 = v(k0, j0, i0) * (1.0 - fi) + v(k0, j0, i1) * fi;
    let c01 = v(k0, j1, i0) * (1.0 - fi) + v(k0, j1, i1) * fi;
    let c10 = v(k1, j0, i0) * (1.0 - fi) + v(k1, j0, i1) * fi;
    let c11 = v(k1, j1, i0) * (1.0 - fi) + v(k1, j1, i1) * fi;
    (c00 * (1.0 - fj) + c01 * fj, c10 * (1.0 - fj) + c11 * fj)
}

/// Tolerance, in voxel index units, for a point on the grid's boundary to count as inside.
const INDEX_TOLERANCE: f64 = 1e-9;

/// True when index `x` is inside the cells of `n` voxels, `[-0.5, n - 0.5]`.
fn in_cells(x: f64, n: usize) -> bool {
    x >= -0.5 - INDEX_TOLERANCE && x <= n as f64 - 0.5 + INDEX_TOLERANCE
}

/// Clamps an index inside the cells to the voxel-centre range (no extrapolation).
fn clamp_index(x: f64, n: usize) -> f64 {
    x.clamp(0.0, (n - 1) as f64)
}

/// Dose at a patient point, `None` outside the grid's cells.
pub fn dose_at(dose: &DoseGrid, p: [f64; 3]) -> Option<f64> {
    let g = &dose.geometry;
    let (i, j) = (g.i_of(p[0]), g.j_of(p[1]));
    let k = g.k_of_in_cells(p[2])?;
    (in_cells(i, g.columns) && in_cells(j, g.rows)).then(|| {
        trilinear(
            &dose.values,
            clamp_index(i, g.columns),
            clamp_index(j, g.rows),
            k,
        )
    })
}

fn slice_spacing_mm(g: &GridGeometry) -> f64 {
    g.uniform_slice_spacing_mm().unwrap_or_else(|| {
        if g.frames > 1 {
            (g.frame_z_mm[g.frames - 1] - g.frame_z_mm[0]).abs() / (g.frames - 1) as f64
        } else {
            g.row_spacing_mm.min(g.column_spacing_mm)
        }
    })
}

/// Samples one ROI on the dose grid.
pub fn sample_roi(roi: &Roi, dose: &DoseGrid, opts: &SamplingOptions) -> RoiSamples {
    sample_solid(roi_solid(roi, dose, opts), dose, opts)
}

/// Samples an organ minus targets on the dose grid: the solid of [`difference`] (exact on
/// the slab models), sampled as an ROI's. The targets' own defects are not included (their
/// DVHs report them).
pub fn sample_difference(
    organ: &Roi,
    targets: &[&Roi],
    dose: &DoseGrid,
    opts: &SamplingOptions,
) -> RoiSamples {
    let target_solids: Vec<Solid> = targets.iter().map(|t| roi_solid(t, dose, opts)).collect();
    let refs: Vec<&Solid> = target_solids.iter().collect();
    let solid = difference(&roi_solid(organ, dose, opts), &refs);
    sample_solid(solid, dose, opts)
}

/// The solid of an ROI on this dose grid (a single plane is as thick as a dose slice).
fn roi_solid(roi: &Roi, dose: &DoseGrid, opts: &SamplingOptions) -> Solid {
    super::topology::solid(
        roi,
        opts.end_cap,
        opts.between,
        slice_spacing_mm(&dose.geometry),
    )
}

/// Samples the slabs of a solid on the dose grid.
fn sample_solid(solid: Solid, dose: &DoseGrid, opts: &SamplingOptions) -> RoiSamples {
    let g = &dose.geometry;
    let dz = slice_spacing_mm(g);
    let (slabs, warnings) = (solid.slabs, solid.warnings);
    if slabs.is_empty() {
        return RoiSamples {
            warnings,
            defects: solid.defects,
            ..Default::default()
        };
    }
    // Exact volume first: it decides the supersampling factor.
    let total_cc: f64 = slabs
        .iter()
        .map(|s| s.area_mm2() * (s.z_hi_mm - s.z_lo_mm) / 1000.0)
        .sum();
    let voxels = total_cc / voxel_cc(g, dz);
    let factor = supersampling(voxels, opts);

    // One coverage raster per rayon job, reused from slab to slab.
    let per_slab: Vec<SlabSamples> = slabs
        .par_iter()
        .map_init(Coverage::default, |cov, s| {
            sample_slab(s, dose, factor, dz, opts.window, cov)
        })
        .collect();

    let mut out = RoiSamples {
        total_cc,
        end_cap_cc: solid.end_cap_mm3 / 1000.0,
        factor,
        planes: solid.planes,
        warnings,
        defects: solid.defects,
        ..Default::default()
    };
    out.samples.reserve(per_slab.len());
    for s in per_slab {
        out.samples.push(s.samples);
        out.outside_cc += s.outside_cc;
        if let Some((lo, hi)) = s.vertex_range {
            out.vertex_min = Some(out.vertex_min.map_or(lo, |m: f64| m.min(lo)));
            out.vertex_max = Some(out.vertex_max.map_or(hi, |m: f64| m.max(hi)));
        }
    }
    out
}

/// Volume of a voxel of the sampling grid, cc.
fn voxel_cc(g: &GridGeometry, dz: f64) -> f64 {
    g.column_spacing_mm * g.row_spacing_mm * dz / 1000.0
}

/// The in-plane supersampling factor of an ROI of `voxels` dose voxels.
fn supersampling(voxels: f64, opts: &SamplingOptions) -> usize {
    // Rounded, not ceiled: the sample count stays within about 0.3-2.4x of the target.
    opts.factor.unwrap_or_else(|| {
        ((opts.min_samples as f64 / voxels.max(1e-9)).cbrt().round() as usize)
            .clamp(1, opts.max_factor)
    })
}

/// What sampling one contour vertex costs, in samples: its edge through the coverage
/// lattice, its doses for Dmin/Dmax and the self-intersection check (a vertex costs about
/// as much as a dozen samples).
const VERTEX_COST_IN_SAMPLES: f64 = 12.0;

/// About what computing an ROI's DVH takes ([`estimate`]).
#[derive(Debug, Clone, Copy)]
pub struct Estimate {
    /// The samples [`sample_roi`] will take (within about a factor 2).
    pub samples: f64,
    /// The contours' vertices.
    pub vertices: usize,
}

impl Estimate {
    /// What computing the DVH costs, in samples: its samples and its vertices
    /// ([`VERTEX_COST_IN_SAMPLES`]). A scheduling estimate: the lung's 20,000 vertices cost
    /// it more than its 124,000 samples do.
    pub fn cost(&self) -> f64 {
        self.samples + VERTEX_COST_IN_SAMPLES * self.vertices as f64
    }
}

/// About what computing `roi`'s DVH takes: the samples [`sample_roi`] will take (its
/// contours' areas, nesting ignored, and the factor its volume gives) and its vertices.
pub fn estimate(roi: &Roi, dose: &DoseGrid, opts: &SamplingOptions) -> Estimate {
    let dz = slice_spacing_mm(&dose.geometry);
    let planes = roi.planes();
    let contours = || {
        planes
            .iter()
            .flat_map(|p| &p.contours)
            .map(|&c| &roi.contours[c])
    };
    let area_mm2: f64 = contours().map(|c| polygon::signed_area(&xy(c)).abs()).sum();
    let vertices: usize = contours().map(|c| c.points_mm.len()).sum();
    let voxels = area_mm2 * dz / 1000.0 / voxel_cc(&dose.geometry, dz);
    // `factor` sub-cells a voxel in x, y and z.
    let factor = supersampling(voxels, opts) as f64;
    Estimate {
        samples: voxels * factor.powi(3),
        vertices,
    }
}

/// The samples of one slab.
struct SlabSamples {
    samples: Vec<Sample>,
    outside_cc: f64,
    /// Lowest and highest dose at the slab's vertices inside the grid.
    vertex_range: Option<(f64, f64)>,
}

/// One slab of the solid -> its samples, its volume outside the grid and its vertex dose
/// range: a lattice placed over its contours, their coverage of the lattice's cells, the
/// sub-slabs in z, then one pass over the covered cells.
fn sample_slab(
    s: &Slab,
    dose: &DoseGrid,
    factor: usize,
    dz: f64,
    window: Option<Window>,
    cov: &mut Coverage,
) -> SlabSamples {
    let g = &dose.geometry;
    let (lattice, contours) = Lattice::place(s, g, factor as f64, window);
    let cells = lattice.coverage(&contours, &s.signs, cov);
    let z = SubSlabs::new(s, g, dz, lattice.f, window);
    let swept = sample_cells(&cells, &lattice, &z, dose);
    let mut outside_cc = swept.outside_cc;
    if lattice.clipped {
        // The area of the contours beyond the lattice is outside the grid.
        let beyond_mm2 = (s.area_mm2() - swept.lattice_area_mm2).max(0.0);
        outside_cc += beyond_mm2 * z.thickness_mm / 1000.0;
    }
    SlabSamples {
        samples: swept.samples,
        outside_cc,
        vertex_range: vertex_range(s, dose),
    }
}

/// The lattice of sub-cells, `f` per dose voxel in x and y and aligned with the voxel cells,
/// that one slab is rasterized on. Lattice coordinate u of voxel index i is
/// `(i + 0.5) * f - u0` (v of j likewise), so cell `a` spans the voxel indices
/// `[(a + u0) / f - 0.5, (a + 1 + u0) / f - 0.5)`.
struct Lattice {
    f: f64,
    u0: f64,
    v0: f64,
    width: usize,
    height: usize,
    /// The contours reach beyond the lattice's limits and were cut to them.
    clipped: bool,
}

impl Lattice {
    /// A slab's contours -> the lattice over their bounding box (cut to [`lattice_limits`])
    /// and the contours in lattice coordinates, cut to the lattice when they reach beyond it.
    fn place(
        s: &Slab,
        g: &GridGeometry,
        f: f64,
        window: Option<Window>,
    ) -> (Lattice, Vec<Vec<[f64; 2]>>) {
        let to_uv = |p: &[f64; 2]| [(g.i_of(p[0]) + 0.5) * f, (g.j_of(p[1]) + 0.5) * f];
        let uv: Vec<Vec<[f64; 2]>> = s
            .polygons
            .iter()
            .map(|p| p.iter().map(to_uv).collect())
            .collect();
        let (umin, vmin, umax, vmax) = bounding_box(&uv);
        let (ulo, uhi, vlo, vhi) = lattice_limits(g, f, window);
        let clipped = umin < ulo || vmin < vlo || umax > uhi || vmax > vhi;
        let (umin, umax) = (umin.clamp(ulo, uhi), umax.clamp(ulo, uhi));
        let (vmin, vmax) = (vmin.clamp(vlo, vhi), vmax.clamp(vlo, vhi));
        let u0 = umin.floor() - 1.0;
        let v0 = vmin.floor() - 1.0;
        let lattice = Lattice {
            f,
            u0,
            v0,
            width: (umax - u0).ceil() as usize + 2,
            height: (vmax - v0).ceil() as usize + 2,
            clipped,
        };
        let shifted = uv
            .iter()
            .map(|p| {
                let q: Vec<[f64; 2]> = p.iter().map(|q| [q[0] - u0, q[1] - v0]).collect();
                if clipped {
                    polygon::clip_to_rect(&q, umax - u0, vmax - v0)
                } else {
                    q
                }
            })
            .collect();
        (lattice, shifted)
    }

    /// Contours in lattice coordinates and their signs -> each lattice cell's covered
    /// fraction and the centroid of its covered part.
    fn coverage<'c>(
        &self,
        contours: &[Vec<[f64; 2]>],
        signs: &[f64],
        cov: &'c mut Coverage,
    ) -> Cells<'c> {
        cov.reset(self.width, self.height);
        for (p, &sign) in contours.iter().zip(signs) {
            cov.add_contour(p, sign);
        }
        cov.finish()
    }

    /// The point at `x` (in `[0, 1]`) across lattice column `a` -> its fractional voxel
    /// index i.
    #[inline]
    fn i_at(&self, a: usize, x: f64) -> f64 {
        (a as f64 + x + self.u0) / self.f - 0.5
    }

    /// The point at `y` (in `[0, 1]`) across lattice row `b` -> its fractional voxel index j.
    #[inline]
    fn j_at(&self, b: usize, y: f64) -> f64 {
        (b as f64 + y + self.v0) / self.f - 0.5
    }
}

/// Points -> their bounding box `(umin, vmin, umax, vmax)`.
fn bounding_box(polygons: &[Vec<[f64; 2]>]) -> (f64, f64, f64, f64) {
    let (mut umin, mut vmin, mut umax, mut vmax) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for q in polygons.iter().flatten() {
        umin = umin.min(q[0]);
        vmin = vmin.min(q[1]);
        umax = umax.max(q[0]);
        vmax = vmax.max(q[1]);
    }
    (umin, vmin, umax, vmax)
}

/// The grid's cells, narrowed to the window, and a margin -> the limits `(ulo, uhi, vlo,
/// vhi)` of any lattice, in lattice units before its shift. What lies beyond cannot be
/// sampled, and a contour far outside (or absurdly large) must not size the lattice (it
/// once asked for 320 GB); the area beyond is added to the outside volume exactly.
fn lattice_limits(g: &GridGeometry, f: f64, window: Option<Window>) -> (f64, f64, f64, f64) {
    let (mut ulo, mut uhi) = (-LATTICE_MARGIN, g.columns as f64 * f + LATTICE_MARGIN);
    let (mut vlo, mut vhi) = (-LATTICE_MARGIN, g.rows as f64 * f + LATTICE_MARGIN);
    if let Some(w) = window {
        // Lattice u of voxel index i is (i + 0.5) * f.
        ulo = ulo.max((w.i.0.min(w.i.1) + 0.5) * f - LATTICE_MARGIN);
        uhi = uhi.min((w.i.0.max(w.i.1) + 0.5) * f + LATTICE_MARGIN);
        vlo = vlo.max((w.j.0.min(w.j.1) + 0.5) * f - LATTICE_MARGIN);
        vhi = vhi.min((w.j.0.max(w.j.1) + 0.5) * f + LATTICE_MARGIN);
    }
    (ulo, uhi, vlo, vhi)
}

/// A slab cut in z into equal sub-slabs about the dose slice spacing / `f` thick (the
/// nearest whole number of them, at least one), within the grid's z cells (and the window); the rest of the slab is outside the grid.
struct SubSlabs {
    /// Each sub-slab's centre as a fractional frame index.
    ks: Vec<f64>,
    /// Thickness of one sub-slab, mm.
    sub_mm: f64,
    /// Thickness of the whole slab, mm.
    thickness_mm: f64,
    /// Thickness of the part of the slab outside the grid's z cells (or the window), mm.
    outside_mm: f64,
}

impl SubSlabs {
    /// A slab's z extent, the slice spacing `dz` and the factor `f` -> its sub-slabs.
    fn new(s: &Slab, g: &GridGeometry, dz: f64, f: f64, window: Option<Window>) -> SubSlabs {
        let thickness_mm = s.z_hi_mm - s.z_lo_mm;
        let (mut zc_lo, mut zc_hi) = g.z_cells_mm();
        if let Some(w) = window {
            zc_lo = zc_lo.max(w.z_mm.0.min(w.z_mm.1));
            zc_hi = zc_hi.min(w.z_mm.0.max(w.z_mm.1));
        }
        let (in_lo, in_hi) = (s.z_lo_mm.max(zc_lo), s.z_hi_mm.min(zc_hi));
        let inside_mm = (in_hi - in_lo).max(0.0);
        let nz = if inside_mm > 0.0 {
            ((inside_mm / (dz / f)).round() as usize).max(1)
        } else {
            0
        };
        let sub_mm = if nz > 0 { inside_mm / nz as f64 } else { 0.0 };
        SubSlabs {
            ks: (0..nz)
                .filter_map(|m| g.k_of_in_cells(in_lo + (m as f64 + 0.5) * sub_mm))
                .collect(),
            sub_mm,
            thickness_mm,
            outside_mm: thickness_mm - inside_mm,
        }
    }
}

/// What one pass over a slab's covered cells gives.
struct CellSamples {
    samples: Vec<Sample>,
    /// Volume of the covered cells outside the grid (in-plane or in z), cc.
    outside_cc: f64,
    /// Covered area of the lattice, mm^2.
    lattice_area_mm2: f64,
}

/// The covered cells of a slab's lattice and its sub-slabs -> one sample per covered cell
/// inside the grid and sub-slab (a full cell's dose at its centre, a partly covered cell's
/// at the centroid of its covered part, so that the dose is one from inside the contour)
/// and the volume of the cells outside the grid.
fn sample_cells(cells: &Cells, lattice: &Lattice, z: &SubSlabs, dose: &DoseGrid) -> CellSamples {
    let g = &dose.geometry;
    let f = lattice.f;
    let (_, nj, ni) = dose.values.dim();
    let sub_area_mm2 = (g.column_spacing_mm / f) * (g.row_spacing_mm / f);
    let cell_cc = sub_area_mm2 * z.sub_mm / 1000.0;
    let outside_cell_cc = sub_area_mm2 * z.outside_mm / 1000.0;
    let mut out = CellSamples {
        samples: Vec::with_capacity(cells.covered() * z.ks.len()),
        outside_cc: 0.0,
        lattice_area_mm2: 0.0,
    };
    let mut cell_dose = CellDose::new(dose, &z.ks);
    // Voxel columns and weights of the lattice columns, the same for every row.
    let columns: Vec<Option<(usize, usize, f64)>> = (0..lattice.width)
        .map(|a| {
            let i = lattice.i_at(a, 0.5);
            in_cells(i, g.columns).then(|| split_pair(clamp_index(i, g.columns), ni))
        })
        .collect();
    for b in 0..lattice.height {
        let j = lattice.j_at(b, 0.5);
        let j_in = in_cells(j, g.rows);
        let row = split_pair(clamp_index(j, g.rows), nj);
        for (a, (c, column)) in cells.row(b).zip(&columns).enumerate() {
            let c = c.clamp(0.0, 1.0);
            if c <= EMPTY {
                continue;
            }
            out.lattice_area_mm2 += c * sub_area_mm2;
            let Some(centre_column) = column.filter(|_| j_in) else {
                out.outside_cc += c * (cell_cc * z.ks.len() as f64 + outside_cell_cc);
                continue;
            };
            out.outside_cc += c * outside_cell_cc;
            let (si, sj) = if c < 1.0 - BOUNDARY_TOLERANCE {
                let [cx, cy] = cells.centroid(a, b);
                (
                    split_pair(clamp_index(lattice.i_at(a, cx), g.columns), ni),
                    split_pair(clamp_index(lattice.j_at(b, cy), g.rows), nj),
                )
            } else {
                (centre_column, row)
            };
            cell_dose.push(si, sj, c * cell_cc, &mut out.samples);
        }
    }
    out
}

/// A cell's dose on each sub-slab of one slab: trilinear interpolation, factored. The
/// in-plane weights of a cell are shared by all its sub-slabs, each sub-slab's pair of
/// frames is fixed for the slab, and a cell's in-plane value on each frame is computed once,
/// not once per sub-slab.
struct CellDose<'a> {
    values: &'a [f32],
    ni: usize,
    /// Each sub-slab's two frames (offsets of their first value) and the second's weight.
    frames: Vec<(usize, usize, f64)>,
    /// The distinct frames (offsets) the sub-slabs read: a few, as sub-slabs between the
    /// same two frames share them.
    distinct: Vec<usize>,
    /// Each sub-slab's two frames as indices into `distinct`, and the second's weight.
    pairs: Vec<(usize, usize, f64)>,
    /// The current cell's in-plane value on each distinct frame (reused from cell to cell).
    on_frame: Vec<f64>,
}

impl<'a> CellDose<'a> {
    /// The dose grid and the sub-slabs' fractional frame indices -> their frames.
    fn new(dose: &'a DoseGrid, ks: &[f64]) -> Self {
        let (nk, nj, ni) = dose.values.dim();
        let values = dose
            .values
            .as_slice()
            .expect("dose values are in standard layout");
        let frames: Vec<(usize, usize, f64)> = ks
            .iter()
            .map(|&k| {
                let (k0, k1, fk) = split_pair(k, nk);
                (k0 * nj * ni, k1 * nj * ni, fk)
            })
            .collect();
        let mut distinct: Vec<usize> = Vec::new();
        let mut index_of = |f: usize| {
            distinct.iter().position(|&g| g == f).unwrap_or_else(|| {
                distinct.push(f);
                distinct.len() - 1
            })
        };
        let pairs: Vec<(usize, usize, f64)> = frames
            .iter()
            .map(|&(f0, f1, fk)| {
                let a = index_of(f0);
                (a, if fk == 0.0 { a } else { index_of(f1) }, fk)
            })
            .collect();
        let on_frame = vec![0.0f64; distinct.len()];
        CellDose {
            values,
            ni,
            frames,
            distinct,
            pairs,
            on_frame,
        }
    }

    /// A cell's in-plane index splits (column, row) and volume -> its samples, one per
    /// sub-slab, pushed to `out`.
    #[inline]
    fn push(
        &mut self,
        (i0, i1, fi): (usize, usize, f64),
        (j0, j1, fj): (usize, usize, f64),
        volume_cc: f64,
        out: &mut Vec<Sample>,
    ) {
        let ni = self.ni;
        if fi == 0.0 && fj == 0.0 {
            self.push_on_centre(j0 * ni + i0, volume_cc, out);
            return;
        }
        let corners = [j0 * ni + i0, j0 * ni + i1, j1 * ni + i0, j1 * ni + i1];
        let weights = [
            (1.0 - fj) * (1.0 - fi),
            (1.0 - fj) * fi,
            fj * (1.0 - fi),
            fj * fi,
        ];
        let values = self.values;
        let plane = |frame: usize| -> f64 {
            corners
                .iter()
                .zip(&weights)
                .map(|(&o, &w)| f64::from(values[frame + o]) * w)
                .sum()
        };
        for (v, &frame) in self.on_frame.iter_mut().zip(&self.distinct) {
            *v = plane(frame);
        }
        for &(a, b, fk) in &self.pairs {
            let d = if fk == 0.0 {
                self.on_frame[a]
            } else {
                self.on_frame[a] * (1.0 - fk) + self.on_frame[b] * fk
            };
            out.push(Sample::new(d, volume_cc));
        }
    }

    /// A cell on a voxel centre in-plane (every cell at factor 1), at offset `o` in a frame
    /// -> its samples: the other three corners weigh 0 and the dose values are finite, so
    /// this is the same number as [`Self::push`]'s with one read instead of four.
    #[inline]
    fn push_on_centre(&self, o: usize, volume_cc: f64, out: &mut Vec<Sample>) {
        for &(f0, f1, fk) in &self.frames {
            // `+ 0.0` as the four-term sum starts from 0: a -0.0 dose reads as 0.0.
            let d0 = f64::from(self.values[f0 + o]) + 0.0;
            let d = if fk == 0.0 {
                d0
            } else {
                d0 * (1.0 - fk) + (f64::from(self.values[f1 + o]) + 0.0) * fk
            };
            out.push(Sample::new(d, volume_cc));
        }
    }
}

/// The lowest and highest dose at the vertices of a slab of the solid (each contour vertex
/// on its plane and on both faces of the slab) inside the grid: with a z gradient the
/// extremes of the solid lie on its faces.
fn vertex_range(s: &Slab, dose: &DoseGrid) -> Option<(f64, f64)> {
    let g = &dose.geometry;
    let (nk, nj, ni) = dose.values.dim();
    let values = dose
        .values
        .as_slice()
        .expect("dose values are in standard layout");
    let mut frames = [(0, 0, 0.0); 3];
    let mut n = 0;
    for z in [s.z_lo_mm, s.z_mm, s.z_hi_mm] {
        if let Some(k) = g.k_of_in_cells(z) {
            frames[n] = split_pair(k, nk);
            n += 1;
        }
    }
    let frames = &frames[..n];
    if frames.is_empty() {
        return None;
    }
    let mut range: Option<(f64, f64)> = None;
    for p in s.polygons.iter().flatten() {
        let (i, j) = (g.i_of(p[0]), g.j_of(p[1]));
        if !(in_cells(i, g.columns) && in_cells(j, g.rows)) {
            continue;
        }
        // The in-plane split once per vertex, and the in-plane values once per pair of
        // frames (the slab's planes usually share one): the same numbers as
        // `trilinear_split` at each plane, with a third of its reads.
        let si = split_pair(clamp_index(i, g.columns), ni);
        let sj = split_pair(clamp_index(j, g.rows), nj);
        let mut last: Option<((usize, usize), (f64, f64))> = None;
        for &(k0, k1, fk) in frames {
            let (c0, c1) = match last {
                Some((pair, c)) if pair == (k0, k1) => c,
                _ => {
                    let c = bilinear_pair(values, (nj, ni), si, sj, (k0, k1));
                    last = Some(((k0, k1), c));
                    c
                }
            };
            let d = c0 * (1.0 - fk) + c1 * fk;
            range = Some(range.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))));
        }
    }
    range
}

/// Splits a fractional index in `[0, n-1]` into a lower index and a weight for the next.
#[inline]
fn split_index(x: f64, n: usize) -> (usize, f64) {
    if n == 1 {
        return (0, 0.0);
    }
    let x0 = (x as usize).min(n - 2);
    (x0, (x - x0 as f64).clamp(0.0, 1.0))
}

/// Coverage below 1 by more than this makes a cell a boundary cell (sampled at the centroid
/// of its covered part); rounding of the exact coverage of full cells stays well below it.
const BOUNDARY_TOLERANCE: f64 = 1e-9;

/// Lattice cells kept around the grid's cells when contours reach beyond them.
const LATTICE_MARGIN: f64 = 2.0;

/// Test fixtures shared by unit tests of several modules.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::dicom::{Contour, ContourType};
    use ndarray::Array3;

    /// A square of side `2 half` mm centred on the z axis, in the plane `z`.
    pub(crate) fn square(half: f64, z: f64) -> Contour {
        Contour {
            kind: ContourType::ClosedPlanar,
            points_mm: vec![
                [-half, -half, z],
                [half, -half, z],
                [half, half, z],
                [-half, half, z],
            ],
        }
    }

    /// A box: [`square`] on each of the planes `z`.
    pub(crate) fn square_roi(half: f64, z: &[f64]) -> Roi {
        Roi {
            number: 1,
            name: "box".into(),
            interpreted_type: None,
            color: None,
            frame_of_reference_uid: None,
            contours: z.iter().map(|&z| square(half, z)).collect(),
            defects: vec![],
            repairs: vec![],
        }
    }

    /// A grid 1 mm, 41 x 41 x 41 centred on 0, dose = 10 + x (Gy).
    pub(crate) fn linear_grid() -> DoseGrid {
        let n = 41;
        let geometry = GridGeometry {
            columns: n,
            rows: n,
            frames: n,
            origin_mm: [-20.0, -20.0, -20.0],
            x_sign: 1.0,
            y_sign: 1.0,
            column_spacing_mm: 1.0,
            row_spacing_mm: 1.0,
            frame_z_mm: (0..n).map(|k| -20.0 + k as f64).collect(),
        };
        let values = Array3::from_shape_fn((n, n, n), |(_, _, i)| 10.0 + (i as f32 - 20.0));
        DoseGrid {
            path: "test.dcm".into(),
            sop_instance_uid: "1".into(),
            frame_of_reference_uid: None,
            study_instance_uid: None,
            patient: Default::default(),
            geometry,
            units: crate::dicom::DoseUnits::Gy,
            dose_type: None,
            summation: crate::dicom::DoseSummation::Plan,
            grid_scaling: 1.0,
            bits_allocated: 32,
            referenced_plan_uid: None,
            comment: None,
            values,
            warnings: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{linear_grid, square_roi};
    use super::*;
    use crate::dicom::{Contour, ContourType};
    use approx::assert_relative_eq;

    #[test]
    fn the_cost_estimate_follows_the_samples_taken_and_counts_vertices() {
        // The trial fixture: a body outline, targets and organs of very different sizes.
        let found =
            crate::dicom::discover(&[std::path::PathBuf::from("fixtures/trial_pass")]).unwrap();
        let set = &found.plan_sets[0];
        let (dose, ss) = (set.dose.as_ref().unwrap(), set.structures.as_ref().unwrap());
        let opts = SamplingOptions::default();
        let mut pairs: Vec<(f64, usize)> = ss
            .rois
            .iter()
            .filter(|r| !r.contours.is_empty())
            .map(|r| {
                let e = estimate(r, dose, &opts);
                let vertices: usize = r.contours.iter().map(|c| c.points_mm.len()).sum();
                assert_eq!(e.vertices, vertices);
                assert_eq!(
                    e.cost(),
                    e.samples + VERTEX_COST_IN_SAMPLES * vertices as f64
                );
                (e.samples, sample_roi(r, dose, &opts).len())
            })
            .collect();
        assert!(pairs.len() >= 4);
        for &(estimate, taken) in &pairs {
            let ratio = estimate / taken as f64;
            assert!(
                (0.5..2.0).contains(&ratio),
                "{estimate} samples estimated, {taken} taken"
            );
        }
        // The ROI estimated largest is the one with the most samples.
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(pairs[0].1, pairs.iter().map(|p| p.1).max().unwrap());
    }

    #[test]
    fn box_volume_and_mean_dose_are_exact() {
        // 5 planes 2 mm apart, square 7.3 mm: slab volume = 53.29 mm^2 x 10 mm (half caps).
        let roi = square_roi(3.65, &[-4.0, -2.0, 0.0, 2.0, 4.0]);
        let grid = linear_grid();
        let s = sample_roi(&roi, &grid, &SamplingOptions::default());
        assert_relative_eq!(s.total_cc, 7.3 * 7.3 * 10.0 / 1000.0, max_relative = 1e-12);
        // Samples hold doses and volumes at f32 precision (about 6e-8 relative).
        let v: f64 = s.iter().map(Sample::volume_cc).sum();
        assert_relative_eq!(v, s.total_cc, max_relative = 1e-6);
        assert_eq!(s.outside_cc, 0.0);
        let mean = s.iter().map(|x| x.dose() * x.volume_cc()).sum::<f64>() / v;
        assert_relative_eq!(mean, 10.0, max_relative = 1e-6);
        assert_relative_eq!(s.vertex_max.unwrap(), 13.65, max_relative = 1e-6);
        assert_relative_eq!(s.vertex_min.unwrap(), 6.35, max_relative = 1e-6);
        // No end caps: 8 mm tall.
        let opts = SamplingOptions {
            end_cap: EndCap::None,
            ..Default::default()
        };
        let s = sample_roi(&roi, &grid, &opts);
        assert_relative_eq!(s.total_cc, 7.3 * 7.3 * 8.0 / 1000.0, max_relative = 1e-12);
    }

    #[test]
    fn at_factor_one_each_sample_is_the_dose_of_its_voxel_centre() {
        // A dose that is not linear in-plane and constant along z: at factor 1 the samples
        // sit on voxel centres, so their doses are exactly the grid's values there, on any
        // plane and between frames.
        let mut grid = linear_grid();
        grid.values =
            ndarray::Array3::from_shape_fn((41, 41, 41), |(_, j, i)| (i * i + 3 * j) as f32);
        // The square's sides lie on cell boundaries: every cell is fully covered.
        let roi = square_roi(3.5, &[-2.3, -0.1, 1.9]);
        let opts = SamplingOptions {
            factor: Some(1),
            ..Default::default()
        };
        let s = sample_roi(&roi, &grid, &opts);
        assert!(!s.is_empty());
        let expected: std::collections::BTreeSet<u64> = (17..=23)
            .flat_map(|i: usize| (17..=23).map(move |j: usize| (i * i + 3 * j) as u64))
            .collect();
        let got: std::collections::BTreeSet<u64> = s.iter().map(|x| x.dose() as u64).collect();
        assert!(s.iter().all(|x| x.dose().fract() == 0.0));
        assert_eq!(got, expected);
    }

    #[test]
    fn a_partly_covered_cell_takes_the_dose_at_the_centroid_of_its_covered_part() {
        // Dose 10 + x; a square x, y in [-2.3, 2.3] at factor 1: the cells of the voxels at
        // x = -2 and 2 are covered from -2.3 to -1.5 and from 1.5 to 2.3, so their doses are
        // 10 -+ 1.9 (their centres, 10 -+ 2, lie outside the contour half the time).
        let roi = square_roi(2.3, &[-1.0, 0.0, 1.0]);
        let opts = SamplingOptions {
            factor: Some(1),
            ..Default::default()
        };
        let s = sample_roi(&roi, &linear_grid(), &opts);
        let lowest = s.iter().map(Sample::dose).fold(f64::INFINITY, f64::min);
        let highest = s.iter().map(Sample::dose).fold(f64::NEG_INFINITY, f64::max);
        assert_relative_eq!(lowest, 8.1, max_relative = 1e-6);
        assert_relative_eq!(highest, 11.9, max_relative = 1e-6);
        // The mean of a linear dose is exact: the dose at the solid's centroid.
        let v: f64 = s.iter().map(Sample::volume_cc).sum();
        let mean = s.iter().map(|x| x.dose() * x.volume_cc()).sum::<f64>() / v;
        assert_relative_eq!(mean, 10.0, max_relative = 1e-6);
    }

    #[test]
    fn part_outside_the_grid_is_measured() {
        // Grid voxel cells span -20.5..20.5 mm; a box from 15 to 25 mm in x is 45 % outside.
        let mut roi = square_roi(5.0, &[-1.0, 0.0, 1.0]);
        for c in &mut roi.contours {
            for p in &mut c.points_mm {
                p[0] += 20.0;
            }
        }
        let s = sample_roi(&roi, &linear_grid(), &SamplingOptions::default());
        assert_relative_eq!(s.outside_cc / s.total_cc, 0.45, max_relative = 1e-9);
        // Planes at 19, 20, 21 with half caps span 18.5..21.5; the grid ends at 20.5 in z.
        let top = square_roi(2.0, &[19.0, 20.0, 21.0]);
        let s = sample_roi(&top, &linear_grid(), &SamplingOptions::default());
        assert_relative_eq!(s.outside_cc / s.total_cc, 1.0 / 3.0, max_relative = 1e-9);
        // Entirely above the grid in z.
        let high = square_roi(2.0, &[30.0, 31.0]);
        let s = sample_roi(&high, &linear_grid(), &SamplingOptions::default());
        assert!(s.is_empty());
        assert_relative_eq!(s.outside_cc, s.total_cc, max_relative = 1e-12);
    }

    #[test]
    fn crossing_contours_are_warned_about_and_a_self_intersecting_one_is_a_defect() {
        let grid = linear_grid();
        let poly = |pts: &[[f64; 2]], z: f64| Contour {
            kind: ContourType::ClosedPlanar,
            points_mm: pts.iter().map(|p| [p[0], p[1], z]).collect(),
        };
        let roi = |contours: Vec<Contour>| Roi {
            contours,
            ..square_roi(1.0, &[])
        };
        // Two squares overlapping without nesting: filled as their union, with a warning.
        let a = [[-4.0, -4.0], [2.0, -4.0], [2.0, 2.0], [-4.0, 2.0]];
        let b = [[-2.0, -2.0], [4.0, -2.0], [4.0, 4.0], [-2.0, 4.0]];
        let overlapping = roi(vec![
            poly(&a, 0.0),
            poly(&b, 0.0),
            poly(&a, 1.0),
            poly(&b, 1.0),
        ]);
        let s = sample_roi(&overlapping, &grid, &SamplingOptions::default());
        assert!(
            s.warnings.iter().any(|w| w.contains("overlap")),
            "{:?}",
            s.warnings
        );
        assert!(s.defects.is_empty(), "{:?}", s.defects);
        // A bow tie crosses itself: which loop is the organ is unknown.
        let bowtie = [[-3.0, -3.0], [3.0, 3.0], [3.0, -3.0], [-3.0, 3.0]];
        let crossing = roi(vec![poly(&bowtie, 0.0), poly(&bowtie, 1.0)]);
        let s = sample_roi(&crossing, &grid, &SamplingOptions::default());
        assert!(
            s.defects.iter().any(|w| w.contains("intersects itself")),
            "{:?}",
            s.defects
        );
        // A clean square: no warning.
        let s = sample_roi(
            &square_roi(3.0, &[0.0, 1.0]),
            &grid,
            &SamplingOptions::default(),
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn trilinear_is_exact_for_linear_fields_and_at_nodes() {
        let g = linear_grid();
        assert_relative_eq!(trilinear(&g.values, 3.25, 7.5, 2.0), 10.0 + 3.25 - 20.0);
        assert_eq!(trilinear(&g.values, 40.0, 40.0, 40.0), 30.0);
        assert_eq!(dose_at(&g, [20.6, 0.0, 0.0]), None);
        assert_eq!(dose_at(&g, [20.4, 0.0, 0.0]), Some(30.0));
        assert_relative_eq!(dose_at(&g, [1.5, 0.0, 0.0]).unwrap(), 11.5);
    }
}
