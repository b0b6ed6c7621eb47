//! Painting pixel masks: a round brush stamped along the pointer's path,
//! boxes filled into masks, and the per-frame masks a mask-image folder
//! needs, put together from the file's masks, the painted ones and the box
//! tracks ([`masks_for_folder`]). Masks travel in recovery files
//! run-length encoded ([`rle`]): a brush stroke is a few runs per row.

use std::collections::BTreeMap;

use super::pixels::PixelMask;
use super::tracks::Track;
use super::{Interval, Masks};
use crate::error::{Error, Result};

impl PixelMask {
    /// An all-normal mask of `width`×`height`.
    pub fn blank(width: usize, height: usize) -> Self {
        PixelMask {
            width,
            height,
            pixels: vec![false; width * height],
        }
    }

    /// Whether any pixel is anomalous.
    pub fn any(&self) -> bool {
        self.pixels.contains(&true)
    }

    /// Sets (`value` true) or clears every pixel whose centre lies within
    /// `radius_px` of the segment `from`–`to` (mask pixels; a point when the
    /// two are equal); returns whether a pixel changed.
    pub fn paint_segment(
        &mut self,
        from: [f32; 2],
        to: [f32; 2],
        radius_px: f32,
        value: bool,
    ) -> bool {
        let r = radius_px.max(0.5);
        let (w, h) = (self.width, self.height);
        let lo = |a: f32, b: f32| (a.min(b) - r).floor().max(0.0) as usize;
        let hi = |a: f32, b: f32, n: usize| ((a.max(b) + r).ceil().max(0.0) as usize).min(n);
        let (x0, x1) = (lo(from[0], to[0]), hi(from[0], to[0], w));
        let (y0, y1) = (lo(from[1], to[1]), hi(from[1], to[1], h));
        let d = [to[0] - from[0], to[1] - from[1]];
        let len2 = d[0] * d[0] + d[1] * d[1];
        let mut changed = false;
        for y in y0..y1 {
            for x in x0..x1 {
                let c = [x as f32 + 0.5, y as f32 + 0.5];
                // The nearest point of the segment to the pixel's centre.
                let t = if len2 > 0.0 {
                    (((c[0] - from[0]) * d[0] + (c[1] - from[1]) * d[1]) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (dx, dy) = (c[0] - from[0] - t * d[0], c[1] - from[1] - t * d[1]);
                if dx * dx + dy * dy <= r * r {
                    let px = &mut self.pixels[y * w + x];
                    changed |= *px != value;
                    *px = value;
                }
            }
        }
        changed
    }

    /// Sets the pixels whose centres lie inside a box given in pixels of an
    /// image of `image_size` (scaled to this mask's size).
    pub fn fill_box(&mut self, b: super::tracks::BoxPx, image_size: (usize, usize)) {
        let sx = self.width as f32 / image_size.0.max(1) as f32;
        let sy = self.height as f32 / image_size.1.max(1) as f32;
        let span = |a: f32, len: f32, s: f32, n: usize| {
            let first = (a * s - 0.5).ceil().max(0.0) as usize;
            let end = (((a + len) * s - 0.5).floor() + 1.0).max(0.0) as usize;
            first..end.min(n)
        };
        for y in span(b.y, b.h, sy, self.height) {
            for x in span(b.x, b.w, sx, self.width) {
                self.pixels[y * self.width + x] = true;
            }
        }
    }
}

/// One video's masks as a mask-image folder stores them, `len` frames of
/// `size` (the file's mask size when it has masks, else the video's frame
/// size): a frame inside `intervals` has its painted mask (else the file's,
/// `base`) with its boxes filled in; a frame outside has none, since a
/// folder's frame labels are its masks. An anomalous frame left without a
/// pixel is an error listing such frames: the folder would call it normal.
pub fn masks_for_folder(
    intervals: &[Interval],
    base: Option<&Masks>,
    painted: &BTreeMap<usize, PixelMask>,
    tracks: &[Track],
    len: usize,
    size: (usize, usize),
) -> Result<Masks> {
    let reader = base.map(Masks::frames).transpose()?;
    let (width, height) = match &reader {
        Some(r) if !r.is_empty() => match r.get(0)? {
            Some(m) => (m.width, m.height),
            None => size,
        },
        _ => size,
    };
    let labels = super::labels_of(intervals, len);
    let mut frames = Vec::with_capacity(len);
    let mut empty = Vec::new();
    for (f, &anomalous) in labels.iter().enumerate() {
        if !anomalous {
            frames.push(None);
            continue;
        }
        let mut m = match (painted.get(&f), &reader) {
            (Some(p), _) => p.clone(),
            (None, Some(r)) => r.get(f)?.unwrap_or_else(|| PixelMask::blank(width, height)),
            (None, None) => PixelMask::blank(width, height),
        };
        if (m.width, m.height) != (width, height) {
            return Err(Error::invalid(format!(
                "frame {f}: its mask is {}x{}, the others are {width}x{height}",
                m.width, m.height
            )));
        }
        for b in tracks.iter().filter_map(|t| t.box_at(f)) {
            m.fill_box(b, size);
        }
        if !m.any() {
            empty.push(f);
        }
        frames.push(Masks::pack_bits(m.pixels.iter().copied(), width * height));
    }
    if !empty.is_empty() {
        let runs = super::normalize_intervals(
            empty
                .iter()
                .map(|&f| Interval {
                    start: f,
                    end: f + 1,
                })
                .collect(),
        );
        let listed: Vec<String> = runs
            .iter()
            .take(5)
            .map(|iv| match iv.len() {
                1 => iv.start.to_string(),
                _ => format!("{}–{}", iv.start, iv.end - 1),
            })
            .collect();
        return Err(Error::invalid(format!(
            "{} anomalous frame(s) have no mask pixel and no box (frames {}{}): a mask folder \
             labels a frame by its mask, so they would read back as normal. Paint them (P), \
             draw a box (B), or save as .json, .m, .mat or .npy",
            empty.len(),
            listed.join(", "),
            if runs.len() > 5 { ", …" } else { "" }
        )));
    }
    Ok(Masks::Dense {
        width,
        height,
        frames,
    })
}

/// Serde of a mask's pixels as run lengths, alternating normal and
/// anomalous and starting with normal (`[5, 2, 3]`: five normal pixels, two
/// anomalous, three normal).
pub mod rle {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the runs.
    pub fn serialize<S: Serializer>(pixels: &[bool], s: S) -> Result<S::Ok, S::Error> {
        encode(pixels).serialize(s)
    }

    /// Reads the runs (their sum is the pixel count, checked by the owner).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<bool>, D::Error> {
        let runs = Vec::<u32>::deserialize(d)?;
        let total: u64 = runs.iter().map(|&r| u64::from(r)).sum();
        if total > (super::super::MAX_MASK_SIDE * super::super::MAX_MASK_SIDE) as u64 {
            return Err(serde::de::Error::custom(format!(
                "a mask of {total} pixels is larger than any allowed"
            )));
        }
        Ok(decode(&runs))
    }

    /// The run lengths of `pixels`.
    pub fn encode(pixels: &[bool]) -> Vec<u32> {
        let mut runs = Vec::new();
        let (mut value, mut n) = (false, 0u32);
        for &p in pixels {
            if p != value {
                runs.push(n);
                (value, n) = (p, 0);
            }
            n += 1;
        }
        runs.push(n);
        runs
    }

    /// The pixels of run lengths.
    pub fn decode(runs: &[u32]) -> Vec<bool> {
        let mut out = Vec::new();
        for (k, &n) in runs.iter().enumerate() {
            out.extend(std::iter::repeat_n(k % 2 == 1, n as usize));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::tracks::BoxPx;

    fn count(m: &PixelMask) -> usize {
        m.pixels.iter().filter(|&&p| p).count()
    }

    #[test]
    fn a_dab_is_a_disc_and_a_stroke_a_capsule() {
        let mut m = PixelMask::blank(20, 20);
        assert!(m.paint_segment([10.0, 10.0], [10.0, 10.0], 2.0, true));
        // Centres within 2 px of (10, 10): the 12 of a radius-2 disc on the grid.
        assert_eq!(count(&m), 12);
        assert!(m.pixels[10 * 20 + 10] && !m.pixels[10 * 20 + 13]);
        assert!(
            !m.paint_segment([10.0, 10.0], [10.0, 10.0], 2.0, true),
            "no change"
        );
        let mut s = PixelMask::blank(20, 20);
        s.paint_segment([2.0, 10.0], [17.0, 10.0], 1.0, true);
        // Rows 9 and 10 (centres 9.5, 10.5) from x = 2 to 16, plus the caps.
        assert!((2..17).all(|x| s.pixels[9 * 20 + x] && s.pixels[10 * 20 + x]));
        assert!(!s.pixels[12 * 20 + 10] && !s.pixels[7 * 20 + 10]);
        // Erasing clears; off the image is clipped, not a panic.
        assert!(s.paint_segment([0.0, 10.0], [30.0, 10.0], 3.0, false));
        assert!(!s.any());
        assert!(!s.paint_segment([-50.0, -50.0], [-40.0, -40.0], 3.0, true));
    }

    #[test]
    fn boxes_fill_the_pixels_they_cover_at_the_masks_scale() {
        let mut m = PixelMask::blank(10, 10);
        m.fill_box(
            BoxPx {
                x: 2.0,
                y: 2.0,
                w: 3.0,
                h: 2.0,
            },
            (10, 10),
        );
        assert_eq!(count(&m), 6);
        assert!(m.pixels[2 * 10 + 2] && m.pixels[3 * 10 + 4] && !m.pixels[4 * 10 + 2]);
        // A 20x20 image's box on a 10x10 mask covers half as many pixels a side.
        let mut half = PixelMask::blank(10, 10);
        half.fill_box(
            BoxPx {
                x: 4.0,
                y: 4.0,
                w: 6.0,
                h: 4.0,
            },
            (20, 20),
        );
        assert_eq!(half.pixels, m.pixels);
    }

    #[test]
    fn run_lengths_round_trip() {
        let mut m = PixelMask::blank(7, 3);
        m.paint_segment([1.0, 1.0], [5.0, 1.0], 0.6, true);
        let runs = rle::encode(&m.pixels);
        assert_eq!(runs.iter().sum::<u32>(), 21);
        assert_eq!(rle::decode(&runs), m.pixels);
        assert_eq!(rle::encode(&[true, true, false]), vec![0, 2, 1]);
        let json = serde_json::to_string(&m).unwrap();
        let back: PixelMask = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn folder_masks_follow_the_intervals_and_refuse_empty_anomalous_frames() {
        let iv = |s, e| Interval { start: s, end: e };
        let mut painted = BTreeMap::new();
        let mut p = PixelMask::blank(8, 6);
        p.paint_segment([4.0, 3.0], [4.0, 3.0], 1.0, true);
        painted.insert(2, p.clone());
        // Painted on a frame outside the intervals: dropped with the frame.
        painted.insert(5, p.clone());
        let track = Track::new(
            1,
            3,
            BoxPx {
                x: 0.0,
                y: 0.0,
                w: 2.0,
                h: 2.0,
            },
        )
        .ended_at(4)
        .unwrap();
        let m = masks_for_folder(&[iv(2, 4)], None, &painted, &[track], 6, (8, 6)).unwrap();
        let Masks::Dense { width, frames, .. } = &m else {
            panic!("{m:?}")
        };
        assert_eq!((*width, frames.len()), (8, 6));
        let on: Vec<bool> = frames.iter().map(Option::is_some).collect();
        assert_eq!(on, [false, false, true, true, false, false]);
        let f3 = Masks::unpack_bits(frames[3].as_ref().unwrap(), 48);
        assert_eq!(f3.iter().filter(|&&b| b).count(), 4, "the 2x2 box");
        // Frame 4 is anomalous with nothing on it: refused, named.
        let e = masks_for_folder(&[iv(2, 5)], None, &painted, &[], 6, (8, 6))
            .unwrap_err()
            .to_string();
        assert!(e.contains("frames 3–4"), "{e}");
    }
}
