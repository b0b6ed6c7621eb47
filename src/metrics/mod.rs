//! Evaluation: frame-level ROC AUC (micro and macro), EER, average precision,
//! Δs and ROC curves under a recorded [`Protocol`]; ensembles of runs; pixel-level
//! AUC; RBDC/TBDC; score files; ROC plots.
//!
//! Conventions (stated in every report): micro AUC concatenates the evaluated
//! frames of all videos (what the papers report); macro AUC averages per-video
//! AUCs over videos that have both classes and lists the others as skipped.
//! Ties are handled exactly (a tied group is one ROC segment), matching
//! scikit-learn's `roc_auc_score`, `average_precision_score` and `roc_curve`.

mod ensemble;
mod evaluate;
mod normalize;
mod pixel;
mod pixel_maps;
mod plot;
mod protocol;
mod rbdc;
mod regions;
mod roc;
mod scores;
mod smooth;

pub use ensemble::{member_column, merge_members};
pub use evaluate::{delta_s, evaluate, Metrics, Report, Skipped, VideoRow, VideoScores};
pub use normalize::{Normalize, Stats};
pub use pixel::PixelAuc;
pub use pixel_maps::{evaluate_maps, has_maps, PixelReport, VideoPixelAuc};
pub use plot::{render_roc, roc_png, Curve};
pub use protocol::{parse_weights, Protocol};
pub use rbdc::{rbdc_tbdc, Detection, RbdcParams, RbdcResult, VideoRegions};
pub use regions::{
    components, evaluate_regions, track_boxes, Component, RegionParams, RegionReport,
};
pub use roc::{average_precision, eer, eer_from_roc, roc_auc, roc_curve, Eer, Roc};
pub use scores::{read_scores, read_video_scores, ScoreSet};
pub use smooth::{CausalSmoother, Edge, Smooth};

#[cfg(test)]
mod tests;
