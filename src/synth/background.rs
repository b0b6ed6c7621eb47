//! The static background: paved walkway with converging tile joints, lawn,
//! hedges, a building edge, lamp posts and a bench. Rendered once per scene.

use super::layout::Layout;
use super::noise::{grain, ValueNoise};
use super::raster::{luma, shade, Canvas, Paint, Rgb};
use super::rng::hash2;
use crate::frame::{Frame, PixelFormat};

const PAVEMENT: Rgb = [183.0, 181.0, 176.0];
const GRASS: Rgb = [86.0, 106.0, 72.0];
const HEDGE: Rgb = [50.0, 68.0, 46.0];
const WALL: Rgb = [168.0, 165.0, 158.0];
const METAL: Rgb = [58.0, 60.0, 64.0];
const WOOD: Rgb = [96.0, 84.0, 72.0];

/// Tile size of the pavement (m).
const TILE: f32 = 3.0;

/// Renders the background of `layout` (without sensor noise).
pub(crate) fn render(layout: &Layout, seed: u64, format: PixelFormat) -> Frame<u8> {
    let cam = &layout.cam;
    let (w, h) = (cam.width as usize, cam.height as usize);
    let ch = format.channels();
    let mut frame = Frame::new(w, h, ch);
    let stains = ValueNoise::new(hash2(seed, 1));
    let lawn = ValueNoise::new(hash2(seed, 2));
    let leaves = ValueNoise::new(hash2(seed, 3));
    let grain_seed = hash2(seed, 4);
    let (hedge_top, hedge_bottom) = layout.hedge_rows;
    for y in 0..h {
        let py = y as f32 + 0.5;
        // Pixels per metre across (x) and along (z) the ground on this row.
        let sx = cam.scale_at_row(py);
        let z = cam.depth_of_row(py);
        let sz = (py - cam.horizon) / z;
        for x in 0..w {
            let px = x as f32 + 0.5;
            let gx = cam.x_at(px, z);
            let g = grain(grain_seed, x, y) - 0.5;
            let on_walk = (layout.walk_near..=layout.walk_far).contains(&z);
            let on_path = layout.path_distance(gx, z) < layout.path_half;
            let hedge_edge = hedge_top + 0.06 * cam.height * leaves.fbm(px * 0.04, 3.7, 2);
            let mut c = if px > layout.building.0 && py < layout.building.1 {
                wall(px, py, layout, g)
            } else if py > hedge_edge && py < hedge_bottom && layout.path_distance(gx, z) > 1.9 {
                // Leafy texture in image space: hedges stand up, they are not on the ground.
                let t = 0.55 + 0.9 * leaves.fbm(px * 0.18, py * 0.18, 3);
                shade(HEDGE, t + 0.35 * g)
            } else if on_walk || on_path {
                let t = 0.93 + 0.14 * stains.fbm(gx * 0.35, z * 0.35, 3) + 0.05 * g;
                let mut c = shade(PAVEMENT, t);
                // Joints: thin dark lines on the tile grid, at least a pixel wide.
                let jx = (gx / TILE - (gx / TILE).round()).abs() * TILE * sx;
                let jz = (z / TILE - (z / TILE).round()).abs() * TILE * sz;
                let joint = (0.8 - jx.min(jz)).clamp(0.0, 1.0);
                c = shade(c, 1.0 - 0.17 * joint);
                // Curbs: a bright band along the walkway's edges.
                let edge = (z - layout.walk_far)
                    .abs()
                    .min((z - layout.walk_near).abs())
                    * sz;
                if on_walk && !on_path && edge < 1.2 {
                    c = shade(c, 1.08);
                }
                c
            } else {
                let t = 0.74 + 0.5 * lawn.fbm(gx * 0.3, z * 0.3, 4) + 0.18 * g;
                let mut c = shade(GRASS, t);
                // The hedge casts a soft shadow on the lawn just below it.
                let below = py - hedge_bottom;
                if (0.0..3.0).contains(&below) && layout.path_distance(gx, z) > 1.9 {
                    c = shade(c, 0.75 + 0.08 * below);
                }
                c
            };
            // Mild vignetting, as from a cheap lens.
            let (u, v) = (px / cam.width - 0.5, py / cam.height - 0.5);
            c = shade(c, 1.0 - 0.25 * (u * u + v * v));
            let o = (y * w + x) * ch;
            if ch == 1 {
                frame.data[o] = luma(c).round().clamp(0.0, 255.0) as u8;
            } else {
                for (k, v) in c.iter().enumerate() {
                    frame.data[o + k] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    draw_furniture(layout, &mut frame);
    frame
}

/// The building's facade: panels with seams and a dark plinth.
fn wall(px: f32, py: f32, layout: &Layout, g: f32) -> Rgb {
    let panel = layout.cam.height * 0.11;
    let seam = ((px - layout.building.0) % panel) < 1.0;
    let plinth = py > layout.building.1 - 0.012 * layout.cam.height;
    let k = if plinth {
        0.55
    } else if seam {
        0.85
    } else {
        1.0
    };
    shade(WALL, k + 0.03 * g)
}

/// Lamp posts and the bench, drawn with the shape rasteriser.
fn draw_furniture(layout: &Layout, frame: &mut Frame<u8>) {
    let cam = &layout.cam;
    let mut ids = vec![0u32; frame.width * frame.height];
    let (w, h, ch) = (frame.width, frame.height, frame.channels);
    let mut canvas = Canvas::new(w, h, ch, &mut frame.data, &mut ids);
    let solid = |c: Rgb| Paint::Solid(c, 0);
    for &(x, z) in &layout.posts {
        let s = cam.scale(z);
        let base = cam.project(x, z, 0.0);
        let top = cam.project(x, z, 5.0);
        let arm = cam.project(x + 0.5, z, 5.0);
        canvas.ellipse(base, 0.35 * s, 0.1 * s, Paint::Darken(0.3));
        canvas.capsule(base, top, (0.08 * s).max(0.6), solid(METAL));
        canvas.capsule(top, arm, (0.06 * s).max(0.5), solid(METAL));
        canvas.ellipse(
            (arm.0, arm.1 + 0.1 * s),
            0.2 * s,
            0.1 * s,
            solid([225.0, 225.0, 215.0]),
        );
    }
    // The bench: back, seat (top face in perspective), legs.
    let (bx, bz) = layout.bench;
    let p = |dx: f32, dz: f32, dh: f32| cam.project(bx + dx, bz + dz, dh);
    let s = cam.scale(bz);
    canvas.ellipse(p(0.0, 0.0, 0.0), 1.1 * s, 0.18 * s, Paint::Darken(0.25));
    for dx in [-0.8, 0.8] {
        canvas.capsule(p(dx, -0.2, 0.0), p(dx, -0.2, 0.45), 0.05 * s, solid(METAL));
    }
    canvas.polygon(
        &[
            p(-0.9, 0.25, 0.45),
            p(0.9, 0.25, 0.45),
            p(0.9, 0.25, 0.9),
            p(-0.9, 0.25, 0.9),
        ],
        solid(shade(WOOD, 0.8)),
    );
    canvas.polygon(
        &[
            p(-0.9, -0.25, 0.45),
            p(0.9, -0.25, 0.45),
            p(0.9, 0.25, 0.45),
            p(-0.9, 0.25, 0.45),
        ],
        solid(WOOD),
    );
    canvas.polygon(
        &[
            p(-0.9, -0.25, 0.4),
            p(0.9, -0.25, 0.4),
            p(0.9, -0.25, 0.45),
            p(-0.9, -0.25, 0.45),
        ],
        solid(shade(WOOD, 0.6)),
    );
}
