//! Score normalisation: per-video min-max (MNAD and most papers; needs the whole
//! video, so offline) or z-score by training-set statistics (works online).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Training-set statistics of a score (or of one score term).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Mean over training frames.
    pub mean: f64,
    /// Standard deviation over training frames (> 0).
    pub std: f64,
}

impl FromStr for Stats {
    type Err = Error;

    /// `MEAN,STD`.
    fn from_str(s: &str) -> Result<Stats> {
        let bad = || Error::invalid(format!("training statistics {s:?}: expected MEAN,STD"));
        let (m, d) = s.split_once(',').ok_or_else(bad)?;
        let st = Stats {
            mean: m.trim().parse().map_err(|_| bad())?,
            std: d.trim().parse().map_err(|_| bad())?,
        };
        if !(st.std > 0.0 && st.std.is_finite() && st.mean.is_finite()) {
            return Err(Error::invalid(format!(
                "training statistics {s:?}: need a finite mean and std > 0"
            )));
        }
        Ok(st)
    }
}

/// How scores are normalised before they are combined and evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    /// Per video, `(s - min) / (max - min)`; a constant video maps to 0.
    #[default]
    MinMax,
    /// `(s - mean) / std` with training-set statistics (given per term).
    ZScore,
    /// Raw scores.
    None,
}

impl Normalize {
    /// Normalises one video's series. `stats` is required for [`Normalize::ZScore`].
    pub fn apply(self, x: &[f64], stats: Option<Stats>) -> Result<Vec<f64>> {
        Ok(match self {
            Normalize::None => x.to_vec(),
            Normalize::MinMax => {
                let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let span = hi - lo;
                x.iter()
                    .map(|&v| if span > 0.0 { (v - lo) / span } else { 0.0 })
                    .collect()
            }
            Normalize::ZScore => {
                let st = stats.ok_or_else(|| {
                    Error::invalid("z-score normalisation needs training statistics (mean, std)")
                })?;
                x.iter().map(|&v| (v - st.mean) / st.std).collect()
            }
        })
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Normalize::MinMax => "minmax",
            Normalize::ZScore => "zscore",
            Normalize::None => "none",
        }
    }
}

impl fmt::Display for Normalize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Normalize {
    type Err = Error;

    /// `minmax`, `zscore` (also `train-stats`: the live protocol's name) or `none`.
    fn from_str(s: &str) -> Result<Normalize> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minmax" | "min-max" => Ok(Normalize::MinMax),
            "zscore" | "z-score" | "train-stats" | "train_stats" => Ok(Normalize::ZScore),
            "none" => Ok(Normalize::None),
            _ => Err(Error::invalid(format!(
                "normalisation {s:?}: expected minmax, zscore (train-stats) or none"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_zscore_none() {
        let x = [2.0, 4.0, 3.0];
        assert_eq!(Normalize::MinMax.apply(&x, None).unwrap(), [0.0, 1.0, 0.5]);
        assert_eq!(
            Normalize::MinMax.apply(&[5.0; 2], None).unwrap(),
            [0.0, 0.0]
        );
        let st = "3,0.5".parse::<Stats>().unwrap();
        assert_eq!(
            Normalize::ZScore.apply(&x, Some(st)).unwrap(),
            [-2.0, 2.0, 0.0]
        );
        assert!(Normalize::ZScore.apply(&x, None).is_err());
        assert_eq!(Normalize::None.apply(&x, None).unwrap(), x);
        assert!("1,0".parse::<Stats>().is_err());
        assert_eq!("zscore".parse::<Normalize>().unwrap(), Normalize::ZScore);
    }
}
