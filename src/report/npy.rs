//! A 3-D f32 array -> NumPy `.npy` bytes (format 1.0, little endian, C order), so that the
//! dose read here can be compared with other readers without a NumPy dependency.

use ndarray::Array3;

/// Encodes `a` as a `.npy` file.
pub fn encode_f32(a: &Array3<f32>) -> Vec<u8> {
    let (d0, d1, d2) = a.dim();
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({d0}, {d1}, {d2}), }}");
    // magic (6) + version (2) + header length (2) + header, padded to 64 with a final \n.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + a.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in a.iter() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_data_follows_in_c_order() {
        let a = Array3::from_shape_fn((2, 1, 3), |(k, _, i)| (k * 10 + i) as f32);
        let b = encode_f32(&a);
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (2, 1, 3)"));
        assert!(header.ends_with('\n'));
        let data = &b[10 + hlen..];
        assert_eq!(data.len(), 24);
        assert_eq!(f32::from_le_bytes(data[4..8].try_into().unwrap()), 1.0);
        assert_eq!(f32::from_le_bytes(data[12..16].try_into().unwrap()), 10.0);
    }
}
