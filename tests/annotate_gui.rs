//! Ground-truth annotation in the app under egui_kittest: intervals made with
//! the keyboard (I / O, split, merge, delete, Tab and nudges), an edge dragged
//! with the mouse in the timeline's truth lane, undo / redo, Ctrl+S into the
//! file the truth came from (atomic, with a `.bak`, not over a file changed on
//! disk), "save as" in every single-file format read back equal, the
//! unsaved marker in the window title, box tracks drawn and dragged on the
//! frame, and an app process killed mid-edit whose edits come back.
#![cfg(feature = "gui")]

use std::path::{Path, PathBuf};

use eframe::egui::{self, Key, Modifiers};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use vadscope::app::menu::DialogKind;
use vadscope::app::{AppCommand, OpenRequest, VadApp};
use vadscope::truth::{self, GroundTruth, Interval, VideoTruth};

const FRAMES: usize = 60;
/// Set in the process the kill test starts (and kills): the folder of its clip.
const KILL_CHILD: &str = "VADSCOPE_KILL_TEST_CHILD";

fn setup(dir: &Path) {
    // Recovery files go to a folder of this test process, not the user's.
    static STATE: std::sync::Once = std::sync::Once::new();
    STATE.call_once(|| {
        if std::env::var_os(KILL_CHILD).is_some() {
            // A child of the kill test keeps the state folder its parent gave it.
            return;
        }
        let state = std::env::temp_dir().join(format!("vadscope-state-{}", std::process::id()));
        std::env::set_var("XDG_STATE_HOME", state);
    });
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let rt = dir.join("xdg");
        std::fs::create_dir_all(&rt).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&rt, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::env::set_var("XDG_RUNTIME_DIR", &rt);
    }
}

/// A frame folder `clip` of [`FRAMES`] frames and its truth in JSON.
fn clip_with_truth(dir: &Path) -> (PathBuf, PathBuf) {
    let frames = dir.join("clip");
    std::fs::create_dir_all(&frames).unwrap();
    for i in 0..FRAMES {
        let img =
            image::RgbImage::from_fn(32, 24, |x, _| image::Rgb([(x * 8) as u8, i as u8 * 4, 90]));
        img.save(frames.join(format!("{i:03}.png"))).unwrap();
    }
    let json = dir.join("truth.json");
    let gt = GroundTruth {
        videos: vec![VideoTruth::new("clip", Some(FRAMES), vec![iv(20, 30)])],
        provenance: None,
    };
    truth::write(&gt, &json, truth::Format::Json).unwrap();
    (frames, json)
}

fn iv(start: usize, end: usize) -> Interval {
    Interval { start, end }
}

fn harness(frames: &Path, json: &Path) -> Harness<'static, VadApp> {
    let req = OpenRequest {
        path: Some(frames.to_path_buf()),
        truth: Some(json.to_path_buf()),
        ..Default::default()
    };
    Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .wgpu()
        .build_eframe(move |cc| VadApp::new(cc, req.clone()))
}

/// A fresh clip with its truth, opened in the app: (its folder, the frame
/// folder, the truth file, the app).
fn open_clip() -> (
    tempfile::TempDir,
    PathBuf,
    PathBuf,
    Harness<'static, VadApp>,
) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let (frames, json) = clip_with_truth(dir.path());
    let h = harness(&frames, &json);
    (dir, frames, json, h)
}

fn intervals(h: &Harness<'static, VadApp>) -> Vec<Interval> {
    h.state().store.intervals().to_vec()
}

fn key(h: &mut Harness<'static, VadApp>, k: Key) {
    h.key_press(k);
    h.run_steps(1);
}

fn key_mod(h: &mut Harness<'static, VadApp>, m: Modifiers, k: Key) {
    h.key_press_modifiers(m, k);
    h.run_steps(1);
}

fn wait_saved(h: &mut Harness<'static, VadApp>) {
    let t0 = std::time::Instant::now();
    while h
        .state()
        .annotator
        .message
        .as_deref()
        .is_some_and(|m| m.starts_with("saving"))
    {
        assert!(t0.elapsed().as_secs() < 60, "the save did not finish");
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run_steps(1);
}

/// A primary-button drag from `from` to `to` in ten steps.
fn drag(h: &mut Harness<'static, VadApp>, from: egui::Pos2, to: egui::Pos2) {
    drag_with(h, egui::PointerButton::Primary, from, to);
}

/// A drag with `button` from `from` to `to` in ten steps.
fn drag_with(
    h: &mut Harness<'static, VadApp>,
    button: egui::PointerButton,
    from: egui::Pos2,
    to: egui::Pos2,
) {
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button,
        pressed,
        modifiers: Modifiers::NONE,
    };
    h.hover_at(from);
    h.step();
    h.event(button(from, true));
    h.step();
    for k in 1..=10 {
        let p = from + (to - from) * (k as f32 / 10.0);
        h.hover_at(p);
        h.step();
    }
    h.event(button(to, false));
    h.run_steps(2);
}

/// Waits for the background scoring (the motion baseline) to finish.
fn wait_scored(h: &mut Harness<'static, VadApp>) {
    let t0 = std::time::Instant::now();
    while !h.state().job_status().is_some_and(|s| s.done) {
        assert!(t0.elapsed().as_secs() < 120, "scoring did not finish");
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
}

fn read_video(path: &Path) -> VideoTruth {
    let opts = truth::ReadOptions {
        videos: Some(vec![("clip".into(), FRAMES)]),
        skip_masks: true,
    };
    let gt = truth::read(path, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    gt.videos
        .into_iter()
        .find(|v| v.name == "clip")
        .expect("video clip")
}

#[test]
fn keyboard_edits_undo_and_save_into_the_opened_file() {
    let (_dir, _frames, json, mut h) = open_clip();
    h.run_steps(2);
    assert_eq!(intervals(&h), vec![iv(20, 30)]);
    assert!(!h.state().window_title().starts_with('*'));

    // I at frame 5, O at frame 9: 5..10. Presses that arrive in one UI frame
    // (a slow frame) all count.
    key(&mut h, Key::Home);
    for _ in 0..3 {
        h.key_press(Key::ArrowRight);
    }
    h.run_steps(1);
    assert_eq!(h.state().state.current, 3, "three presses in one frame");
    key(&mut h, Key::ArrowRight);
    key(&mut h, Key::ArrowRight);
    key(&mut h, Key::I);
    for _ in 0..4 {
        key(&mut h, Key::ArrowRight);
    }
    key(&mut h, Key::O);
    assert_eq!(intervals(&h), vec![iv(5, 10), iv(20, 30)]);
    assert!(
        h.state().window_title().starts_with('*'),
        "{}",
        h.state().window_title()
    );

    // Tab to the next interval (20), E to its end edge (29), nudge it by +10 and -1.
    key(&mut h, Key::Tab);
    assert_eq!(h.state().state.current, 20);
    key(&mut h, Key::E);
    assert_eq!(h.state().state.current, 29);
    key_mod(
        &mut h,
        Modifiers::ALT.plus(Modifiers::SHIFT),
        Key::ArrowRight,
    );
    key_mod(&mut h, Modifiers::ALT, Key::ArrowLeft);
    assert_eq!(intervals(&h), vec![iv(5, 10), iv(20, 39)]);
    assert_eq!(h.state().state.current, 38, "the playhead follows the edge");

    // Split at 25, merge back, delete the first, undo twice, redo once.
    for _ in 0..13 {
        key(&mut h, Key::ArrowLeft);
    }
    key(&mut h, Key::S);
    assert_eq!(intervals(&h), vec![iv(5, 10), iv(20, 25), iv(26, 39)]);
    key(&mut h, Key::M);
    assert_eq!(intervals(&h), vec![iv(5, 10), iv(20, 39)]);
    key(&mut h, Key::Home);
    key(&mut h, Key::Tab);
    key(&mut h, Key::Delete);
    assert_eq!(intervals(&h), vec![iv(20, 39)]);
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(intervals(&h), vec![iv(5, 10), iv(20, 39)]);
    key_mod(&mut h, Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
    assert_eq!(intervals(&h), vec![iv(20, 39)]);
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);

    // Ctrl+S writes the opened JSON, keeps the old one as .bak, clears the marker.
    let before = std::fs::read(&json).unwrap();
    key_mod(&mut h, Modifiers::COMMAND, Key::S);
    wait_saved(&mut h);
    assert!(
        h.state().state.errors.is_empty(),
        "{:?}",
        h.state().state.errors
    );
    assert_eq!(read_video(&json).anomalous, vec![iv(5, 10), iv(20, 39)]);
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.contains("edited in vadscope"),
        "no provenance in {text}"
    );
    let bak = json.with_file_name("truth.json.bak");
    assert_eq!(
        std::fs::read(&bak).unwrap(),
        before,
        "the replaced file is the .bak"
    );
    assert!(!h.state().window_title().starts_with('*'));
    assert!(!h.state().store.truth.edit.is_dirty());

    // Someone else changes the file: the next save refuses and says why.
    key(&mut h, Key::Home);
    key(&mut h, Key::I);
    key(&mut h, Key::O);
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        &json,
        b"{\"format\": \"vadscope-truth\", \"version\": 1, \"videos\": []}\n",
    )
    .unwrap();
    let theirs = std::fs::read(&json).unwrap();
    key_mod(&mut h, Modifiers::COMMAND, Key::S);
    wait_saved(&mut h);
    assert_eq!(
        std::fs::read(&json).unwrap(),
        theirs,
        "their file was overwritten"
    );
    let message = h.state().annotator.message.clone().unwrap_or_default();
    assert!(message.contains("changed on disk"), "{message}");
    assert!(h.state().store.truth.edit.is_dirty());
    // The app asks; Cancel leaves their file, Overwrite replaces it (theirs kept as .bak).
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert_eq!(std::fs::read(&json).unwrap(), theirs);
    key_mod(&mut h, Modifiers::COMMAND, Key::S);
    h.get_by_label("Overwrite it").click();
    h.run_steps(1);
    wait_saved(&mut h);
    assert!(!h.state().store.truth.edit.is_dirty());
    let bak = json.with_file_name("truth.json.bak");
    assert_eq!(
        std::fs::read(bak).unwrap(),
        theirs,
        "their version is the .bak"
    );
    assert_ne!(std::fs::read(&json).unwrap(), theirs);
    // Changed again; this time their version is read back in, as one
    // undoable step.
    let ours = intervals(&h);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let gt = GroundTruth {
        videos: vec![VideoTruth::new("clip", Some(FRAMES), vec![iv(5, 8)])],
        provenance: None,
    };
    truth::write(&gt, &json, truth::Format::Json).unwrap();
    key(&mut h, Key::End);
    key(&mut h, Key::I);
    key(&mut h, Key::O);
    key_mod(&mut h, Modifiers::COMMAND, Key::S);
    h.get_by_label("Reload theirs").click();
    h.run_steps(2);
    assert_eq!(intervals(&h), vec![iv(5, 8)]);
    assert!(!h.state().store.truth.edit.is_dirty(), "what is on disk");
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    let mut edited = ours.clone();
    edited.push(iv(FRAMES - 1, FRAMES));
    assert_eq!(intervals(&h), edited, "undo brings the edits back");
}

#[test]
fn an_edge_dragged_in_the_truth_lane_is_one_undo_step() {
    let (_dir, _frames, _json, mut h) = open_clip();
    h.run_steps(3);
    // The truth lane is the timeline's top strip; find the interval's end edge
    // (right side of frame 29) by the frame under x, as the timeline maps it.
    let timeline_top = h.state().timeline_rect().expect("timeline drawn").top();
    let lane_y = timeline_top + 2.0 + 7.0;
    let x_of =
        |h: &Harness<'static, VadApp>, f: f64| h.state().timeline_x_of(f).expect("timeline drawn");
    let from = egui::pos2(x_of(&h, 30.0), lane_y);
    let to = egui::pos2(x_of(&h, 45.0), lane_y);
    drag(&mut h, from, to);
    assert_eq!(
        intervals(&h),
        vec![iv(20, 45)],
        "the end edge follows the pointer"
    );
    assert_eq!(
        h.state().state.current,
        44,
        "the playhead shows the frame under the edge"
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(1);
    assert_eq!(
        intervals(&h),
        vec![iv(20, 30)],
        "one undo undoes the whole drag"
    );
}

#[test]
fn save_as_writes_every_file_format_that_reads_back_equal() {
    let (dir, _frames, _json, mut h) = open_clip();
    h.run_steps(2);
    key(&mut h, Key::Home);
    key(&mut h, Key::I);
    key(&mut h, Key::ArrowRight);
    key(&mut h, Key::ArrowRight);
    key(&mut h, Key::O);
    let want = vec![iv(0, 3), iv(20, 30)];
    assert_eq!(intervals(&h), want);
    for name in ["out.m", "out.npy", "out.mat", "out.json", "out.csv"] {
        let path = dir.path().join(name);
        h.state_mut()
            .send(AppCommand::Picked(DialogKind::SaveTruth, path.clone()));
        h.run_steps(1);
        wait_saved(&mut h);
        assert!(
            h.state().state.errors.is_empty(),
            "{name}: {:?}",
            h.state().state.errors
        );
        assert_eq!(read_video(&path).anomalous, want, "{name}");
    }
    // The last save is where Ctrl+S goes now.
    let source = h.state().store.truth.source.clone().expect("a source");
    assert_eq!(source.path, dir.path().join("out.csv"));
    // A name without an extension: a folder of per-video .npy labels.
    let folder = dir.path().join("labels");
    h.state_mut()
        .send(AppCommand::Picked(DialogKind::SaveTruth, folder.clone()));
    h.run_steps(1);
    wait_saved(&mut h);
    assert!(folder.join("clip.npy").is_file());
    let opts = truth::ReadOptions {
        videos: Some(vec![("clip".into(), FRAMES)]),
        skip_masks: false,
    };
    let back = truth::read(&folder, &opts).unwrap();
    assert_eq!(back.videos[0].anomalous, want, "per-video .npy folder");
    // A folder holding anything else is not replaced.
    let other = dir.path().join("clip");
    h.state_mut()
        .send(AppCommand::Picked(DialogKind::SaveTruth, other.clone()));
    h.run_steps(2);
    assert!(h
        .state()
        .state
        .errors
        .iter()
        .any(|e| e.contains("per-video .npy")));
    assert!(
        other.join("000.png").exists(),
        "the frame folder is untouched"
    );
    h.state_mut().state.errors.clear();
    // An unknown extension is refused with the formats named.
    h.state_mut().send(AppCommand::Picked(
        DialogKind::SaveTruth,
        dir.path().join("out.txt"),
    ));
    h.run_steps(2);
    assert!(h
        .state()
        .state
        .errors
        .iter()
        .any(|e| e.contains(".json, .m, .mat, .npy or .csv")));
}

#[test]
fn speed_keys_step_from_one_tenth_to_eight_times() {
    let (_dir, _frames, _json, mut h) = open_clip();
    h.run_steps(2);
    for _ in 0..20 {
        h.key_press(Key::CloseBracket);
    }
    h.run_steps(1);
    assert_eq!(h.state().state.settings.speed, 8.0);
    key(&mut h, Key::Equals);
    assert_eq!(h.state().state.settings.speed, 1.0);
    key(&mut h, Key::OpenBracket);
    assert!((h.state().state.settings.speed - 1.0 / 1.5).abs() < 1e-6);
    for _ in 0..20 {
        key(&mut h, Key::OpenBracket);
    }
    assert!((h.state().state.settings.speed - 0.1).abs() < 1e-6);
}

#[test]
fn live_metrics_follow_the_edits_within_a_frame() {
    let (_dir, _frames, _json, mut h) = open_clip();
    // The clip has no scores: the motion baseline scores it in the background.
    wait_scored(&mut h);
    let before = match &h.state().store.metrics.value {
        Some(Ok(m)) => m.clone(),
        other => panic!("no metrics: {other:?}"),
    };
    assert_eq!(before.anomalous, 10, "frames 20..30");
    // Mark frames 40..=50 anomalous: the next frame's metrics count them.
    h.state_mut().state.current = 40;
    key(&mut h, Key::I);
    for _ in 0..10 {
        h.key_press(Key::ArrowRight);
    }
    h.run_steps(1);
    key(&mut h, Key::O);
    let after = match &h.state().store.metrics.value {
        Some(Ok(m)) => m.clone(),
        other => panic!("no metrics: {other:?}"),
    };
    assert_eq!(after.anomalous, 21);
    assert_eq!(after.frames, before.frames);
    assert_ne!(after.auc, before.auc);
    // Undo brings the old figures back.
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(h.state().store.metrics.value, Some(Ok(before)));

    // A accepts the detection around the playhead: with the threshold below
    // every score, that is the run of all scored frames.
    let first_scored = h
        .state()
        .store
        .curves
        .lane(vadscope::app::curves::Lane::Score)
        .iter()
        .position(|v| v.is_finite())
        .expect("scored frames");
    h.state_mut()
        .send(vadscope::app::Command::SetThreshold(-1e9));
    h.run_steps(1);
    key(&mut h, Key::A);
    assert_eq!(intervals(&h), vec![iv(first_scored, FRAMES)]);
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(intervals(&h), vec![iv(20, 30)]);
}

#[test]
fn unsaved_edits_survive_a_crash_and_are_offered_back() {
    let (_dir, frames, json, mut h) = open_clip();
    h.state_mut()
        .set_autosave_interval(std::time::Duration::from_millis(50));
    h.run_steps(2);
    let file = h.state().recovery_file().to_path_buf();
    assert!(!file.exists());
    key(&mut h, Key::Home);
    key(&mut h, Key::I);
    key(&mut h, Key::ArrowRight);
    key(&mut h, Key::O);
    let edited = intervals(&h);
    assert_eq!(edited, vec![iv(0, 2), iv(20, 30)]);
    // The recovery file appears within a few autosave intervals.
    let t0 = std::time::Instant::now();
    let want = "\"start\": 0,\n      \"end\": 2";
    while !std::fs::read_to_string(&file).is_ok_and(|s| s.contains(want)) {
        assert!(
            t0.elapsed().as_secs() < 10,
            "no recovery file at {}",
            file.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
    }
    // A crash: the app goes away without saving or cleaning up.
    std::mem::forget(h);

    let mut h = harness(&frames, &json);
    h.run_steps(2);
    assert_eq!(
        intervals(&h),
        vec![iv(20, 30)],
        "the file on disk is unchanged"
    );
    // Editing waits for the answer, so the recovered edits cannot be overwritten.
    key(&mut h, Key::Delete);
    assert_eq!(intervals(&h), vec![iv(20, 30)]);
    h.get_by_label("Restore").click();
    h.run_steps(2);
    assert_eq!(intervals(&h), edited);
    assert!(
        h.state().store.truth.edit.is_dirty(),
        "restored edits still need saving"
    );
    key_mod(&mut h, Modifiers::COMMAND, Key::S);
    wait_saved(&mut h);
    assert_eq!(read_video(&json).anomalous, edited);
    h.run_steps(2);
    assert!(!file.exists(), "saved: the recovery file is gone");
}

#[test]
fn review_walks_the_disagreements_largest_first() {
    use vadscope::app::annotate::review::Kind;
    let (_dir, _frames, _json, mut h) = open_clip();
    wait_scored(&mut h);
    key(&mut h, Key::R);
    let review = h.state().annotator.review.clone().expect("review mode on");
    let n = review.left.len();
    assert!(
        n >= 2,
        "the baseline disagrees with the truth somewhere: {review:?}"
    );
    let lens: Vec<usize> = review.left.iter().map(|d| d.frames.len()).collect();
    assert!(
        lens.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {lens:?}"
    );
    let first = review.current().unwrap();
    assert_eq!(
        h.state().state.current,
        first.frames.start,
        "the playhead goes to it"
    );

    // Reject: the truth stays, one fewer left.
    let before = intervals(&h);
    key(&mut h, Key::N);
    assert_eq!(intervals(&h), before);
    let review = h.state().annotator.review.clone().unwrap();
    assert_eq!((review.left.len(), review.rejected.len()), (n - 1, 1));

    // Accept: the truth follows the model on those frames.
    let d = review.current().unwrap();
    key(&mut h, Key::Y);
    let truth = VideoTruth::new("clip", Some(FRAMES), intervals(&h));
    let want = d.kind == Kind::FalseAlarm;
    assert!(
        d.frames.range().all(|f| truth.is_anomalous(f) == want),
        "{d:?}"
    );
    assert_eq!(h.state().annotator.review.as_ref().unwrap().accepted, 1);
    key(&mut h, Key::R);
    assert!(h.state().annotator.review.is_none());
}

#[test]
fn boxes_drawn_moved_and_ended_with_the_mouse_save_as_regions() {
    let (dir, _frames, _json, mut h) = open_clip();
    h.run_steps(3);
    key(&mut h, Key::Home);
    for _ in 0..10 {
        key(&mut h, Key::ArrowRight);
    }
    key(&mut h, Key::B);
    assert!(h.state().annotator.box_tool);
    let rect = h.state().frame_image_rect().expect("frame view drawn");
    // The clip's frames are 32x24 pixels; image pixels to screen points.
    let at =
        |x: f32, y: f32| rect.min + egui::vec2(x / 32.0 * rect.width(), y / 24.0 * rect.height());
    let near = |b: Option<vadscope::truth::tracks::BoxPx>, want: [f32; 4]| {
        let b = b.expect("a box on this frame");
        let got = [b.x, b.y, b.w, b.h];
        got.iter().zip(want).all(|(g, w)| (g - w).abs() < 0.3)
    };
    drag(&mut h, at(4.0, 4.0), at(12.0, 16.0));
    let tracks = h.state().store.truth.tracks().to_vec();
    assert_eq!(tracks.len(), 1, "one box drawn");
    assert!(
        near(tracks[0].box_at(10), [4.0, 4.0, 8.0, 12.0]),
        "{tracks:?}"
    );
    assert_eq!(h.state().annotator.selected_box, Some(tracks[0].id));
    key(&mut h, Key::B);
    // Ten frames on, drag the box by (8, 2): a keyframe there, interpolated between.
    for _ in 0..10 {
        key(&mut h, Key::ArrowRight);
    }
    drag(&mut h, at(8.0, 10.0), at(16.0, 12.0));
    let t = h.state().store.truth.tracks()[0].clone();
    assert!(near(t.box_at(20), [12.0, 6.0, 8.0, 12.0]), "{t:?}");
    assert!(near(t.box_at(15), [8.0, 5.0, 8.0, 12.0]), "halfway: {t:?}");
    assert!(near(t.box_at(10), [4.0, 4.0, 8.0, 12.0]));
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    let t = h.state().store.truth.tracks()[0].clone();
    assert!(near(t.box_at(20), [4.0, 4.0, 8.0, 12.0]), "undo: {t:?}");
    key_mod(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    // Resize by the bottom-right corner.
    drag(&mut h, at(20.0, 18.0), at(22.0, 20.0));
    let t = h.state().store.truth.tracks()[0].clone();
    assert!(
        near(t.box_at(20), [12.0, 6.0, 10.0, 14.0]),
        "resized: {t:?}"
    );
    // The object leaves at frame 30; the intervals follow the box.
    for _ in 0..10 {
        key(&mut h, Key::ArrowRight);
    }
    key_mod(&mut h, Modifiers::SHIFT, Key::O);
    assert_eq!(h.state().store.truth.tracks()[0].box_at(30), None);
    key_mod(&mut h, Modifiers::SHIFT, Key::B);
    assert_eq!(intervals(&h), vec![iv(10, 30)]);
    // Saved as JSON, the file's regions are the boxes the app shows.
    let path = dir.path().join("boxes.json");
    h.state_mut()
        .send(AppCommand::Picked(DialogKind::SaveTruth, path.clone()));
    h.run_steps(1);
    wait_saved(&mut h);
    let shown = h.state().store.truth.video();
    let saved = read_video(&path);
    assert_eq!(saved.regions.len(), 20);
    assert_eq!(saved.regions, shown.regions);
    assert_eq!(saved.anomalous, vec![iv(10, 30)]);
    // Deleting the selected box takes its track, not the interval.
    key(&mut h, Key::Delete);
    assert!(h.state().store.truth.tracks().is_empty());
    assert_eq!(intervals(&h), vec![iv(10, 30)]);
}

/// The app in another process: it edits, its recovery file is written, and
/// it is killed with SIGKILL mid-session (no destructor, no exit handler);
/// the next start here offers the edits back and restores them.
#[test]
fn a_killed_app_process_loses_nothing_older_than_the_autosave() {
    if let Some(dir) = std::env::var_os(KILL_CHILD) {
        kill_test_child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let (frames, json) = clip_with_truth(dir.path());
    let ready = dir.path().join("child-ready");
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "a_killed_app_process_loses_nothing_older_than_the_autosave",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL_CHILD, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !ready.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the app process ended before it was killed: {status}");
        }
        assert!(
            t0.elapsed().as_secs() < 120,
            "the app process never got ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Still running, mid-edit: kill it.
    assert!(child.try_wait().unwrap().is_none(), "the app is running");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status}");
    let edited: Vec<Interval> =
        serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();

    let mut h = harness(&frames, &json);
    h.run_steps(2);
    assert_eq!(
        intervals(&h),
        vec![iv(20, 30)],
        "the truth file is unchanged"
    );
    h.get_by_label("Restore").click();
    h.run_steps(2);
    assert_eq!(intervals(&h), edited, "the killed process's edits are back");
}

/// The killed process: edits, waits until its recovery file holds the edits,
/// says so, and goes on running until it is killed.
fn kill_test_child(dir: &Path) -> ! {
    setup(dir);
    let (frames, json) = (dir.join("clip"), dir.join("truth.json"));
    let mut h = harness(&frames, &json);
    h.state_mut()
        .set_autosave_interval(std::time::Duration::from_millis(200));
    h.run_steps(2);
    key(&mut h, Key::Home);
    key(&mut h, Key::I);
    for _ in 0..4 {
        key(&mut h, Key::ArrowRight);
    }
    key(&mut h, Key::O);
    let edited = intervals(&h);
    assert_eq!(edited, vec![iv(0, 5), iv(20, 30)]);
    let file = h.state().recovery_file().to_path_buf();
    let want = "\"start\": 0,\n      \"end\": 5";
    while !std::fs::read_to_string(&file).is_ok_and(|s| s.contains(want)) {
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
    }
    // Written whole, then renamed: the parent never reads half of it.
    let tmp = dir.join("child-ready.tmp");
    std::fs::write(&tmp, serde_json::to_string(&edited).unwrap()).unwrap();
    std::fs::rename(tmp, dir.join("child-ready")).unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
    }
}

#[test]
fn a_second_annotator_lane_shows_agreement_and_its_disagreements() {
    use vadscope::truth::agreement::agreement;
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let (frames, json) = clip_with_truth(dir.path());
    // Annotator B: 25..35 where A has 20..30, and 50..52 that A does not have.
    let b_path = dir.path().join("b.csv");
    let b = GroundTruth {
        videos: vec![VideoTruth::new(
            "clip",
            Some(FRAMES),
            vec![iv(25, 35), iv(50, 52)],
        )],
        provenance: None,
    };
    truth::write(&b, &b_path, truth::Format::Csv).unwrap();
    let req = OpenRequest {
        path: Some(frames),
        truth: Some(json),
        second_truth: Some(b_path.clone()),
        ..Default::default()
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .wgpu()
        .build_eframe(move |cc| VadApp::new(cc, req.clone()));
    h.run_steps(3);
    let want = agreement(&[iv(20, 30)], &[iv(25, 35), iv(50, 52)], FRAMES);
    let got = h.state().store.second.clone().expect("lane B").agreement;
    assert_eq!(got, want);
    assert_eq!(want.runs, vec![iv(20, 25), iv(30, 35), iv(50, 52)]);
    let kappa = format!("{:.3}", want.kappa.unwrap());
    h.get_by_label_contains(&format!("κ {kappa}"));
    // D walks the disagreements and loops over each.
    key(&mut h, Key::Home);
    key(&mut h, Key::D);
    assert_eq!(h.state().state.current, 20);
    key(&mut h, Key::D);
    assert_eq!(h.state().state.current, 30);
    assert_eq!(h.state().state.selection, Some((30, 35)));
    key_mod(&mut h, Modifiers::SHIFT, Key::D);
    assert_eq!(h.state().state.current, 20);
    // Editing A updates the agreement within the frame: now A = B on 20..35.
    h.state_mut().send(AppCommand::Truth(
        vadscope::app::annotate::TruthCommand::Edit {
            command: vadscope::truth::history::AnnotationCommand::Replace(vec![iv(25, 35)]),
            group: None,
        },
    ));
    h.run_steps(1);
    let got = h.state().store.second.clone().unwrap().agreement;
    assert_eq!(got.runs, vec![iv(50, 52)]);
    assert_eq!(
        got,
        agreement(&[iv(25, 35)], &[iv(25, 35), iv(50, 52)], FRAMES)
    );
}

#[test]
fn shift_l_loops_the_interval_and_holding_h_records_frames() {
    let (_dir, _frames, _json, mut h) = open_clip();
    h.run_steps(2);
    // Loop over the interval at the playhead, then stop looping.
    for _ in 0..22 {
        key(&mut h, Key::ArrowRight);
    }
    key_mod(&mut h, Modifiers::SHIFT, Key::L);
    assert_eq!(h.state().state.selection, Some((20, 30)));
    assert!(h.state().state.settings.looping);
    key_mod(&mut h, Modifiers::SHIFT, Key::L);
    assert_eq!(h.state().state.selection, None);
    // Hold H at frame 40 and step to 44: frames 40..=44 become anomalous.
    key(&mut h, Key::End);
    for _ in 0..19 {
        key(&mut h, Key::ArrowLeft);
    }
    assert_eq!(h.state().state.current, 40);
    h.key_down(Key::H);
    h.run_steps(1);
    for _ in 0..4 {
        key(&mut h, Key::ArrowRight);
    }
    h.key_up(Key::H);
    h.run_steps(2);
    assert_eq!(intervals(&h), vec![iv(20, 30), iv(40, 45)]);
    assert!(
        h.state().annotator.recording.is_none(),
        "released: recording stops"
    );
    // The whole hold is one undo step.
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    assert_eq!(intervals(&h), vec![iv(20, 30)]);
}

#[test]
fn masks_painted_with_the_brush_undo_and_save_as_mask_images() {
    let (dir, _frames, _json, mut h) = open_clip();
    h.run_steps(3);
    // The file's interval 20..30 goes; frame 20 alone gets a painted mask.
    key(&mut h, Key::Home);
    for _ in 0..25 {
        key(&mut h, Key::ArrowRight);
    }
    key(&mut h, Key::Delete);
    assert!(intervals(&h).is_empty());
    key(&mut h, Key::P);
    assert!(h.state().annotator.brush);
    key_mod(&mut h, Modifiers::ALT, Key::OpenBracket);
    let r = h.state().annotator.brush_radius_px;
    assert!(
        (r - 6.0 / 1.25).abs() < 1e-4,
        "Alt+[ makes the brush smaller: {r}"
    );
    h.state_mut().annotator.brush_radius_px = 2.0;
    let rect = h.state().frame_image_rect().expect("frame view drawn");
    let at =
        |x: f32, y: f32| rect.min + egui::vec2(x / 32.0 * rect.width(), y / 24.0 * rect.height());
    // A stroke across frame 40, a normal frame: painted, and now anomalous.
    key(&mut h, Key::End);
    for _ in 0..19 {
        key(&mut h, Key::ArrowLeft);
    }
    assert_eq!(h.state().state.current, 40);
    drag(&mut h, at(4.0, 12.0), at(20.0, 12.0));
    let px = |h: &Harness<'static, VadApp>, f: usize, x: usize, y: usize| {
        h.state()
            .store
            .truth
            .edit
            .mask(f)
            .is_some_and(|m| m.pixels[y * m.width + x])
    };
    assert!(
        px(&h, 40, 10, 12) && px(&h, 40, 18, 11),
        "the stroke is painted"
    );
    assert!(
        !px(&h, 40, 10, 3) && !px(&h, 40, 28, 12),
        "and nothing else"
    );
    assert_eq!(intervals(&h), vec![iv(40, 41)]);
    // The right button erases the stroke's middle.
    drag_with(
        &mut h,
        egui::PointerButton::Secondary,
        at(9.0, 12.0),
        at(13.0, 12.0),
    );
    assert!(
        !px(&h, 40, 10, 12) && px(&h, 40, 18, 11),
        "erased in the middle"
    );
    // Undo takes the erasing back, then the whole stroke with its frame.
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    assert!(px(&h, 40, 10, 12));
    key_mod(&mut h, Modifiers::COMMAND, Key::Z);
    assert!(h.state().store.truth.edit.mask(40).is_none());
    assert!(intervals(&h).is_empty());
    key_mod(&mut h, Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    assert!(px(&h, 40, 10, 12));
    // A click on frame 20 dabs it.
    for _ in 0..20 {
        key(&mut h, Key::ArrowLeft);
    }
    h.hover_at(at(24.0, 6.0));
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos: at(24.0, 6.0),
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
        h.step();
    }
    h.run_steps(1);
    assert!(px(&h, 20, 24, 6), "the dab");
    assert_eq!(intervals(&h), vec![iv(20, 21), iv(40, 41)]);
    // The frame folder is not taken for a mask folder.
    h.state_mut().send(AppCommand::Picked(
        DialogKind::SaveMasks,
        dir.path().join("clip"),
    ));
    h.run_steps(2);
    let err = h.state().state.errors.join("\n");
    assert!(err.contains("video frames, not masks"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("clip")).unwrap().count(),
        FRAMES
    );
    h.state_mut().state.errors.clear();
    // Saved as mask images, the folder reads back as the app shows it.
    let masks = dir.path().join("masks");
    let save = |h: &mut Harness<'static, VadApp>| {
        h.state_mut()
            .send(AppCommand::Picked(DialogKind::SaveMasks, masks.clone()));
        h.run_steps(1);
        wait_saved(h);
    };
    save(&mut h);
    assert!(
        h.state().state.errors.is_empty(),
        "{:?}",
        h.state().state.errors
    );
    assert!(!h.state().store.truth.edit.is_dirty());
    let gt = truth::read(&masks, &truth::ReadOptions::default()).unwrap();
    assert_eq!(gt.videos.len(), 1);
    let v = &gt.videos[0];
    assert_eq!(v.name, "clip");
    assert_eq!(v.anomalous, vec![iv(20, 21), iv(40, 41)]);
    let files = v.masks.as_ref().unwrap().frames().unwrap();
    assert_eq!(files.len(), FRAMES);
    for f in [20, 40] {
        let shown = h.state().store.truth.edit.mask(f).unwrap().clone();
        assert_eq!(files.get(f).unwrap().unwrap(), shown, "frame {f}");
    }
    // An anomalous frame without a mask is refused, and the folder kept.
    key(&mut h, Key::End);
    key(&mut h, Key::I);
    key(&mut h, Key::O);
    save(&mut h);
    let err = h.state().state.errors.join("\n");
    assert!(err.contains("frames 59") && err.contains("Paint"), "{err}");
    let again = truth::read(&masks, &truth::ReadOptions::default()).unwrap();
    assert_eq!(again.videos[0].anomalous, vec![iv(20, 21), iv(40, 41)]);
    // Saving as JSON keeps the intervals, says the masks need a mask folder,
    // and stays unsaved.
    h.state_mut().state.errors.clear();
    h.state_mut().send(AppCommand::Picked(
        DialogKind::SaveTruth,
        dir.path().join("out.json"),
    ));
    h.run_steps(1);
    wait_saved(&mut h);
    let message = h.state().annotator.message.clone().unwrap_or_default();
    assert!(message.contains("painted mask"), "{message}");
    assert!(h.state().store.truth.edit.is_dirty());
    let json = read_video(&dir.path().join("out.json"));
    assert_eq!(json.anomalous, vec![iv(20, 21), iv(40, 41), iv(59, 60)]);
}
