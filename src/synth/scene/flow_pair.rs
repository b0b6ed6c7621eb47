//! Two frames of a scene with the exact optical flow between them, for the
//! flow benchmark (`vadscope bench flow-pairs`).
//!
//! A figure is drawn in a local frame anchored at its feet and scaled by the
//! perspective (`figures::Local`), so if it keeps its pose, every point of it
//! moves by the same similarity: `p' = feet' + (s' / s) (p - feet)`. The pair
//! therefore freezes each figure's gait pose and facing at the first frame
//! (limbs swinging between the frames would have no single true flow) and
//! draws no shadows (a shadow moves over a background that stays: the
//! brightness pattern and the surface disagree). The background does not move.

use super::Scene;
use crate::flow::benchmark::visibility;
use crate::flow::Flow;
use crate::frame::Frame;
use crate::synth::actors::Body;

/// Frames `i` and `i + gap` of a scene with the flow from the first to the
/// second, per pixel of the first.
#[derive(Debug, Clone)]
pub struct FlowPair {
    /// The first frame.
    pub prev: Frame<u8>,
    /// The second frame.
    pub next: Frame<u8>,
    /// The exact flow from `prev` to `next` (pixels).
    pub flow: Flow,
    /// Per pixel of `prev`: the flow is defined (the pixel's surface is known
    /// and its destination lies inside the frame).
    pub valid: Vec<bool>,
    /// Per pixel of `prev`: its surface is hidden in `next` (by a figure in
    /// front).
    pub occluded: Vec<bool>,
}

impl Scene {
    /// Frames `i` and `i + gap` with their exact flow (see the module docs:
    /// figures keep their pose of frame `i`, no shadows are drawn). Pixels of
    /// the cart are not valid: it is a box in perspective whose points move
    /// by their own depth, which the renderer does not keep per pixel.
    pub fn flow_pair(&self, i: usize, gap: usize) -> FlowPair {
        let (t0, t1) = (self.time(i), self.time(i + gap));
        let (mut prev, mut next) = (Frame::default(), Frame::default());
        let (mut ids0, mut ids1) = (Vec::new(), Vec::new());
        self.render_at(t0, t0, false, i, &mut prev, &mut ids0);
        self.render_at(t1, t0, false, i + gap, &mut next, &mut ids1);
        let (w, h) = (self.cfg.width, self.cfg.height);
        let cam = &self.layout.cam;
        // Per actor id: the similarity from its image in `prev` to `next`,
        // as (feet in prev, feet in next, scale ratio), when it is in both.
        let top = self.actors.iter().map(|a| a.id as usize).max().unwrap_or(0);
        let mut motion = vec![None; top + 1];
        for a in &self.actors {
            if a.body == Body::Cart {
                continue;
            }
            if let (Some(p0), Some(p1)) = (a.at(t0), a.at(t1)) {
                let f0 = cam.project(p0[0], p0[1], p0[2]);
                let f1 = cam.project(p1[0], p1[1], p1[2]);
                let ratio = cam.scale(p1[1]) / cam.scale(p0[1]);
                motion[a.id as usize] = Some((f0, f1, ratio));
            }
        }
        let mut flow = Flow::zeros(w, h);
        let mut known = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let k = y * w + x;
                let id = ids0[k] as usize;
                let (u, v) = if id == 0 {
                    (0.0, 0.0)
                } else if let Some((f0, f1, r)) = motion.get(id).copied().flatten() {
                    let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
                    (f1.0 + r * (cx - f0.0) - cx, f1.1 + r * (cy - f0.1) - cy)
                } else {
                    // A cart, or a figure gone by the second frame: no truth.
                    continue;
                };
                flow.data[2 * k] = u;
                flow.data[2 * k + 1] = v;
                known[k] = true;
            }
        }
        let (valid, occluded) = visibility(&flow, &known, &ids0, &ids1);
        FlowPair {
            prev,
            next,
            flow,
            valid,
            occluded,
        }
    }
}
