//! Dense optical flow between consecutive frames (coarse-to-fine, DIS family).
//!
//! The estimator follows the structure of DIS (Kroeger et al. 2016): on each level
//! of an image pyramid, from coarse to fine, a grid of overlapping patches is
//! aligned by inverse-compositional Gauss-Newton search (one Hessian per patch,
//! mean-normalised patches), the patch flows are densified by a weighted average
//! (weights from each patch's photometric error at the pixel), and the dense field
//! is refined variationally (brightness and gradient constancy, robust
//! smoothness, red-black SOR). Everything is `f32`, parallel over rows/patches
//! with rayon (a level's whole refinement as one wavefront over row blocks,
//! `wavefront`), and [`FlowEstimator`] keeps its buffers between calls, so
//! estimating flow for a stream of frames of one size allocates nothing after
//! the first pair.
//!
//! **Units.** Flow vectors are in pixels of the frames given to [`dense`]: if the
//! model sees 256x256 frames, compute flow on the 256x256 frames (or compute it
//! at another size and call [`Flow::resized`], which rescales the vectors).
//! `u` points right (+x), `v` points down (+y): pixel `(x, y)` of `prev` moved
//! to `(x + u, y + v)` in `next`.

pub mod benchmark;
mod color;
mod io;
mod pyramid;
mod search;
mod simd;
mod sor;
mod variational;
mod wavefront;

use crate::error::{Error, Result};
use crate::frame::Frame;

pub use color::{flow_to_rgb, flow_to_rgb_with_max, wheel_color};
pub use io::{decode_flo, encode_flo, read_flo, write_flo};

/// A dense flow field: one `(u, v)` vector per pixel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flow {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 2` values, row-major, `u` and `v` interleaved
    /// (the layout of Middlebury `.flo` files).
    pub data: Vec<f32>,
}

impl Flow {
    /// A zero flow field.
    pub fn zeros(width: usize, height: usize) -> Self {
        Flow {
            width,
            height,
            data: vec![0.0; width * height * 2],
        }
    }

    /// The vector `(u, v)` at pixel `(x, y)`.
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> (f32, f32) {
        let i = 2 * (y * self.width + x);
        (self.data[i], self.data[i + 1])
    }

    /// The field resampled (bilinear) to `width` x `height`, with its vectors
    /// rescaled to pixels of the new size (`u` by `width / self.width`, `v` by
    /// `height / self.height`).
    pub fn resized(&self, width: usize, height: usize) -> Result<Flow> {
        if self.width == 0 || self.height == 0 || width == 0 || height == 0 {
            return Err(Error::invalid(format!(
                "cannot resize a {}x{} flow to {width}x{height}",
                self.width, self.height
            )));
        }
        let (sx, sy) = (
            self.width as f32 / width as f32,
            self.height as f32 / height as f32,
        );
        let mut out = Flow::zeros(width, height);
        let cols = crate::frame::bilinear_taps(width, self.width);
        for (y, (y0, y1, ty)) in crate::frame::bilinear_taps(height, self.height)
            .into_iter()
            .enumerate()
        {
            for (x, &(x0, x1, tx)) in cols.iter().enumerate() {
                for c in 0..2 {
                    let g = |xx: usize, yy: usize| self.data[2 * (yy * self.width + xx) + c];
                    let top = g(x0, y0) * (1.0 - tx) + g(x1, y0) * tx;
                    let bottom = g(x0, y1) * (1.0 - tx) + g(x1, y1) * tx;
                    let val = top * (1.0 - ty) + bottom * ty;
                    out.data[2 * (y * width + x) + c] = val / if c == 0 { sx } else { sy };
                }
            }
        }
        Ok(out)
    }

    /// Average end-point error against `truth`, over pixels where `mask` (if
    /// given, one value per pixel) is true.
    pub fn epe(&self, truth: &Flow, mask: Option<&[bool]>) -> Result<f64> {
        if self.width != truth.width || self.height != truth.height {
            return Err(Error::invalid(format!(
                "flow sizes differ: {}x{} vs {}x{}",
                self.width, self.height, truth.width, truth.height
            )));
        }
        if mask.is_some_and(|m| m.len() != self.width * self.height) {
            return Err(Error::invalid("EPE mask size does not match the flow"));
        }
        let (mut sum, mut n) = (0.0f64, 0usize);
        for (i, (a, b)) in self
            .data
            .chunks_exact(2)
            .zip(truth.data.chunks_exact(2))
            .enumerate()
        {
            if mask.is_none_or(|m| m[i]) {
                sum += (((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)) as f64).sqrt();
                n += 1;
            }
        }
        if n == 0 {
            return Err(Error::invalid("EPE over an empty mask"));
        }
        Ok(sum / n as f64)
    }
}

/// Speed/accuracy presets of [`Params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preset {
    /// Patch search and refinement down to half resolution, then bilinear
    /// upsampling: the quickest.
    Fast,
    /// As `Fast`, plus one light refinement at full resolution: the default.
    /// Quicker than OpenCV's DIS "medium" at 2 threads, with a 4-32 % higher
    /// end-point error on the flow benchmark's held-out sets
    /// (`docs/results/flow/README.md`).
    #[default]
    Balanced,
    /// Denser patches (every 3 px), patch search and refinement at every level
    /// down to full resolution.
    Accurate,
}

impl std::str::FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "fast" => Ok(Preset::Fast),
            "balanced" => Ok(Preset::Balanced),
            "accurate" => Ok(Preset::Accurate),
            _ => Err(Error::invalid(format!(
                "unknown flow preset {s:?} (fast, balanced, accurate)"
            ))),
        }
    }
}

/// Parameters of the estimator. Start from [`Params::preset`] (or `default()`,
/// which is [`Preset::Balanced`]) and adjust fields. A model's configuration
/// records the parameters it was trained with (`input.flow`), so scoring
/// computes the same flow.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    /// Side of the square patches aligned by inverse search: 8, 12 or 16.
    pub patch_size: usize,
    /// Distance between neighbouring patches in pixels (1..=patch_size).
    pub patch_stride: usize,
    /// Gauss-Newton iterations per patch (stops early once converged).
    pub search_iterations: usize,
    /// Share of each Gauss-Newton step taken (0 < step <= 1). Damped steps
    /// keep a patch on noise or weak texture near its coarser estimate
    /// instead of letting it lock onto noise (issue #19's benchmark: 1/8 with
    /// 12 iterations beats full steps on every set but smooth-small). Older
    /// configs, which lack the field, read as 1 (full steps).
    #[serde(default = "one")]
    pub search_step: f32,
    /// Keep, for each patch, the position of lowest mean-normalised SSD among
    /// those its search visited (the start and the end included) instead of
    /// where the last step landed; costs one more warp per patch. Older
    /// configs read as off.
    #[serde(default)]
    pub search_keep_best: bool,
    /// Spatial propagation between neighbouring patches (DIS's), which
    /// carries a motion across the boundaries that coarser levels blurred.
    /// Older configs read as off.
    #[serde(default)]
    pub search_propagation: Propagation,
    /// A neighbour's flow replaces a patch's own only where its
    /// mean-normalised SSD is below this share of the own flow's (0 < margin
    /// <= 1; 1 = any improvement, as DIS). Lower margins stop flows drifting
    /// from patch to patch on noise and flat texture. Older configs read as 1.
    #[serde(default = "one")]
    pub search_propagation_margin: f32,
    /// A neighbour's flow closer than this many pixels (of the level searched)
    /// to the patch's own is taken on any improvement, as in DIS; the margin
    /// applies only to flows farther away. Small corrections then spread
    /// (sub-pixel motion) while distant flows still need a clear win to
    /// replace a patch's own. 0 = the margin applies to every neighbour;
    /// older configs read as 0.
    #[serde(default)]
    pub search_propagation_near_px: f32,
    /// Finest pyramid level with patch search (0 = full resolution, 1 = half...).
    pub finest_level: usize,
    /// Coarsest level; `None` picks it so that the coarsest image is about
    /// four patches wide.
    pub coarsest_level: Option<usize>,
    /// Fixed-point iterations of the variational refinement on levels with patch
    /// search (0 = no refinement).
    pub refine_iterations: usize,
    /// Fixed-point iterations on levels below `finest_level`, where the flow is
    /// only upsampled and refined (0 = upsample only).
    pub upsample_refine_iterations: usize,
    /// SOR sweeps per fixed-point iteration.
    pub sor_iterations: usize,
    /// SOR sweeps per fixed-point iteration on levels below `finest_level`
    /// (they start from a good upsampled flow, and are the largest).
    pub upsample_sor_iterations: usize,
    /// Smoothness weight of the refinement.
    pub alpha: f32,
    /// Brightness-constancy weight of the refinement.
    pub delta: f32,
    /// Gradient-constancy weight of the refinement.
    pub gamma: f32,
}

/// How the patch search shares flows between neighbouring patches
/// ([`Params::search_propagation`]). Both kinds visit the patch grid in two
/// passes, forward (left to right, top to bottom) and backward, comparing a
/// patch's flow with its already visited neighbours' (left and above, then
/// right and below); flows spread within stripes of 8 grid rows, which run
/// in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    /// Each patch searches from the coarser level's flow alone.
    #[default]
    Off,
    /// As DIS: a patch starts its search from the best of its own and its
    /// neighbours' flows; each pass has half the iterations.
    Before,
    /// A patch searches from its own flow (forward pass, all iterations) and
    /// then takes a neighbour's result where that fits better; the backward
    /// pass only compares, so a patch is searched once.
    After,
}

/// The serde default of fields that older configs lack and that read as 1.
fn one() -> f32 {
    1.0
}

impl Params {
    /// The parameters of a preset.
    pub fn preset(preset: Preset) -> Self {
        let base = Params {
            patch_size: 8,
            patch_stride: 4,
            search_iterations: 6,
            search_step: 1.0,
            search_keep_best: false,
            search_propagation: Propagation::Off,
            search_propagation_margin: 1.0,
            search_propagation_near_px: 0.0,
            finest_level: 1,
            coarsest_level: None,
            refine_iterations: 2,
            upsample_refine_iterations: 1,
            sor_iterations: 5,
            upsample_sor_iterations: 3,
            alpha: 20.0,
            delta: 5.0,
            gamma: 10.0,
        };
        match preset {
            Preset::Fast => Params {
                upsample_refine_iterations: 0,
                ..base
            },
            Preset::Balanced => base,
            Preset::Accurate => Params {
                patch_stride: 3,
                search_iterations: 12,
                finest_level: 0,
                refine_iterations: 3,
                upsample_refine_iterations: 0,
                ..base
            },
        }
    }

    /// The name of the preset these parameters are, if they are one.
    pub fn preset_name(&self) -> Option<&'static str> {
        [
            (Preset::Fast, "fast"),
            (Preset::Balanced, "balanced"),
            (Preset::Accurate, "accurate"),
        ]
        .into_iter()
        .find(|(p, _)| Params::preset(*p) == *self)
        .map(|(_, name)| name)
    }

    /// Checks every field's range; messages name the field. Iteration counts
    /// and levels are bounded so that a stored configuration cannot make the
    /// estimator run without end.
    pub fn validate(&self) -> Result<()> {
        for (name, v, hi) in [
            ("search_iterations", self.search_iterations, 1000),
            ("finest_level", self.finest_level, 16),
            ("coarsest_level", self.coarsest_level.unwrap_or(0), 16),
            ("refine_iterations", self.refine_iterations, 1000),
            (
                "upsample_refine_iterations",
                self.upsample_refine_iterations,
                1000,
            ),
            ("sor_iterations", self.sor_iterations, 1000),
            (
                "upsample_sor_iterations",
                self.upsample_sor_iterations,
                1000,
            ),
        ] {
            if v > hi {
                return Err(Error::invalid(format!(
                    "flow {name} {v} is out of range (allowed: 0 to {hi})"
                )));
            }
        }
        if ![8, 12, 16].contains(&self.patch_size) {
            return Err(Error::invalid(format!(
                "flow patch size must be 8, 12 or 16, not {}",
                self.patch_size
            )));
        }
        if self.patch_stride == 0 || self.patch_stride > self.patch_size {
            return Err(Error::invalid(format!(
                "flow patch stride must be in 1..={}, not {}",
                self.patch_size, self.patch_stride
            )));
        }
        for (name, v) in [
            ("search_step", self.search_step),
            ("search_propagation_margin", self.search_propagation_margin),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return Err(Error::invalid(format!(
                    "flow {name} {v} is out of range (allowed: above 0, at most 1)"
                )));
            }
        }
        // Non-negative fields up to a bound (and the bound as messages write it).
        for (name, v, hi, shown) in [
            (
                "search_propagation_near_px",
                self.search_propagation_near_px,
                64.0,
                "64",
            ),
            ("alpha", self.alpha, 1e6, "1e6"),
            ("delta", self.delta, 1e6, "1e6"),
            ("gamma", self.gamma, 1e6, "1e6"),
        ] {
            if !(v.is_finite() && (0.0..=hi).contains(&v)) {
                return Err(Error::invalid(format!(
                    "flow {name} {v} is out of range (allowed: 0 to {shown})"
                )));
            }
        }
        Ok(())
    }
}

impl Default for Params {
    fn default() -> Self {
        Params::preset(Preset::Balanced)
    }
}

/// Dense flow from `prev` to `next`, both gray `f32` frames (values in `[0, 1]`)
/// of the same size, at least `patch_size` pixels on each side. Vectors are in
/// pixels of that size. For many pairs, keep a [`FlowEstimator`] instead: it
/// reuses its buffers.
pub fn dense(prev: &Frame<f32>, next: &Frame<f32>, params: &Params) -> Result<Flow> {
    let mut flow = Flow::default();
    FlowEstimator::new(params.clone())?.estimate_into(prev, next, &mut flow)?;
    Ok(flow)
}

/// A flow estimator that owns its pyramids and work buffers, so that successive
/// pairs of one size allocate nothing.
#[derive(Debug, Clone)]
pub struct FlowEstimator {
    params: Params,
    levels: Vec<pyramid::Level>,
    /// Work buffers per level: one set per size, so that a stream of pairs
    /// of one size never resizes (and refills) them.
    scratch: Vec<variational::Scratch>,
    patches: Vec<search::PatchField>,
}

impl FlowEstimator {
    /// An estimator with these parameters (checked here).
    pub fn new(params: Params) -> Result<Self> {
        params.validate()?;
        Ok(FlowEstimator {
            params,
            levels: Vec::new(),
            scratch: Vec::new(),
            patches: Vec::new(),
        })
    }

    /// The parameters in use.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Flow from `prev` to `next` (see [`dense`]).
    pub fn estimate(&mut self, prev: &Frame<f32>, next: &Frame<f32>) -> Result<Flow> {
        let mut flow = Flow::default();
        self.estimate_into(prev, next, &mut flow)?;
        Ok(flow)
    }

    /// Flow from `prev` to `next`, written into `out` (its allocation is reused).
    pub fn estimate_into(
        &mut self,
        prev: &Frame<f32>,
        next: &Frame<f32>,
        out: &mut Flow,
    ) -> Result<()> {
        let p = &self.params;
        for (name, f) in [("previous", prev), ("next", next)] {
            if f.channels != 1 {
                return Err(Error::invalid(format!(
                    "flow needs gray frames; the {name} frame has {} channels",
                    f.channels
                )));
            }
            if f.data.len() != f.width * f.height {
                return Err(Error::invalid(format!(
                    "the {name} frame's data does not match its {}x{} size",
                    f.width, f.height
                )));
            }
        }
        if (prev.width, prev.height) != (next.width, next.height) {
            return Err(Error::invalid(format!(
                "flow frames differ in size: {}x{} and {}x{}",
                prev.width, prev.height, next.width, next.height
            )));
        }
        let (w, h) = (prev.width, prev.height);
        if w < p.patch_size || h < p.patch_size {
            return Err(Error::invalid(format!(
                "frames of {w}x{h} are too small for flow: at least {0}x{0} pixels",
                p.patch_size
            )));
        }
        // Run on a pool thread: parallel loops started from there that do not
        // split (small levels) run inline instead of waking the pool.
        rayon::scope(|_| self.run_levels(prev, next));
        let l0 = &self.levels[0];
        out.width = w;
        out.height = h;
        out.data.resize(w * h * 2, 0.0);
        for ((o, &u), &v) in out.data.chunks_exact_mut(2).zip(&l0.u).zip(&l0.v) {
            o[0] = u;
            o[1] = v;
        }
        Ok(())
    }

    /// The coarse-to-fine loop, leaving the flow in `levels[0]`.
    fn run_levels(&mut self, prev: &Frame<f32>, next: &Frame<f32>) {
        let p = &self.params;
        let (w, h) = (prev.width, prev.height);
        let nlev = level_count(w, h, p);
        pyramid::build(&mut self.levels, prev, next, nlev, p.patch_size);
        self.scratch.resize_with(nlev, Default::default);
        self.patches.resize_with(nlev, Default::default);
        let finest = p.finest_level.min(nlev - 1);
        for l in (0..nlev).rev() {
            let (upper, rest) = self.levels.split_at_mut(l + 1);
            let level = &mut upper[l];
            match rest.first() {
                Some(coarser) => pyramid::upsample_flow(coarser, level),
                None => {
                    level.u.fill(0.0);
                    level.v.fill(0.0);
                }
            }
            let (refine, sor) = if l >= finest {
                search::search_and_densify(level, &mut self.patches[l], p);
                (p.refine_iterations, p.sor_iterations)
            } else {
                (p.upsample_refine_iterations, p.upsample_sor_iterations)
            };
            if refine > 0 && sor > 0 {
                variational::refine(level, &mut self.scratch[l], p, refine, sor);
            }
        }
    }
}

/// Levels in the pyramid: the coarsest is about four patches wide, and no level
/// is smaller than one patch.
fn level_count(w: usize, h: usize, p: &Params) -> usize {
    let mut max_by_size = 0;
    while (w >> (max_by_size + 1)) >= p.patch_size && (h >> (max_by_size + 1)) >= p.patch_size {
        max_by_size += 1;
    }
    let auto = {
        let ratio = w.max(h) as f32 / (4 * p.patch_size) as f32;
        if ratio > 1.0 {
            ratio.log2().round() as usize
        } else {
            0
        }
    };
    p.coarsest_level.unwrap_or(auto).min(max_by_size) + 1
}

#[cfg(test)]
mod tests;
