//! `vadscope eval` end to end: a small ground truth and score folder on disk,
//! the printed table, the JSON report and the ROC plot; malformed scores refused.

use std::path::Path;

use vadscope::metrics::{self, Protocol};
use vadscope::truth::{self, Format, GroundTruth, Interval, VideoTruth};

fn vadscope<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vadscope"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

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
    std::fs::write(scores.join("v2.csv"), "frame,score\n0,0.5\n1,NaN\n").unwrap();
    let (ok, text) = run();
    assert!(
        !ok && text.contains("v2.csv") && text.contains("line 3"),
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
