//! Per-frame pixel masks read on demand, whichever way they are held
//! ([`Masks::Folder`] images are decoded one at a time; [`Masks::Dense`] bits
//! are unpacked), for pixel-level evaluation.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::masks::image_mask;
use super::Masks;
use crate::error::Result;

/// One frame's mask: `true` = anomalous pixel, row-major. Serialised with
/// its pixels as run lengths ([`super::paint::rle`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawMask")]
pub struct PixelMask {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// One flag per pixel, row-major.
    #[serde(with = "super::paint::rle")]
    pub pixels: Vec<bool>,
}

/// A mask as read, before its size is checked against its pixels.
#[derive(Deserialize)]
struct RawMask {
    width: usize,
    height: usize,
    #[serde(with = "super::paint::rle")]
    pixels: Vec<bool>,
}

impl TryFrom<RawMask> for PixelMask {
    type Error = String;

    fn try_from(m: RawMask) -> std::result::Result<Self, String> {
        if m.width.checked_mul(m.height) != Some(m.pixels.len()) {
            return Err(format!(
                "a {}x{} mask with {} pixels",
                m.width,
                m.height,
                m.pixels.len()
            ));
        }
        Ok(PixelMask {
            width: m.width,
            height: m.height,
            pixels: m.pixels,
        })
    }
}

/// A video's masks, one per frame, read on demand.
pub struct MaskFrames<'a> {
    source: Source<'a>,
}

enum Source<'a> {
    Files(Vec<PathBuf>),
    Dense {
        width: usize,
        height: usize,
        frames: &'a [Option<Vec<u8>>],
    },
}

impl Masks {
    /// A reader of this video's masks (lists a mask folder's images once).
    pub fn frames(&self) -> Result<MaskFrames<'_>> {
        let source = match self {
            Masks::Folder { path } => Source::Files(super::masks::mask_frames(path)?),
            Masks::Dense {
                width,
                height,
                frames,
            } => Source::Dense {
                width: *width,
                height: *height,
                frames,
            },
        };
        Ok(MaskFrames { source })
    }
}

impl MaskFrames<'_> {
    /// Number of frames with a mask.
    pub fn len(&self) -> usize {
        match &self.source {
            Source::Files(f) => f.len(),
            Source::Dense { frames, .. } => frames.len(),
        }
    }

    /// Whether there is no mask at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The mask of frame `i` (`None` past the last frame).
    pub fn get(&self, i: usize) -> Result<Option<PixelMask>> {
        match &self.source {
            Source::Files(files) => files.get(i).map(|p| image_mask(p)).transpose(),
            Source::Dense {
                width,
                height,
                frames,
            } => Ok(frames.get(i).map(|bits| PixelMask {
                width: *width,
                height: *height,
                pixels: match bits {
                    Some(b) => Masks::unpack_bits(b, width * height),
                    None => vec![false; width * height],
                },
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_and_dense_masks_read_the_same_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (5usize, 3usize);
        let on = [(1usize, 0usize), (4, 2)];
        let mut img = image::GrayImage::new(w as u32, h as u32);
        for &(x, y) in &on {
            img.put_pixel(x as u32, y as u32, image::Luma([255]));
        }
        img.save(dir.path().join("000.png")).unwrap();
        image::GrayImage::new(w as u32, h as u32)
            .save(dir.path().join("001.png"))
            .unwrap();
        let folder = Masks::Folder {
            path: dir.path().to_path_buf(),
        };
        let reader = folder.frames().unwrap();
        assert_eq!(reader.len(), 2);
        let m0 = reader.get(0).unwrap().unwrap();
        assert_eq!((m0.width, m0.height), (w, h));
        let want: Vec<bool> = (0..w * h).map(|i| on.contains(&(i % w, i / w))).collect();
        assert_eq!(m0.pixels, want);
        assert!(!reader.get(1).unwrap().unwrap().pixels.contains(&true));
        assert!(reader.get(2).unwrap().is_none());

        let dense = Masks::Dense {
            width: w,
            height: h,
            frames: vec![Masks::pack_bits(want.iter().copied(), w * h), None],
        };
        let d = dense.frames().unwrap();
        assert_eq!(d.get(0).unwrap().unwrap(), m0);
        assert_eq!(d.get(1).unwrap().unwrap().pixels, vec![false; w * h]);
    }

    #[test]
    fn unreadable_mask_image_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("000.png"), b"not a png").unwrap();
        let m = Masks::Folder {
            path: dir.path().to_path_buf(),
        };
        let err = m.frames().unwrap().get(0).unwrap_err().to_string();
        assert!(err.contains("000.png"), "{err}");
    }
}
