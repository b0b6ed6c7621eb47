//! Who is in the scene and when: pedestrians on the lanes and the diagonal
//! path, and the anomalous objects, all on straight (or ballistic) tracks.

use super::layout::Layout;
use super::raster::{luma, Rgb};
use super::rng::Rng;
use super::AnomalyKind;

/// Gravity (m/s²) for thrown objects.
pub(crate) const GRAVITY: f32 = 9.81;

/// The kind of figure drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    Walker,
    Runner,
    Cyclist,
    Skater,
    Cart,
    Ball,
}

/// Colours and size of a figure. Carts use `shirt` for the body and `hair`
/// for the canopy; balls use `shirt`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Look {
    pub shirt: Rgb,
    pub pants: Rgb,
    pub skin: Rgb,
    pub hair: Rgb,
    pub bag: Option<Rgb>,
    /// Body height in metres.
    pub height: f32,
}

/// One moving object: where it starts, how it moves, how it looks.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    /// Id in the object-id buffer (1-based; 0 is the background).
    pub id: u32,
    pub body: Body,
    /// What makes it anomalous, if it is.
    pub anomaly: Option<AnomalyKind>,
    /// Position (x, z, h) at time `t0`.
    pub p0: [f32; 3],
    /// Velocity (m/s) at time `t0`.
    pub v: [f32; 3],
    /// Time span (s) during which the actor exists.
    pub t0: f32,
    pub t1: f32,
    /// Falls under gravity (thrown objects).
    pub ballistic: bool,
    /// Gait phase at `t0` (radians) and metres travelled per gait cycle.
    pub phase0: f32,
    pub cycle: f32,
    pub look: Look,
}

impl Actor {
    /// Position (x, z, h) at time `t`, or `None` outside its life span.
    pub(crate) fn at(&self, t: f32) -> Option<[f32; 3]> {
        if t < self.t0 || t > self.t1 {
            return None;
        }
        let dt = t - self.t0;
        let mut p = [
            self.p0[0] + self.v[0] * dt,
            self.p0[1] + self.v[1] * dt,
            self.p0[2] + self.v[2] * dt,
        ];
        if self.ballistic {
            p[2] = (p[2] - 0.5 * GRAVITY * dt * dt).max(0.0);
        }
        Some(p)
    }

    /// Ground speed (m/s).
    pub(crate) fn speed(&self) -> f32 {
        self.v[0].hypot(self.v[1])
    }

    /// Gait phase (radians) at time `t`.
    pub(crate) fn phase(&self, t: f32) -> f32 {
        self.phase0 + std::f32::consts::TAU * self.speed() * (t - self.t0) / self.cycle
    }
}

/// A random colour with luma drawn from `lum` (lo, hi), saturation up to `sat` (0..1).
fn colour(rng: &mut Rng, lum: (f32, f32), sat: f32) -> Rgb {
    let l = rng.range(lum.0, lum.1);
    let hue = [
        rng.range(0.0, 255.0),
        rng.range(0.0, 255.0),
        rng.range(0.0, 255.0),
    ];
    let hl = luma(hue);
    let s = rng.range(0.0, sat);
    let c = hue.map(|v| (l + s * (v - hl)).clamp(0.0, 255.0));
    // Clamping shifts the luma a little; pull it back so contrast stays as chosen.
    let d = l - luma(c);
    c.map(|v| (v + d).clamp(0.0, 255.0))
}

/// A random person's look. Clothes avoid the pavement's gray, so people stand
/// out from the ground as they do in real footage.
pub(crate) fn person_look(rng: &mut Rng) -> Look {
    let shirt_l = if rng.chance(0.7) {
        (30.0, 120.0)
    } else {
        (210.0, 245.0)
    };
    let pants = if rng.chance(0.5) {
        // Jeans.
        let l = rng.range(40.0, 90.0);
        [l * 0.75, l * 0.95, l * 1.45].map(|v: f32| v.min(255.0))
    } else {
        colour(rng, (25.0, 100.0), 0.3)
    };
    let tone = rng.range(0.0, 1.0);
    let skin = [
        225.0 - 110.0 * tone,
        190.0 - 110.0 * tone,
        165.0 - 105.0 * tone,
    ];
    let hair = colour(rng, (18.0, 70.0), 0.2);
    Look {
        shirt: colour(rng, shirt_l, 0.6),
        pants,
        skin,
        hair,
        bag: rng.chance(0.3).then(|| colour(rng, (25.0, 80.0), 0.4)),
        height: rng.range(1.6, 1.88),
    }
}

/// Builds the actors of one scene.
pub(crate) struct Cast<'a> {
    layout: &'a Layout,
    rng: Rng,
    pub actors: Vec<Actor>,
}

impl<'a> Cast<'a> {
    pub(crate) fn new(layout: &'a Layout, rng: Rng) -> Self {
        Cast {
            layout,
            rng,
            actors: Vec::new(),
        }
    }

    fn push(&mut self, mut a: Actor) {
        a.id = self.actors.len() as u32 + 1;
        self.actors.push(a);
    }

    /// A walker from `from` (x, z) at time `t`, velocity `v`, for `dur` seconds.
    fn walker(&mut self, from: (f32, f32), v: (f32, f32), t: f32, dur: f32) -> Actor {
        let look = person_look(&mut self.rng);
        Actor {
            id: 0,
            body: Body::Walker,
            anomaly: None,
            p0: [from.0, from.1, 0.0],
            v: [v.0, v.1, 0.0],
            t0: t,
            t1: t + dur,
            ballistic: false,
            phase0: self.rng.range(0.0, std::f32::consts::TAU),
            cycle: 1.45 * look.height / 1.75,
            look,
        }
    }

    /// Pedestrians over `[0, duration]` seconds, `density` of them in view on
    /// average, each lane and the path walked in its dominant direction.
    pub(crate) fn pedestrians(&mut self, density: f32, duration: f32) {
        let layout = self.layout;
        let n_lanes = layout.lanes.len() as f32;
        // The diagonal path carries half a lane's share.
        let share = density / (n_lanes + 0.5);
        for lane in layout.lanes.clone() {
            let (xa, xb) = layout.lane_span(lane.z, 2.0);
            let dist = xb - xa;
            let rate = share / (dist / 1.3);
            self.arrivals(rate, dist / 1.0, duration, |cast, t| {
                let v = cast.rng.range(1.0, 1.6);
                let z = lane.z + cast.rng.range(-lane.spread, lane.spread);
                let x0 = if lane.dir > 0.0 { xa } else { xb };
                let a = cast.walker((x0, z), (lane.dir * v, 0.0), t, dist / v);
                cast.push(a);
                // Some walk in pairs, side by side.
                if cast.rng.chance(0.15) {
                    let dz = if z > lane.z { -0.6 } else { 0.6 };
                    let b = cast.walker(
                        (x0 - lane.dir * 0.3, z + dz),
                        (lane.dir * v, 0.0),
                        t,
                        dist / v,
                    );
                    cast.push(b);
                }
            });
        }
        let (a, b) = (layout.path_a, layout.path_b);
        let (dx, dz) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dz);
        let (ux, uz) = (dx / len, dz / len);
        let rate = 0.5 * share / (len / 1.3);
        self.arrivals(rate, len / 1.0, duration, |cast, t| {
            let v = cast.rng.range(1.0, 1.5);
            let off = cast.rng.range(-0.6, 0.6);
            let from = (a.0 - uz * off, a.1 + ux * off);
            let w = cast.walker(from, (ux * v, uz * v), t, len / v);
            cast.push(w);
        });
    }

    /// Arrivals at `rate` per second from `-lead` seconds (so the scene starts
    /// populated) to `duration`. Gaps are uniform in 0.3–1.7 times the mean
    /// (steadier than a Poisson stream, so a scene is rarely empty or packed)
    /// and at least 0.8 s.
    fn arrivals(
        &mut self,
        rate: f32,
        lead: f32,
        duration: f32,
        mut spawn: impl FnMut(&mut Self, f32),
    ) {
        if rate <= 0.0 {
            return;
        }
        // A random start phase, so lanes do not all start with an arrival.
        let mut t = -lead - self.rng.f32() / rate;
        loop {
            t += (self.rng.range(0.3, 1.7) / rate).max(0.8);
            if t > duration {
                break;
            }
            spawn(self, t);
        }
    }

    /// Median speed of the walkers so far (1.3 m/s when there are none).
    fn median_walking_speed(&self) -> f32 {
        let mut v: Vec<f32> = self
            .actors
            .iter()
            .filter(|a| a.body == Body::Walker)
            .map(Actor::speed)
            .collect();
        if v.is_empty() {
            return 1.3;
        }
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    /// Adds an anomaly of `kind` that enters the view at about time `t`.
    pub(crate) fn anomaly(&mut self, kind: AnomalyKind, t: f32) {
        let layout = self.layout;
        let walk = self.median_walking_speed();
        let lane_i = match kind {
            // Carts keep to the middle lanes, where they fit.
            AnomalyKind::Vehicle => 1 + self.rng.below(2),
            _ => self.rng.below(layout.lanes.len()),
        };
        let lane = layout.lanes[lane_i];
        let (body, speed, dir, cycle, margin) = match kind {
            AnomalyKind::Runner => (
                Body::Runner,
                walk * self.rng.range(3.5, 4.2),
                lane.dir,
                2.6,
                2.0,
            ),
            AnomalyKind::AgainstFlow => (
                Body::Walker,
                walk * self.rng.range(0.9, 1.1),
                -lane.dir,
                1.45,
                2.0,
            ),
            AnomalyKind::Cyclist => (Body::Cyclist, self.rng.range(3.5, 5.5), lane.dir, 5.0, 2.0),
            AnomalyKind::Skateboarder => {
                (Body::Skater, self.rng.range(2.8, 4.0), lane.dir, 5.0, 2.0)
            }
            AnomalyKind::Vehicle => (Body::Cart, self.rng.range(2.2, 3.2), lane.dir, 1.0, 3.0),
            AnomalyKind::ThrownObject => return self.thrown(t),
        };
        let (xa, xb) = layout.lane_span(lane.z, margin);
        let x0 = if dir > 0.0 { xa } else { xb };
        let z = lane.z + self.rng.range(-0.5, 0.5) * lane.spread;
        let mut look = person_look(&mut self.rng);
        if body == Body::Cart {
            look.shirt = colour(&mut self.rng, (200.0, 240.0), 0.3);
            look.hair = colour(&mut self.rng, (50.0, 70.0), 0.3);
        }
        // Start out of view so that it steps into view at time `t`.
        let t0 = t - margin / speed;
        let a = Actor {
            id: 0,
            body,
            anomaly: Some(kind),
            p0: [x0, z, 0.0],
            v: [dir * speed, 0.0, 0.0],
            t0,
            t1: t0 + (xb - xa) / speed,
            ballistic: false,
            phase0: self.rng.range(0.0, std::f32::consts::TAU),
            cycle: cycle * look.height / 1.75,
            look,
        };
        self.push(a);
    }

    /// An object thrown at time `t` from the hand of a walker in view (or from
    /// a point on the walkway when nobody is in view), falling until it lands.
    fn thrown(&mut self, t: f32) {
        let cam = self.layout.cam;
        let in_view: Vec<[f32; 3]> = self
            .actors
            .iter()
            .filter(|a| a.body == Body::Walker)
            .filter_map(|a| a.at(t))
            .filter(|p| {
                let (x, y) = cam.project(p[0], p[1], 0.0);
                x > 0.2 * cam.width && x < 0.8 * cam.width && y > 0.45 * cam.height
            })
            .collect();
        let from = if in_view.is_empty() {
            let z = self.layout.lanes[self.rng.below(self.layout.lanes.len())].z;
            [cam.x_at(self.rng.range(0.3, 0.7) * cam.width, z), z, 1.4]
        } else {
            let p = in_view[self.rng.below(in_view.len())];
            [p[0], p[1], 1.4]
        };
        // Thrown towards the middle of the view so the flight stays visible.
        let centre = cam.x_at(0.5 * cam.width, from[1]);
        let dir = if (centre - from[0]).abs() < 1.0 {
            self.rng.sign()
        } else {
            (centre - from[0]).signum()
        };
        let speed = self.rng.range(5.5, 8.0);
        let vz = speed * self.rng.range(-0.25, 0.25);
        let up = self.rng.range(3.5, 5.0);
        let flight = (up + (up * up + 2.0 * GRAVITY * from[2]).sqrt()) / GRAVITY;
        let light = self.rng.chance(0.5);
        let mut look = person_look(&mut self.rng);
        look.shirt = if light {
            [240.0, 236.0, 225.0]
        } else {
            [25.0, 25.0, 30.0]
        };
        let a = Actor {
            id: 0,
            body: Body::Ball,
            anomaly: Some(AnomalyKind::ThrownObject),
            p0: from,
            v: [dir * speed, vz, up],
            t0: t,
            t1: t + flight,
            ballistic: true,
            phase0: 0.0,
            cycle: 1.0,
            look,
        };
        self.push(a);
    }
}
