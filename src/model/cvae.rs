//! The conditional VAE of Long et al. [13–17] that predicts the next frame.
//!
//! - Prior net E_θ on the flows y_1..t gives p(z | y) = N(μ_p, σ²_p) [13].
//! - Posterior net F_φ on [x̂_1..t, y_1..t] (the MemAE's reconstruction and the
//!   flows) gives q(z | x, y) = N(μ_q, σ²_q) [14].
//! - Decoder D_ψ on [z, E_θ's bottleneck features], with skip connections from
//!   F_φ (or, as an ablation, from an encoder of x̂ alone, so the flow reaches
//!   the decoder only through z and the prior), predicts x_t+1 [15]. z = μ_q + σ_q·ε in training, μ_q at test time.
//! - Loss: MSE + β·KL(q ‖ p) + gradient loss [16–17] (see [`super::losses`]).
//!
//! The `vae` ablation drops the flows: no prior net (p = N(0, I)), the posterior
//! sees x̂ only and the decoder z only.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::{ModelConfig, SkipSource, Variant};
use super::ops::{self, Conv, ConvBlock};

/// A 4-level convolutional encoder with 2x max pooling between levels.
#[derive(Debug, Clone)]
struct Encoder {
    blocks: [ConvBlock; 4],
}

impl Encoder {
    fn new(cin: usize, ch: [usize; 4], vb: VarBuilder) -> Result<Encoder> {
        Ok(Encoder {
            blocks: [
                ConvBlock::new(cin, ch[0], vb.pp("enc1"))?,
                ConvBlock::new(ch[0], ch[1], vb.pp("enc2"))?,
                ConvBlock::new(ch[1], ch[2], vb.pp("enc3"))?,
                ConvBlock::new(ch[2], ch[3], vb.pp("enc4"))?,
            ],
        })
    }

    /// Features of the four levels, outermost first.
    fn forward(&self, x: &Tensor) -> Result<[Tensor; 4]> {
        let f1 = self.blocks[0].forward(x)?;
        let f2 = self.blocks[1].forward(&ops::max_pool2x2(&f1)?)?;
        let f3 = self.blocks[2].forward(&ops::max_pool2x2(&f2)?)?;
        let f4 = self.blocks[3].forward(&ops::max_pool2x2(&f3)?)?;
        Ok([f1, f2, f3, f4])
    }
}

/// The CVAE (or, for [`Variant::Vae`], the flow-free VAE).
#[derive(Debug, Clone)]
pub struct Cvae {
    prior: Option<(Encoder, Conv, Conv)>,
    posterior: Encoder,
    /// The frames-only encoder of [`SkipSource::Frames`].
    skip_encoder: Option<Encoder>,
    post_mu: Conv,
    post_logvar: Conv,
    dec4: ConvBlock,
    up3: Conv,
    dec3: ConvBlock,
    up2: Conv,
    dec2: ConvBlock,
    up1: Conv,
    dec1: ConvBlock,
    out: Conv,
    latent: usize,
    skips: bool,
}

/// What [`Cvae::forward`] returns.
#[derive(Debug, Clone)]
pub struct CvaeOutput {
    /// Predicted x_t+1: (B, C, H, W).
    pub pred: Tensor,
    /// Posterior mean μ_q: (B, latent, H/8, W/8).
    pub mu_q: Tensor,
    /// Posterior log-variance log σ²_q.
    pub logvar_q: Tensor,
    /// Prior mean and log-variance, `None` for the VAE (prior N(0, I)).
    pub prior: Option<(Tensor, Tensor)>,
}

impl Cvae {
    /// Builds the CVAE of `cfg` (the VAE when `cfg.variant` is `vae`).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Cvae> {
        let ch = cfg.cvae.channels;
        let [c1, c2, c3, c4] = ch;
        let t = cfg.input.frames;
        let frames_in = cfg.input.channels * t;
        let flow_in = 2 * t;
        let latent = cfg.cvae.latent;
        let with_flow = cfg.variant == Variant::Cvae;
        let prior = if with_flow {
            let vp = vb.pp("prior");
            Some((
                Encoder::new(flow_in, ch, vp.clone())?,
                ops::conv(c4, latent, 1, vp.pp("mu"))?,
                ops::conv(c4, latent, 1, vp.pp("logvar"))?,
            ))
        } else {
            None
        };
        let post_in = frames_in + if with_flow { flow_in } else { 0 };
        let vq = vb.pp("posterior");
        let skips = cfg.cvae.skips;
        let skip = |c: usize| if skips { 2 * c } else { c };
        let vd = vb.pp("decoder");
        let skip_encoder = (skips && with_flow && cfg.cvae.skip_source == SkipSource::Frames)
            .then(|| Encoder::new(frames_in, ch, vb.pp("skip_encoder")))
            .transpose()?;
        Ok(Cvae {
            prior,
            posterior: Encoder::new(post_in, ch, vq.clone())?,
            skip_encoder,
            post_mu: ops::conv(c4, latent, 1, vq.pp("mu"))?,
            post_logvar: ops::conv(c4, latent, 1, vq.pp("logvar"))?,
            dec4: ConvBlock::new(latent + if with_flow { c4 } else { 0 }, c4, vd.pp("dec4"))?,
            up3: ops::conv(c4, c3, 3, vd.pp("up3"))?,
            dec3: ConvBlock::new(skip(c3), c3, vd.pp("dec3"))?,
            up2: ops::conv(c3, c2, 3, vd.pp("up2"))?,
            dec2: ConvBlock::new(skip(c2), c2, vd.pp("dec2"))?,
            up1: ops::conv(c2, c1, 3, vd.pp("up1"))?,
            dec1: ConvBlock::new(skip(c1), c1, vd.pp("dec1"))?,
            out: ops::conv(c1, cfg.input.channels, 1, vd.pp("out"))?,
            latent,
            skips,
        })
    }

    /// Standard normal noise ε shaped like z for a batch of `x_hat`.
    pub fn noise(&self, x_hat: &Tensor) -> Result<Tensor> {
        let (b, _, h, w) = x_hat.dims4()?;
        Tensor::randn(0f32, 1f32, (b, self.latent, h / 8, w / 8), x_hat.device())?
            .to_dtype(x_hat.dtype())
    }

    /// Predicts x_t+1 from the reconstruction `x_hat` (B, t·C, H, W) and the flows
    /// `flow` (B, 2t, H, W; ignored by the VAE). `noise` ε gives z = μ_q + σ_q·ε
    /// (training); `None` uses the posterior mean (test time).
    pub fn forward(
        &self,
        x_hat: &Tensor,
        flow: &Tensor,
        noise: Option<&Tensor>,
    ) -> Result<CvaeOutput> {
        let (post_input, prior) = match &self.prior {
            Some((encoder, mu, logvar)) => {
                let p = encoder.forward(flow)?;
                let stats = (mu.forward(&p[3])?, logvar.forward(&p[3])?);
                (Tensor::cat(&[x_hat, flow], 1)?, Some((p, stats)))
            }
            None => (x_hat.clone(), None),
        };
        let f = self.posterior.forward(&post_input)?;
        let mu_q = self.post_mu.forward(&f[3])?;
        let logvar_q = self.post_logvar.forward(&f[3])?;
        let z = match noise {
            Some(eps) => (&mu_q + ((&logvar_q * 0.5)?.exp()? * eps)?)?,
            None => mu_q.clone(),
        };
        let d = match &prior {
            Some((p, _)) => Tensor::cat(&[&z, &p[3]], 1)?,
            None => z,
        };
        let skip = match &self.skip_encoder {
            Some(encoder) => encoder.forward(x_hat)?,
            None => f,
        };
        let d = self.dec4.forward(&d)?;
        let d = self.up3.forward_up(&d)?;
        let d = self.join(&self.dec3, &d, &skip[2])?;
        let d = self.up2.forward_up(&d)?;
        let d = self.join(&self.dec2, &d, &skip[1])?;
        let d = self.up1.forward_up(&d)?;
        let d = self.join(&self.dec1, &d, &skip[0])?;
        Ok(CvaeOutput {
            pred: self.out.forward(&d)?,
            mu_q,
            logvar_q,
            prior: prior.map(|(_, stats)| stats),
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
