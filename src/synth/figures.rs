//! Drawing the moving objects: people (walking, running, on a bicycle, on a
//! skateboard), a small utility cart and a thrown ball.
//!
//! Figures are drawn in a local side view (u forward, v up, metres) anchored
//! at the feet and scaled by the perspective; seen from the front (walking
//! towards the camera) the forward offsets shrink and the limbs spread sideways.

use std::f32::consts::PI;

use super::actors::{Actor, Body, Look};
use super::camera::Camera;
use super::raster::{shade, Canvas, Paint, Pt, Rgb};

/// Minimum limb radius in pixels, so far-away limbs stay visible.
const MIN_RADIUS: f32 = 0.45;

/// A figure's local frame in the image.
struct Local {
    feet: Pt,
    /// Pixels per metre.
    s: f32,
    /// Horizontal component of the walking direction in the image (-1..1).
    facing: f32,
}

impl Local {
    /// Image point of local (u forward, v up, l sideways) metres.
    fn p(&self, u: f32, v: f32, l: f32) -> Pt {
        let side = 1.0 - self.facing.abs();
        (
            self.feet.0 + (self.facing * u + side * l) * self.s,
            self.feet.1 - v * self.s,
        )
    }

    /// A radius of `m` metres in pixels (never thinner than [`MIN_RADIUS`]).
    fn r(&self, m: f32) -> f32 {
        (m * self.s).max(MIN_RADIUS)
    }
}

/// How limbs move over a gait cycle.
struct Gait {
    swing: f32,
    knee: f32,
    arm: f32,
    elbow: f32,
    lean: f32,
}

const WALK: Gait = Gait {
    swing: 0.40,
    knee: 0.55,
    arm: 0.35,
    elbow: 0.25,
    lean: 0.04,
};

const RUN: Gait = Gait {
    swing: 0.75,
    knee: 1.6,
    arm: 0.85,
    elbow: 1.5,
    lean: 0.25,
};

/// Where a two-segment limb ends: from `root`, a first segment at angle `a`
/// (0 = straight down, positive = forward) and a second bent by `bend` more.
fn limb(root: (f32, f32), l1: f32, l2: f32, a: f32, bend: f32) -> [(f32, f32); 2] {
    let mid = (root.0 + l1 * a.sin(), root.1 - l1 * a.cos());
    let end = (mid.0 + l2 * (a + bend).sin(), mid.1 - l2 * (a + bend).cos());
    [mid, end]
}

/// Draws the ground shadow of `actor` standing at `pos`.
pub(crate) fn draw_shadow(canvas: &mut Canvas, cam: &Camera, actor: &Actor, pos: [f32; 3]) {
    let s = cam.scale(pos[1]);
    let feet = cam.project(pos[0] + 0.15, pos[1], 0.0);
    match actor.body {
        Body::Cart => canvas.ellipse(feet, 1.6 * s, 0.45 * s, Paint::Darken(0.3)),
        Body::Ball => {
            let k = 0.3 / (1.0 + 0.5 * pos[2]);
            canvas.ellipse(feet, 0.18 * s, 0.06 * s, Paint::Darken(k));
        }
        Body::Cyclist => canvas.ellipse(feet, 0.9 * s, 0.14 * s, Paint::Darken(0.25)),
        _ => canvas.ellipse(feet, 0.42 * s, 0.12 * s, Paint::Darken(0.25)),
    }
}

/// Draws `actor` at `pos` (x, z, h), at gait phase `phase` (radians), moving
/// with image-horizontal direction component `facing`.
pub(crate) fn draw(
    canvas: &mut Canvas,
    cam: &Camera,
    actor: &Actor,
    pos: [f32; 3],
    phase: f32,
    facing: f32,
) {
    let local = Local {
        feet: cam.project(pos[0], pos[1], pos[2]),
        s: cam.scale(pos[1]),
        facing,
    };
    let look = &actor.look;
    let id = actor.id;
    match actor.body {
        Body::Walker => person(canvas, &local, look, id, phase, &WALK),
        Body::Runner => person(canvas, &local, look, id, phase, &RUN),
        Body::Cyclist => cyclist(canvas, &local, look, id, phase),
        Body::Skater => skater(canvas, &local, look, id, phase),
        Body::Cart => cart(canvas, cam, pos, facing.signum(), look, id),
        Body::Ball => {
            let r = (0.13 * local.s).max(1.1);
            canvas.circle(local.feet, r, Paint::Solid(look.shirt, id));
        }
    }
}

/// Head with hair, at the top of the neck.
fn head(canvas: &mut Canvas, l: &Local, look: &Look, id: u32, u: f32, v: f32) {
    let k = look.height / 1.75;
    canvas.circle(l.p(u, v, 0.0), l.r(0.115 * k), Paint::Solid(look.skin, id));
    canvas.circle(
        l.p(u - 0.03 * k, v + 0.035 * k, 0.0),
        l.r(0.1 * k),
        Paint::Solid(look.hair, id),
    );
}

/// A walking or running person.
fn person(canvas: &mut Canvas, l: &Local, look: &Look, id: u32, phase: f32, g: &Gait) {
    let k = look.height / 1.75;
    let (thigh, shin) = (0.46 * k, 0.46 * k);
    let legs: Vec<[(f32, f32); 2]> = (0..2)
        .map(|j| {
            let ph = phase + j as f32 * PI;
            let flex = 0.05 + g.knee * ph.cos().max(0.0);
            limb((0.0, 0.0), thigh, shin, g.swing * ph.sin(), -flex)
        })
        .collect();
    // The lower foot stands on the ground.
    let hip = -legs.iter().map(|leg| leg[1].1).fold(f32::MAX, f32::min);
    let torso = 0.54 * k;
    let shoulder = (g.lean * torso, hip + torso);
    let limb_at = |leg: &[(f32, f32); 2], j: usize| {
        let lat = if j == 0 { 0.08 } else { -0.08 };
        [
            l.p(0.0, hip, lat),
            l.p(leg[0].0, hip + leg[0].1, lat),
            l.p(leg[1].0, hip + leg[1].1, lat),
        ]
    };
    let arm = |j: usize| {
        let ph = phase + j as f32 * PI;
        let lat = if j == 0 { 0.2 } else { -0.2 };
        let a = limb(shoulder, 0.3 * k, 0.28 * k, -g.arm * ph.sin(), g.elbow);
        [
            l.p(shoulder.0, shoulder.1, lat),
            l.p(a[0].0, a[0].1, lat),
            l.p(a[1].0, a[1].1, lat),
        ]
    };
    let (leg_r, arm_r) = (l.r(0.08 * k), l.r(0.045 * k));
    let far = |c: Rgb| Paint::Solid(shade(c, 0.8), id);
    // Far side first, near side last.
    let [s, e, h] = arm(1);
    canvas.capsule(s, e, arm_r, far(look.shirt));
    canvas.capsule(e, h, arm_r, far(look.skin));
    for (j, leg) in legs.iter().enumerate().rev() {
        let [hp, kn, ft] = limb_at(leg, j);
        let paint = if j == 1 {
            far(look.pants)
        } else {
            Paint::Solid(look.pants, id)
        };
        canvas.capsule(hp, kn, leg_r, paint);
        canvas.capsule(kn, ft, leg_r * 0.9, paint);
    }
    let torso_r = l.r(0.165 * k * (1.0 + 0.3 * (1.0 - l.facing.abs())));
    if let Some(bag) = look.bag {
        canvas.capsule(
            l.p(-0.16 * k, hip + 0.22 * k, 0.0),
            l.p(-0.16 * k + g.lean * 0.3, hip + 0.45 * k, 0.0),
            l.r(0.1 * k),
            Paint::Solid(bag, id),
        );
    }
    canvas.capsule(
        l.p(0.0, hip + 0.06 * k, 0.0),
        l.p(shoulder.0, shoulder.1 - 0.04 * k, 0.0),
        torso_r,
        Paint::Solid(look.shirt, id),
    );
    head(
        canvas,
        l,
        look,
        id,
        shoulder.0 + 0.03 * k,
        shoulder.1 + 0.19 * k,
    );
    let [s, e, h] = arm(0);
    canvas.capsule(s, e, arm_r, Paint::Solid(look.shirt, id));
    canvas.capsule(e, h, arm_r, Paint::Solid(look.skin, id));
}

/// Knee position of a two-segment leg from `hip` to `foot` (segments `len`),
/// bending forward.
fn knee(hip: (f32, f32), foot: (f32, f32), len: f32) -> (f32, f32) {
    let (dx, dy) = (foot.0 - hip.0, foot.1 - hip.1);
    let d = dx.hypot(dy).clamp(1e-3, 2.0 * len - 1e-3);
    let off = (len * len - d * d / 4.0).max(0.0).sqrt();
    let (mx, my) = (hip.0 + dx / 2.0, hip.1 + dy / 2.0);
    // Perpendicular to hip->foot, on the forward side.
    let (px, py) = (-dy / d, dx / d);
    let sign = if px >= 0.0 { 1.0 } else { -1.0 };
    (mx + sign * off * px, my + sign * off * py)
}

/// A person riding a bicycle, pedalling.
fn cyclist(canvas: &mut Canvas, l: &Local, look: &Look, id: u32, phase: f32) {
    let k = look.height / 1.75;
    let wheel_r = 0.34;
    let (rear, front) = ((-0.52, wheel_r), (0.52, wheel_r));
    let crank = (0.0, 0.3);
    let seat = (-0.14, 0.88);
    let bar = (0.42, 1.0);
    let frame_paint = Paint::Solid(look.bag.unwrap_or([40.0, 40.0, 45.0]), id);
    let tyre = Paint::Solid([28.0, 28.0, 30.0], id);
    let w = l.r(0.03).max(0.55);
    let pedal = |j: usize| {
        let a = phase + j as f32 * PI;
        (crank.0 + 0.17 * a.cos(), crank.1 + 0.17 * a.sin())
    };
    let hip = (seat.0, seat.1 + 0.06);
    let leg_len = 0.46 * k;
    let leg = |j: usize, paint: Paint, canvas: &mut Canvas| {
        let f = pedal(j);
        let kn = knee(hip, f, leg_len);
        let r = l.r(0.08 * k);
        canvas.capsule(l.p(hip.0, hip.1, 0.0), l.p(kn.0, kn.1, 0.0), r, paint);
        canvas.capsule(l.p(kn.0, kn.1, 0.0), l.p(f.0, f.1, 0.0), r * 0.9, paint);
    };
    leg(1, Paint::Solid(shade(look.pants, 0.8), id), canvas);
    for c in [rear, front] {
        canvas.ring(l.p(c.0, c.1, 0.0), wheel_r * l.s, w * 1.6, tyre);
    }
    let seg = |a: (f32, f32), b: (f32, f32), canvas: &mut Canvas| {
        canvas.capsule(l.p(a.0, a.1, 0.0), l.p(b.0, b.1, 0.0), w, frame_paint);
    };
    seg(rear, crank, canvas);
    seg(rear, seat, canvas);
    seg(crank, seat, canvas);
    seg(crank, (0.38, 0.82), canvas);
    seg(seat, (0.38, 0.82), canvas);
    seg((0.38, 0.82), front, canvas);
    seg((0.38, 0.82), bar, canvas);
    let shoulder = (0.16, hip.1 + 0.52 * k);
    canvas.capsule(
        l.p(hip.0, hip.1, 0.0),
        l.p(shoulder.0, shoulder.1, 0.0),
        l.r(0.165 * k),
        Paint::Solid(look.shirt, id),
    );
    head(canvas, l, look, id, shoulder.0 + 0.1, shoulder.1 + 0.17 * k);
    leg(0, Paint::Solid(look.pants, id), canvas);
    let elbow = knee(shoulder, bar, 0.3 * k);
    let arm_r = l.r(0.045 * k);
    canvas.capsule(
        l.p(shoulder.0, shoulder.1, 0.0),
        l.p(elbow.0, elbow.1, 0.0),
        arm_r,
        Paint::Solid(look.shirt, id),
    );
    canvas.capsule(
        l.p(elbow.0, elbow.1, 0.0),
        l.p(bar.0, bar.1, 0.0),
        arm_r,
        Paint::Solid(look.skin, id),
    );
}

/// A person gliding on a skateboard, pushing off now and then.
fn skater(canvas: &mut Canvas, l: &Local, look: &Look, id: u32, phase: f32) {
    let k = look.height / 1.75;
    let deck = 0.12;
    let dark = Paint::Solid([30.0, 28.0, 26.0], id);
    canvas.capsule(
        l.p(-0.42, deck, 0.0),
        l.p(0.42, deck, 0.0),
        l.r(0.035),
        dark,
    );
    for u in [-0.28, 0.28] {
        canvas.circle(l.p(u, 0.04, 0.0), l.r(0.04), dark);
    }
    // Standing sideways, knees bent; the rear foot pushes during part of the cycle.
    let push = (phase.sin() - 0.3).max(0.0) / 0.7;
    let hip = (0.0, 0.88 * k + deck - 0.1 * push);
    let front_foot = (0.22, deck + 0.03);
    let rear_foot = (
        -0.22 - 0.35 * push * (phase.cos()),
        deck + 0.03 - deck * push,
    );
    let leg_len = 0.46 * k;
    for (j, f) in [(1, rear_foot), (0, front_foot)] {
        let kn = knee(hip, f, leg_len);
        let paint = if j == 1 {
            Paint::Solid(shade(look.pants, 0.8), id)
        } else {
            Paint::Solid(look.pants, id)
        };
        let r = l.r(0.08 * k);
        canvas.capsule(l.p(hip.0, hip.1, 0.0), l.p(kn.0, kn.1, 0.0), r, paint);
        canvas.capsule(l.p(kn.0, kn.1, 0.0), l.p(f.0, f.1, 0.0), r * 0.9, paint);
    }
    let shoulder = (0.08, hip.1 + 0.53 * k);
    canvas.capsule(
        l.p(hip.0, hip.1, 0.0),
        l.p(shoulder.0, shoulder.1, 0.0),
        l.r(0.165 * k),
        Paint::Solid(look.shirt, id),
    );
    head(
        canvas,
        l,
        look,
        id,
        shoulder.0 + 0.02,
        shoulder.1 + 0.19 * k,
    );
    // Arms held out for balance, swaying slowly.
    let sway = 0.3 * (0.5 * phase).sin();
    for dir in [-1.0f32, 1.0] {
        let hand = (
            shoulder.0 + dir * 0.5 * k,
            shoulder.1 - 0.25 * k + dir * sway * 0.2,
        );
        canvas.capsule(
            l.p(shoulder.0, shoulder.1, 0.0),
            l.p(hand.0, hand.1, 0.0),
            l.r(0.045 * k),
            Paint::Solid(look.shirt, id),
        );
    }
}

/// A small utility cart (golf-cart style) with a canopy and a driver, as a
/// rigid box in perspective: near side, top faces, wheels.
fn cart(canvas: &mut Canvas, cam: &Camera, pos: [f32; 3], dir: f32, look: &Look, id: u32) {
    let (x, z) = (pos[0], pos[1]);
    let dir = if dir == 0.0 { 1.0 } else { dir };
    let (half_len, depth) = (1.25, 1.2);
    // u along the direction of travel, d into depth (0 = near side), h up.
    let p = |u: f32, d: f32, h: f32| cam.project(x + dir * u, z + d, h);
    let s = cam.scale(z);
    let body = look.shirt;
    let solid = |c: Rgb| Paint::Solid(c, id);
    let dark = [30.0, 30.0, 32.0];
    // Far wheels peek out below the body.
    for u in [-0.8, 0.85] {
        canvas.circle(p(u, depth, 0.28), 0.28 * s, solid(shade(dark, 0.8)));
    }
    // Lower body: top face (the seat deck), then the near side.
    canvas.polygon(
        &[
            p(-half_len, 0.0, 0.75),
            p(half_len, 0.0, 0.75),
            p(half_len, depth, 0.75),
            p(-half_len, depth, 0.75),
        ],
        solid(shade(body, 1.08)),
    );
    canvas.polygon(
        &[
            p(-half_len, 0.0, 0.25),
            p(half_len, 0.0, 0.25),
            p(half_len, 0.0, 0.75),
            p(-half_len, 0.0, 0.75),
        ],
        solid(body),
    );
    // Driver on the seat, behind the near side.
    let drv = cam.project(x + dir * 0.1, z + 0.45, 0.75);
    let torso_top = cam.project(x + dir * 0.15, z + 0.45, 1.35);
    canvas.capsule(drv, torso_top, 0.17 * s, solid(shade(look.pants, 0.8)));
    canvas.circle(
        cam.project(x + dir * 0.17, z + 0.45, 1.5),
        0.12 * s,
        solid(look.skin),
    );
    // Pillars and the canopy roof.
    for (u, d) in [(-1.1, 0.0), (0.8, 0.0)] {
        canvas.capsule(
            p(u, d, 0.75),
            p(u, d, 1.85),
            (0.04 * s).max(0.5),
            solid(dark),
        );
    }
    canvas.polygon(
        &[
            p(-1.2, 0.0, 1.85),
            p(0.95, 0.0, 1.85),
            p(0.95, depth, 1.85),
            p(-1.2, depth, 1.85),
        ],
        solid(look.hair),
    );
    canvas.polygon(
        &[
            p(-1.2, 0.0, 1.75),
            p(0.95, 0.0, 1.75),
            p(0.95, 0.0, 1.85),
            p(-1.2, 0.0, 1.85),
        ],
        solid(shade(look.hair, 0.75)),
    );
    // Near wheels with light hubs.
    for u in [-0.8, 0.85] {
        canvas.circle(p(u, 0.0, 0.28), 0.28 * s, solid(dark));
        canvas.circle(p(u, 0.0, 0.28), 0.11 * s, solid([150.0, 150.0, 150.0]));
    }
}
