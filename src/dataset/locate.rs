//! Which dataset a video belongs to: what `vadscope open` and `vadscope
//! export` use to find a video's ground truth and its sibling videos.

use std::path::Path;

use super::{Dataset, Split, VideoEntry};

/// The dataset whose test split holds `video`, looking up to three folders up;
/// one with ground truth wins over a plain folder of frame folders.
pub fn containing(video: &Path) -> Option<(Dataset, VideoEntry)> {
    let canon = video.canonicalize().ok()?;
    let mut dir = canon.parent();
    let mut fallback = None;
    for _ in 0..3 {
        let Some(d) = dir else { break };
        if let Ok(ds) = super::open(d) {
            let hit = ds
                .split(Split::Test)
                .find(|v| v.path.canonicalize().ok().as_deref() == Some(canon.as_path()))
                .cloned();
            if let Some(entry) = hit {
                if !ds.truth.is_empty() {
                    return Some((ds, entry));
                }
                fallback.get_or_insert((ds, entry));
            }
        }
        dir = d.parent();
    }
    fallback
}
