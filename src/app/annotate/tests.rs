use super::*;
use crate::truth::VideoTruth;

fn doc(intervals: &[(usize, usize)], len: usize) -> TruthDoc {
    let ivs = intervals
        .iter()
        .map(|&(s, e)| Interval { start: s, end: e })
        .collect();
    TruthDoc::new(VideoTruth::new("v", Some(len), ivs), len, None)
}

fn spans(t: &TruthDoc) -> Vec<(usize, usize)> {
    t.edit
        .intervals()
        .iter()
        .map(|i| (i.start, i.end))
        .collect()
}

#[test]
fn mark_in_and_out_include_both_frames() {
    let (mut an, mut t) = (Annotator::default(), doc(&[], 50));
    apply(&mut an, &mut t, 5, TruthCommand::MarkIn);
    apply(&mut an, &mut t, 9, TruthCommand::MarkOut);
    assert_eq!(spans(&t), vec![(5, 10)]);
    assert_eq!(an.selected, Some((0, Edge::End)));
    // Out before in works the other way round.
    apply(&mut an, &mut t, 30, TruthCommand::MarkIn);
    apply(&mut an, &mut t, 20, TruthCommand::MarkOut);
    assert_eq!(spans(&t), vec![(5, 10), (20, 31)]);
    // O without I does nothing, and says why.
    assert_eq!(an.mark_in, None, "O used the mark");
    apply(&mut an, &mut t, 40, TruthCommand::MarkOut);
    assert_eq!(spans(&t).len(), 2);
    assert!(an
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("press I"));
}

#[test]
fn tab_selects_and_nudges_move_the_selected_edge() {
    let (mut an, mut t) = (Annotator::default(), doc(&[(5, 10), (20, 25)], 50));
    let o = apply(&mut an, &mut t, 0, TruthCommand::SelectNext);
    assert_eq!((o.seek, an.selected), (Some(5), Some((0, Edge::Start))));
    let o = apply(&mut an, &mut t, 5, TruthCommand::SelectNext);
    assert_eq!((o.seek, an.selected), (Some(20), Some((1, Edge::Start))));
    let o = apply(&mut an, &mut t, 20, TruthCommand::ToggleEdge);
    assert_eq!((o.seek, an.selected), (Some(24), Some((1, Edge::End))));
    let o = apply(&mut an, &mut t, 24, TruthCommand::Nudge(10));
    assert_eq!(spans(&t), vec![(5, 10), (20, 35)]);
    assert_eq!(
        o.seek,
        Some(34),
        "the playhead shows the frame under the edge"
    );
    apply(&mut an, &mut t, 34, TruthCommand::Nudge(-1));
    assert_eq!(spans(&t), vec![(5, 10), (20, 34)]);
    let o = apply(&mut an, &mut t, 33, TruthCommand::SelectPrev);
    assert_eq!(o.seek, Some(20));
}

#[test]
fn delete_split_merge_and_undo() {
    let (mut an, mut t) = (Annotator::default(), doc(&[(5, 10), (20, 25)], 50));
    apply(&mut an, &mut t, 7, TruthCommand::Split);
    assert_eq!(spans(&t), vec![(5, 7), (8, 10), (20, 25)]);
    apply(&mut an, &mut t, 7, TruthCommand::MergeNext);
    assert_eq!(spans(&t), vec![(5, 10), (20, 25)]);
    apply(&mut an, &mut t, 22, TruthCommand::Delete);
    assert_eq!(spans(&t), vec![(5, 10)]);
    apply(&mut an, &mut t, 40, TruthCommand::Delete);
    assert_eq!(an.message.as_deref(), Some("no interval at the playhead"));
    apply(&mut an, &mut t, 0, TruthCommand::Undo);
    assert_eq!(spans(&t), vec![(5, 10), (20, 25)]);
    apply(&mut an, &mut t, 0, TruthCommand::Undo);
    apply(&mut an, &mut t, 0, TruthCommand::Undo);
    assert_eq!(spans(&t), vec![(5, 10), (20, 25)]);
    assert!(!t.edit.is_dirty(), "all undone: nothing to save");
    apply(&mut an, &mut t, 0, TruthCommand::Redo);
    assert_eq!(spans(&t), vec![(5, 7), (8, 10), (20, 25)]);
    assert!(t.edit.is_dirty());
}

#[test]
fn a_drag_is_one_undo_step() {
    let (mut an, mut t) = (Annotator::default(), doc(&[(5, 10)], 50));
    for to in 10..30 {
        let command = AnnotationCommand::MoveEdge {
            index: 0,
            edge: Edge::End,
            to,
        };
        apply(
            &mut an,
            &mut t,
            to,
            TruthCommand::Edit {
                command,
                group: Some(3),
            },
        );
    }
    assert_eq!(spans(&t), vec![(5, 30)]);
    apply(&mut an, &mut t, 0, TruthCommand::Undo);
    assert_eq!(spans(&t), vec![(5, 10)]);
}

#[test]
fn the_detection_at_the_playhead_is_its_run() {
    let runs = [(3, 7, 5, 0.9), (10, 12, 10, 0.8)];
    assert_eq!(detection_at(&runs, 6), Some(Interval { start: 3, end: 7 }));
    assert_eq!(detection_at(&runs, 7), None);
    assert_eq!(
        detection_at(&runs, 11),
        Some(Interval { start: 10, end: 12 })
    );
}

#[test]
fn boxes_end_delete_and_give_the_intervals() {
    use crate::truth::tracks::{BoxPx, Track};
    let (mut an, mut t) = (Annotator::default(), doc(&[(40, 45)], 50));
    let b = BoxPx {
        x: 1.0,
        y: 2.0,
        w: 10.0,
        h: 8.0,
    };
    let command = AnnotationCommand::SetTrack {
        id: 0,
        track: Some(Track::new(0, 10, b)),
    };
    apply(
        &mut an,
        &mut t,
        10,
        TruthCommand::Edit {
            command,
            group: None,
        },
    );
    // Shift+O without a selection says what to do.
    apply(&mut an, &mut t, 20, TruthCommand::EndTrack);
    assert!(an
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("select a box"));
    apply(&mut an, &mut t, 20, TruthCommand::SelectBox(Some(0)));
    assert_eq!(an.selected_box, Some(0));
    apply(&mut an, &mut t, 20, TruthCommand::EndTrack);
    assert_eq!(t.tracks()[0].box_at(19), Some(b));
    assert_eq!(t.tracks()[0].box_at(20), None);
    apply(&mut an, &mut t, 20, TruthCommand::IntervalsFromBoxes);
    assert_eq!(
        spans(&t),
        vec![(10, 20)],
        "the boxes' frames replace the intervals"
    );
    assert_eq!(
        t.video().regions.len(),
        10,
        "one region per frame of the track"
    );
    // Delete with a box selected deletes the box, not the interval under the playhead.
    apply(&mut an, &mut t, 15, TruthCommand::Delete);
    assert!(t.tracks().is_empty());
    assert_eq!(spans(&t), vec![(10, 20)]);
    assert_eq!(an.selected_box, None);
    // Undo brings the box back; selecting a box that does not exist selects nothing.
    apply(&mut an, &mut t, 15, TruthCommand::Undo);
    assert_eq!(t.tracks().len(), 1);
    apply(&mut an, &mut t, 15, TruthCommand::SelectBox(Some(9)));
    assert_eq!(an.selected_box, None);
}
