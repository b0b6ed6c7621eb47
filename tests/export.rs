//! `vadscope export` and the engine's exporter on a synthetic scene: the MP4
//! decodes back with the frames, size and rate asked for, the score map's
//! colour sits on the staged anomaly, a stop leaves no file, and the
//! mistakes a user can make are named. No `gui` feature needed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use vadscope::export::{self, colormap::Colormap, ExportInputs, ExportOptions, View};
use vadscope::score::{FrameScore, ScoreMaps, Scorer};
use vadscope::synth::{AnomalyKind, Scene, SceneConfig};
use vadscope::truth::{self, GroundTruth, VideoTruth};
use vadscope::video::encode::EncodeOptions;

const W: usize = 160;
const H: usize = 96;
const FRAMES: usize = 30;
/// Frames without a score (the model's history).
const FIRST: usize = 4;

struct Clip {
    _dir: tempfile::TempDir,
    root: PathBuf,
    video: PathBuf,
    scores: PathBuf,
    truth_file: PathBuf,
    truth: VideoTruth,
}

/// A staged cart on a 30-frame clip, its truth, and a score folder whose
/// maps are 1 exactly on the truth's masks and 0 elsewhere.
fn clip() -> Clip {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let cfg = SceneConfig {
        width: W,
        height: H,
        frames: FRAMES,
        fps: 10.0,
        seed: 7,
        pedestrians: 1.0,
        anomalies: vec![AnomalyKind::Vehicle],
        ..Default::default()
    };
    let scene = Scene::new(&cfg).unwrap();
    let video = root.join("clip.mp4");
    vadscope::synth::write_video(&video, &scene, &EncodeOptions::lossless(), &|| {}).unwrap();
    let truth = scene.truth("clip");
    assert!(truth.anomalous_frames() > 5, "the cart is on screen");
    let truth_file = root.join("truth.json");
    truth::write(
        &GroundTruth {
            videos: vec![truth.clone()],
            provenance: None,
        },
        &truth_file,
        truth::Format::Json,
    )
    .unwrap();
    let scores = root.join("scores");
    std::fs::create_dir(&scores).unwrap();
    let masks = truth.masks.as_ref().unwrap().frames().unwrap();
    let mut maps = ScoreMaps::default();
    let mut rows = Vec::new();
    for f in FIRST..FRAMES {
        let m = masks.get(f).unwrap();
        let map: Vec<f32> = (0..W * H)
            .map(|p| m.as_ref().map_or(0.0, |m| f32::from(u8::from(m.pixels[p]))))
            .collect();
        maps.push(W, H, &map).unwrap();
        rows.push(FrameScore {
            frame: f,
            score: if truth.is_anomalous(f) { 1.0 } else { 0.0 },
            recon: 0.0,
            pred: 0.0,
            dist: 0.0,
            usage: Vec::new(),
        });
    }
    Scorer::write_csv(&scores, "clip", &rows).unwrap();
    maps.write(&vadscope::score::maps_path(&scores, "clip"))
        .unwrap();
    Clip {
        _dir: dir,
        root,
        video,
        scores,
        truth_file,
        truth,
    }
}

/// The anomalous frame with the largest mask, and a pixel deep inside it
/// (2 pixels from its edge: clear of the outline and of chroma blur).
fn inside_pixel(truth: &VideoTruth, range: std::ops::Range<usize>) -> (usize, usize, usize) {
    let masks = truth.masks.as_ref().unwrap().frames().unwrap();
    let mut best: Option<(usize, usize, usize, usize)> = None;
    for f in range {
        let Some(m) = masks.get(f).unwrap() else {
            continue;
        };
        let on = |x: usize, y: usize| m.pixels[y * W + x];
        let area = m.pixels.iter().filter(|&&b| b).count();
        for y in 2..H - 2 {
            for x in 2..W - 2 {
                let deep = (y - 2..=y + 2).all(|yy| (x - 2..=x + 2).all(|xx| on(xx, yy)));
                if deep && best.is_none_or(|(a, ..)| area > a) {
                    best = Some((area, f, x, y));
                }
            }
        }
    }
    let (_, f, x, y) = best.expect("a mask with an inside");
    (f, x, y)
}

fn inputs(c: &Clip) -> ExportInputs {
    ExportInputs {
        scores: Some(vadscope::metrics::read_video_scores(&c.scores, "clip", FRAMES).unwrap()),
        maps: Some(ScoreMaps::read(&vadscope::score::maps_path(&c.scores, "clip")).unwrap()),
        truth: Some(c.truth.clone()),
    }
}

fn decode(path: &Path) -> (Vec<vadscope::Frame<u8>>, f64) {
    let mut v = vadscope::video::open_with(path, vadscope::video::OutputSpec::rgb()).unwrap();
    let fps = v.info().fps;
    let frames = (0..v.len()).map(|i| v.read(i).unwrap()).collect();
    (frames, fps)
}

fn px(f: &vadscope::Frame<u8>, x: usize, y: usize) -> [i32; 3] {
    let i = (y * f.width + x) * f.channels;
    [f.data[i] as i32, f.data[i + 1] as i32, f.data[i + 2] as i32]
}

fn close(a: [i32; 3], b: [i32; 3], tol: i32) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn an_exported_range_decodes_back_with_the_overlay_on_the_anomaly() {
    let c = clip();
    let out = c.root.join("out.mp4");
    let opts = ExportOptions {
        range: Some(6..26),
        views: vec![View::Frame, View::Error],
        overlay: Some(1.0),
        curve: true,
        threshold: None,
        colormap: Colormap::Inferno,
        // Lossless, so that colours can be compared exactly (4:2:0 at CRF 20
        // moves a pixel's colour by tens of levels next to the outline).
        encode: EncodeOptions::lossless(),
        fps: None,
    };
    let done = std::cell::Cell::new(0);
    let summary = export::export(
        &c.video,
        &out,
        &inputs(&c),
        &opts,
        &|k| done.set(k),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(!summary.cancelled);
    assert_eq!(done.get(), 20, "progress reached the last frame");
    assert_eq!(summary.size, (2 * W, H + 48));
    let (frames, fps) = decode(&out);
    assert_eq!(frames.len(), 20);
    assert!((fps - 10.0).abs() < 1e-6, "{fps}");
    assert_eq!((frames[0].width, frames[0].height), (2 * W, H + 48));
    let (f, x, y) = inside_pixel(&c.truth, 6..26);
    let top = Colormap::Inferno.eval_u8(1.0).map(i32::from);
    let got = px(&frames[f - 6], x, y);
    assert!(
        close(got, top, 3),
        "frame {f} ({x}, {y}): {got:?}, want ~{top:?}"
    );
    // The error panel shows the same map, solid.
    let got = px(&frames[f - 6], W + x, y);
    assert!(close(got, top, 3), "error panel: {got:?}");
    let bottom = Colormap::Inferno.eval_u8(0.0).map(i32::from);
    let clear = px(&frames[f - 6], W + 8, 8);
    assert!(
        close(clear, bottom, 3),
        "error panel off the mask: {clear:?}"
    );
    // Away from the mask and the border, the frame is the video's own.
    let (src, _) = decode(&c.video);
    let (sx, sy) = (W / 2, 6);
    let mask = c
        .truth
        .masks
        .as_ref()
        .unwrap()
        .frames()
        .unwrap()
        .get(f)
        .unwrap()
        .unwrap();
    assert!(!mask.pixels[sy * W + sx], "the check is off the mask");
    assert!(close(px(&frames[f - 6], sx, sy), px(&src[f], sx, sy), 3));
}

#[test]
fn a_stopped_export_leaves_no_file_and_missing_maps_are_named() {
    let c = clip();
    let out = c.root.join("stopped.mp4");
    let stop = AtomicBool::new(false);
    let opts = ExportOptions {
        views: vec![View::Frame, View::Flow],
        ..ExportOptions::default()
    };
    let summary = export::export(
        &c.video,
        &out,
        &ExportInputs::default(),
        &opts,
        &|k| {
            if k == 3 {
                stop.store(true, Ordering::Relaxed);
            }
        },
        &stop,
    )
    .unwrap();
    assert!(summary.cancelled);
    assert_eq!(summary.frames, 3);
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(&c.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("stopped"))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
    let refused = |opts: ExportOptions| {
        export::export(
            &c.video,
            &out,
            &ExportInputs::default(),
            &opts,
            &|_| {},
            &stop,
        )
        .unwrap_err()
        .to_string()
    };
    let e = refused(ExportOptions {
        overlay: Some(0.5),
        ..ExportOptions::default()
    });
    assert!(e.contains("score --maps") && e.contains("clip.mp4"), "{e}");
    let e = refused(ExportOptions {
        range: Some(20..40),
        ..ExportOptions::default()
    });
    assert!(e.contains("20..40") && e.contains("30 frames"), "{e}");
}

fn vadscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vadscope"))
}

#[test]
fn the_cli_exports_every_view_and_keeps_an_existing_file() {
    let c = clip();
    let out = c.root.join("cli.mp4");
    let run = |range: &str, extra: &[&str]| {
        let mut cmd = vadscope();
        cmd.arg("export").arg(&c.video).arg("-o").arg(&out);
        cmd.arg("--scores")
            .arg(&c.scores)
            .arg("--truth")
            .arg(&c.truth_file);
        cmd.args([
            "--range",
            range,
            "--views",
            "frame,error,flow",
            "--overlay",
            "error",
            "--curve",
        ]);
        cmd.args(extra);
        cmd.output().unwrap()
    };
    let o = run("4..20", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("wrote 16 frames of 480x144"), "{text}");
    let (frames, _) = decode(&out);
    assert_eq!(frames.len(), 16);
    assert_eq!(frames[0].width, 3 * W);
    // A second export does not replace the first without --overwrite.
    let o = run("4..20", &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cli.mp4") && err.contains("--overwrite"),
        "{err}"
    );
    let o = run("0..5", &["--overwrite"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(decode(&out).0.len(), 5);
    // A view that does not exist is named with the ones that do.
    let o = vadscope()
        .arg("export")
        .arg(&c.video)
        .args(["-o", "x.mp4", "--views", "frame,heat"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("heat") && err.contains("frame, error or flow"),
        "{err}"
    );
}

#[test]
fn score_events_match_the_detector_on_the_written_scores_and_export_scores_with_a_model() {
    let c = clip();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/demo");
    let scores = c.root.join("demo-scores");
    let score = |extra: &[&str]| {
        let mut cmd = vadscope();
        cmd.arg("score")
            .arg(&demo)
            .arg(&c.video)
            .arg("-o")
            .arg(&scores);
        cmd.args(extra);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    score(&[]);
    let set = vadscope::metrics::read_video_scores(&scores, "clip", FRAMES).unwrap();
    let curve = set.columns["score"].clone();
    let mut sorted = curve.clone();
    sorted.sort_by(f64::total_cmp);
    let t = sorted[sorted.len() / 2];
    let json = c.root.join("events.json");
    let text = score(&[
        "--overwrite",
        "--events",
        json.to_str().unwrap(),
        "--event-threshold",
        &t.to_string(),
        "--event-min-frames",
        "2",
    ]);
    assert!(text.contains("events (score >= "), "{text}");
    let rule = vadscope::score::events::EventRule {
        min_frames: 2,
        ..vadscope::score::events::EventRule::at(t)
    };
    let want = vadscope::score::events::detect(curve.iter().copied(), set.first_frame, rule);
    assert!(!want.is_empty(), "the median is crossed");
    let got: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let got = got["videos"][0]["events"].as_array().unwrap().clone();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g["start"].as_u64(), g["end"].as_u64()),
            (Some(w.start as u64), Some(w.end as u64))
        );
    }
    // Without a threshold, --events is refused before any scoring.
    let o = vadscope()
        .arg("score")
        .arg(&demo)
        .arg(&c.video)
        .args(["-o", "unused", "--events", "e.csv"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--event-threshold"));
    // export --model scores the clip itself and draws its maps.
    let out = c.root.join("model.mp4");
    let o = vadscope()
        .arg("export")
        .arg(&c.video)
        .arg("-o")
        .arg(&out)
        .arg("--model")
        .arg(&demo)
        .args(["--views", "error", "--curve"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (frames, _) = decode(&out);
    assert_eq!(frames.len(), FRAMES);
    // Scored frames show a map (not the black of unscored ones).
    let last = frames.last().unwrap();
    let lit = (0..W * H)
        .filter(|&p| px(last, p % W, p / W).iter().sum::<i32>() > 60)
        .count();
    assert!(lit > 0, "the error panel of a scored frame is not empty");
}
