//! `vadscope eval` end to end: a small ground truth and score folder on disk,
//! the printed table, the JSON report and the ROC plot; malformed scores refused.

mod common;
use common::vadscope;

use std::path::Path;

use vadscope::metrics::{self, Protocol};
use vadscope::truth::{self, Format, GroundTruth, Interval, VideoTruth};

fn setup(d: &Path) -> GroundTruth {
    let gt = GroundTruth {
        videos: vec![
            VideoTruth::new("v1", Some(8), vec![Interval { start: 4, end: 7 }]),
            VideoTruth::new("v2", Some(6), vec![Interval { start: 0, end: 2 }]),
        ],
        provenance: None,
    };
    truth::write(&gt, &d.join("gt.json"), Format::Json).unwrap();
    std::fs::create_dir(d.join("scores")).unwrap();
    let v1 = [0.1, 0.3, 0.2, 0.4, 0.9, 0.5, 0.8, 0.3];
    let v2 = [0.7, 0.6, 0.65, 0.2, 0.1, 0.3];
    for (name, s) in [("v1", &v1[..]), ("v2", &v2[..])] {
        let mut text = "frame,score\n".to_owned();
        for (i, v) in s.iter().enumerate() {
            text += &format!("{i},{v}\n");
        }
        std::fs::write(d.join("scores").join(format!("{name}.csv")), text).unwrap();
    }
    gt
}

#[test]
fn eval_prints_writes_json_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gt = setup(d);
    let (json, png) = (d.join("r.json"), d.join("roc.png"));
    let (scores, truth) = (d.join("scores"), d.join("gt.json"));
    let args = [
        "eval",
        scores.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--exclude-first",
        "1",
        "--smooth",
        "median:3",
        "--per-video",
        "--json",
        json.to_str().unwrap(),
        "--roc",
        png.to_str().unwrap(),
    ];
    let (ok, text) = vadscope(&args);
    assert!(ok, "{text}");
    assert!(
        text.contains("exclude first 1 frames/video, normalisation minmax, smoothing median:3"),
        "{text}"
    );
    assert!(
        text.contains("v2 ") && text.contains("micro (all)"),
        "{text}"
    );
    // The same numbers as the library under the same protocol.
    let set = metrics::read_scores(&d.join("scores"), None).unwrap();
    let p = Protocol {
        exclude_first: 1,
        smooth: "median:3".parse().unwrap(),
        ..Protocol::default()
    };
    let want = metrics::evaluate(&set.videos, &gt, &p).unwrap();
    let auc = format!("{:.4}", want.micro.auc.unwrap());
    assert!(text.contains(&auc), "{auc} not in {text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["protocol"]["exclude_first"], 1);
    assert_eq!(report["protocol"]["smooth"]["k"], 3);
    assert_eq!(report["micro"]["frames"], 12);
    assert_eq!(report["micro"]["auc"].as_f64(), want.micro.auc);
    assert_eq!(report["videos"].as_array().unwrap().len(), 2);
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (640, 640));
}

#[test]
fn eval_refuses_bad_scores_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let truth = d.join("gt.json");
    let scores = d.join("scores");
    let run = || vadscope(&[Path::new("eval"), &scores, Path::new("--truth"), &truth]);
    std::fs::write(scores.join("v2.csv"), "frame,score\n0,0.5\n1,inf\n").unwrap();
    let (ok, text) = run();
    assert!(
        !ok && text.contains("v2.csv") && text.contains("line 3"),
        "{text}"
    );
    // NaN is a frame without a score (a live recording's dropped frame):
    // readable, but not evaluated.
    let rows = "frame,score\n0,0.5\n1,NaN\n2,1\n3,1\n4,1\n5,1\n";
    std::fs::write(scores.join("v2.csv"), rows).unwrap();
    let (ok, text) = run();
    assert!(
        !ok && text.contains("v2.csv") && text.contains("frame 1 has no") && text.contains("NaN"),
        "{text}"
    );
    std::fs::write(scores.join("v2.csv"), "frame,score\n0,0.5\n1,0.2\n").unwrap();
    let (ok, text) = run();
    assert!(
        !ok && text.contains("v2.csv") && text.contains("6 frames"),
        "{text}"
    );
    std::fs::rename(scores.join("v2.csv"), scores.join("v3.csv")).unwrap();
    let (ok, text) = run();
    assert!(!ok && text.contains("v3"), "{text}");
}

/// Two score folders are one ensemble: per-video normalised members averaged,
/// the same number the library gives for the merged set; the JSON lists the
/// members, and a member scoring other videos is refused by its path.
#[test]
fn eval_of_several_score_sets_is_their_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gt = setup(d);
    let (a, b, truth) = (d.join("scores"), d.join("other"), d.join("gt.json"));
    std::fs::create_dir(&b).unwrap();
    let v1 = [0.9, 0.2, 0.1, 0.3, 0.5, 0.8, 0.6, 0.1];
    let v2 = [0.4, 0.9, 0.1, 0.3, 0.2, 0.5];
    for (name, s) in [("v1", &v1[..]), ("v2", &v2[..])] {
        let text: String = s.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(b.join(format!("{name}.csv")), text).unwrap();
    }
    let json = d.join("ens.json");
    let (ok, text) = vadscope(&[
        Path::new("eval"),
        &a,
        &b,
        Path::new("--truth"),
        &truth,
        Path::new("--json"),
        &json,
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("mean of 2 members"), "{text}");
    let members: Vec<_> = [&a, &b]
        .iter()
        .map(|p| (p.to_path_buf(), metrics::read_scores(p, None).unwrap()))
        .collect();
    let merged = metrics::merge_members(&members).unwrap();
    let p = Protocol {
        members: 2,
        ..Protocol::default()
    };
    let want = metrics::evaluate(&merged.videos, &gt, &p).unwrap();
    let alone: Vec<f64> = members
        .iter()
        .map(|(_, s)| {
            let r = metrics::evaluate(&s.videos, &gt, &Protocol::default()).unwrap();
            r.micro.auc.unwrap()
        })
        .collect();
    // The ensemble is neither member: the test would pass on a single set otherwise.
    assert!(alone
        .iter()
        .all(|x| (x - want.micro.auc.unwrap()).abs() > 1e-6));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["micro"]["auc"].as_f64(), want.micro.auc);
    assert_eq!(report["members"].as_array().unwrap().len(), 2);
    assert_eq!(report["protocol"]["members"], 2);
    std::fs::remove_file(b.join("v2.csv")).unwrap();
    let (ok, text) = vadscope(&[Path::new("eval"), &a, &b, Path::new("--truth"), &truth]);
    assert!(!ok && text.contains("other"), "{text}");
}

/// Pixel masks as a mask folder and score maps from `score --maps`'s writer:
/// `eval` reports the pixel AUC of per-video min-max normalised maps, which
/// equals the exact AUC of those pixels (maps at mask size: no resampling).
#[test]
fn eval_reports_pixel_auc_of_score_maps() {
    use vadscope::score::{maps_path, ScoreMaps};
    use vadscope::truth::Masks;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (w, h, n) = (6usize, 4usize, 5usize);
    // Frame f of video k: a 2x2 anomalous square from frame 3 on.
    let mask = |f: usize, x: usize, y: usize| f >= 3 && (2..4).contains(&x) && (1..3).contains(&y);
    let mut gt = GroundTruth::default();
    let (mut all_scores, mut all_labels) = (Vec::new(), Vec::new());
    std::fs::create_dir(d.join("scores")).unwrap();
    for (k, name) in ["a", "b"].into_iter().enumerate() {
        let frames = (0..n)
            .map(|f| Masks::pack_bits((0..w * h).map(|i| mask(f, i % w, i / w)), w * h))
            .collect();
        let mut v = VideoTruth::new(name, Some(n), vec![Interval { start: 3, end: n }]);
        v.masks = Some(Masks::Dense {
            width: w,
            height: h,
            frames,
        });
        gt.videos.push(v);
        // Maps of the last 4 frames (t = 1), values on a 1/8 grid (exact in f16):
        // higher on the square, with overlap so the AUC is below 1.
        let mut maps = ScoreMaps::default();
        let mut csv = "frame,score\n".to_owned();
        let (mut vs, mut vl) = (Vec::new(), Vec::new());
        for f in 1..n {
            let map: Vec<f32> = (0..w * h)
                .map(|i| {
                    let base = ((i * 7 + f * 3 + k) % 9) as f32 / 8.0;
                    base + if mask(f, i % w, i / w) { 0.5 } else { 0.0 } + k as f32
                })
                .collect();
            maps.push(w, h, &map).unwrap();
            csv += &format!("{f},{}\n", map.iter().sum::<f32>());
            if f >= 2 {
                // --exclude-first 2
                vs.extend(map.iter().map(|&v| f64::from(v)));
                vl.extend((0..w * h).map(|i| mask(f, i % w, i / w)));
            }
        }
        maps.write(&maps_path(&d.join("scores"), name)).unwrap();
        std::fs::write(d.join("scores").join(format!("{name}.csv")), csv).unwrap();
        // Per-video min-max over all of the video's maps (every scored frame).
        let all: Vec<f32> = maps.data.clone();
        let lo = all.iter().copied().fold(f32::INFINITY, f32::min) as f64;
        let hi = all.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        all_scores.extend(vs.iter().map(|v| (v - lo) / (hi - lo)));
        all_labels.extend(vl);
    }
    let masks_dir = d.join("masks");
    truth::write(&gt, &masks_dir, Format::MaskFolder).unwrap();
    let json = d.join("r.json");
    let scores = d.join("scores");
    let args = [
        Path::new("eval"),
        &scores,
        Path::new("--truth"),
        &masks_dir,
        Path::new("--exclude-first"),
        Path::new("2"),
        Path::new("--json"),
        &json,
        Path::new("--per-video"),
    ];
    let (ok, text) = vadscope(&args);
    assert!(ok, "{text}");
    let want = metrics::roc_auc(&all_scores, &all_labels).unwrap();
    assert!(want > 0.6 && want < 1.0, "fixture AUC {want}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let got = report["pixel"]["auc"].as_f64().unwrap();
    // Exact up to the histogram's bins (values sit on a 1/8 grid: no shared bins).
    assert!((got - want).abs() < 1e-9, "pixel AUC {got} vs {want}");
    assert_eq!(report["pixel"]["frames"], 6);
    assert_eq!(report["pixel"]["anomalous_pixels"], 4 * 4);
    assert!(text.contains(&format!("pixel AUC {want:.4}")), "{text}");
    // Per video: the same computation over each video's pixels alone.
    let per_video = report["pixel"]["per_video"].as_array().unwrap();
    let half = all_scores.len() / 2;
    for (k, v) in per_video.iter().enumerate() {
        let range = k * half..(k + 1) * half;
        let want = metrics::roc_auc(&all_scores[range.clone()], &all_labels[range]).unwrap();
        assert!(
            (v["auc"].as_f64().unwrap() - want).abs() < 1e-9,
            "{v} vs {want}"
        );
    }
    assert_eq!(per_video[1]["name"], "b");
    assert!(text.contains("pixel AUC per video: a 0."), "{text}");
    // RBDC/TBDC of the same maps, regions from the masks: one track per video.
    assert_eq!(report["regions"]["tracks"], 2);
    assert_eq!(report["regions"]["truth_from"], "masks");
    let rbdc = report["regions"]["rbdc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rbdc), "{rbdc}");
    assert!(text.contains("RBDC "), "{text}");

    // A maps file that does not fit its video is refused, naming it.
    let mut bad = ScoreMaps::default();
    for _ in 0..7 {
        bad.push(w, h, &vec![0.0; w * h]).unwrap();
    }
    bad.write(&maps_path(&scores, "b")).unwrap();
    let (ok, text) = vadscope(&args);
    assert!(
        !ok && text.contains("b.maps.npy") && text.contains("7 maps"),
        "{text}"
    );
    // --no-pixel skips them.
    let (ok, text) = vadscope(&[&args[..4], &[Path::new("--no-pixel")]].concat());
    assert!(
        ok && !text.contains("pixel AUC") && !text.contains("RBDC"),
        "{text}"
    );
}
