//! Middlebury `.flo` files: the tag `PIEH` (the float 202021.25), width and
//! height as little-endian `i32`, then `u, v` pairs as little-endian `f32`,
//! row-major.

use std::path::Path;

use super::Flow;
use crate::error::{Error, Result};
use crate::save::atomic_write;

/// The `.flo` tag, `PIEH` in ASCII.
const TAG: &[u8; 4] = b"PIEH";
/// Largest side accepted when reading, to refuse absurd headers before allocating.
const MAX_SIDE: usize = 1 << 16;

/// Encodes a flow field as `.flo` bytes.
pub fn encode_flo(flow: &Flow) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + flow.data.len() * 4);
    out.extend_from_slice(TAG);
    out.extend_from_slice(&(flow.width as i32).to_le_bytes());
    out.extend_from_slice(&(flow.height as i32).to_le_bytes());
    for v in &flow.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes `.flo` bytes; `path` names the source in errors.
pub fn decode_flo(bytes: &[u8], path: &Path) -> Result<Flow> {
    if bytes.len() < 12 || &bytes[..4] != TAG {
        return Err(Error::format(path, "not a .flo file (no PIEH tag)"));
    }
    let side = |i: usize| i32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (w, h) = (side(4), side(8));
    for (what, v) in [("width", w), ("height", h)] {
        if v <= 0 || v as usize > MAX_SIDE {
            return Err(Error::format(
                path,
                format!(".flo {what} {v} is out of range (allowed: 1 to {MAX_SIDE})"),
            ));
        }
    }
    let (w, h) = (w as usize, h as usize);
    // At most 12 + 2^16 * 2^16 * 8 bytes: no overflow; compared before allocating.
    let expected = 12 + w * h * 8;
    if bytes.len() != expected {
        return Err(Error::format(
            path,
            format!(
                "a {w}x{h} .flo file has {expected} bytes, this one has {}",
                bytes.len()
            ),
        ));
    }
    let data = bytes[12..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Flow {
        width: w,
        height: h,
        data,
    })
}

/// Reads a `.flo` file.
pub fn read_flo(path: impl AsRef<Path>) -> Result<Flow> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_flo(&bytes, path)
}

/// Writes a `.flo` file (atomically).
pub fn write_flo(path: impl AsRef<Path>, flow: &Flow) -> Result<()> {
    let path = path.as_ref();
    if flow.data.len() != flow.width * flow.height * 2 {
        return Err(Error::invalid(format!(
            "{}: flow data does not match its {}x{} size",
            path.display(),
            flow.width,
            flow.height
        )));
    }
    atomic_write(path, &encode_flo(flow))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p() -> &'static Path {
        Path::new("t.flo")
    }

    #[test]
    fn header_sizes_are_checked_against_the_file() {
        let header = |w: i32, h: i32| {
            let mut b = TAG.to_vec();
            b.extend_from_slice(&w.to_le_bytes());
            b.extend_from_slice(&h.to_le_bytes());
            b
        };
        let e = decode_flo(&header(100_000, 2), p())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.flo") && e.contains("width 100000") && e.contains("1 to 65536"),
            "{e}"
        );
        let e = decode_flo(&header(4, -1), p()).unwrap_err().to_string();
        assert!(e.contains("height -1") && e.contains("1 to 65536"), "{e}");
        // The largest header on a tiny file: refused by length, nothing allocated.
        let e = decode_flo(&header(65536, 65536), p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("this one has 12"), "{e}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut tagged = TAG.to_vec();
            tagged.extend_from_slice(&body);
            for bytes in [&body, &tagged] {
                if let Ok(f) = decode_flo(bytes, p()) {
                    // What decodes is exactly what the file holds.
                    prop_assert_eq!(f.data.len() * 4 + 12, bytes.len());
                    prop_assert_eq!(f.data.len(), f.width * f.height * 2);
                }
            }
        }

        #[test]
        fn any_header_on_a_small_file_is_refused_or_exact(
            w in any::<i32>(), h in any::<i32>(), extra in 0usize..64,
        ) {
            let mut b = TAG.to_vec();
            b.extend_from_slice(&w.to_le_bytes());
            b.extend_from_slice(&h.to_le_bytes());
            b.resize(12 + extra * 4, 0);
            match decode_flo(&b, p()) {
                Ok(f) => prop_assert_eq!(f.width * f.height * 8 + 12, b.len()),
                Err(e) => prop_assert!(e.to_string().contains("t.flo")),
            }
        }
    }
}
