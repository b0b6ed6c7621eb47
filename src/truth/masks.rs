//! Mask image folders (Ped2 `testing/masks/01/000.png`): a folder of per-video
//! folders of images, one per frame, in natural order of their names; a non-zero
//! pixel is anomalous (alpha is ignored). A folder that holds images directly is
//! one video named after the folder. Folders without images hold no video.
//!
//! Reading decodes every image (in parallel) to learn which frames are anomalous,
//! keeps none of them, and references each video's folder as `Masks::Folder`.
//! Writing stores `Dense` masks as 8-bit grayscale PNGs (0 or 255) named
//! `000.png`, `001.png`, ... and copies the images of `Folder` masks.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{GroundTruth, Masks, ReadOptions, VideoTruth};
use crate::error::{Error, Result};
use crate::video::{has_extension as has_ext, natural_cmp};

/// Image extensions taken as mask frames: the same as frame folders.
pub(crate) use crate::video::IMAGE_EXTENSIONS as IMAGE_EXTS;

fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name();
        // Hidden entries (our own temporary folders, .DS_Store) are not data.
        if !name.to_string_lossy().starts_with('.') {
            out.push(e.path());
        }
    }
    out.sort_by(|a, b| natural_cmp(&file_name(a), &file_name(b)));
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Files of `dir` with one of `exts` (case-insensitive), in natural order.
pub(crate) fn list_files(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && has_ext(p, exts))
        .collect())
}

/// The mask images of one video folder, in natural order. Frames are matched
/// to masks by position, so a gap in numbered names (`012.png`, `014.png`)
/// would shift every later mask by a frame: it is an error naming the folder.
pub fn mask_frames(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = list_files(dir, IMAGE_EXTS)?;
    check_numbering(dir, &files)?;
    Ok(files)
}

/// The number at the end of a file stem (`frame_0012` → 12).
fn trailing_number(p: &Path) -> Option<u64> {
    let stem = p.file_stem()?.to_string_lossy();
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    stem[stem.len() - digits..].parse().ok()
}

fn check_numbering(dir: &Path, files: &[PathBuf]) -> Result<()> {
    let numbers: Option<Vec<u64>> = files.iter().map(|f| trailing_number(f)).collect();
    let Some(numbers) = numbers else {
        return Ok(()); // Not numbered: natural order is all there is.
    };
    for (k, w) in numbers.windows(2).enumerate() {
        if w[1] != w[0] + 1 {
            return Err(Error::format(
                dir,
                format!(
                    "mask images jump from {} to {} (frame numbers {} to {}): masks are \
                     matched to frames by position, so every later mask would be a frame \
                     off. Add the missing masks (all zero for normal frames)",
                    file_name(&files[k]),
                    file_name(&files[k + 1]),
                    w[0],
                    w[1]
                ),
            ));
        }
    }
    Ok(())
}

/// Sub-folders of `dir`, in natural order.
pub(crate) fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(entries(dir)?.into_iter().filter(|p| p.is_dir()).collect())
}

/// An image as a mask: a pixel is anomalous when a colour channel is non-zero.
/// Errors name the file.
pub fn image_mask(path: &Path) -> Result<super::pixels::PixelMask> {
    let img = image::open(path).map_err(|e| Error::decode(path, e.to_string()))?;
    let (width, height) = (img.width() as usize, img.height() as usize);
    let pixels = if img.color().has_alpha() {
        img.to_rgb16().pixels().map(|p| p.0 != [0; 3]).collect()
    } else {
        let c = usize::from(img.color().bytes_per_pixel());
        img.as_bytes()
            .chunks_exact(c.max(1))
            .map(|px| px.iter().any(|&b| b != 0))
            .collect()
    };
    Ok(super::pixels::PixelMask {
        width,
        height,
        pixels,
    })
}

/// Whether an image has a non-zero pixel (colour channels only).
fn image_nonzero(path: &Path) -> Result<bool> {
    Ok(image_mask(path)?.pixels.contains(&true))
}

/// Reads a folder of mask folders (or one mask folder).
pub(crate) fn read(dir: &Path, _opts: &ReadOptions) -> Result<GroundTruth> {
    read_videos(dir, true)
}

/// The videos of a folder of mask folders (or of one mask folder), each with
/// its frame count and its folder as [`Masks::Folder`], without decoding an
/// image: no frame is marked anomalous. Saving one video into the folder
/// copies the others' images and needs no more than this (decoding Ped2's
/// 2010 masks to learn labels that are not written would cost seconds).
pub fn list_videos(dir: &Path) -> Result<GroundTruth> {
    read_videos(dir, false)
}

fn read_videos(dir: &Path, decode: bool) -> Result<GroundTruth> {
    let direct = list_files(dir, IMAGE_EXTS)?;
    let videos: Vec<PathBuf> = if direct.is_empty() {
        list_dirs(dir)?
    } else {
        vec![dir.to_path_buf()]
    };
    let mut out = Vec::with_capacity(videos.len());
    for vdir in videos {
        let frames = mask_frames(&vdir)?;
        if frames.is_empty() {
            continue;
        }
        let labels = if decode {
            frames
                .par_iter()
                .map(|f| image_nonzero(f))
                .collect::<Result<Vec<bool>>>()?
        } else {
            vec![false; frames.len()]
        };
        let mut v = VideoTruth::from_labels(file_name(&vdir), &labels);
        v.masks = Some(Masks::Folder { path: vdir });
        out.push(v);
    }
    if out.is_empty() {
        return Err(Error::format(
            dir,
            "no mask images in this folder or its sub-folders",
        ));
    }
    Ok(GroundTruth {
        videos: out,
        provenance: None,
    })
}

/// Whether `dir` holds mask images itself (one video's folder) rather than
/// per-video folders.
pub fn holds_images(dir: &Path) -> bool {
    list_files(dir, IMAGE_EXTS).is_ok_and(|f| !f.is_empty())
}

/// Writes every video's masks into `dir/NAME/` (an empty, fresh folder), or
/// the one video's into `dir` itself when `flat` (a video's own folder,
/// as it was read).
pub(crate) fn write(gt: &GroundTruth, dir: &Path, flat: bool) -> Result<()> {
    if flat && gt.videos.len() != 1 {
        return Err(Error::invalid(format!(
            "{}: a folder of mask images holds one video, not {}",
            dir.display(),
            gt.videos.len()
        )));
    }
    for v in &gt.videos {
        let vdir = if flat {
            dir.to_path_buf()
        } else {
            let vdir = dir.join(super::io::safe_file_name(&v.name, dir)?);
            std::fs::create_dir(&vdir).map_err(|e| Error::io(&vdir, e))?;
            vdir
        };
        match &v.masks {
            Some(Masks::Dense {
                width,
                height,
                frames,
            }) => {
                let digits = frames.len().saturating_sub(1).to_string().len().max(3);
                frames.par_iter().enumerate().try_for_each(|(i, f)| {
                    let path = vdir.join(format!("{i:0digits$}.png"));
                    let n = width * height;
                    let px: Vec<u8> = match f {
                        Some(bits) => Masks::unpack_bits(bits, n)
                            .iter()
                            .map(|&b| if b { 255 } else { 0 })
                            .collect(),
                        None => vec![0; n],
                    };
                    image::save_buffer_with_format(
                        &path,
                        &px,
                        *width as u32,
                        *height as u32,
                        image::ExtendedColorType::L8,
                        image::ImageFormat::Png,
                    )
                    .map_err(|e| Error::decode(&path, e.to_string()))
                })?;
            }
            Some(Masks::Folder { path }) => {
                for f in list_files(path, IMAGE_EXTS)? {
                    let to = vdir.join(f.file_name().unwrap_or_default());
                    std::fs::copy(&f, &to).map_err(|e| Error::io(&f, e))?;
                }
            }
            None => {
                return Err(Error::invalid(format!(
                "{}: video {:?} has no pixel masks to write (frame labels alone cannot make masks)",
                dir.display(),
                v.name
            )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_from_images() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path().join("01");
        std::fs::create_dir(&v).unwrap();
        for (i, on) in [
            false, true, true, false, false, false, false, false, false, false, true,
        ]
        .iter()
        .enumerate()
        {
            let mut img = image::GrayImage::new(4, 3);
            if *on {
                img.put_pixel(3, 2, image::Luma([255]));
            }
            img.save(v.join(format!("{i}.png"))).unwrap();
        }
        // RGBA with opaque alpha but black colour is normal.
        let w = dir.path().join("02");
        std::fs::create_dir(&w).unwrap();
        image::RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 0, 255]))
            .save(w.join("0.png"))
            .unwrap();
        image::RgbaImage::from_pixel(2, 2, image::Rgba([0, 1, 0, 0]))
            .save(w.join("1.png"))
            .unwrap();
        let gt = read(dir.path(), &ReadOptions::default()).unwrap();
        assert_eq!(gt.videos.len(), 2);
        let a = &gt.videos[0];
        assert_eq!(a.name, "01");
        // Natural order puts 10.png last, so frame 10 is the anomalous one.
        assert_eq!(a.labels(11).iter().filter(|&&b| b).count(), 3);
        assert!(a.is_anomalous(1) && a.is_anomalous(2) && a.is_anomalous(10));
        assert_eq!(a.masks, Some(Masks::Folder { path: v }));
        assert_eq!(gt.videos[1].labels(2), [false, true]);
        // One video's folder alone reads as that video.
        let one = read(&w, &ReadOptions::default()).unwrap();
        assert_eq!(one.videos[0].name, "02");
    }

    #[test]
    fn bad_images_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("000.png"), b"not a png").unwrap();
        let e = read(dir.path(), &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("000.png"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(read(empty.path(), &ReadOptions::default()).is_err());
    }

    #[test]
    fn a_gap_in_the_numbering_is_an_error_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        for i in [0, 1, 2, 4, 5] {
            image::GrayImage::new(2, 2)
                .save(dir.path().join(format!("{i:03}.png")))
                .unwrap();
        }
        let e = read(dir.path(), &ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("002.png") && e.contains("004.png"), "{e}");
        // Numbering from 1, or names without numbers, are fine.
        let named = tempfile::tempdir().unwrap();
        for n in ["a", "b"] {
            image::GrayImage::new(2, 2)
                .save(named.path().join(format!("{n}.png")))
                .unwrap();
        }
        assert!(read(named.path(), &ReadOptions::default()).is_ok());
    }
}
