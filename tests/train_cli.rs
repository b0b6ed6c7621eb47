//! `vadscope train` from the command line: flags land in the run's config,
//! and conflicting ones are refused before any work.

mod common;
use common::vadscope;

use vadscope::synth::{write_dataset, DatasetConfig, SceneConfig};

#[test]
fn seed_and_epochs_land_in_the_run_config() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ds");
    let cfg = DatasetConfig {
        scene: SceneConfig {
            width: 32,
            height: 32,
            frames: 12,
            ..Default::default()
        },
        train: 1,
        test: 1,
        seed: 1,
        anomalies_per_video: 1,
    };
    write_dataset(&root, &cfg, &|| {}).unwrap();
    let run = dir.path().join("run");
    let os = |s: &str| std::ffi::OsString::from(s);
    let args = [
        os("train"),
        root.clone().into(),
        os("--profile"),
        os("demo"),
        os("--seed"),
        os("7"),
        os("--epochs"),
        os("3"),
        os("--max-steps"),
        os("1"),
        os("-o"),
        run.clone().into(),
    ];
    let (ok, text) = vadscope(&args);
    assert!(ok, "{text}");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["train"]["seed"], 7, "{config}");
    assert_eq!(config["train"]["epochs"], 3, "{config}");

    // A resumed run keeps its seed: --seed with --resume is refused.
    let ckpt = run.join("checkpoint.safetensors");
    let args = [
        os("train"),
        root.into(),
        os("--resume"),
        ckpt.into(),
        os("--seed"),
        os("3"),
        os("-o"),
        run.into(),
    ];
    let (ok, text) = vadscope(&args);
    assert!(
        !ok && text.contains("--seed") && text.contains("--resume"),
        "{text}"
    );
}
