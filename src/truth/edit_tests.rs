use proptest::prelude::*;

use super::*;

fn iv(start: usize, end: usize) -> Interval {
    Interval { start, end }
}

fn is_normalised(v: &[Interval], len: usize) -> bool {
    v.iter().all(|x| x.start < x.end && x.end <= len) && v.windows(2).all(|w| w[0].end < w[1].start)
}

#[test]
fn split_leaves_the_frame_normal_and_merge_fills_the_gap() {
    let v = vec![iv(5, 10)];
    let s = split(&v, 7);
    assert_eq!(s, vec![iv(5, 7), iv(8, 10)]);
    assert_eq!(merge(&s, 0), v);
    // At an end, split shortens.
    assert_eq!(split(&v, 5), vec![iv(6, 10)]);
    assert_eq!(split(&v, 9), vec![iv(5, 9)]);
    // Outside any interval, nothing changes.
    assert_eq!(split(&v, 12), v);
}

#[test]
fn edges_stop_short_of_neighbours_and_of_the_video() {
    let v = vec![iv(2, 5), iv(10, 12)];
    // The end edge names the last frame: moving it to frame 7 includes 7.
    assert_eq!(
        move_edge(&v, 0, Edge::End, 7, 20),
        vec![iv(2, 8), iv(10, 12)]
    );
    // Not into the neighbour: stops with one normal frame between.
    assert_eq!(
        move_edge(&v, 0, Edge::End, 15, 20),
        vec![iv(2, 9), iv(10, 12)]
    );
    assert_eq!(
        move_edge(&v, 1, Edge::Start, 0, 20),
        vec![iv(2, 5), iv(6, 12)]
    );
    // Not past its own other edge: one frame stays.
    assert_eq!(
        move_edge(&v, 0, Edge::Start, 9, 20),
        vec![iv(4, 5), iv(10, 12)]
    );
    // Not past the video's end.
    assert_eq!(
        move_edge(&v, 1, Edge::End, 99, 20),
        vec![iv(2, 5), iv(10, 20)]
    );
}

#[test]
fn a_moved_interval_keeps_its_length() {
    let v = vec![iv(2, 5), iv(10, 12)];
    assert_eq!(move_interval(&v, 1, 3, 20), vec![iv(2, 5), iv(13, 15)]);
    assert_eq!(move_interval(&v, 1, -9, 20), vec![iv(2, 5), iv(6, 8)]);
    assert_eq!(move_interval(&v, 1, 50, 20), vec![iv(2, 5), iv(18, 20)]);
}

#[test]
fn navigation_finds_intervals_around_a_frame() {
    let v = vec![iv(2, 5), iv(10, 12)];
    assert_eq!(find(&v, 4), Some(0));
    assert_eq!(find(&v, 5), None);
    assert_eq!(next_after(&v, 2), Some(1));
    assert_eq!(next_after(&v, 10), None);
    assert_eq!(prev_before(&v, 10), Some(0));
    assert_eq!(prev_before(&v, 11), Some(1));
    assert_eq!(prev_before(&v, 2), None);
    assert_eq!(nearest_edge(&v, 4.8, 0.5), Some((0, Edge::End)));
    assert_eq!(nearest_edge(&v, 10.2, 0.5), Some((1, Edge::Start)));
    assert_eq!(nearest_edge(&v, 7.0, 0.5), None);
}

fn intervals(len: usize) -> impl Strategy<Value = Vec<Interval>> {
    prop::collection::vec((0..len, 1..12usize), 0..8).prop_map(move |raw| {
        clamp(
            &raw.into_iter()
                .map(|(s, l)| iv(s, s + l))
                .collect::<Vec<_>>(),
            len,
        )
    })
}

proptest! {
    #[test]
    fn every_edit_keeps_the_list_normalised(
        v in intervals(60), a in 0..70usize, b in 0..70usize, d in -80i64..80, k in 0..10usize
    ) {
        let len = 60;
        let r = iv(a.min(b), a.max(b) + 1);
        for (name, out) in [
            ("add", add(&v, r, len)),
            ("erase", erase(&v, r)),
            ("delete", delete(&v, k)),
            ("split", split(&v, a)),
            ("merge", merge(&v, k)),
            ("move start", move_edge(&v, k, Edge::Start, a, len)),
            ("move end", move_edge(&v, k, Edge::End, a, len)),
            ("move", move_interval(&v, k, d, len)),
        ] {
            prop_assert!(is_normalised(&out, len), "{name} of {v:?} gave {out:?}");
        }
    }

    #[test]
    fn edits_undone_restore_the_input(
        v in intervals(60), a in 0..60usize, d in -80i64..80, k in 0..10usize
    ) {
        let len = 60;
        if let Some(&x) = v.get(k) {
            // An edge moved and moved back.
            for edge in [Edge::Start, Edge::End] {
                let moved = move_edge(&v, k, edge, a, len);
                let back = move_edge(&moved, k, edge, edge_frame(x, edge), len);
                prop_assert_eq!(&back, &v);
            }
            // An interval moved and moved back by what it actually moved.
            let moved = move_interval(&v, k, d, len);
            let shift = moved[k].start as i64 - x.start as i64;
            prop_assert_eq!(&move_interval(&moved, k, -shift, len), &v);
            // Deleted and added again.
            prop_assert_eq!(&add(&delete(&v, k), x, len), &v);
            // Split inside and merged again.
            if x.len() >= 3 {
                let f = x.start + 1 + a % (x.len() - 2);
                prop_assert_eq!(&merge(&split(&v, f), k), &v);
            }
        }
        // Adding frames that were normal, then erasing them.
        let r = iv(a, (a + 1 + k).min(len));
        if v.iter().all(|x| x.end < r.start || x.start > r.end) {
            prop_assert_eq!(&erase(&add(&v, r, len), r), &v);
        }
    }
}
