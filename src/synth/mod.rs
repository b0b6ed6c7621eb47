//! Procedural scenes with labelled anomalies, for tests and the built-in demo.
//!
//! A scene imitates a fixed surveillance camera looking down on a campus
//! walkway (in the manner of UCSD Ped2): a paved walkway with tile joints that
//! converge in perspective, lawn, hedges, lamp posts, a bench; pedestrians
//! walk along four lanes (the two far lanes to the right, the two near lanes
//! to the left) and down a diagonal path, at 1.0–1.6 m/s, smaller far away.
//! Anomalies are staged on top ([`AnomalyKind`]): a runner (3–5× the median
//! walking speed), a small cart, a cyclist, a skateboarder, a thrown object
//! (parabolic flight) and a person walking against a lane's direction.
//!
//! Everything is a pure function of [`SceneConfig`] (own PRNG, no global
//! state): the same seed gives identical frames.
//!
//! ```no_run
//! use vadscope::synth::{AnomalyKind, Scene, SceneConfig};
//! # fn main() -> vadscope::Result<()> {
//! let cfg = SceneConfig {
//!     seed: 7,
//!     anomalies: vec![AnomalyKind::Runner, AnomalyKind::Vehicle],
//!     ..SceneConfig::default()
//! };
//! let scene = Scene::new(&cfg)?;
//! let frame = scene.render(10); // Frame<u8>, gray 240x160
//! let truth = scene.truth("01"); // intervals, dense masks, boxes
//! assert_eq!(frame.width, 240);
//! # let _ = truth; Ok(()) }
//! ```
//!
//! Output helpers write PNG frame folders ([`write_frames`], [`write_masks`]),
//! encoded videos ([`write_video`]), ground truth as JSON
//! ([`write_truth_json`]) and whole benchmarks in the MNAD layout
//! ([`write_dataset`]).

mod actors;
mod background;
mod camera;
mod figures;
mod layout;
mod noise;
mod output;
mod raster;
pub(crate) mod rng;
mod scene;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use output::{
    frame_file_name, write_dataset, write_frames, write_masks, write_truth_json, write_video,
    DatasetConfig, TRUTH_FORMAT, TRUTH_VERSION,
};
pub(crate) use rng::Rng;
pub use scene::{FlowPair, Scene, SceneConfig, MAX_ANOMALIES, MAX_SCENE_FRAMES};

/// A kind of staged anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// A person running along a lane at 3–5× the median walking speed
    /// (3.5–4.2× the scene's median).
    Runner,
    /// A small utility cart driving along a middle lane: large and rigid.
    Vehicle,
    /// A person riding a bicycle (3.5–5.5 m/s).
    Cyclist,
    /// A person on a skateboard (2.8–4 m/s).
    Skateboarder,
    /// A small object thrown from a walker's hand: fast, parabolic.
    ThrownObject,
    /// A person walking against the lane's direction at walking speed.
    AgainstFlow,
}

impl AnomalyKind {
    /// Every kind, in a fixed order.
    pub const ALL: [AnomalyKind; 6] = [
        AnomalyKind::Runner,
        AnomalyKind::Vehicle,
        AnomalyKind::Cyclist,
        AnomalyKind::Skateboarder,
        AnomalyKind::ThrownObject,
        AnomalyKind::AgainstFlow,
    ];

    /// The kind's name: `runner`, `vehicle`, `cyclist`, `skateboarder`,
    /// `thrown-object`, `against-flow`.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::Runner => "runner",
            AnomalyKind::Vehicle => "vehicle",
            AnomalyKind::Cyclist => "cyclist",
            AnomalyKind::Skateboarder => "skateboarder",
            AnomalyKind::ThrownObject => "thrown-object",
            AnomalyKind::AgainstFlow => "against-flow",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AnomalyKind {
    type Err = crate::Error;

    /// Parses a kind's name, or one of the aliases `cart`, `bike`, `bicycle`,
    /// `skater`, `thrown`, `throw`, `against`, `wrong-way` (case-insensitive).
    fn from_str(s: &str) -> crate::Result<Self> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Ok(match s.as_str() {
            "runner" | "run" => AnomalyKind::Runner,
            "vehicle" | "cart" | "car" => AnomalyKind::Vehicle,
            "cyclist" | "bike" | "bicycle" => AnomalyKind::Cyclist,
            "skateboarder" | "skater" | "skateboard" => AnomalyKind::Skateboarder,
            "thrown-object" | "thrown" | "throw" => AnomalyKind::ThrownObject,
            "against-flow" | "against" | "wrong-way" => AnomalyKind::AgainstFlow,
            _ => {
                return Err(crate::Error::invalid(format!(
                    "unknown anomaly kind {s:?}; expected one of runner, vehicle, cyclist, \
                     skateboarder, thrown-object, against-flow"
                )))
            }
        })
    }
}

/// The kind of a moving object in a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    /// A walking person (normal, or anomalous when against the flow).
    Pedestrian,
    /// A running person.
    Runner,
    /// A person on a bicycle.
    Cyclist,
    /// A person on a skateboard.
    Skateboarder,
    /// A small cart.
    Vehicle,
    /// A thrown object.
    ThrownObject,
}

/// A moving object of a scene, as listed by [`Scene::objects`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// Its id in the buffer filled by [`Scene::render_with_ids`] (1-based).
    pub id: u32,
    /// What it is.
    pub kind: ObjectKind,
    /// Why it is anomalous, if it is.
    pub anomaly: Option<AnomalyKind>,
    /// For anomalies: the track id used in the ground truth's regions, which
    /// is the anomaly's index in [`SceneConfig::anomalies`].
    pub track: Option<u32>,
}
