//! Memory-slot usage over the whole video: for each memory layer, each slot's
//! mean attention on every scored frame, filled in as scores stream in. The
//! memory view draws it as a slots × time strip (the slot browser).

use crate::Frame;

/// Slot usage of every memory layer over a video.
#[derive(Debug, Clone, Default)]
pub struct SlotUsage {
    frames: usize,
    layers: Vec<LayerUsage>,
    /// Bumped on every change (the strip's texture is keyed by it).
    pub serial: u64,
}

/// One layer: `data[s * frames + f]`, NaN where frame `f` is not scored.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerUsage {
    /// Memory slots.
    pub slots: usize,
    /// Slot-major usage.
    pub data: Vec<f32>,
}

impl SlotUsage {
    /// No usage yet, for a video of `frames` frames.
    pub fn new(frames: usize) -> Self {
        SlotUsage {
            frames,
            ..Default::default()
        }
    }

    /// Records frame `frame`'s usage, one vector of slot weights per layer.
    /// Frames out of range and layers whose slot count changed are ignored.
    pub fn set(&mut self, frame: usize, usage: &[Vec<f32>]) {
        if frame >= self.frames {
            return;
        }
        if self.layers.len() < usage.len() {
            for u in &usage[self.layers.len()..] {
                self.layers.push(LayerUsage {
                    slots: u.len(),
                    data: vec![f32::NAN; u.len() * self.frames],
                });
            }
        }
        for (layer, u) in self.layers.iter_mut().zip(usage) {
            if u.len() != layer.slots {
                continue;
            }
            for (s, &v) in u.iter().enumerate() {
                layer.data[s * self.frames + frame] = v;
            }
        }
        self.serial += 1;
    }

    /// Layer `i`, once any frame has been scored.
    pub fn layer(&self, i: usize) -> Option<&LayerUsage> {
        self.layers.get(i)
    }

    /// Layer `i` as an image `columns` wide (frames binned, NaN-aware mean;
    /// NaN where a bin has no scored frame) and one row per slot.
    pub fn image(&self, i: usize, columns: usize) -> Option<Frame<f32>> {
        let layer = self.layers.get(i)?;
        let n = self.frames.max(1);
        let cols = columns.clamp(1, n);
        let mut data = Vec::with_capacity(cols * layer.slots);
        for s in 0..layer.slots {
            let row = &layer.data[s * self.frames..(s + 1) * self.frames];
            for c in 0..cols {
                let bin = &row[c * n / cols..((c + 1) * n / cols).max(c * n / cols + 1)];
                let (sum, count) = bin
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold((0.0f32, 0usize), |(a, k), &v| (a + v, k + 1));
                data.push(if count > 0 {
                    sum / count as f32
                } else {
                    f32::NAN
                });
            }
        }
        Frame::from_vec(cols, layer.slots, 1, data)
    }

    /// Frame `frame`'s usage in layer `i` (NaN if not scored).
    pub fn at(&self, i: usize, frame: usize) -> Vec<f32> {
        match self.layers.get(i) {
            Some(l) if frame < self.frames => (0..l.slots)
                .map(|s| l.data[s * self.frames + frame])
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_fills_in_and_bins() {
        let mut u = SlotUsage::new(4);
        assert!(u.layer(0).is_none() && u.image(0, 4).is_none());
        u.set(1, &[vec![0.75, 0.25], vec![1.0]]);
        u.set(2, &[vec![0.25, 0.75], vec![1.0]]);
        u.set(9, &[vec![0.5, 0.5]]); // out of range: ignored
        assert_eq!(u.layer(0).unwrap().slots, 2);
        assert_eq!(u.layer(1).unwrap().slots, 1);
        assert_eq!(u.at(0, 2), vec![0.25, 0.75]);
        assert!(u.at(0, 0).iter().all(|v| v.is_nan()));
        // Two columns: frames {0, 1} and {2, 3}; unscored frames don't count.
        let img = u.image(0, 2).unwrap();
        assert_eq!((img.width, img.height), (2, 2));
        assert_eq!(img.data, vec![0.75, 0.25, 0.25, 0.75]);
        // More columns than frames: one per frame.
        let img = u.image(0, 100).unwrap();
        assert_eq!(img.width, 4);
        assert!(img.data[0].is_nan() && img.data[1] == 0.75);
        let before = u.serial;
        u.set(3, &[vec![0.5, 0.5], vec![1.0]]);
        assert!(u.serial > before);
    }
}
