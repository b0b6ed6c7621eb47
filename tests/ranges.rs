//! Numeric flags, config fields and sizes read from files are range-checked
//! before any work: each bad value fails quickly with exit code 1 or 2 and a
//! message naming the flag, field or file, the value and the allowed range,
//! never with a panic, an abort or a hang.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with a deadline; returns (exit code, stdout + stderr).
fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vadscope"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("vadscope did not finish within 30 s (a hang)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Asserts a clean failure (exit 1 or 2, no panic) whose message holds every `want`.
fn fails_with(args: &[&str], want: &[&str]) {
    let (code, text) = run(args);
    assert!(code == 1 || code == 2, "{args:?}: exit {code}\n{text}");
    assert!(!text.contains("panicked"), "{args:?}: {text}");
    for w in want {
        assert!(text.contains(w), "{args:?}: no {w:?} in\n{text}");
    }
}

#[test]
fn the_issue_examples_fail_cleanly_with_the_range() {
    fails_with(
        &["bench", "flow", "no-video", "--pairs", "0"],
        &["--pairs", "'0'", "1 to 1000000"],
    );
    fails_with(
        &["bench", "seek", "no-video", "--reads", "0"],
        &["--reads", "'0'", "1 to 1000000"],
    );
    fails_with(
        &[
            "eval",
            "scores",
            "--truth",
            "truth",
            "--smooth",
            "gaussian:1e9",
        ],
        &["--smooth", "gaussian:1e9", "at most 1000 frames"],
    );
}

#[test]
fn every_numeric_flag_names_its_range() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["bench", "decode", "v", "--runs", "0"],
            &["--runs", "1 to 1000"],
        ),
        (
            &["bench", "decode", "v", "--size", "100000x64"],
            &["--size", "width 100000", "1 to 16384"],
        ),
        (
            &["bench", "flow", "v", "--threads", "0"],
            &["--threads", "1 to 1024"],
        ),
        (
            &["bench", "flow", "v", "--size", "64x4"],
            &["--size", "height 4", "8 to 8192"],
        ),
        (
            &["bench", "flow-epe", "d", "--runs", "1001"],
            &["--runs", "0 to 1000"],
        ),
        (
            &[
                "bench",
                "flow-pairs",
                "o",
                "--tune",
                "a",
                "--held-out",
                "b",
                "--pairs",
                "0",
            ],
            &["--pairs", "1 to 1000"],
        ),
        (
            &["bench", "pipeline", "c", "v", "--runs", "0"],
            &["--runs", "1 to 1000"],
        ),
        (
            &["bench", "model", "--batch", "0"],
            &["--batch", "1 to 1024"],
        ),
        (
            &["bench", "model", "--warmup", "5000"],
            &["--warmup", "0 to 1000"],
        ),
        (
            &["eval", "s", "--truth", "t", "--smooth", "median:5001"],
            &["--smooth", "1 to 1001"],
        ),
        (
            &["eval", "s", "--truth", "t", "--region-level", "2"],
            &["--region-level", "0 to 1"],
        ),
        (
            &["eval", "s", "--truth", "t", "--region-blur", "99999"],
            &["--region-blur", "0 to 1024"],
        ),
        (
            &[
                "eval",
                "s",
                "--truth",
                "t",
                "--exclude-first",
                "99999999999",
            ],
            &["--exclude-first", "0 to 10000000"],
        ),
        (
            &["eval", "s", "--truth", "t", "--frame-size", "100000x240"],
            &["--frame-size", "width 100000", "1 to 16384"],
        ),
        (
            &["synth", "out", "--frames", "0"],
            &["--frames", "1 to 1000000"],
        ),
        (
            &["synth", "out", "--fps", "0"],
            &["--fps", "above 0 and at most 1000"],
        ),
        (
            &["synth", "out", "--anomalies", "1000000000000"],
            &["--anomalies", "0 to 64"],
        ),
        (&["synth", "out", "--crf", "99"], &["--crf", "0 to 51"]),
        (
            &["synth", "out", "--dataset", "--test", "0"],
            &["--test", "1 to 1000"],
        ),
        (
            &["train", "d", "-o", "r", "--epochs", "0"],
            &["--epochs", "1 to 100000"],
        ),
        (
            &["train", "d", "-o", "r", "--max-steps", "0"],
            &["--max-steps", "1 to 1000000000"],
        ),
        (
            &["score", "c", "v", "-o", "o", "--patch", "99999"],
            &["--patch", "0 to 4096"],
        ),
        (
            &["calibrate", "c", "d", "--step", "0"],
            &["--step", "above 0 and at most 0.5"],
        ),
        (
            &["calibrate", "c", "d", "--max-frames", "3"],
            &["--max-frames", "11 to 100000"],
        ),
    ];
    for (args, want) in cases {
        let (code, text) = run(args);
        // A usage error: clap names the flag and the value, ours the range.
        assert_eq!(code, 2, "{args:?}: {text}");
        for w in *want {
            assert!(text.contains(w), "{args:?}: no {w:?} in\n{text}");
        }
    }
    // The ranges are in --help.
    let (code, help) = run(&["bench", "flow", "--help"]);
    assert_eq!(code, 0, "{help}");
    assert!(
        help.contains("1 to 1000000") && help.contains("8 to 8192"),
        "{help}"
    );
    let (_, help) = run(&["eval", "--help"]);
    assert!(
        help.contains("at most 1000") && help.contains("1 to 1001"),
        "{help}"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

#[test]
fn a_four_billion_frame_interval_fails_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "huge.m",
        b"TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [1:4000000000];\n",
    );
    let want = ["huge.m", "line 2", "4000000000", "1 to 10000000"];
    fails_with(&["truth", "show", &m], &want);
    fails_with(&["truth", "convert", &m, &format!("{m}.npy")], &want);
    fails_with(&["eval", &m, "--truth", &m], &want);
    // The same bound on the other interval formats.
    let csv = write(
        dir.path(),
        "huge.csv",
        b"video,start,end,num_frames\n01,0,4000000000,4000000000\n",
    );
    fails_with(
        &["truth", "show", &csv],
        &["huge.csv", "line 2", "0 to 10000000"],
    );
    let json = write(
        dir.path(),
        "huge.json",
        br#"{"format": "vadscope-truth", "version": 1,
            "videos": [{"name": "01", "anomalous": [{"start": 0, "end": 4000000000}]}]}"#,
    );
    fails_with(
        &["truth", "show", &json],
        &["huge.json", "\"01\"", "10000000"],
    );
}

/// `--params` files (`vadscope flow`, `bench flow`, `bench flow-epe`) are
/// checked before any frame is read, and errors name the file; a good file
/// is what `vadscope flow` estimates with.
#[test]
fn flow_parameter_files_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = serde_json::to_value(vadscope::flow::Params::default()).unwrap();
    p["search_propagation"] = "before".into();
    p["search_propagation_margin"] = 0.7.into();
    let good = write(dir.path(), "good.json", p.to_string().as_bytes());
    // Two frames of a texture, the second moved 2 px right.
    let frame = |shift: f32| {
        let mut f = vadscope::Frame::<u8>::new(64, 48, 1);
        for (i, v) in f.data.iter_mut().enumerate() {
            let (x, y) = ((i % 64) as f32 - shift, (i / 64) as f32);
            *v = (128.0 + 60.0 * (0.4 * x).sin() * (0.3 * y + 0.2 * x).cos()) as u8;
        }
        f.to_png().unwrap()
    };
    let a = write(dir.path(), "a.png", &frame(0.0));
    let b = write(dir.path(), "b.png", &frame(2.0));
    let out = dir.path().join("ab.flo").display().to_string();
    let (code, text) = run(&["flow", &a, &b, "-o", &out, "--params", &good]);
    assert_eq!(code, 0, "{text}");
    let flow = vadscope::flow::read_flo(&out).unwrap();
    let mean_u = flow.data.iter().step_by(2).sum::<f32>() / (64 * 48) as f32;
    assert!((mean_u - 2.0).abs() < 0.3, "mean u {mean_u}");

    p["search_propagation_margin"] = 2.0.into();
    let bad = write(dir.path(), "margin.json", p.to_string().as_bytes());
    let want = ["margin.json", "search_propagation_margin 2", "at most 1"];
    fails_with(&["flow", &a, &b, "-o", &out, "--params", &bad], &want);
    fails_with(
        &["flow", "no-a", "no-b", "-o", &out, "--params", &bad],
        &want,
    );
    fails_with(&["bench", "flow", "no-video", "--params", &bad], &want);
    fails_with(&["bench", "flow-epe", "no-dir", "--params", &bad], &want);
    p["search_propagation_margin"] = 0.7.into();
    p["search_propagation"] = "sideways".into();
    let bad = write(dir.path(), "kind.json", p.to_string().as_bytes());
    let want = ["kind.json", "not flow parameters"];
    fails_with(&["bench", "flow", "no-video", "--params", &bad], &want);
    let missing = dir.path().join("missing.json").display().to_string();
    fails_with(
        &["bench", "flow", "no-video", "--params", &missing],
        &["missing.json", "cannot read"],
    );
}

#[test]
fn a_checkpoint_config_out_of_range_fails_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = vadscope::model::ModelConfig::profile("demo").unwrap();
    cfg.input.height = 100_000;
    // A minimal safetensors file: header length, JSON header with the
    // metadata, one 4-byte tensor.
    let header = serde_json::json!({
        "__metadata__": { "config": cfg.to_json() },
        "w": { "dtype": "F32", "shape": [1], "data_offsets": [0, 4] },
    })
    .to_string();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 4]);
    let ckpt = write(dir.path(), "huge.safetensors", &bytes);
    let out = dir.path().join("out").display().to_string();
    let want = ["huge.safetensors", "input.height 100000", "8 to 4096"];
    fails_with(&["score", &ckpt, "no-video", "-o", &out], &want);
    fails_with(&["bench", "pipeline", &ckpt, "no-video"], &want);
    // The same field in a config file given to train.
    let config = write(dir.path(), "config.json", cfg.to_json().as_bytes());
    fails_with(
        &["train", "no-dataset", "--config", &config, "-o", &out],
        &["config.json", "input.height 100000", "8 to 4096"],
    );
}

#[test]
fn npy_and_flo_headers_larger_than_their_files_fail_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // A .npy claiming 2^40 float64 labels in a file of 16 data bytes.
    let mut header =
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }".to_owned();
    header.push_str(&" ".repeat(63 - (10 + header.len()) % 64));
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend_from_slice(&[0; 16]);
    let labels = write(dir.path(), "labels.npy", &npy);
    fails_with(
        &["truth", "show", &labels],
        &["labels.npy", "the file has 16"],
    );
    // The same header as scores for eval (consolidated, split by the truth's counts).
    let scores = write(dir.path(), "scores.npy", &npy);
    let truth = write(
        dir.path(),
        "t.csv",
        b"video,start,end,num_frames\n01,,,10\n",
    );
    fails_with(
        &["eval", &scores, "--truth", &truth],
        &["scores.npy", "the file has 16"],
    );
    // A .flo header of 65536x65536 on a 12-byte file, through flow-epe.
    let epe = dir.path().join("epe");
    std::fs::create_dir(&epe).unwrap();
    let img = image::GrayImage::new(16, 16);
    img.save(epe.join("000_prev.png")).unwrap();
    img.save(epe.join("000_next.png")).unwrap();
    img.save(epe.join("000_mask.png")).unwrap();
    let mut flo = b"PIEH".to_vec();
    flo.extend_from_slice(&65536i32.to_le_bytes());
    flo.extend_from_slice(&65536i32.to_le_bytes());
    std::fs::write(epe.join("000_flow.flo"), flo).unwrap();
    fails_with(
        &["bench", "flow-epe", epe.to_str().unwrap()],
        &["000_flow.flo", "this one has 12"],
    );
}
