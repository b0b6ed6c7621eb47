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
    if w <= 0 || h <= 0 || w as usize > MAX_SIDE || h as usize > MAX_SIDE {
        return Err(Error::format(path, format!("invalid .flo size {w}x{h}")));
    }
    let (w, h) = (w as usize, h as usize);
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
