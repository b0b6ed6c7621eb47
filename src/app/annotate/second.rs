//! A second annotator's truth beside the edited one: loading it, and D /
//! Shift+D to walk the frames where the two disagree (the agreement itself,
//! Cohen's κ and IoU, is [`crate::truth::agreement`], which `vadscope truth
//! compare` prints too).

use std::path::Path;

use crate::app::source::read_truth;
use crate::app::state::Command;
use crate::app::store::SecondTruth;
use crate::app::VadApp;

impl VadApp {
    /// Reads a second annotator's truth of the open video from `path`.
    pub(crate) fn load_second_truth(&mut self, path: &Path) {
        match read_truth(path, &self.doc.name, self.doc.len) {
            Ok(v) => {
                self.store.second = Some(SecondTruth::new(path.to_path_buf(), v.anomalous));
                self.store.refresh();
                self.annotator.message = Some(format!(
                    "comparing with {} (lane B): D / Shift+D go to the disagreements",
                    path.display()
                ));
            }
            Err(e) => self.state.errors.push(format!("{e:#}")),
        }
    }

    /// Goes to the next (or previous) run of frames where the annotators
    /// disagree, and selects it as the loop.
    pub(crate) fn jump_disagreement(&mut self, forward: bool) {
        let Some(second) = &self.store.second else {
            self.annotator.message =
                Some("no second annotator: File > Compare with a second annotator's truth…".into());
            return;
        };
        let runs = &second.agreement.runs;
        let at = self.state.current;
        let pick = if forward {
            runs.iter().position(|r| r.start > at)
        } else {
            runs.iter().rposition(|r| r.start < at)
        };
        match pick {
            Some(k) => {
                let r = runs[k];
                self.annotator.message = Some(format!(
                    "annotators disagree on frames {}–{} ({} of {})",
                    r.start,
                    r.end - 1,
                    k + 1,
                    runs.len()
                ));
                self.state.apply(Command::Seek(r.start), &self.store);
                self.state
                    .apply(Command::Select(Some((r.start, r.end))), &self.store);
            }
            None => {
                self.annotator.message = Some(if runs.is_empty() {
                    "the annotators agree on every frame".into()
                } else if forward {
                    "no disagreement after the playhead".into()
                } else {
                    "no disagreement before the playhead".into()
                })
            }
        }
    }
}
