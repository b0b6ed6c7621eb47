//! Training losses of the hybrid model (Long et al., [16–17]): MSE, the KL
//! divergence between two diagonal Gaussians, and the image-gradient loss of
//! future-frame prediction. All return scalar (0-dimensional) tensors.

use candle_core::{Result, Tensor};

/// Mean squared error over all elements.
pub fn mse(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    (a - b)?.sqr()?.mean_all()
}

/// KL(q ‖ p) for diagonal Gaussians given means and log-variances [16], averaged
/// over all latent elements (see [`kl_gaussians_map`]).
pub fn kl_gaussians(
    mu_q: &Tensor,
    logvar_q: &Tensor,
    mu_p: &Tensor,
    logvar_p: &Tensor,
) -> Result<Tensor> {
    kl_gaussians_map(mu_q, logvar_q, mu_p, logvar_p)?.mean_all()
}

/// KL(q ‖ p) of each latent element, shaped like `mu_q`:
/// ½ (log σ²_p − log σ²_q + (σ²_q + (μ_q − μ_p)²) / σ²_p − 1).
pub fn kl_gaussians_map(
    mu_q: &Tensor,
    logvar_q: &Tensor,
    mu_p: &Tensor,
    logvar_p: &Tensor,
) -> Result<Tensor> {
    let var_ratio = (logvar_q - logvar_p)?.exp()?;
    let mean_term = ((mu_q - mu_p)?.sqr()? * (logvar_p.neg()?.exp()?))?;
    let inner = (((logvar_p - logvar_q)? + var_ratio)? + mean_term)?;
    (inner - 1.0)? * 0.5
}

/// KL(q ‖ N(0, I)), averaged over all latent elements (the VAE ablation's prior).
pub fn kl_standard(mu_q: &Tensor, logvar_q: &Tensor) -> Result<Tensor> {
    kl_standard_map(mu_q, logvar_q)?.mean_all()
}

/// KL(q ‖ N(0, I)) of each latent element, shaped like `mu_q`.
pub fn kl_standard_map(mu_q: &Tensor, logvar_q: &Tensor) -> Result<Tensor> {
    let inner = ((logvar_q.exp()? + mu_q.sqr()?)? - logvar_q)?;
    (inner - 1.0)? * 0.5
}

/// The free-bits KL of a (B, L, h, w) map of per-element KLs: each latent
/// channel's mean over batch and positions, raised to at least `floor`
/// nats, then averaged over channels (Kingma et al. 2016). Below the floor a
/// channel's KL has no gradient, so the posterior may use it without cost;
/// with `floor` 0 this is the plain mean.
pub fn free_bits_kl(kl_map: &Tensor, floor: f64) -> Result<Tensor> {
    let per_channel = kl_map.transpose(0, 1)?.flatten_from(1)?.mean(1)?;
    per_channel.maximum(floor)?.mean_all()
}

/// Image-gradient loss on (B, C, H, W) [17]: mean of | |∂x p| − |∂x t| | plus the
/// same along y, with forward differences; sharpens predicted frames.
pub fn gradient_loss(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = pred.dims4()?;
    let dx =
        |x: &Tensor| -> Result<Tensor> { (x.narrow(3, 1, w - 1)? - x.narrow(3, 0, w - 1)?)?.abs() };
    let dy =
        |x: &Tensor| -> Result<Tensor> { (x.narrow(2, 1, h - 1)? - x.narrow(2, 0, h - 1)?)?.abs() };
    let gx = (dx(pred)? - dx(target)?)?.abs()?.mean_all()?;
    let gy = (dy(pred)? - dy(target)?)?.abs()?.mean_all()?;
    gx + gy
}

/// Per-sample score of an error map: the squared error of (B, C, H, W) tensors
/// averaged over channels, then pooled to (B,) by [`pool_map`]. Used for
/// scoring, never differentiated.
pub fn error_score(a: &Tensor, b: &Tensor, patch: usize) -> Result<Tensor> {
    let map = (a - b)?.sqr()?.mean_keepdim(1)?;
    pool_map(&map, patch)
}

/// Pools a (B, 1, H, W) map to (B,): the mean over the whole map when `patch`
/// is 0, else the largest mean over `patch` x `patch` windows with stride
/// `patch / 2` (windows are clamped to the map's size).
pub fn pool_map(map: &Tensor, patch: usize) -> Result<Tensor> {
    let (b, _, h, w) = map.dims4()?;
    if patch == 0 {
        return map.reshape((b, ()))?.mean(1);
    }
    let k = patch.min(h).min(w).max(1);
    let stride = (k / 2).max(1);
    map.avg_pool2d_with_stride((k, k), (stride, stride))?
        .reshape((b, ()))?
        .max(1)
}
