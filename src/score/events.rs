//! Alerts: turning a score curve into events, offline or as frames arrive.
//!
//! An event starts on a rising edge of the score to the threshold or above
//! it, and lasts while the score stays at or above `threshold − hysteresis`
//! (so noise around the threshold does not cut it into pieces). It counts
//! only if it lasts at least `min_frames` frames. After the score falls, the
//! event stays open for `cooldown_frames` more frames: a rise within them
//! continues the same event instead of flashing a new one. Unscored frames
//! (NaN) count as below every level.
//!
//! [`EventDetector`] is the causal form (one score at a time, what live
//! scoring uses); [`detect`] runs it over a whole video, so offline and live
//! events agree by construction.

use serde::Serialize;

/// When a score curve raises an event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EventRule {
    /// The score at or above which an event starts.
    pub threshold: f64,
    /// The event ends when the score falls below `threshold − hysteresis` (≥ 0).
    pub hysteresis: f64,
    /// Shortest event, in frames (≥ 1); shorter runs are ignored.
    pub min_frames: usize,
    /// Frames after the score falls during which a new rise continues the
    /// same event.
    pub cooldown_frames: usize,
}

impl EventRule {
    /// Events at `threshold`, with a hysteresis of a third of its distance
    /// from 0 (at least 0), at least 3 frames, and 10 frames of cooldown.
    /// There is no default threshold: scores are in units that depend on
    /// the model and its normalisation, so the level is the user's to choose
    /// (on training or validation data, never the test set).
    pub fn at(threshold: f64) -> EventRule {
        EventRule {
            threshold,
            hysteresis: (threshold.abs() / 3.0).max(0.0),
            min_frames: 3,
            cooldown_frames: 10,
        }
    }
}

/// One event: frames `start..end` (the frame where the score last fell
/// below the lower level is `end`), and its highest score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Event {
    /// First frame at or above the threshold.
    pub start: usize,
    /// The frame of the highest score.
    pub peak: usize,
    /// The highest score.
    pub peak_score: f64,
    /// One past the last frame at or above the lower level.
    pub end: usize,
}

impl Event {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether it has no frames (never, for a detected event).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// What one new score changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventUpdate {
    /// An event is confirmed (it has lasted `min_frames`): raise the alert.
    Started(Event),
    /// The event is over (its cooldown passed without a new rise).
    Ended(Event),
}

/// The causal event detector: feed it scores in frame order.
#[derive(Debug, Clone)]
pub struct EventDetector {
    rule: EventRule,
    /// The open event (confirmed or not) and whether it was reported.
    open: Option<(Event, bool)>,
    /// Frames since the score fell below the lower level, while open.
    below_for: usize,
    /// Whether the score is at or above the lower level.
    high: bool,
}

impl EventDetector {
    /// A detector with `rule` (the hysteresis and minimum are made sane:
    /// a negative hysteresis is 0, a minimum of 0 frames is 1).
    pub fn new(rule: EventRule) -> EventDetector {
        let rule = EventRule {
            hysteresis: rule.hysteresis.max(0.0),
            min_frames: rule.min_frames.max(1),
            ..rule
        };
        EventDetector {
            rule,
            open: None,
            below_for: 0,
            high: false,
        }
    }

    /// The rule in use.
    pub fn rule(&self) -> &EventRule {
        &self.rule
    }

    /// Takes the score of `frame` (frames must increase).
    pub fn push(&mut self, frame: usize, score: f64) -> Option<EventUpdate> {
        let score = if score.is_finite() {
            score
        } else {
            f64::NEG_INFINITY
        };
        let r = self.rule;
        let low = r.threshold - r.hysteresis;
        // A rise needs the threshold; staying up needs only the lower level.
        self.high = if self.high {
            score >= low
        } else {
            score >= r.threshold
        };
        match self.open.as_mut() {
            None if self.high => {
                let ev = Event {
                    start: frame,
                    peak: frame,
                    peak_score: score,
                    end: frame + 1,
                };
                self.open = Some((ev, false));
                self.below_for = 0;
                self.confirm()
            }
            None => None,
            Some((ev, _)) if self.high => {
                ev.end = frame + 1;
                if score > ev.peak_score {
                    ev.peak = frame;
                    ev.peak_score = score;
                }
                self.below_for = 0;
                self.confirm()
            }
            Some((ev, reported)) => {
                self.below_for += 1;
                // An unconfirmed run that falls is dropped at once.
                let short = ev.len() < r.min_frames;
                if short || self.below_for > r.cooldown_frames {
                    let (ev, reported) = (*ev, *reported);
                    self.open = None;
                    return (reported && !short).then_some(EventUpdate::Ended(ev));
                }
                None
            }
        }
    }

    /// Reports the open event once it is long enough.
    fn confirm(&mut self) -> Option<EventUpdate> {
        let (ev, reported) = self.open.as_mut()?;
        if !*reported && ev.len() >= self.rule.min_frames {
            *reported = true;
            return Some(EventUpdate::Started(*ev));
        }
        None
    }

    /// Ends the stream: the open event, if confirmed, ends here.
    pub fn finish(&mut self) -> Option<Event> {
        let (ev, reported) = self.open.take()?;
        (reported && ev.len() >= self.rule.min_frames).then_some(ev)
    }
}

/// Every event of a score curve: the `k`-th score is that of frame
/// `first_frame + k` (an iterator, so callers need not copy their curve).
pub fn detect(
    scores: impl IntoIterator<Item = f64>,
    first_frame: usize,
    rule: EventRule,
) -> Vec<Event> {
    let mut d = EventDetector::new(rule);
    let mut out = Vec::new();
    for (k, s) in scores.into_iter().enumerate() {
        if let Some(EventUpdate::Ended(ev)) = d.push(first_frame + k, s) {
            out.push(ev);
        }
    }
    out.extend(d.finish());
    out
}

/// The events of several videos as CSV: `video,start,peak,end,peak_score`.
pub fn to_csv(events: &[(String, Vec<Event>)]) -> String {
    let mut s = String::from("video,start,peak,end,peak_score\n");
    for (name, evs) in events {
        for e in evs {
            s.push_str(&format!(
                "{name},{},{},{},{}\n",
                e.start, e.peak, e.end, e.peak_score
            ));
        }
    }
    s
}

/// The events of several videos as JSON: the rule, and per video its events.
pub fn to_json(rule: &EventRule, events: &[(String, Vec<Event>)]) -> String {
    #[derive(Serialize)]
    struct Video<'a> {
        video: &'a str,
        events: &'a [Event],
    }
    #[derive(Serialize)]
    struct File<'a> {
        rule: &'a EventRule,
        videos: Vec<Video<'a>>,
    }
    let file = File {
        rule,
        videos: events
            .iter()
            .map(|(n, e)| Video {
                video: n,
                events: e,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(min: usize, cooldown: usize) -> EventRule {
        EventRule {
            threshold: 1.0,
            hysteresis: 0.5,
            min_frames: min,
            cooldown_frames: cooldown,
        }
    }

    #[test]
    fn hysteresis_keeps_an_event_whole_and_the_peak_is_found() {
        // Dips to 0.6 stay above the lower level 0.5: one event 2..7.
        let s = [0.0, 0.2, 1.2, 0.6, 1.5, 0.7, 1.1, 0.1, 0.0];
        let ev = detect(s, 0, rule(1, 0));
        assert_eq!(
            ev,
            vec![Event {
                start: 2,
                peak: 4,
                peak_score: 1.5,
                end: 7
            }]
        );
        // Without hysteresis the dips cut it into three.
        let r = EventRule {
            hysteresis: 0.0,
            ..rule(1, 0)
        };
        assert_eq!(detect(s, 0, r).len(), 3);
    }

    #[test]
    fn short_runs_are_ignored_and_cooldown_merges_flashes() {
        let s = [
            0.0, 1.2, 0.0, 0.0, 1.3, 1.4, 1.2, 0.0, 0.0, 1.1, 1.1, 1.1, 0.0,
        ];
        // At least 2 frames: the single frame at 1 is no event.
        let ev = detect(s, 100, rule(2, 0));
        assert_eq!(
            ev.iter().map(|e| (e.start, e.end)).collect::<Vec<_>>(),
            vec![(104, 107), (109, 112)]
        );
        // A cooldown of 2 frames joins the two.
        let ev = detect(s, 100, rule(2, 2));
        assert_eq!(
            ev.iter().map(|e| (e.start, e.end)).collect::<Vec<_>>(),
            vec![(104, 112)]
        );
        assert_eq!(ev[0].peak, 105);
    }

    #[test]
    fn the_live_detector_starts_once_confirmed_and_ends_after_the_cooldown() {
        let mut d = EventDetector::new(rule(3, 1));
        let s = [0.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0];
        let updates: Vec<_> = s
            .iter()
            .enumerate()
            .filter_map(|(f, &v)| d.push(f, v).map(|u| (f, u)))
            .collect();
        assert_eq!(updates.len(), 2, "{updates:?}");
        assert!(matches!(updates[0], (3, EventUpdate::Started(e)) if e.start == 1));
        assert!(matches!(updates[1], (6, EventUpdate::Ended(e)) if (e.start, e.end) == (1, 5)));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn nan_is_below_and_an_open_event_ends_with_the_stream() {
        let s = [2.0, 2.0, f64::NAN, 2.0, 2.0, 2.0];
        let ev = detect(s, 0, rule(2, 0));
        assert_eq!(
            ev.iter().map(|e| (e.start, e.end)).collect::<Vec<_>>(),
            vec![(0, 2), (3, 6)]
        );
        let csv = to_csv(&[("01".into(), ev.clone())]);
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.contains("01,3,3,6,2"), "{csv}");
        let json: serde_json::Value =
            serde_json::from_str(&to_json(&rule(2, 0), &[("01".into(), ev)])).unwrap();
        assert_eq!(json["videos"][0]["events"][1]["end"], 6);
        assert_eq!(json["rule"]["min_frames"], 2);
    }
}
