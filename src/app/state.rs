//! The app's state and the commands that change it.
//!
//! UI code never mutates [`AppState`]: it pushes [`Command`]s, and the app
//! applies them in one place per frame ([`AppState::apply`]), then advances
//! playback ([`AppState::tick`]). So playback, seeking, selection, threshold
//! and jump logic are plain functions, tested without a UI.

use serde::{Deserialize, Serialize};

use super::curves::{Events, Lane};
use super::store::Store;
use crate::render::Colormap;

/// Slowest and fastest playback speeds.
pub const SPEED_RANGE: (f32, f32) = (0.1, 8.0);

/// The views a panel can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum View {
    /// The frame, with an optional heat-map overlay and ground-truth boxes.
    #[default]
    Frame,
    /// Optical flow to the next frame (colour wheel, arrows).
    Flow,
    /// The model's reconstruction, prediction and per-term error maps.
    Maps,
    /// Memory attention: per-slot heat map, arg-max slots, entropy, slot usage.
    Memory,
}

impl View {
    /// All views, in tab order.
    pub const ALL: [View; 4] = [View::Frame, View::Flow, View::Maps, View::Memory];

    /// The tab's label.
    pub fn label(self) -> &'static str {
        match self {
            View::Frame => "Frame",
            View::Flow => "Flow",
            View::Maps => "Error maps",
            View::Memory => "Memory",
        }
    }
}

/// Which per-pixel map the heat-map views and the overlay show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum MapKind {
    /// |x − x̂| of the reconstruction.
    #[default]
    ReconError,
    /// |x − x̂| of the prediction.
    PredError,
    /// The reconstruction itself.
    Recon,
    /// The prediction itself.
    Pred,
}

impl MapKind {
    /// All kinds, for menus.
    pub const ALL: [MapKind; 4] = [
        MapKind::ReconError,
        MapKind::PredError,
        MapKind::Recon,
        MapKind::Pred,
    ];

    /// The label in menus.
    pub fn label(self) -> &'static str {
        match self {
            MapKind::ReconError => "reconstruction error",
            MapKind::PredError => "prediction error",
            MapKind::Recon => "reconstruction",
            MapKind::Pred => "prediction",
        }
    }

    /// Whether the map is an error (colour-mapped) rather than an image (gray).
    pub fn is_error(self) -> bool {
        matches!(self, MapKind::ReconError | MapKind::PredError)
    }
}

/// What the memory view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum MemoryMode {
    /// The attention of every position to the chosen slot.
    #[default]
    Slot,
    /// The slot each position attends to most, in categorical colours.
    ArgMax,
    /// The entropy of each position's attention (high: undecided).
    Entropy,
}

/// Settings that persist between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Colour map of heat maps.
    pub colormap: Colormap,
    /// Gamma of heat maps (t^gamma after normalising).
    pub gamma: f32,
    /// Fixed value range of error maps; `None`: each map's own 0..99th percentile.
    pub range: Option<(f32, f32)>,
    /// Opacity of the heat-map overlay on the frame (0: off).
    pub overlay_opacity: f32,
    /// The map used by the overlay and the maps view.
    pub map: MapKind,
    /// Flow length (pixels) drawn fully saturated.
    pub flow_max: f32,
    /// Draw flow arrows on a grid.
    pub flow_arrows: bool,
    /// Draw ground-truth boxes and masks on the frame.
    pub show_truth: bool,
    /// Playback speed multiplier.
    pub speed: f32,
    /// Playback loops (over the selection if any, else the whole video).
    pub looping: bool,
    /// How many top events the jump list shows.
    pub top_k: usize,
    /// Alerts: an event lasts while the score stays at or above the
    /// threshold minus this (see [`crate::score::events`]).
    pub alert_hysteresis: f32,
    /// Alerts: shortest event, in frames.
    pub alert_min_frames: usize,
    /// Alerts: frames after the score falls within which a rise continues
    /// the same event.
    pub alert_cooldown: usize,
    /// The view in the main panel.
    pub view: View,
    /// What the memory view shows.
    pub memory_mode: MemoryMode,
    /// Recently opened paths, newest first.
    pub recent: Vec<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            colormap: Colormap::Inferno,
            gamma: 1.0,
            range: None,
            overlay_opacity: 0.5,
            map: MapKind::ReconError,
            flow_max: 4.0,
            flow_arrows: true,
            show_truth: true,
            speed: 1.0,
            looping: false,
            top_k: 5,
            alert_hysteresis: 0.0,
            alert_min_frames: 1,
            alert_cooldown: 0,
            view: View::Frame,
            memory_mode: MemoryMode::Slot,
            recent: Vec::new(),
        }
    }
}

/// Most recent files kept.
pub const MAX_RECENT: usize = 10;

impl Settings {
    /// Puts `path` first in the recent list (once), dropping the oldest beyond [`MAX_RECENT`].
    pub fn push_recent(&mut self, path: std::path::PathBuf) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(MAX_RECENT);
    }
}

/// Zoom and pan of the image views, shared by all of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageView {
    /// 1 shows the whole image; 2 shows half of it in each direction.
    pub zoom: f32,
    /// The image point (in `[0, 1]` coordinates) at the centre of the view.
    pub center: [f32; 2],
}

impl Default for ImageView {
    fn default() -> Self {
        ImageView {
            zoom: 1.0,
            center: [0.5, 0.5],
        }
    }
}

impl ImageView {
    /// Largest zoom.
    pub const MAX_ZOOM: f32 = 32.0;

    /// The visible part of the image in `[0, 1]` coordinates: `(min, max)`.
    pub fn uv(&self) -> ([f32; 2], [f32; 2]) {
        let h = 0.5 / self.zoom;
        (
            [self.center[0] - h, self.center[1] - h],
            [self.center[0] + h, self.center[1] + h],
        )
    }

    /// Zooms by `factor` keeping the image point `about` where it is on screen.
    pub fn zoom_about(&mut self, factor: f32, about: [f32; 2]) {
        let new = (self.zoom * factor).clamp(1.0, Self::MAX_ZOOM);
        let k = self.zoom / new;
        for (center, about) in self.center.iter_mut().zip(about) {
            *center = about + (*center - about) * k;
        }
        self.zoom = new;
        self.clamp();
    }

    /// Pans by `delta` in image coordinates.
    pub fn pan(&mut self, delta: [f32; 2]) {
        self.center[0] += delta[0];
        self.center[1] += delta[1];
        self.clamp();
    }

    /// Keeps the visible part inside the image.
    fn clamp(&mut self) {
        let h = 0.5 / self.zoom;
        for c in &mut self.center {
            *c = c.clamp(h, 1.0 - h);
        }
    }
}

/// The visible frame range of the timeline, `start..end` (fractional frames).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeView {
    /// First visible frame.
    pub start: f64,
    /// One past the last visible frame.
    pub end: f64,
}

impl TimeView {
    /// The whole video of `frames` frames.
    pub fn all(frames: usize) -> Self {
        TimeView {
            start: 0.0,
            end: frames.max(1) as f64,
        }
    }

    /// Visible frames.
    pub fn span(&self) -> f64 {
        self.end - self.start
    }

    /// Zooms by `factor` (> 1 zooms in) about frame `about`, within `0..frames`,
    /// never narrower than 10 frames.
    pub fn zoom(&mut self, factor: f64, about: f64, frames: usize) {
        let total = frames.max(1) as f64;
        let span = (self.span() / factor).clamp(10f64.min(total), total);
        let t = ((about - self.start) / self.span()).clamp(0.0, 1.0);
        self.start = about - t * span;
        self.end = self.start + span;
        self.shift_into(total);
    }

    /// Pans by `frames_delta` within `0..frames`.
    pub fn pan(&mut self, frames_delta: f64, frames: usize) {
        self.start += frames_delta;
        self.end += frames_delta;
        self.shift_into(frames.max(1) as f64);
    }

    fn shift_into(&mut self, total: f64) {
        let span = self.span().min(total);
        if self.start < 0.0 {
            self.start = 0.0;
        }
        if self.start + span > total {
            self.start = total - span;
        }
        self.end = self.start + span;
    }
}

/// A change to the state, sent by UI code.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Play or pause.
    TogglePlay,
    /// Pause.
    Pause,
    /// Move by this many frames (and pause).
    Step(i64),
    /// Go to a frame (clamped).
    Seek(usize),
    /// First frame.
    SeekStart,
    /// Last frame.
    SeekEnd,
    /// Playback speed (clamped to [`SPEED_RANGE`]).
    SetSpeed(f32),
    /// Multiply the playback speed (clamped to [`SPEED_RANGE`]).
    ScaleSpeed(f32),
    /// J: play backwards, faster on each press.
    ShuttleBack,
    /// K: stop the shuttle.
    ShuttleStop,
    /// L: play forwards, faster on each press.
    ShuttleForward,
    /// Loop selection `start..end` (half-open), or none.
    Select(Option<(usize, usize)>),
    /// Loop on or off.
    SetLooping(bool),
    /// The score threshold for events and TP/FP counts.
    SetThreshold(f64),
    /// Next frame where the score rises above the threshold.
    NextAbove,
    /// Previous frame where the score rises above the threshold.
    PrevAbove,
    /// Show a view in the main panel.
    SetView(View),
    /// Colour map of heat maps.
    SetColormap(Colormap),
    /// Gamma of heat maps.
    SetGamma(f32),
    /// Fixed value range of heat maps, or automatic.
    SetRange(Option<(f32, f32)>),
    /// Opacity of the overlay on the frame.
    SetOverlayOpacity(f32),
    /// The map shown by the overlay and the maps view.
    SetMap(MapKind),
    /// Flow saturation radius in pixels.
    SetFlowMax(f32),
    /// Flow arrows on or off.
    SetFlowArrows(bool),
    /// Ground-truth drawing on or off.
    SetShowTruth(bool),
    /// Memory layer shown.
    SetMemoryLayer(usize),
    /// Memory slot shown.
    SetMemorySlot(usize),
    /// What the memory view shows.
    SetMemoryMode(MemoryMode),
    /// Zoom the image views by a factor about an image point.
    ZoomImage {
        /// > 1 zooms in.
        factor: f32,
        /// Image point in `[0, 1]` coordinates that stays put.
        about: [f32; 2],
    },
    /// Pan the image views by a delta in image coordinates.
    PanImage([f32; 2]),
    /// Show the whole image.
    ResetImageView,
    /// Zoom the timeline by a factor about a frame.
    ZoomTimeline {
        /// > 1 zooms in.
        factor: f64,
        /// Frame that stays put.
        about: f64,
    },
    /// Pan the timeline by frames.
    PanTimeline(f64),
    /// Show the whole timeline.
    ResetTimeline,
    /// Show or hide the shortcut help.
    ToggleHelp,
    /// Presentation mode (full screen, large timeline, little chrome) on or off.
    TogglePresentation,
    /// How many top events the jump list shows.
    SetTopK(usize),
    /// The alert rule besides the threshold: hysteresis, shortest event in
    /// frames, cooldown in frames.
    SetAlertRule(f32, usize, usize),
    /// Forget a shown error.
    DismissError(usize),
    /// A live source's newest frame: playback follows it (the timeline
    /// shows its last [`LIVE_WINDOW_SECS`]); pausing scrubs back.
    LiveEdge(usize),
}

/// How much of a live source the timeline shows while following it.
pub const LIVE_WINDOW_SECS: f64 = 60.0;

/// Playback and view state; the data views read (scores, slot usage,
/// ground truth) is in [`Store`].
#[derive(Debug, Clone)]
pub struct AppState {
    /// Number of frames of the open video.
    pub frames: usize,
    /// Its frame rate.
    pub fps: f64,
    /// The playhead.
    pub current: usize,
    /// Whether playback runs.
    pub playing: bool,
    /// Playback direction and shuttle multiplier (negative: backwards).
    pub shuttle: f32,
    /// Loop selection `start..end`.
    pub selection: Option<(usize, usize)>,
    /// Score threshold.
    pub threshold: f64,
    /// The threshold follows the scores (halfway between their min and max)
    /// until the user sets one.
    pub threshold_auto: bool,
    /// Persistent settings.
    pub settings: Settings,
    /// Zoom and pan of the image views.
    pub image_view: ImageView,
    /// Visible range of the timeline.
    pub time_view: TimeView,
    /// Memory layer and slot shown.
    pub memory: (usize, usize),
    /// Whether the shortcut help is open.
    pub show_help: bool,
    /// Presentation mode.
    pub presentation: bool,
    /// Errors to show (newest last).
    pub errors: Vec<String>,
    /// Fraction of a frame accumulated by playback.
    accum: f64,
    /// The newest frame of a live source (playback follows it).
    pub live_edge: Option<usize>,
}

impl AppState {
    /// A state for a video of `frames` frames at `fps`.
    pub fn new(frames: usize, fps: f64, settings: Settings) -> Self {
        AppState {
            frames,
            fps: if fps.is_finite() && fps > 0.0 {
                fps
            } else {
                25.0
            },
            current: 0,
            playing: false,
            shuttle: 1.0,
            selection: None,
            threshold: 0.5,
            threshold_auto: true,
            settings,
            image_view: ImageView::default(),
            time_view: TimeView::all(frames),
            memory: (0, 0),
            show_help: false,
            presentation: false,
            errors: Vec::new(),
            accum: 0.0,
            live_edge: None,
        }
    }

    fn last(&self) -> usize {
        self.frames.saturating_sub(1)
    }

    fn seek(&mut self, frame: usize) {
        self.current = frame.min(self.last());
        self.accum = 0.0;
    }

    /// Applies one command; `store` holds the scores that threshold jumps read.
    pub fn apply(&mut self, cmd: Command, store: &Store) {
        use Command::*;
        match cmd {
            TogglePlay => {
                self.playing = !self.playing;
                self.shuttle = 1.0;
                if self.playing && !self.settings.looping && self.current >= self.last() {
                    // Playing from the end starts over, as players do.
                    self.seek(self.loop_range().0);
                }
            }
            Pause => self.playing = false,
            Step(d) => {
                self.playing = false;
                let f = (self.current as i64 + d).clamp(0, self.last() as i64);
                self.seek(f as usize);
            }
            Seek(f) => self.seek(f),
            SeekStart => self.seek(0),
            SeekEnd => self.seek(self.last()),
            SetSpeed(s) => self.settings.speed = clamp_speed(s),
            ScaleSpeed(f) => self.settings.speed = clamp_speed(self.settings.speed * f),
            ShuttleForward | ShuttleBack => {
                let dir = if cmd == ShuttleForward { 1.0 } else { -1.0 };
                if self.playing && self.shuttle.signum() == dir {
                    self.shuttle = (self.shuttle * 2.0).clamp(-8.0, 8.0);
                } else {
                    self.shuttle = dir;
                    self.playing = true;
                }
            }
            ShuttleStop => {
                self.playing = false;
                self.shuttle = 1.0;
            }
            Select(sel) => {
                self.selection = sel
                    .map(|(a, b)| (a.min(b), a.max(b).min(self.frames)))
                    .filter(|(a, b)| b > a);
            }
            SetLooping(on) => self.settings.looping = on,
            SetThreshold(t) => {
                if t.is_finite() {
                    self.threshold = t;
                    self.threshold_auto = false;
                }
            }
            NextAbove => {
                if let Some(f) = self.events(store).next_start(self.current) {
                    self.seek(f);
                }
            }
            PrevAbove => {
                if let Some(f) = self.events(store).prev_start(self.current) {
                    self.seek(f);
                }
            }
            SetView(v) => self.settings.view = v,
            SetColormap(c) => self.settings.colormap = c,
            SetGamma(g) => self.settings.gamma = g.clamp(0.1, 10.0),
            SetRange(r) => self.settings.range = r.filter(|(a, b)| b > a),
            SetOverlayOpacity(o) => self.settings.overlay_opacity = o.clamp(0.0, 1.0),
            SetMap(m) => self.settings.map = m,
            SetFlowMax(m) => self.settings.flow_max = m.clamp(0.1, 100.0),
            SetFlowArrows(on) => self.settings.flow_arrows = on,
            SetShowTruth(on) => self.settings.show_truth = on,
            SetMemoryLayer(l) => self.memory = (l, self.memory.1),
            SetMemorySlot(s) => self.memory.1 = s,
            SetMemoryMode(m) => self.settings.memory_mode = m,
            ZoomImage { factor, about } => self.image_view.zoom_about(factor, about),
            PanImage(d) => self.image_view.pan(d),
            ResetImageView => self.image_view = ImageView::default(),
            ZoomTimeline { factor, about } => self.time_view.zoom(factor, about, self.frames),
            PanTimeline(d) => self.time_view.pan(d, self.frames),
            ResetTimeline => self.time_view = TimeView::all(self.frames),
            ToggleHelp => self.show_help = !self.show_help,
            TogglePresentation => self.presentation = !self.presentation,
            SetTopK(k) => self.settings.top_k = k.clamp(1, 50),
            SetAlertRule(hysteresis, min_frames, cooldown) => {
                let s = &mut self.settings;
                s.alert_hysteresis = if hysteresis.is_finite() {
                    hysteresis.max(0.0)
                } else {
                    0.0
                };
                s.alert_min_frames = min_frames.clamp(1, 100_000);
                s.alert_cooldown = cooldown.min(100_000);
            }
            LiveEdge(e) => self.live_edge = Some(e.min(self.last())),
            DismissError(i) => {
                if i < self.errors.len() {
                    self.errors.remove(i);
                }
            }
        }
    }

    /// Puts an automatic threshold halfway up the score range.
    pub fn auto_threshold(&mut self, store: &Store) {
        if self.threshold_auto {
            if let Some((lo, hi)) = store.curves.extent(Lane::Score) {
                self.threshold = (lo + 0.5 * (hi - lo)) as f64;
            }
        }
    }

    /// The frames playback runs over: the selection, or the whole video.
    pub fn loop_range(&self) -> (usize, usize) {
        self.selection.unwrap_or((0, self.frames.max(1)))
    }

    /// Advances playback by `dt` seconds; returns whether the frame changed.
    pub fn tick(&mut self, dt: f64) -> bool {
        if !self.playing || self.frames == 0 {
            return false;
        }
        if let Some(edge) = self.live_edge {
            // Live: the playhead is the newest frame, the view its last minute.
            let before = self.current;
            self.current = edge;
            let window = LIVE_WINDOW_SECS * self.fps;
            let end = edge as f64 + 1.0 + 0.05 * window;
            self.time_view = TimeView {
                start: (end - window).max(0.0),
                end: end.max(window.min(self.frames as f64)),
            };
            return self.current != before;
        }
        let rate = self.fps * self.settings.speed as f64 * self.shuttle as f64;
        self.accum += dt.max(0.0) * rate;
        let steps = self.accum.trunc();
        if steps == 0.0 {
            return false;
        }
        self.accum -= steps;
        let (a, b) = self.loop_range();
        let (a, b) = (a as i64, b as i64);
        let before = self.current;
        let mut f = self.current as i64 + steps as i64;
        if self.settings.looping {
            let len = (b - a).max(1);
            // Playback entering the loop from outside starts at its edge.
            if f < a || f >= b {
                f = a + (f - a).rem_euclid(len);
            }
        } else if f >= b || f < a {
            f = f.clamp(a, b - 1);
            self.playing = false;
        }
        self.current = f.clamp(0, self.last() as i64) as usize;
        self.current != before
    }

    /// Events of the score at the threshold, by the alert rule of the
    /// settings (the engine's detector: what `score --events` and live
    /// scoring raise).
    pub fn events(&self, store: &Store) -> Events {
        store.curves.events(self.alert_rule())
    }

    /// The alert rule: the threshold and the settings' hysteresis, minimum
    /// length and cooldown.
    pub fn alert_rule(&self) -> crate::score::events::EventRule {
        let s = &self.settings;
        crate::score::events::EventRule {
            threshold: self.threshold,
            hysteresis: s.alert_hysteresis as f64,
            min_frames: s.alert_min_frames,
            cooldown_frames: s.alert_cooldown,
        }
    }

    /// `(true positives, false positives, positives)` at the threshold: scored
    /// frames above it inside / outside ground truth, and anomalous scored frames.
    pub fn counts(&self, store: &Store) -> (usize, usize, usize) {
        store.curves.confusion(self.threshold, store.intervals())
    }
}

fn clamp_speed(s: f32) -> f32 {
    if s.is_finite() {
        s.clamp(SPEED_RANGE.0, SPEED_RANGE.1)
    } else {
        1.0
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
