//! NumPy `.npy` ground truth.
//!
//! Three shapes of the same idea:
//! - MNAD consolidated frame labels (`frame_labels_ped2.npy`): all test videos
//!   concatenated, shape `(1, N)` or `(N,)`; split by the video list of
//!   [`ReadOptions`](super::ReadOptions). Written as little-endian int64 `(1, N)`,
//!   the layout MNAD's evaluation code indexes (`labels[0][start:end]`).
//! - ShanghaiTech per-video frame labels (`test_frame_mask/01_0014.npy`, shape `(F,)`),
//!   a folder of them is one video per file, named by the file stem. Written as
//!   little-endian int64 `(F,)`.
//! - ShanghaiTech per-video pixel masks (`test_pixel_mask/01_0014.npy`, shape
//!   `(F, H, W)`), read into `Dense` masks plus frame labels (any pixel set).
//!
//! Values of any bool, integer or float dtype; non-zero is anomalous.

use std::path::Path;

use rayon::prelude::*;

use super::{GroundTruth, Masks, ReadOptions, VideoTruth, MAX_FRAMES, MAX_MASK_SIDE};
use crate::error::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";
/// The most elements the non-zero axes of an empty array may span.
const MAX_EMPTY_EXTENT: usize = 1 << 24;

/// Element kinds of the dtypes we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
}

/// A parsed `.npy` array: its header and its raw element bytes (C order).
#[derive(Debug)]
pub(crate) struct NpyArray {
    pub shape: Vec<usize>,
    /// The dtype string as the header gives it (`<i8`, `|u1`).
    pub descr: String,
    kind: Kind,
    size: usize,
    big_endian: bool,
    data: Vec<u8>,
}

impl NpyArray {
    /// Parses a whole `.npy` file held in a slice. Errors name `path`.
    #[cfg(test)]
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        Self::from_vec(bytes.to_vec(), path)
    }

    /// Parses a whole `.npy` file, keeping its buffer for the data (pixel masks
    /// can be large: no second copy). Errors name `path`.
    pub fn from_vec(mut bytes: Vec<u8>, path: &Path) -> Result<Self> {
        let bad = |m: String| Error::format(path, m);
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return Err(bad("not a .npy file (no \\x93NUMPY magic)".into()));
        }
        let major = bytes[6];
        let (hlen, start) = match major {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
            2 | 3 => {
                if bytes.len() < 12 {
                    return Err(bad("truncated header".into()));
                }
                let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
                (n as usize, 12)
            }
            v => return Err(bad(format!("unsupported .npy version {v}"))),
        };
        let end = start
            .checked_add(hlen)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| bad("truncated header".into()))?;
        let header = std::str::from_utf8(&bytes[start..end])
            .map_err(|_| bad("header is not text".into()))?;
        let dict = parse_header(header).map_err(|m| bad(format!("header {header:?}: {m}")))?;

        let (kind, size, big_endian) = parse_descr(&dict.descr).map_err(bad)?;
        let count = dict
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| bad(format!("shape {} overflows", shape_text(&dict.shape))))?;
        // Fortran order only changes the layout when two or more axes exceed 1.
        if dict.fortran_order && dict.shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err(bad(format!(
                "Fortran-ordered array of shape {} is not supported; save it in C order",
                shape_text(&dict.shape)
            )));
        }
        let data_len = bytes.len() - end;
        // An empty array holds nothing, yet its other axes are sizes that
        // callers loop over and multiply (frames of H x W pixels): their
        // product is bounded as if the array were not empty. (A non-empty
        // array's axes multiply to its element count, checked against the
        // data below.)
        let extent = dict
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d.max(1)));
        if count == 0 && extent.is_none_or(|e| e > MAX_EMPTY_EXTENT) {
            return Err(bad(format!(
                "empty array of shape {}: the product of its other axes exceeds {MAX_EMPTY_EXTENT}",
                shape_text(&dict.shape)
            )));
        }
        let want = count
            .checked_mul(size)
            .ok_or_else(|| bad("array size overflows".into()))?;
        if data_len != want {
            return Err(bad(format!(
                "shape {} of {}-byte elements needs {want} data bytes, the file has {data_len}",
                shape_text(&dict.shape),
                size,
            )));
        }
        bytes.drain(..end);
        Ok(NpyArray {
            shape: dict.shape,
            descr: dict.descr,
            kind,
            size,
            big_endian,
            data: bytes,
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.size
    }

    /// Whether element `i` (flat, C order) is non-zero.
    pub fn nonzero(&self, i: usize) -> bool {
        let e = &self.data[i * self.size..(i + 1) * self.size];
        match self.kind {
            Kind::Bool | Kind::Int => e.iter().any(|&b| b != 0),
            // -0.0 is zero: ignore the sign bit, which sits in the most significant byte.
            Kind::Float => {
                let msb = if self.big_endian { 0 } else { e.len() - 1 };
                e.iter()
                    .enumerate()
                    .any(|(k, &b)| if k == msb { b & 0x7f != 0 } else { b != 0 })
            }
        }
    }

    /// All elements as `f64`, flat in C order (integers converted, booleans 0/1).
    pub fn to_f64(&self) -> Vec<f64> {
        let unsigned = self.descr.contains('u');
        self.data
            .chunks_exact(self.size)
            .map(|e| {
                let mut le = [0u8; 8];
                for (k, &x) in e.iter().enumerate() {
                    le[if self.big_endian { e.len() - 1 - k } else { k }] = x;
                }
                match (self.kind, self.size) {
                    (Kind::Float, 2) => {
                        f64::from(half::f16::from_le_bytes([le[0], le[1]]).to_f32())
                    }
                    (Kind::Float, 4) => f64::from(f32::from_le_bytes([le[0], le[1], le[2], le[3]])),
                    (Kind::Float, _) => f64::from_le_bytes(le),
                    (Kind::Bool, _) => f64::from(u8::from(le[0] != 0)),
                    (Kind::Int, _) if unsigned => u64::from_le_bytes(le) as f64,
                    (Kind::Int, n) => {
                        let shift = 64 - 8 * n as u32;
                        ((i64::from_le_bytes(le) << shift) >> shift) as f64
                    }
                }
            })
            .collect()
    }

    /// All elements as `f32`, flat in C order (integers converted, booleans 0/1).
    pub fn to_f32(&self) -> Vec<f32> {
        let unsigned = self.descr.contains('u');
        self.data
            .chunks_exact(self.size)
            .map(|e| {
                // The element's bytes, little-endian, in the low end of 8.
                let mut le = [0u8; 8];
                for (k, &x) in e.iter().enumerate() {
                    le[if self.big_endian { e.len() - 1 - k } else { k }] = x;
                }
                match (self.kind, self.size) {
                    (Kind::Float, 2) => half::f16::from_le_bytes([le[0], le[1]]).to_f32(),
                    (Kind::Float, 4) => f32::from_le_bytes([le[0], le[1], le[2], le[3]]),
                    (Kind::Float, _) => f64::from_le_bytes(le) as f32,
                    (Kind::Bool, _) => f32::from(u8::from(le[0] != 0)),
                    (Kind::Int, _) if unsigned => u64::from_le_bytes(le) as f32,
                    (Kind::Int, n) => {
                        // Sign-extend from the element's width.
                        let shift = 64 - 8 * n as u32;
                        ((i64::from_le_bytes(le) << shift) >> shift) as f32
                    }
                }
            })
            .collect()
    }

    /// All elements as labels, flat in C order.
    pub fn labels(&self) -> Vec<bool> {
        (0..self.len()).map(|i| self.nonzero(i)).collect()
    }

    /// Frame labels, which must be 0 or 1 (`false`/`true`): any other value
    /// (a score file given as labels, 255-valued masks) is an error naming the
    /// file, the first such frame and its value.
    pub fn frame_labels(&self, path: &Path) -> Result<Vec<bool>> {
        if let Some((i, v)) = self
            .to_f32()
            .into_iter()
            .enumerate()
            .find(|&(_, v)| v != 0.0 && v != 1.0)
        {
            return Err(Error::format(
                path,
                format!(
                    "frame {i}'s label is {v}: frame labels must be 0 or 1 (is this a \
                     score file, or masks?)"
                ),
            ));
        }
        Ok(self.labels())
    }

    /// Whether the shape is frame labels: `(N,)` or `(1, N)`.
    fn is_frame_labels(&self) -> bool {
        matches!(self.shape.as_slice(), [_] | [1, _])
    }
}

/// The three keys of a `.npy` header.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the Python dict literal of a `.npy` header.
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut p = Lexer {
        s: text.trim_end().as_bytes(),
        i: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        match key.as_str() {
            "descr" => descr = Some(p.string()?),
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            k => return Err(format!("unexpected key {k:?}")),
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    Ok(Header {
        descr: descr.ok_or("no 'descr'")?,
        fortran_order: fortran.ok_or("no 'fortran_order'")?,
        shape: shape.ok_or("no 'shape'")?,
    })
}

/// A tiny cursor over the header text.
struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.s.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let q = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a string at byte {}", self.i)),
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == q)
            .ok_or("unterminated string")?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        for (word, v) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(v);
            }
        }
        Err(format!("expected True or False at byte {}", self.i))
    }

    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut out = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                return Ok(out);
            }
            let start = self.i;
            while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            let n = digits
                .parse::<usize>()
                .map_err(|_| format!("expected a dimension at byte {start}"))?;
            out.push(n);
            self.ws();
            if !self.eat(b',') {
                self.ws();
                self.expect(b')')?;
                return Ok(out);
            }
        }
    }
}

/// Parses a dtype string like `<i8`, `|u1`, `>f4`, `|b1`.
fn parse_descr(d: &str) -> std::result::Result<(Kind, usize, bool), String> {
    let unsupported = || {
        format!("unsupported dtype {d:?} (expected b1, i1/u1, i2/u2, i4/u4, i8/u8, f2, f4 or f8)")
    };
    let b = d.as_bytes();
    let (order, rest) = match b.first() {
        Some(&c @ (b'<' | b'>' | b'|' | b'=')) => (c, &b[1..]),
        _ => (b'=', b),
    };
    let (kind, size) = match rest {
        b"b1" | b"?" => (Kind::Bool, 1),
        [b'i' | b'u', n @ (b'1' | b'2' | b'4' | b'8')] => (Kind::Int, (n - b'0') as usize),
        [b'f', n @ (b'2' | b'4' | b'8')] => (Kind::Float, (n - b'0') as usize),
        _ => return Err(unsupported()),
    };
    let big_endian = match order {
        b'>' => true,
        b'<' | b'|' => false,
        _ => cfg!(target_endian = "big"),
    };
    Ok((kind, size, big_endian))
}

/// A shape as NumPy prints it: `(1, 2010)`, `(40791,)`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Encodes a version-1 `.npy` file (header padded to 64 bytes, as NumPy does).
pub(crate) fn encode(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims = shape_text(shape);
    let py_bool = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {py_bool}, 'shape': {dims}, }}");
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Labels as little-endian int64 bytes.
fn int64_bytes(labels: &[bool]) -> Vec<u8> {
    labels
        .iter()
        .flat_map(|&l| i64::from(l).to_le_bytes())
        .collect()
}

pub(crate) fn read_array(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    NpyArray::from_vec(bytes, path)
}

/// The file stem, as a video name.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads one `.npy` file: consolidated labels (split by `opts.videos`) or, for a
/// 3-D array, the pixel masks of one video named by the file stem.
pub(crate) fn read_file(path: &Path, opts: &ReadOptions) -> Result<GroundTruth> {
    let arr = read_array(path)?;
    if arr.shape.len() == 3 {
        return Ok(GroundTruth {
            videos: vec![pixel_video(&arr, stem(path), opts, path)?],
            provenance: None,
        });
    }
    if !arr.is_frame_labels() {
        return Err(shape_error(path, &arr));
    }
    let labels = arr.frame_labels(path)?;
    let provenance = Some(format!(
        "{} (npy, dtype {}, shape {})",
        path.display(),
        arr.descr,
        shape_text(&arr.shape)
    ));
    let videos = match &opts.videos {
        None => vec![VideoTruth::from_labels(stem(path), &labels)],
        Some(list) => {
            let total: usize = list.iter().map(|(_, n)| n).sum();
            if total != labels.len() {
                return Err(Error::format(
                    path,
                    format!(
                        "holds {} frame labels but the {} videos' frame counts sum to {total}",
                        labels.len(),
                        list.len()
                    ),
                ));
            }
            let mut at = 0;
            list.iter()
                .map(|(name, n)| {
                    let v = VideoTruth::from_labels(name.clone(), &labels[at..at + n]);
                    at += n;
                    v
                })
                .collect()
        }
    };
    Ok(GroundTruth { videos, provenance })
}

fn shape_error(path: &Path, arr: &NpyArray) -> Error {
    Error::format(
        path,
        format!(
            "shape {} is neither frame labels (N,) / (1, N) nor pixel masks (F, H, W)",
            shape_text(&arr.shape)
        ),
    )
}

/// A video from an `(F, H, W)` pixel-mask array: H and W 1 to
/// [`MAX_MASK_SIDE`], F at most [`MAX_FRAMES`].
fn pixel_video(
    arr: &NpyArray,
    name: String,
    opts: &ReadOptions,
    path: &Path,
) -> Result<VideoTruth> {
    let (f, h, w) = (arr.shape[0], arr.shape[1], arr.shape[2]);
    let side = 1..=MAX_MASK_SIDE;
    if !side.contains(&h) || !side.contains(&w) {
        return Err(Error::format(
            path,
            format!(
                "pixel masks of shape {}: mask size {w}x{h} is out of range (allowed: 1 to {MAX_MASK_SIDE} a side)",
                shape_text(&arr.shape)
            ),
        ));
    }
    if f > MAX_FRAMES {
        return Err(Error::format(
            path,
            format!("pixel masks of {f} frames: out of range (allowed: 0 to {MAX_FRAMES})"),
        ));
    }
    let px = h * w;
    let frames: Vec<Option<Vec<u8>>> = (0..f)
        .into_par_iter()
        .map(|k| Masks::pack_bits((k * px..(k + 1) * px).map(|i| arr.nonzero(i)), px))
        .collect();
    let labels: Vec<bool> = frames.iter().map(Option::is_some).collect();
    let mut v = VideoTruth::from_labels(name, &labels);
    if !opts.skip_masks {
        v.masks = Some(Masks::Dense {
            width: w,
            height: h,
            frames,
        });
    }
    Ok(v)
}

/// Reads a folder of per-video `.npy` files (frame labels or pixel masks), one
/// video per file named by its stem, in natural order.
pub(crate) fn read_folder(dir: &Path, opts: &ReadOptions) -> Result<GroundTruth> {
    let files = super::masks::list_files(dir, &["npy"])?;
    if files.is_empty() {
        return Err(Error::format(dir, "no .npy files in this folder"));
    }
    let videos = files
        .par_iter()
        .map(|path| {
            let arr = read_array(path)?;
            match arr.shape.len() {
                3 => pixel_video(&arr, stem(path), opts, path),
                _ if arr.is_frame_labels() => Ok(VideoTruth::from_labels(
                    stem(path),
                    &arr.frame_labels(path)?,
                )),
                _ => Err(shape_error(path, &arr)),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(GroundTruth {
        videos,
        provenance: None,
    })
}

/// Per-video labels for writing; every video needs its frame count.
fn video_labels(v: &VideoTruth, path: &Path) -> Result<Vec<bool>> {
    let n = v.num_frames.ok_or_else(|| {
        Error::invalid(format!(
            "{}: video {:?} has no frame count, which .npy labels need \
             (give the videos, e.g. --videos-from)",
            path.display(),
            v.name
        ))
    })?;
    Ok(v.labels(n))
}

/// Encodes the consolidated MNAD form: int64, shape `(1, N)`.
pub(crate) fn encode_consolidated(gt: &GroundTruth, path: &Path) -> Result<Vec<u8>> {
    let mut labels = Vec::new();
    for v in &gt.videos {
        labels.extend(video_labels(v, path)?);
    }
    Ok(encode(
        "<i8",
        false,
        &[1, labels.len()],
        &int64_bytes(&labels),
    ))
}

/// Writes one `NAME.npy` of int64 `(F,)` labels per video into `dir`.
pub(crate) fn write_folder(gt: &GroundTruth, dir: &Path) -> Result<()> {
    for v in &gt.videos {
        let file = dir.join(format!("{}.npy", super::io::safe_file_name(&v.name, dir)?));
        let labels = video_labels(v, &file)?;
        let bytes = encode("<i8", false, &[labels.len()], &int64_bytes(&labels));
        std::fs::write(&file, bytes).map_err(|e| Error::io(&file, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p() -> &'static Path {
        Path::new("t.npy")
    }

    #[test]
    fn parses_every_dtype_and_endianness() {
        let vals = [0i64, 1, 0, 3];
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("|b1", vals.iter().map(|&v| (v != 0) as u8).collect()),
            ("|i1", vals.iter().map(|&v| v as u8).collect()),
            ("|u1", vals.iter().map(|&v| v as u8).collect()),
            (
                "<i2",
                vals.iter()
                    .flat_map(|&v| (v as i16).to_le_bytes())
                    .collect(),
            ),
            (
                ">u2",
                vals.iter()
                    .flat_map(|&v| (v as u16).to_be_bytes())
                    .collect(),
            ),
            (
                "<i4",
                vals.iter()
                    .flat_map(|&v| (v as i32).to_le_bytes())
                    .collect(),
            ),
            (
                ">u4",
                vals.iter()
                    .flat_map(|&v| (v as u32).to_be_bytes())
                    .collect(),
            ),
            (">i8", vals.iter().flat_map(|&v| v.to_be_bytes()).collect()),
            (
                "<u8",
                vals.iter()
                    .flat_map(|&v| (v as u64).to_le_bytes())
                    .collect(),
            ),
            (
                ">f4",
                vals.iter()
                    .flat_map(|&v| (v as f32).to_be_bytes())
                    .collect(),
            ),
            (
                "<f8",
                vals.iter()
                    .flat_map(|&v| (v as f64).to_le_bytes())
                    .collect(),
            ),
        ];
        for (descr, data) in cases {
            for shape in [vec![4], vec![1, 4]] {
                let a = NpyArray::parse(&encode(descr, false, &shape, &data), p()).unwrap();
                assert_eq!(a.labels(), [false, true, false, true], "{descr} {shape:?}");
            }
        }
    }

    #[test]
    fn frame_labels_other_than_zero_and_one_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.npy");
        let data: Vec<u8> = [0.0f32, 1.0, 0.73]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        std::fs::write(&path, encode("<f4", false, &[3], &data)).unwrap();
        let err = read_file(&path, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("labels.npy") && err.contains("frame 2") && err.contains("0.73"),
            "{err}"
        );
        std::fs::write(&path, encode("|u1", false, &[3], &[0, 1, 1])).unwrap();
        assert!(read_file(&path, &ReadOptions::default()).is_ok());
    }

    #[test]
    fn negative_zero_is_zero() {
        let data: Vec<u8> = [-0.0f32, 0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = NpyArray::parse(&encode("<f4", false, &[2], &data), p()).unwrap();
        assert_eq!(a.labels(), [false, true]);
        let data: Vec<u8> = [-0.0f64, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a = NpyArray::parse(&encode(">f8", false, &[2], &data), p()).unwrap();
        assert_eq!(a.labels(), [false, true]);
    }

    #[test]
    fn values_convert_to_f32_from_every_dtype() {
        let p = Path::new("v.npy");
        let cases: [(&str, Vec<u8>, Vec<f32>); 5] = [
            (">i2", vec![0xff, 0xfe, 0x00, 0x05], vec![-2.0, 5.0]),
            ("<u2", vec![0xfe, 0xff], vec![65534.0]),
            (
                "<f2",
                half::f16::from_f32(-0.375).to_le_bytes().to_vec(),
                vec![-0.375],
            ),
            ("<f8", 2.5f64.to_le_bytes().to_vec(), vec![2.5]),
            ("|b1", vec![0, 1], vec![0.0, 1.0]),
        ];
        for (descr, data, want) in cases {
            let size = if descr.ends_with('1') {
                1
            } else {
                data.len() / want.len()
            };
            let bytes = encode(descr, false, &[data.len() / size], &data);
            let arr = NpyArray::parse(&bytes, p).unwrap();
            assert_eq!(arr.to_f32(), want, "{descr}");
        }
    }

    #[test]
    fn header_is_aligned_and_readable() {
        let bytes = encode("<i8", false, &[1, 3], &int64_bytes(&[true, false, true]));
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(bytes[10 + hlen - 1], b'\n');
        let a = NpyArray::parse(&bytes, p()).unwrap();
        assert_eq!(a.shape, [1, 3]);
    }

    #[test]
    fn rejects_malformed_files() {
        let good = encode("|u1", false, &[2, 3], &[0; 6]);
        let err = |b: &[u8]| NpyArray::parse(b, p()).unwrap_err().to_string();
        assert!(err(b"PK\x03\x04 not numpy").contains("magic"));
        assert!(err(&good[..good.len() - 1]).contains("needs 6 data bytes"));
        assert!(err(&good[..40]).contains("truncated header"));
        let e = err(&encode("<c16", false, &[2], &[0; 32]));
        assert!(
            e.contains("unsupported dtype") && e.contains("t.npy"),
            "{e}"
        );
        assert!(err(&encode("|u1", true, &[2, 3], &[0; 6])).contains("Fortran"));
        // Fortran order of a vector is the same layout, so it is accepted.
        assert!(NpyArray::parse(&encode("|u1", true, &[1, 6], &[0; 6]), p()).is_ok());
        let mut bad = good.clone();
        bad[12] = b'#';
        assert!(err(&bad).contains("header"));
    }

    #[test]
    fn consolidated_is_split_by_the_video_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.npy");
        let labels = [0u8, 1, 1, 0, 0, 1];
        std::fs::write(&path, encode("|u1", false, &[6], &labels)).unwrap();
        let opts = ReadOptions {
            videos: Some(vec![("a".into(), 4), ("b".into(), 2)]),
            ..Default::default()
        };
        let gt = read_file(&path, &opts).unwrap();
        assert_eq!(gt.videos.len(), 2);
        assert_eq!(gt.videos[0].labels(4), [false, true, true, false]);
        assert_eq!(gt.videos[1].labels(2), [false, true]);
        let opts = ReadOptions {
            videos: Some(vec![("a".into(), 4)]),
            ..Default::default()
        };
        let e = read_file(&path, &opts).unwrap_err().to_string();
        assert!(e.contains("labels.npy") && e.contains("sum to 4"), "{e}");
        let one = read_file(&path, &ReadOptions::default()).unwrap();
        assert_eq!(one.videos[0].name, "labels");
        assert_eq!(one.videos[0].num_frames, Some(6));
    }

    #[test]
    fn pixel_masks_become_dense_masks_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("01_0014.npy");
        // 3 frames of 2x3; frame 1 has pixel (x=2, y=1) set.
        let mut data = vec![0u8; 18];
        data[6 + 3 + 2] = 1;
        std::fs::write(&path, encode("|b1", false, &[3, 2, 3], &data)).unwrap();
        let gt = read_file(&path, &ReadOptions::default()).unwrap();
        let v = &gt.videos[0];
        assert_eq!(v.name, "01_0014");
        assert_eq!(v.labels(3), [false, true, false]);
        let Some(Masks::Dense {
            width: 3,
            height: 2,
            frames,
        }) = &v.masks
        else {
            panic!("no dense masks: {:?}", v.masks)
        };
        assert!(frames[0].is_none() && frames[2].is_none());
        let bits = Masks::unpack_bits(frames[1].as_ref().unwrap(), 6);
        assert_eq!(bits, [false, false, false, false, false, true]);
    }

    #[test]
    fn huge_shapes_fail_before_allocating() {
        let err = |b: &[u8]| NpyArray::parse(b, p()).unwrap_err().to_string();
        // Empty arrays whose other axes would be looped over or multiplied.
        for shape in [
            vec![0, 1 << 40, 1 << 40],
            vec![1_000_000_000_000_000_000, 0, 5],
            vec![0, usize::MAX, 2],
        ] {
            let e = err(&encode("|u1", false, &shape, &[]));
            assert!(
                e.contains("t.npy") && e.contains("empty array"),
                "{shape:?}: {e}"
            );
        }
        // A header claiming far more than the file holds.
        let e = err(&encode("<f8", false, &[1 << 40], &[0; 16]));
        assert!(
            e.contains("needs 8796093022208 data bytes, the file has 16"),
            "{e}"
        );
        let e = err(&encode("<f8", false, &[usize::MAX, 3], &[0; 16]));
        assert!(e.contains("overflows"), "{e}");
        // Masks of zero-sized frames, or wider than any mask, as a video.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npy");
        for (shape, data) in [
            (vec![3, 0, 5], vec![]),
            (vec![1, 1, 20000], vec![0u8; 20000]),
        ] {
            std::fs::write(&path, encode("|u1", false, &shape, &data)).unwrap();
            let e = read_file(&path, &ReadOptions::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("m.npy") && e.contains("1 to 16384"),
                "{shape:?}: {e}"
            );
        }
    }

    proptest! {
        #[test]
        fn parsed_arrays_fit_in_their_files(
            shape in proptest::collection::vec(prop_oneof![0usize..4, any::<usize>()], 0..4),
            data in proptest::collection::vec(any::<u8>(), 0..64),
            descr in prop_oneof![Just("|u1"), Just("<i2"), Just(">f4"), Just("<f8")],
        ) {
            let bytes = encode(descr, false, &shape, &data);
            if let Ok(a) = NpyArray::parse(&bytes, p()) {
                // Whatever parses holds no more elements than the file's bytes, and
                // its axes (zeros counted as one) multiply to a bounded extent.
                prop_assert!(a.len() <= bytes.len());
                let extent = a.shape.iter().try_fold(1usize, |x, &d| x.checked_mul(d.max(1)));
                prop_assert!(extent.is_some_and(|e| e <= bytes.len().max(MAX_EMPTY_EXTENT)));
                prop_assert_eq!(a.to_f64().len(), a.len());
            }
        }

        #[test]
        fn mutated_files_never_panic(
            n in 0usize..20,
            flips in proptest::collection::vec((0usize..200, any::<u8>()), 0..8),
            cut in 0usize..200,
        ) {
            let mut b = encode("<i2", false, &[1, n], &vec![1u8; 2 * n]);
            for (i, v) in flips {
                if let Some(x) = b.get_mut(i) {
                    *x = v;
                }
            }
            b.truncate(cut.max(1).min(b.len()));
            let _ = NpyArray::parse(&b, p());
        }

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&b);
            let _ = NpyArray::parse(&b, p());
            let _ = NpyArray::parse(&with_magic, p());
        }
    }
}
