//! PixelData -> stored sample values (before DoseGridScaling).
//!
//! dicom-pixeldata 0.10 converts only 1/8/16-bit samples, and RT doses are often 32-bit,
//! so native (uncompressed) data and RLE Lossless are decoded here, honouring the transfer
//! syntax's byte order. Other encapsulated syntaxes go through dicom-pixeldata (16-bit).

use dicom_core::value::{PrimitiveValue, Value};

use dicom_dictionary_std::tags;

use super::attrs::Attrs;
use super::part10::{ts, DicomFile};
use crate::error::{Error, Result};

/// The layout of the stored samples, checked against the data length before decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleLayout {
    pub rows: usize,
    pub columns: usize,
    pub frames: usize,
    /// 16 or 32.
    pub bits_allocated: u16,
    pub signed: bool,
}

impl SampleLayout {
    pub fn samples(&self) -> usize {
        self.rows * self.columns * self.frames
    }
    pub fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_allocated / 8)
    }
    pub fn bytes(&self) -> usize {
        self.samples() * self.bytes_per_sample()
    }
}

/// Decodes the PixelData of `file` into dose values: stored sample x `scaling`, as f32
/// (computed in f64). Parsed words and bytes are converted without intermediate copies, so
/// the peak memory is the parsed pixel data plus the f32 result.
pub fn decode_samples(file: &DicomFile, layout: SampleLayout, scaling: f64) -> Result<Vec<f32>> {
    let attrs = file.attrs();
    let el = attrs
        .element(tags::PIXEL_DATA)
        .ok_or_else(|| attrs.missing(tags::PIXEL_DATA))?;
    let big_endian = file.is_big_endian();
    let need = layout.bytes();
    let check_len = |len: usize| -> Result<()> {
        // An odd total length is padded with one byte.
        if len != need && len != need + 1 {
            return Err(attrs.bad(
                tags::PIXEL_DATA,
                format!(
                    "{len} bytes, but Rows x Columns x NumberOfFrames x BitsAllocated/8 = {}x{}x{}x{} = {need} bytes",
                    layout.rows,
                    layout.columns,
                    layout.frames,
                    layout.bytes_per_sample(),
                ),
            ));
        }
        Ok(())
    };
    if let Some(bytes) = file.native_pixel_data() {
        check_len(bytes.len())?;
        return Ok(bytes_to_values(&bytes[..need], layout, big_endian, scaling));
    }
    match el.value() {
        Value::Primitive(PrimitiveValue::U8(bytes)) => {
            check_len(bytes.len())?;
            Ok(bytes_to_values(&bytes[..need], layout, big_endian, scaling))
        }
        // OW is read by dicom-rs as native u16 words (already byte-swapped for big endian).
        Value::Primitive(PrimitiveValue::U16(words)) => {
            check_len(words.len() * 2)?;
            Ok(words_to_values(
                &words[..need / 2],
                layout,
                big_endian,
                scaling,
            ))
        }
        Value::Primitive(p) => {
            let bytes = native_bytes(p, big_endian).ok_or_else(|| {
                attrs.bad(
                    tags::PIXEL_DATA,
                    "unexpected value representation for pixel data",
                )
            })?;
            check_len(bytes.len())?;
            Ok(bytes_to_values(&bytes[..need], layout, big_endian, scaling))
        }
        Value::PixelSequence(seq) => {
            if file.transfer_syntax == ts::RLE_LOSSLESS {
                // RLE output is big-endian byte planes recombined as big endian.
                let bytes = rle_frames(&attrs, seq.fragments(), layout)?;
                Ok(bytes_to_values(&bytes, layout, true, scaling))
            } else {
                other_encapsulated(file, layout, scaling)
            }
        }
        Value::Sequence(_) => Err(attrs.bad(tags::PIXEL_DATA, "pixel data is a sequence")),
    }
}

/// 16-bit words (native order) -> values; for 32-bit samples, word pairs are joined in the
/// transfer syntax's byte order.
fn words_to_values(
    words: &[u16],
    layout: SampleLayout,
    big_endian: bool,
    scaling: f64,
) -> Vec<f32> {
    let v = |raw: f64| (raw * scaling) as f32;
    match (layout.bits_allocated, layout.signed) {
        (16, false) => words.iter().map(|&w| v(f64::from(w))).collect(),
        (16, true) => words.iter().map(|&w| v(f64::from(w as i16))).collect(),
        (32, signed) => words
            .chunks_exact(2)
            .map(|p| {
                let (hi, lo) = if big_endian {
                    (p[0], p[1])
                } else {
                    (p[1], p[0])
                };
                let u = (u32::from(hi) << 16) | u32::from(lo);
                v(if signed {
                    f64::from(u as i32)
                } else {
                    f64::from(u)
                })
            })
            .collect(),
        _ => unreachable!("bits_allocated is checked to be 16 or 32 before decoding"),
    }
}

/// The pixel bytes in file order. OW values are read by dicom-rs as native u16 words, so
/// they are written back in the transfer syntax's byte order to recover the byte stream.
fn native_bytes(p: &PrimitiveValue, big_endian: bool) -> Option<Vec<u8>> {
    match p {
        PrimitiveValue::U8(b) => Some(b.to_vec()),
        PrimitiveValue::U16(w) => Some(
            w.iter()
                .flat_map(|x| {
                    if big_endian {
                        x.to_be_bytes()
                    } else {
                        x.to_le_bytes()
                    }
                })
                .collect(),
        ),
        PrimitiveValue::U32(w) => Some(
            w.iter()
                .flat_map(|x| {
                    if big_endian {
                        x.to_be_bytes()
                    } else {
                        x.to_le_bytes()
                    }
                })
                .collect(),
        ),
        _ => None,
    }
}

fn bytes_to_values(bytes: &[u8], layout: SampleLayout, big_endian: bool, scaling: f64) -> Vec<f32> {
    // One tight loop per layout (no branch per sample).
    match (layout.bits_allocated, layout.signed, big_endian) {
        (16, false, false) => scale(bytes, scaling, |b| f64::from(u16::from_le_bytes(b))),
        (16, false, true) => scale(bytes, scaling, |b| f64::from(u16::from_be_bytes(b))),
        (16, true, false) => scale(bytes, scaling, |b| f64::from(i16::from_le_bytes(b))),
        (16, true, true) => scale(bytes, scaling, |b| f64::from(i16::from_be_bytes(b))),
        (32, false, false) => scale(bytes, scaling, |b| f64::from(u32::from_le_bytes(b))),
        (32, false, true) => scale(bytes, scaling, |b| f64::from(u32::from_be_bytes(b))),
        (32, true, false) => scale(bytes, scaling, |b| f64::from(i32::from_le_bytes(b))),
        (32, true, true) => scale(bytes, scaling, |b| f64::from(i32::from_be_bytes(b))),
        _ => unreachable!("bits_allocated is checked to be 16 or 32 before decoding"),
    }
}

/// Samples of `N` bytes -> `raw(sample) x scaling` as f32 (computed in f64).
/// In parallel (rayon, blocks of [`SCALE_BLOCK`] samples, each a plain loop the compiler
/// vectorizes); the order of the result is the order of the samples. Trailing bytes short
/// of a sample are ignored.
fn scale<const N: usize>(
    bytes: &[u8],
    scaling: f64,
    raw: impl Fn([u8; N]) -> f64 + Sync,
) -> Vec<f32> {
    use rayon::prelude::*;
    let mut out = vec![0f32; bytes.len() / N];
    out.par_chunks_mut(SCALE_BLOCK)
        .zip(bytes.par_chunks(SCALE_BLOCK * N))
        .for_each(|(out, bytes)| {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(N)) {
                let sample: [u8; N] = c.try_into().expect("chunks_exact yields N bytes");
                *o = (raw(sample) * scaling) as f32;
            }
        });
    out
}

/// Samples converted by one task of [`scale`].
const SCALE_BLOCK: usize = 1 << 16;

/// The most a PackBits segment can expand: a 2-byte repeat run makes 128 bytes.
const RLE_MAX_EXPANSION: usize = 64;

/// RLE Lossless (PS3.5 Annex G): one fragment per frame; each frame has one segment per
/// byte of a sample, most significant byte first. Returns big-endian sample bytes.
fn rle_frames(attrs: &Attrs<'_>, fragments: &[Vec<u8>], layout: SampleLayout) -> Result<Vec<u8>> {
    if fragments.len() != layout.frames {
        return Err(attrs.bad(
            tags::PIXEL_DATA,
            format!(
                "RLE data has {} fragments for {} frames",
                fragments.len(),
                layout.frames
            ),
        ));
    }
    // PackBits turns 2 bytes into at most 128: data that cannot decode to the declared grid
    // is refused before the grid is allocated.
    let encoded: usize = fragments.iter().map(Vec::len).sum();
    if encoded.saturating_mul(RLE_MAX_EXPANSION) < layout.bytes() {
        return Err(attrs.bad(
            tags::PIXEL_DATA,
            format!(
                "{encoded} bytes of RLE data cannot hold the {} bytes of a {}x{}x{} grid",
                layout.bytes(),
                layout.columns,
                layout.rows,
                layout.frames
            ),
        ));
    }
    let per_frame = layout.rows * layout.columns;
    let bps = layout.bytes_per_sample();
    let mut out = vec![0u8; layout.bytes()];
    for (f, frag) in fragments.iter().enumerate() {
        let frame_out = &mut out[f * per_frame * bps..(f + 1) * per_frame * bps];
        rle_frame(frag, per_frame, bps, frame_out)
            .map_err(|m| attrs.bad(tags::PIXEL_DATA, format!("RLE frame {}: {m}", f + 1)))?;
    }
    Ok(out)
}

fn rle_frame(
    frag: &[u8],
    samples: usize,
    bps: usize,
    out: &mut [u8],
) -> std::result::Result<(), String> {
    if frag.len() < 64 {
        return Err("fragment shorter than the 64-byte RLE header".into());
    }
    let word = |i: usize| u32::from_le_bytes([frag[i], frag[i + 1], frag[i + 2], frag[i + 3]]);
    let nseg = word(0) as usize;
    if nseg != bps {
        return Err(format!("{nseg} segments, expected {bps}"));
    }
    let offsets: Vec<usize> = (0..nseg).map(|s| word(4 + 4 * s) as usize).collect();
    for s in 0..nseg {
        let start = offsets[s];
        let end = if s + 1 < nseg {
            offsets[s + 1]
        } else {
            frag.len()
        };
        if start < 64 || start > end || end > frag.len() {
            return Err(format!("segment {} has a bad offset", s + 1));
        }
        let plane = packbits(&frag[start..end], samples)?;
        for (i, b) in plane.into_iter().enumerate() {
            out[i * bps + s] = b;
        }
    }
    Ok(())
}

/// PackBits decoding of one RLE segment into exactly `n` bytes.
fn packbits(src: &[u8], n: usize) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n && i < src.len() {
        let h = src[i] as i8;
        i += 1;
        if h >= 0 {
            let len = h as usize + 1;
            let run = src.get(i..i + len).ok_or("literal run past the end")?;
            out.extend_from_slice(run);
            i += len;
        } else if h != -128 {
            let len = (1 - h as isize) as usize;
            let b = *src.get(i).ok_or("repeat run past the end")?;
            out.extend(std::iter::repeat_n(b, len));
            i += 1;
        }
    }
    if out.len() < n {
        return Err(format!(
            "segment decodes to {} bytes, expected {n}",
            out.len()
        ));
    }
    out.truncate(n);
    Ok(out)
}

/// The largest compression ratio accepted from JPEG-family pixel data: far beyond what dose
/// grids compress to, and it keeps a small file from making the decoder allocate a huge grid.
const ENCAPSULATED_MAX_EXPANSION: usize = 1000;

/// Other encapsulated transfer syntaxes (JPEG family): through dicom-pixeldata, 16-bit only.
fn other_encapsulated(file: &DicomFile, layout: SampleLayout, scaling: f64) -> Result<Vec<f32>> {
    use dicom_pixeldata::PixelDecoder;
    let path = &file.path;
    if layout.bits_allocated != 16 {
        return Err(Error::unsupported(
            path,
            format!(
                "{}-bit pixel data in transfer syntax {}",
                layout.bits_allocated, file.transfer_syntax
            ),
        ));
    }
    // Refuse before the decoder allocates the declared grid.
    let encoded: usize = match file.attrs().element(tags::PIXEL_DATA).map(|e| e.value()) {
        Some(Value::PixelSequence(seq)) => seq.fragments().iter().map(Vec::len).sum(),
        _ => 0,
    };
    if encoded.saturating_mul(ENCAPSULATED_MAX_EXPANSION) < layout.bytes() {
        return Err(Error::invalid(
            path,
            format!(
                "{encoded} bytes of compressed pixel data for a {}x{}x{} grid of {} bytes: more than {ENCAPSULATED_MAX_EXPANSION}:1, refused",
                layout.columns,
                layout.rows,
                layout.frames,
                layout.bytes()
            ),
        ));
    }
    let meta = dicom_object::meta::FileMetaTableBuilder::new()
        .transfer_syntax(file.transfer_syntax.as_str())
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.481.2")
        .media_storage_sop_instance_uid("1.2.3")
        .build()
        .map_err(|e| Error::invalid(path, e.to_string()))?;
    let obj = file.obj.clone().with_exact_meta(meta);
    let decoded = obj.decode_pixel_data().map_err(|e| {
        Error::unsupported(
            path,
            format!(
                "cannot decode pixel data in transfer syntax {}: {}",
                file.transfer_syntax,
                super::attrs::one_line(&e.to_string())
            ),
        )
    })?;
    let raw = decoded.data();
    if raw.len() < layout.bytes() {
        return Err(Error::invalid(
            path,
            "decoded pixel data is shorter than declared",
        ));
    }
    Ok(bytes_to_values(
        &raw[..layout.bytes()],
        layout,
        false,
        scaling,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literal_and_repeat_runs() {
        // literal of 3 (header 2), then repeat 'z' 4 times (header -3), then a no-op (-128).
        let src = [2, b'a', b'b', b'c', (-3i8) as u8, b'z', 0x80];
        assert_eq!(packbits(&src, 7).unwrap(), b"abczzzz".to_vec());
        assert!(packbits(&src, 8).is_err());
        assert!(packbits(&[5, 1], 6).is_err());
    }

    #[test]
    fn rle_frame_recombines_byte_planes_msb_first() {
        // Two 16-bit samples: 0x0102, 0x0304 -> planes [01,03] and [02,04].
        let mut frag = vec![0u8; 64];
        frag[0..4].copy_from_slice(&2u32.to_le_bytes());
        frag[4..8].copy_from_slice(&64u32.to_le_bytes());
        frag[8..12].copy_from_slice(&67u32.to_le_bytes());
        frag.extend_from_slice(&[1, 1, 3]); // literal run of 2
        frag.extend_from_slice(&[1, 2, 4]);
        let mut out = [0u8; 4];
        rle_frame(&frag, 2, 2, &mut out).unwrap();
        let layout = SampleLayout {
            rows: 1,
            columns: 2,
            frames: 1,
            bits_allocated: 16,
            signed: false,
        };
        assert_eq!(bytes_to_values(&out, layout, true, 1.0), vec![258.0, 772.0]);
    }

    #[test]
    fn samples_honour_byte_order_and_sign() {
        let layout = SampleLayout {
            rows: 1,
            columns: 1,
            frames: 1,
            bits_allocated: 32,
            signed: false,
        };
        let le = 70000u32.to_le_bytes();
        let be = 70000u32.to_be_bytes();
        assert_eq!(bytes_to_values(&le, layout, false, 1.0), vec![70000.0]);
        assert_eq!(bytes_to_values(&be, layout, true, 1.0), vec![70000.0]);
        let signed = SampleLayout {
            signed: true,
            bits_allocated: 16,
            ..layout
        };
        assert_eq!(
            bytes_to_values(&(-5i16).to_le_bytes(), signed, false, 0.5),
            vec![-2.5]
        );
    }

    #[test]
    fn thirty_two_bit_samples_from_words_join_in_byte_order() {
        let layout = SampleLayout {
            rows: 1,
            columns: 1,
            frames: 1,
            bits_allocated: 32,
            signed: false,
        };
        // 70000 = 0x0001_1170: little endian words [0x1170, 0x0001], big endian [0x0001, 0x1170].
        assert_eq!(
            words_to_values(&[0x1170, 0x0001], layout, false, 1.0),
            vec![70000.0]
        );
        assert_eq!(
            words_to_values(&[0x0001, 0x1170], layout, true, 1.0),
            vec![70000.0]
        );
        let sixteen = SampleLayout {
            bits_allocated: 16,
            signed: true,
            ..layout
        };
        assert_eq!(words_to_values(&[0xFFFB], sixteen, false, 2.0), vec![-10.0]);
    }

    #[test]
    fn ow_words_round_trip_to_file_byte_order() {
        let p = PrimitiveValue::U16(vec![0x0102, 0x0304].into());
        assert_eq!(native_bytes(&p, false).unwrap(), vec![2, 1, 4, 3]);
        assert_eq!(native_bytes(&p, true).unwrap(), vec![1, 2, 3, 4]);
    }
}
