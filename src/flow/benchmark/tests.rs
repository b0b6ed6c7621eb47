use super::*;
use crate::flow::{FlowEstimator, Params};

/// Writes `n` synthetic frames as PNGs under `dir` (stand-ins for real footage).
fn sources(dir: &Path, seed: u64, n: usize) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let scene = Scene::new(&SceneConfig {
        width: 120,
        height: 100,
        frames: 40,
        seed,
        ..SceneConfig::default()
    })
    .unwrap();
    for i in 0..n {
        let f = scene.render(i * 7);
        write_gray(&dir.join(format!("{i}.png")).to_string_lossy(), &f).unwrap();
    }
    dir.to_path_buf()
}

fn options(tmp: &Path) -> MakeOptions {
    MakeOptions {
        width: 96,
        height: 80,
        pairs: 2,
        seed: 11,
        tune_sources: vec![sources(&tmp.join("a"), 1, 3)],
        held_out_sources: vec![sources(&tmp.join("b"), 2, 3)],
    }
}

#[test]
fn made_pairs_are_read_back_with_their_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let opts = options(tmp.path());
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let m = make(&out, &opts, false, &|_, total| {
        assert_eq!(total, 20);
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(calls.into_inner(), 20);
    assert_eq!(m.pairs.len(), 2 * Set::ALL.len() * 2);
    assert!(m
        .pairs
        .iter()
        .any(|p| p.set == Set::Piecewise && p.occluded > 0.0));
    assert!(m
        .pairs
        .iter()
        .filter(|p| p.set == Set::Photometric)
        .all(|p| !p.changes.is_empty()));
    // The held-out split uses its own sources.
    assert!(m
        .pairs
        .iter()
        .filter(|p| p.split == Split::HeldOut && p.set != Set::Synth)
        .all(|p| p.source.contains("/b/")));

    // The same options make the same pairs.
    let again = make(&tmp.path().join("again"), &opts, false, &|_, _| {}).unwrap();
    assert_eq!(again.pairs, m.pairs);

    // An earlier benchmark is replaced only when asked, and kept as .bak;
    // a folder of anything else is never written into.
    let e = make(&out, &opts, false, &|_, _| {}).unwrap_err();
    assert!(e.to_string().contains("--overwrite"), "{e}");
    make(&out, &opts, true, &|_, _| {}).unwrap();
    assert!(tmp.path().join("bench.bak").join(MANIFEST).is_file());
    let foreign = tmp.path().join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"keep").unwrap();
    assert!(make(&foreign, &opts, true, &|_, _| {}).is_err());
    assert_eq!(std::fs::read(foreign.join("notes.txt")).unwrap(), b"keep");
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);

    let pairs = load(&out, None).unwrap();
    assert_eq!(pairs.len(), 20);
    let held = load(&out, Some(Split::HeldOut)).unwrap();
    assert_eq!(held.len(), 10);
    assert!(held.iter().all(|p| p.split == Some(Split::HeldOut)));
    for p in &pairs {
        assert_eq!((p.prev.width, p.prev.height), (96, 80));
        // The border is never counted.
        assert!(!p.valid[0] && !p.valid[96 * 80 - 1]);
        assert!(p.valid.iter().filter(|&&v| v).count() > 96 * 80 / 4);
    }

    // The truth is the motion: a zero estimate is far worse than the
    // estimator's, and the estimator is good where nothing is occluded.
    let mut est = FlowEstimator::new(Params::default()).unwrap();
    let mut ours = Vec::new();
    let mut zero = Vec::new();
    for p in &pairs {
        let f = est.estimate(&p.prev, &p.next).unwrap();
        ours.push(pair_epe(&f, p).unwrap());
        zero.push(pair_epe(&Flow::zeros(96, 80), p).unwrap());
    }
    let rows = summarize(&pairs, &ours);
    let zeros = summarize(&pairs, &zero);
    assert_eq!(rows.len(), 2 * (Set::ALL.len() + 1));
    assert_eq!(
        (rows[0].split.as_str(), rows[0].set.as_str()),
        ("tune", "synth")
    );
    assert_eq!(rows[5].set, "overall");
    assert_eq!(rows[5].pairs, 10);
    // Where the frames move as a whole (the synthetic scenes are mostly a
    // still background, where zero is nearly right), the estimate beats zero.
    for (r, z) in rows.iter().zip(&zeros) {
        if ["smooth-large", "piecewise"].contains(&r.set.as_str()) {
            assert!(r.epe_all < 0.7 * z.epe_all, "ours {r:?}, zero {z:?}");
        }
    }
    for r in &rows {
        assert!(r.epe_noc <= r.epe_all + 0.5, "{r:?}");
    }
}

#[test]
fn synth_pairs_obey_their_flow() {
    let scene = Scene::new(&SceneConfig {
        width: 160,
        height: 120,
        frames: 100,
        seed: 4,
        pedestrians: 12.0,
        noise: 0.0,
        anomalies: vec![AnomalyKind::Runner],
        ..SceneConfig::default()
    })
    .unwrap();
    let mut moving = 0;
    for i in [20, 50, 70] {
        let pair = scene.flow_pair(i, 3);
        let (w, h) = (160, 120);
        let prev = pair.prev.to_f32();
        let next = pair.next.to_f32();
        let (mut err, mut n) = (0.0f32, 0);
        for y in 0..h {
            for x in 0..w {
                let k = y * w + x;
                let (u, v) = pair.flow.at(x, y);
                if !pair.valid[k] || pair.occluded[k] || u.hypot(v) < 0.5 {
                    continue;
                }
                err += (warp::sample(&next, x as f32 + u, y as f32 + v) - prev.data[k]).abs();
                n += 1;
            }
        }
        moving += n;
        if n > 0 {
            // Moving figure pixels land where the same colour is (up to
            // anti-aliasing and 8-bit rounding).
            assert!(err / (n as f32) < 0.04, "frame {i}: {}", err / n as f32);
        }
    }
    assert!(moving > 100, "{moving} moving pixels");
}

#[test]
fn bad_sources_and_folders_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(tmp.path());
    opts.held_out_sources = vec![tmp.path().join("missing")];
    let e = make(&tmp.path().join("x"), &opts, false, &|_, _| {}).unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    opts.held_out_sources = vec![empty.clone()];
    let e = make(&tmp.path().join("x"), &opts, false, &|_, _| {}).unwrap_err();
    assert!(e.to_string().contains("no images"), "{e}");
    let e = load(&empty, None).unwrap_err();
    assert!(e.to_string().contains("flow-pairs"), "{e}");
    std::fs::write(empty.join(MANIFEST), b"{not json").unwrap();
    let e = load(&empty, None).unwrap_err();
    assert!(e.to_string().contains(MANIFEST), "{e}");
}
