//! Ground-truth edits as typed commands with an undo/redo history.
//!
//! An [`AnnotationCommand`] is applied to one video's intervals, box
//! tracks and painted masks in one place,
//! [`Annotation::apply`], which records it with its inverse. A whole mouse
//! drag is one step: commands sent with the same group id coalesce. The
//! history knows which step was saved, so "unsaved changes" survives undoing
//! back to the saved state (it is then clean again).

use std::collections::BTreeMap;

use super::edit::{self, Edge};
use super::pixels::PixelMask;
use super::tracks::Track;
use super::Interval;

/// One edit of a video's ground truth: its frame-level intervals or its
/// region tracks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AnnotationCommand {
    /// Mark these frames anomalous (joins what they touch).
    Add(Interval),
    /// Mark these frames normal.
    Erase(Interval),
    /// Remove the interval at this index.
    Delete(usize),
    /// Make this frame normal, splitting the interval it is in.
    Split(usize),
    /// Join the interval at this index with the next one.
    Merge(usize),
    /// Move one edge of an interval onto a frame.
    MoveEdge {
        /// The interval.
        index: usize,
        /// Which edge.
        edge: Edge,
        /// The frame the edge goes onto.
        to: usize,
    },
    /// Shift an interval by frames, keeping its length.
    Move {
        /// The interval.
        index: usize,
        /// Frames (negative: earlier).
        delta: i64,
    },
    /// Replace all intervals (the inverse of every interval command).
    Replace(Vec<Interval>),
    /// Set the track with this id (add, move or resize a box, end it), or
    /// remove it with `None`; its own inverse.
    SetTrack {
        /// The track's id.
        id: u32,
        /// What it becomes.
        track: Option<Track>,
    },
    /// Set the painted mask of a frame (a brush stroke), or go back to the
    /// file's mask with `None`, and the intervals with it (a stroke on a
    /// normal frame makes it anomalous); its own inverse.
    SetMask {
        /// The frame.
        frame: usize,
        /// Its mask.
        mask: Option<PixelMask>,
        /// The intervals.
        intervals: Vec<Interval>,
    },
    /// Replace the intervals, every track and every painted mask (a
    /// restored recovery file, a file reloaded from disk).
    Restore {
        /// The intervals.
        intervals: Vec<Interval>,
        /// The tracks.
        tracks: Vec<Track>,
        /// The painted masks by frame.
        #[serde(default)]
        masks: BTreeMap<usize, PixelMask>,
    },
}

impl AnnotationCommand {
    /// The intervals after this command, for a video of `len` frames (a
    /// track command leaves them as they are).
    pub fn apply(&self, v: &[Interval], len: usize) -> Vec<Interval> {
        use AnnotationCommand::*;
        match self {
            SetTrack { .. } => v.to_vec(),
            Restore { intervals, .. } | SetMask { intervals, .. } => edit::clamp(intervals, len),
            Add(iv) => edit::add(v, *iv, len),
            Erase(iv) => edit::erase(v, *iv),
            Delete(i) => edit::delete(v, *i),
            Split(f) => edit::split(v, *f),
            Merge(i) => edit::merge(v, *i),
            MoveEdge { index, edge, to } => edit::move_edge(v, *index, *edge, *to, len),
            Move { index, delta } => edit::move_interval(v, *index, *delta, len),
            Replace(all) => edit::clamp(all, len),
        }
    }

    /// What the edit does, for "Undo …" menu entries.
    pub fn label(&self) -> &'static str {
        use AnnotationCommand::*;
        match self {
            Add(_) => "add interval",
            Erase(_) => "erase frames",
            Delete(_) => "delete interval",
            Split(_) => "split interval",
            Merge(_) => "merge intervals",
            MoveEdge { .. } => "move edge",
            Move { .. } => "move interval",
            Replace(_) => "replace intervals",
            SetTrack { track: None, .. } => "delete box track",
            SetTrack { .. } => "edit box",
            SetMask { mask: None, .. } => "clear painted mask",
            SetMask { .. } => "paint mask",
            Restore { .. } => "restore edits",
        }
    }
}

/// One undoable step.
#[derive(Debug, Clone)]
struct Step {
    id: u64,
    group: Option<u64>,
    command: AnnotationCommand,
    inverse: AnnotationCommand,
}

/// One video's ground truth while it is edited: intervals and box tracks.
#[derive(Debug, Clone, Default)]
pub struct Annotation {
    intervals: Vec<Interval>,
    /// Sorted by id.
    tracks: Vec<Track>,
    /// Painted masks by frame; they replace the file's mask of the frame.
    masks: BTreeMap<usize, PixelMask>,
    len: usize,
    undo: Vec<Step>,
    redo: Vec<Step>,
    next_id: u64,
    saved_id: u64,
    /// Counts every change of the state, a drag's coalesced moves included
    /// (which keep their step's id).
    version: u64,
}

impl Annotation {
    /// Starts editing `intervals` of a video of `len` frames (clamped and
    /// normalised); the state counts as saved.
    pub fn new(intervals: &[Interval], len: usize) -> Self {
        Annotation::with_tracks(intervals, Vec::new(), len)
    }

    /// Starts editing intervals and box tracks (see [`Annotation::new`]).
    pub fn with_tracks(intervals: &[Interval], mut tracks: Vec<Track>, len: usize) -> Self {
        tracks.sort_by_key(|t| t.id);
        tracks.dedup_by_key(|t| t.id);
        Annotation {
            intervals: edit::clamp(intervals, len),
            tracks,
            len,
            next_id: 1,
            ..Default::default()
        }
    }

    /// The intervals as they are now.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// The box tracks as they are now, sorted by id.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The painted mask of a frame, if one was painted.
    pub fn mask(&self, frame: usize) -> Option<&PixelMask> {
        self.masks.get(&frame)
    }

    /// Every painted mask, by frame.
    pub fn masks(&self) -> &BTreeMap<usize, PixelMask> {
        &self.masks
    }

    /// The track with this id.
    pub fn track(&self, id: u32) -> Option<&Track> {
        self.tracks
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.tracks[i])
    }

    /// Performs a command; returns whether anything changed.
    fn perform(&mut self, command: &AnnotationCommand) -> bool {
        let changed = self.perform_unversioned(command);
        self.version += u64::from(changed);
        changed
    }

    fn perform_unversioned(&mut self, command: &AnnotationCommand) -> bool {
        if let AnnotationCommand::Restore {
            intervals,
            tracks,
            masks,
        } = command
        {
            let mut tracks = tracks.clone();
            tracks.sort_by_key(|t| t.id);
            tracks.dedup_by_key(|t| t.id);
            let intervals = edit::clamp(intervals, self.len);
            let masks: BTreeMap<usize, PixelMask> = masks
                .iter()
                .filter(|(&f, _)| f < self.len)
                .map(|(&f, m)| (f, m.clone()))
                .collect();
            if intervals == self.intervals && tracks == self.tracks && masks == self.masks {
                return false;
            }
            self.intervals = intervals;
            self.tracks = tracks;
            self.masks = masks;
            return true;
        }
        if let AnnotationCommand::SetMask {
            frame,
            mask,
            intervals,
        } = command
        {
            if *frame >= self.len {
                return false;
            }
            let intervals = edit::clamp(intervals, self.len);
            if self.masks.get(frame) == mask.as_ref() && intervals == self.intervals {
                return false;
            }
            match mask {
                Some(m) => self.masks.insert(*frame, m.clone()),
                None => self.masks.remove(frame),
            };
            self.intervals = intervals;
            return true;
        }
        if let AnnotationCommand::SetTrack { id, track } = command {
            let track = track.clone().map(|mut t| {
                t.id = *id;
                t
            });
            let at = self.tracks.binary_search_by_key(id, |t| t.id);
            return match (at, track) {
                (Ok(i), Some(t)) if self.tracks[i] == t => false,
                (Ok(i), Some(t)) => {
                    self.tracks[i] = t;
                    true
                }
                (Ok(i), None) => {
                    self.tracks.remove(i);
                    true
                }
                (Err(i), Some(t)) => {
                    self.tracks.insert(i, t);
                    true
                }
                (Err(_), None) => false,
            };
        }
        let after = command.apply(&self.intervals, self.len);
        if after == self.intervals {
            return false;
        }
        self.intervals = after;
        true
    }

    /// The command that takes the state back to what `command` found (before
    /// it is performed), or forward to what it left (after).
    fn snapshot(&self, command: &AnnotationCommand) -> AnnotationCommand {
        match command {
            AnnotationCommand::SetTrack { id, .. } => AnnotationCommand::SetTrack {
                id: *id,
                track: self.track(*id).cloned(),
            },
            AnnotationCommand::SetMask { frame, .. } => AnnotationCommand::SetMask {
                frame: *frame,
                mask: self.masks.get(frame).cloned(),
                intervals: self.intervals.clone(),
            },
            AnnotationCommand::Restore { .. } => AnnotationCommand::Restore {
                intervals: self.intervals.clone(),
                tracks: self.tracks.clone(),
                masks: self.masks.clone(),
            },
            _ => AnnotationCommand::Replace(self.intervals.clone()),
        }
    }

    /// The video's length in frames.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the video has no frames.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Applies a command; returns whether anything changed (a command that
    /// changes nothing is not recorded). Commands with the same `group` in a
    /// row (one drag) are one undo step.
    pub fn apply(&mut self, command: AnnotationCommand, group: Option<u64>) -> bool {
        let before = self.snapshot(&command);
        if !self.perform(&command) {
            return false;
        }
        self.redo.clear();
        let after = self.snapshot(&command);
        if let Some(last) = self.undo.last_mut() {
            let same_target = match (&last.inverse, &after) {
                (
                    AnnotationCommand::SetTrack { id: a, .. },
                    AnnotationCommand::SetTrack { id: b, .. },
                ) => a == b,
                (
                    AnnotationCommand::SetMask { frame: a, .. },
                    AnnotationCommand::SetMask { frame: b, .. },
                ) => a == b,
                (AnnotationCommand::Replace(_), AnnotationCommand::Replace(_)) => true,
                _ => false,
            };
            if group.is_some() && last.group == group && last.id != self.saved_id && same_target {
                // Keep the drag's first inverse; its result is the latest state.
                last.command = after;
                return true;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.undo.push(Step {
            id,
            group,
            command,
            inverse: before,
        });
        true
    }

    /// Undoes the last step; returns its label, or `None` when there is none.
    pub fn undo(&mut self) -> Option<&'static str> {
        let step = self.undo.pop()?;
        self.perform(&step.inverse);
        let label = step.command.label();
        self.redo.push(step);
        Some(label)
    }

    /// Redoes the last undone step; returns its label.
    pub fn redo(&mut self) -> Option<&'static str> {
        let step = self.redo.pop()?;
        self.perform(&step.command);
        let label = step.command.label();
        self.undo.push(step);
        Some(label)
    }

    /// What undo would undo.
    pub fn undo_label(&self) -> Option<&'static str> {
        self.undo.last().map(|s| s.command.label())
    }

    /// What redo would redo.
    pub fn redo_label(&self) -> Option<&'static str> {
        self.redo.last().map(|s| s.command.label())
    }

    fn current_id(&self) -> u64 {
        self.undo.last().map_or(0, |s| s.id)
    }

    /// A number that changes whenever the intervals or tracks change (each
    /// move of a drag too): what caches of derived data are keyed by.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// An id of the current state, for [`Annotation::mark_saved_at`]: a save
    /// that runs in the background marks the state it started from.
    pub fn state_id(&self) -> u64 {
        self.current_id()
    }

    /// Marks the state with this id (from [`Annotation::state_id`]) as saved.
    pub fn mark_saved_at(&mut self, id: u64) {
        self.saved_id = id;
    }

    /// Whether the intervals differ from the last saved state (by history:
    /// undoing back to the saved step makes it clean again).
    pub fn is_dirty(&self) -> bool {
        self.current_id() != self.saved_id
    }

    /// Marks the current state as saved.
    pub fn mark_saved(&mut self) {
        self.saved_id = self.current_id();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(start: usize, end: usize) -> Interval {
        Interval { start, end }
    }

    #[test]
    fn undo_and_redo_walk_the_history() {
        let mut a = Annotation::new(&[iv(5, 10)], 50);
        assert!(a.apply(AnnotationCommand::Add(iv(20, 25)), None));
        assert!(a.apply(AnnotationCommand::Split(7), None));
        assert_eq!(a.intervals(), &[iv(5, 7), iv(8, 10), iv(20, 25)]);
        assert_eq!(a.undo(), Some("split interval"));
        assert_eq!(a.intervals(), &[iv(5, 10), iv(20, 25)]);
        assert_eq!(a.undo(), Some("add interval"));
        assert_eq!(a.intervals(), &[iv(5, 10)]);
        assert_eq!(a.undo(), None);
        assert_eq!(a.redo(), Some("add interval"));
        assert_eq!(a.intervals(), &[iv(5, 10), iv(20, 25)]);
        // A new edit drops what could be redone.
        assert!(a.apply(AnnotationCommand::Delete(0), None));
        assert_eq!(a.redo(), None);
        assert_eq!(a.intervals(), &[iv(20, 25)]);
    }

    #[test]
    fn a_drag_is_one_step() {
        let mut a = Annotation::new(&[iv(5, 10)], 50);
        for to in 10..20 {
            let edge = Edge::End;
            a.apply(AnnotationCommand::MoveEdge { index: 0, edge, to }, Some(1));
        }
        assert_eq!(a.intervals(), &[iv(5, 20)]);
        assert_eq!(a.version(), 10, "every move of the drag is a new version");
        // A second drag is a second step.
        a.apply(AnnotationCommand::Move { index: 0, delta: 3 }, Some(2));
        assert_eq!(a.intervals(), &[iv(8, 23)]);
        a.undo();
        assert_eq!(a.intervals(), &[iv(5, 20)]);
        a.undo();
        assert_eq!(a.intervals(), &[iv(5, 10)]);
        a.redo();
        assert_eq!(a.intervals(), &[iv(5, 20)]);
    }

    #[test]
    fn box_edits_undo_and_a_box_drag_is_one_step() {
        use crate::truth::tracks::{BoxPx, Track};
        let b = |x: f32| BoxPx {
            x,
            y: 0.0,
            w: 5.0,
            h: 5.0,
        };
        let mut a = Annotation::new(&[iv(5, 10)], 50);
        let t = Track::new(4, 3, b(1.0));
        let set = |t: Option<Track>| AnnotationCommand::SetTrack { id: 4, track: t };
        assert!(a.apply(set(Some(t.clone())), None));
        for x in 2..8 {
            a.apply(set(Some(t.with_key(3, b(x as f32)))), Some(9));
        }
        assert_eq!(a.track(4).unwrap().box_at(3), Some(b(7.0)));
        assert!(a.apply(set(None), None));
        assert!(a.tracks().is_empty());
        assert_eq!(a.intervals(), &[iv(5, 10)], "box edits leave the intervals");
        assert_eq!(a.undo(), Some("delete box track"));
        assert_eq!(a.track(4).unwrap().box_at(3), Some(b(7.0)));
        assert_eq!(a.undo(), Some("edit box"));
        assert_eq!(
            a.track(4).unwrap().box_at(3),
            Some(b(1.0)),
            "the drag undoes at once"
        );
        assert_eq!(a.undo(), Some("edit box"));
        assert!(a.tracks().is_empty());
        a.redo();
        a.redo();
        assert_eq!(a.track(4).unwrap().box_at(3), Some(b(7.0)));
        assert!(
            !a.apply(set(Some(t.with_key(3, b(7.0)))), None),
            "no change"
        );
    }

    #[test]
    fn a_brush_stroke_is_one_step_that_also_marks_the_frame() {
        let mut a = Annotation::new(&[iv(5, 10)], 50);
        let mut m = PixelMask::blank(8, 8);
        let stroke = Some(3);
        for x in 1..6 {
            m.paint_segment([x as f32, 4.0], [x as f32 + 1.0, 4.0], 1.0, true);
            let intervals = edit::add(a.intervals(), iv(20, 21), 50);
            let cmd = AnnotationCommand::SetMask {
                frame: 20,
                mask: Some(m.clone()),
                intervals,
            };
            assert!(a.apply(cmd, stroke) || x > 1);
        }
        assert_eq!(a.mask(20), Some(&m));
        assert_eq!(a.intervals(), &[iv(5, 10), iv(20, 21)]);
        assert_eq!(a.undo(), Some("paint mask"));
        assert_eq!(a.mask(20), None, "the whole stroke undoes");
        assert_eq!(a.intervals(), &[iv(5, 10)], "and the frame it marked");
        assert_eq!(a.redo(), Some("paint mask"));
        assert_eq!(a.mask(20), Some(&m));
        // Frames past the video are refused.
        let past = AnnotationCommand::SetMask {
            frame: 50,
            mask: Some(m.clone()),
            intervals: a.intervals().to_vec(),
        };
        assert!(!a.apply(past, None));
        // A restore replaces the painted masks too, as one step.
        let restore = AnnotationCommand::Restore {
            intervals: vec![],
            tracks: vec![],
            masks: BTreeMap::new(),
        };
        assert!(a.apply(restore, None));
        assert!(a.masks().is_empty() && a.intervals().is_empty());
        a.undo();
        assert_eq!(a.mask(20), Some(&m));
    }

    #[test]
    fn no_op_edits_are_not_recorded() {
        let mut a = Annotation::new(&[iv(5, 10)], 50);
        assert!(!a.apply(AnnotationCommand::Split(30), None));
        assert!(!a.apply(AnnotationCommand::Add(iv(6, 8)), None));
        assert!(!a.is_dirty());
        assert_eq!(a.undo(), None);
    }

    #[test]
    fn dirty_follows_the_saved_step() {
        let mut a = Annotation::new(&[], 50);
        assert!(!a.is_dirty());
        a.apply(AnnotationCommand::Add(iv(1, 4)), None);
        assert!(a.is_dirty());
        a.mark_saved();
        assert!(!a.is_dirty());
        a.apply(AnnotationCommand::Add(iv(10, 14)), None);
        assert!(a.is_dirty());
        a.undo();
        assert!(!a.is_dirty(), "undoing back to the saved state is clean");
        a.undo();
        assert!(a.is_dirty());
        // A drag that continues after a save is a new step, so undo returns
        // to the saved state, not before it.
        a.redo();
        let edge = Edge::End;
        a.apply(
            AnnotationCommand::MoveEdge {
                index: 0,
                edge,
                to: 6,
            },
            Some(7),
        );
        a.mark_saved();
        a.apply(
            AnnotationCommand::MoveEdge {
                index: 0,
                edge,
                to: 9,
            },
            Some(7),
        );
        assert_eq!(a.intervals(), &[iv(1, 10)]);
        a.undo();
        assert!(!a.is_dirty());
        assert_eq!(a.intervals(), &[iv(1, 7)]);
    }
}
