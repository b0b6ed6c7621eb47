//! The menu bar, file dialogs (asynchronous: a thread awaits rfd's dialog, so
//! the UI never blocks) and drag and drop of files.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

use eframe::egui;

use super::annotate::TruthCommand;
use super::source::{Document, OpenRequest};
use super::state::{AppState, Command, View};
use super::store::Store;
use super::{AppCommand, Commands};

/// What a dialog picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKind {
    /// A video file.
    Video,
    /// A frame folder or a dataset root.
    Folder,
    /// Scores for the open video.
    Scores,
    /// Ground truth for the open video.
    Truth,
    /// A checkpoint to score the open video with.
    Model,
    /// Where to save the ground truth (its format follows the extension).
    SaveTruth,
    /// A folder to save the ground truth into as mask images.
    SaveMasks,
    /// A second annotator's ground truth, to compare with.
    SecondTruth,
    /// Where to export a video of what the app shows.
    ExportVideo,
    /// Where to save a picture of the main view.
    SavePicture,
}

/// Dialogs in flight.
pub struct Dialogs {
    tx: Sender<(DialogKind, PathBuf)>,
    rx: Receiver<(DialogKind, PathBuf)>,
}

impl Default for Dialogs {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel();
        Dialogs { tx, rx }
    }
}

impl Dialogs {
    /// Shows a dialog; its answer arrives through [`Dialogs::poll`].
    pub fn open(&self, kind: DialogKind, ctx: &egui::Context) {
        let tx = self.tx.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("vadscope-dialog".into())
            .spawn(move || {
                let d = rfd::AsyncFileDialog::new();
                let picked = pollster::block_on(async move {
                    match kind {
                        DialogKind::Video => d
                            .set_title("Open a video")
                            .add_filter("videos", &["mp4", "avi", "mkv", "mov", "webm", "mpg"])
                            .pick_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::Folder => d
                            .set_title("Open a frame folder or a dataset")
                            .pick_folder()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::Scores => d
                            .set_title("Open scores")
                            .add_filter("scores", &["csv", "npy"])
                            .pick_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::SecondTruth => d
                            .set_title("Open a second annotator's ground truth")
                            .add_filter("ground truth", &["json", "csv", "m", "mat", "npy"])
                            .pick_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::Truth => d
                            .set_title("Open ground truth")
                            .add_filter("ground truth", &["json", "csv", "m", "mat", "npy"])
                            .pick_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::Model => d
                            .set_title("Open a checkpoint")
                            .add_filter("checkpoints", &["safetensors"])
                            .pick_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::SaveMasks => d
                            .set_title("Save ground truth as mask images: pick the folder of per-video mask folders (as testing/masks)")
                            .pick_folder()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::ExportVideo => d
                            .set_title("Export video (the loop selection, else the whole video)")
                            .add_filter("MP4 video", &["mp4"])
                            .set_file_name("export.mp4")
                            .save_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::SavePicture => d
                            .set_title("Save a picture of this view (PNG)")
                            .add_filter("PNG image", &["png"])
                            .set_file_name("view.png")
                            .save_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                        DialogKind::SaveTruth => d
                            .set_title("Save ground truth as")
                            .add_filter("vadscope JSON", &["json"])
                            .add_filter("UCSD .m", &["m"])
                            .add_filter("MATLAB .mat", &["mat"])
                            .add_filter("frame labels .npy", &["npy"])
                            .add_filter("intervals .csv", &["csv"])
                            .save_file()
                            .await
                            .map(|h| h.path().to_path_buf()),
                    }
                });
                // No portal and no zenity: rfd answers None, and nothing happens.
                if let Some(p) = picked {
                    let _ = tx.send((kind, p));
                    ctx.request_repaint();
                }
            });
        // Without a thread there is no dialog; the menu stays usable.
        let _ = spawned;
    }

    /// Answers that arrived.
    pub fn poll(&self) -> Vec<(DialogKind, PathBuf)> {
        self.rx.try_iter().collect()
    }
}

/// What opening `path` as `kind` means with `doc` open.
pub fn request_for(kind: DialogKind, path: PathBuf, doc: &Document) -> OpenRequest {
    let same = OpenRequest {
        path: doc.path.clone(),
        model: doc.model.clone(),
        ..Default::default()
    };
    match kind {
        DialogKind::Video | DialogKind::Folder => OpenRequest {
            path: Some(path),
            model: doc.model.clone(),
            ..Default::default()
        },
        DialogKind::Scores => OpenRequest {
            scores: Some(path),
            ..same
        },
        DialogKind::Truth => OpenRequest {
            truth: Some(path),
            ..same
        },
        DialogKind::Model => OpenRequest {
            model: Some(path),
            ..same
        },
        // Saving and comparing are not opening: the app handles them before asking here.
        DialogKind::SaveTruth
        | DialogKind::SaveMasks
        | DialogKind::SecondTruth
        | DialogKind::ExportVideo
        | DialogKind::SavePicture => same,
    }
}

/// What a dropped file is, by its name.
pub fn classify(path: &Path) -> DialogKind {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        _ if path.is_dir() => DialogKind::Folder,
        "safetensors" => DialogKind::Model,
        "csv" | "npy" => DialogKind::Scores,
        "json" | "m" | "mat" => DialogKind::Truth,
        _ => DialogKind::Video,
    }
}

/// Files dropped on the window become open commands.
pub fn dropped_files(ctx: &egui::Context, cmds: &mut Commands) {
    let dropped: Vec<PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .collect()
    });
    for p in dropped {
        cmds.send(AppCommand::Picked(classify(&p), p));
    }
}

/// The menu bar.
pub fn menu_bar_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    store: &Store,
    doc: &Document,
    cmds: &mut Commands,
) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui.button("Open video…").clicked() {
                cmds.send(AppCommand::Dialog(DialogKind::Video));
            }
            if ui.button("Open frame folder or dataset…").clicked() {
                cmds.send(AppCommand::Dialog(DialogKind::Folder));
            }
            if ui.button("Open stream or camera…").clicked() {
                cmds.send(AppCommand::StreamDialog(true));
            }
            ui.separator();
            if ui.button("Open scores…").clicked() {
                cmds.send(AppCommand::Dialog(DialogKind::Scores));
            }
            if ui.button("Open ground truth…").clicked() {
                cmds.send(AppCommand::Dialog(DialogKind::Truth));
            }
            if ui
                .button("Compare with a second annotator's truth…")
                .clicked()
            {
                cmds.send(AppCommand::Dialog(DialogKind::SecondTruth));
            }
            if ui.button("Score with a model…").clicked() {
                cmds.send(AppCommand::Dialog(DialogKind::Model));
            }
            ui.separator();
            let save = store
                .truth
                .source
                .as_ref()
                .map_or("Save ground truth…".into(), |s| {
                    format!("Save ground truth to {}", file_name(&s.path))
                });
            if ui.button(format!("{save}  (Ctrl+S)")).clicked() {
                cmds.send(AppCommand::Truth(TruthCommand::Save));
            }
            if ui.button("Save ground truth as…").clicked() {
                cmds.send(AppCommand::Dialog(DialogKind::SaveTruth));
            }
            if ui
                .button("Save ground truth as mask images…")
                .on_hover_text("A folder of per-video folders of PNG masks (Ped2's testing/masks): keeps painted masks")
                .clicked()
            {
                cmds.send(AppCommand::Dialog(DialogKind::SaveMasks));
            }
            ui.separator();
            if ui
                .button("Export video…")
                .on_hover_text("An MP4 of the loop selection (else the whole video): the frame, the error map and overlay when there are maps, the ground truth, the score curve")
                .clicked()
            {
                cmds.send(AppCommand::Dialog(DialogKind::ExportVideo));
            }
            if ui
                .button("Save a picture of this view…")
                .on_hover_text("The main view as it is on screen, as a PNG at its size")
                .clicked()
            {
                cmds.send(AppCommand::Dialog(DialogKind::SavePicture));
            }
            ui.separator();
            ui.menu_button("Recent", |ui| {
                if state.settings.recent.is_empty() {
                    ui.label("nothing yet");
                }
                for p in &state.settings.recent {
                    if ui.button(p.display().to_string()).clicked() {
                        cmds.send(AppCommand::Open(OpenRequest {
                            path: Some(p.clone()),
                            ..Default::default()
                        }));
                    }
                }
            });
            if ui.button("Demo scene").clicked() {
                cmds.send(AppCommand::Open(OpenRequest::default()));
            }
            if !doc.siblings.is_empty() {
                ui.menu_button("Dataset videos", |ui| {
                    for (name, p) in &doc.siblings {
                        if ui
                            .selectable_label(*name == doc.name, name.as_str())
                            .clicked()
                        {
                            cmds.send(AppCommand::OpenSibling(p.clone()));
                        }
                    }
                });
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
        ui.menu_button("Edit", |ui| {
            let edit = &store.truth.edit;
            let undo = edit
                .undo_label()
                .map_or("Undo".into(), |l| format!("Undo {l}"));
            if ui
                .add_enabled(edit.undo_label().is_some(), egui::Button::new(undo))
                .clicked()
            {
                cmds.send(AppCommand::Truth(TruthCommand::Undo));
            }
            let redo = edit
                .redo_label()
                .map_or("Redo".into(), |l| format!("Redo {l}"));
            if ui
                .add_enabled(edit.redo_label().is_some(), egui::Button::new(redo))
                .clicked()
            {
                cmds.send(AppCommand::Truth(TruthCommand::Redo));
            }
            ui.separator();
            use super::keys::Action;
            for a in [
                Action::MarkIn,
                Action::MarkOut,
                Action::Split,
                Action::Merge,
                Action::DeleteInterval,
                Action::AcceptDetection,
                Action::Review,
            ] {
                action_button_ui(ui, a, state, cmds);
            }
            ui.separator();
            for a in [
                Action::BoxTool,
                Action::EndTrack,
                Action::IntervalsFromBoxes,
            ] {
                action_button_ui(ui, a, state, cmds);
            }
        });
        ui.menu_button("View", |ui| {
            for v in View::ALL {
                if ui
                    .selectable_label(state.settings.view == v, v.label())
                    .clicked()
                {
                    cmds.send(Command::SetView(v));
                }
            }
            ui.separator();
            if ui.button("Presentation mode (F)").clicked() {
                cmds.send(Command::TogglePresentation);
            }
            if ui.button("Show all (0)").clicked() {
                cmds.send(Command::ResetImageView);
                cmds.send(Command::ResetTimeline);
            }
        });
        ui.menu_button("Help", |ui| {
            if ui.button("Keyboard shortcuts (?)").clicked() {
                cmds.send(Command::ToggleHelp);
            }
        });
        ui.separator();
        ui.label(
            egui::RichText::new(format!(
                "{} — {}",
                doc.name,
                match (doc.path.as_deref(), doc.live()) {
                    (Some(p), _) => p.display().to_string(),
                    (None, Some(feed)) => feed.source.clone(),
                    (None, None) => "built-in demo".into(),
                }
            ))
            .weak(),
        );
    });
}

/// The window that opens a live source: a URL or a device, typed (kept in
/// egui's memory while typed, so the app state holds only whether it shows).
pub fn stream_dialog_ui(ctx: &egui::Context, doc: &Document, cmds: &mut Commands) {
    let id = egui::Id::unique("vadscope_stream_url");
    let mut url: String = ctx.data_mut(|d| d.get_temp(id)).unwrap_or_default();
    let mut open = true;
    egui::Window::new("Open stream or camera")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .show(ctx, |ui| {
            ui.label("rtsp://, udp://, http(s):// (any FFmpeg protocol) or /dev/video0:");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut url)
                    .hint_text("udp://127.0.0.1:5600")
                    .desired_width(320.0),
            );
            let model = doc.model.as_ref().map_or_else(
                || "the built-in demo model".to_string(),
                |m| m.display().to_string(),
            );
            ui.label(
                egui::RichText::new(format!("scored with {model}"))
                    .small()
                    .weak(),
            );
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let ready = crate::video::live::is_live(url.trim());
            ui.horizontal(|ui| {
                let connect = ui.add_enabled(ready, egui::Button::new("Connect"));
                if connect.clicked() || (enter && ready) {
                    cmds.send(AppCommand::StreamDialog(false));
                    cmds.send(AppCommand::Open(OpenRequest {
                        path: Some(PathBuf::from(url.trim())),
                        model: doc.model.clone(),
                        ..Default::default()
                    }));
                }
                if ui.button("Cancel").clicked() {
                    cmds.send(AppCommand::StreamDialog(false));
                }
            });
            if !ready && !url.trim().is_empty() {
                ui.label(
                    egui::RichText::new("not a stream URL or a /dev/video device")
                        .small()
                        .color(egui::Color32::LIGHT_RED),
                );
            }
        });
    if !open {
        cmds.send(AppCommand::StreamDialog(false));
    }
    ctx.data_mut(|d| d.insert_temp(id, url));
}

/// A path's last component, for menus.
fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A menu entry for a keyboard action: its label and first key from the one
/// shortcut table, and the same commands the key sends.
fn action_button_ui(
    ui: &mut egui::Ui,
    a: super::keys::Action,
    state: &AppState,
    cmds: &mut Commands,
) {
    let key = a.shortcuts().first().map(super::keys::key_text);
    let text = match key {
        Some(k) => format!("{} ({k})", a.label()),
        None => a.label().to_string(),
    };
    if ui.button(text).clicked() {
        for c in a.commands(state) {
            cmds.send(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_files_are_classified_by_name() {
        assert_eq!(
            classify(Path::new("/x/model.safetensors")),
            DialogKind::Model
        );
        assert_eq!(classify(Path::new("/x/scores.csv")), DialogKind::Scores);
        assert_eq!(classify(Path::new("/x/ped2.mat")), DialogKind::Truth);
        assert_eq!(classify(Path::new("/x/clip.avi")), DialogKind::Video);
        assert_eq!(classify(&std::env::temp_dir()), DialogKind::Folder);
    }

    #[test]
    fn scores_apply_to_the_open_video() {
        let doc = Document::demo().unwrap();
        let r = request_for(DialogKind::Scores, "/s".into(), &doc);
        assert_eq!(r.path, None);
        assert_eq!(r.scores, Some(PathBuf::from("/s")));
        let r = request_for(DialogKind::Video, "/v.mp4".into(), &doc);
        assert_eq!(r.path, Some(PathBuf::from("/v.mp4")));
    }
}
