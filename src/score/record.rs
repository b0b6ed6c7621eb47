//! Recording a live watch for later review: the frames received as a video,
//! the live scores as a score folder (`stream.csv`, `run.json`), and the
//! events. The folder opens in the app like any scored video:
//! `vadscope open DIR/stream.mkv --scores DIR`.
//!
//! Rows are written and flushed as frames are scored, so a crash keeps the
//! scores so far; frames that were not scored (dropped, or without history
//! after a reconnect) get NaN rows, so that row `i` is always frame `i`.
//! The video is Matroska, which players read even when it was cut short.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::events::{self, Event, EventRule};
use super::live::{LiveScore, NativeFrame};
use super::Scorer;
use crate::error::{Error, Result};
use crate::video::encode::{EncodeOptions, VideoWriter};

/// The recording's video, scores and events file names.
pub const VIDEO: &str = "stream.mkv";
/// The name of the recorded video in the score folder (`stream.csv`).
pub const NAME: &str = "stream";

/// Frames queued for the encoder: a few seconds of a camera.
const QUEUE: usize = 128;

/// A recording in progress; see the module documentation.
pub struct Recorder {
    dir: PathBuf,
    csv: BufWriter<File>,
    next_row: usize,
    tx: Option<SyncSender<NativeFrame>>,
    video: Option<JoinHandle<Result<usize>>>,
}

impl Recorder {
    /// Starts recording into `dir` (created; refused if it already holds a
    /// recording or scores). `scorer` is recorded in `run.json`.
    pub fn start(dir: &Path, scorer: &Scorer) -> Result<Recorder> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for name in [VIDEO, "stream.csv", "run.json"] {
            if dir.join(name).exists() {
                return Err(Error::invalid(format!(
                    "{}: already holds a recording ({name}); choose another folder",
                    dir.display()
                )));
            }
        }
        scorer.write_run_json(dir, &[NAME.to_string()])?;
        let path = dir.join("stream.csv");
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut csv = BufWriter::new(file);
        writeln!(csv, "frame,score,recon,pred,dist").map_err(|e| Error::io(&path, e))?;
        let (tx, rx) = sync_channel(QUEUE);
        let video_path = dir.join(VIDEO);
        let video = std::thread::Builder::new()
            .name("live-recorder".into())
            .spawn(move || encode(&video_path, rx))
            .map_err(|e| Error::invalid(format!("cannot start the recorder thread ({e})")))?;
        Ok(Recorder {
            dir: dir.to_path_buf(),
            csv,
            next_row: scorer.config().input.frames,
            tx: Some(tx),
            video: Some(video),
        })
    }

    /// The folder recorded into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where [`super::live::watch`] sends the frames received.
    pub fn frames_sender(&self) -> SyncSender<NativeFrame> {
        self.tx.clone().expect("the sender lives until finish")
    }

    /// Writes the row of a scored frame (and NaN rows for those before it
    /// that have none), and flushes.
    pub fn score(&mut self, s: &LiveScore) -> Result<()> {
        let path = self.dir.join("stream.csv");
        let io = |e| Error::io(&path, e);
        let f = &s.score;
        while self.next_row < f.frame {
            writeln!(self.csv, "{},NaN,NaN,NaN,NaN", self.next_row).map_err(io)?;
            self.next_row += 1;
        }
        if f.frame == self.next_row {
            writeln!(
                self.csv,
                "{},{},{},{},{}",
                f.frame, f.score, f.recon, f.pred, f.dist
            )
            .map_err(io)?;
            self.next_row += 1;
        }
        self.csv.flush().map_err(io)
    }

    /// Ends the recording of `received` frames: NaN rows up to the last, the
    /// video finished, and `events.json` written (when there was a rule).
    pub fn finish(
        mut self,
        received: usize,
        rule: Option<&EventRule>,
        found: &[Event],
    ) -> Result<()> {
        let path = self.dir.join("stream.csv");
        let io = |e| Error::io(&path, e);
        while self.next_row < received {
            writeln!(self.csv, "{},NaN,NaN,NaN,NaN", self.next_row).map_err(io)?;
            self.next_row += 1;
        }
        self.csv.flush().map_err(io)?;
        drop(self.tx.take());
        if let Some(h) = self.video.take() {
            h.join()
                .map_err(|_| Error::invalid("the recorder thread panicked"))??;
        }
        if let Some(rule) = rule {
            let text = events::to_json(rule, &[(NAME.to_string(), found.to_vec())]);
            crate::save::atomic_write(&self.dir.join("events.json"), text.as_bytes())?;
        }
        Ok(())
    }
}

/// The recorder thread: every frame in order; a frame the queue lost is
/// replaced by the one before, so the video's frame `i` stays frame `i`.
fn encode(path: &Path, rx: Receiver<NativeFrame>) -> Result<usize> {
    let mut writer: Option<VideoWriter> = None;
    let mut last: Option<NativeFrame> = None;
    for nf in rx {
        let w = match writer.as_mut() {
            Some(w) => w,
            None => {
                let fps = nf.fps.filter(|f| f.is_finite() && *f > 0.0).unwrap_or(25.0);
                let opts = EncodeOptions::default();
                writer.insert(VideoWriter::create(
                    path,
                    nf.frame.width,
                    nf.frame.height,
                    fps,
                    &opts,
                )?)
            }
        };
        if let Some(prev) = &last {
            if (nf.frame.width, nf.frame.height) != (prev.frame.width, prev.frame.height) {
                // A reconnect brought another size: keep the first, scaled would mislead.
                continue;
            }
            for _ in prev.index + 1..nf.index {
                w.write(&prev.frame)?;
            }
        }
        w.write(&nf.frame)?;
        last = Some(nf);
    }
    match writer {
        Some(w) => {
            let n = w.frames_written();
            w.finish()?;
            Ok(n)
        }
        None => Ok(0),
    }
}
