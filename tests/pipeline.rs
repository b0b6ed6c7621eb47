//! The whole pipeline on a tiny synthetic benchmark: synth dataset -> train
//! (demo profile, a few steps) -> score -> score folder -> eval's reader.

use std::sync::atomic::AtomicBool;

use candle_core::Device;
use vadscope::dataset::{self, Split};
use vadscope::flow::Params;
use vadscope::metrics::read_scores;
use vadscope::model::ModelConfig;
use vadscope::score::Scorer;
use vadscope::synth::{write_dataset, DatasetConfig, SceneConfig};
use vadscope::train::{train, ClipSet, TrainOptions};

#[test]
fn synth_train_score_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ds");
    let cfg = DatasetConfig {
        scene: SceneConfig {
            width: 64,
            height: 48,
            frames: 14,
            ..Default::default()
        },
        train: 2,
        test: 2,
        seed: 1,
        anomalies_per_video: 1,
    };
    write_dataset(&root, &cfg, &|| {}).unwrap();
    let ds = dataset::open(&root).unwrap();
    let train_videos: Vec<_> = ds.split(Split::Train).map(|v| v.path.clone()).collect();
    let model_cfg = ModelConfig::profile("demo").unwrap();
    let set = ClipSet::load(&train_videos, &model_cfg, &Params::default(), &|| {}).unwrap();
    let opts = TrainOptions {
        out_dir: dir.path().join("run"),
        max_steps: Some(6),
    };
    let summary = train(
        &set,
        &model_cfg,
        &opts,
        &Device::Cpu,
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .unwrap();
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

    let set = read_scores(&out, None).unwrap();
    assert_eq!(set.videos.len(), 2);
    assert!(set
        .videos
        .iter()
        .all(|v| v.first_frame == 2 && v.columns["score"].len() == 12));
    assert!(set.train_stats.contains_key("recon") && set.train_stats.contains_key("dist"));
}
