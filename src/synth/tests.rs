//! Tests of the synthetic scenes: determinism, truth, motion of each anomaly,
//! normal training scenes, files written.

use std::collections::HashMap;

use super::actors::Body;
use super::layout::Layout;
use super::*;
use crate::frame::{Frame, PixelFormat};

fn small(seed: u64, anomalies: Vec<AnomalyKind>) -> SceneConfig {
    SceneConfig {
        width: 120,
        height: 80,
        frames: 40,
        seed,
        anomalies,
        ..SceneConfig::default()
    }
}

#[test]
fn same_seed_same_frames_different_seed_different() {
    let cfg = small(11, vec![AnomalyKind::Runner]);
    let a = Scene::new(&cfg).unwrap();
    let b = Scene::new(&cfg).unwrap();
    for i in [0, 17, 39] {
        assert_eq!(a.render(i), b.render(i), "frame {i}");
    }
    assert_eq!(a.truth("x"), b.truth("x"));
    let c = Scene::new(&small(12, vec![AnomalyKind::Runner])).unwrap();
    assert_ne!(a.render(17), c.render(17));
    // Consecutive frames differ (people move, noise changes).
    assert_ne!(a.render(17), a.render(18));
    // RGB is the same scene in colour.
    let rgb = Scene::new(&SceneConfig {
        format: PixelFormat::Rgb,
        ..cfg.clone()
    })
    .unwrap();
    let f = rgb.render(5);
    assert_eq!((f.width, f.height, f.channels), (120, 80, 3));
    assert_eq!(rgb.truth("x"), a.truth("x"));
}

#[test]
fn invalid_configs_are_rejected() {
    for cfg in [
        SceneConfig {
            width: 8,
            ..SceneConfig::default()
        },
        SceneConfig {
            frames: 0,
            ..SceneConfig::default()
        },
        SceneConfig {
            fps: f64::NAN,
            ..SceneConfig::default()
        },
        SceneConfig {
            pedestrians: -1.0,
            ..SceneConfig::default()
        },
    ] {
        assert!(Scene::new(&cfg).is_err(), "{cfg:?}");
    }
    assert_eq!(
        "thrown".parse::<AnomalyKind>().unwrap(),
        AnomalyKind::ThrownObject
    );
    for k in AnomalyKind::ALL {
        assert_eq!(k.to_string().parse::<AnomalyKind>().unwrap(), k);
    }
    assert!("dragon".parse::<AnomalyKind>().is_err());
}

#[test]
fn labels_agree_with_masks_and_masks_cover_drawn_objects() {
    let cfg = SceneConfig {
        width: 160,
        height: 100,
        frames: 90,
        seed: 5,
        noise: 0.0,
        anomalies: AnomalyKind::ALL.to_vec(),
        ..SceneConfig::default()
    };
    let scene = Scene::new(&cfg).unwrap();
    let truth = scene.truth("t");
    let masks = truth.masks.as_ref().unwrap();
    let bg = scene.background();
    let (mut covered, mut differ) = (0usize, 0usize);
    let mut anomalous = 0;
    for i in 0..cfg.frames {
        let count = masks.dense_count(i).unwrap();
        assert_eq!(truth.is_anomalous(i), count > 0, "frame {i}");
        let has_region = truth.regions.iter().any(|r| r.frame == i);
        assert_eq!(has_region, count > 0, "frame {i}");
        anomalous += usize::from(count > 0);
        let frame = scene.render(i);
        for y in 0..cfg.height {
            for x in 0..cfg.width {
                if masks.dense_pixel(i, x, y).unwrap() {
                    covered += 1;
                    let p = y * cfg.width + x;
                    differ += usize::from(frame.data[p].abs_diff(bg.data[p]) >= 8);
                    // Every mask pixel lies inside its frame's boxes.
                    assert!(truth.regions.iter().any(|r| r.frame == i
                        && (x as f32) >= r.x
                        && (x as f32) < r.x + r.w
                        && (y as f32) >= r.y
                        && (y as f32) < r.y + r.h));
                }
            }
        }
    }
    assert!(
        anomalous > 20 && anomalous < cfg.frames,
        "{anomalous} anomalous frames"
    );
    assert!(covered > 500, "{covered} mask pixels");
    assert!(
        differ as f64 > 0.9 * covered as f64,
        "{differ} of {covered} mask pixels differ from the background"
    );
    // Sensor noise changes pixels, not the truth.
    let noisy = Scene::new(&SceneConfig { noise: 3.0, ..cfg }).unwrap();
    assert_eq!(noisy.truth("t"), truth);
}

/// Per object: for each frame where it is visible, (pixel count, bbox).
type Tracks = HashMap<u32, Vec<(usize, usize, [usize; 4])>>;

fn tracks(scene: &Scene) -> Tracks {
    let w = scene.config().width;
    let mut out: Tracks = HashMap::new();
    let (mut frame, mut ids) = (Frame::default(), Vec::new());
    for i in 0..scene.len() {
        scene.render_with_ids(i, &mut frame, &mut ids);
        let mut per: HashMap<u32, (usize, [usize; 4])> = HashMap::new();
        for (p, &id) in ids.iter().enumerate() {
            if id == 0 {
                continue;
            }
            let (x, y) = (p % w, p / w);
            let e = per.entry(id).or_insert((0, [x, y, x, y]));
            e.0 += 1;
            e.1 = [e.1[0].min(x), e.1[1].min(y), e.1[2].max(x), e.1[3].max(y)];
        }
        for (id, (n, b)) in per {
            out.entry(id).or_default().push((i, n, b));
        }
    }
    out
}

/// Median of a non-empty list.
fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Signed ground speed (m/s along x) of a track, from the horizontal motion of
/// its box centre over 6-frame spans where it is fully in view (the median of
/// those slopes: robust to occlusions, and box quantisation averages out).
fn speed(scene: &Scene, track: &[(usize, usize, [usize; 4])]) -> Option<f32> {
    let (w, fps) = (scene.config().width, scene.config().fps as f32);
    let inside: HashMap<usize, [usize; 4]> = track
        .iter()
        .filter(|(_, _, b)| b[0] > 0 && b[2] + 1 < w)
        .map(|(i, _, b)| (*i, *b))
        .collect();
    let cx = |b: &[usize; 4]| (b[0] + b[2]) as f32 / 2.0;
    let span = 6;
    let v: Vec<f32> = inside
        .iter()
        .filter_map(|(i, a)| {
            let b = inside.get(&(i + span))?;
            let feet = (a[3] + b[3]) as f32 / 2.0 + 1.0;
            Some((cx(b) - cx(a)) / span as f32 / scene.px_per_meter(feet) * fps)
        })
        .collect();
    (v.len() >= 3).then(|| median(v))
}

/// Metric area (m²) of a track's visible pixels in a frame.
fn area(scene: &Scene, n: usize, b: &[usize; 4]) -> f32 {
    let s = scene.px_per_meter(b[3] as f32 + 1.0);
    n as f32 / (s * s)
}

fn staged(kind: AnomalyKind, seed: u64) -> (Scene, Tracks, u32) {
    let cfg = SceneConfig {
        width: 240,
        height: 160,
        frames: 70,
        seed,
        pedestrians: 8.0,
        noise: 0.0,
        anomalies: vec![kind],
        ..SceneConfig::default()
    };
    let scene = Scene::new(&cfg).unwrap();
    let t = tracks(&scene);
    let id = scene
        .objects()
        .iter()
        .find(|o| o.anomaly == Some(kind))
        .unwrap()
        .id;
    assert!(t.contains_key(&id), "{kind} never visible");
    (scene, t, id)
}

/// Median |speed| and median metric area of the normal walkers.
fn walkers(scene: &Scene, t: &Tracks) -> (f32, f32) {
    let normal: Vec<&ObjectInfo> = scene
        .objects()
        .iter()
        .filter(|o| o.anomaly.is_none() && t.contains_key(&o.id))
        .collect();
    let speeds: Vec<f32> = normal
        .iter()
        .filter_map(|o| speed(scene, &t[&o.id]))
        .filter(|v| v.abs() > 0.3) // Walkers on the diagonal path move mostly down.
        .map(f32::abs)
        .collect();
    assert!(speeds.len() >= 4, "{} walkers measured", speeds.len());
    let areas: Vec<f32> = normal
        .iter()
        .flat_map(|o| t[&o.id].iter().map(|(_, n, b)| area(scene, *n, b)))
        .collect();
    (median(speeds), median(areas))
}

#[test]
fn runner_is_three_to_five_times_faster() {
    for seed in [1, 2] {
        let (scene, t, id) = staged(AnomalyKind::Runner, seed);
        let (walk, _) = walkers(&scene, &t);
        assert!((1.0..1.6).contains(&walk), "walking speed {walk}");
        let run = speed(&scene, &t[&id]).unwrap().abs();
        let ratio = run / walk;
        assert!(
            (3.0..=5.0).contains(&ratio),
            "runner {run} m/s, walkers {walk}: {ratio}"
        );
    }
}

#[test]
fn cyclist_and_skateboarder_are_fast() {
    for kind in [AnomalyKind::Cyclist, AnomalyKind::Skateboarder] {
        let (scene, t, id) = staged(kind, 3);
        let (walk, _) = walkers(&scene, &t);
        let v = speed(&scene, &t[&id]).unwrap().abs();
        assert!(v > 2.0 * walk, "{kind}: {v} m/s vs walkers {walk}");
    }
}

#[test]
fn vehicle_is_large_and_rigid() {
    let (scene, t, id) = staged(AnomalyKind::Vehicle, 4);
    let (_, walker_area) = walkers(&scene, &t);
    let w = scene.config().width;
    let full: Vec<&(usize, usize, [usize; 4])> = t[&id]
        .iter()
        .filter(|(_, _, b)| b[0] > 0 && b[2] + 1 < w)
        .collect();
    assert!(full.len() >= 5);
    let areas: Vec<f32> = full.iter().map(|(_, n, b)| area(&scene, *n, b)).collect();
    let cart = median(areas);
    assert!(
        cart > 3.0 * walker_area,
        "cart {cart} m², walker {walker_area} m²"
    );
    // Rigid: its box keeps its size (walkers' boxes breathe with their stride).
    let widths: Vec<f32> = full.iter().map(|(_, _, b)| (b[2] - b[0]) as f32).collect();
    let mw = median(widths.clone());
    let steady = widths.iter().filter(|&&x| (x - mw).abs() <= 2.0).count();
    assert!(steady * 10 >= widths.len() * 8, "{widths:?}");
    assert!(speed(&scene, &t[&id]).unwrap().abs() > 1.5);
}

#[test]
fn thrown_object_is_small_fast_and_parabolic() {
    let (scene, t, id) = staged(AnomalyKind::ThrownObject, 6);
    let (walk, walker_area) = walkers(&scene, &t);
    let track = &t[&id];
    assert!(track.len() >= 6, "{} frames of flight", track.len());
    let a = median(track.iter().map(|(_, n, b)| area(&scene, *n, b)).collect());
    assert!(
        a < 0.2 * walker_area,
        "object {a} m², walker {walker_area} m²"
    );
    let v = speed(&scene, track).unwrap().abs();
    assert!(v > 3.0 * walk, "object {v} m/s");
    // Least-squares parabola through the centre's row over time: it curves down
    // (image rows grow) and fits within a pixel and a half.
    let pts: Vec<(f64, f64)> = track
        .iter()
        .map(|(i, _, b)| (*i as f64, (b[1] + b[3]) as f64 / 2.0))
        .collect();
    let (a2, a1, a0) = fit_parabola(&pts);
    assert!(a2 > 0.1, "curvature {a2}");
    for (x, y) in &pts {
        let r = y - (a2 * x * x + a1 * x + a0);
        assert!(r.abs() < 1.5, "residual {r} at frame {x}");
    }
}

/// Least squares y = a2 x² + a1 x + a0 (normal equations, Cramer's rule).
fn fit_parabola(p: &[(f64, f64)]) -> (f64, f64, f64) {
    let x0 = p[0].0;
    let s = |k: i32| p.iter().map(|(x, _)| (x - x0).powi(k)).sum::<f64>();
    let t = |k: i32| p.iter().map(|(x, y)| (x - x0).powi(k) * y).sum::<f64>();
    let m = [[s(4), s(3), s(2)], [s(3), s(2), s(1)], [s(2), s(1), s(0)]];
    let r = [t(2), t(1), t(0)];
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(m);
    let col = |c: usize| {
        let mut mm = m;
        for (row, v) in mm.iter_mut().zip(r) {
            row[c] = v;
        }
        det(mm) / d
    };
    let (a2, b, c) = (col(0), col(1), col(2));
    // Undo the shift x -> x - x0.
    (a2, b - 2.0 * a2 * x0, c - b * x0 + a2 * x0 * x0)
}

#[test]
fn against_flow_walks_opposite_to_its_lane() {
    let (scene, t, id) = staged(AnomalyKind::AgainstFlow, 7);
    let track = &t[&id];
    let row = median(track.iter().map(|(_, _, b)| b[3] as f32).collect());
    let v = speed(&scene, track).unwrap();
    assert!((0.8..2.0).contains(&v.abs()), "walking speed {v}");
    // Walkers whose feet are on about the same row: the same lane.
    let same_lane: Vec<f32> = scene
        .objects()
        .iter()
        .filter(|o| o.anomaly.is_none())
        .filter_map(|o| t.get(&o.id))
        .filter(|tr| {
            let r = median(tr.iter().map(|(_, _, b)| b[3] as f32).collect());
            (r - row).abs() <= 4.0
        })
        .filter_map(|tr| speed(&scene, tr))
        .collect();
    assert!(!same_lane.is_empty());
    assert!(
        same_lane.iter().all(|u| u.signum() != v.signum()),
        "{v} vs lane {same_lane:?}"
    );
}

#[test]
fn training_scenes_are_normal_with_one_direction_per_lane() {
    let ds = DatasetConfig {
        scene: SceneConfig {
            frames: 100,
            ..SceneConfig::default()
        },
        ..DatasetConfig::default()
    };
    let layout = Layout::new(ds.scene.width, ds.scene.height);
    for k in 0..3 {
        let scene = Scene::new(&ds.train_scene(k)).unwrap();
        assert!(scene.objects().iter().all(|o| o.anomaly.is_none()));
        assert!(scene.truth("n").anomalous.is_empty());
        let mut on_lanes = 0;
        for a in scene.actors().iter().filter(|a| a.v[1] == 0.0) {
            assert_eq!(a.body, Body::Walker);
            let lane = layout
                .lanes
                .iter()
                .min_by(|p, q| (p.z - a.p0[1]).abs().total_cmp(&(q.z - a.p0[1]).abs()))
                .unwrap();
            assert_eq!(
                a.v[0].signum(),
                lane.dir,
                "walker {} against its lane",
                a.id
            );
            on_lanes += 1;
        }
        assert!(on_lanes > 10, "{on_lanes} walkers");
    }
    // Testing scenes cycle through every kind.
    let kinds: Vec<AnomalyKind> = (0..3).flat_map(|k| ds.test_scene(k).anomalies).collect();
    for k in AnomalyKind::ALL {
        assert!(kinds.contains(&k), "{k} missing");
    }
}

#[test]
fn dataset_is_written_in_mnad_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ds");
    let cfg = DatasetConfig {
        scene: SceneConfig {
            width: 64,
            height: 48,
            frames: 30,
            ..SceneConfig::default()
        },
        train: 2,
        test: 2,
        seed: 9,
        anomalies_per_video: 2,
    };
    let count = std::sync::atomic::AtomicUsize::new(0);
    let truth = write_dataset(&root, &cfg, &|| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(count.into_inner(), cfg.total_frames());
    for split in [
        "training/frames/01",
        "training/frames/02",
        "testing/frames/02",
    ] {
        let n = std::fs::read_dir(root.join(split)).unwrap().count();
        assert_eq!(n, 30, "{split}");
    }
    let f = image::open(root.join("testing/frames/01/029.png")).unwrap();
    assert_eq!((f.width(), f.height()), (64, 48));
    // The JSON carries its format, version and the videos; masks match labels.
    let text = std::fs::read_to_string(root.join("truth.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["format"], TRUTH_FORMAT);
    assert_eq!(json["version"], TRUTH_VERSION);
    assert_eq!(json["videos"][0]["masks"]["path"], "testing/masks/01");
    let back = crate::truth::read(&root.join("truth.json"), &Default::default()).unwrap();
    assert_eq!(back, truth);
    assert_eq!(back.videos.len(), 2);
    for v in &back.videos {
        for i in 0..30 {
            let mask = image::open(root.join(format!("testing/masks/{}/{i:03}.png", v.name)))
                .unwrap()
                .into_luma8();
            assert!(mask.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
            let any = mask.pixels().any(|p| p.0[0] == 255);
            assert_eq!(any, v.is_anomalous(i), "video {} frame {i}", v.name);
        }
    }
    assert!(back.anomalous_frames() > 0);
    // No temporary folder is left, and an existing dataset is not overwritten.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let err = write_dataset(&root, &cfg, &|| {}).unwrap_err();
    assert!(err.to_string().contains("ds"), "{err}");
}

#[test]
fn frames_and_video_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let scene = Scene::new(&SceneConfig {
        width: 64,
        height: 48,
        frames: 12,
        ..SceneConfig::default()
    })
    .unwrap();
    let frames = dir.path().join("f");
    write_frames(&frames, &scene, &|| {}).unwrap();
    let png = image::open(frames.join("011.png")).unwrap().into_luma8();
    assert_eq!(png.as_raw(), &scene.render(11).data);
    assert!(write_frames(&frames, &scene, &|| {}).is_err());
    let video = dir.path().join("v.mp4");
    let opts = crate::video::encode::EncodeOptions::lossless();
    write_video(&video, &scene, &opts, &|| {}).unwrap();
    assert!(std::fs::metadata(&video).unwrap().len() > 1000);
    assert_eq!(frame_file_name(7, 12), "007.png");
    assert_eq!(frame_file_name(7, 1001), "0007.png");
    assert_eq!(frame_file_name(0, 1), "000.png");
}
