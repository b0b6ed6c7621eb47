//! The evaluation protocol: every choice that changes the numbers, recorded in
//! each report so that two reports can be compared knowingly.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ensemble::member_column;
use super::normalize::{Normalize, Stats};
use super::smooth::Smooth;
use crate::error::{Error, Result};

/// How per-frame scores become the numbers of a report. Pipeline per video:
/// drop the first `exclude_first` frames (and frames without a score); normalise
/// each score term ([`Protocol::normalize`]); combine the terms by `weights`
/// (or take the `score` column alone); smooth the combined score; evaluate.
/// With [`Protocol::smooth_first`] each term is smoothed before it is
/// normalised instead. The order matters for micro AUC (min-max of a smoothed
/// series is not the smoothed min-max series), and tools differ on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Protocol {
    /// Frames excluded at the start of each video (the `t` frames a predictor
    /// needs as history and cannot score). Default 0.
    pub exclude_first: usize,
    /// Normalisation of each term. Default per-video min-max.
    pub normalize: Normalize,
    /// Temporal smoothing of the combined score. Default none.
    pub smooth: Smooth,
    /// Smooth each term before normalising it (default: normalise, combine,
    /// then smooth).
    pub smooth_first: bool,
    /// Weights of the score terms by column name (`recon`, `pred`, `dist`, …);
    /// `None` (default) evaluates the `score` column alone.
    pub weights: Option<BTreeMap<String, f64>>,
    /// Training-set statistics per column name, for z-score normalisation.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub train_stats: BTreeMap<String, Stats>,
    /// Ensemble members (default 1): with `k > 1` every term is read from the
    /// columns [`member_column`]`(term, i)` of `i < k`, each normalised, and
    /// weighed by `w / k` (the scores come from [`merge_members`](super::merge_members)).
    #[serde(skip_serializing_if = "is_one")]
    pub members: usize,
}

fn is_one(k: &usize) -> bool {
    *k == 1
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            exclude_first: 0,
            normalize: Normalize::MinMax,
            smooth: Smooth::None,
            smooth_first: false,
            weights: None,
            train_stats: BTreeMap::new(),
            members: 1,
        }
    }
}

impl Protocol {
    /// The column names this protocol reads, with their weights.
    pub fn terms(&self) -> Vec<(String, f64)> {
        let base = match &self.weights {
            Some(w) => w.iter().map(|(k, &v)| (k.clone(), v)).collect(),
            None => vec![("score".to_owned(), 1.0)],
        };
        if self.members <= 1 {
            return base;
        }
        let k = self.members as f64;
        base.iter()
            .flat_map(|(term, w)| (0..self.members).map(move |i| (member_column(term, i), w / k)))
            .collect()
    }

    /// Checks the parameters (smoothing, weights, statistics for z-score).
    pub fn validate(&self) -> Result<()> {
        self.smooth.validate()?;
        if self.members == 0 {
            return Err(Error::invalid("an ensemble needs at least one member"));
        }
        if let Some(w) = &self.weights {
            if w.is_empty() {
                return Err(Error::invalid("weights: at least one term is needed"));
            }
            if let Some((k, v)) = w.iter().find(|(_, v)| !v.is_finite()) {
                return Err(Error::invalid(format!("weight of {k:?} is {v}")));
            }
        }
        if self.normalize == Normalize::ZScore {
            let missing: Vec<String> = self
                .terms()
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !self.train_stats.contains_key(k))
                .collect();
            if !missing.is_empty() {
                return Err(Error::invalid(format!(
                    "z-score normalisation needs training statistics (mean, std) of: {}",
                    missing.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Parses `recon=0.5,pred=0.3,dist=0.2` (names of score-file columns).
pub fn parse_weights(s: &str) -> Result<BTreeMap<String, f64>> {
    let bad = || Error::invalid(format!("weights {s:?}: expected NAME=W[,NAME=W…]"));
    let mut out = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(bad)?;
        let v: f64 = v.trim().parse().map_err(|_| bad())?;
        if k.trim().is_empty() || out.insert(k.trim().to_owned(), v).is_some() {
            return Err(bad());
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

impl fmt::Display for Protocol {
    /// One line: `exclude first N frames, normalisation X, smoothing Y, score Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let score = match &self.weights {
            None => "score column".to_owned(),
            Some(w) => {
                let parts: Vec<String> = w.iter().map(|(k, v)| format!("{v}*{k}")).collect();
                parts.join(" + ")
            }
        };
        let order = match (&self.smooth, self.smooth_first) {
            (Smooth::None, _) => "",
            (_, false) => " (after normalising)",
            (_, true) => " (before normalising)",
        };
        let score = match self.members {
            0 | 1 => score,
            k => format!("mean of {k} members' ({score})"),
        };
        write!(
            f,
            "exclude first {} frames/video, normalisation {}, smoothing {}{order}, score = {}",
            self.exclude_first, self.normalize, self.smooth, score
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_protocol_validates() {
        let w = parse_weights("recon=0.5, pred=0.25,dist=0.25").unwrap();
        assert_eq!(w["pred"], 0.25);
        assert!(parse_weights("recon").is_err());
        assert!(parse_weights("a=1,a=2").is_err());
        let mut p = Protocol {
            weights: Some(w),
            normalize: Normalize::ZScore,
            ..Protocol::default()
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("dist, pred, recon"), "{e}");
        for k in ["recon", "pred", "dist"] {
            p.train_stats.insert(
                k.into(),
                Stats {
                    mean: 0.0,
                    std: 1.0,
                },
            );
        }
        p.validate().unwrap();
        let back: Protocol = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert!(p.to_string().contains("0.25*dist"));
    }
}
