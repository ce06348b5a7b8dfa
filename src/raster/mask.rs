//! An ROI -> a boolean mask of the dose voxels whose centre lies inside it (the slab model
//! of [`super::topology`]), for spatial metrics such as the maximum dose 2 cm from a target.

use ndarray::Array3;

use super::topology::solid;
use super::topology::Slab;
use super::topology::{Between, EndCap};
use crate::dicom::{DoseGrid, Roi};
use crate::geometry::GridGeometry;

/// True for every voxel centre inside the ROI's slab-model solid.
pub fn centre_mask(roi: &Roi, dose: &DoseGrid, end_cap: EndCap, between: Between) -> Array3<bool> {
    let g = &dose.geometry;
    let dz = g
        .uniform_slice_spacing_mm()
        .unwrap_or(g.row_spacing_mm.min(g.column_spacing_mm));
    let slabs = solid(roi, end_cap, between, dz).slabs;
    // Sum of the weights of the polygons around each voxel centre: inside when positive.
    let mut weight = Array3::from_elem((g.frames, g.rows, g.columns), 0.0f64);
    for (k, &z) in g.frame_z_mm.iter().enumerate() {
        // The slabs containing z (half-open, so a boundary plane belongs to one slab of
        // each piece).
        for slab in slabs.iter().filter(|s| s.z_lo_mm <= z && z < s.z_hi_mm) {
            add_slab(slab, g, k, &mut weight);
        }
    }
    weight.mapv(|w| w > 0.5)
}

/// Adds the weights of one slab's polygons at the voxel centres of frame `k`.
fn add_slab(slab: &Slab, g: &GridGeometry, k: usize, weight: &mut Array3<f64>) {
    for (poly, &sign) in slab.polygons.iter().zip(&slab.signs) {
        // Voxel columns/rows within the polygon's bounding box.
        let (mut i0, mut i1, mut j0, mut j1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for p in poly {
            let (i, j) = (g.i_of(p[0]), g.j_of(p[1]));
            i0 = i0.min(i);
            i1 = i1.max(i);
            j0 = j0.min(j);
            j1 = j1.max(j);
        }
        let clamp = |x: f64, n: usize| x.clamp(0.0, (n - 1) as f64) as usize;
        let (ia, ib) = (clamp(i0.ceil(), g.columns), clamp(i1.floor(), g.columns));
        let (ja, jb) = (clamp(j0.ceil(), g.rows), clamp(j1.floor(), g.rows));
        if i1 < 0.0 || j1 < 0.0 || i0 > (g.columns - 1) as f64 || j0 > (g.rows - 1) as f64 {
            continue;
        }
        for j in ja..=jb {
            let y = g.y_of(j as f64);
            for i in ia..=ib {
                let x = g.x_of(i as f64);
                if crate::geometry::polygon::contains(poly, x, y) {
                    weight[[k, j, i]] += sign;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::sample::tests_support::{linear_grid, square};

    #[test]
    fn ring_mask_counts_voxel_centres_inside_outer_and_outside_hole() {
        // Outer square half-size 5.5 (centres -5..5: 11 x 11), hole half-size 2.5 (5 x 5),
        // on planes z = -1, 0, 1 (slabs -1.5..1.5: frames -1, 0, 1).
        let mut contours = Vec::new();
        for z in [-1.0, 0.0, 1.0] {
            contours.push(square(5.5, z));
            contours.push(square(2.5, z));
        }
        let roi = Roi {
            number: 1,
            name: "ring".into(),
            interpreted_type: None,
            color: None,
            frame_of_reference_uid: None,
            contours,
            defects: vec![],
            repairs: vec![],
        };
        let g = linear_grid();
        let m = centre_mask(&roi, &g, EndCap::Half, Between::Midpoint);
        assert_eq!(m.iter().filter(|&&b| b).count(), 3 * (121 - 25));
        assert!(!m[[20, 20, 20]]);
        assert!(m[[20, 20, 24]]);
        assert!(!m[[23, 20, 24]]);
    }
}
