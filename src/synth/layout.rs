//! The scene's fixed geometry: a walkway crossing the view, its lanes, a
//! diagonal path through the lawn, lamp posts and a bench.
//!
//! The layout depends only on the image size (not on the seed), and so do the
//! lanes' walking directions: every scene of a dataset shares them, which is
//! what makes "walking against the flow" learnable from normal scenes.

use super::camera::Camera;

/// A lane of the walkway: walkers keep to depth `z` (within `spread`) and all
/// walk in direction `dir` in normal scenes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lane {
    /// Depth of the lane's centre line (m).
    pub z: f32,
    /// Walking direction along x: `1.0` (to the right) or `-1.0`.
    pub dir: f32,
    /// Half-width of the band walkers keep to (m).
    pub spread: f32,
}

/// Geometry shared by the background and the actors.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// The camera.
    pub cam: Camera,
    /// Depth of the walkway's near edge (m).
    pub walk_near: f32,
    /// Depth of the walkway's far edge (m).
    pub walk_far: f32,
    /// Lanes, far to near.
    pub lanes: Vec<Lane>,
    /// Far (top) end of the diagonal path, beyond the image (x, z).
    pub path_a: (f32, f32),
    /// Near (bottom) end of the diagonal path, beyond the image (x, z).
    pub path_b: (f32, f32),
    /// Half-width of the diagonal path (m).
    pub path_half: f32,
    /// Lamp posts (x, z).
    pub posts: Vec<(f32, f32)>,
    /// The bench (x, z of its centre).
    pub bench: (f32, f32),
    /// Image rows of the hedge band: top, bottom.
    pub hedge_rows: (f32, f32),
    /// Image box of the building at the top: left column, bottom row.
    pub building: (f32, f32),
}

impl Layout {
    /// The layout for a `width` x `height` image.
    pub(crate) fn new(width: usize, height: usize) -> Self {
        let cam = Camera::new(width, height);
        let (w, h) = (width as f32, height as f32);
        let z_row = |f: f32| cam.depth_of_row(f * h);
        let walk_far = z_row(0.40);
        let walk_near = z_row(0.94);
        // Far lanes go right, near lanes go left (like traffic).
        let lane_rows = [(0.50, 1.0), (0.61, 1.0), (0.73, -1.0), (0.85, -1.0)];
        let lanes = lane_rows
            .iter()
            .map(|&(row, dir)| {
                let z = z_row(row);
                Lane {
                    z,
                    dir,
                    spread: 0.3 * (z_row(row - 0.05) - z),
                }
            })
            .collect();
        let path_a = cam.ground(0.30 * w, -0.04 * h);
        let path_b = cam.ground(0.10 * w, 1.06 * h);
        let post_z = walk_far + 0.7;
        let posts = [0.52, 0.88]
            .iter()
            .map(|&f| (cam.x_at(f * w, post_z), post_z))
            .collect();
        let bench_z = walk_far + 1.6;
        Layout {
            cam,
            walk_near,
            walk_far,
            lanes,
            path_a,
            path_b,
            path_half: 1.3,
            posts,
            bench: (cam.x_at(0.69 * w, bench_z), bench_z),
            hedge_rows: (0.09 * h, 0.23 * h),
            building: (0.50 * w, 0.075 * h),
        }
    }

    /// The x range a walker crosses on a lane at depth `z`: from out of view on
    /// the left to out of view on the right, with `margin` metres to spare.
    pub(crate) fn lane_span(&self, z: f32, margin: f32) -> (f32, f32) {
        (
            self.cam.x_at(0.0, z) - margin,
            self.cam.x_at(self.cam.width, z) + margin,
        )
    }

    /// Distance (m) from ground point (x, z) to the diagonal path's centre line.
    pub(crate) fn path_distance(&self, x: f32, z: f32) -> f32 {
        let (a, b) = (self.path_a, self.path_b);
        let (dx, dz) = (b.0 - a.0, b.1 - a.1);
        let t = (((x - a.0) * dx + (z - a.1) * dz) / (dx * dx + dz * dz)).clamp(0.0, 1.0);
        (x - a.0 - t * dx).hypot(z - a.1 - t * dz)
    }
}
