//! The timeline benchmark (used by `vadscope bench timeline`): a headless
//! egui context draws the timeline of a long four-lane curve with ground
//! truth, then tessellates what it drew, as a UI frame would.

use std::time::Instant;

use eframe::egui;

use super::annotate::Annotator;
use super::curves::Lane;
use super::state::{AppState, Settings};
use super::store::{Store, TruthDoc};
use crate::truth::edit::Edge;
use crate::truth::history::AnnotationCommand;
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
            super::views::timeline::paint(&painter, rect, &state, &store, &annotator);
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

/// Seconds per recomputation of the live metrics (AUC, EER, AP, Δs) of a
/// `frames`-frame score curve after an edit of its ground truth, as an
/// annotator's keypress causes: `iterations` timed edits after 3 warm-ups.
pub fn live_metrics(frames: usize, iterations: usize) -> Vec<f64> {
    let mut store = Store::new("bench", frames);
    store.curves.set_lane(Lane::Score, &curve(frames, 0.0));
    // One anomalous interval per 1000 frames, 300 long.
    let truth: Vec<Interval> = (0..frames / 1000)
        .filter_map(|k| Interval::new(k * 1000 + 200, k * 1000 + 500))
        .collect();
    if truth.is_empty() {
        return Vec::new();
    }
    store.truth = TruthDoc::new(VideoTruth::new("bench", Some(frames), truth), frames, None);
    store.refresh();
    let mut times = Vec::with_capacity(iterations);
    for it in 0..iterations + 3 {
        // Nudge the first interval's end back and forth: each is an edit.
        let to = 500 + it % 2;
        let command = AnnotationCommand::MoveEdge {
            index: 0,
            edge: Edge::End,
            to,
        };
        store.truth.apply(command, None);
        let t0 = Instant::now();
        store.refresh();
        let dt = t0.elapsed().as_secs_f64();
        assert!(
            matches!(store.metrics.value, Some(Ok(_))),
            "the metrics were computed"
        );
        if it >= 3 {
            times.push(dt);
        }
    }
    times
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_metrics_benchmark_times_every_edit() {
        let t = super::live_metrics(5_000, 4);
        assert_eq!(t.len(), 4);
        assert!(t.iter().all(|&s| s > 0.0 && s < 5.0));
        assert!(
            super::live_metrics(10, 4).is_empty(),
            "no truth: nothing to time"
        );
    }

    #[test]
    fn the_benchmark_runs() {
        let t = super::timeline(20_000, 3, 800.0);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|&s| s > 0.0 && s < 5.0));
    }
}
