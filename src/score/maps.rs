//! Per-frame maps on demand: what the model saw, what it reconstructed and
//! predicted, where the errors are, and how each memory layer attended — the
//! pictures behind one frame's score (the app draws them).

use std::path::Path;

use candle_core::{DType, Tensor};

use super::Scorer;
use crate::dataset::{Clip, ClipReader};
use crate::error::{Error, Result};
use crate::flow::Flow;
use crate::frame::Frame;
use crate::model::make_input;
use crate::model::memae::MEMORY_NAMES;

/// The maps behind the score of one frame, at the model's input size. Images
/// are in `[0, 1]` (interleaved channels); error maps are squared errors in
/// that scale, averaged over channels.
#[derive(Debug, Clone)]
pub struct FrameMaps {
    /// The scored frame x_t+1.
    pub frame: usize,
    /// x_t+1 as the model read it.
    pub input: Frame<f32>,
    /// The MemAE's reconstruction of x_t, the latest input frame.
    pub recon: Frame<f32>,
    /// Squared reconstruction error, averaged over the t input frames (1 channel).
    pub recon_error: Frame<f32>,
    /// The CVAE's prediction of x_t+1 (none for MemAE-only models).
    pub pred: Option<Frame<f32>>,
    /// Squared prediction error (1 channel).
    pub pred_error: Option<Frame<f32>>,
    /// Optical flow from x_t to x_t+1, in pixels at the model's size.
    pub flow: Flow,
    /// One map per memory layer, bottleneck first.
    pub attention: Vec<AttentionMap>,
}

/// Memory attention of one layer: the weight of every slot at every position.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionMap {
    /// Layer name (`bottleneck`, `skip3`, `skip2`).
    pub layer: String,
    /// Width of the layer's feature map.
    pub width: usize,
    /// Height of the layer's feature map.
    pub height: usize,
    /// Memory slots N.
    pub slots: usize,
    /// Weights, index `(y * width + x) * slots + s`; each position sums to 1.
    pub weights: Vec<f32>,
}

impl AttentionMap {
    /// The weight of `slot` at every position, row-major.
    pub fn slot(&self, slot: usize) -> Vec<f32> {
        self.weights
            .iter()
            .skip(slot)
            .step_by(self.slots.max(1))
            .copied()
            .collect()
    }

    /// The most attended slot at every position.
    pub fn argmax(&self) -> Vec<usize> {
        self.weights
            .chunks(self.slots.max(1))
            .map(|w| (0..w.len()).fold(0, |best, s| if w[s] > w[best] { s } else { best }))
            .collect()
    }

    /// Each slot's mean weight over positions (sums to 1 over the slots).
    pub fn usage(&self) -> Vec<f32> {
        let mut u = vec![0.0f32; self.slots];
        let n = (self.width * self.height).max(1) as f32;
        for w in self.weights.chunks_exact(self.slots.max(1)) {
            for (a, &v) in u.iter_mut().zip(w) {
                *a += v / n;
            }
        }
        u
    }

    /// Entropy (nats) of the attention at every position: 0 when one slot
    /// takes all, ln N when attention is uniform.
    pub fn entropy(&self) -> Vec<f32> {
        self.weights
            .chunks(self.slots.max(1))
            .map(|w| {
                -w.iter()
                    .filter(|&&p| p > 0.0)
                    .map(|&p| p * p.ln())
                    .sum::<f32>()
            })
            .collect()
    }
}

impl Scorer {
    /// The flow the model sees from frame `frame - 1` to `frame` of `video`
    /// (`frame >= 1`): at its input size, with its flow parameters.
    pub fn model_flow(&mut self, video: &Path, frame: usize) -> Result<Flow> {
        if frame == 0 {
            return Err(Error::invalid(format!(
                "{}: frame 0 has no flow into it",
                video.display()
            )));
        }
        let (mut frames, mut flows) = (Vec::new(), Vec::new());
        self.read_clip(video, frame - 1, 2, &mut frames, &mut flows)?;
        flows
            .pop()
            .ok_or_else(|| Error::invalid("no flow read for a frame pair"))
    }

    /// Frames `start..start + len` of `video` and their flows, through the
    /// clip pipeline; the reader stays open for the next call.
    fn read_clip(
        &mut self,
        video: &Path,
        start: usize,
        len: usize,
        frames: &mut Vec<Frame<f32>>,
        flows: &mut Vec<Flow>,
    ) -> Result<()> {
        let clip = Clip {
            video: 0,
            start,
            len,
        };
        self.reader(video)?.read_with_flow(&clip, frames, flows)
    }

    /// The clip reader over `video` (opened on first use, kept for the next call).
    fn reader(&mut self, video: &Path) -> Result<&mut ClipReader> {
        if self.maps_video.as_ref().is_none_or(|(p, _)| p != video) {
            let reader = ClipReader::for_model(vec![video.to_path_buf()], &self.config.input)?;
            self.maps_video = Some((video.to_path_buf(), reader));
        }
        match self.maps_video.as_mut() {
            Some((_, reader)) => Ok(reader),
            None => Err(Error::invalid("no video open")),
        }
    }

    /// The maps behind the score of `frame` of `video` (which needs `t` frames
    /// of history: `frame >= t`). The video stays open for the next call.
    pub fn maps(&mut self, video: &Path, frame: usize) -> Result<FrameMaps> {
        let t = self.config.input.frames;
        let n = self.reader(video)?.frame_count(0)?;
        if frame < t || frame >= n {
            return Err(Error::invalid(format!(
                "{}: frame {frame} has no score (scored frames are {t}..{n})",
                video.display(),
            )));
        }
        let (mut frames, mut flows) = (Vec::with_capacity(t + 1), Vec::with_capacity(t));
        self.read_clip(video, frame - t, t + 1, &mut frames, &mut flows)?;
        let input = make_input(&[(&frames[..], &flows[..])], &self.device)?;
        // The frames' maps as `score` computes them (tiled for crop-trained models).
        let out = self.model.score_forward(&input).map_err(Error::from)?;
        let c = self.config.input.channels;
        let image = |x: &Tensor, first: usize| image_from(x, first, c);
        let recon_err = squared_error(&out.memae.recon, &input.frames)?;
        let (pred, pred_error) = match &out.cvae {
            Some(cv) => (
                Some(image(&cv.pred, 0)?),
                Some(squared_error(&cv.pred, &input.next)?),
            ),
            None => (None, None),
        };
        let attention = out
            .memae
            .reads
            .iter()
            .enumerate()
            .map(|(i, r)| {
                attention_map(
                    MEMORY_NAMES.get(i).copied().unwrap_or("memory"),
                    &r.attention,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FrameMaps {
            frame,
            input: image(&input.next, 0)?,
            recon: image(&out.memae.recon, (t - 1) * c)?,
            recon_error: recon_err,
            pred,
            pred_error,
            flow: flows.pop().unwrap_or_default(),
            attention,
        })
    }
}

/// Channels `first..first + c` of the first sample of (1, C', H, W) in
/// `[-1, 1]`, as an interleaved image in `[0, 1]`.
fn image_from(x: &Tensor, first: usize, c: usize) -> Result<Frame<f32>> {
    let (_, _, h, w) = x.dims4().map_err(Error::from)?;
    let planes: Vec<Vec<f32>> = (0..c)
        .map(|k| {
            x.get(0)?
                .get(first + k)?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()
        })
        .collect::<candle_core::Result<_>>()
        .map_err(Error::from)?;
    let mut data = Vec::with_capacity(w * h * c);
    for i in 0..w * h {
        for p in &planes {
            data.push(((p[i] + 1.0) * 0.5).clamp(0.0, 1.0));
        }
    }
    Ok(Frame {
        width: w,
        height: h,
        channels: c,
        data,
    })
}

/// Squared error of the first sample in `[0, 1]` units, averaged over channels.
fn squared_error(a: &Tensor, b: &Tensor) -> Result<Frame<f32>> {
    let (_, _, h, w) = a.dims4().map_err(Error::from)?;
    // Inputs are in [-1, 1]: halve the difference for [0, 1] units.
    let map = || -> candle_core::Result<Vec<f32>> {
        ((a.get(0)? - b.get(0)?)? * 0.5)?
            .sqr()?
            .mean(0)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()
    };
    let data = map().map_err(Error::from)?;
    Ok(Frame {
        width: w,
        height: h,
        channels: 1,
        data,
    })
}

/// Attention (1, N, H, W) as an [`AttentionMap`] with slots innermost.
fn attention_map(layer: &str, a: &Tensor) -> Result<AttentionMap> {
    let (_, n, h, w) = a.dims4().map_err(Error::from)?;
    let weights = a
        .get(0)
        .and_then(|x| x.permute((1, 2, 0)))
        .and_then(|x| x.to_dtype(DType::F32))
        .and_then(|x| x.flatten_all())
        .and_then(|x| x.to_vec1::<f32>())
        .map_err(Error::from)?;
    Ok(AttentionMap {
        layer: layer.to_string(),
        width: w,
        height: h,
        slots: n,
        weights,
    })
}

#[cfg(test)]
mod tests {
    use super::AttentionMap;

    #[test]
    fn attention_derived_maps() {
        let a = AttentionMap {
            layer: "bottleneck".into(),
            width: 2,
            height: 1,
            slots: 3,
            weights: vec![0.1, 0.8, 0.1, 1.0, 0.0, 0.0],
        };
        assert_eq!(a.slot(1), vec![0.8, 0.0]);
        assert_eq!(a.argmax(), vec![1, 0]);
        let e = a.entropy();
        assert!(e[0] > 0.5 && e[1] == 0.0, "{e:?}");
        let u = a.usage();
        assert!(
            (u[0] - 0.55).abs() < 1e-6 && (u[1] - 0.4).abs() < 1e-6,
            "{u:?}"
        );
        assert!((u.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
