//! Video files end to end: encode synthetic scenes, decode them back exactly
//! (frame count, fps, random access), and survive damaged files.

use std::path::Path;

use vadscope::synth::{Scene, SceneConfig};
use vadscope::video::encode::{EncodeOptions, VideoWriter};
use vadscope::video::{self, OutputSpec};
use vadscope::Frame;

const W: usize = 96;
const H: usize = 64;

fn scene(frames: usize) -> Scene {
    Scene::new(&SceneConfig {
        width: W,
        height: H,
        frames,
        fps: 12.5,
        seed: 7,
        ..Default::default()
    })
    .unwrap()
}

fn encode(path: &Path, scene: &Scene, opts: &EncodeOptions) {
    let mut w = VideoWriter::create(path, W, H, scene.config().fps, opts).unwrap();
    for i in 0..scene.len() {
        w.write(&scene.render(i)).unwrap();
    }
    w.finish().unwrap();
}

/// Reads every frame sequentially, then a scrambled order, and checks they agree.
fn check_random_access(path: &Path, n: usize) -> Vec<Frame<u8>> {
    let mut v = video::open(path).unwrap();
    assert_eq!(v.len(), n, "{}", path.display());
    let seq: Vec<Frame<u8>> = (0..n).map(|i| v.read(i).unwrap()).collect();
    let order = [n - 1, 0, n / 2, 3, n - 2, 1, n / 3, n / 3 + 1, n / 3 + 2, 2];
    for i in order {
        assert_eq!(
            v.read(i).unwrap(),
            seq[i],
            "{}: frame {i} differs on random access",
            path.display()
        );
    }
    seq
}

#[test]
fn lossless_mp4_round_trips_exactly_with_exact_timing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scene.mp4");
    let s = scene(40);
    encode(&path, &s, &EncodeOptions::lossless());
    let v = video::open(&path).unwrap();
    let info = v.info();
    assert_eq!((info.num_frames, info.width, info.height), (40, W, H));
    assert!((info.fps - 12.5).abs() < 1e-6, "fps {}", info.fps);
    assert!(
        (info.duration_secs - 40.0 / 12.5).abs() < 1e-3,
        "duration {}",
        info.duration_secs
    );
    assert!(!info.variable_frame_rate);
    let frames = check_random_access(&path, 40);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f, &s.render(i), "frame {i} is not bit-exact");
    }
}

#[test]
fn mpeg4_avi_and_mjpeg_mkv_decode_frame_accurately() {
    let dir = tempfile::tempdir().unwrap();
    let s = scene(30);
    for (name, codec) in [("a.avi", "mpeg4"), ("b.mkv", "mjpeg")] {
        let path = dir.path().join(name);
        let opts = EncodeOptions {
            codec: Some(codec.into()),
            keyframe_interval: Some(8),
            ..Default::default()
        };
        encode(&path, &s, &opts);
        let frames = check_random_access(&path, 30);
        // Lossy, but each frame must be closest to its own source frame.
        for i in [5usize, 17] {
            let err = |a: &Frame<u8>, b: &Frame<u8>| -> u64 {
                a.data
                    .iter()
                    .zip(&b.data)
                    .map(|(&x, &y)| (x as i64 - y as i64).unsigned_abs())
                    .sum()
            };
            let own = err(&frames[i], &s.render(i));
            let next = err(&frames[i], &s.render(i + 1));
            assert!(
                own < next,
                "{name}: frame {i} looks more like frame {}",
                i + 1
            );
        }
    }
}

#[test]
fn resized_rgb_output_has_the_requested_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scene.mp4");
    encode(&path, &scene(5), &EncodeOptions::default());
    let mut v = video::open_with(&path, OutputSpec::rgb().with_size(32, 40)).unwrap();
    let f = v.read(4).unwrap();
    assert_eq!(
        (f.width, f.height, f.channels, f.data.len()),
        (32, 40, 3, 32 * 40 * 3)
    );
    assert!(v.read(5).is_err());
}

#[test]
fn truncated_file_yields_the_frames_before_the_break() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.avi");
    let opts = EncodeOptions {
        codec: Some("mpeg4".into()),
        ..Default::default()
    };
    encode(&full, &scene(40), &opts);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.avi");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let mut v = video::open(&cut).unwrap();
    let n = v.len();
    assert!(n > 5 && n < 40, "{n} frames in a truncated file");
    let warnings = v.info().warnings.join("; ");
    assert!(
        warnings.contains("40 frames"),
        "no truncation warning: {warnings:?}"
    );
    for i in 0..n {
        // Every indexed frame decodes, or fails with an error naming the file: no panic.
        if let Err(e) = v.read(i) {
            assert!(e.to_string().contains("cut.avi"), "{e}");
        }
    }
}

#[test]
fn garbage_and_empty_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp4");
    std::fs::write(
        &junk,
        (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let err = video::open(&junk).unwrap_err().to_string();
    assert!(err.contains("junk.mp4"), "{err}");

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let err = video::open(&empty).unwrap_err().to_string();
    assert!(err.contains("empty.mp4"), "{err}");

    let none = dir.path().join("none.mkv");
    let w = VideoWriter::create(&none, W, H, 10.0, &EncodeOptions::default()).unwrap();
    w.finish().unwrap();
    if none.exists() {
        let err = video::open(&none).unwrap_err().to_string();
        assert!(err.contains("none.mkv"), "{err}");
    }
}
