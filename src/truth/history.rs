//! Ground-truth edits as typed commands with an undo/redo history.
//!
//! An [`AnnotationCommand`] is applied to one video's intervals in one place,
//! [`Annotation::apply`], which records it with its inverse. A whole mouse
//! drag is one step: commands sent with the same group id coalesce. The
//! history knows which step was saved, so "unsaved changes" survives undoing
//! back to the saved state (it is then clean again).

use super::edit::{self, Edge};
use super::Interval;

/// One edit of a video's frame-level ground truth.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Replace all intervals (the inverse of every other command).
    Replace(Vec<Interval>),
}

impl AnnotationCommand {
    /// The intervals after this command, for a video of `len` frames.
    pub fn apply(&self, v: &[Interval], len: usize) -> Vec<Interval> {
        use AnnotationCommand::*;
        match self {
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

/// One video's frame-level ground truth while it is edited.
#[derive(Debug, Clone, Default)]
pub struct Annotation {
    intervals: Vec<Interval>,
    len: usize,
    undo: Vec<Step>,
    redo: Vec<Step>,
    next_id: u64,
    saved_id: u64,
}

impl Annotation {
    /// Starts editing `intervals` of a video of `len` frames (clamped and
    /// normalised); the state counts as saved.
    pub fn new(intervals: &[Interval], len: usize) -> Self {
        Annotation {
            intervals: edit::clamp(intervals, len),
            len,
            next_id: 1,
            ..Default::default()
        }
    }

    /// The intervals as they are now.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
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
        let after = command.apply(&self.intervals, self.len);
        if after == self.intervals {
            return false;
        }
        let before = std::mem::replace(&mut self.intervals, after);
        self.redo.clear();
        if let Some(last) = self.undo.last_mut() {
            if group.is_some() && last.group == group && last.id != self.saved_id {
                // Keep the drag's first inverse; its result is the latest state.
                last.command = AnnotationCommand::Replace(self.intervals.clone());
                return true;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.undo.push(Step {
            id,
            group,
            command,
            inverse: AnnotationCommand::Replace(before),
        });
        true
    }

    /// Undoes the last step; returns its label, or `None` when there is none.
    pub fn undo(&mut self) -> Option<&'static str> {
        let step = self.undo.pop()?;
        self.intervals = step.inverse.apply(&self.intervals, self.len);
        let label = step.command.label();
        self.redo.push(step);
        Some(label)
    }

    /// Redoes the last undone step; returns its label.
    pub fn redo(&mut self) -> Option<&'static str> {
        let step = self.redo.pop()?;
        self.intervals = step.command.apply(&self.intervals, self.len);
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
