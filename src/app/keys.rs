//! Keyboard shortcuts: one table ([`Action`]) gives both the key handling and
//! the help popover, so they cannot drift apart (Rerun's `UICommand`). Keys
//! are consumed before widgets see them, so arrows and Space drive the
//! timeline rather than focus navigation (except while typing into a text field).

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use super::annotate::TruthCommand;
use super::state::{AppState, Command};
use super::{AppCommand, Commands};

/// Everything a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Space.
    TogglePlay,
    /// Left.
    StepBack,
    /// Right.
    StepForward,
    /// Shift+Left.
    StepBack10,
    /// Shift+Right.
    StepForward10,
    /// Home.
    First,
    /// End.
    Last,
    /// J.
    ShuttleBack,
    /// K.
    ShuttleStop,
    /// L.
    ShuttleForward,
    /// `[`.
    Slower,
    /// `]`.
    Faster,
    /// `=`.
    NormalSpeed,
    /// `.`.
    NextAbove,
    /// `,`.
    PrevAbove,
    /// Tab, G.
    NextInterval,
    /// Shift+Tab, Shift+G.
    PrevInterval,
    /// I.
    MarkIn,
    /// O.
    MarkOut,
    /// Delete, Backspace.
    DeleteInterval,
    /// S.
    Split,
    /// M.
    Merge,
    /// E.
    ToggleEdge,
    /// A.
    AcceptDetection,
    /// R.
    Review,
    /// Y.
    ReviewAccept,
    /// N.
    ReviewReject,
    /// Shift+L.
    LoopInterval,
    /// H (held).
    Record,
    /// D.
    NextDisagreement,
    /// Shift+D.
    PrevDisagreement,
    /// B.
    BoxTool,
    /// Shift+O.
    EndTrack,
    /// Shift+B.
    IntervalsFromBoxes,
    /// P.
    Brush,
    /// Alt+[.
    BrushSmaller,
    /// Alt+].
    BrushLarger,
    /// Alt+Left.
    NudgeBack,
    /// Alt+Right.
    NudgeForward,
    /// Alt+Shift+Left.
    NudgeBack10,
    /// Alt+Shift+Right.
    NudgeForward10,
    /// Ctrl+Z.
    Undo,
    /// Ctrl+Shift+Z, Ctrl+Y.
    Redo,
    /// Ctrl+S.
    Save,
    /// 1.
    ViewFrame,
    /// 2.
    ViewFlow,
    /// 3.
    ViewMaps,
    /// 4.
    ViewMemory,
    /// F.
    Presentation,
    /// Esc.
    Escape,
    /// 0.
    ShowAll,
    /// ?, F1 (Shift, which ? needs on most layouts, is ignored).
    Help,
}

/// A `&'static` list of shortcuts: `keys![NONE, Key::Tab; SHIFT, Key::G]`.
macro_rules! keys {
    ($($m:expr, $k:expr);+) => {{
        const KEYS: &[KeyboardShortcut] = &[$(KeyboardShortcut::new($m, $k)),+];
        KEYS
    }};
}

const NONE: Modifiers = Modifiers::NONE;
const SHIFT: Modifiers = Modifiers::SHIFT;
const ALT: Modifiers = Modifiers::ALT;
const CMD: Modifiers = Modifiers::COMMAND;
const ALT_SHIFT: Modifiers = Modifiers::ALT.plus(Modifiers::SHIFT);
const CMD_SHIFT: Modifiers = Modifiers::COMMAND.plus(Modifiers::SHIFT);

impl Action {
    /// Every action, in the help's order.
    pub const ALL: &[Action] = &[
        Action::TogglePlay,
        Action::StepBack,
        Action::StepForward,
        Action::StepBack10,
        Action::StepForward10,
        Action::First,
        Action::Last,
        Action::ShuttleBack,
        Action::ShuttleStop,
        Action::ShuttleForward,
        Action::Slower,
        Action::Faster,
        Action::NormalSpeed,
        Action::NextAbove,
        Action::PrevAbove,
        Action::NextInterval,
        Action::PrevInterval,
        Action::MarkIn,
        Action::MarkOut,
        Action::DeleteInterval,
        Action::Split,
        Action::Merge,
        Action::ToggleEdge,
        Action::AcceptDetection,
        Action::Review,
        Action::ReviewAccept,
        Action::ReviewReject,
        Action::LoopInterval,
        Action::Record,
        Action::NextDisagreement,
        Action::PrevDisagreement,
        Action::BoxTool,
        Action::EndTrack,
        Action::IntervalsFromBoxes,
        Action::Brush,
        Action::BrushSmaller,
        Action::BrushLarger,
        Action::NudgeBack,
        Action::NudgeForward,
        Action::NudgeBack10,
        Action::NudgeForward10,
        Action::Undo,
        Action::Redo,
        Action::Save,
        Action::ViewFrame,
        Action::ViewFlow,
        Action::ViewMaps,
        Action::ViewMemory,
        Action::Presentation,
        Action::Escape,
        Action::ShowAll,
        Action::Help,
    ];

    /// Its keys; the first is the one the help shows first.
    pub fn shortcuts(self) -> &'static [KeyboardShortcut] {
        use Action::*;
        match self {
            TogglePlay => keys![NONE, Key::Space],
            StepBack => keys![NONE, Key::ArrowLeft],
            StepForward => keys![NONE, Key::ArrowRight],
            StepBack10 => keys![SHIFT, Key::ArrowLeft],
            StepForward10 => keys![SHIFT, Key::ArrowRight],
            First => keys![NONE, Key::Home],
            Last => keys![NONE, Key::End],
            ShuttleBack => keys![NONE, Key::J],
            ShuttleStop => keys![NONE, Key::K],
            ShuttleForward => keys![NONE, Key::L],
            Slower => keys![NONE, Key::OpenBracket],
            Faster => keys![NONE, Key::CloseBracket],
            NormalSpeed => keys![NONE, Key::Equals],
            NextAbove => keys![NONE, Key::Period],
            PrevAbove => keys![NONE, Key::Comma],
            NextInterval => keys![NONE, Key::Tab; NONE, Key::G],
            PrevInterval => keys![SHIFT, Key::Tab; SHIFT, Key::G],
            MarkIn => keys![NONE, Key::I],
            MarkOut => keys![NONE, Key::O],
            DeleteInterval => keys![NONE, Key::Delete; NONE, Key::Backspace],
            Split => keys![NONE, Key::S],
            Merge => keys![NONE, Key::M],
            ToggleEdge => keys![NONE, Key::E],
            AcceptDetection => keys![NONE, Key::A],
            Review => keys![NONE, Key::R],
            ReviewAccept => keys![NONE, Key::Y],
            ReviewReject => keys![NONE, Key::N],
            LoopInterval => keys![SHIFT, Key::L],
            Record => keys![NONE, Key::H],
            NextDisagreement => keys![NONE, Key::D],
            PrevDisagreement => keys![SHIFT, Key::D],
            BoxTool => keys![NONE, Key::B],
            EndTrack => keys![SHIFT, Key::O],
            IntervalsFromBoxes => keys![SHIFT, Key::B],
            Brush => keys![NONE, Key::P],
            BrushSmaller => keys![ALT, Key::OpenBracket],
            BrushLarger => keys![ALT, Key::CloseBracket],
            NudgeBack => keys![ALT, Key::ArrowLeft],
            NudgeForward => keys![ALT, Key::ArrowRight],
            NudgeBack10 => keys![ALT_SHIFT, Key::ArrowLeft],
            NudgeForward10 => keys![ALT_SHIFT, Key::ArrowRight],
            Undo => keys![CMD, Key::Z],
            Redo => keys![CMD_SHIFT, Key::Z; CMD, Key::Y],
            Save => keys![CMD, Key::S],
            ViewFrame => keys![NONE, Key::Num1],
            ViewFlow => keys![NONE, Key::Num2],
            ViewMaps => keys![NONE, Key::Num3],
            ViewMemory => keys![NONE, Key::Num4],
            Presentation => keys![NONE, Key::F],
            Escape => keys![NONE, Key::Escape],
            ShowAll => keys![NONE, Key::Num0],
            Help => keys![NONE, Key::Questionmark; NONE, Key::F1],
        }
    }

    /// What it does, for the help.
    pub fn label(self) -> &'static str {
        use Action::*;
        match self {
            TogglePlay => "play / pause",
            StepBack => "one frame back",
            StepForward => "one frame forward",
            StepBack10 => "ten frames back",
            StepForward10 => "ten frames forward",
            First => "first frame",
            Last => "last frame",
            ShuttleBack => "shuttle back (repeat: faster)",
            ShuttleStop => "stop",
            ShuttleForward => "shuttle forward (repeat: faster)",
            Slower => "slower (down to 0.1×)",
            Faster => "faster (up to 8×)",
            NormalSpeed => "normal speed",
            NextAbove => "next frame above threshold",
            PrevAbove => "previous frame above threshold",
            NextInterval => "next ground-truth interval (selects its start)",
            PrevInterval => "previous ground-truth interval",
            MarkIn => "interval starts at the playhead",
            MarkOut => "interval ends at the playhead (included)",
            DeleteInterval => "delete the selected box's track, else the interval at the playhead",
            Split => "split the interval at the playhead",
            Merge => "merge with the next interval",
            ToggleEdge => "select the other edge of the interval",
            AcceptDetection => {
                "accept the detection at the playhead (frames above threshold) as an interval"
            }
            Review => "review mode: the model's disagreements with the truth, largest first",
            ReviewAccept => "review: accept (the truth follows the model)",
            ReviewReject => "review: reject (the truth stays)",
            LoopInterval => "loop playback over the selected interval (again: stop)",
            Record => "hold while playing: the frames played become anomalous",
            NextDisagreement => "next frames where the second annotator (lane B) disagrees",
            PrevDisagreement => "previous frames where the second annotator disagrees",
            BoxTool => "box tool: drag on the frame to draw a box (drag a box to move it, its edges to resize)",
            EndTrack => "the selected box's track ends at the playhead (the object leaves)",
            IntervalsFromBoxes => "intervals from boxes: the frames any box is on become the intervals",
            Brush => "brush: drag on the frame to paint its mask (Shift or right-drag erases); painting marks the frame anomalous",
            BrushSmaller => "smaller brush",
            BrushLarger => "larger brush",
            NudgeBack => "selected edge one frame back",
            NudgeForward => "selected edge one frame forward",
            NudgeBack10 => "selected edge ten frames back",
            NudgeForward10 => "selected edge ten frames forward",
            Undo => "undo",
            Redo => "redo",
            Save => "save the ground truth (into the file it came from)",
            ViewFrame => "frame view",
            ViewFlow => "flow view",
            ViewMaps => "error maps view",
            ViewMemory => "memory view",
            Presentation => "presentation mode",
            Escape => "leave presentation mode / close help / deselect the box",
            ShowAll => "show all (image and timeline)",
            Help => "this help",
        }
    }

    /// The commands it sends in `state`.
    pub fn commands(self, state: &AppState) -> Vec<AppCommand> {
        use Action::*;
        let c = |c: Command| vec![AppCommand::State(c)];
        let t = |t: TruthCommand| vec![AppCommand::Truth(t)];
        match self {
            TogglePlay => c(Command::TogglePlay),
            StepBack => c(Command::Step(-1)),
            StepForward => c(Command::Step(1)),
            StepBack10 => c(Command::Step(-10)),
            StepForward10 => c(Command::Step(10)),
            First => c(Command::SeekStart),
            Last => c(Command::SeekEnd),
            ShuttleBack => c(Command::ShuttleBack),
            ShuttleStop => c(Command::ShuttleStop),
            ShuttleForward => c(Command::ShuttleForward),
            Slower => c(Command::ScaleSpeed(1.0 / 1.5)),
            Faster => c(Command::ScaleSpeed(1.5)),
            NormalSpeed => c(Command::SetSpeed(1.0)),
            NextAbove => c(Command::NextAbove),
            PrevAbove => c(Command::PrevAbove),
            NextInterval => t(TruthCommand::SelectNext),
            PrevInterval => t(TruthCommand::SelectPrev),
            MarkIn => t(TruthCommand::MarkIn),
            MarkOut => t(TruthCommand::MarkOut),
            DeleteInterval => t(TruthCommand::Delete),
            Split => t(TruthCommand::Split),
            Merge => t(TruthCommand::MergeNext),
            ToggleEdge => t(TruthCommand::ToggleEdge),
            AcceptDetection => t(TruthCommand::AcceptDetection),
            Review => t(TruthCommand::ReviewToggle),
            ReviewAccept => t(TruthCommand::ReviewAccept),
            ReviewReject => t(TruthCommand::ReviewReject),
            LoopInterval => t(TruthCommand::LoopInterval),
            Record => t(TruthCommand::Record),
            NextDisagreement => t(TruthCommand::Disagreement { forward: true }),
            PrevDisagreement => t(TruthCommand::Disagreement { forward: false }),
            BoxTool => t(TruthCommand::BoxTool),
            EndTrack => t(TruthCommand::EndTrack),
            IntervalsFromBoxes => t(TruthCommand::IntervalsFromBoxes),
            Brush => t(TruthCommand::Brush),
            BrushSmaller => t(TruthCommand::BrushSize(1.0 / 1.25)),
            BrushLarger => t(TruthCommand::BrushSize(1.25)),
            NudgeBack => t(TruthCommand::Nudge(-1)),
            NudgeForward => t(TruthCommand::Nudge(1)),
            NudgeBack10 => t(TruthCommand::Nudge(-10)),
            NudgeForward10 => t(TruthCommand::Nudge(10)),
            Undo => t(TruthCommand::Undo),
            Redo => t(TruthCommand::Redo),
            Save => t(TruthCommand::Save),
            ViewFrame => c(Command::SetView(super::View::Frame)),
            ViewFlow => c(Command::SetView(super::View::Flow)),
            ViewMaps => c(Command::SetView(super::View::Maps)),
            ViewMemory => c(Command::SetView(super::View::Memory)),
            Presentation => c(Command::TogglePresentation),
            Escape if state.presentation => c(Command::TogglePresentation),
            Escape if state.show_help => c(Command::ToggleHelp),
            Escape => t(TruthCommand::SelectBox(None)),
            ShowAll => vec![
                AppCommand::State(Command::ResetImageView),
                AppCommand::State(Command::ResetTimeline),
            ],
            Help => c(Command::ToggleHelp),
        }
    }
}

/// How many modifiers a shortcut needs: egui ignores extra Shift and Alt when
/// matching, so the more specific shortcuts are tried first.
fn specificity(s: &KeyboardShortcut) -> u8 {
    let m = s.modifiers;
    m.alt as u8 + m.shift as u8 + m.command as u8
}

/// Turns this frame's key presses into commands.
pub fn handle(ctx: &egui::Context, state: &AppState, cmds: &mut Commands) {
    if ctx.text_edit_focused() {
        return;
    }
    let mut table: Vec<(KeyboardShortcut, Action)> = Action::ALL
        .iter()
        .flat_map(|&a| a.shortcuts().iter().map(move |&s| (s, a)))
        .collect();
    table.sort_by_key(|(s, _)| std::cmp::Reverse(specificity(s)));
    // Every press counts: a slow frame can hold several presses of one key.
    let fired: Vec<(Action, usize)> = ctx.input_mut(|i| {
        table
            .iter()
            .map(|&(s, a)| (a, i.count_and_consume_key(s.modifiers, s.logical_key)))
            .filter(|&(_, n)| n > 0)
            .collect()
    });
    for (a, n) in fired {
        for _ in 0..n {
            for c in a.commands(state) {
                cmds.send(c);
            }
        }
    }
}

/// A shortcut as the help shows it: "Ctrl+Shift+Z", "]", "Alt+Left".
pub fn key_text(s: &KeyboardShortcut) -> String {
    let mut out = egui::ModifierNames::NAMES.format(&s.modifiers, cfg!(target_os = "macos"));
    if !out.is_empty() {
        out.push('+');
    }
    let k = s.logical_key;
    // Punctuation as the character; arrows and named keys by name (the
    // default font has no arrow glyphs).
    let sym = k.symbol_or_name();
    if sym.chars().count() == 1 && sym.chars().all(|c| c.is_ascii_punctuation()) {
        out += sym;
    } else {
        out += k.name();
    }
    out
}

/// The shortcut help popover.
pub fn help_ui(ctx: &egui::Context, cmds: &mut Commands) {
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::RIGHT_TOP, [-12.0, 40.0])
        .show(ctx, |ui| {
            egui::ScrollArea::vertical().max_height(520.0).show(ui, |ui| {
                egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                    for &a in Action::ALL {
                        let keys: Vec<String> = a.shortcuts().iter().map(key_text).collect();
                        ui.monospace(keys.join(" / "));
                        ui.label(a.label());
                        ui.end_row();
                    }
                });
            });
            ui.label("Timeline: click or drag to seek, Shift-drag to select a loop, scroll to zoom, right-drag to pan, drag the orange line to set the threshold; in the truth lane, drag an edge or an interval. Frame: drag a box to move it (sets a keyframe), its edge or corner to resize, click to select; with the brush (P), drag to paint the mask, Shift-drag or right-drag to erase.");
        });
    if !open {
        cmds.send(Command::ToggleHelp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_people_write_them() {
        assert_eq!(
            key_text(&KeyboardShortcut::new(CMD_SHIFT, Key::Z)),
            "Ctrl+Shift+Z"
        );
        assert_eq!(
            key_text(&KeyboardShortcut::new(NONE, Key::CloseBracket)),
            "]"
        );
        assert_eq!(
            key_text(&KeyboardShortcut::new(ALT, Key::ArrowLeft)),
            "Alt+Left"
        );
        assert_eq!(
            key_text(&KeyboardShortcut::new(NONE, Key::Questionmark)),
            "?"
        );
    }

    #[test]
    fn no_two_actions_share_a_key() {
        let mut seen: Vec<(KeyboardShortcut, Action)> = Vec::new();
        for &a in Action::ALL {
            assert!(!a.shortcuts().is_empty(), "{a:?} has no key");
            assert!(!a.label().is_empty());
            for &s in a.shortcuts() {
                if let Some((_, b)) = seen.iter().find(|(t, _)| *t == s) {
                    panic!("{a:?} and {b:?} both use {s:?}");
                }
                seen.push((s, a));
            }
        }
    }
}
