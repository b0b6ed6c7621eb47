//! Tests of evaluation, score files and pixel AUC (the sklearn/SciPy comparisons
//! are in `tests/metrics_sklearn.rs`).

use std::collections::BTreeMap;

use super::*;
use crate::truth::{GroundTruth, Interval, VideoTruth};

fn truth() -> GroundTruth {
    GroundTruth {
        videos: vec![
            VideoTruth::new("a", Some(6), vec![Interval { start: 3, end: 5 }]),
            VideoTruth::new("b", Some(4), vec![Interval { start: 0, end: 4 }]),
        ],
        provenance: None,
    }
}

#[test]
fn micro_macro_and_skipped() {
    let scores = vec![
        VideoScores::single("a", vec![0.0, 1.0, 2.0, 5.0, 4.0, 3.0]),
        VideoScores::single("b", vec![1.0, 2.0, 3.0, 4.0]),
    ];
    let p = Protocol {
        normalize: Normalize::None,
        ..Protocol::default()
    };
    let r = evaluate(&scores, &truth(), &p).unwrap();
    assert_eq!(r.videos[0].metrics.auc, Some(1.0));
    assert_eq!((r.macro_auc, r.macro_videos), (Some(1.0), 1));
    assert_eq!(r.skipped[0].video, "b");
    assert!(r.skipped[0].reason.contains("all 4 frames anomalous"));
    // Micro: positives {5,4,1,2,3,4}, negatives {0,1,2,3}; by hand 18 of 24 pairs won, 3 tied.
    let want = roc_auc(
        &[0.0, 1.0, 2.0, 5.0, 4.0, 3.0, 1.0, 2.0, 3.0, 4.0],
        &[
            false, false, false, true, true, false, true, true, true, true,
        ],
    )
    .unwrap();
    assert_eq!(r.micro.auc, Some(want));
    assert!((want - 19.5 / 24.0).abs() < 1e-15);
    assert_eq!(r.micro.frames, 10);
    // Δs by hand: anomalous mean 19/6, normal mean 6/4.
    assert!((r.micro.delta_s.unwrap() - (19.0 / 6.0 - 1.5)).abs() < 1e-12);
}

#[test]
fn exclusion_normalisation_and_late_start() {
    // Video a scored from frame 2: with exclude_first 1, frame 1 is unscored.
    let mut a = VideoScores::single("a", vec![9.0, 1.0, 3.0, 2.0]);
    a.first_frame = 2;
    let b = VideoScores::single("b", vec![1.0, 2.0, 3.0, 4.0]);
    let p = Protocol {
        exclude_first: 1,
        ..Protocol::default()
    };
    let r = evaluate(&[a, b], &truth(), &p).unwrap();
    assert_eq!((r.videos[0].excluded, r.videos[0].unscored), (1, 1));
    assert_eq!(r.videos[0].metrics.frames, 4);
    assert_eq!(r.videos[1].metrics.frames, 3);
    // Min-max per video: a becomes [1, 0, .25, .125]; labels [0, 1, 1, 0].
    assert_eq!(r.videos[0].metrics.auc, Some(0.25));
    assert_eq!(r.micro.frames, 7);
}

#[test]
fn weights_combine_normalised_terms() {
    let cols = |r: Vec<f64>, d: Vec<f64>| {
        BTreeMap::from([("recon".to_owned(), r), ("dist".to_owned(), d)])
    };
    let a = VideoScores {
        name: "a".into(),
        first_frame: 0,
        source: None,
        columns: cols(
            vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0],
            vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        ),
    };
    let b = VideoScores {
        name: "b".into(),
        first_frame: 0,
        source: None,
        columns: cols(vec![1.0; 4], vec![1.0; 4]),
    };
    let mut p = Protocol {
        weights: Some(parse_weights("recon=1,dist=0").unwrap()),
        ..Protocol::default()
    };
    let r = evaluate(&[a.clone(), b.clone()], &truth(), &p).unwrap();
    assert_eq!(r.videos[0].metrics.auc, Some(1.0));
    p.weights = Some(parse_weights("recon=0,dist=1").unwrap());
    let r = evaluate(&[a.clone(), b.clone()], &truth(), &p).unwrap();
    assert_eq!(r.videos[0].metrics.auc, Some(0.375));
    p.weights = Some(parse_weights("pred=1").unwrap());
    let e = evaluate(&[a, b], &truth(), &p).unwrap_err().to_string();
    assert!(e.contains("no \"pred\" column"), "{e}");
}

/// Smoothing before or after min-max normalisation: each order gives the AUC
/// of its own series, and the report says which was used.
#[test]
fn smoothing_order_is_a_protocol_choice() {
    let (a, b) = (
        vec![0.0, 1.0, 0.2, 5.0, 1.5, 0.1],
        vec![0.3, 0.9, 0.35, 0.8],
    );
    let scores = vec![
        VideoScores::single("a", a.clone()),
        VideoScores::single("b", b.clone()),
    ];
    let smooth: Smooth = "gaussian:1".parse().unwrap();
    let mm = |x: &[f64]| Normalize::MinMax.apply(x, None).unwrap();
    let labels: Vec<bool> = [truth().videos[0].labels(6), truth().videos[1].labels(4)].concat();
    let mut p = Protocol {
        smooth,
        ..Protocol::default()
    };
    let after = evaluate(&scores, &truth(), &p).unwrap();
    let want_after = [
        smooth.apply(&mm(&a)).unwrap(),
        smooth.apply(&mm(&b)).unwrap(),
    ]
    .concat();
    assert_eq!(
        after.micro.auc,
        Some(roc_auc(&want_after, &labels).unwrap())
    );
    assert!(
        p.to_string()
            .contains("smoothing gaussian:1 (after normalising)"),
        "{p}"
    );
    p.smooth_first = true;
    let before = evaluate(&scores, &truth(), &p).unwrap();
    let want_before = [
        mm(&smooth.apply(&a).unwrap()),
        mm(&smooth.apply(&b).unwrap()),
    ]
    .concat();
    assert_eq!(
        before.micro.auc,
        Some(roc_auc(&want_before, &labels).unwrap())
    );
    assert_ne!(
        before.micro.auc, after.micro.auc,
        "the fixture should tell the orders apart"
    );
    assert!(p.to_string().contains("(before normalising)"), "{p}");
}

#[test]
fn mismatches_are_refused() {
    let p = Protocol::default();
    let short = vec![
        VideoScores::single("a", vec![0.0; 5]),
        VideoScores::single("b", vec![0.0; 4]),
    ];
    let e = evaluate(&short, &truth(), &p).unwrap_err().to_string();
    assert!(e.contains("\"a\"") && e.contains("6 frames"), "{e}");
    let unknown = vec![VideoScores::single("zz", vec![0.0; 5])];
    let e = evaluate(&unknown, &truth(), &p).unwrap_err().to_string();
    assert!(e.contains("zz"), "{e}");
    let missing = vec![VideoScores::single("a", vec![0.0; 6])];
    let e = evaluate(&missing, &truth(), &p).unwrap_err().to_string();
    assert!(e.contains("no scores for video \"b\""), "{e}");
}

#[test]
fn report_serialises_with_protocol() {
    let scores = vec![
        VideoScores::single("a", vec![0.0, 1.0, 2.0, 5.0, 4.0, 3.0]),
        VideoScores::single("b", vec![1.0, 2.0, 3.0, 4.0]),
    ];
    let p = Protocol {
        smooth: "median:3".parse().unwrap(),
        ..Protocol::default()
    };
    let r = evaluate(&scores, &truth(), &p).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.contains("\"normalize\":\"minmax\"") && json.contains("\"kind\":\"median\""),
        "{json}"
    );
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.micro, r.micro);
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn npy_f32(values: &[f32]) -> Vec<u8> {
    let mut h = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    values.iter().for_each(|v| out.extend(v.to_le_bytes()));
    out
}

#[test]
fn score_files_in_every_form_agree() {
    let d = tempfile::tempdir().unwrap();
    let counts = vec![("a".to_owned(), 3), ("b".to_owned(), 2)];
    let folder = d.path().join("csv");
    std::fs::create_dir(&folder).unwrap();
    write(&folder, "a.csv", "frame,score,recon\n1,0.5,1\n2,0.25,2\n");
    write(&folder, "b.csv", "0.75\n1\n");
    write(
        &folder,
        "run.json",
        r#"{"train_stats": {"score": {"mean": 1, "std": 2}}}"#,
    );
    let s = read_scores(&folder, None).unwrap();
    assert_eq!(s.videos[0].first_frame, 1);
    assert_eq!(s.videos[0].columns["recon"], [1.0, 2.0]);
    assert_eq!(s.videos[1].columns["score"], [0.75, 1.0]);
    assert_eq!(s.train_stats["score"].std, 2.0);

    let npys = d.path().join("npy");
    std::fs::create_dir(&npys).unwrap();
    std::fs::write(npys.join("b.npy"), npy_f32(&[0.75, 1.0])).unwrap();
    std::fs::write(npys.join("a.npy"), npy_f32(&[0.0, 0.5, 0.25])).unwrap();
    let n = read_scores(&npys, None).unwrap();
    assert_eq!(n.videos[1].columns["score"], [0.75, 1.0]);
    assert!(n.videos[1].describe().contains("b.npy"));

    let one = d.path().join("all.npy");
    std::fs::write(&one, npy_f32(&[0.0, 0.5, 0.25, 0.75, 1.0])).unwrap();
    let plain = |s: ScoreSet| -> Vec<_> {
        s.videos
            .into_iter()
            .map(|v| (v.name, v.first_frame, v.columns))
            .collect()
    };
    let n = plain(n);
    assert_eq!(plain(read_scores(&one, Some(&counts)).unwrap()), n);
    let csv = write(d.path(), "all.csv", "0\n0.5\n0.25\n0.75\n1\n");
    assert_eq!(plain(read_scores(&csv, Some(&counts)).unwrap()), n);
    let long = write(
        d.path(),
        "long.csv",
        "video,score\na,0\na,0.5\na,0.25\nb,0.75\nb,1\n",
    );
    assert_eq!(plain(read_scores(&long, None).unwrap()), n);
    let e = read_scores(&csv, Some(&counts[..1]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("all.csv") && e.contains("holds 5 scores"), "{e}");
}

#[test]
fn malformed_score_files_name_the_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let inf = write(d.path(), "a.csv", "frame,score\n0,0.5\n1,inf\n");
    let e = read_scores(&inf, Some(&[("a".into(), 2)]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a.csv") && e.contains("line 3"), "{e}");
    // NaN is an unscored frame (a live recording's drop): read, kept as NaN.
    let nan = write(d.path(), "n.csv", "frame,score\n0,0.5\n1,nan\n");
    let s = read_scores(&nan, Some(&[("n".into(), 2)])).unwrap();
    assert!(s.videos[0].columns["score"][1].is_nan());
    let gap = write(d.path(), "g.csv", "video,frame,score\nx,0,1\nx,2,1\n");
    let e = read_scores(&gap, None).unwrap_err().to_string();
    assert!(e.contains("g.csv") && e.contains("consecutive"), "{e}");
    let ragged = write(d.path(), "r.csv", "frame,score\n0,1,2\n");
    assert!(read_scores(&ragged, None)
        .unwrap_err()
        .to_string()
        .contains("line 2"));
    let bad = write(d.path(), "b.npy", "not numpy");
    assert!(read_scores(&bad, Some(&[]))
        .unwrap_err()
        .to_string()
        .contains("b.npy"));
    let far = write(d.path(), "f.csv", "frame,score\n4000000000,1\n");
    let e = read_scores(&far, None).unwrap_err().to_string();
    assert!(
        e.contains("f.csv") && e.contains("line 2") && e.contains("0 to 9999999"),
        "{e}"
    );
    // Headers that used to panic the score reader: an empty or oversized
    // dtype, a shape larger than the file.
    for (descr, shape) in [
        ("", "(2,)"),
        ("<f16", "(1,)"),
        ("<f0", "(1,)"),
        ("<f8", "(1099511627776,)"),
    ] {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        h.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((h.len() as u16).to_le_bytes());
        bytes.extend(h.as_bytes());
        bytes.extend([0u8; 16]);
        let p = d.path().join("h.npy");
        std::fs::write(&p, bytes).unwrap();
        let e = read_scores(&p, Some(&[("a".into(), 2)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("h.npy"), "{descr}: {e}");
    }
}

#[test]
fn pixel_auc_is_exact_on_bin_aligned_scores() {
    let mut p = PixelAuc::new(0.0, 1.0, 4).unwrap();
    // Scores on bin starts (0, .25, .5, .75) and at 1.0 (last bin): no quantisation loss.
    let maps = [[0.0f32, 0.25, 0.5, 1.0], [0.75, 0.25, 0.0, 0.5]];
    let masks = [[false, false, true, true], [true, false, false, true]];
    for (m, k) in maps.iter().zip(&masks) {
        p.add(m, k).unwrap();
    }
    let s: Vec<f64> = maps.iter().flatten().map(|&v| f64::from(v)).collect();
    let l: Vec<bool> = masks.iter().flatten().copied().collect();
    assert_eq!(p.auc().unwrap(), roc_auc(&s, &l).unwrap());
    assert_eq!(p.clamped(), 0);
    p.add(&[2.0], &[false]).unwrap();
    assert_eq!(p.clamped(), 1);
    assert!(p.add(&[0.1], &[true, false]).is_err());
    assert!(PixelAuc::new(1.0, 1.0, 10).is_err());
}

#[test]
fn roc_png_draws_the_curve() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("roc.png");
    let curve = Curve {
        fpr: &[0.0, 0.0, 1.0],
        tpr: &[0.0, 1.0, 1.0],
        color: [200, 30, 30],
        width: 3.0,
        label: Some("AUC=1.000".into()),
    };
    roc_png(&[curve], &path).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (640, 640));
    // The curve's vertical leg runs up the y axis; its top leg along TPR = 1 (y = 30).
    let p = img.get_pixel(320, 30).0;
    assert!(p[0] > 150 && p[1] < 100, "{p:?}");
    // Below the diagonal, away from grid lines, stays white.
    assert_eq!(img.get_pixel(500, 500).0, [255, 255, 255]);
}
