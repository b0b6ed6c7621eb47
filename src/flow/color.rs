//! The Middlebury colour coding of flow (Baker et al. 2011): hue from the
//! direction on a 55-colour wheel (red, yellow, green, cyan, blue, magenta),
//! saturation from the magnitude, white for zero flow. The app draws the same
//! coding with a shader; this is the reference and the export path.

use super::Flow;
use crate::frame::Frame;

/// Segment lengths of the wheel: red-yellow, yellow-green, green-cyan,
/// cyan-blue, blue-magenta, magenta-red.
const SEGMENTS: [usize; 6] = [15, 6, 4, 11, 13, 6];
/// Colours in the wheel.
const NCOLS: usize = 55;

/// The wheel's colour `i` (0..55), channels in `[0, 1]`.
fn wheel_entry(i: usize) -> [f32; 3] {
    // Each segment ramps one channel up or down between two primaries/secondaries.
    let mut k = i % NCOLS;
    for (seg, &len) in SEGMENTS.iter().enumerate() {
        if k < len {
            let t = k as f32 / len as f32;
            return match seg {
                0 => [1.0, t, 0.0],       // red -> yellow
                1 => [1.0 - t, 1.0, 0.0], // yellow -> green
                2 => [0.0, 1.0, t],       // green -> cyan
                3 => [0.0, 1.0 - t, 1.0], // cyan -> blue
                4 => [t, 0.0, 1.0],       // blue -> magenta
                _ => [1.0, 0.0, 1.0 - t], // magenta -> red
            };
        }
        k -= len;
    }
    [1.0, 0.0, 0.0]
}

/// The colour of a flow vector `(u, v)` already divided by the normalising
/// radius: white at zero, fully saturated at length 1, darkened beyond it.
pub fn wheel_color(u: f32, v: f32) -> [u8; 3] {
    if !(u.is_finite() && v.is_finite()) {
        return [0, 0, 0];
    }
    let rad = (u * u + v * v).sqrt();
    let a = (-v).atan2(-u) / std::f32::consts::PI;
    let fk = (a + 1.0) / 2.0 * (NCOLS - 1) as f32;
    let k0 = (fk.floor() as usize).min(NCOLS - 1);
    let k1 = (k0 + 1) % NCOLS;
    let f = fk - k0 as f32;
    let (c0, c1) = (wheel_entry(k0), wheel_entry(k1));
    let mut out = [0u8; 3];
    for ch in 0..3 {
        let col = (1.0 - f) * c0[ch] + f * c1[ch];
        let col = if rad <= 1.0 {
            1.0 - rad * (1.0 - col)
        } else {
            col * 0.75
        };
        out[ch] = (255.0 * col).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// Colour-codes a flow field, normalising by its largest finite vector length
/// (Middlebury's "unknown" vectors, above 1e9, are drawn black).
pub fn flow_to_rgb(flow: &Flow) -> Frame<u8> {
    let max = flow
        .data
        .chunks_exact(2)
        .filter(|p| known(p[0], p[1]))
        .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
        .fold(0.0f32, f32::max);
    flow_to_rgb_with_max(flow, max)
}

/// Colour-codes a flow field with vectors of length `max_radius` fully
/// saturated (a fixed scale keeps colours comparable across frames).
pub fn flow_to_rgb_with_max(flow: &Flow, max_radius: f32) -> Frame<u8> {
    let scale = if max_radius > 1e-6 {
        1.0 / max_radius
    } else {
        0.0
    };
    let mut out = Frame::new(flow.width, flow.height, 3);
    for (o, p) in out.data.chunks_exact_mut(3).zip(flow.data.chunks_exact(2)) {
        let c = if known(p[0], p[1]) {
            wheel_color(p[0] * scale, p[1] * scale)
        } else {
            [0, 0, 0]
        };
        o.copy_from_slice(&c);
    }
    out
}

fn known(u: f32, v: f32) -> bool {
    u.is_finite() && v.is_finite() && u.abs() < 1e9 && v.abs() < 1e9
}
