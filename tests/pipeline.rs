//! The whole pipeline on a tiny synthetic benchmark: synth dataset -> train
//! (demo profile, a few steps) -> score -> score folder -> eval's reader.

use std::sync::atomic::AtomicBool;

use candle_core::Device;
use vadscope::dataset::{self, ClipReader, Split};
use vadscope::flow::{Params, Preset};
use vadscope::metrics::read_scores;
use vadscope::model::ModelConfig;
use vadscope::score::{ScoreEvent, ScoreRequest, ScoreWorker, Scorer};
use vadscope::synth::{write_dataset, DatasetConfig, SceneConfig};
use vadscope::train::{train, ClipSet, TrainOptions, TrainSummary};

/// A synthetic dataset in `dir/ds` of 64x48 scenes, (frames per video, videos
/// per split, seed), and a model trained on its training split for `steps`
/// steps into `dir/run`.
fn synth_and_train(
    dir: &std::path::Path,
    (frames, videos, seed): (usize, usize, u64),
    model_cfg: &ModelConfig,
    steps: usize,
) -> (dataset::Dataset, TrainSummary) {
    let root = dir.join("ds");
    let cfg = DatasetConfig {
        scene: SceneConfig {
            width: 64,
            height: 48,
            frames,
            ..Default::default()
        },
        train: videos,
        test: videos,
        seed,
        anomalies_per_video: 1,
    };
    write_dataset(&root, &cfg, &|| {}).unwrap();
    let ds = dataset::open(&root).unwrap();
    let train_videos: Vec<_> = ds.split(Split::Train).map(|v| v.path.clone()).collect();
    let set = ClipSet::load(&train_videos, model_cfg, &|| {}).unwrap();
    let opts = TrainOptions {
        out_dir: dir.join("run"),
        max_steps: Some(steps),
        ..Default::default()
    };
    let never = AtomicBool::new(false);
    let summary = train(&set, model_cfg, &opts, &Device::Cpu, &never, &mut |_| {}).unwrap();
    (ds, summary)
}

#[test]
fn synth_train_score_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let model_cfg = ModelConfig::profile("demo").unwrap();
    let (ds, summary) = synth_and_train(dir.path(), (14, 2, 1), &model_cfg, 6);
    assert_eq!(summary.steps, 6);

    let mut scorer = Scorer::load(&summary.checkpoint, &Device::Cpu).unwrap();
    let out = dir.path().join("scores");
    std::fs::create_dir_all(&out).unwrap();
    let mut names = Vec::new();
    for v in ds.split(Split::Test) {
        let scores = scorer.score_video(&v.path, &|| {}).unwrap();
        // t = 2: frames 2..14 are scored, in order, with finite terms.
        assert_eq!(
            scores.iter().map(|s| s.frame).collect::<Vec<_>>(),
            (2..14).collect::<Vec<_>>()
        );
        assert!(scores
            .iter()
            .all(|s| s.score.is_finite() && s.recon > 0.0 && s.pred > 0.0 && s.dist >= 0.0));
        Scorer::write_csv(&out, &v.name, &scores).unwrap();
        names.push(v.name.clone());
    }
    scorer.write_run_json(&out, &names).unwrap();

    // The background worker gives the same scores, in order, then Finished.
    let test_video = ds.split(Split::Test).next().unwrap().path.clone();
    let expected = scorer.score_video(&test_video, &|| {}).unwrap();
    let worker = ScoreWorker::spawn(ScoreRequest {
        checkpoint: summary.checkpoint.clone(),
        video: test_video.clone(),
        gpu: false,
    });
    let events = worker.wait();
    match &events[0] {
        ScoreEvent::Started {
            frames,
            first_scored,
            device,
            ..
        } => assert_eq!((*frames, *first_scored, device.as_str()), (14, 2, "CPU")),
        e => panic!("first event {e:?}"),
    }
    let streamed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ScoreEvent::Scored(s) => Some(s.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(streamed, expected);
    assert!(matches!(events.last(), Some(ScoreEvent::Finished { .. })));

    // Cancelled before the first frame: no scores, reported as cancelled.
    let cancel = AtomicBool::new(true);
    let mut got = 0;
    let outcome = scorer
        .score_stream(&test_video, &cancel, &mut |_| {}, &mut |s| got += s.len())
        .unwrap();
    assert!(outcome.cancelled && got == 0);

    // A missing checkpoint fails in the worker with the file's name.
    let events = ScoreWorker::spawn(ScoreRequest {
        checkpoint: dir.path().join("nope.safetensors"),
        video: test_video.clone(),
        gpu: false,
    })
    .wait();
    assert!(
        matches!(&events[..], [ScoreEvent::Failed(m)] if m.contains("nope.safetensors")),
        "{events:?}"
    );

    // Maps on demand: images at the model's size, attention rows summing to 1.
    let maps = scorer.maps(&test_video, 5).unwrap();
    assert_eq!((maps.input.width, maps.input.height), (32, 32));
    assert_eq!(maps.recon_error.data.len(), 32 * 32);
    assert!(maps
        .recon_error
        .data
        .iter()
        .all(|&e| e >= 0.0 && e.is_finite()));
    assert!(maps.pred.is_some() && maps.pred_error.is_some());
    assert_eq!((maps.flow.width, maps.flow.height), (32, 32));
    assert_eq!(maps.attention.len(), 3);
    for a in &maps.attention {
        assert_eq!(a.weights.len(), a.width * a.height * a.slots);
        for row in a.weights.chunks(a.slots) {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-3, "{}: {sum}", a.layer);
        }
        assert!(a.argmax().iter().all(|&s| s < a.slots));
        let max_entropy = (a.slots as f32).ln() + 1e-4;
        assert!(a
            .entropy()
            .iter()
            .all(|&e| (0.0..=max_entropy).contains(&e)));
    }
    let err = scorer.maps(&test_video, 1).unwrap_err().to_string();
    assert!(err.contains("no score"), "{err}");

    let set = read_scores(&out, None).unwrap();
    assert_eq!(set.videos.len(), 2);
    assert!(set
        .videos
        .iter()
        .all(|v| v.first_frame == 2 && v.columns["score"].len() == 12));
    assert!(set.train_stats.contains_key("recon") && set.train_stats.contains_key("dist"));
}

/// Scores of `video` computed by hand from frames and flows read with
/// `params`, batched as the scorer batches them.
fn scores_with_flow(
    scorer: &mut Scorer,
    video: &std::path::Path,
    params: Params,
) -> Vec<vadscope::score::FrameScore> {
    let cfg = scorer.config().clone();
    let t = cfg.input.frames;
    let spec = vadscope::model::frame_spec(&cfg.input);
    let mut reader = ClipReader::with_flow(vec![video.to_path_buf()], spec, params).unwrap();
    let n = reader.frame_count(0).unwrap();
    let (mut frames, mut flows) = (Vec::new(), Vec::new());
    let whole = dataset::Clip {
        video: 0,
        start: 0,
        len: n,
    };
    reader
        .read_with_flow(&whole, &mut frames, &mut flows)
        .unwrap();
    let starts: Vec<usize> = (0..n - t).collect();
    let mut out = Vec::new();
    for chunk in starts.chunks(cfg.train.batch_size) {
        let windows: Vec<_> = chunk
            .iter()
            .map(|&s| (&frames[s..s + t + 1], &flows[s..s + t]))
            .collect();
        out.extend(scorer.score_clips(&windows, chunk[0]).unwrap());
    }
    out
}

#[test]
fn a_checkpoint_scores_with_the_flow_it_was_trained_with() {
    let dir = tempfile::tempdir().unwrap();
    let mut model_cfg = ModelConfig::profile("demo").unwrap();
    // Not a preset, and far from the default.
    let custom = Params {
        patch_stride: 2,
        alpha: 60.0,
        ..Params::preset(Preset::Fast)
    };
    model_cfg.input.flow = custom.clone();
    let (ds, summary) = synth_and_train(dir.path(), (10, 1, 3), &model_cfg, 2);

    let mut scorer = Scorer::load(&summary.checkpoint, &Device::Cpu).unwrap();
    assert_eq!(scorer.config().input.flow, custom);
    let video = ds.split(Split::Test).next().unwrap().path.clone();
    let scored = scorer.score_video(&video, &|| {}).unwrap();
    assert_eq!(
        scored,
        scores_with_flow(&mut scorer, &video, custom.clone())
    );
    assert_ne!(
        scored,
        scores_with_flow(&mut scorer, &video, Params::default())
    );

    // The maps and the app's flow view read the same flow.
    let spec = vadscope::model::frame_spec(&scorer.config().input);
    let mut reader = ClipReader::with_flow(vec![video.clone()], spec, custom).unwrap();
    let (mut frames, mut flows) = (Vec::new(), Vec::new());
    let clip = dataset::Clip {
        video: 0,
        start: 4,
        len: 2,
    };
    reader
        .read_with_flow(&clip, &mut frames, &mut flows)
        .unwrap();
    let model_flow = scorer.model_flow(&video, 5).unwrap();
    assert_eq!(model_flow.data, flows[0].data);
    assert_eq!(scorer.maps(&video, 5).unwrap().flow.data, flows[0].data);
}

#[test]
fn calibrated_weights_come_from_training_frames_and_drive_the_score_column() {
    use vadscope::model::{checkpoint, Checkpoint};
    use vadscope::score::{calibrate::calibrate, CalibrateOptions};
    let dir = tempfile::tempdir().unwrap();
    let model_cfg = ModelConfig::profile("demo").unwrap();
    let (ds, summary) = synth_and_train(dir.path(), (16, 2, 9), &model_cfg, 3);
    let ckpt = summary.checkpoint.clone();
    let train_videos: Vec<_> = ds.split(Split::Train).map(|v| v.path.clone()).collect();
    let mut scorer = Scorer::load(&ckpt, &Device::Cpu).unwrap();
    let options = CalibrateOptions {
        max_frames: 16,
        step: 0.25,
        seed: 4,
    };
    let done = std::cell::Cell::new(0);
    let c = calibrate(&mut scorer, &train_videos, &options, &|| {
        done.set(done.get() + 1)
    })
    .unwrap();
    assert_eq!(done.get(), 2, "one progress call per video");
    let w = [c.recon, c.pred, c.compact];
    assert!(w.iter().all(|v| (0.0..=1.0).contains(v)), "{c:?}");
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{c:?}");
    // Every weight is on the grid of step 1/4, and the search's best is at
    // least each term alone (the grid's corners) and the config's weights.
    assert!(
        w.iter().all(|v| (v * 4.0 - (v * 4.0).round()).abs() < 1e-9),
        "{c:?}"
    );
    for single in [
        c.terms.recon,
        c.terms.pred,
        c.terms.compact,
        c.config_objective,
    ] {
        assert!(c.objective >= single - 1e-12, "{c:?}");
    }
    assert_eq!(c.per_kind.len(), 2);
    let mean = c.per_kind.iter().map(|(_, a)| a).sum::<f64>() / 2.0;
    assert!((mean - c.objective).abs() < 1e-12, "{c:?}");

    // Stored in the checkpoint (the old file kept as .bak), tensors untouched.
    let before = Checkpoint::read(&ckpt, &Device::Cpu).unwrap();
    assert_eq!(before.calibration, None);
    checkpoint::write_calibration(&ckpt, Some(&c)).unwrap();
    assert!(vadscope::save::backup_path(&ckpt).exists());
    let after = Checkpoint::read(&ckpt, &Device::Cpu).unwrap();
    // The weights exactly; the objectives to JSON's float precision.
    let stored = after.calibration.clone().expect("stored");
    assert_eq!([stored.recon, stored.pred, stored.compact], w);
    assert!((stored.objective - c.objective).abs() < 1e-12, "{stored:?}");
    assert_eq!(stored.videos, 2);
    assert_eq!(after.config, before.config);
    assert_eq!(after.stats, before.stats);
    let mut names: Vec<_> = after.tensors.keys().collect();
    names.sort();
    let mut old_names: Vec<_> = before.tensors.keys().collect();
    old_names.sort();
    assert_eq!(names, old_names);
    for (name, t) in &after.tensors {
        let a = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = before.tensors[name]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(a, b, "{name}");
    }

    // The score column is the calibrated weights' sum of z-scored terms.
    let mut scorer = Scorer::load(&ckpt, &Device::Cpu).unwrap();
    assert_eq!(scorer.score_weights(), w);
    let stats = after.stats.expect("training records the statistics");
    let z = |v: f64, s: &vadscope::model::TermStats| {
        if s.std > 0.0 {
            (v - s.mean) / s.std
        } else {
            v
        }
    };
    let video = ds.split(Split::Test).next().unwrap().path.clone();
    for f in scorer.score_video(&video, &|| {}).unwrap() {
        let expected = w[0] * z(f.recon, &stats.recon)
            + w[1] * z(f.pred, &stats.pred)
            + w[2] * z(f.dist, &stats.compact);
        assert!(
            (f.score - expected).abs() < 1e-9 * (1.0 + expected.abs()),
            "{f:?}"
        );
    }

    // Cleared, the config's weights are back.
    checkpoint::write_calibration(&ckpt, None).unwrap();
    let scorer = Scorer::load(&ckpt, &Device::Cpu).unwrap();
    let s = &model_cfg.score;
    assert_eq!(scorer.score_weights(), [s.recon, s.pred, s.compact]);
}
