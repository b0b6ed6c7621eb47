//! `vadscope train` from the command line: flags land in the run's config,
//! and conflicting ones are refused before any work.

mod common;
use common::vadscope;

use vadscope::model::Checkpoint;
use vadscope::synth::{write_dataset, DatasetConfig, SceneConfig};

/// A one-video dataset of tiny frames in `dir/ds`.
fn tiny_dataset(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("ds");
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
    root
}

#[test]
fn seed_and_epochs_land_in_the_run_config() {
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_dataset(dir.path());
    let run = dir.path().join("run");
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
    // A finished training chooses the score's weights (`vadscope calibrate`).
    assert!(text.contains("score weights chosen"), "{text}");
    let ck = Checkpoint::read(
        &run.join("checkpoint.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let c = ck.calibration.expect("calibrated at the end of training");
    assert!((c.recon + c.pred + c.compact - 1.0).abs() < 1e-9, "{c:?}");

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

fn os(s: &str) -> std::ffi::OsString {
    std::ffi::OsString::from(s)
}

/// `vadscope train ROOT --profile demo --max-steps 1 --seed SEED -o RUN EXTRA...`.
fn train_tiny(
    root: &std::path::Path,
    run: &std::path::Path,
    seed: &str,
    extra: &[&str],
) -> (bool, String) {
    let mut args = vec![
        os("train"),
        root.into(),
        os("--profile"),
        os("demo"),
        os("--max-steps"),
        os("1"),
        os("--seed"),
        os(seed),
        os("-o"),
        run.into(),
    ];
    args.extend(extra.iter().map(|s| os(s)));
    vadscope(&args)
}

#[test]
fn an_existing_run_survives_every_second_write() {
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_dataset(dir.path());
    let run = dir.path().join("run");
    let (ok, text) = train_tiny(&root, &run, "1", &[]);
    assert!(ok, "{text}");
    let ckpt = run.join("checkpoint.safetensors");
    let original = std::fs::read(&ckpt).unwrap();
    let original_log = std::fs::read(run.join("loss.csv")).unwrap();

    // Training again into it is refused, before any work, and changes nothing.
    let (ok, text) = train_tiny(&root, &run, "2", &[]);
    assert!(
        !ok && text.contains("--resume") && text.contains("--overwrite"),
        "{text}"
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), original);
    assert_eq!(std::fs::read(run.join("loss.csv")).unwrap(), original_log);
    assert!(!dir.path().join("run.bak").exists());

    // --overwrite keeps the whole original run as run.bak.
    let (ok, text) = train_tiny(&root, &run, "2", &["--overwrite"]);
    assert!(ok, "{text}");
    assert!(text.contains("run.bak"), "{text}");
    let backup = dir.path().join("run.bak");
    assert_eq!(
        std::fs::read(backup.join("checkpoint.safetensors")).unwrap(),
        original
    );
    assert_eq!(
        std::fs::read(backup.join("loss.csv")).unwrap(),
        original_log
    );
    assert_ne!(std::fs::read(&ckpt).unwrap(), original);

    // A damaged loss log stops a resume, names the line, and stays as it is.
    let log = run.join("loss.csv");
    let mut damaged = std::fs::read_to_string(&log).unwrap();
    damaged.push_str("0,1,1e-3,0.5\n");
    std::fs::write(&log, &damaged).unwrap();
    let args = [
        os("train"),
        root.clone().into(),
        os("--resume"),
        ckpt.clone().into(),
        os("--epochs"),
        os("2"),
        os("-o"),
        run.clone().into(),
    ];
    let (ok, text) = vadscope(&args);
    assert!(
        !ok && text.contains("loss.csv") && text.contains("line 3"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), damaged);

    // Scores: a failed run leaves no folder; a second run needs --overwrite.
    let scores = dir.path().join("scores");
    let missing = dir.path().join("no-such-video.mp4");
    let (ok, text) = vadscope(&[
        os("score"),
        run.clone().into(),
        missing.into(),
        os("-o"),
        scores.clone().into(),
    ]);
    assert!(!ok && text.contains("no-such-video"), "{text}");
    assert!(!scores.exists(), "a failed score leaves no folder");
    let score = |extra: &[&str]| {
        let mut args = vec![
            os("score"),
            run.clone().into(),
            root.clone().into(),
            os("-o"),
            scores.clone().into(),
        ];
        args.extend(extra.iter().map(|s| os(s)));
        vadscope(&args)
    };
    let (ok, text) = score(&[]);
    assert!(ok, "{text}");
    let first = std::fs::read(scores.join("run.json")).unwrap();
    let (ok, text) = score(&[]);
    assert!(!ok && text.contains("--overwrite"), "{text}");
    let (ok, text) = score(&["--overwrite"]);
    assert!(ok, "{text}");
    assert_eq!(
        std::fs::read(dir.path().join("scores.bak/run.json")).unwrap(),
        first
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn calibrate_stores_weights_only_without_dry_run_and_clear_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_dataset(dir.path());
    let run = dir.path().join("run");
    let (ok, text) = train_tiny(&root, &run, "5", &["--no-calibrate"]);
    assert!(ok && !text.contains("score weights chosen"), "{text}");
    let ckpt = run.join("checkpoint.safetensors");
    let read = |p: &std::path::Path| Checkpoint::read(p, &candle_core::Device::Cpu).unwrap();
    assert_eq!(read(&ckpt).calibration, None);
    let original = std::fs::read(&ckpt).unwrap();
    let calibrate = |extra: &[&str]| {
        let mut args = vec![os("calibrate"), run.clone().into()];
        args.extend(extra.iter().map(|s| os(s)));
        vadscope(&args)
    };

    let report = dir.path().join("cal.json");
    let r = report.to_string_lossy().into_owned();
    let (ok, text) = calibrate(&[
        root.to_str().unwrap(),
        "--dry-run",
        "--step",
        "0.5",
        "--report",
        &r,
    ]);
    assert!(
        ok && text.contains("chosen weights") && text.contains("dry run"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        original,
        "a dry run changes nothing"
    );
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let sum: f64 = ["recon", "pred", "compact"]
        .iter()
        .map(|k| c[k].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9, "{c}");

    let (ok, text) = calibrate(&[root.to_str().unwrap(), "--step", "0.5"]);
    assert!(ok && text.contains("stored in"), "{text}");
    assert_eq!(
        std::fs::read(run.join("checkpoint.safetensors.bak")).unwrap(),
        original
    );
    assert_ne!(std::fs::read(&ckpt).unwrap(), original);

    // Scores made now record the calibration they used.
    let scores = dir.path().join("scores");
    let (ok, text) = vadscope(&[
        os("score"),
        run.clone().into(),
        root.clone().into(),
        os("-o"),
        scores.clone().into(),
    ]);
    assert!(ok, "{text}");
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(scores.join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["calibration"]["pred"], c["pred"], "{run_json}");

    let (ok, text) = calibrate(&["--clear"]);
    assert!(ok && text.contains("removed"), "{text}");
    let (ok, text) = calibrate(&[]);
    assert!(!ok && text.contains("DATASET"), "{text}");
    let missing = dir.path().join("nowhere");
    let (ok, text) = calibrate(&[missing.to_str().unwrap()]);
    assert!(!ok && text.contains("nowhere"), "{text}");
}
