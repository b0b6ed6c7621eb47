//! Presentation mode's banner: the frame, its score, and the alert.

use eframe::egui;

use crate::app::curves::Lane;
use crate::app::state::AppState;
use crate::app::store::Store;

/// Presentation mode's read-out: the frame, its score, and an alert while
/// the playhead is inside an event.
pub fn presentation_banner_ui(ui: &mut egui::Ui, state: &AppState, store: &Store) {
    let v = store
        .curves
        .lane(Lane::Score)
        .get(state.current)
        .copied()
        .unwrap_or(f32::NAN);
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(format!("frame {}", state.current)).size(22.0));
        if v.is_finite() {
            ui.label(egui::RichText::new(format!("score {v:.3}")).size(22.0));
            // The alert follows the event rule (hysteresis, minimum, cooldown),
            // not every frame above the threshold.
            let alert = state
                .events(store)
                .runs
                .iter()
                .any(|r| (r.0..r.1).contains(&state.current));
            if alert {
                ui.label(
                    egui::RichText::new(" ANOMALY ")
                        .size(22.0)
                        .strong()
                        .color(egui::Color32::WHITE)
                        .background_color(egui::Color32::from_rgb(200, 30, 30)),
                );
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(egui::RichText::new("F / Esc: leave presentation").weak());
        });
    });
}
