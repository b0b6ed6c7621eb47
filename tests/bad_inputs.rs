//! The bad-input sweep: broken videos, frame folders, ground truth of every
//! format, score files, checkpoints and out-of-range flags, each run through
//! every subcommand that reads it. Each run must exit cleanly (status 1 or 2)
//! within a time limit, name the input (file, flag or field) in its message,
//! never panic, and leave the file system as it found it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vadscope::synth::{write_dataset, DatasetConfig, SceneConfig};

/// The longest a failing command may take (the slowest reads a whole video).
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `vadscope args…` in `cwd` with a time limit; returns (status code, output).
fn run(cwd: &Path, args: &[String]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vadscope"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            panic!(
                "timed out after {LIMIT:?}: vadscope {}\n{err}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// Every path under `root`, relative to it.
fn listing(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            out.insert(p.strip_prefix(root).unwrap().to_path_buf());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Deterministic junk bytes.
fn junk(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

fn truncated(src: &Path, dst: &Path, keep: f64) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..(bytes.len() as f64 * keep) as usize]).unwrap();
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
    }
}

fn png(path: &Path, w: u32, h: u32) {
    image::GrayImage::from_pixel(w, h, image::Luma([90]))
        .save(path)
        .unwrap();
}

/// The good inputs the bad ones are made from: a dataset, a video, a trained
/// run and its scores (with maps).
struct Good {
    ds: PathBuf,
    video: PathBuf,
    run: PathBuf,
    scores: PathBuf,
}

fn good(root: &Path) -> Good {
    let ds = root.join("ds");
    let cfg = DatasetConfig {
        scene: SceneConfig {
            width: 32,
            height: 32,
            frames: 12,
            ..Default::default()
        },
        train: 1,
        test: 1,
        seed: 4,
        anomalies_per_video: 1,
    };
    write_dataset(&ds, &cfg, &|| {}).unwrap();
    let s = |v: &str| v.to_string();
    let p = |v: &Path| v.display().to_string();
    let video = root.join("v.mp4");
    let (code, text) = run(
        root,
        &[
            s("synth"),
            p(&video),
            s("--video"),
            s("--frames"),
            s("10"),
            s("--size"),
            s("64x48"),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    let run_dir = root.join("run");
    let (code, text) = run(
        root,
        &[
            s("train"),
            p(&ds),
            s("--profile"),
            s("demo"),
            s("--max-steps"),
            s("1"),
            s("-o"),
            p(&run_dir),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    let scores = root.join("scores");
    let (code, text) = run(
        root,
        &[
            s("score"),
            p(&run_dir),
            p(&ds),
            s("-o"),
            p(&scores),
            s("--maps"),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    // The good inputs evaluate, regions and all (a synth dataset's regions
    // are in video pixels; the frame size comes from its masks).
    let (code, text) = run(root, &[s("eval"), p(&scores), s("--truth"), p(&ds)]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("pixel AUC") && text.contains("RBDC"),
        "{text}"
    );
    Good {
        ds,
        video,
        run: run_dir,
        scores,
    }
}

/// One case: the arguments, and what the message must name.
struct Case {
    args: Vec<String>,
    names: String,
}

#[test]
fn every_bad_input_fails_cleanly_names_itself_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let g = good(root);
    let bad = root.join("bad");
    std::fs::create_dir(&bad).unwrap();
    let b = |name: &str| bad.join(name);

    // Videos and frame folders.
    truncated(&g.video, &b("truncated.mp4"), 0.4);
    std::fs::write(b("random.mp4"), junk(4096, 1)).unwrap();
    std::fs::write(b("empty.mp4"), b"").unwrap();
    let test_frames = g.ds.join("testing/frames/01");
    copy_dir(&test_frames, &b("broken_frame"));
    std::fs::write(b("broken_frame").join("005.png"), junk(300, 2)).unwrap();
    copy_dir(&test_frames, &b("odd_size"));
    png(&b("odd_size").join("006.png"), 40, 32);
    let videos = [
        "truncated.mp4",
        "random.mp4",
        "empty.mp4",
        "broken_frame",
        "odd_size",
    ];

    // Ground truth of every format.
    std::fs::write(
        b("huge.m"),
        "TestVideoFile{end+1}.gt_frame = [1:4000000000];\n",
    )
    .unwrap();
    std::fs::write(b("garbage.m"), "TestVideoFile{end+1}.gt_frame = [1:;\n").unwrap();
    std::fs::write(b("random.mat"), junk(700, 3)).unwrap();
    std::fs::write(b("truncated.npy"), b"\x93NUMPY\x01\x00\x76\x00{'descr'").unwrap();
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    let pad = 64 - (10 + header.len() + 1) % 64;
    let header = format!("{header}{}\n", " ".repeat(pad));
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    for v in [0.0f32, 0.5, 1.0] {
        npy.extend(v.to_le_bytes());
    }
    std::fs::write(b("nonbinary.npy"), &npy).unwrap();
    std::fs::write(b("broken.json"), "{\"format\": \"vadscope-truth\", \"vers").unwrap();
    std::fs::write(b("wrong.json"), "{\"format\": 7}").unwrap();
    std::fs::write(b("broken_truth.csv"), "video,start,end\n01,x,9\n").unwrap();
    for (i, name) in ["000.png", "001.png", "003.png"].iter().enumerate() {
        std::fs::create_dir_all(b("gap_masks/01")).unwrap();
        png(&b("gap_masks/01").join(name), 32, 32);
        let _ = i;
    }
    std::fs::create_dir_all(b("corrupt_masks/01")).unwrap();
    std::fs::write(b("corrupt_masks/01/000.png"), junk(100, 4)).unwrap();
    let truths = [
        "huge.m",
        "garbage.m",
        "random.mat",
        "truncated.npy",
        "nonbinary.npy",
        "broken.json",
        "wrong.json",
        "broken_truth.csv",
        "gap_masks",
        "corrupt_masks",
    ];

    // Score folders.
    std::fs::create_dir(b("text_scores")).unwrap();
    std::fs::write(b("text_scores/01.csv"), "frame,score\n4,0.1\n5,abc\n").unwrap();
    std::fs::create_dir(b("npy_scores")).unwrap();
    std::fs::write(b("npy_scores/01.npy"), junk(200, 5)).unwrap();
    copy_dir(&g.scores, &b("short_maps"));
    let maps = b("short_maps/01.maps.npy");
    truncated(&g.scores.join("01.maps.npy"), &maps, 0.5);
    let score_sets = ["text_scores", "npy_scores", "short_maps"];

    // Checkpoints.
    std::fs::write(b("random.safetensors"), junk(5000, 6)).unwrap();
    truncated(
        &g.run.join("checkpoint.safetensors"),
        &b("truncated.safetensors"),
        0.5,
    );
    let checkpoints = ["random.safetensors", "truncated.safetensors"];

    let s = |v: &str| v.to_string();
    let p = |v: &Path| v.display().to_string();
    let out = root.join("out");
    let mut cases = Vec::new();
    let mut case = |args: Vec<String>, names: &str| {
        cases.push(Case {
            args,
            names: names.to_string(),
        })
    };
    for v in videos {
        let x = p(&b(v));
        case(vec![s("info"), x.clone()], v);
        case(
            vec![s("bench"), s("decode"), x.clone(), s("--size"), s("32x32")],
            v,
        );
        case(
            vec![s("bench"), s("seek"), x.clone(), s("--reads"), s("5")],
            v,
        );
        case(vec![s("score"), p(&g.run), x.clone(), s("-o"), p(&out)], v);
        case(
            vec![
                s("train"),
                x.clone(),
                s("--profile"),
                s("demo"),
                s("--max-steps"),
                s("1"),
                s("-o"),
                p(&out),
            ],
            v,
        );
    }
    for t in truths {
        let x = p(&b(t));
        let frames = p(&g.ds.join("testing/frames"));
        case(
            vec![
                s("truth"),
                s("show"),
                x.clone(),
                s("--frames"),
                frames.clone(),
            ],
            t,
        );
        case(
            vec![
                s("truth"),
                s("convert"),
                x.clone(),
                p(&root.join("out.json")),
                s("--frames"),
                frames.clone(),
            ],
            t,
        );
        case(
            vec![
                s("eval"),
                p(&g.scores),
                s("--truth"),
                x.clone(),
                s("--frames"),
                frames,
            ],
            t,
        );
    }
    for sc in score_sets {
        case(vec![s("eval"), p(&b(sc)), s("--truth"), p(&g.ds)], sc);
    }
    for c in checkpoints {
        let x = p(&b(c));
        case(vec![s("score"), x.clone(), p(&g.ds), s("-o"), p(&out)], c);
        case(
            vec![
                s("train"),
                p(&g.ds),
                s("--resume"),
                x.clone(),
                s("-o"),
                p(&out),
            ],
            c,
        );
    }
    // Flags out of range, on a good input (tests/ranges.rs covers every flag).
    let good_video = p(&test_frames);
    case(
        vec![
            s("bench"),
            s("flow"),
            good_video.clone(),
            s("--pairs"),
            s("0"),
        ],
        "--pairs",
    );
    case(
        vec![s("bench"), s("seek"), good_video, s("--reads"), s("0")],
        "--reads",
    );
    case(
        vec![
            s("eval"),
            p(&g.scores),
            s("--truth"),
            p(&g.ds),
            s("--smooth"),
            s("gaussian:1e9"),
        ],
        "smooth",
    );
    // Config files: another version, a misspelt field.
    let cfg_text = std::fs::read_to_string(g.run.join("config.json")).unwrap();
    std::fs::write(b("v2.json"), r#"{"version": 2}"#).unwrap();
    std::fs::write(
        b("typo.json"),
        cfg_text.replacen("\"temperature\"", "\"temprature\"", 1),
    )
    .unwrap();
    for (file, names) in [("v2.json", "version 2"), ("typo.json", "memory.temprature")] {
        case(
            vec![
                s("train"),
                p(&g.ds),
                s("--config"),
                p(&b(file)),
                s("-o"),
                p(&out),
            ],
            names,
        );
    }
    // A run's optimizer state, or a folder without a checkpoint, given as the model.
    case(
        vec![
            s("score"),
            p(&g.run.join("optimizer.safetensors")),
            p(&g.ds),
            s("-o"),
            p(&out),
        ],
        "optimizer state",
    );
    case(
        vec![s("score"), p(&bad), p(&g.ds), s("-o"), p(&out)],
        "not a run folder",
    );
    // An output where a folder of something else is.
    case(
        vec![
            s("train"),
            p(&g.ds),
            s("--profile"),
            s("demo"),
            s("-o"),
            p(&bad),
        ],
        "bad",
    );
    case(
        vec![s("score"), p(&g.run), p(&g.ds), s("-o"), p(&bad)],
        "bad",
    );
    case(
        vec![
            s("flow"),
            p(&test_frames.join("000.png")),
            p(&test_frames.join("001.png")),
            s("-o"),
            p(&root.join("f.flo")),
            s("--png"),
            p(&root.join("missing/dir/f.png")),
        ],
        "missing",
    );

    let mut failures = Vec::new();
    let total = cases.len();
    for c in cases {
        let before = listing(root);
        let (code, text) = run(root, &c.args);
        let after = listing(root);
        let cmd = format!("vadscope {}", c.args.join(" "));
        if !matches!(code, Some(1) | Some(2)) {
            failures.push(format!("{cmd}: exit status {code:?}\n{text}"));
        } else if text.contains("panicked") {
            failures.push(format!("{cmd}: panicked\n{text}"));
        } else if !text.contains(&c.names) {
            failures.push(format!(
                "{cmd}: the message does not name {:?}\n{text}",
                c.names
            ));
        } else if before != after {
            let added: Vec<_> = after.difference(&before).collect();
            let removed: Vec<_> = before.difference(&after).collect();
            failures.push(format!(
                "{cmd}: left the file system changed: added {added:?}, removed {removed:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
