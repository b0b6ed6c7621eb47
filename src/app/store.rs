//! The data the views read (Rerun's store, next to [`super::state::AppState`]'s
//! playback and view state): score curves, memory-slot usage and the ground
//! truth being edited. Views get `&Store`; it changes only in
//! [`super::VadApp`]'s one place per frame.

use std::path::PathBuf;
use std::time::SystemTime;

use super::curves::Curves;
use super::live_metrics::LiveMetrics;
use super::usage::SlotUsage;
use crate::truth::agreement::{agreement, Agreement};
use crate::truth::history::{Annotation, AnnotationCommand};
use crate::truth::tracks::{self, Track};
use crate::truth::{self, Format, GroundTruth, Interval, VideoTruth};
use crate::Result;

/// Loaded and computed data of the open video.
#[derive(Debug, Clone)]
pub struct Store {
    /// Score curves (filled in as frames are scored).
    pub curves: Curves,
    /// Memory-slot usage per scored frame (the slot browser).
    pub usage: SlotUsage,
    /// The ground truth, as edited.
    pub truth: TruthDoc,
    /// Frame AUC, EER, AP and Δs of the scores against the edited truth.
    pub metrics: LiveMetrics,
    /// A second annotator's truth of the video, compared with the edited one.
    pub second: Option<SecondTruth>,
}

/// A second annotator's intervals (read only) and their agreement with the
/// truth being edited.
#[derive(Debug, Clone)]
pub struct SecondTruth {
    /// The file they came from.
    pub path: PathBuf,
    /// Their intervals.
    pub intervals: Vec<Interval>,
    /// Agreement of the edited truth (A) with these (B).
    pub agreement: Agreement,
    /// The version of the edited truth the agreement was computed for.
    compared: Option<u64>,
}

impl SecondTruth {
    /// The second annotator's `intervals` from `path`; compared on the next refresh.
    pub fn new(path: PathBuf, intervals: Vec<Interval>) -> Self {
        SecondTruth {
            path,
            intervals,
            agreement: agreement(&[], &[], 0),
            compared: None,
        }
    }

    fn refresh(&mut self, version: u64, edited: &[Interval], frames: usize) {
        if self.compared != Some(version) {
            self.agreement = agreement(edited, &self.intervals, frames);
            self.compared = Some(version);
        }
    }
}

impl Store {
    /// An empty store for a video of `frames` frames named `name`.
    pub fn new(name: &str, frames: usize) -> Self {
        Store {
            curves: Curves::new(frames),
            usage: SlotUsage::new(frames),
            truth: TruthDoc::new(
                VideoTruth::new(name, Some(frames), Vec::new()),
                frames,
                None,
            ),
            metrics: LiveMetrics::default(),
            second: None,
        }
    }

    /// Brings derived data (the live metrics) up to date; the app calls it
    /// once per UI frame after applying commands and background results.
    pub fn refresh(&mut self) {
        let edit = &self.truth.edit;
        self.metrics
            .refresh(&self.curves, edit.version(), edit.intervals());
        if let Some(s) = &mut self.second {
            s.refresh(edit.version(), edit.intervals(), edit.len());
        }
    }

    /// The ground-truth intervals (shorthand for the views).
    pub fn intervals(&self) -> &[Interval] {
        self.truth.edit.intervals()
    }
}

/// Where the ground truth came from, and so where Ctrl+S writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthSource {
    /// The file or folder.
    pub path: PathBuf,
    /// Its format (written back in the same one).
    pub format: Format,
    /// The videos the file holds, in order, with frame counts: a `.m` or
    /// consolidated `.npy` holds every test video, and a save rewrites them all.
    pub videos: Vec<(String, usize)>,
    /// Modification time and size when read: a file changed since then by
    /// someone else is not overwritten silently.
    pub stamp: Option<(SystemTime, u64)>,
}

impl TruthSource {
    /// The source at `path`, its stamp taken now.
    pub fn new(path: PathBuf, format: Format, videos: Vec<(String, usize)>) -> Self {
        let stamp = stamp_of(&path);
        TruthSource {
            path,
            format,
            videos,
            stamp,
        }
    }

    /// Whether the file changed on disk since it was read or last saved.
    pub fn changed_on_disk(&self) -> bool {
        stamp_of(&self.path) != self.stamp
    }
}

/// A file's modification time and size (a folder's: its own entry's).
pub fn stamp_of(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// One video's ground truth while it is edited: the intervals and the box
/// tracks with their history, and everything else the file holds for the
/// video (masks, notes), which the annotation does not change.
#[derive(Debug, Clone)]
pub struct TruthDoc {
    /// The intervals and box tracks and their undo history: the one copy of them.
    pub edit: Annotation,
    /// The rest of the video's truth; its `anomalous` and `regions` are kept
    /// empty (they live in [`TruthDoc::edit`]).
    pub rest: VideoTruth,
    /// Where Ctrl+S saves; `None` for truth that came from no file (the demo).
    pub source: Option<TruthSource>,
    /// Whether any truth was loaded or made (the timeline's lane shows when so).
    pub present: bool,
}

impl TruthDoc {
    /// Editing `truth` of a video of `frames` frames.
    pub fn new(mut truth: VideoTruth, frames: usize, source: Option<TruthSource>) -> Self {
        let intervals = std::mem::take(&mut truth.anomalous);
        let tracks = tracks::tracks_from_regions(&std::mem::take(&mut truth.regions));
        TruthDoc {
            present: !intervals.is_empty() || !tracks.is_empty() || source.is_some(),
            edit: Annotation::with_tracks(&intervals, tracks, frames),
            rest: truth,
            source,
        }
    }

    /// Applies an edit (see [`Annotation::apply`]).
    pub fn apply(&mut self, cmd: AnnotationCommand, group: Option<u64>) -> bool {
        self.present = true;
        self.edit.apply(cmd, group)
    }

    /// The video's truth as it is now, intervals and boxes included.
    pub fn video(&self) -> VideoTruth {
        VideoTruth {
            anomalous: self.edit.intervals().to_vec(),
            regions: tracks::regions_of(self.edit.tracks(), self.edit.len()),
            ..self.rest.clone()
        }
    }

    /// The box tracks (shorthand).
    pub fn tracks(&self) -> &[Track] {
        self.edit.tracks()
    }
}

/// Writes `video` into the truth file at `target`: an existing file is read,
/// this video's entry replaced (or added), and the whole written back
/// atomically with a `.bak` (by [`truth::write`]).
pub fn save_truth(video: &VideoTruth, target: &TruthSource) -> Result<()> {
    let masks = target.format == truth::Format::MaskFolder;
    // Read with the same video list as when it was opened, so what opened saves.
    let mut gt = if masks && target.path.exists() {
        // The other videos' images are copied as they are: no need to decode them.
        truth::masks::list_videos(&target.path)?
    } else if target.path.exists() {
        let opts = truth::ReadOptions {
            videos: Some(target.videos.clone()),
            skip_masks: false,
        };
        truth::read(&target.path, &opts)?
    } else {
        GroundTruth::default()
    };
    if masks && gt.videos.len() == 1 && truth::masks::holds_images(&target.path) {
        // One video's own folder of masks, whatever it is called.
        gt.videos[0].name = video.name.clone();
    }
    match gt.videos.iter_mut().find(|v| v.name == video.name) {
        Some(v) => {
            v.anomalous = video.anomalous.clone();
            v.regions = video.regions.clone();
            if masks {
                // A mask folder's labels are its masks: they carry the edits.
                v.masks = video.masks.clone();
            }
        }
        None => gt.videos.push(video.clone()),
    }
    gt.provenance = Some(provenance(target, SystemTime::now()));
    // Position-named formats (.m, .mat, consolidated .npy) follow the list's order.
    let order = |name: &str| target.videos.iter().position(|(n, _)| n == name);
    gt.videos
        .sort_by_key(|v| order(&v.name).unwrap_or(usize::MAX));
    truth::write(&gt, &target.path, target.format)
}

/// Who edited, when and from which file, for the saved file's provenance
/// (the JSON format keeps it): "edited in vadscope 0.1.0 by ana on
/// 2026-12-02T19:58:03Z; saved to /data/gt.json (json)".
pub fn provenance(target: &TruthSource, now: SystemTime) -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "an unknown user".into());
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "edited in vadscope {} by {user} on {}; saved to {} ({})",
        env!("CARGO_PKG_VERSION"),
        utc_text(secs),
        target.path.display(),
        target.format.name()
    )
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (the civil-from-days
/// conversion of the proleptic Gregorian calendar).
fn utc_text(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_matches_known_dates() {
        assert_eq!(utc_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_text(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_text(1_796_241_156), "2026-12-02T19:52:36Z");
    }
}
