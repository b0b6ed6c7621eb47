use super::*;
use crate::app::store::TruthDoc;
use crate::truth::{Interval, VideoTruth};

fn state(frames: usize) -> AppState {
    AppState::new(frames, 10.0, Settings::default())
}

/// An empty store: commands that read no scores.
fn none() -> Store {
    Store::new("v", 0)
}

#[test]
fn playback_advances_at_fps_times_speed() {
    let mut s = state(100);
    s.apply(Command::TogglePlay, &none());
    assert!(s.tick(0.1)); // 10 fps: one frame
    assert_eq!(s.current, 1);
    s.apply(Command::SetSpeed(2.0), &none());
    s.tick(0.5); // 10 frames
    assert_eq!(s.current, 11);
    // Fractions accumulate across ticks.
    s.apply(Command::SetSpeed(0.1), &none());
    for _ in 0..9 {
        s.tick(0.1);
    }
    assert_eq!(s.current, 11);
    s.tick(0.11);
    assert_eq!(s.current, 12);
    s.apply(Command::SetSpeed(100.0), &none());
    assert_eq!(s.settings.speed, SPEED_RANGE.1);
}

#[test]
fn playback_stops_at_the_end_unless_looping() {
    let mut s = state(20);
    s.apply(Command::Seek(18), &none());
    s.apply(Command::TogglePlay, &none());
    s.tick(1.0);
    assert_eq!(s.current, 19);
    assert!(!s.playing);
    // Play from the end starts over.
    s.apply(Command::TogglePlay, &none());
    assert_eq!(s.current, 0);
}

#[test]
fn looping_wraps_inside_the_selection() {
    let mut s = state(100);
    s.apply(Command::Select(Some((30, 10))), &none()); // reversed ends are sorted
    assert_eq!(s.selection, Some((10, 30)));
    s.apply(Command::SetLooping(true), &none());
    s.apply(Command::Seek(28), &none());
    s.apply(Command::TogglePlay, &none());
    s.tick(0.3); // 3 frames: 28 -> 31 wraps to 11
    assert_eq!(s.current, 11);
    assert!(s.playing);
    s.apply(Command::Select(Some((5, 5))), &none());
    assert_eq!(s.selection, None);
}

#[test]
fn steps_and_seeks_clamp() {
    let mut s = state(50);
    s.apply(Command::Step(-3), &none());
    assert_eq!(s.current, 0);
    s.apply(Command::Step(10), &none());
    assert_eq!(s.current, 10);
    s.apply(Command::Seek(1000), &none());
    assert_eq!(s.current, 49);
    s.apply(Command::SeekStart, &none());
    assert_eq!(s.current, 0);
    s.apply(Command::SeekEnd, &none());
    assert_eq!(s.current, 49);
    // A step pauses playback.
    s.apply(Command::Seek(20), &none());
    s.apply(Command::TogglePlay, &none());
    assert!(s.playing);
    s.apply(Command::Step(-1), &none());
    assert!(!s.playing);
    assert_eq!(s.current, 19);
}

#[test]
fn shuttle_doubles_and_reverses() {
    let mut s = state(1000);
    s.apply(Command::Seek(500), &none());
    s.apply(Command::ShuttleForward, &none());
    assert!(s.playing);
    assert_eq!(s.shuttle, 1.0);
    s.apply(Command::ShuttleForward, &none());
    assert_eq!(s.shuttle, 2.0);
    s.apply(Command::ShuttleBack, &none());
    assert_eq!(s.shuttle, -1.0);
    s.tick(1.0); // 10 frames back
    assert_eq!(s.current, 490);
    for _ in 0..10 {
        s.apply(Command::ShuttleBack, &none());
    }
    assert_eq!(s.shuttle, -8.0);
    s.apply(Command::ShuttleStop, &none());
    assert!(!s.playing);
}

#[test]
fn jumps_follow_events_and_counts_use_the_truth() {
    let mut s = state(10);
    let mut st = Store::new("v", 10);
    st.curves.set_lane(
        Lane::Score,
        &[0.0, 0.9, 0.9, 0.0, 0.0, 0.0, 0.7, 0.0, 0.8, 0.0],
    );
    let truth = vec![Interval::new(2, 4).unwrap(), Interval::new(7, 9).unwrap()];
    st.truth = TruthDoc::new(VideoTruth::new("v", Some(10), truth), 10, None);
    s.auto_threshold(&st);
    assert!((s.threshold - 0.45).abs() < 1e-6);
    s.apply(Command::SetThreshold(0.5), &st);
    s.auto_threshold(&st); // a threshold the user set stays
    assert_eq!(s.threshold, 0.5);
    s.apply(Command::NextAbove, &st);
    assert_eq!(s.current, 1);
    s.apply(Command::NextAbove, &st);
    assert_eq!(s.current, 6);
    s.apply(Command::PrevAbove, &st);
    assert_eq!(s.current, 1);
    // Threshold counts: frames 1, 2, 6, 8 above; truth 2, 3, 7, 8.
    assert_eq!(s.counts(&st), (2, 2, 4));
    let top = s.events(&st).top(2);
    assert_eq!(top[0].0, 1);
    assert_eq!(top[1].0, 8);
    // The alert rule: two frames at least drops the single-frame runs at 6
    // and 8; a cooldown of 1 frame joins them instead.
    s.apply(Command::SetAlertRule(0.0, 2, 0), &st);
    assert_eq!(s.events(&st).runs, vec![(1, 3, 1, 0.9)]);
    s.apply(Command::SetAlertRule(0.0, 1, 1), &st);
    let runs: Vec<(usize, usize)> = s.events(&st).runs.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(runs, vec![(1, 3), (6, 9)]);
    s.apply(Command::NextAbove, &st);
    assert_eq!(s.current, 6, "jumps follow the rule's events");
    // Out-of-range values are made sane.
    s.apply(Command::SetAlertRule(f32::NAN, 0, 5), &st);
    assert_eq!(s.alert_rule().hysteresis, 0.0);
    assert_eq!(s.alert_rule().min_frames, 1);
}

#[test]
fn image_zoom_keeps_the_point_under_the_cursor() {
    let mut v = ImageView::default();
    v.zoom_about(2.0, [0.75, 0.75]);
    assert_eq!(v.zoom, 2.0);
    let (lo, hi) = v.uv();
    // The point stays at the same relative place of the view (3/4 across).
    let rel = (0.75 - lo[0]) / (hi[0] - lo[0]);
    assert!((rel - 0.75).abs() < 1e-6, "{rel}");
    v.pan([10.0, -10.0]);
    let (lo, hi) = v.uv();
    assert!(hi[0] <= 1.0 + 1e-6 && lo[1] >= -1e-6);
    v.zoom_about(0.01, [0.5, 0.5]);
    assert_eq!(v, ImageView::default());
}

#[test]
fn timeline_zoom_and_pan_stay_inside_the_video() {
    let mut t = TimeView::all(1000);
    t.zoom(10.0, 500.0, 1000);
    assert!((t.span() - 100.0).abs() < 1e-9);
    assert!(t.start <= 500.0 && t.end >= 500.0);
    t.pan(-10_000.0, 1000);
    assert_eq!(t.start, 0.0);
    t.zoom(1e9, 0.0, 1000);
    assert_eq!(t.span(), 10.0);
    t.zoom(1e-9, 0.0, 1000);
    assert_eq!(t, TimeView::all(1000));
}

#[test]
fn settings_round_trip_and_recent_files_are_bounded() {
    let mut s = Settings::default();
    for i in 0..15 {
        s.push_recent(format!("/v/{i}").into());
    }
    s.push_recent("/v/3".into());
    assert_eq!(s.recent.len(), MAX_RECENT);
    assert_eq!(s.recent[0], std::path::PathBuf::from("/v/3"));
    assert_eq!(s.recent.iter().filter(|p| p.ends_with("3")).count(), 1);
    s.colormap = Colormap::Turbo;
    let json = serde_json::to_string(&s).unwrap();
    let back: Settings = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    // Unknown or missing fields fall back to defaults (older settings files).
    let partial: Settings = serde_json::from_str(r#"{"gamma": 2.0}"#).unwrap();
    assert_eq!(partial.gamma, 2.0);
    assert_eq!(partial.colormap, Colormap::Inferno);
}
