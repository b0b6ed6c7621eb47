use proptest::prelude::*;

use super::*;

fn bx(x: f32, y: f32, w: f32, h: f32) -> BoxPx {
    BoxPx { x, y, w, h }
}

fn region(frame: usize, track: Option<u32>, b: BoxPx) -> Region {
    Region {
        frame,
        track,
        x: b.x,
        y: b.y,
        w: b.w,
        h: b.h,
    }
}

#[test]
fn boxes_interpolate_between_keyframes_and_hold_after_the_last() {
    let t = Track::new(3, 10, bx(0.0, 0.0, 10.0, 10.0)).with_key(20, bx(20.0, 10.0, 30.0, 10.0));
    assert_eq!(t.box_at(9), None, "before its first key");
    assert_eq!(t.box_at(10), Some(bx(0.0, 0.0, 10.0, 10.0)));
    assert_eq!(t.box_at(15), Some(bx(10.0, 5.0, 20.0, 10.0)));
    assert_eq!(t.box_at(40), Some(bx(20.0, 10.0, 30.0, 10.0)));
    assert!(t.is_key(20) && !t.is_key(15));
    assert_eq!(t.spans(50), vec![Interval { start: 10, end: 50 }]);
    // Ending it: gone from frame 30 on, the keys after dropped.
    let e = t.ended_at(30).unwrap();
    assert_eq!(e.box_at(29), Some(bx(20.0, 10.0, 30.0, 10.0)));
    assert_eq!(e.box_at(30), None);
    assert_eq!(e.spans(50), vec![Interval { start: 10, end: 30 }]);
    assert!(t.ended_at(10).is_none(), "nothing left of it");
    // A key after the end starts it again.
    let again = e.with_key(40, bx(1.0, 1.0, 2.0, 2.0));
    assert_eq!(again.box_at(35), None);
    assert_eq!(again.box_at(41), Some(bx(1.0, 1.0, 2.0, 2.0)));
}

#[test]
fn regions_become_tracks_with_keys_where_motion_bends() {
    // One object moving right for 5 frames, then down for 5; a gap; back at frame 20.
    let mut rs = Vec::new();
    for f in 0..5 {
        rs.push(region(f, Some(7), bx(f as f32 * 2.0, 0.0, 4.0, 4.0)));
    }
    for f in 5..10 {
        rs.push(region(f, Some(7), bx(8.0, (f - 4) as f32 * 3.0, 4.0, 4.0)));
    }
    rs.push(region(20, Some(7), bx(1.0, 1.0, 4.0, 4.0)));
    rs.push(region(3, None, bx(50.0, 50.0, 5.0, 5.0)));
    let tracks = tracks_from_regions(&rs);
    assert_eq!(tracks.len(), 2);
    let t = &tracks[0];
    assert_eq!(t.id, 7);
    let visible: Vec<usize> = t
        .keys
        .iter()
        .filter(|k| !k.outside)
        .map(|k| k.frame)
        .collect();
    assert_eq!(
        visible,
        vec![0, 4, 9, 20],
        "keys at the bends and the run ends"
    );
    assert_eq!(tracks[1].id, 8, "an untracked box gets a fresh id");
    assert_eq!(
        spans_of(&tracks, 30),
        vec![
            Interval { start: 0, end: 10 },
            Interval { start: 20, end: 21 }
        ]
    );
    let back = regions_of(&tracks, 30);
    assert_eq!(back.len(), rs.len());
    for r in &rs {
        let b = back
            .iter()
            .find(|b| b.frame == r.frame && b.track == r.track.or(Some(8)))
            .unwrap();
        assert!(
            (b.x - r.x).abs() < 1e-3 && (b.y - r.y).abs() < 1e-3,
            "{r:?} {b:?}"
        );
    }
}

#[test]
fn a_box_clamps_into_the_image() {
    let b = bx(-5.0, 230.0, 20.0, 30.0).clamped(360.0, 240.0);
    assert_eq!(b, bx(0.0, 210.0, 20.0, 30.0));
    assert_eq!(
        BoxPx::from_corners([5.0, 9.0], [1.0, 2.0]),
        bx(1.0, 2.0, 4.0, 7.0)
    );
}

fn arb_regions() -> impl Strategy<Value = Vec<Region>> {
    prop::collection::vec(
        (
            0usize..40,
            prop::option::of(0u32..4),
            0u8..20,
            0u8..20,
            1u8..10,
            1u8..10,
        ),
        0..30,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(f, t, x, y, w, h)| region(f, t, bx(x as f32, y as f32, w as f32, h as f32)))
            .collect()
    })
}

proptest! {
    /// Reading regions into tracks and writing them back keeps every box
    /// (the untracked ones and duplicates get ids, nothing else changes).
    #[test]
    fn regions_survive_a_round_trip_through_tracks(rs in arb_regions()) {
        let tracks = tracks_from_regions(&rs);
        let back = regions_of(&tracks, 40);
        prop_assert_eq!(back.len(), rs.len());
        let mut want: Vec<(usize, [i32; 4])> = rs
            .iter()
            .map(|r| (r.frame, [r.x, r.y, r.w, r.h].map(|v| (v * 100.0).round() as i32)))
            .collect();
        let mut got: Vec<(usize, [i32; 4])> = back
            .iter()
            .map(|r| (r.frame, [r.x, r.y, r.w, r.h].map(|v| (v * 100.0).round() as i32)))
            .collect();
        want.sort();
        got.sort();
        prop_assert_eq!(got, want);
        // A second round trip is exact.
        let again = regions_of(&tracks_from_regions(&back), 40);
        prop_assert_eq!(again.len(), back.len());
    }
}
