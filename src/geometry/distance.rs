//! Exact Euclidean distance transform on a rectilinear grid.
//!
//! For every grid point, the squared distance (mm^2) to the nearest marked point. Separable
//! lower-envelope-of-parabolas algorithm (Felzenszwalb and Huttenlocher, Theory of Computing
//! 8:415, 2012), one pass per axis, on the real axis positions: anisotropic and uneven
//! spacings (e.g. dose frames) are exact, not approximated.

use ndarray::{Array3, Axis};

/// A distance larger than any on a patient grid, standing for "no marked point yet".
const FAR: f64 = 1e20;

/// Squared distance from every point of the grid to the nearest `true` of `mask`.
/// `positions[a]` are the strictly increasing coordinates (mm) along axis `a` of `mask`
/// (axis 0 = frames, 1 = rows, 2 = columns). Points are `FAR` when nothing is marked.
pub fn squared_distance(mask: &Array3<bool>, positions: [&[f64]; 3]) -> Array3<f64> {
    let mut d = mask.mapv(|m| if m { 0.0 } else { FAR });
    for (axis, pos) in positions.iter().enumerate() {
        assert_eq!(d.len_of(Axis(axis)), pos.len(), "positions match the axis");
        let n = pos.len();
        let mut f = vec![0.0; n];
        let mut out = vec![0.0; n];
        let mut v = vec![0usize; n];
        let mut z = vec![0.0; n + 1];
        for mut lane in d.lanes_mut(Axis(axis)) {
            for (fi, x) in f.iter_mut().zip(lane.iter()) {
                *fi = *x;
            }
            envelope(&f, pos, &mut out, &mut v, &mut z);
            for (x, o) in lane.iter_mut().zip(&out) {
                *x = *o;
            }
        }
    }
    d
}

/// One-dimensional pass: `out[p] = min_q (pos[p] - pos[q])^2 + f[q]`.
fn envelope(f: &[f64], pos: &[f64], out: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    if n == 0 {
        return;
    }
    let mut k = 0usize;
    v[0] = 0;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    let key = |q: usize| f[q] + pos[q] * pos[q];
    for q in 1..n {
        loop {
            let r = v[k];
            let s = (key(q) - key(r)) / (2.0 * (pos[q] - pos[r]));
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0: parabola q dominates from the start.
                v[0] = q;
                z[0] = f64::NEG_INFINITY;
                z[1] = f64::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f64::INFINITY;
            break;
        }
    }
    let mut k = 0;
    for (p, o) in out.iter_mut().enumerate() {
        while z[k + 1] < pos[p] {
            k += 1;
        }
        let q = v[k];
        let dx = pos[p] - pos[q];
        *o = dx * dx + f[q];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn brute(mask: &Array3<bool>, pos: [&[f64]; 3]) -> Array3<f64> {
        let marked: Vec<[f64; 3]> = mask
            .indexed_iter()
            .filter(|(_, m)| **m)
            .map(|((k, j, i), _)| [pos[0][k], pos[1][j], pos[2][i]])
            .collect();
        Array3::from_shape_fn(mask.dim(), |(k, j, i)| {
            marked
                .iter()
                .map(|m| {
                    (pos[0][k] - m[0]).powi(2)
                        + (pos[1][j] - m[1]).powi(2)
                        + (pos[2][i] - m[2]).powi(2)
                })
                .fold(FAR, f64::min)
        })
    }

    #[test]
    fn matches_brute_force_on_anisotropic_uneven_grid() {
        let zs = [0.0, 2.0, 3.0, 7.0, 7.5, 12.0];
        let ys: Vec<f64> = (0..7).map(|j| j as f64 * 2.5).collect();
        let xs: Vec<f64> = (0..9).map(|i| -4.0 + i as f64 * 1.2).collect();
        let mut mask = Array3::from_elem((6, 7, 9), false);
        mask[[1, 2, 3]] = true;
        mask[[4, 6, 0]] = true;
        mask[[5, 0, 8]] = true;
        let pos = [&zs[..], &ys[..], &xs[..]];
        let fast = squared_distance(&mask, pos);
        let slow = brute(&mask, pos);
        for (a, b) in fast.iter().zip(slow.iter()) {
            assert_relative_eq!(*a, *b, max_relative = 1e-9);
        }
    }

    #[test]
    fn empty_mask_is_far_everywhere() {
        let mask = Array3::from_elem((2, 2, 2), false);
        let p = [0.0, 1.0];
        let d = squared_distance(&mask, [&p, &p, &p]);
        assert!(d.iter().all(|&x| x >= FAR));
    }
}
