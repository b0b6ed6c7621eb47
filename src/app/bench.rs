//! The timeline benchmark (used by `vadscope bench timeline`): a headless
//! egui context draws the timeline of a long four-lane curve with ground
//! truth, then tessellates what it drew, as a UI frame would.

use std::time::Instant;

use eframe::egui;

use super::annotate::Annotator;
use super::curves::Lane;
use super::state::{AppState, Settings};
use super::store::{Store, TruthDoc};
use crate::truth::{Interval, VideoTruth};

/// A deterministic bumpy curve with bursts (no RNG dependency).
fn curve(n: usize, phase: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32;
            let base = 0.3 + 0.1 * (t * 0.001 + phase).sin() + 0.05 * (t * 0.37 + phase).sin();
            let burst = if (i / 5000) % 7 == 3 { 0.4 } else { 0.0 };
            base + burst
        })
        .collect()
}

/// Seconds per UI frame for `iterations` timed frames of a `frames`-frame timeline `width` points wide.
pub fn timeline(frames: usize, iterations: usize, width: f32) -> Vec<f64> {
    let mut state = AppState::new(frames, 25.0, Settings::default());
    let mut store = Store::new("bench", frames);
    for (k, lane) in Lane::ALL.into_iter().enumerate() {
        store.curves.set_lane(lane, &curve(frames, k as f32));
    }
    let truth = (0..frames / 35_000)
        .filter_map(|k| Interval::new(k * 35_000 + 15_000, k * 35_000 + 20_000))
        .collect();
    store.truth = TruthDoc::new(VideoTruth::new("bench", Some(frames), truth), frames, None);
    let annotator = Annotator::default();
    state.threshold = 0.55;
    state.current = frames / 3;
    let ctx = egui::Context::default();
    let rect = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width, 260.0));
    let input = || egui::RawInput {
        screen_rect: Some(rect),
        ..Default::default()
    };
    let mut times = Vec::with_capacity(iterations);
    for it in 0..iterations + 10 {
        // Alternate the playhead as playback would; the curves stay, so the pyramid is cached.
        state.current = (state.current + 1) % frames.max(1);
        let t0 = Instant::now();
        let mut out = ctx.run_ui(input(), |ui| {
            let painter = ui.painter().clone();
            super::timeline::paint(&painter, rect, &state, &store, &annotator);
        });
        // Nothing renders here: font atlas uploads are dropped on purpose.
        out.textures_delta.clear();
        let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
        std::hint::black_box(prims);
        if it >= 10 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_benchmark_runs() {
        let t = super::timeline(20_000, 3, 800.0);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|&s| s > 0.0 && s < 5.0));
    }
}
