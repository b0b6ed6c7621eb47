//! Per-frame maps computed off the UI thread: optical flow to the next frame,
//! and the model's reconstruction, prediction, error and memory-attention
//! maps ([`crate::score::Scorer::maps`]) when there is a model.
//!
//! The worker keeps only the newest request, so scrubbing never queues up
//! stale work; results come back with their frame index and the UI caches them.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::model::ModelTarget;
use crate::dataset::FlowStage;
use crate::flow::{Flow, Params, Preset};
use crate::model::select_device;
use crate::score::{AttentionMap, Scorer};
use crate::synth::Scene;
use crate::video::{self, OutputSpec, Video};
use crate::Frame;

/// The maps of one frame.
#[derive(Debug, Clone, Default)]
pub struct Maps {
    /// Frame index.
    pub frame: usize,
    /// Which worker made these maps (texture keys include it, so maps of
    /// another video never reuse these textures).
    pub source_id: u64,
    /// With a model, the flow it sees into this frame from the one before
    /// (at its input size, with its flow parameters); without one, the flow
    /// from this frame to the next (from the previous one at the last frame).
    /// A two-channel `(u, v)` image.
    pub flow: Option<Arc<Frame<f32>>>,
    /// Which frames and what flow [`Maps::flow`] is, in words.
    pub flow_origin: String,
    /// Reconstruction (gray, `[0, 1]`).
    pub recon: Option<Arc<Frame<f32>>>,
    /// Squared reconstruction error (the model's input size).
    pub recon_error: Option<Arc<Frame<f32>>>,
    /// Prediction (gray, `[0, 1]`).
    pub pred: Option<Arc<Frame<f32>>>,
    /// Squared prediction error.
    pub pred_error: Option<Arc<Frame<f32>>>,
    /// Memory attention per layer.
    pub attention: Vec<AttentionMap>,
    /// Where the model maps come from, in words (the model and its input size).
    pub origin: String,
    /// Why some maps are missing or failed.
    pub error: Option<String>,
}

/// Where the worker reads frames.
#[derive(Clone)]
pub enum FrameSource {
    /// A procedural scene.
    Synthetic(Arc<Scene>),
    /// A video file or frame folder.
    Path(PathBuf),
    /// The frames a live source kept.
    Live(super::live::LiveFeed),
}

impl FrameSource {
    /// Opens a reader for this source.
    pub fn reader(&self) -> crate::Result<GrayReader> {
        Ok(match self {
            FrameSource::Synthetic(s) => GrayReader::Synthetic(s.clone()),
            FrameSource::Path(p) => {
                GrayReader::Video(Box::new(video::open_with(p, OutputSpec::gray())?))
            }
            FrameSource::Live(feed) => GrayReader::Live(feed.clone()),
        })
    }
}

/// Reads gray `[0, 1]` frames from a [`FrameSource`].
pub enum GrayReader {
    /// Rendered.
    Synthetic(Arc<Scene>),
    /// Decoded.
    Video(Box<Video>),
    /// Kept by a live source.
    Live(super::live::LiveFeed),
}

impl GrayReader {
    /// Number of frames.
    pub fn len(&self) -> usize {
        match self {
            GrayReader::Synthetic(s) => s.len(),
            GrayReader::Video(v) => v.len(),
            GrayReader::Live(feed) => feed.capacity,
        }
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frame `i`, gray in `[0, 1]`.
    pub fn gray(&mut self, i: usize) -> crate::Result<Frame<f32>> {
        let mut out = Frame::default();
        match self {
            GrayReader::Synthetic(s) => s.render(i).to_f32().to_gray_into(&mut out),
            GrayReader::Video(v) => {
                let mut scratch = Frame::default();
                v.read_f32_into(i, &mut scratch, &mut out)?
            }
            GrayReader::Live(feed) => {
                let f = feed.frame(i).ok_or_else(|| {
                    crate::Error::invalid(format!(
                        "live frame {i} is not kept (or not received yet)"
                    ))
                })?;
                f.to_f32().to_gray_into(&mut out)
            }
        }
        Ok(out)
    }
}

/// A flow field as a two-channel image.
pub fn flow_frame(f: Flow) -> Frame<f32> {
    Frame {
        width: f.width,
        height: f.height,
        channels: 2,
        data: f.data,
    }
}

/// Computes the maps of one frame (the worker's job; also used by tests).
pub struct MapMaker {
    reader: GrayReader,
    flow: FlowStage,
    model: Result<Option<ModelMaps>, String>,
}

/// A model loaded for maps, with the video it reads.
struct ModelMaps {
    scorer: Scorer,
    video: PathBuf,
    name: String,
}

impl MapMaker {
    /// A map maker over `source`, with the model of `target` if any (a model
    /// that fails to load leaves the flow maps and an error on every frame).
    pub fn new(source: &FrameSource, target: Option<&ModelTarget>) -> crate::Result<Self> {
        let reader = source.reader()?;
        let model = target
            .map(|t| {
                let (checkpoint, video) = t.resolve().map_err(|e| format!("{e:#}"))?;
                let (device, _) = select_device(cfg!(feature = "cuda"));
                let scorer = Scorer::load(&checkpoint, &device).map_err(|e| e.to_string())?;
                Ok(ModelMaps {
                    scorer,
                    video,
                    name: t.describe(),
                })
            })
            .transpose();
        Ok(MapMaker {
            reader,
            flow: FlowStage::new(Params::preset(Preset::Fast))?,
            model,
        })
    }

    /// The maps of frame `i`.
    pub fn maps(&mut self, i: usize) -> Maps {
        let mut out = Maps {
            frame: i,
            ..Default::default()
        };
        if let Err(e) = self.fill(i, &mut out) {
            out.error = Some(e.to_string());
        }
        out
    }

    fn fill(&mut self, i: usize, out: &mut Maps) -> crate::Result<()> {
        let n = self.reader.len();
        let m = match &mut self.model {
            Ok(Some(m)) => m,
            no_model => {
                if let Err(e) = no_model {
                    out.error = Some(format!("model: {e}"));
                }
                if n > 1 {
                    // No model: a quick full-size flow for looking at motion only.
                    let (a, b) = if i + 1 < n { (i, i + 1) } else { (i - 1, i) };
                    let (fa, fb) = (self.reader.gray(a)?, self.reader.gray(b)?);
                    out.flow_origin =
                        format!("flow from frame {a} to {b}: full size, fast flow (no model)");
                    self.flow.restart();
                    self.flow.push(&fa)?;
                    out.flow = self.flow.push(&fb)?.map(|f| Arc::new(flow_frame(f)));
                }
                return Ok(());
            }
        };
        // The flow the model sees into frame b: the maps' own (they read it
        // with the clip) when the frame has history, else read alone.
        let b = i.max(1);
        let t = m.scorer.config().input.frames;
        let maps = (i >= t).then(|| m.scorer.maps(&m.video, i));
        let flow = match &maps {
            Some(Ok(fm)) => Some(fm.flow.clone()),
            Some(Err(_)) => m.scorer.model_flow(&m.video, b).ok(),
            None if n > 1 => Some(m.scorer.model_flow(&m.video, b)?),
            None => None,
        };
        if let Some(f) = flow {
            out.flow_origin = format!(
                "flow from frame {} to {b} as the model sees it: {}×{}, {} flow",
                b - 1,
                f.width,
                f.height,
                m.scorer
                    .config()
                    .input
                    .flow
                    .preset_name()
                    .unwrap_or("custom")
            );
            out.flow = Some(Arc::new(flow_frame(f)));
        }
        let fm = match maps {
            None => {
                out.origin = format!("{}: frame {i} has fewer than {t} frames before it", m.name);
                return Ok(());
            }
            Some(fm) => fm?,
        };
        out.origin = format!("{} at {}×{}", m.name, fm.input.width, fm.input.height);
        out.recon = Some(Arc::new(gray(fm.recon)));
        out.recon_error = Some(Arc::new(fm.recon_error));
        out.pred = fm.pred.map(|p| Arc::new(gray(p)));
        out.pred_error = fm.pred_error.map(Arc::new);
        out.attention = fm.attention;
        Ok(())
    }
}

/// One channel: the mean of an RGB model's channels.
fn gray(f: Frame<f32>) -> Frame<f32> {
    if f.channels == 1 {
        return f;
    }
    let mut g = Frame::default();
    f.to_gray_into(&mut g);
    g
}

/// A background thread computing [`Maps`] for the newest requested frame.
pub struct MapsWorker {
    requests: Sender<usize>,
    results: Receiver<Maps>,
    /// Detached on drop: closing the request channel ends the thread after its current frame.
    _thread: Option<JoinHandle<()>>,
    pending: Option<usize>,
    cache: HashMap<usize, Arc<Maps>>,
    order: VecDeque<usize>,
}

/// Frames whose maps are kept.
const CACHE_FRAMES: usize = 48;

impl MapsWorker {
    /// Starts the worker; `wake` is called when a result is ready (repaint).
    pub fn spawn(
        source: FrameSource,
        model: Option<ModelTarget>,
        wake: impl Fn() + Send + 'static,
    ) -> Self {
        let (req_tx, req_rx) = mpsc::channel::<usize>();
        let (res_tx, res_rx) = mpsc::channel::<Maps>();
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let source_id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let thread = std::thread::Builder::new()
            .name("vadscope-maps".into())
            .spawn(move || {
                let mut maker = match MapMaker::new(&source, model.as_ref()) {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = res_tx.send(Maps {
                            error: Some(e.to_string()),
                            ..Default::default()
                        });
                        wake();
                        return;
                    }
                };
                while let Ok(mut i) = req_rx.recv() {
                    // Only the newest request matters.
                    while let Ok(j) = req_rx.try_recv() {
                        i = j;
                    }
                    let mut maps =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| maker.maps(i)))
                            .unwrap_or_else(|_| Maps {
                                frame: i,
                                error: Some("the map worker panicked on this frame".into()),
                                ..Default::default()
                            });
                    maps.source_id = source_id;
                    if res_tx.send(maps).is_err() {
                        return;
                    }
                    wake();
                }
            })
            .ok();
        MapsWorker {
            requests: req_tx,
            results: res_rx,
            _thread: thread,
            pending: None,
            cache: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Collects finished results; returns whether any arrived.
    pub fn poll(&mut self) -> bool {
        let mut any = false;
        while let Ok(m) = self.results.try_recv() {
            any = true;
            if self.pending == Some(m.frame) {
                self.pending = None;
            }
            // Maps put in by hand win over the worker's for the same frame.
            if !self.cache.contains_key(&m.frame) {
                self.insert(m);
            }
        }
        any
    }

    /// Caches maps (replacing those of the same frame).
    pub fn insert(&mut self, m: Maps) {
        let f = m.frame;
        if self.cache.insert(f, Arc::new(m)).is_none() {
            self.order.push_back(f);
        }
        while self.order.len() > CACHE_FRAMES {
            if let Some(old) = self.order.pop_front() {
                self.cache.remove(&old);
            }
        }
    }

    /// The maps of frame `i` if computed; otherwise asks for them (once).
    pub fn get(&mut self, i: usize) -> Option<Arc<Maps>> {
        if let Some(m) = self.cache.get(&i) {
            return Some(m.clone());
        }
        if self.pending != Some(i) && self.requests.send(i).is_ok() {
            self.pending = Some(i);
        }
        None
    }

    /// The newest cached maps at or before `i` (shown while `i` is computed).
    pub fn nearest(&self, i: usize) -> Option<Arc<Maps>> {
        self.cache
            .iter()
            .filter(|(&f, _)| f <= i)
            .max_by_key(|(&f, _)| f)
            .map(|(_, m)| m.clone())
    }

    /// Whether a request is outstanding.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SceneConfig;

    #[test]
    fn demo_maps_come_from_the_demo_model() {
        let mut cfg = SceneConfig::demo();
        cfg.frames = 12;
        let scene = Arc::new(Scene::new(&cfg).unwrap());
        let cache = tempfile::tempdir().unwrap();
        let target = ModelTarget::Scene {
            checkpoint: None,
            scene: scene.clone(),
            cache: cache.path().to_path_buf(),
        };
        let mut maker = MapMaker::new(&FrameSource::Synthetic(scene), Some(&target)).unwrap();
        // Frame 0 has no history: flow only.
        let m = maker.maps(0);
        assert!(m.error.is_none(), "{:?}", m.error);
        assert!(m.recon.is_none() && m.flow.is_some());
        let m = maker.maps(11);
        assert!(m.error.is_none(), "{:?}", m.error);
        // With a model, the flow view shows the flow the model sees into the
        // frame, at its input size.
        let flow = m.flow.unwrap();
        assert_eq!(flow.channels, 2);
        assert!(
            m.flow_origin
                .contains("frame 10 to 11 as the model sees it"),
            "{}",
            m.flow_origin
        );
        let (recon, err) = (m.recon.unwrap(), m.recon_error.unwrap());
        assert_eq!((recon.width, recon.height), (err.width, err.height));
        assert_eq!((flow.width, flow.height), (recon.width, recon.height));
        assert_ne!((flow.width, flow.height), (cfg.width, cfg.height));
        assert!(m.pred.is_some() && m.pred_error.is_some());
        // Three memory layers; each position's attention sums to 1.
        assert_eq!(m.attention.len(), 3);
        for a in &m.attention {
            for w in a.weights.chunks_exact(a.slots) {
                assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-3, "{}", a.layer);
            }
        }
        assert!(m.origin.contains("demo model"), "{}", m.origin);
    }

    #[test]
    fn worker_answers_the_newest_request() {
        let mut cfg = SceneConfig::demo();
        cfg.frames = 6;
        let scene = Arc::new(Scene::new(&cfg).unwrap());
        let mut w = MapsWorker::spawn(FrameSource::Synthetic(scene), None, || {});
        assert!(w.get(3).is_none());
        let t0 = std::time::Instant::now();
        while w.get(3).is_none() {
            w.poll();
            assert!(t0.elapsed().as_secs() < 20, "no maps");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!w.busy());
        assert_eq!(w.nearest(5).unwrap().frame, 3);
    }
}
