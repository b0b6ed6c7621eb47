//! The multi-layer memory-augmented autoencoder (Long et al., Fig. 3).
//!
//! A 4-level U-Net on t stacked frames (B, t·C, H, W) that reconstructs them.
//! Memory modules ([2–11], see [`super::memory`]) sit on the bottleneck and, with
//! [`MemoryLayers::Multi`], on the skip connections of the two inner levels; the
//! decoder sees only memory reads there, so normal patterns are all it can
//! rebuild. The outermost level never has a skip connection: the paper reports
//! that it lets the decoder bypass the memory and the model then fails to converge.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::{MemoryLayers, ModelConfig};
use super::memory::{Memory, MemoryRead, MemorySettings};
use super::ops::{self, Conv, ConvBlock};

/// Names of the memory layers, in the order of [`MemAeOutput::reads`].
pub const MEMORY_NAMES: [&str; 3] = ["bottleneck", "skip3", "skip2"];

/// The multi-layer MemAE.
#[derive(Debug, Clone)]
pub struct MemAe {
    enc: [ConvBlock; 4],
    up3: Conv,
    dec3: ConvBlock,
    up2: Conv,
    dec2: ConvBlock,
    up1: Conv,
    dec1: ConvBlock,
    out: Conv,
    memories: Vec<Memory>,
    skips: bool,
    /// Frame channels t·C of the input and reconstruction.
    frames_in: usize,
    /// Flow channels reconstructed beside them (0 or 2t).
    flow_channels: usize,
}

/// What [`MemAe::forward`] returns.
#[derive(Debug, Clone)]
pub struct MemAeOutput {
    /// Reconstruction of the input frames: (B, t·C, H, W).
    pub recon: Tensor,
    /// Reconstruction of the flows, (B, 2t, H, W), when the CVAE is
    /// conditioned on it (`cvae.condition` memory).
    pub flow_recon: Option<Tensor>,
    /// One read per memory, in the order of [`MEMORY_NAMES`] (bottleneck first).
    pub reads: Vec<MemoryRead>,
}

impl MemAe {
    /// Builds the MemAE of `cfg` with weights under `vb` (memories are not weights:
    /// they are initialised from `cfg.train.seed`).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<MemAe> {
        let [c1, c2, c3, c4] = cfg.memae.channels;
        let frames_in = cfg.input.channels * cfg.input.frames;
        let flow_channels = cfg.memae_flow_channels();
        let cin = frames_in + flow_channels;
        let skips = cfg.memae.skips;
        let settings = MemorySettings {
            temperature: cfg.memory.temperature,
            shrink: cfg.memory.shrink,
            update_radius: cfg.memory.update_radius,
            margin: cfg.memory.margin,
        };
        let layers = match cfg.memae.memory_layers {
            MemoryLayers::Single => 1,
            MemoryLayers::Multi => 3,
        };
        let dims = [c4, c3, c2];
        let memories = (0..layers)
            .map(|i| {
                let seed = cfg.train.seed.wrapping_mul(31).wrapping_add(i as u64);
                Memory::new(
                    cfg.memory.slots[i],
                    dims[i],
                    settings,
                    seed,
                    vb.dtype(),
                    vb.device(),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let skip = |c: usize| if skips { 2 * c } else { c };
        Ok(MemAe {
            enc: [
                ConvBlock::new(cin, c1, vb.pp("enc1"))?,
                ConvBlock::new(c1, c2, vb.pp("enc2"))?,
                ConvBlock::new(c2, c3, vb.pp("enc3"))?,
                ConvBlock::new(c3, c4, vb.pp("enc4"))?,
            ],
            up3: ops::conv(c4, c3, 3, vb.pp("up3"))?,
            dec3: ConvBlock::new(skip(c3), c3, vb.pp("dec3"))?,
            up2: ops::conv(c3, c2, 3, vb.pp("up2"))?,
            dec2: ConvBlock::new(skip(c2), c2, vb.pp("dec2"))?,
            up1: ops::conv(c2, c1, 3, vb.pp("up1"))?,
            dec1: ConvBlock::new(c1, c1, vb.pp("dec1"))?,
            out: ops::conv(c1, cin, 1, vb.pp("out"))?,
            memories,
            skips,
            frames_in,
            flow_channels,
        })
    }

    /// The memories, bottleneck first (see [`MEMORY_NAMES`]).
    pub fn memories(&self) -> &[Memory] {
        &self.memories
    }

    /// Mutable access to the memories (checkpoint loading).
    pub fn memories_mut(&mut self) -> &mut [Memory] {
        &mut self.memories
    }

    /// Turns on the training aids of `memory.init` and `memory.restart_after`
    /// (see [`super::memory`]); training only, before a checkpoint is loaded.
    pub fn enable_training_aids(&mut self, cfg: &super::config::MemoryConfig) {
        let seed = cfg.init == super::config::MemoryInit::Queries;
        for memory in &mut self.memories {
            memory.set_training_aids(seed, cfg.restart_after);
        }
    }

    /// Applies the update rule [7–9] to every memory with the queries of `out`.
    pub fn update_memories(&mut self, out: &MemAeOutput) -> Result<()> {
        for (memory, read) in self.memories.iter_mut().zip(&out.reads) {
            memory.update(&read.queries)?;
        }
        Ok(())
    }

    /// Reconstructs `x` (B, t·C, H, W) through the memories (a MemAE that
    /// reconstructs flows too needs [`MemAe::forward_with`]).
    pub fn forward(&self, x: &Tensor) -> Result<MemAeOutput> {
        self.forward_with(x, None, true)
    }

    /// Flow channels this MemAE reconstructs beside the frames (0 or 2t).
    pub fn flow_channels(&self) -> usize {
        self.flow_channels
    }

    /// [`MemAe::forward`] on the frames and, when this MemAE reconstructs
    /// flows, the flows `flow` (B, 2t, H, W); the memories' separation losses
    /// only when `losses` is set (see [`super::memory::Memory::read_with`]).
    pub fn forward_with(
        &self,
        frames: &Tensor,
        flow: Option<&Tensor>,
        losses: bool,
    ) -> Result<MemAeOutput> {
        let joined;
        let x = match (self.flow_channels, flow) {
            (0, _) => frames,
            (_, Some(flow)) => {
                joined = Tensor::cat(&[frames, flow], 1)?;
                &joined
            }
            (_, None) => {
                return Err(candle_core::Error::Msg(
                    "this MemAE reconstructs flows: it needs them as input".into(),
                ))
            }
        };
        let e1 = self.enc[0].forward(x)?;
        let e2 = self.enc[1].forward(&ops::max_pool2x2(&e1)?)?;
        let e3 = self.enc[2].forward(&ops::max_pool2x2(&e2)?)?;
        let e4 = self.enc[3].forward(&ops::max_pool2x2(&e3)?)?;
        let mut reads = Vec::with_capacity(self.memories.len());
        for (memory, features) in self.memories.iter().zip([&e4, &e3, &e2]) {
            reads.push(memory.read_with(features, losses)?);
        }
        // With a single memory the skips (if on) carry encoder features unchanged.
        let skip3 = reads.get(1).map_or(&e3, |r| &r.read);
        let skip2 = reads.get(2).map_or(&e2, |r| &r.read);
        let d = self.up3.forward_up(&reads[0].read)?;
        let d = self.join(&self.dec3, &d, skip3)?;
        let d = self.up2.forward_up(&d)?;
        let d = self.join(&self.dec2, &d, skip2)?;
        let d = self.up1.forward_up(&d)?;
        let d = self.dec1.forward(&d)?;
        let out = self.out.forward(&d)?;
        let (recon, flow_recon) = if self.flow_channels == 0 {
            (out, None)
        } else {
            (
                out.narrow(1, 0, self.frames_in)?,
                Some(out.narrow(1, self.frames_in, self.flow_channels)?),
            )
        };
        Ok(MemAeOutput {
            recon,
            flow_recon,
            reads,
        })
    }

    /// A decoder block on d, with the skip concatenated when skips are on.
    fn join(&self, block: &ConvBlock, d: &Tensor, skip: &Tensor) -> Result<Tensor> {
        if self.skips {
            block.forward_cat(d, skip)
        } else {
            block.forward(d)
        }
    }
}
