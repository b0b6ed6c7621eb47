//! [`Scene`]: a deterministic procedural video with exact ground truth.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::actors::{Actor, Body, Cast};
use super::layout::Layout;
use super::raster::Canvas;
use super::rng::{hash2, Rng};
use super::{background, figures, AnomalyKind, ObjectInfo, ObjectKind};
use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};
use crate::truth::dense::pack_nonzero;
use crate::truth::{intervals_from_labels, Masks, Region, VideoTruth};

mod flow_pair;
pub use flow_pair::FlowPair;

/// The most frames a scene may have (a day at 10 fps is 864 000).
pub const MAX_SCENE_FRAMES: usize = 1_000_000;
/// The most anomalies a scene may stage (each takes its own slot of the video).
pub const MAX_ANOMALIES: usize = 64;

/// What to generate. `Default` is a Ped2-like normal scene: 240x160 gray,
/// 150 frames at 10 fps, about 8 pedestrians in view, no anomalies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SceneConfig {
    /// Frame width in pixels (16..=8192).
    pub width: usize,
    /// Frame height in pixels (16..=8192).
    pub height: usize,
    /// Number of frames the ground truth covers (1..=[`MAX_SCENE_FRAMES`]).
    pub frames: usize,
    /// Frames per second: converts walking speeds (m/s) to pixels per frame.
    pub fps: f64,
    /// Seed: the same configuration and seed give identical frames.
    pub seed: u64,
    /// Average number of pedestrians in view (0 = an empty walkway).
    pub pedestrians: f32,
    /// Anomalies to stage, in order of appearance, spread over the video
    /// (at most [`MAX_ANOMALIES`]).
    pub anomalies: Vec<AnomalyKind>,
    /// Gray or RGB frames (the same scene either way).
    pub format: PixelFormat,
    /// Standard deviation of the sensor noise in gray levels (0 = none).
    pub noise: f32,
}

impl Default for SceneConfig {
    fn default() -> Self {
        SceneConfig {
            width: 240,
            height: 160,
            frames: 150,
            fps: 10.0,
            seed: 0,
            pedestrians: 8.0,
            anomalies: Vec::new(),
            format: PixelFormat::Gray,
            noise: 2.0,
        }
    }
}

impl SceneConfig {
    /// The built-in demo scene (the app's and `vadscope demo --text`'s): fixed,
    /// so every run shows the same four staged anomalies.
    pub fn demo() -> SceneConfig {
        SceneConfig {
            width: 240,
            height: 160,
            frames: 240,
            fps: 10.0,
            seed: 2026,
            pedestrians: 7.0,
            anomalies: vec![
                AnomalyKind::Runner,
                AnomalyKind::Cyclist,
                AnomalyKind::ThrownObject,
                AnomalyKind::Vehicle,
            ],
            ..Default::default()
        }
    }

    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<()> {
        let size = 16..=8192;
        if !size.contains(&self.width) || !size.contains(&self.height) {
            return Err(Error::invalid(format!(
                "scene size {}x{}: width and height must be 16 to 8192",
                self.width, self.height
            )));
        }
        if !(1..=MAX_SCENE_FRAMES).contains(&self.frames) {
            return Err(Error::invalid(format!(
                "frames {}: a scene has 1 to {MAX_SCENE_FRAMES} frames",
                self.frames
            )));
        }
        if self.anomalies.len() > MAX_ANOMALIES {
            return Err(Error::invalid(format!(
                "anomalies {}: a scene stages 0 to {MAX_ANOMALIES}",
                self.anomalies.len()
            )));
        }
        if !(self.fps.is_finite() && self.fps > 0.0 && self.fps <= 1000.0) {
            return Err(Error::invalid(format!(
                "fps {}: must be above 0 and at most 1000",
                self.fps
            )));
        }
        if !(self.pedestrians.is_finite() && (0.0..=500.0).contains(&self.pedestrians)) {
            return Err(Error::invalid(format!(
                "pedestrians {}: must be 0 to 500",
                self.pedestrians
            )));
        }
        if !(self.noise.is_finite() && (0.0..=100.0).contains(&self.noise)) {
            return Err(Error::invalid(format!(
                "noise {}: must be 0 to 100",
                self.noise
            )));
        }
        Ok(())
    }
}

/// A generated scene. Frames are rendered on demand, in any order, from `&self`
/// (so frames can be rendered in parallel); each is a pure function of the
/// configuration and the frame index.
#[derive(Debug, Clone)]
pub struct Scene {
    cfg: SceneConfig,
    layout: Layout,
    background: Frame<u8>,
    actors: Vec<Actor>,
    objects: Vec<ObjectInfo>,
}

impl Scene {
    /// Generates the scene: background, pedestrians and anomalies.
    pub fn new(cfg: &SceneConfig) -> Result<Scene> {
        cfg.validate()?;
        let layout = Layout::new(cfg.width, cfg.height);
        let background = background::render(&layout, hash2(cfg.seed, 0xB6), cfg.format);
        let duration = (cfg.frames as f64 / cfg.fps) as f32;
        let mut rng = Rng::new(cfg.seed);
        let mut cast = Cast::new(&layout, rng.fork(1));
        cast.pedestrians(cfg.pedestrians, duration);
        let mut timing = rng.fork(2);
        let n = cfg.anomalies.len();
        for (j, &kind) in cfg.anomalies.iter().enumerate() {
            // Each anomaly gets its own slot of the video, so they rarely overlap.
            let lo = 0.05 + 0.75 * j as f32 / n as f32;
            let hi = 0.05 + 0.75 * (j as f32 + 0.5) / n as f32;
            cast.anomaly(kind, duration * timing.range(lo, hi));
        }
        let actors = cast.actors;
        let mut track = 0;
        let objects = actors
            .iter()
            .map(|a| ObjectInfo {
                id: a.id,
                kind: match a.body {
                    Body::Walker => ObjectKind::Pedestrian,
                    Body::Runner => ObjectKind::Runner,
                    Body::Cyclist => ObjectKind::Cyclist,
                    Body::Skater => ObjectKind::Skateboarder,
                    Body::Cart => ObjectKind::Vehicle,
                    Body::Ball => ObjectKind::ThrownObject,
                },
                anomaly: a.anomaly,
                track: a.anomaly.map(|_| {
                    track += 1;
                    track - 1
                }),
            })
            .collect();
        Ok(Scene {
            cfg: cfg.clone(),
            layout,
            background,
            actors,
            objects,
        })
    }

    /// The configuration the scene was made from.
    pub fn config(&self) -> &SceneConfig {
        &self.cfg
    }

    /// Number of frames (`config().frames`).
    pub fn len(&self) -> usize {
        self.cfg.frames
    }

    /// Always false: a scene has at least one frame.
    pub fn is_empty(&self) -> bool {
        self.cfg.frames == 0
    }

    /// The static background without people or noise.
    pub fn background(&self) -> &Frame<u8> {
        &self.background
    }

    /// The actors behind [`Scene::objects`] (same order), for tests.
    #[cfg(test)]
    pub(crate) fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// Every moving object, indexed by `id - 1`.
    pub fn objects(&self) -> &[ObjectInfo] {
        &self.objects
    }

    /// Pixels per metre for an object whose feet are on image row `row`
    /// (the perspective scale: smaller far away, towards the top).
    pub fn px_per_meter(&self, row: f32) -> f32 {
        self.layout.cam.scale_at_row(row)
    }

    /// Renders frame `i` (frames past `len()` continue the scene).
    pub fn render(&self, i: usize) -> Frame<u8> {
        let mut frame = Frame::default();
        self.render_into(i, &mut frame);
        frame
    }

    /// Renders frame `i` into `frame`, reusing its allocation.
    pub fn render_into(&self, i: usize, frame: &mut Frame<u8>) {
        let mut ids = Vec::new();
        self.render_with_ids(i, frame, &mut ids);
    }

    /// Renders frame `i` and fills `ids` with the id of the object visible at
    /// each pixel (row-major, `0` = background; see [`Scene::objects`]). A pixel
    /// belongs to an object when the object covers at least half of it.
    pub fn render_with_ids(&self, i: usize, frame: &mut Frame<u8>, ids: &mut Vec<u32>) {
        let t = self.time(i);
        self.render_at(t, t, true, i, frame, ids);
    }

    /// The time of frame `i` in seconds.
    fn time(&self, i: usize) -> f32 {
        (i as f64 / self.cfg.fps) as f32
    }

    /// Renders the actors at their positions of time `t` and their gait pose
    /// of time `pose_t`, with or without their ground shadows, and the sensor
    /// noise of frame `noise_frame`.
    fn render_at(
        &self,
        t: f32,
        pose_t: f32,
        shadows: bool,
        noise_frame: usize,
        frame: &mut Frame<u8>,
        ids: &mut Vec<u32>,
    ) {
        let (w, h, ch) = (self.cfg.width, self.cfg.height, self.cfg.format.channels());
        frame.resize(w, h, ch);
        frame.data.copy_from_slice(&self.background.data);
        ids.clear();
        ids.resize(w * h, 0);
        let live = self.live_actors(t);
        let cam = &self.layout.cam;
        let mut canvas = Canvas::new(w, h, ch, &mut frame.data, ids);
        if shadows {
            for (a, p) in &live {
                figures::draw_shadow(&mut canvas, cam, a, *p);
            }
        }
        for (a, p) in &live {
            let facing = self.facing(a, a.at(pose_t).unwrap_or(*p));
            figures::draw(&mut canvas, cam, a, *p, a.phase(pose_t), facing);
        }
        self.add_noise(noise_frame, &mut frame.data);
    }

    /// The actors in view at time `t` with their positions, in painter's
    /// order (far to near).
    fn live_actors(&self, t: f32) -> Vec<(&Actor, [f32; 3])> {
        let cam = &self.layout.cam;
        let mut live: Vec<(&Actor, [f32; 3])> = self
            .actors
            .iter()
            .filter_map(|a| a.at(t).map(|p| (a, p)))
            .filter(|(_, p)| {
                let (x, y) = cam.project(p[0], p[1], p[2]);
                let m = 4.0 * cam.scale(p[1]);
                x > -m && x < cam.width + m && y > -1.0 && y < cam.height + m
            })
            .collect();
        live.sort_by(|a, b| b.1[1].total_cmp(&a.1[1]).then(a.0.id.cmp(&b.0.id)));
        live
    }

    /// The horizontal component of an actor's walking direction in the image
    /// at position `p` (it changes with the perspective on a diagonal path).
    fn facing(&self, a: &Actor, p: [f32; 3]) -> f32 {
        let cam = &self.layout.cam;
        let now = cam.project(p[0], p[1], 0.0);
        let next = cam.project(p[0] + 0.1 * a.v[0], p[1] + 0.1 * a.v[1], 0.0);
        let (dx, dy) = (next.0 - now.0, next.1 - now.1);
        let len = dx.hypot(dy);
        if len > 1e-4 {
            dx / len
        } else {
            1.0
        }
    }

    /// Adds seeded sensor noise (approximately Gaussian: a sum of 4 uniforms).
    fn add_noise(&self, i: usize, data: &mut [u8]) {
        if self.cfg.noise <= 0.0 {
            return;
        }
        let mut rng = Rng::new(hash2(self.cfg.seed, 0x4E01_5E00 + i as u64));
        // Four 16-bit uniforms have variance 4/12 (in units of 65536²).
        let k = self.cfg.noise * 3f32.sqrt() / 65536.0;
        for v in data.iter_mut() {
            let r = rng.next_u64();
            let sum = (r & 0xFFFF) + (r >> 16 & 0xFFFF) + (r >> 32 & 0xFFFF) + (r >> 48);
            let n = (sum as f32 - 2.0 * 65536.0) * k;
            *v = (*v as f32 + n).round().clamp(0.0, 255.0) as u8;
        }
    }

    /// The ground truth of the scene's `len()` frames, as video `name`:
    /// anomalous intervals (the frames where some anomalous object is visible),
    /// per-pixel dense masks, a box per frame and anomaly (`track` = the
    /// anomaly's index in `config().anomalies`), and notes naming the kinds.
    pub fn truth(&self, name: &str) -> VideoTruth {
        let (w, h) = (self.cfg.width, self.cfg.height);
        let per_frame: Vec<(Option<Vec<u8>>, Vec<Region>)> = (0..self.cfg.frames)
            .into_par_iter()
            .map_init(
                || (Frame::default(), Vec::new()),
                |(frame, ids), i| {
                    self.render_with_ids(i, frame, ids);
                    self.frame_truth(i, ids)
                },
            )
            .collect();
        let labels: Vec<bool> = per_frame.iter().map(|(m, _)| m.is_some()).collect();
        let mut v = VideoTruth::new(name, Some(self.cfg.frames), intervals_from_labels(&labels));
        let (masks, regions): (Vec<_>, Vec<_>) = per_frame.into_iter().unzip();
        v.masks = Some(Masks::Dense {
            width: w,
            height: h,
            frames: masks,
        });
        v.regions = regions.into_iter().flatten().collect();
        let kinds: Vec<String> = self
            .cfg
            .anomalies
            .iter()
            .enumerate()
            .map(|(j, k)| format!("track {j}: {k}"))
            .collect();
        v.notes = format!(
            "vadscope synthetic scene, seed {}{}{}",
            self.cfg.seed,
            if kinds.is_empty() { "" } else { "; " },
            kinds.join(", ")
        );
        v
    }

    /// The packed mask (`None` when empty) and the anomalies' boxes of frame
    /// `i`, from its id buffer.
    fn frame_truth(&self, i: usize, ids: &[u32]) -> (Option<Vec<u8>>, Vec<Region>) {
        let w = self.cfg.width;
        let mut boxes: Vec<Option<[usize; 4]>> = vec![None; self.cfg.anomalies.len()];
        let mut mask = vec![0u8; ids.len()];
        for (p, &id) in ids.iter().enumerate() {
            if id == 0 {
                continue;
            }
            let Some(track) = self.objects[id as usize - 1].track else {
                continue;
            };
            mask[p] = 1;
            let (x, y) = (p % w, p / w);
            let b = boxes[track as usize].get_or_insert([x, y, x, y]);
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        let regions: Vec<Region> = boxes
            .iter()
            .enumerate()
            .filter_map(|(track, b)| {
                b.map(|[x0, y0, x1, y1]| Region {
                    frame: i,
                    track: Some(track as u32),
                    x: x0 as f32,
                    y: y0 as f32,
                    w: (x1 - x0 + 1) as f32,
                    h: (y1 - y0 + 1) as f32,
                })
            })
            .collect();
        let mask = (!regions.is_empty()).then(|| pack_nonzero(&mask));
        (mask, regions)
    }
}
