//! Reading a benchmark folder back and scoring estimates against it.

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Manifest, Set, Split, FORMAT, MANIFEST};
use crate::error::{Error, Result};
use crate::flow::{read_flo, Flow};
use crate::frame::Frame;
use crate::video::read_gray;

/// A pair read back for scoring.
#[derive(Debug, Clone)]
pub struct BenchPair {
    /// Its split (`None` in a folder without a manifest).
    pub split: Option<Split>,
    /// Its set name (`pairs` in a folder without a manifest).
    pub set: String,
    /// The first frame, gray `f32`.
    pub prev: Frame<f32>,
    /// The second frame.
    pub next: Frame<f32>,
    /// The true flow.
    pub truth: Flow,
    /// Pixels the EPE counts.
    pub valid: Vec<bool>,
    /// Counted pixels that are occluded (left out of the `noc` EPE).
    pub occluded: Vec<bool>,
}

fn load_mask(path: &Path, w: usize, h: usize) -> Result<Vec<bool>> {
    let m = read_gray(path)?;
    if (m.width, m.height) != (w, h) {
        return Err(Error::format(
            path,
            format!("mask of {}x{}, the pair is {w}x{h}", m.width, m.height),
        ));
    }
    Ok(m.data.iter().map(|&v| v > 0.5).collect())
}

/// Reads one pair from `base` (`…/NNN`: the files `NNN_prev.png` etc.).
fn load_pair(base: &str, split: Option<Split>, set: String) -> Result<BenchPair> {
    let prev = read_gray(Path::new(&format!("{base}_prev.png")))?;
    let next = read_gray(Path::new(&format!("{base}_next.png")))?;
    let (w, h) = (prev.width, prev.height);
    if (next.width, next.height) != (w, h) {
        return Err(Error::format(
            format!("{base}_next.png"),
            format!("{}x{}, the first frame is {w}x{h}", next.width, next.height),
        ));
    }
    let flo = format!("{base}_flow.flo");
    let truth = read_flo(&flo)?;
    if (truth.width, truth.height) != (w, h) {
        return Err(Error::format(
            &flo,
            format!(
                "flow of {}x{}, the frames are {w}x{h}",
                truth.width, truth.height
            ),
        ));
    }
    let valid = load_mask(Path::new(&format!("{base}_mask.png")), w, h)?;
    let occ = Path::new(&format!("{base}_occ.png")).to_path_buf();
    let occluded = if occ.exists() {
        load_mask(&occ, w, h)?
    } else {
        vec![false; w * h]
    };
    Ok(BenchPair {
        split,
        set,
        prev,
        next,
        truth,
        valid,
        occluded,
    })
}

/// Reads a benchmark folder: one made by [`make`] (with its manifest), or a
/// flat folder of `NNN_prev.png` … pairs (`flow_opencv.py make`), whose pairs
/// form one set `pairs` without a split. `only` keeps one split.
pub fn load(dir: &Path, only: Option<Split>) -> Result<Vec<BenchPair>> {
    let manifest_path = dir.join(MANIFEST);
    if manifest_path.exists() {
        let bytes = std::fs::read(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(&manifest_path, e.to_string()))?;
        if m.format != FORMAT || m.version != 1 {
            return Err(Error::format(
                &manifest_path,
                format!(
                    "format {:?} version {}: expected {FORMAT:?} version 1",
                    m.format, m.version
                ),
            ));
        }
        return m
            .pairs
            .par_iter()
            .filter(|p| only.is_none_or(|s| s == p.split))
            .map(|p| {
                let base = dir.join(&p.file);
                load_pair(&base.to_string_lossy(), Some(p.split), p.set.name().into())
            })
            .collect();
    }
    let mut prevs: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path().to_string_lossy().into_owned()))
        .filter(|p| p.ends_with("_prev.png"))
        .collect();
    prevs.sort_by(|a, b| crate::video::natural_cmp(a, b));
    if prevs.is_empty() {
        return Err(Error::decode(
            dir,
            format!("no {MANIFEST} and no *_prev.png pairs (make them with `vadscope bench flow-pairs`)"),
        ));
    }
    if only.is_some() {
        return Err(Error::invalid(format!(
            "{}: a folder without a {MANIFEST} has no splits",
            dir.display()
        )));
    }
    prevs
        .par_iter()
        .map(|p| load_pair(&p[..p.len() - "_prev.png".len()], None, "pairs".into()))
        .collect()
}

/// EPE of one estimate against a pair's truth: over the counted pixels
/// (`all`) and over those not occluded (`noc`; `None` if every counted pixel
/// is occluded).
pub fn pair_epe(flow: &Flow, pair: &BenchPair) -> Result<(f64, Option<f64>)> {
    let all = flow.epe(&pair.truth, Some(&pair.valid))?;
    let noc_mask: Vec<bool> = pair
        .valid
        .iter()
        .zip(&pair.occluded)
        .map(|(&v, &o)| v && !o)
        .collect();
    let noc = noc_mask
        .iter()
        .any(|&m| m)
        .then(|| flow.epe(&pair.truth, Some(&noc_mask)))
        .transpose()?;
    Ok((all, noc))
}

/// The mean EPE of one group of pairs (a set of a split, or a whole split).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupScore {
    /// `tune`, `held-out`, or `-` (no split).
    pub split: String,
    /// The set's name, or `overall`.
    pub set: String,
    /// Pairs in the group.
    pub pairs: usize,
    /// Mean over pairs of the EPE over counted pixels.
    pub epe_all: f64,
    /// Mean over pairs of the EPE over counted, non-occluded pixels.
    pub epe_noc: f64,
}

/// Groups per-pair EPEs (`(all, noc)` in the order of `pairs`) by split and
/// set, with an `overall` row per split.
pub fn summarize(pairs: &[BenchPair], epes: &[(f64, Option<f64>)]) -> Vec<GroupScore> {
    let mut keys: Vec<(String, String)> = Vec::new();
    let split_name = |p: &BenchPair| p.split.map_or("-", |s| s.name()).to_string();
    let order = |set: &str| {
        Set::ALL
            .iter()
            .position(|s| s.name() == set)
            .unwrap_or(Set::ALL.len())
    };
    for p in pairs {
        let k = (split_name(p), p.set.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let rank = |split: &str| {
        ["tune", "held-out"]
            .iter()
            .position(|s| *s == split)
            .unwrap_or(2)
    };
    keys.sort_by_key(|k| (rank(&k.0), order(&k.1)));
    let group = |split: &str, set: Option<&str>| {
        let (mut all, mut noc, mut n, mut n_noc) = (0.0, 0.0, 0, 0);
        for (p, e) in pairs.iter().zip(epes) {
            if split_name(p) == split && set.is_none_or(|s| s == p.set) {
                all += e.0;
                n += 1;
                if let Some(v) = e.1 {
                    noc += v;
                    n_noc += 1;
                }
            }
        }
        GroupScore {
            split: split.to_string(),
            set: set.unwrap_or("overall").to_string(),
            pairs: n,
            epe_all: all / n.max(1) as f64,
            epe_noc: noc / n_noc.max(1) as f64,
        }
    };
    let mut out = Vec::new();
    for (i, (split, set)) in keys.iter().enumerate() {
        out.push(group(split, Some(set)));
        if keys.get(i + 1).is_none_or(|k| &k.0 != split) {
            out.push(group(split, None));
        }
    }
    out
}
