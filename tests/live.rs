//! Live scoring end to end on this machine only: a synthetic video is served
//! by the ffmpeg CLI in real time (`-re`) to a 127.0.0.1 UDP port that
//! `vadscope watch` listens on. The live scores must be the offline scores
//! of the same frames (the causal protocol: training-statistics z-scores, no
//! per-video min-max), the events those of the offline curve, and a sender
//! killed mid-stream must give a reconnect and a clean stop.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FRAMES: usize = 100;
const FPS: usize = 25;

fn vadscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vadscope"))
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/demo")
}

/// A synthetic scene with an anomaly, as H.264 (copied into MPEG-TS by the
/// sender, so the frames decoded live are those decoded from the file).
fn clip(dir: &Path) -> PathBuf {
    let video = dir.join("clip.mp4");
    let o = vadscope()
        .args(["synth", "--video", "--seed", "5", "--anomalies", "runner"])
        .args(["--frames", &FRAMES.to_string(), "--fps", &FPS.to_string()])
        .arg(&video)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    video
}

/// `ffmpeg -re` sending `video` to `url` (packaging/setup.sh installs the
/// CLI): copied, or re-encoded with a keyframe every `gop` frames, as a
/// camera sends (a receiver that joins late starts at the next keyframe).
fn send(video: &Path, url: &str, gop: Option<usize>) -> Child {
    let codec: Vec<String> = match gop {
        None => vec!["-c".into(), "copy".into()],
        Some(g) => [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            &g.to_string(),
        ]
        .map(String::from)
        .to_vec(),
    };
    Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-re", "-i"])
        .arg(video)
        .args(codec)
        .args(["-f", "mpegts", url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the ffmpeg CLI (packaging/setup.sh installs it)")
}

/// `vadscope watch URL --model DEMO --frames EXTRA...` (see [`watch`]).
fn watch_demo(url: &str, extra: &[&str]) -> (Child, std::sync::mpsc::Receiver<String>) {
    let model = demo();
    let mut args = vec![url, "--model", model.to_str().unwrap(), "--frames"];
    args.extend_from_slice(extra);
    watch(&args)
}

/// Starts `vadscope watch` and waits until it is about to listen.
fn watch(args: &[&str]) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = vadscope()
        .arg("watch")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The first status line comes after the model is loaded, just before
    // the source is opened; the socket is bound right after it.
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("watch started");
    assert!(
        first.contains("events at") || first.contains("note:"),
        "{first}"
    );
    std::thread::sleep(Duration::from_millis(700));
    (child, rx)
}

fn lines_of(child: &mut Child) -> Vec<serde_json::Value> {
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// An event as (start, peak, end).
type Span = (u64, u64, u64);

/// The offline scores `(frame, score)` of `video` and its events at `threshold`.
fn offline(dir: &Path, video: &Path, threshold: f64) -> (Vec<(usize, f64)>, Vec<Span>) {
    let scores = dir.join("offline");
    let events = dir.join("events.json");
    let o = vadscope()
        .arg("score")
        .arg(demo())
        .arg(video)
        .arg("-o")
        .arg(&scores)
        .arg("--events")
        .arg(&events)
        .args(["--event-threshold", &threshold.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(scores.join("clip.csv")).unwrap();
    let rows = csv
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            let frame = f.next().unwrap().parse().unwrap();
            (frame, f.next().unwrap().parse().unwrap())
        })
        .collect();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(events).unwrap()).unwrap();
    let evs = doc["videos"][0]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let g = |k: &str| e[k].as_u64().unwrap();
            (g("start"), g("peak"), g("end"))
        })
        .collect();
    (rows, evs)
}

#[test]
fn a_udp_stream_is_scored_live_as_offline_with_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let video = clip(dir.path());
    let threshold = 2.0;
    let (rows, offline_events) = offline(dir.path(), &video, threshold);
    assert!(rows.len() >= FRAMES - 4, "{}", rows.len());
    let url = format!("udp://127.0.0.1:{}", common::free_udp_port());
    let (mut child, status) = watch_demo(
        &url,
        &[
            "--event-threshold",
            &threshold.to_string(),
            "--retries",
            "0",
            "--timeout",
            "1.5",
        ],
    );
    let started = Instant::now();
    let mut sender = send(&video, &url, None);
    assert!(sender.wait().unwrap().success());
    // Real time: the sender took about the video's duration.
    assert!(started.elapsed() >= Duration::from_secs_f64(0.8 * FRAMES as f64 / FPS as f64));
    let lines = lines_of(&mut child);
    let ok = child.wait().unwrap();
    let err: Vec<String> = status.try_iter().collect();
    let err = err.join("\n");
    // With --retries 0 the end of the stream is a failure, said clearly.
    assert!(
        !ok.success() && err.contains("gave up") && err.contains(&url),
        "{err}"
    );
    assert!(err.contains(&format!("{FRAMES} frames received")), "{err}");
    let frames: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("frame").is_some()).collect();
    // Every scored frame has the offline score of the same frame.
    let by_frame: std::collections::HashMap<usize, f64> = rows.iter().copied().collect();
    for f in &frames {
        let i = f["frame"].as_u64().unwrap() as usize;
        let live = f["score"].as_f64().unwrap();
        let off = by_frame[&i];
        assert!(
            (live - off).abs() <= 1e-6 * off.abs().max(1.0),
            "frame {i}: {live} vs {off}"
        );
        for k in ["recon", "pred", "dist", "latency_ms", "smoothed"] {
            assert!(f[k].as_f64().is_some(), "{k} in {f}");
        }
    }
    // At this stream's rate the model keeps up: (nearly) every frame is scored.
    assert!(
        frames.len() >= rows.len() * 9 / 10,
        "{} of {}",
        frames.len(),
        rows.len()
    );
    let ended: Vec<Span> = lines
        .iter()
        .filter(|l| l["event"] == "end")
        .map(|e| {
            let g = |k: &str| e[k].as_u64().unwrap();
            (g("start"), g("peak"), g("end"))
        })
        .collect();
    let started_events = lines.iter().filter(|l| l["event"] == "new").count();
    assert_eq!(started_events, ended.len());
    assert!(
        !offline_events.is_empty(),
        "the anomaly raises an event offline"
    );
    if frames.len() == rows.len() {
        assert_eq!(ended, offline_events);
    } else {
        // A few frames dropped on a busy machine: the events still overlap.
        for (s, _, e) in &ended {
            assert!(offline_events.iter().any(|(os, _, oe)| s < oe && os < e));
        }
    }
}

#[test]
fn a_killed_sender_gives_a_reconnect_and_ctrl_c_a_clean_stop_with_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let video = clip(dir.path());
    let record = dir.path().join("rec");
    let url = format!("udp://127.0.0.1:{}", common::free_udp_port());
    let (mut child, status) = watch_demo(
        &url,
        &[
            "--retries",
            "forever",
            "--timeout",
            "1",
            "--record",
            record.to_str().unwrap(),
        ],
    );
    // The first sender dies mid-stream...
    let mut first = send(&video, &url, Some(10));
    std::thread::sleep(Duration::from_millis(1500));
    first.kill().unwrap();
    first.wait().unwrap();
    // ...the watch notices within its timeout and keeps trying; a new sender comes.
    let dropped = wait_for(&status, "stream dropped", Duration::from_secs(10));
    assert!(dropped.contains("reconnecting in"), "{dropped}");
    let mut second = send(&video, &url, Some(10));
    assert!(second.wait().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    // Ctrl-C: a clean stop, the summary, complete lines, a finished recording.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let lines = lines_of(&mut child);
    let ok = child.wait().unwrap();
    let err: Vec<String> = status.try_iter().collect();
    let err = err.join("\n");
    assert!(ok.success(), "{err}");
    assert!(err.contains("1 reconnect,"), "{err}");
    let frames: Vec<usize> = lines
        .iter()
        .map(|l| l["frame"].as_u64().unwrap() as usize)
        .collect();
    assert!(frames.windows(2).all(|w| w[0] < w[1]), "{frames:?}");
    // Frames of both connections were scored; numbering goes on across them.
    let last = *frames.last().unwrap();
    assert!(last >= FRAMES, "{last}");
    let received: usize = err
        .split(" frames received")
        .next()
        .and_then(|s| s.rsplit(['\n', ' ']).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    let rec = vadscope::video::open(record.join("stream.mkv")).unwrap();
    assert_eq!(rec.len(), received, "every frame received is recorded");
    let csv = std::fs::read_to_string(record.join("stream.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(
        rows.len(),
        received - 2,
        "one row per frame received from t = 2 on"
    );
    assert!(last < received);
    assert!(
        rows.iter().any(|r| r.contains("NaN")),
        "the reconnect's history gap is NaN"
    );
    assert!(record.join("run.json").is_file());
}

fn wait_for(rx: &std::sync::mpsc::Receiver<String>, what: &str, within: Duration) -> String {
    let until = Instant::now() + within;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(what) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no {what:?} within {within:?}");
}

#[test]
fn a_model_slower_than_its_source_keeps_the_newest_frame_and_counts_the_drops() {
    let dir = tempfile::tempdir().unwrap();
    let video = clip(dir.path());
    let (rows, _) = offline(dir.path(), &video, 2.0);
    // --fast: the file decodes far faster than the model scores.
    let o = vadscope()
        .arg("watch")
        .arg(&video)
        .args(["--model", demo().to_str().unwrap(), "--frames", "--fast"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("the source ended"), "{err}");
    let frames: Vec<(usize, f64)> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["frame"].as_u64().unwrap() as usize,
                v["score"].as_f64().unwrap(),
            )
        })
        .collect();
    let dropped: usize = err
        .split(" dropped")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(dropped > 0, "{err}");
    // Every frame with history is either scored or counted as dropped, and
    // the newest (last) frame is always scored.
    assert_eq!(frames.len() + dropped, rows.len(), "{err}");
    assert_eq!(frames.last().map(|f| f.0), rows.last().map(|r| r.0));
    // A scored frame's window is still its own t + 1 consecutive frames.
    let by_frame: std::collections::HashMap<usize, f64> = rows.iter().copied().collect();
    for (i, s) in &frames {
        assert!(
            (s - by_frame[i]).abs() <= 1e-6 * s.abs().max(1.0),
            "frame {i}"
        );
    }
}

#[test]
fn a_growing_file_is_followed_until_it_stops_growing() {
    let dir = tempfile::tempdir().unwrap();
    let video = clip(dir.path());
    let growing = dir.path().join("growing.ts");
    // A recorder writing the file as the frames happen.
    let mut writer = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-re", "-i"])
        .arg(&video)
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&growing)
        .spawn()
        .expect("the ffmpeg CLI (packaging/setup.sh installs it)");
    let t0 = Instant::now();
    while std::fs::metadata(&growing).map_or(0, |m| m.len()) == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "ffmpeg wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = vadscope()
        .arg("watch")
        .arg(&growing)
        .args([
            "--model",
            demo().to_str().unwrap(),
            "--follow",
            "--timeout",
            "3",
        ])
        .output()
        .unwrap();
    assert!(writer.wait().unwrap().success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // Every frame written, though most were not there yet when watching began.
    assert!(err.contains(&format!("{FRAMES} frames received")), "{err}");
    assert!(err.contains("the source ended"), "{err}");
}

#[test]
fn jsonl_goes_to_its_file_and_an_earlier_file_is_kept_as_bak() {
    let dir = tempfile::tempdir().unwrap();
    let video = clip(dir.path());
    let jsonl = dir.path().join("events.jsonl");
    std::fs::write(&jsonl, "earlier\n").unwrap();
    let o = vadscope()
        .arg("watch")
        .arg(&video)
        .args([
            "--model",
            demo().to_str().unwrap(),
            "--frames",
            "--fast",
            "--jsonl",
        ])
        .arg(&jsonl)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty(), "the lines go to the file, not stdout");
    let bak = dir.path().join("events.jsonl.bak");
    assert_eq!(std::fs::read_to_string(bak).unwrap(), "earlier\n");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    assert!(!text.is_empty());
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["frame"].as_u64().is_some(), "{l}");
    }
}
