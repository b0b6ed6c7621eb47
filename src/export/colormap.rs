//! Colour maps on the CPU: what exports burn in, and the reference that the
//! app's WGSL shader must match (it receives the same stops as a uniform).
//!
//! Each map is 11 evenly spaced sRGB stops (t = 0, 0.1, …, 1) interpolated
//! linearly in gamma space; the shader receives the same stops as a uniform,
//! so CPU and GPU agree to rounding.

use serde::{Deserialize, Serialize};

/// A sequential colour map for single-channel values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Colormap {
    /// Black through purple and orange to pale yellow (perceptually uniform).
    #[default]
    Inferno,
    /// Purple through teal to yellow (perceptually uniform, colour-blind safe).
    Viridis,
    /// Rainbow-like blue to red with a smooth lightness profile.
    Turbo,
}

/// Number of stops per map.
pub const STOPS: usize = 11;

const INFERNO: [[u8; 3]; STOPS] = [
    [0, 0, 4],
    [22, 11, 57],
    [66, 10, 104],
    [106, 23, 110],
    [147, 38, 103],
    [188, 55, 84],
    [221, 81, 58],
    [243, 120, 25],
    [252, 165, 10],
    [246, 215, 70],
    [252, 255, 164],
];

const VIRIDIS: [[u8; 3]; STOPS] = [
    [68, 1, 84],
    [72, 36, 117],
    [65, 68, 135],
    [53, 95, 141],
    [42, 120, 142],
    [33, 145, 140],
    [34, 168, 132],
    [68, 191, 112],
    [122, 209, 81],
    [189, 223, 38],
    [253, 231, 37],
];

const TURBO: [[u8; 3]; STOPS] = [
    [35, 23, 27],
    [74, 88, 221],
    [47, 157, 245],
    [39, 215, 196],
    [77, 248, 132],
    [149, 251, 81],
    [222, 221, 50],
    [255, 164, 35],
    [246, 95, 24],
    [186, 34, 8],
    [144, 12, 0],
];

impl Colormap {
    /// All maps, for menus.
    pub const ALL: [Colormap; 3] = [Colormap::Inferno, Colormap::Viridis, Colormap::Turbo];

    /// The map's name in menus.
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Inferno => "inferno",
            Colormap::Viridis => "viridis",
            Colormap::Turbo => "turbo",
        }
    }

    /// The sRGB stops.
    pub fn stops(self) -> &'static [[u8; 3]; STOPS] {
        match self {
            Colormap::Inferno => &INFERNO,
            Colormap::Viridis => &VIRIDIS,
            Colormap::Turbo => &TURBO,
        }
    }

    /// The stops as `[r, g, b, 1]` in `[0, 1]`, the shader's uniform layout.
    pub fn stops_f32(self) -> [[f32; 4]; STOPS] {
        let mut out = [[0.0; 4]; STOPS];
        for (o, s) in out.iter_mut().zip(self.stops()) {
            *o = [
                s[0] as f32 / 255.0,
                s[1] as f32 / 255.0,
                s[2] as f32 / 255.0,
                1.0,
            ];
        }
        out
    }

    /// The colour at `t` in `[0, 1]` (clamped), channels in `[0, 1]`.
    pub fn eval(self, t: f32) -> [f32; 3] {
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let x = t * (STOPS - 1) as f32;
        let i = (x.floor() as usize).min(STOPS - 2);
        let f = x - i as f32;
        let (a, b) = (self.stops()[i], self.stops()[i + 1]);
        std::array::from_fn(|c| (a[c] as f32 * (1.0 - f) + b[c] as f32 * f) / 255.0)
    }

    /// The colour at `t` as 8-bit sRGB.
    pub fn eval_u8(self, t: f32) -> [u8; 3] {
        self.eval(t).map(|c| (c * 255.0).round() as u8)
    }
}

impl std::str::FromStr for Colormap {
    type Err = String;

    fn from_str(s: &str) -> Result<Colormap, String> {
        Colormap::ALL
            .into_iter()
            .find(|m| m.name() == s.trim())
            .ok_or_else(|| format!("{s:?} is not a colour map (inferno, viridis or turbo)"))
    }
}

/// Maps a value to `[0, 1]` by the range `lo..hi` and a gamma (t^gamma), as
/// the shader does. A non-finite value maps to 0.
pub fn normalize(v: f32, lo: f32, hi: f32, gamma: f32) -> f32 {
    if !v.is_finite() {
        return 0.0;
    }
    let span = (hi - lo).max(1e-12);
    ((v - lo) / span).clamp(0.0, 1.0).powf(gamma.max(1e-3))
}

/// The categorical colour of class `i` (memory slots in the arg-max map):
/// hues spaced by the golden angle so neighbouring indices differ strongly.
pub fn category_color(i: u32) -> [f32; 3] {
    let h = (i as f32 * 0.618_034).fract();
    // Alternate the value so that hues that come round again stay distinct.
    let v = if i.is_multiple_of(2) { 0.95 } else { 0.75 };
    hsv_to_rgb(h, 0.75, v)
}

/// HSV (all in `[0, 1]`) to RGB, the same formula as the shader.
pub fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let k = |n: f32| {
        let k = (n + h * 6.0) % 6.0;
        v - v * s * (k.min(4.0 - k).clamp(0.0, 1.0))
    };
    [k(5.0), k(3.0), k(1.0)]
}

/// Colour-maps a field of values to RGBA8 on the CPU (legends, exports, and
/// the reference in shader tests).
pub fn colorize(values: &[f32], map: Colormap, lo: f32, hi: f32, gamma: f32) -> Vec<[u8; 4]> {
    values
        .iter()
        .map(|&v| {
            let [r, g, b] = map.eval_u8(normalize(v, lo, hi, gamma));
            [r, g, b, 255]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_midpoints_hit_the_stops() {
        for m in Colormap::ALL {
            assert_eq!(m.eval_u8(0.0), m.stops()[0]);
            assert_eq!(m.eval_u8(1.0), m.stops()[STOPS - 1]);
            assert_eq!(m.eval_u8(0.5), m.stops()[5]);
        }
        // Halfway between two stops is their mean.
        let a = Colormap::Viridis.stops()[2];
        let b = Colormap::Viridis.stops()[3];
        let mid = Colormap::Viridis.eval_u8(0.25);
        for ((m, a), b) in mid.iter().zip(a).zip(b) {
            assert!((*m as i32 - (a as i32 + b as i32) / 2).abs() <= 1);
        }
    }

    #[test]
    fn inferno_and_viridis_get_lighter() {
        for m in [Colormap::Inferno, Colormap::Viridis] {
            let luma = |c: [u8; 3]| 0.3 * c[0] as f32 + 0.59 * c[1] as f32 + 0.11 * c[2] as f32;
            for w in m.stops().windows(2) {
                assert!(luma(w[1]) > luma(w[0]), "{} not monotone", m.name());
            }
        }
    }

    #[test]
    fn normalize_clamps_and_applies_gamma() {
        assert_eq!(normalize(-1.0, 0.0, 2.0, 1.0), 0.0);
        assert_eq!(normalize(3.0, 0.0, 2.0, 1.0), 1.0);
        assert!((normalize(1.0, 0.0, 2.0, 2.0) - 0.25).abs() < 1e-6);
        assert_eq!(normalize(f32::NAN, 0.0, 1.0, 1.0), 0.0);
        // An empty range does not divide by zero.
        assert_eq!(normalize(1.0, 1.0, 1.0, 1.0), 0.0);
    }

    #[test]
    fn categories_are_distinct() {
        let colors: Vec<[u8; 3]> = (0..16)
            .map(|i| category_color(i).map(|c| (c * 255.0) as u8))
            .collect();
        for (i, ci) in colors.iter().enumerate() {
            for (j, cj) in colors.iter().enumerate().skip(i + 1) {
                let d: i32 = ci
                    .iter()
                    .zip(cj)
                    .map(|(a, b)| (*a as i32 - *b as i32).abs())
                    .sum();
                assert!(d > 20, "slots {i} and {j} look alike: {:?} {:?}", ci, cj);
            }
        }
    }
}
