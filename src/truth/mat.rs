//! Ground truth in MATLAB `.mat` files.
//!
//! - UCSD style (`ped2.mat`): variable `gt`, a 1xN cell; item i is a 2xK numeric
//!   matrix whose columns are `[start; end]` ranges of video i, 1-based and
//!   inclusive (`2x0` or `[]` for no anomaly). Read and written. The writer adds
//!   two variables that other readers ignore: `names` (1xN cell of char) and,
//!   when every count is known, `num_frames` (1xN double), so a round trip keeps
//!   names and frame counts.
//! - CUHK Avenue `testing_label_mask/N_label.mat` (read only): variable `volLabel`,
//!   a 1xF cell of HxW masks (double, logical or integer); one video named by the
//!   file stem without `_label`, with `Dense` masks and per-frame labels (a frame
//!   is anomalous when any pixel is non-zero). A folder of them is one video per file.

use std::path::Path;

use rayon::prelude::*;

use super::matv5::{self, Numeric, Out, Value};
use super::{GroundTruth, Interval, Masks, ReadOptions, VideoTruth, MAX_FRAMES};
use crate::error::{Error, Result};

/// What one file holds, gathered while visiting its variables.
#[derive(Default)]
struct Found {
    gt: Option<Vec<Vec<Interval>>>,
    names: Option<Vec<String>>,
    counts: Option<Vec<usize>>,
    vol: Option<VideoTruth>,
}

/// Reads one `.mat` file (`gt` or `volLabel`).
pub(crate) fn read_file(path: &Path, opts: &ReadOptions) -> Result<GroundTruth> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut found = Found::default();
    let bad = |m: String| Error::format(path, m);
    matv5::visit(&bytes, path, |name, value| {
        match name {
            "gt" => found.gt = Some(ranges(&value).map_err(bad)?),
            "names" => found.names = texts(&value),
            "num_frames" => found.counts = counts(&value),
            "volLabel" => {
                found.vol = Some(vol_label(&value, video_name(path), opts).map_err(bad)?);
            }
            _ => {}
        }
        Ok(false)
    })?;
    if let Some(v) = found.vol {
        return Ok(GroundTruth {
            videos: vec![v],
            provenance: None,
        });
    }
    let Some(gt) = found.gt else {
        return Err(bad("no `gt` or `volLabel` variable".into()));
    };
    let n = gt.len();
    // Our own extras are used only when they agree with `gt` in length.
    let names = found.names.filter(|v| v.len() == n);
    let counts = found.counts.filter(|v| v.len() == n);
    let entries = gt
        .into_iter()
        .enumerate()
        .map(|(i, iv)| {
            let name = names.as_ref().map(|v| v[i].clone());
            (name, counts.as_ref().map(|c| c[i]), iv)
        })
        .collect();
    Ok(GroundTruth {
        videos: super::io::name_videos(entries, opts, path)?,
        provenance: None,
    })
}

/// Reads a folder of `.mat` files (Avenue `testing_label_mask`), one or more videos each.
pub(crate) fn read_folder(dir: &Path, opts: &ReadOptions) -> Result<GroundTruth> {
    let files = super::masks::list_files(dir, &["mat"])?;
    if files.is_empty() {
        return Err(Error::format(dir, "no .mat files in this folder"));
    }
    let each = files
        .par_iter()
        .map(|f| read_file(f, opts))
        .collect::<Result<Vec<_>>>()?;
    Ok(GroundTruth {
        videos: each.into_iter().flat_map(|g| g.videos).collect(),
        provenance: None,
    })
}

/// `1_label.mat` -> `1`.
fn video_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.strip_suffix("_label")
        .map(str::to_owned)
        .unwrap_or(stem)
}

/// The items of a cell (or of a non-cell, as a single item).
fn items<'v, 'a>(v: &'v Value<'a>) -> Vec<&'v Value<'a>> {
    match v {
        Value::Cell { items, .. } => items.iter().collect(),
        other => vec![other],
    }
}

/// A cell that is a vector (1xN, Nx1, or empty), as `what` expects.
fn vector_cell(v: &Value<'_>, what: &str) -> std::result::Result<(), String> {
    match v {
        Value::Cell { dims, .. } if dims.iter().filter(|&&d| d > 1).count() <= 1 => Ok(()),
        Value::Cell { dims, .. } => Err(format!(
            "`{what}` is a {} cell; expected 1xN",
            dims_text(dims)
        )),
        Value::Other { class } => Err(format!(
            "`{what}` is of MATLAB class {class}, not a cell array"
        )),
        _ => Err(format!("`{what}` is not a cell array")),
    }
}

/// `gt`: per video, 2xK `[start; end]` columns, 1-based inclusive.
fn ranges(v: &Value<'_>) -> std::result::Result<Vec<Vec<Interval>>, String> {
    vector_cell(v, "gt")?;
    items(v)
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |m: String| format!("gt{{{}}}: {m}", i + 1);
            let Value::Numeric(n) = item else {
                return Err(at("not a numeric matrix".into()));
            };
            if n.len() == 0 {
                return Ok(Vec::new());
            }
            if n.dims.len() != 2 || n.dims[0] != 2 {
                return Err(at(format!(
                    "a {} matrix; expected 2xK [start; end] columns",
                    dims_text(&n.dims)
                )));
            }
            (0..n.dims[1])
                .map(|k| {
                    let (s, e) = (n.get(2 * k), n.get(2 * k + 1));
                    let ok = s >= 1.0 && e >= s && s.fract() == 0.0 && e.fract() == 0.0;
                    if !ok {
                        return Err(at(format!(
                            "column {} [{s}; {e}] is not a 1-based inclusive range",
                            k + 1
                        )));
                    }
                    if e > MAX_FRAMES as f64 {
                        return Err(at(format!(
                            "column {} [{s}; {e}]: frame {e} is out of range (allowed: 1 to {MAX_FRAMES})",
                            k + 1
                        )));
                    }
                    Ok(Interval {
                        start: s as usize - 1,
                        end: e as usize,
                    })
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(super::normalize_intervals)
        })
        .collect()
}

fn dims_text(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// `names`: a cell of char arrays.
fn texts(v: &Value<'_>) -> Option<Vec<String>> {
    items(v)
        .into_iter()
        .map(|item| match item {
            Value::Char { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// `num_frames`: a numeric vector of non-negative integers.
fn counts(v: &Value<'_>) -> Option<Vec<usize>> {
    let Value::Numeric(n) = v else { return None };
    (0..n.len())
        .map(|i| n.get(i))
        .map(|x| (x >= 0.0 && x.fract() == 0.0 && x <= MAX_FRAMES as f64).then_some(x as usize))
        .collect()
}

/// `volLabel`: a cell of HxW masks -> one video with `Dense` masks.
fn vol_label(
    v: &Value<'_>,
    name: String,
    opts: &ReadOptions,
) -> std::result::Result<VideoTruth, String> {
    vector_cell(v, "volLabel")?;
    let frames = items(v);
    let mut size = None;
    let mut masks: Vec<&Numeric<'_>> = Vec::with_capacity(frames.len());
    for (i, f) in frames.iter().enumerate() {
        let Value::Numeric(n) = f else {
            return Err(format!(
                "volLabel{{{}}} is not a numeric or logical mask",
                i + 1
            ));
        };
        if n.dims.len() != 2 {
            return Err(format!(
                "volLabel{{{}}} is {}, not a 2-D mask",
                i + 1,
                dims_text(&n.dims)
            ));
        }
        let hw = (n.dims[0], n.dims[1]);
        match size {
            None => size = Some(hw),
            Some(s) if s != hw => {
                return Err(format!(
                    "volLabel{{{}}} is {}x{}, frame 1 is {}x{}",
                    i + 1,
                    hw.0,
                    hw.1,
                    s.0,
                    s.1
                ))
            }
            _ => {}
        }
        masks.push(n);
    }
    let (h, w) = size.unwrap_or((0, 0));
    // MATLAB is column-major: pixel (row r, column c) is element c*h + r.
    let packed: Vec<Option<Vec<u8>>> = masks
        .par_iter()
        .map(|n| Masks::pack_bits((0..h * w).map(|i| n.nonzero((i % w) * h + i / w)), h * w))
        .collect();
    let labels: Vec<bool> = packed.iter().map(Option::is_some).collect();
    let mut video = VideoTruth::from_labels(name, &labels);
    if !opts.skip_masks {
        video.masks = Some(Masks::Dense {
            width: w,
            height: h,
            frames: packed,
        });
    }
    Ok(video)
}

/// Encodes the UCSD-style `gt` file (compressed, like MATLAB's default).
pub(crate) fn encode(gt: &GroundTruth) -> Vec<u8> {
    let n = gt.videos.len();
    let cells = gt
        .videos
        .iter()
        .map(|v| Out::Double {
            dims: vec![2, v.anomalous.len()],
            values: v
                .anomalous
                .iter()
                .flat_map(|iv| [iv.start as f64 + 1.0, iv.end as f64])
                .collect(),
        })
        .collect();
    let names = gt
        .videos
        .iter()
        .map(|v| Out::Char(v.name.clone()))
        .collect();
    let mut vars = vec![
        (
            "gt",
            Out::Cell {
                dims: vec![1, n],
                items: cells,
            },
        ),
        (
            "names",
            Out::Cell {
                dims: vec![1, n],
                items: names,
            },
        ),
    ];
    let counts: Option<Vec<f64>> = gt
        .videos
        .iter()
        .map(|v| v.num_frames.map(|c| c as f64))
        .collect();
    if let Some(values) = counts {
        vars.push((
            "num_frames",
            Out::Double {
                dims: vec![1, n],
                values,
            },
        ));
    }
    matv5::encode(&vars, true, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn iv(s: usize, e: usize) -> Interval {
        Interval { start: s, end: e }
    }

    #[test]
    fn reads_ucsd_gt_like_ped2() {
        // Exactly the layout of ped2.mat: only `gt`, 2x1 columns stored as uint8.
        let cell = |a: f64, b: f64| Out::Double {
            dims: vec![2, 1],
            values: vec![a, b],
        };
        let items = vec![
            cell(61.0, 180.0),
            cell(1.0, 146.0),
            Out::Double {
                dims: vec![2, 2],
                values: vec![1.0, 10.0, 20.0, 30.0],
            },
        ];
        let bytes = matv5::encode(
            &[(
                "gt",
                Out::Cell {
                    dims: vec![1, 3],
                    items,
                },
            )],
            true,
            false,
        );
        let dir = tempfile::tempdir().unwrap();
        let gt = read_file(&write(dir.path(), "g.mat", &bytes), &ReadOptions::default()).unwrap();
        let names: Vec<_> = gt.videos.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["Test001", "Test002", "Test003"]);
        assert_eq!(gt.videos[0].anomalous, [iv(60, 180)]);
        assert_eq!(gt.videos[1].anomalous, [iv(0, 146)]);
        assert_eq!(gt.videos[2].anomalous, [iv(0, 10), iv(19, 30)]);
    }

    #[test]
    fn reads_avenue_vol_label_masks() {
        // Two 2x3 frames (rows x columns); frame 2 has row 1, column 2 set.
        let dir = tempfile::tempdir().unwrap();
        for (logical, be) in [(false, false), (true, true)] {
            let frame = |on: bool| {
                let mut v = vec![0.0; 6];
                if on {
                    v[2 * 2 + 1] = 1.0; // column-major: c*h + r
                }
                if logical {
                    Out::Logical {
                        dims: vec![2, 3],
                        values: v.iter().map(|&x| x as u8).collect(),
                    }
                } else {
                    Out::Double {
                        dims: vec![2, 3],
                        values: v,
                    }
                }
            };
            let cell = Out::Cell {
                dims: vec![1, 2],
                items: vec![frame(false), frame(true)],
            };
            let bytes = matv5::encode(&[("volLabel", cell)], !be, be);
            let gt = read_file(
                &write(dir.path(), "7_label.mat", &bytes),
                &ReadOptions::default(),
            )
            .unwrap();
            let v = &gt.videos[0];
            assert_eq!(v.name, "7");
            assert_eq!(v.labels(2), [false, true]);
            let Some(Masks::Dense {
                width: 3,
                height: 2,
                frames,
            }) = &v.masks
            else {
                panic!("{:?}", v.masks)
            };
            assert!(frames[0].is_none());
            let bits = Masks::unpack_bits(frames[1].as_ref().unwrap(), 6);
            assert_eq!(
                bits,
                [false, false, false, false, false, true],
                "row-major (1, 2)"
            );
        }
        let folder = read_folder(dir.path(), &ReadOptions::default()).unwrap();
        assert_eq!(folder.videos.len(), 1);
    }

    #[test]
    fn rejects_bad_gt() {
        let dir = tempfile::tempdir().unwrap();
        let d = |dims: Vec<usize>, values: Vec<f64>| Out::Double { dims, values };
        let cases = [
            (
                Out::Cell {
                    dims: vec![1, 1],
                    items: vec![d(vec![3, 1], vec![1.0, 2.0, 3.0])],
                },
                "2xK",
            ),
            (
                Out::Cell {
                    dims: vec![1, 1],
                    items: vec![d(vec![2, 1], vec![0.0, 5.0])],
                },
                "1-based",
            ),
            (
                Out::Cell {
                    dims: vec![1, 1],
                    items: vec![d(vec![2, 1], vec![9.0, 5.0])],
                },
                "1-based",
            ),
            (d(vec![1, 2], vec![1.0, 2.0]), "not a cell"),
            (
                Out::Cell {
                    dims: vec![1, 1],
                    items: vec![d(vec![2, 1], vec![1.0, 4e9])],
                },
                "1 to 10000000",
            ),
        ];
        for (v, want) in cases {
            let p = write(
                dir.path(),
                "bad.mat",
                &matv5::encode(&[("gt", v)], false, false),
            );
            let e = read_file(&p, &ReadOptions::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("bad.mat") && e.contains(want), "{e}");
        }
        let p = write(
            dir.path(),
            "none.mat",
            &matv5::encode(&[("x", d(vec![1, 1], vec![1.0]))], false, false),
        );
        let e = read_file(&p, &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `gt`"), "{e}");
    }
}
