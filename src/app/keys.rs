//! Keyboard shortcuts. Keys are consumed before widgets see them, so arrows
//! and Space drive the timeline rather than focus navigation (except while
//! typing into a text field).

use eframe::egui::{self, Key, Modifiers};

use super::state::{AppState, Command};
use super::Commands;

/// The shortcuts, for the help popover: `(keys, what)`.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    ("Left / Right", "one frame back / forward"),
    ("Shift + Left / Right", "ten frames back / forward"),
    ("Home / End", "first / last frame"),
    (
        "J / K / L",
        "shuttle back / stop / forward (repeat: faster)",
    ),
    (". / ,", "next / previous frame above threshold"),
    ("G / Shift + G", "next / previous ground-truth interval"),
    ("1 – 4", "frame, flow, error maps, memory view"),
    ("F / Esc", "presentation mode on / off"),
    ("0", "show all (image and timeline)"),
    ("?", "this help"),
];

/// Turns this frame's key presses into commands.
pub fn handle(ctx: &egui::Context, state: &AppState, cmds: &mut Commands) {
    if ctx.text_edit_focused() {
        return;
    }
    let views = [
        (Key::Num1, super::View::Frame),
        (Key::Num2, super::View::Flow),
        (Key::Num3, super::View::Maps),
        (Key::Num4, super::View::Memory),
    ];
    ctx.input_mut(|i| {
        let shift = Modifiers::SHIFT;
        let none = Modifiers::NONE;
        // Shifted variants first: consume_key matches modifiers exactly.
        if i.consume_key(shift, Key::ArrowLeft) {
            cmds.send(Command::Step(-10));
        }
        if i.consume_key(shift, Key::ArrowRight) {
            cmds.send(Command::Step(10));
        }
        if i.consume_key(shift, Key::G) {
            cmds.send(Command::PrevTruth);
        }
        let plain = [
            (Key::Space, Command::TogglePlay),
            (Key::ArrowLeft, Command::Step(-1)),
            (Key::ArrowRight, Command::Step(1)),
            (Key::Home, Command::SeekStart),
            (Key::End, Command::SeekEnd),
            (Key::J, Command::ShuttleBack),
            (Key::K, Command::ShuttleStop),
            (Key::L, Command::ShuttleForward),
            (Key::Period, Command::NextAbove),
            (Key::Comma, Command::PrevAbove),
            (Key::G, Command::NextTruth),
            (Key::Questionmark, Command::ToggleHelp),
        ];
        for (k, c) in plain {
            if i.consume_key(none, k) {
                cmds.send(c);
            }
        }
        if i.consume_key(shift, Key::Questionmark) || i.consume_key(none, Key::F1) {
            cmds.send(Command::ToggleHelp);
        }
        if i.consume_key(none, Key::F) {
            cmds.send(Command::TogglePresentation);
        }
        if i.consume_key(none, Key::Escape) {
            if state.presentation {
                cmds.send(Command::TogglePresentation);
            } else if state.show_help {
                cmds.send(Command::ToggleHelp);
            }
        }
        if i.consume_key(none, Key::Num0) {
            cmds.send(Command::ResetImageView);
            cmds.send(Command::ResetTimeline);
        }
        for (k, v) in views {
            if i.consume_key(none, k) {
                cmds.send(Command::SetView(v));
            }
        }
    });
}

/// The shortcut help popover.
pub fn help_window(ctx: &egui::Context, cmds: &mut Commands) {
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::RIGHT_TOP, [-12.0, 40.0])
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                for (k, what) in SHORTCUTS {
                    ui.monospace(*k);
                    ui.label(*what);
                    ui.end_row();
                }
            });
            ui.label("Timeline: click or drag to seek, Shift-drag to select a loop, scroll to zoom, right-drag to pan, drag the orange line to set the threshold.");
        });
    if !open {
        cmds.send(Command::ToggleHelp);
    }
}
