//! The annotation's questions: restore a recovery file, overwrite or
//! reload a truth file that changed on disk, save before quitting.

use eframe::egui;

use crate::app::annotate::recovery::Recovery;
use crate::app::annotate::TruthCommand;
use crate::app::store::TruthSource;
use crate::app::{AppCommand, Commands};

/// Offers the edits found in the recovery file.
pub(crate) fn recovery_offer_ui(ctx: &egui::Context, rec: &Recovery, cmds: &mut Commands) {
    egui::Window::new("Recover unsaved ground truth")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            let age_s = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                .saturating_sub(rec.written_unix_s);
            ui.label(format!(
                "vadscope stopped with unsaved ground-truth edits of {} ({}, written {} ago).",
                rec.video,
                counted(rec.intervals.len(), rec.tracks.len(), rec.masks.len()),
                age_text(age_s)
            ));
            ui.horizontal(|ui| {
                if ui.button("Restore").clicked() {
                    cmds.send(AppCommand::Recover(true));
                }
                if ui.button("Discard").clicked() {
                    cmds.send(AppCommand::Recover(false));
                }
            });
        });
}

/// "1 interval", "3 intervals, 2 box tracks and 4 painted masks".
fn counted(intervals: usize, tracks: usize, masks: usize) -> String {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let mut parts = vec![format!("{intervals} interval{}", s(intervals))];
    if tracks > 0 {
        parts.push(format!("{tracks} box track{}", s(tracks)));
    }
    if masks > 0 {
        parts.push(format!("{masks} painted mask{}", s(masks)));
    }
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.concat(),
    }
}

/// "42 s", "5 min", "3 h", "2 days".
fn age_text(s: u64) -> String {
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// Asks whether to overwrite a truth file that changed on disk since it was read.
pub(crate) fn disk_conflict_ui(ctx: &egui::Context, target: &TruthSource, cmds: &mut Commands) {
    egui::Window::new("Ground-truth file changed on disk")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.label(format!(
                "{} changed since vadscope read it (another program or annotator saved it). Saving now replaces their version; it would be kept as {}.bak.",
                target.path.display(),
                target.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            ));
            ui.horizontal(|ui| {
                if ui.button("Overwrite it").clicked() {
                    cmds.send(AppCommand::OverwriteChanged(true));
                }
                if ui.button("Save as…").clicked() {
                    cmds.send(AppCommand::OverwriteChanged(false));
                    cmds.send(AppCommand::Dialog(crate::app::menu::DialogKind::SaveTruth));
                }
                if ui
                    .button("Reload theirs")
                    .on_hover_text("Read the file as it is now; Ctrl+Z brings your edits back")
                    .clicked()
                {
                    cmds.send(AppCommand::OverwriteChanged(false));
                    cmds.send(AppCommand::Truth(TruthCommand::Reload));
                }
                if ui.button("Cancel").clicked() {
                    cmds.send(AppCommand::OverwriteChanged(false));
                }
            });
        });
}

/// Asks what to do with unsaved ground truth when the window is closed.
pub(crate) fn quit_question_ui(ctx: &egui::Context, cmds: &mut Commands) {
    egui::Window::new("Unsaved ground truth")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.label("The ground truth has changes that are not saved.");
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    cmds.send(AppCommand::Truth(TruthCommand::Save));
                    cmds.send(AppCommand::CancelQuit);
                }
                if ui.button("Quit without saving").clicked() {
                    cmds.send(AppCommand::QuitDiscarding);
                }
                if ui.button("Cancel").clicked() {
                    cmds.send(AppCommand::CancelQuit);
                }
            });
        });
}
