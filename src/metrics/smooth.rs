//! Temporal smoothing of per-frame scores: Gaussian (σ in frames) or median (k
//! frames), which look at both sides of a frame (offline), or a causal filter
//! (exponential or a trailing mean) that uses only the past, as live scoring
//! must: [`CausalSmoother`] runs it one score at a time, and [`Smooth::apply`]
//! runs the same code over a whole series, so an offline evaluation of the live
//! protocol gets exactly the live numbers.
//!
//! Conventions follow SciPy's `ndimage` so numbers can be checked against it: the
//! Gaussian kernel is truncated at `round(4σ)` frames each side and normalised;
//! edges are padded by reflection (`d c b a | a b c d | d c b a`) or by repeating
//! the edge value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest Gaussian σ, in frames. The kernel spans `2·round(4σ)+1` frames,
/// so this bounds it to 8001 taps (over 13 minutes of video at 10 fps each
/// side): wider smoothing flattens any video, and an unbounded σ would make an
/// unbounded kernel.
pub const MAX_SIGMA: f64 = 1000.0;
/// The largest median window, in frames (odd).
pub const MAX_MEDIAN: usize = 1001;

/// How samples past either end of a video are made up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Edge {
    /// Mirror including the edge sample (SciPy `reflect`).
    #[default]
    Reflect,
    /// Repeat the edge sample (SciPy `nearest`).
    Nearest,
}

/// A temporal smoothing filter.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Smooth {
    /// No smoothing (the default).
    #[default]
    None,
    /// Gaussian of standard deviation `sigma` frames.
    Gaussian {
        /// Standard deviation in frames (above 0, at most [`MAX_SIGMA`]).
        sigma: f64,
        /// Edge handling.
        #[serde(default)]
        edge: Edge,
    },
    /// Running median over `k` frames (odd).
    Median {
        /// Window length in frames (odd, 1 to [`MAX_MEDIAN`]).
        k: usize,
        /// Edge handling.
        #[serde(default)]
        edge: Edge,
    },
    /// Causal exponential moving average: `y_i = α·x_i + (1 − α)·y_i−1`, `y_0 = x_0`.
    CausalEma {
        /// Weight of the newest score (above 0, at most 1; 1 = no smoothing).
        alpha: f64,
    },
    /// Causal trailing mean of the last `k` scores (fewer at the start).
    CausalMean {
        /// Window length in frames (1 to [`MAX_MEDIAN`]).
        k: usize,
    },
}

/// Index `i` (possibly outside `0..n`) mapped into `0..n` by `edge`.
fn fold(i: isize, n: usize, edge: Edge) -> usize {
    let n = n as isize;
    match edge {
        Edge::Nearest => i.clamp(0, n - 1) as usize,
        Edge::Reflect => {
            // Period 2n: 0..n forward, n..2n backward.
            let m = i.rem_euclid(2 * n);
            (if m < n { m } else { 2 * n - 1 - m }) as usize
        }
    }
}

impl Smooth {
    /// Checks the parameters: σ above 0 and at most [`MAX_SIGMA`], an odd
    /// median window of 1 to [`MAX_MEDIAN`] frames.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Smooth::Gaussian { sigma, .. } if !(sigma > 0.0 && sigma <= MAX_SIGMA) => {
                Err(Error::invalid(format!(
                    "smoothing gaussian:{sigma}: sigma {sigma} is out of range \
                     (allowed: above 0 and at most {MAX_SIGMA} frames)"
                )))
            }
            Smooth::CausalEma { alpha } if !(alpha > 0.0 && alpha <= 1.0) => {
                Err(Error::invalid(format!(
                    "smoothing causal:ema:{alpha}: alpha {alpha} is out of range \
                     (allowed: above 0 and at most 1)"
                )))
            }
            Smooth::CausalMean { k } if k == 0 || k > MAX_MEDIAN => Err(Error::invalid(format!(
                "smoothing causal:mean:{k}: window {k} is out of range \
                 (allowed: 1 to {MAX_MEDIAN} frames)"
            ))),
            Smooth::Median { k, .. } if k == 0 || k % 2 == 0 || k > MAX_MEDIAN => {
                Err(Error::invalid(format!(
                    "smoothing median:{k}: window {k} is out of range \
                     (allowed: odd, 1 to {MAX_MEDIAN} frames)"
                )))
            }
            _ => Ok(()),
        }
    }

    /// The smoothed series (same length).
    pub fn apply(&self, x: &[f64]) -> Result<Vec<f64>> {
        self.validate()?;
        if x.is_empty() {
            return Ok(Vec::new());
        }
        let n = x.len();
        Ok(match *self {
            Smooth::None => x.to_vec(),
            Smooth::CausalEma { .. } | Smooth::CausalMean { .. } => {
                let mut c = CausalSmoother::new(*self)?;
                x.iter().map(|&v| c.push(v)).collect()
            }
            Smooth::Gaussian { sigma, edge } => {
                let r = (4.0 * sigma + 0.5) as isize;
                let w: Vec<f64> = (-r..=r)
                    .map(|j| (-0.5 * (j as f64 / sigma).powi(2)).exp())
                    .collect();
                let total: f64 = w.iter().sum();
                (0..n as isize)
                    .map(|i| {
                        let s: f64 = (-r..=r)
                            .zip(&w)
                            .map(|(j, wj)| wj * x[fold(i + j, n, edge)])
                            .sum();
                        s / total
                    })
                    .collect()
            }
            Smooth::Median { k, edge } => {
                let r = (k / 2) as isize;
                let mut win = Vec::with_capacity(k);
                (0..n as isize)
                    .map(|i| {
                        win.clear();
                        win.extend((-r..=r).map(|j| x[fold(i + j, n, edge)]));
                        let (_, m, _) = win.select_nth_unstable_by(k / 2, f64::total_cmp);
                        *m
                    })
                    .collect()
            }
        })
    }
}

impl fmt::Display for Smooth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = |edge: Edge| match edge {
            Edge::Reflect => "",
            Edge::Nearest => ",nearest",
        };
        match *self {
            Smooth::None => f.write_str("none"),
            Smooth::Gaussian { sigma, edge } => write!(f, "gaussian:{sigma}{}", e(edge)),
            Smooth::Median { k, edge } => write!(f, "median:{k}{}", e(edge)),
            Smooth::CausalEma { alpha } => write!(f, "causal:ema:{alpha}"),
            Smooth::CausalMean { k } => write!(f, "causal:mean:{k}"),
        }
    }
}

impl FromStr for Smooth {
    type Err = Error;

    /// `none`, `gaussian:SIGMA` or `median:K`, optionally followed by `,reflect`
    /// or `,nearest` (edge handling; reflect by default); or the causal
    /// `causal:ema:ALPHA` and `causal:mean:K`.
    fn from_str(s: &str) -> Result<Smooth> {
        let bad = || {
            Error::invalid(format!(
                "smoothing {s:?}: expected none, gaussian:SIGMA or median:K (optionally ,nearest), \
                 causal:ema:ALPHA or causal:mean:K"
            ))
        };
        let s = s.trim();
        if s.eq_ignore_ascii_case("none") {
            return Ok(Smooth::None);
        }
        if let Some(rest) = s
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("causal:"))
            .map(|_| &s[7..])
        {
            let (kind, value) = rest.split_once(':').ok_or_else(bad)?;
            let out = match kind.to_ascii_lowercase().as_str() {
                "ema" => Smooth::CausalEma {
                    alpha: value.trim().parse().map_err(|_| bad())?,
                },
                "mean" => Smooth::CausalMean {
                    k: value.trim().parse().map_err(|_| bad())?,
                },
                _ => return Err(bad()),
            };
            out.validate()?;
            return Ok(out);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let (value, edge) = match rest.split_once(',') {
            Some((v, "reflect")) => (v, Edge::Reflect),
            Some((v, "nearest")) => (v, Edge::Nearest),
            Some(_) => return Err(bad()),
            None => (rest, Edge::Reflect),
        };
        let out = match kind.to_ascii_lowercase().as_str() {
            "gaussian" => Smooth::Gaussian {
                sigma: value.trim().parse().map_err(|_| bad())?,
                edge,
            },
            "median" => Smooth::Median {
                k: value.trim().parse().map_err(|_| bad())?,
                edge,
            },
            _ => return Err(bad()),
        };
        out.validate()?;
        Ok(out)
    }
}

impl Smooth {
    /// Whether the filter uses only past scores (so live scoring can apply it).
    pub fn is_causal(&self) -> bool {
        matches!(
            self,
            Smooth::None | Smooth::CausalEma { .. } | Smooth::CausalMean { .. }
        )
    }
}

/// A causal filter run one score at a time (see [`Smooth::is_causal`]).
#[derive(Debug, Clone)]
pub struct CausalSmoother {
    filter: Smooth,
    ema: Option<f64>,
    window: std::collections::VecDeque<f64>,
    sum: f64,
    pushes: u64,
}

impl CausalSmoother {
    /// A smoother for `filter`; an error for a filter that needs the future.
    pub fn new(filter: Smooth) -> Result<CausalSmoother> {
        filter.validate()?;
        if !filter.is_causal() {
            return Err(Error::invalid(format!(
                "smoothing {filter} looks at later frames; live scoring needs \
                 none, causal:ema:ALPHA or causal:mean:K"
            )));
        }
        Ok(CausalSmoother {
            filter,
            ema: None,
            window: Default::default(),
            sum: 0.0,
            pushes: 0,
        })
    }

    /// The smoothed value after `x`. A non-finite score passes through
    /// without entering the filter's state.
    pub fn push(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return x;
        }
        match self.filter {
            Smooth::CausalEma { alpha } => {
                let y = self.ema.map_or(x, |prev| alpha * x + (1.0 - alpha) * prev);
                self.ema = Some(y);
                y
            }
            Smooth::CausalMean { k } => {
                self.window.push_back(x);
                self.sum += x;
                if self.window.len() > k {
                    self.sum -= self.window.pop_front().unwrap_or(0.0);
                }
                // Re-summed now and then so rounding cannot drift over a long stream.
                self.pushes += 1;
                if self.pushes.is_multiple_of(4096) {
                    self.sum = self.window.iter().sum();
                }
                self.sum / self.window.len() as f64
            }
            _ => x,
        }
    }

    /// Forgets the past (a stream reconnected: its history is gone).
    pub fn reset(&mut self) {
        self.ema = None;
        self.window.clear();
        self.sum = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_reflects_and_clamps() {
        let r: Vec<usize> = (-3..7).map(|i| fold(i, 4, Edge::Reflect)).collect();
        assert_eq!(r, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        let c: Vec<usize> = (-2..6).map(|i| fold(i, 4, Edge::Nearest)).collect();
        assert_eq!(c, [0, 0, 0, 1, 2, 3, 3, 3]);
        // A window wider than the series still folds into range.
        assert_eq!(fold(-9, 2, Edge::Reflect), 0);
    }

    #[test]
    fn median_removes_a_spike_and_gaussian_keeps_constants() {
        let m = Smooth::Median {
            k: 3,
            edge: Edge::Nearest,
        };
        assert_eq!(
            m.apply(&[1.0, 1.0, 9.0, 1.0, 2.0]).unwrap(),
            [1.0, 1.0, 1.0, 2.0, 2.0]
        );
        let g = Smooth::Gaussian {
            sigma: 2.0,
            edge: Edge::Reflect,
        };
        for v in g.apply(&[3.0; 5]).unwrap() {
            assert!((v - 3.0).abs() < 1e-12);
        }
    }

    #[test]
    fn causal_filters_use_only_the_past() {
        let x = [0.0, 4.0, 2.0, 8.0, 6.0];
        let mean: Smooth = "causal:mean:2".parse().unwrap();
        assert_eq!(mean.apply(&x).unwrap(), [0.0, 2.0, 3.0, 5.0, 7.0]);
        let ema: Smooth = "causal:ema:0.5".parse().unwrap();
        assert_eq!(ema.apply(&x).unwrap(), [0.0, 2.0, 2.0, 5.0, 5.5]);
        assert_eq!(ema.to_string(), "causal:ema:0.5");
        // Changing a later score never changes an earlier output.
        let mut y = x;
        y[4] = 100.0;
        assert_eq!(mean.apply(&y).unwrap()[..4], mean.apply(&x).unwrap()[..4]);
        // The streaming smoother and the series agree; a reset forgets.
        let mut c = CausalSmoother::new(mean).unwrap();
        let live: Vec<f64> = x.iter().map(|&v| c.push(v)).collect();
        assert_eq!(live, mean.apply(&x).unwrap());
        c.reset();
        assert_eq!(c.push(9.0), 9.0);
        for bad in [
            "causal:ema:0",
            "causal:ema:1.5",
            "causal:mean:0",
            "causal:x:1",
            "causal:ema",
        ] {
            assert!(bad.parse::<Smooth>().is_err(), "{bad}");
        }
        let e = CausalSmoother::new("gaussian:2".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("later frames"), "{e}");
    }

    #[test]
    fn parses_and_prints() {
        let s: Smooth = "gaussian:1.5,nearest".parse().unwrap();
        assert_eq!(
            s,
            Smooth::Gaussian {
                sigma: 1.5,
                edge: Edge::Nearest
            }
        );
        assert_eq!(s.to_string(), "gaussian:1.5,nearest");
        assert_eq!(
            "median:5".parse::<Smooth>().unwrap().to_string(),
            "median:5"
        );
        assert!("median:4".parse::<Smooth>().is_err());
        assert!("gaussian:0".parse::<Smooth>().is_err());
        assert!("gaussian:1000".parse::<Smooth>().is_ok());
        assert!("median:1001".parse::<Smooth>().is_ok());
        for bad in [
            "gaussian:1e9",
            "gaussian:inf",
            "gaussian:NaN",
            "gaussian:-1",
        ] {
            let e = bad.parse::<Smooth>().unwrap_err().to_string();
            assert!(
                e.contains("sigma") && e.contains("at most 1000"),
                "{bad}: {e}"
            );
        }
        for bad in ["median:1003", "median:99999999999"] {
            let e = bad.parse::<Smooth>().unwrap_err().to_string();
            assert!(
                e.contains("window") && e.contains("1 to 1001"),
                "{bad}: {e}"
            );
        }
        assert!("box:3".parse::<Smooth>().is_err());
    }
}
