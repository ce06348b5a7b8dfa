//! An organ's solid minus target solids: the slabs of a host organ outside the targets.
//!
//! Both solids are slab models ([`super::topology`]): between its bounds in z each slab is
//! a prism over its plane region. The difference is exact on these models. An organ slab
//! is cut in z wherever a target slab starts or ends inside it; on each part, its region
//! minus the regions of the target slabs spanning that part is cut into disjoint
//! trapezoids by the signed-winding fill of [`positive_winding_trapezoids`]: the organ's
//! polygons keep their weights (its region has weight 1), every target polygon enters with
//! its weight negated (each target region present lowers the sum by 1), and the trapezoids
//! are where the sum exceeds 1/2, i.e. inside the organ and in no target. The result is a
//! [`Solid`] sampled like any ROI's, so its volume is the organ's minus the overlap, to
//! rounding.

use super::topology::{Slab, Solid};
use crate::geometry::polygon::{self, Polygon};
use crate::geometry::union::positive_winding_trapezoids;

/// `organ` minus every solid of `targets`. Warnings and defects are the organ's; a target's
/// defects are the caller's to report (its region is unknown where they are).
pub fn difference(organ: &Solid, targets: &[&Solid]) -> Solid {
    let target_slabs: Vec<(&Slab, [f64; 4])> = targets
        .iter()
        .flat_map(|t| &t.slabs)
        .map(|s| (s, bbox(&s.polygons)))
        .collect();
    let mut out = Solid {
        slabs: Vec::new(),
        planes: organ.planes,
        warnings: organ.warnings.clone(),
        defects: organ.defects.clone(),
        // At most the organ's: the targets may take part of its caps away.
        end_cap_mm3: organ.end_cap_mm3,
    };
    for s in &organ.slabs {
        let b = bbox(&s.polygons);
        let near: Vec<&Slab> = target_slabs
            .iter()
            .filter(|(t, tb)| t.z_lo_mm < s.z_hi_mm && t.z_hi_mm > s.z_lo_mm && overlap(&b, tb))
            .map(|(t, _)| *t)
            .collect();
        if near.is_empty() {
            out.slabs.push(s.clone());
            continue;
        }
        let mut cuts: Vec<f64> = vec![s.z_lo_mm, s.z_hi_mm];
        for t in &near {
            cuts.extend(
                [t.z_lo_mm, t.z_hi_mm]
                    .into_iter()
                    .filter(|z| *z > s.z_lo_mm && *z < s.z_hi_mm),
            );
        }
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        for w in cuts.windows(2) {
            let (lo, hi) = (w[0], w[1]);
            let mid = 0.5 * (lo + hi);
            let spanning: Vec<&Slab> = near
                .iter()
                .filter(|t| t.z_lo_mm < mid && t.z_hi_mm > mid)
                .copied()
                .collect();
            let part = |polygons: Vec<Polygon>, signs: Vec<f64>| Slab {
                z_mm: s.z_mm.clamp(lo, hi),
                z_lo_mm: lo,
                z_hi_mm: hi,
                polygons,
                signs,
            };
            if spanning.is_empty() {
                out.slabs.push(part(s.polygons.clone(), s.signs.clone()));
                continue;
            }
            let mut polygons = s.polygons.clone();
            let mut signs = s.signs.clone();
            for t in spanning {
                polygons.extend(t.polygons.iter().cloned());
                signs.extend(t.signs.iter().map(|w| -w));
            }
            let trapezoids: Vec<Polygon> = positive_winding_trapezoids(&polygons, &signs)
                .into_iter()
                .filter(|t| polygon::signed_area(t) != 0.0)
                .collect();
            if !trapezoids.is_empty() {
                let ones = vec![1.0; trapezoids.len()];
                out.slabs.push(part(trapezoids, ones));
            }
        }
    }
    out
}

/// x and y ranges `[xmin, xmax, ymin, ymax]` of polygons.
fn bbox(polygons: &[Polygon]) -> [f64; 4] {
    polygons.iter().map(|p| super::topology::bbox(p)).fold(
        [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ],
        |a, b| {
            [
                a[0].min(b[0]),
                a[1].max(b[1]),
                a[2].min(b[2]),
                a[3].max(b[3]),
            ]
        },
    )
}

fn overlap(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] < b[1] && b[0] < a[1] && a[2] < b[3] && b[2] < a[3]
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn slab(z: f64, lo: f64, hi: f64, polygons: Vec<Polygon>, signs: Vec<f64>) -> Slab {
        Slab {
            z_mm: z,
            z_lo_mm: lo,
            z_hi_mm: hi,
            polygons,
            signs,
        }
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon {
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    }

    fn volume(s: &Solid) -> f64 {
        s.slabs
            .iter()
            .map(|s| s.area_mm2() * (s.z_hi_mm - s.z_lo_mm))
            .sum()
    }

    fn solid(slabs: Vec<Slab>) -> Solid {
        Solid {
            planes: slabs.len(),
            slabs,
            ..Default::default()
        }
    }

    #[test]
    fn a_box_minus_a_shifted_box_keeps_what_lies_outside_it() {
        // Organ 10 x 10 x 10 (two slabs); target 4 x 20 x 3 crossing it, its z range inside
        // the organ's second slab: overlap 4 x 10 x 3 = 120 mm^3.
        let organ = solid(vec![
            slab(0.0, -5.0, 0.0, vec![rect(0.0, 0.0, 10.0, 10.0)], vec![1.0]),
            slab(5.0, 0.0, 5.0, vec![rect(0.0, 0.0, 10.0, 10.0)], vec![1.0]),
        ]);
        let target = solid(vec![slab(
            2.0,
            1.0,
            4.0,
            vec![rect(3.0, -5.0, 7.0, 15.0)],
            vec![1.0],
        )]);
        let d = difference(&organ, &[&target]);
        assert_relative_eq!(volume(&d), 1000.0 - 120.0, max_relative = 1e-12);
        // The second slab is cut at 1 and 4 mm.
        assert_eq!(d.slabs.len(), 4);
    }

    #[test]
    fn holes_islands_and_nested_targets_follow_their_weights() {
        // Organ: 20 x 20 with a 10 x 10 hole holding a 4 x 4 island (area 400 - 100 + 16).
        let organ = solid(vec![slab(
            0.0,
            -1.0,
            1.0,
            vec![
                rect(0.0, 0.0, 20.0, 20.0),
                rect(5.0, 5.0, 15.0, 15.0),
                rect(8.0, 8.0, 12.0, 12.0),
            ],
            vec![1.0, -1.0, 1.0],
        )]);
        // Targets: a PTV 6 x 6 over the island and into the hole, and a PGTV inside it.
        let ptv = solid(vec![slab(
            0.0,
            -1.0,
            1.0,
            vec![rect(7.0, 7.0, 13.0, 13.0)],
            vec![1.0],
        )]);
        let pgtv = solid(vec![slab(
            0.0,
            -1.0,
            1.0,
            vec![rect(9.0, 9.0, 11.0, 11.0)],
            vec![1.0],
        )]);
        let d = difference(&organ, &[&ptv, &pgtv]);
        // The island is inside the PTV: only the frame remains.
        assert_relative_eq!(volume(&d), 2.0 * 300.0, max_relative = 1e-12);
        // A target far away leaves the organ as it was.
        let far = solid(vec![slab(
            0.0,
            -1.0,
            1.0,
            vec![rect(50.0, 50.0, 60.0, 60.0)],
            vec![1.0],
        )]);
        let d = difference(&organ, &[&far]);
        assert_relative_eq!(volume(&d), 2.0 * 316.0, max_relative = 1e-12);
        assert_eq!(d.slabs[0].polygons, organ.slabs[0].polygons);
    }
}
