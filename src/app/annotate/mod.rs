//! Ground-truth editing in the app: what the annotation keys and the
//! timeline's drags ask for ([`TruthCommand`]), turned into typed edits of
//! the [`TruthDoc`] at the playhead, in one place ([`apply`]). No UI here, so
//! it is tested without one.

pub(crate) mod autosave;
pub mod recovery;
pub mod review;
pub(crate) mod save;
mod second;
pub(crate) mod windows;

use std::path::PathBuf;

use crate::app::store::TruthDoc;
use crate::truth::edit::{self, Edge};
use crate::truth::history::AnnotationCommand;
use crate::truth::tracks;
use crate::truth::Interval;

/// An annotation request from a key, a menu or a drag.
#[derive(Debug, Clone, PartialEq)]
pub enum TruthCommand {
    /// I: an interval starts at the playhead.
    MarkIn,
    /// O: the interval marked in ends at the playhead, which it includes.
    MarkOut,
    /// Delete the interval under the playhead (or the selected one).
    Delete,
    /// Split the interval under the playhead (the playhead frame becomes normal).
    Split,
    /// Join the interval under the playhead (or before it) with the next one.
    MergeNext,
    /// Tab: select the next interval and go to its start.
    SelectNext,
    /// Shift+Tab: select the previous interval and go to its start.
    SelectPrev,
    /// Switch the selected edge between start and end, and go to it.
    ToggleEdge,
    /// Move the selected edge by frames (the playhead follows).
    Nudge(i64),
    /// A typed edit (drags send these; the same group is one undo step).
    Edit {
        /// The edit.
        command: AnnotationCommand,
        /// The drag it belongs to.
        group: Option<u64>,
    },
    /// Select an interval's edge (a click on it).
    SelectEdge(usize, Edge),
    /// A: the run of frames scored at or above the threshold around the
    /// playhead becomes anomalous.
    AcceptDetection,
    /// R: review mode on or off.
    ReviewToggle,
    /// Y: accept the disagreement under review (the truth follows the model).
    ReviewAccept,
    /// N: reject it (the truth stays).
    ReviewReject,
    /// B: the box tool on or off (with it, a drag on the frame draws a box).
    BoxTool,
    /// Select a box's track (a click on the box), or none (Esc).
    SelectBox(Option<u32>),
    /// Shift+O: the selected box's track ends at the playhead (the object leaves).
    EndTrack,
    /// Shift+B: the intervals become the frames the boxes are on.
    IntervalsFromBoxes,
    /// P: the brush on or off (with it, a drag on the frame paints the
    /// frame's mask; Shift or the right button erases).
    Brush,
    /// Alt+[ / Alt+]: the brush's radius times this factor.
    BrushSize(f32),
    /// D / Shift+D: the next / previous frames where a second annotator disagrees.
    Disagreement {
        /// Forward (D) or back (Shift+D).
        forward: bool,
    },
    /// Shift+L: loop playback over the selected interval (or the one at the
    /// playhead); again to stop.
    LoopInterval,
    /// H pressed: the frames the playhead passes while H is held become
    /// anomalous (one undo step per hold).
    Record,
    /// Undo the last edit.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Save into the file the truth came from, in its format.
    Save,
    /// Save into another file; the format follows the extension.
    SaveAs(PathBuf),
    /// Save into a folder of mask images (Ped2's `testing/masks` layout).
    SaveAsMasks(PathBuf),
    /// Replace the edits with the truth file as it is on disk now (one
    /// undoable step).
    Reload,
}

/// Annotation state that is not ground truth: the mark-in point, the
/// selected edge, the tools, and the last message for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotator {
    /// Where I was pressed.
    pub mark_in: Option<usize>,
    /// The selected interval and edge (Tab, a click; nudges move it).
    pub selected: Option<(usize, Edge)>,
    /// What the last command did or why it did nothing.
    pub message: Option<String>,
    /// Review mode, when on.
    pub review: Option<review::Review>,
    /// The selected box's track id (a click on a box; Delete removes it).
    pub selected_box: Option<u32>,
    /// Whether a drag on the frame draws a new box (B).
    pub box_tool: bool,
    /// Whether a drag on the frame paints its mask (P).
    pub brush: bool,
    /// The brush's radius in frame pixels.
    pub brush_radius_px: f32,
    /// While H is held: where the recording started, and its undo group.
    pub recording: Option<(usize, u64)>,
    /// Holds recorded so far (each its own undo group).
    holds: u64,
}

/// The brush's radius when the app starts, in frame pixels.
pub const BRUSH_RADIUS_PX: f32 = 6.0;

impl Default for Annotator {
    fn default() -> Self {
        Annotator {
            mark_in: None,
            selected: None,
            message: None,
            review: None,
            selected_box: None,
            box_tool: false,
            brush: false,
            brush_radius_px: BRUSH_RADIUS_PX,
            recording: None,
            holds: 0,
        }
    }
}

/// What [`apply`] asks the app to do besides editing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Move the playhead here.
    pub seek: Option<usize>,
    /// Save to the truth's source.
    pub save: bool,
    /// Save to this path.
    pub save_as: Option<PathBuf>,
    /// Loop playback over these frames (`start..end`), or stop if already.
    pub loop_frames: Option<(usize, usize)>,
}

/// Applies `cmd` at the playhead frame `playhead`.
pub fn apply(
    an: &mut Annotator,
    truth: &mut TruthDoc,
    playhead: usize,
    cmd: TruthCommand,
) -> Outcome {
    let mut out = Outcome::default();
    let iv = |t: &TruthDoc| t.edit.intervals().to_vec();
    match cmd {
        TruthCommand::MarkIn => {
            an.mark_in = Some(playhead);
            an.message = Some(format!("interval starts at frame {playhead}: O ends it"));
        }
        TruthCommand::MarkOut => match an.mark_in.take() {
            Some(a) => {
                let (s, e) = (a.min(playhead), a.max(playhead));
                truth.apply(
                    AnnotationCommand::Add(Interval {
                        start: s,
                        end: e + 1,
                    }),
                    None,
                );
                an.selected = edit::find(truth.edit.intervals(), e).map(|i| (i, Edge::End));
                an.message = Some(format!("frames {s}–{e} anomalous"));
            }
            None => an.message = Some("press I at the first frame of the interval first".into()),
        },
        TruthCommand::Delete if an.selected_box.is_some() => {
            let id = an.selected_box.take().unwrap_or_default();
            truth.apply(AnnotationCommand::SetTrack { id, track: None }, None);
            an.message = Some(format!("box track {id} deleted"));
        }
        TruthCommand::Delete => {
            let target = edit::find(&iv(truth), playhead).or(an.selected.map(|(i, _)| i));
            match target {
                Some(i) => {
                    truth.apply(AnnotationCommand::Delete(i), None);
                    an.selected = None;
                    an.message = Some("interval deleted".into());
                }
                None => an.message = Some("no interval at the playhead".into()),
            }
        }
        TruthCommand::Split => {
            if truth.apply(AnnotationCommand::Split(playhead), None) {
                an.selected = None;
                an.message = Some(format!("split at frame {playhead}"));
            } else {
                an.message = Some("no interval at the playhead to split".into());
            }
        }
        TruthCommand::MergeNext => {
            let v = iv(truth);
            let i = edit::find(&v, playhead).or_else(|| edit::prev_before(&v, playhead));
            match i.filter(|&i| i + 1 < v.len()) {
                Some(i) => {
                    truth.apply(AnnotationCommand::Merge(i), None);
                    an.selected = Some((i, Edge::End));
                    an.message = Some("merged with the next interval".into());
                }
                None => an.message = Some("no next interval to merge with".into()),
            }
        }
        TruthCommand::SelectNext | TruthCommand::SelectPrev => {
            let v = iv(truth);
            let i = if cmd == TruthCommand::SelectNext {
                edit::next_after(&v, playhead)
            } else {
                edit::prev_before(&v, playhead)
            };
            if let Some(i) = i {
                an.selected = Some((i, Edge::Start));
                out.seek = Some(v[i].start);
            }
        }
        TruthCommand::ToggleEdge => {
            let v = iv(truth);
            let sel = match an.selected {
                Some((i, e)) if i < v.len() => Some((
                    i,
                    if e == Edge::Start {
                        Edge::End
                    } else {
                        Edge::Start
                    },
                )),
                _ => edit::find(&v, playhead).map(|i| (i, Edge::End)),
            };
            if let Some((i, e)) = sel {
                an.selected = Some((i, e));
                out.seek = Some(edit::edge_frame(v[i], e));
            }
        }
        TruthCommand::Nudge(d) => {
            let v = iv(truth);
            match an.selected.filter(|(i, _)| *i < v.len()) {
                Some((i, e)) => {
                    let to = (edit::edge_frame(v[i], e) as i64 + d).max(0) as usize;
                    truth.apply(
                        AnnotationCommand::MoveEdge {
                            index: i,
                            edge: e,
                            to,
                        },
                        None,
                    );
                    out.seek = truth
                        .edit
                        .intervals()
                        .get(i)
                        .map(|&x| edit::edge_frame(x, e));
                }
                None => an.message = Some("select an interval first (Tab)".into()),
            }
        }
        TruthCommand::Edit { command, group } => {
            truth.apply(command, group);
        }
        TruthCommand::SelectEdge(i, e) => {
            if i < truth.edit.intervals().len() {
                an.selected = Some((i, e));
            }
        }
        TruthCommand::Brush => {
            an.brush = !an.brush;
            an.box_tool &= !an.brush;
            an.message = Some(if an.brush {
                format!(
                    "brush ({:.0} px): drag on the frame to paint its mask, Shift or right-drag to erase; Alt+[ / Alt+] size, P to stop",
                    an.brush_radius_px
                )
            } else {
                "brush off".into()
            });
        }
        TruthCommand::BrushSize(f) => {
            an.brush_radius_px = (an.brush_radius_px * f).clamp(0.5, 200.0);
            an.message = Some(format!("brush radius {:.1} px", an.brush_radius_px));
        }
        TruthCommand::BoxTool => {
            an.box_tool = !an.box_tool;
            an.brush &= !an.box_tool;
            an.message = Some(if an.box_tool {
                "box tool: drag on the frame to draw a box (B again to stop)".into()
            } else {
                "box tool off".into()
            });
        }
        TruthCommand::SelectBox(id) => {
            an.selected_box = id.filter(|&id| truth.edit.track(id).is_some());
        }
        TruthCommand::EndTrack => {
            let sel = an.selected_box.and_then(|id| truth.edit.track(id));
            match sel {
                Some(t) => {
                    let (id, ended) = (t.id, t.ended_at(playhead));
                    an.message = Some(match &ended {
                        Some(_) => format!("box track {id} ends before frame {playhead}"),
                        None => format!("box track {id} deleted (it started here)"),
                    });
                    truth.apply(AnnotationCommand::SetTrack { id, track: ended }, None);
                }
                None => an.message = Some("select a box first (click it)".into()),
            }
        }
        TruthCommand::IntervalsFromBoxes => {
            let spans = tracks::spans_of(truth.edit.tracks(), truth.edit.len());
            if truth.edit.tracks().is_empty() {
                an.message = Some("no boxes to take the intervals from".into());
            } else {
                let frames: usize = spans.iter().map(Interval::len).sum();
                truth.apply(AnnotationCommand::Replace(spans), None);
                an.message = Some(format!("intervals: the {frames} frames the boxes are on"));
            }
        }
        TruthCommand::LoopInterval => {
            let v = iv(truth);
            let i = an
                .selected
                .map(|(i, _)| i)
                .filter(|&i| i < v.len())
                .or_else(|| edit::find(&v, playhead));
            match i {
                Some(i) => out.loop_frames = Some((v[i].start, v[i].end)),
                None => an.message = Some("no interval selected or at the playhead to loop".into()),
            }
        }
        TruthCommand::Record => {
            if an.recording.is_none() {
                an.holds += 1;
                // Far from the drag groups (microseconds since start).
                an.recording = Some((playhead, u64::MAX - an.holds));
                an.message = Some(format!(
                    "recording from frame {playhead}: the frames played while H is held become anomalous"
                ));
            }
        }
        TruthCommand::Undo => {
            an.message = Some(match truth.edit.undo() {
                Some(what) => format!("undid {what}"),
                None => "nothing to undo".into(),
            });
        }
        TruthCommand::Redo => {
            an.message = Some(match truth.edit.redo() {
                Some(what) => format!("redid {what}"),
                None => "nothing to redo".into(),
            });
        }
        // Resolved by the app, which knows the scores (see [`detection_at`]).
        TruthCommand::AcceptDetection
        | TruthCommand::ReviewToggle
        | TruthCommand::ReviewAccept
        | TruthCommand::ReviewReject
        | TruthCommand::Disagreement { .. } => {}
        TruthCommand::Save => out.save = true,
        TruthCommand::SaveAs(p) => out.save_as = Some(p),
        // Resolved by the app, which knows the file and the dataset's masks.
        TruthCommand::SaveAsMasks(_) | TruthCommand::Reload => {}
    }
    // Edits and undo can leave the selection past the last interval.
    if an
        .selected
        .is_some_and(|(i, _)| i >= truth.edit.intervals().len())
    {
        an.selected = None;
    }
    if an
        .selected_box
        .is_some_and(|id| truth.edit.track(id).is_none())
    {
        an.selected_box = None;
    }
    out
}

/// The detection (a run of scored frames at or above the threshold,
/// `(start, end, peak, peak score)` as [`crate::app::curves::Events`] gives them)
/// that contains `playhead`, as an interval.
pub fn detection_at(runs: &[(usize, usize, usize, f32)], playhead: usize) -> Option<Interval> {
    runs.iter()
        .find(|r| (r.0..r.1).contains(&playhead))
        .map(|r| Interval {
            start: r.0,
            end: r.1,
        })
}

#[cfg(test)]
mod tests;
