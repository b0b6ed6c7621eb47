//! The scene's fixed camera: a pinhole high above a flat ground, looking
//! horizontally with the image shifted down (vertical lines stay vertical, as
//! in a surveillance view from a building).
//!
//! World coordinates are metres: `x` along the walkway (to the right), `z` the
//! depth from the camera, `h` the height above the ground.

use super::raster::Pt;

/// Projection between the ground plane and the image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Camera {
    /// Image width in pixels.
    pub width: f32,
    /// Image height in pixels.
    pub height: f32,
    /// Column of the vanishing point.
    pub cx: f32,
    /// Row of the horizon (negative: above the image).
    pub horizon: f32,
    /// Focal length in pixels.
    pub focal: f32,
    /// Height of the camera above the ground in metres.
    pub cam_height: f32,
}

impl Camera {
    /// The camera for a `width` x `height` image. The geometry depends on the
    /// height only, so scenes of any size look alike; a wider image sees more
    /// of the walkway.
    pub(crate) fn new(width: usize, height: usize) -> Self {
        let h = height as f32;
        let horizon = -0.9 * h;
        // A 1.7 m person standing on the bottom row is 17% of the image height;
        // one standing on the top row about half that.
        let scale_bottom = 0.17 * h / 1.7;
        Camera {
            width: width as f32,
            height: h,
            cx: 0.45 * width as f32,
            horizon,
            focal: 3.1 * h,
            cam_height: (h - horizon) / scale_bottom,
        }
    }

    /// Image position of the world point (x, z) at height `h`.
    pub(crate) fn project(&self, x: f32, z: f32, h: f32) -> Pt {
        (
            self.cx + self.focal * x / z,
            self.horizon + self.focal * (self.cam_height - h) / z,
        )
    }

    /// Pixels per metre at depth `z` (for objects standing there).
    pub(crate) fn scale(&self, z: f32) -> f32 {
        self.focal / z
    }

    /// Pixels per metre for an object whose feet are on image row `y`.
    pub(crate) fn scale_at_row(&self, y: f32) -> f32 {
        (y - self.horizon) / self.cam_height
    }

    /// Depth of the ground seen on image row `y` (below the horizon).
    pub(crate) fn depth_of_row(&self, y: f32) -> f32 {
        self.focal * self.cam_height / (y - self.horizon)
    }

    /// World `x` seen at image column `px` on the ground at depth `z`.
    pub(crate) fn x_at(&self, px: f32, z: f32) -> f32 {
        (px - self.cx) * z / self.focal
    }

    /// Ground point (x, z) seen at image position (px, py).
    pub(crate) fn ground(&self, px: f32, py: f32) -> (f32, f32) {
        let z = self.depth_of_row(py);
        (self.x_at(px, z), z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips_and_scales() {
        let cam = Camera::new(240, 160);
        let (x, z) = cam.ground(100.0, 120.0);
        let (px, py) = cam.project(x, z, 0.0);
        assert!((px - 100.0).abs() < 1e-3 && (py - 120.0).abs() < 1e-3);
        // A 1.7 m person on the bottom row is 17% of the height.
        let z = cam.depth_of_row(160.0);
        let head = cam.project(0.0, z, 1.7).1;
        assert!((160.0 - head - 27.2).abs() < 1e-2, "{head}");
        assert!((cam.scale(z) - cam.scale_at_row(160.0)).abs() < 1e-4);
        // Farther away is smaller.
        assert!(cam.scale_at_row(10.0) < 0.6 * cam.scale_at_row(160.0));
    }
}
