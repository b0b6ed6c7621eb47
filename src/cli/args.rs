//! Range-checked parsers for numeric flags, shared by every subcommand.
//!
//! Every numeric flag has a documented range (in its `--help` text) and is
//! checked by clap before any work starts. A value out of range fails with
//! clap's usage error (exit code 2), which names the flag and the value; the
//! parsers here add the allowed range, e.g.
//! `invalid value '0' for '--pairs <PAIRS>': 0 is out of range (allowed: 1 to 1000000)`.

use std::fmt::Display;
use std::str::FromStr;

use vadscope::video::OutputSpec;

/// A whole number in `lo..=hi`.
pub fn int<T>(lo: T, hi: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |s: &str| {
        let v: T = s
            .trim()
            .parse()
            .map_err(|_| format!("not a whole number (allowed: {lo} to {hi})"))?;
        if v < lo || v > hi {
            return Err(format!("{v} is out of range (allowed: {lo} to {hi})"));
        }
        Ok(v)
    }
}

/// A finite number in `lo..=hi`, or in `lo < v <= hi` when `open_low`.
pub fn real<T>(
    lo: T,
    hi: T,
    open_low: bool,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |s: &str| {
        let range = if open_low {
            format!("above {lo} and at most {hi}")
        } else {
            format!("{lo} to {hi}")
        };
        let v: T = s
            .trim()
            .parse()
            .map_err(|_| format!("not a number (allowed: {range})"))?;
        // NaN compares false everywhere, so it fails the range check too.
        let low_ok = if open_low { v > lo } else { v >= lo };
        if !(low_ok && v <= hi) {
            return Err(format!("{v} is out of range (allowed: {range})"));
        }
        Ok(v)
    }
}

/// A size `WxH` with both sides in `lo..=hi`: a malformed size names the form
/// it expects, a well-formed one out of range names the range.
pub fn size(
    lo: usize,
    hi: usize,
) -> impl Fn(&str) -> Result<(usize, usize), String> + Clone + Send + Sync + 'static {
    move |s: &str| OutputSpec::parse_size_in(s, lo..=hi).map_err(|e| e.to_string())
}

/// `--anomalies` of `synth`: `none`, a comma list of kinds (checked later),
/// or a count of at most [`vadscope::synth::MAX_ANOMALIES`].
pub fn anomalies(s: &str) -> Result<String, String> {
    if let Ok(n) = s.trim().parse::<u128>() {
        let max = vadscope::synth::MAX_ANOMALIES;
        if n > max as u128 {
            return Err(format!("{n} is out of range (allowed: 0 to {max})"));
        }
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_name_the_value_and_the_range() {
        let p = int(1usize, 100);
        assert_eq!(p("7"), Ok(7));
        assert_eq!(p(" 100 "), Ok(100));
        let e = p("0").unwrap_err();
        assert!(e.contains('0') && e.contains("1 to 100"), "{e}");
        let e = p("101").unwrap_err();
        assert!(e.contains("101") && e.contains("1 to 100"), "{e}");
        let e = p("99999999999999999999999").unwrap_err();
        assert!(e.contains("1 to 100"), "{e}");
        assert!(p("-3").is_err() && p("x").is_err() && p("").is_err());
    }

    #[test]
    fn reals_refuse_nan_infinity_and_the_open_end() {
        let p = real(0.0f64, 1000.0, true);
        assert_eq!(p("2.5"), Ok(2.5));
        assert_eq!(p("1000"), Ok(1000.0));
        for bad in ["0", "-1", "1e9", "NaN", "inf", "x"] {
            let e = p(bad).unwrap_err();
            assert!(e.contains("above 0 and at most 1000"), "{bad}: {e}");
        }
        let q = real(0.0f32, 1.0, false);
        assert_eq!(q("0"), Ok(0.0));
        assert!(q("1.5").unwrap_err().contains("0 to 1"));
    }

    #[test]
    fn sizes_say_the_form_or_the_range() {
        let p = size(8, 4096);
        assert_eq!(p("64x32"), Ok((64, 32)));
        let e = p("100000x64").unwrap_err();
        assert!(e.contains("width 100000") && e.contains("8 to 4096"), "{e}");
        assert!(!e.contains("expected WIDTHxHEIGHT"), "{e}");
        let e = p("64x0").unwrap_err();
        assert!(e.contains("height 0") && e.contains("8 to 4096"), "{e}");
        assert!(p("64").unwrap_err().contains("expected WIDTHxHEIGHT"));
    }

    #[test]
    fn anomaly_counts_are_bounded() {
        assert_eq!(anomalies("3").unwrap(), "3");
        assert_eq!(anomalies("runner,vehicle").unwrap(), "runner,vehicle");
        let e = anomalies("1000000000000").unwrap_err();
        assert!(e.contains("0 to"), "{e}");
    }
}

/// The alert-event flags of `score --events` and `watch` (one rule, one set
/// of flags: the engine's [`vadscope::score::events::EventRule`]).
#[derive(clap::Args, Debug, Clone)]
pub struct EventFlags {
    /// The score at or above which an event starts, in the `score` column's
    /// units (training-set z-scores; after `--smooth` when watching). Choose
    /// it on training or validation videos, not on the test set.
    #[arg(long, value_parser = real(-1e9f64, 1e9, false))]
    pub event_threshold: Option<f64>,
    /// An event lasts while the score stays at or above the threshold minus
    /// this; default a third of the threshold's size.
    #[arg(long, value_parser = real(0.0f64, 1e9, false))]
    pub event_hysteresis: Option<f64>,
    /// Shortest event, in scored frames.
    #[arg(long, default_value_t = 3, value_parser = int(1usize, 1_000_000))]
    pub event_min_frames: usize,
    /// Scored frames after the score falls within which a new rise continues
    /// the same event (one event instead of a flashing alert).
    #[arg(long, default_value_t = 10, value_parser = int(0usize, 1_000_000))]
    pub event_cooldown: usize,
}

impl EventFlags {
    /// The rule, when a threshold was given.
    pub fn rule(&self) -> Option<vadscope::score::events::EventRule> {
        let t = self.event_threshold?;
        let base = vadscope::score::events::EventRule::at(t);
        Some(vadscope::score::events::EventRule {
            hysteresis: self.event_hysteresis.unwrap_or(base.hysteresis),
            min_frames: self.event_min_frames,
            cooldown_frames: self.event_cooldown,
            ..base
        })
    }
}
