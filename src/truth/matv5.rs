//! MATLAB level-5 MAT-files (the format of `save -v7` and older): a reader of the
//! part that ground truth uses — numeric, logical, char and cell arrays, compressed
//! (`miCOMPRESSED`) or not, small-element tags, either byte order — and a writer.
//! Structs, sparse and object arrays are recognised and skipped. MATLAB v7.3 files
//! are HDF5 and are refused with a message that says so.
//!
//! Arrays are column-major, as MATLAB stores them.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

// Data types of elements (tags).
const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MI_UTF8: u32 = 16;
const MI_UTF16: u32 = 17;
const MI_UTF32: u32 = 18;

// Array classes.
const MX_CELL: u8 = 1;
const MX_CHAR: u8 = 4;
const MX_DOUBLE: u8 = 6;
const MX_UINT8: u8 = 9;

const LOGICAL_FLAG: u32 = 0x200;
/// The most bytes one compressed variable may inflate to.
const MAX_INFLATED: u64 = 8 << 30;
/// Deeper nesting than this is refused (no real ground truth nests cells that far).
const MAX_DEPTH: usize = 16;

/// A value read from a MAT-file, borrowing its numeric data from the file buffer.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    /// A numeric or logical array.
    Numeric(Numeric<'a>),
    /// A cell array; items in column-major order.
    Cell {
        dims: Vec<usize>,
        items: Vec<Value<'a>>,
    },
    /// A char array, as text.
    Char { text: String },
    /// Anything else (struct, sparse, object): present but not interpreted.
    Other { class: u8 },
}

/// A numeric (or logical) array: its class, dimensions and stored elements.
#[derive(Debug)]
pub(crate) struct Numeric<'a> {
    pub dims: Vec<usize>,
    /// Logical (MATLAB `true`/`false`) rather than numeric; informative only.
    #[cfg_attr(not(test), allow(dead_code))]
    pub logical: bool,
    storage: u32,
    size: usize,
    big_endian: bool,
    data: &'a [u8],
}

impl Numeric<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.size
    }

    /// Element `i` (column-major) as a double.
    pub fn get(&self, i: usize) -> f64 {
        let e = &self.data[i * self.size..(i + 1) * self.size];
        let mut b = [0u8; 8];
        b[..self.size].copy_from_slice(e);
        if self.big_endian {
            b[..self.size].reverse();
        }
        // `b` now holds the element little-endian in its first `size` bytes.
        let [b0, b1, b2, b3, ..] = b;
        match self.storage {
            MI_INT8 => f64::from(b0 as i8),
            MI_UINT8 => f64::from(b0),
            MI_INT16 => f64::from(i16::from_le_bytes([b0, b1])),
            MI_UINT16 => f64::from(u16::from_le_bytes([b0, b1])),
            MI_INT32 => f64::from(i32::from_le_bytes([b0, b1, b2, b3])),
            MI_UINT32 => f64::from(u32::from_le_bytes([b0, b1, b2, b3])),
            MI_SINGLE => f64::from(f32::from_le_bytes([b0, b1, b2, b3])),
            MI_INT64 => i64::from_le_bytes(b) as f64,
            MI_UINT64 => u64::from_le_bytes(b) as f64,
            _ => f64::from_le_bytes(b),
        }
    }

    /// Whether element `i` is non-zero (NaN counts as non-zero, as in MATLAB).
    pub fn nonzero(&self, i: usize) -> bool {
        let v = self.get(i);
        v != 0.0
    }
}

fn storage_size(t: u32) -> Option<usize> {
    Some(match t {
        MI_INT8 | MI_UINT8 => 1,
        MI_INT16 | MI_UINT16 => 2,
        MI_INT32 | MI_UINT32 | MI_SINGLE => 4,
        MI_DOUBLE | MI_INT64 | MI_UINT64 => 8,
        _ => return None,
    })
}

/// A cursor over a run of data elements.
struct Elements<'a> {
    b: &'a [u8],
    pos: usize,
    be: bool,
}

impl<'a> Elements<'a> {
    fn u32_at(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.be {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// The next element: its type and data.
    fn next(&mut self) -> std::result::Result<(u32, &'a [u8]), String> {
        let at = self.pos;
        let first = self.u32_at(at).ok_or("truncated element tag")?;
        if first >> 16 != 0 {
            // Small element: type and length share the first word, data the second.
            let (t, n) = (first & 0xffff, (first >> 16) as usize);
            if n > 4 {
                return Err(format!("small element of {n} bytes at offset {at}"));
            }
            let data = self.b.get(at + 4..at + 4 + n).ok_or("truncated element")?;
            self.pos = at + 8;
            return Ok((t, data));
        }
        let n = self.u32_at(at + 4).ok_or("truncated element tag")? as usize;
        let data = at
            .checked_add(8 + n)
            .and_then(|end| self.b.get(at + 8..end))
            .ok_or_else(|| format!("element of {n} bytes at offset {at} runs past the end"))?;
        self.pos = at + 8 + n;
        if first != MI_COMPRESSED {
            // Elements are padded to 8 bytes; tolerate a missing pad at the very end.
            self.pos = self.pos.div_ceil(8) * 8;
        }
        Ok((first, data))
    }

    fn expect(&mut self, what: &str, types: &[u32]) -> std::result::Result<&'a [u8], String> {
        let (t, data) = self.next().map_err(|e| format!("{what}: {e}"))?;
        if types.contains(&t) {
            Ok(data)
        } else {
            Err(format!("{what}: unexpected data type {t}"))
        }
    }

    fn words(&self, data: &[u8]) -> Vec<u32> {
        let sub = Elements {
            b: data,
            pos: 0,
            be: self.be,
        };
        (0..data.len() / 4)
            .filter_map(|i| sub.u32_at(4 * i))
            .collect()
    }
}

/// Reads the top-level variables of a MAT-file, calling `visit(name, value)` for
/// each until it returns `Ok(true)` (stop). Errors name `path`.
pub(crate) fn visit(
    bytes: &[u8],
    path: &Path,
    mut visit: impl FnMut(&str, Value<'_>) -> Result<bool>,
) -> Result<()> {
    let bad = |m: String| Error::format(path, m);
    if bytes.len() < 128 {
        return Err(bad(
            "not a MAT-file (shorter than its 128-byte header)".into()
        ));
    }
    let be = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        _ => {
            return Err(bad(
                "not a MATLAB v5/v7 MAT-file (no endian indicator)".into()
            ))
        }
    };
    let version = if be {
        u16::from_be_bytes([bytes[124], bytes[125]])
    } else {
        u16::from_le_bytes([bytes[124], bytes[125]])
    };
    if version == 0x0200 {
        return Err(bad(
            "MATLAB v7.3 (HDF5) MAT-files are not supported; save with -v7".into(),
        ));
    }
    if version != 0x0100 {
        return Err(bad(format!("unknown MAT-file version {version:#06x}")));
    }
    let mut top = Elements {
        b: &bytes[128..],
        pos: 0,
        be,
    };
    while !top.done() {
        let at = top.pos + 128;
        let (t, data) = top.next().map_err(|m| bad(format!("at byte {at}: {m}")))?;
        let stop = match t {
            MI_MATRIX => {
                let (name, value) =
                    matrix(data, be, 0).map_err(|m| bad(format!("at byte {at}: {m}")))?;
                visit(&name, value)?
            }
            MI_COMPRESSED => {
                let mut inflated = Vec::new();
                // Deflate expands at most about 1032:1, so what this takes is
                // bounded by the input; the cap stops a hostile stream at 8 GiB
                // (an Avenue mask volume inflates to well under that).
                flate2::read::ZlibDecoder::new(data)
                    .take(MAX_INFLATED + 1)
                    .read_to_end(&mut inflated)
                    .map_err(|e| bad(format!("compressed variable at byte {at}: {e}")))?;
                if inflated.len() as u64 > MAX_INFLATED {
                    return Err(bad(format!(
                        "compressed variable at byte {at} inflates to more than {MAX_INFLATED} bytes"
                    )));
                }
                let mut inner = Elements {
                    b: &inflated,
                    pos: 0,
                    be,
                };
                let ctx = |m: String| bad(format!("compressed variable at byte {at}: {m}"));
                let body = inner.expect("variable", &[MI_MATRIX]).map_err(ctx)?;
                let (name, value) = matrix(body, be, 0).map_err(ctx)?;
                visit(&name, value)?
            }
            _ => false,
        };
        if stop {
            break;
        }
    }
    Ok(())
}

/// Parses the body of an `miMATRIX` element into its name and value.
fn matrix(body: &[u8], be: bool, depth: usize) -> std::result::Result<(String, Value<'_>), String> {
    if depth > MAX_DEPTH {
        return Err("cells nested too deeply".into());
    }
    if body.is_empty() {
        // An empty element is an empty array (MATLAB writes `[]` cells this way).
        let empty = Numeric {
            dims: vec![0, 0],
            logical: false,
            storage: MI_DOUBLE,
            size: 8,
            big_endian: be,
            data: &[],
        };
        return Ok((String::new(), Value::Numeric(empty)));
    }
    let mut el = Elements {
        b: body,
        pos: 0,
        be,
    };
    let flags_raw = el.expect("array flags", &[MI_UINT32])?;
    let flags = el.words(flags_raw);
    let flags = *flags.first().ok_or("array flags: too short")?;
    let class = (flags & 0xff) as u8;
    let dims_raw = el.expect("dimensions", &[MI_INT32])?;
    let dims: Vec<usize> = el
        .words(dims_raw)
        .into_iter()
        .map(|d| d as i32)
        .map(|d| d.max(0) as usize)
        .collect();
    if dims.len() < 2 {
        return Err(format!("{} dimensions (at least 2 expected)", dims.len()));
    }
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("dimensions overflow")?;
    let name_raw = el.expect("array name", &[MI_INT8, MI_UINT8, MI_UTF8])?;
    let name = String::from_utf8_lossy(name_raw).into_owned();
    let value = match class {
        MX_CELL => {
            let mut items = Vec::with_capacity(count.min(1 << 16));
            for i in 0..count {
                let item = el
                    .expect("cell item", &[MI_MATRIX])
                    .map_err(|e| format!("cell item {}: {e}", i + 1))?;
                items.push(matrix(item, be, depth + 1)?.1);
            }
            Value::Cell { dims, items }
        }
        MX_CHAR => {
            let (t, data) = el.next().map_err(|e| format!("char data: {e}"))?;
            let text = match t {
                MI_UTF8 | MI_UINT8 | MI_INT8 => String::from_utf8_lossy(data).into_owned(),
                MI_UINT16 | MI_UTF16 => {
                    let units: Vec<u16> = data
                        .chunks_exact(2)
                        .map(|c| {
                            if be {
                                u16::from_be_bytes([c[0], c[1]])
                            } else {
                                u16::from_le_bytes([c[0], c[1]])
                            }
                        })
                        .collect();
                    String::from_utf16_lossy(&units)
                }
                MI_UTF32 => el
                    .words(data)
                    .into_iter()
                    .filter_map(char::from_u32)
                    .collect(),
                t => return Err(format!("char data of type {t}")),
            };
            Value::Char { text }
        }
        6..=15 => {
            let (storage, data) = el.next().map_err(|e| format!("numeric data: {e}"))?;
            let size = storage_size(storage).ok_or(format!("numeric data of type {storage}"))?;
            if data.len() != count.saturating_mul(size) {
                return Err(format!(
                    "{dims:?} array needs {count} elements, its data holds {} bytes of {size}-byte values",
                    data.len()
                ));
            }
            Value::Numeric(Numeric {
                dims,
                logical: flags & LOGICAL_FLAG != 0,
                storage,
                size,
                big_endian: be,
                data,
            })
        }
        class => Value::Other { class },
    };
    Ok((name, value))
}

/// A value to write.
#[derive(Debug, Clone)]
pub(crate) enum Out {
    /// A double array (column-major); stored in the smallest integer type that
    /// holds every value exactly, as MATLAB does.
    Double { dims: Vec<usize>, values: Vec<f64> },
    /// A logical array (column-major), 0 or 1 per element.
    #[cfg_attr(not(test), allow(dead_code))]
    Logical { dims: Vec<usize>, values: Vec<u8> },
    /// A 1xN char array.
    Char(String),
    /// A cell array (column-major items).
    Cell { dims: Vec<usize>, items: Vec<Out> },
}

/// A MAT-file writer in one byte order.
struct Writer {
    be: bool,
}

impl Writer {
    fn u32(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Appends an element, in small format when its data fits in 4 bytes.
    fn element(&self, out: &mut Vec<u8>, t: u32, data: &[u8]) {
        if (1..=4).contains(&data.len()) {
            out.extend_from_slice(&self.u32(t | (data.len() as u32) << 16));
            let mut word = [0u8; 4];
            word[..data.len()].copy_from_slice(data);
            out.extend_from_slice(&word);
            return;
        }
        out.extend_from_slice(&self.u32(t));
        out.extend_from_slice(&self.u32(data.len() as u32));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(8) * 8, 0);
    }

    fn matrix(&self, out: &mut Vec<u8>, name: &str, v: &Out) {
        let mut body = Vec::new();
        let (class, flags, dims): (u8, u32, Vec<usize>) = match v {
            Out::Double { dims, .. } => (MX_DOUBLE, 0, dims.clone()),
            Out::Logical { dims, .. } => (MX_UINT8, LOGICAL_FLAG, dims.clone()),
            Out::Char(s) => (MX_CHAR, 0, vec![1, s.encode_utf16().count()]),
            Out::Cell { dims, .. } => (MX_CELL, 0, dims.clone()),
        };
        let words = |ws: &[u32]| ws.iter().flat_map(|&w| self.u32(w)).collect::<Vec<u8>>();
        self.element(&mut body, MI_UINT32, &words(&[u32::from(class) | flags, 0]));
        let dims: Vec<u32> = dims.iter().map(|&d| d as u32).collect();
        self.element(&mut body, MI_INT32, &words(&dims));
        self.element(&mut body, MI_INT8, name.as_bytes());
        match v {
            Out::Double { values, .. } => {
                let (t, data) = self.compact(values);
                self.element(&mut body, t, &data);
            }
            Out::Logical { values, .. } => self.element(&mut body, MI_UINT8, values),
            Out::Char(s) => {
                let units: Vec<u8> = s
                    .encode_utf16()
                    .flat_map(|u| {
                        if self.be {
                            u.to_be_bytes()
                        } else {
                            u.to_le_bytes()
                        }
                    })
                    .collect();
                self.element(&mut body, MI_UINT16, &units);
            }
            Out::Cell { items, .. } => {
                for item in items {
                    self.matrix(&mut body, "", item);
                }
            }
        }
        out.extend_from_slice(&self.u32(MI_MATRIX));
        out.extend_from_slice(&self.u32(body.len() as u32));
        out.extend_from_slice(&body);
    }

    /// Doubles in the smallest exact storage type.
    fn compact(&self, values: &[f64]) -> (u32, Vec<u8>) {
        let integral = values.iter().all(|v| v.fract() == 0.0);
        let fits = |lo: f64, hi: f64| integral && values.iter().all(|&v| (lo..=hi).contains(&v));
        let be = self.be;
        if fits(0.0, 255.0) {
            (MI_UINT8, values.iter().map(|&v| v as u8).collect())
        } else if fits(0.0, 65535.0) {
            let b = |v: f64| {
                if be {
                    (v as u16).to_be_bytes()
                } else {
                    (v as u16).to_le_bytes()
                }
            };
            (MI_UINT16, values.iter().flat_map(|&v| b(v)).collect())
        } else if fits(f64::from(i32::MIN), f64::from(i32::MAX)) {
            let b = |v: f64| {
                if be {
                    (v as i32).to_be_bytes()
                } else {
                    (v as i32).to_le_bytes()
                }
            };
            (MI_INT32, values.iter().flat_map(|&v| b(v)).collect())
        } else {
            let b = |v: f64| if be { v.to_be_bytes() } else { v.to_le_bytes() };
            (MI_DOUBLE, values.iter().flat_map(|&v| b(v)).collect())
        }
    }
}

/// Encodes a MAT-file holding `vars`; each variable `miCOMPRESSED` when `compress`.
pub(crate) fn encode(vars: &[(&str, Out)], compress: bool, big_endian: bool) -> Vec<u8> {
    let w = Writer { be: big_endian };
    let mut text = format!(
        "MATLAB 5.0 MAT-file, Platform: {}, Created by: vadscope {}",
        std::env::consts::OS,
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    text.resize(116, b' ');
    let mut out = text;
    out.extend_from_slice(&[0u8; 8]);
    let (version, endian) = if big_endian {
        ([0x01, 0x00], *b"MI")
    } else {
        ([0x00, 0x01], *b"IM")
    };
    out.extend_from_slice(&version);
    out.extend_from_slice(&endian);
    for (name, v) in vars {
        let mut m = Vec::new();
        w.matrix(&mut m, name, v);
        if compress {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing to a Vec cannot fail.
            let _ = z.write_all(&m);
            let packed = z.finish().unwrap_or_default();
            out.extend_from_slice(&w.u32(MI_COMPRESSED));
            out.extend_from_slice(&w.u32(packed.len() as u32));
            out.extend_from_slice(&packed);
        } else {
            out.extend_from_slice(&m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p() -> &'static Path {
        Path::new("t.mat")
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        visit(bytes, p(), |name, v| {
            seen.push(format!("{name}={}", describe(&v)));
            Ok(false)
        })?;
        Ok(seen)
    }

    fn describe(v: &Value<'_>) -> String {
        match v {
            Value::Numeric(n) => {
                let vals: Vec<String> = (0..n.len()).map(|i| n.get(i).to_string()).collect();
                format!(
                    "{}{:?}[{}]",
                    if n.logical { "L" } else { "N" },
                    n.dims,
                    vals.join(" ")
                )
            }
            Value::Cell { dims, items } => {
                let inner: Vec<String> = items.iter().map(describe).collect();
                format!("C{dims:?}{{{}}}", inner.join(","))
            }
            Value::Char { text } => format!("'{text}'"),
            Value::Other { class } => format!("other{class}"),
        }
    }

    fn sample() -> Vec<(&'static str, Out)> {
        let d = |dims: Vec<usize>, values: Vec<f64>| Out::Double { dims, values };
        vec![
            ("a", d(vec![2, 1], vec![61.0, 180.0])),
            ("big", d(vec![1, 3], vec![1.0, 70000.0, -2.0])),
            ("frac", d(vec![1, 2], vec![0.5, 300.0])),
            ("w", d(vec![1, 2], vec![1.0, 1000.0])),
            ("e", d(vec![2, 0], vec![])),
            (
                "l",
                Out::Logical {
                    dims: vec![1, 3],
                    values: vec![1, 0, 1],
                },
            ),
            ("s", Out::Char("Tést".into())),
            (
                "c",
                Out::Cell {
                    dims: vec![1, 2],
                    items: vec![d(vec![1, 1], vec![7.0]), Out::Char("x".into())],
                },
            ),
        ]
    }

    #[test]
    fn round_trips_in_every_mode() {
        let want = [
            "a=N[2, 1][61 180]",
            "big=N[1, 3][1 70000 -2]",
            "frac=N[1, 2][0.5 300]",
            "w=N[1, 2][1 1000]",
            "e=N[2, 0][]",
            "l=L[1, 3][1 0 1]",
            "s='Tést'",
            "c=C[1, 2]{N[1, 1][7],'x'}",
        ];
        for compress in [false, true] {
            for be in [false, true] {
                let got = read_all(&encode(&sample(), compress, be)).unwrap();
                assert_eq!(got, want, "compress={compress} be={be}");
            }
        }
    }

    #[test]
    fn small_elements_match_matlab_layout() {
        // The ped2.mat layout: a 2x1 double stored as miUINT8 in one small element.
        let bytes = encode(
            &[(
                "gt",
                Out::Double {
                    dims: vec![2, 1],
                    values: vec![61.0, 180.0],
                },
            )],
            false,
            false,
        );
        let tail = &bytes[bytes.len() - 8..];
        assert_eq!(tail, [2, 0, 2, 0, 61, 180, 0, 0]);
    }

    #[test]
    fn empty_cell_items_are_empty_arrays() {
        // A hand-made cell {[]} whose item is an miMATRIX element of zero bytes.
        let mut b = encode(&[], false, false);
        let mut body = Vec::new();
        let w = Writer { be: false };
        w.element(&mut body, MI_UINT32, &[MX_CELL, 0, 0, 0, 0, 0, 0, 0]);
        w.element(&mut body, MI_INT32, &[1, 0, 0, 0, 1, 0, 0, 0]);
        w.element(&mut body, MI_INT8, b"gt");
        body.extend_from_slice(&[14, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[14, 0, 0, 0]);
        b.extend_from_slice(&(body.len() as u32).to_le_bytes());
        b.extend_from_slice(&body);
        assert_eq!(read_all(&b).unwrap(), ["gt=C[1, 1]{N[0, 0][]}"]);
    }

    #[test]
    fn rejects_malformed_files() {
        let good = encode(&sample(), false, false);
        let err = |b: &[u8]| read_all(b).unwrap_err().to_string();
        assert!(err(&good[..100]).contains("128-byte header"));
        let mut v73 = good.clone();
        v73[124..126].copy_from_slice(&[0x00, 0x02]);
        assert!(err(&v73).contains("v7.3"));
        let mut wrong = good.clone();
        wrong[126..128].copy_from_slice(b"XX");
        assert!(err(&wrong).contains("endian"));
        let e = err(&good[..good.len() - 3]);
        assert!(e.contains("t.mat") && e.contains("past the end"), "{e}");
        let mut packed = encode(&sample(), true, false);
        packed[128 + 8 + 4] ^= 0xff;
        let e = err(&packed);
        assert!(e.contains("compressed variable at byte 128"), "{e}");
    }

    proptest! {
        #[test]
        fn mutated_files_never_panic(
            compress in any::<bool>(),
            be in any::<bool>(),
            flips in proptest::collection::vec((0usize..600, any::<u8>()), 1..6),
            cut in 0usize..700,
        ) {
            let mut b = encode(&sample(), compress, be);
            for (i, v) in flips {
                if let Some(x) = b.get_mut(i) {
                    *x = v;
                }
            }
            b.truncate(cut.max(130).min(b.len()));
            let _ = read_all(&b);
        }

        #[test]
        fn random_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut b = encode(&[], false, false);
            b.extend_from_slice(&body);
            let _ = read_all(&b);
            let mut m = encode(&[], false, false);
            m.extend_from_slice(&[14, 0, 0, 0]);
            m.extend_from_slice(&(body.len() as u32).to_le_bytes());
            m.extend_from_slice(&body);
            let _ = read_all(&m);
        }
    }
}
