//! Score ensembles: several runs' scores of the same videos evaluated as one.
//!
//! Models of this kind are unstable from seed to seed (on Ped2 the same profile
//! gives frame AUCs 0.67–0.92), and their errors are partly independent, so the
//! mean of several runs' normalised scores is steadier than any one run. The
//! members are merged into one [`ScoreSet`] whose columns are named
//! [`member_column`]`(term, i)`; a [`Protocol`](super::Protocol) with
//! `members = k` reads each term from every member, normalises it per video as
//! usual, and weighs it by `w / k`: the ensemble score of a frame is the mean over
//! members of each member's combined score, smoothed afterwards.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::evaluate::VideoScores;
use super::scores::ScoreSet;
use crate::error::{Error, Result};

/// The merged set's name for column `term` of member `i` (0-based).
pub fn member_column(term: &str, i: usize) -> String {
    format!("{term}@{i}")
}

/// Merges the score sets of `members` (their source paths, for messages, and
/// the sets) into one set with columns [`member_column`]`(term, i)`. Every
/// member must score the same videos over the same frames; the first member's
/// video order is kept.
pub fn merge_members(members: &[(PathBuf, ScoreSet)]) -> Result<ScoreSet> {
    let Some((first_path, first)) = members.first() else {
        return Err(Error::invalid("an ensemble needs at least one score set"));
    };
    let mut videos: Vec<VideoScores> = first
        .videos
        .iter()
        .map(|v| VideoScores {
            columns: BTreeMap::new(),
            // Merged from every member: no one file to name in messages
            // (the caller names the members).
            source: None,
            ..v.clone()
        })
        .collect();
    let mut train_stats = BTreeMap::new();
    for (i, (path, set)) in members.iter().enumerate() {
        let names = |s: &ScoreSet| -> Vec<String> {
            let mut n: Vec<String> = s.videos.iter().map(|v| v.name.clone()).collect();
            n.sort();
            n
        };
        if names(set) != names(first) {
            return Err(Error::invalid(format!(
                "ensemble: {} scores videos [{}], {} scores [{}]; members must score the same videos",
                path.display(),
                names(set).join(", "),
                first_path.display(),
                names(first).join(", ")
            )));
        }
        for merged in &mut videos {
            let v = set
                .videos
                .iter()
                .find(|v| v.name == merged.name)
                .ok_or_else(|| Error::invalid("ensemble: video lists differ"))?;
            if v.first_frame != merged.first_frame || v.len() != first_len(first, &merged.name) {
                return Err(Error::invalid(format!(
                    "ensemble: {} scores frames {}..{} of video {:?}, {} frames {}..{}",
                    path.display(),
                    v.first_frame,
                    v.first_frame + v.len(),
                    v.name,
                    first_path.display(),
                    merged.first_frame,
                    merged.first_frame + first_len(first, &merged.name)
                )));
            }
            for (term, col) in &v.columns {
                merged.columns.insert(member_column(term, i), col.clone());
            }
        }
        for (term, st) in &set.train_stats {
            train_stats.insert(member_column(term, i), *st);
        }
    }
    Ok(ScoreSet {
        videos,
        train_stats,
        form: format!("ensemble of {} sets, each a {}", members.len(), first.form),
    })
}

fn first_len(set: &ScoreSet, name: &str) -> usize {
    set.videos
        .iter()
        .find(|v| v.name == name)
        .map_or(0, VideoScores::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{evaluate, Protocol};
    use crate::truth::{GroundTruth, VideoTruth};

    fn set(scores: &[(&str, Vec<f64>)]) -> ScoreSet {
        ScoreSet {
            videos: scores
                .iter()
                .map(|(n, s)| VideoScores::single(*n, s.clone()))
                .collect(),
            form: "test".into(),
            ..ScoreSet::default()
        }
    }

    #[test]
    fn ensemble_score_is_the_mean_of_normalised_members() {
        // Video a: frames 2 and 3 anomalous. Member 0 ranks frame 1 highest
        // (a miss), member 1 ranks frame 0 highest; their mean ranks 2 and 3 top.
        let m0 = set(&[("a", vec![0.0, 10.0, 8.0, 9.0, 0.0])]);
        let m1 = set(&[("a", vec![5.0, 0.0, 4.0, 3.5, 0.5])]);
        let gt = GroundTruth {
            videos: vec![VideoTruth::from_labels("a", &[0u8, 0, 1, 1, 0])],
            provenance: None,
        };
        let single = |s: &ScoreSet| {
            evaluate(&s.videos, &gt, &Protocol::default())
                .unwrap()
                .micro
                .auc
                .unwrap()
        };
        let merged =
            merge_members(&[("m0".into(), m0.clone()), ("m1".into(), m1.clone())]).unwrap();
        assert_eq!(
            merged.videos[0].columns.keys().collect::<Vec<_>>(),
            ["score@0", "score@1"]
        );
        let p = Protocol {
            members: 2,
            ..Protocol::default()
        };
        let r = evaluate(&merged.videos, &gt, &p).unwrap();
        // Min-max per member: m0 -> [0, 1, .8, .9, 0], m1 -> [1, 0, .8, .7, .1];
        // the mean [.5, .5, .8, .8, .05] puts both anomalous frames first.
        assert_eq!(r.micro.auc, Some(1.0));
        assert!(single(&m0) < 1.0 && single(&m1) < 1.0);
        assert!(r.protocol.to_string().contains("mean of 2 members"));
        // A member scoring other videos, or other frames, is refused by name.
        let other = set(&[("b", vec![0.0; 5])]);
        let e = merge_members(&[("m0".into(), m0.clone()), ("x/other".into(), other)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("x/other") && e.contains("same videos"), "{e}");
        let short = set(&[("a", vec![0.0; 4])]);
        let e = merge_members(&[("m0".into(), m0), ("x/short".into(), short)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("x/short") && e.contains("0..4"), "{e}");
    }
}
