//! `vadscope open`: the inspection app on a video, frame folder or dataset.

use std::path::PathBuf;

/// Options of `vadscope open`.
#[derive(clap::Args, Debug)]
pub struct OpenArgs {
    /// A video file, a frame folder or a dataset root (its first test video);
    /// a live source: a stream URL (`udp://`, `rtsp://`, `http(s)://`, …) or
    /// a camera (`/dev/video0`), scored as it arrives; without one, the
    /// built-in demo (what the desktop menu entry opens).
    pub path: Option<PathBuf>,
    /// A checkpoint (or run folder) to score with in the background; for a
    /// live source without one, the built-in demo model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Scores to show: a `vadscope score` folder, or any form `vadscope eval` reads.
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// A ground-truth file (any format `vadscope truth` reads).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// A second annotator's ground truth of the same video (any format):
    /// shown as a second lane, with Cohen's κ and the IoU against --truth,
    /// and D / Shift+D jump between their disagreements.
    #[arg(long)]
    pub second_truth: Option<PathBuf>,
}

/// Opens the app.
pub fn run(args: OpenArgs) -> anyhow::Result<()> {
    let live = args
        .path
        .as_ref()
        .is_some_and(|p| vadscope::video::live::is_live(&p.to_string_lossy()));
    for p in [
        args.path.as_ref().filter(|_| !live),
        args.model.as_ref(),
        args.scores.as_ref(),
        args.truth.as_ref(),
        args.second_truth.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if !p.exists() {
            anyhow::bail!("{}: no such file or folder", p.display());
        }
    }
    #[cfg(feature = "gui")]
    {
        vadscope::app::run(vadscope::app::OpenRequest {
            path: args.path,
            model: args.model,
            scores: args.scores,
            truth: args.truth,
            second_truth: args.second_truth,
        })
    }
    #[cfg(not(feature = "gui"))]
    {
        anyhow::bail!(
            "this vadscope was built without the `gui` feature; rebuild with it to open the app"
        )
    }
}
