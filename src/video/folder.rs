//! Frame folders: one image per frame, in natural order of file names.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::resize::FrameResizer;
use super::{has_extension, FrameSource, OutputSpec, SourceKind, VideoInfo, FOLDER_DEFAULT_FPS};
use crate::error::{Error, Result};
use crate::frame::{Frame, PixelFormat};

/// Image file extensions read as frames.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "tif", "tiff", "bmp"];

/// Whether `path` has an image extension read as a frame.
pub fn is_image_file(path: &Path) -> bool {
    has_extension(path, IMAGE_EXTENSIONS)
}

/// Compares names the way people count: `frame2` before `frame10`, case
/// ignored (the exact bytes only break ties, so the order is total).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    natural_cmp_folded(a.as_bytes(), b.as_bytes()).then_with(|| a.cmp(b))
}

fn natural_cmp_folded(mut a: &[u8], mut b: &[u8]) -> Ordering {
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                // Compare by value (ignoring leading zeros), then by length, so the order is total.
                let ta = strip_zeros(na);
                let tb = strip_zeros(nb);
                let ord = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| da.cmp(&db));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                let ord = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn strip_zeros(s: &[u8]) -> &[u8] {
    let k = s.iter().take_while(|&&c| c == b'0').count();
    &s[k..]
}

/// The image files directly inside `dir`, in natural order of names.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if is_image_file(&path) && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    Ok(files)
}

pub(crate) struct FolderSource {
    info: VideoInfo,
    files: Vec<PathBuf>,
    resizer: FrameResizer,
    native: Frame<u8>,
}

impl FolderSource {
    pub fn open(dir: &Path) -> Result<Self> {
        let files = list_images(dir)?;
        let first = files.first().ok_or_else(|| {
            Error::decode(
                dir,
                format!(
                    "no frames: the folder holds no image files ({})",
                    super::folder::IMAGE_EXTENSIONS.join(", ")
                ),
            )
        })?;
        let (width, height) = image::image_dimensions(first)
            .map_err(|e| Error::decode(first, format!("cannot read image: {e}")))?;
        let n = files.len();
        let info = VideoInfo {
            path: dir.to_path_buf(),
            source: SourceKind::Folder,
            num_frames: n,
            fps: FOLDER_DEFAULT_FPS,
            fps_known: false,
            width: width as usize,
            height: height as usize,
            duration_secs: n as f64 / FOLDER_DEFAULT_FPS,
            variable_frame_rate: false,
            warnings: Vec::new(),
        };
        Ok(FolderSource {
            info,
            files,
            resizer: FrameResizer::default(),
            native: Frame::default(),
        })
    }
}

/// The error for a frame of another size than the folder's first.
fn same_size(path: &Path, size: (usize, usize), first: (usize, usize)) -> Result<()> {
    if size == first {
        return Ok(());
    }
    Err(Error::decode(
        path,
        format!(
            "frame is {}x{}, the folder's first frame is {}x{}",
            size.0, size.1, first.0, first.1
        ),
    ))
}

/// Reads the header of every frame of the folder `dir` (cheap: no pixels):
/// an unreadable image, or one of another size than the first, is the error
/// that reading that frame would give.
pub fn check_frame_folder(dir: &Path) -> Result<()> {
    let mut first = None;
    for path in list_images(dir)? {
        let (w, h) = image::image_dimensions(&path)
            .map_err(|e| Error::decode(&path, format!("cannot read image: {e}")))?;
        let size = (w as usize, h as usize);
        same_size(&path, size, *first.get_or_insert(size))?;
    }
    Ok(())
}

/// Reads an image file as a gray `f32` frame (values in `[0, 1]`) at its
/// native size.
pub fn read_gray(path: &Path) -> Result<Frame<f32>> {
    let mut frame = Frame::default();
    load_image(path, PixelFormat::Gray, &mut frame)?;
    Ok(frame.to_f32())
}

/// Decodes an image file into a frame of the given pixel format at native size.
pub(crate) fn load_image(path: &Path, format: PixelFormat, out: &mut Frame<u8>) -> Result<()> {
    let img =
        image::open(path).map_err(|e| Error::decode(path, format!("cannot decode image: {e}")))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data = match format {
        PixelFormat::Gray => img.into_luma8().into_raw(),
        PixelFormat::Rgb => img.into_rgb8().into_raw(),
    };
    *out = Frame {
        width: w,
        height: h,
        channels: format.channels(),
        data,
    };
    Ok(())
}

impl FrameSource for FolderSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn read_into(&mut self, index: usize, spec: &OutputSpec, out: &mut Frame<u8>) -> Result<()> {
        let path = &self.files[index];
        let expected = (self.info.width, self.info.height);
        // A frame of another size is an error whether or not frames are
        // resized: resized, it would pass as a frame of the same scene.
        let check = |f: &Frame<u8>| same_size(path, (f.width, f.height), expected);
        match spec.size {
            Some((w, h)) if (w, h) != expected => {
                load_image(path, spec.format, &mut self.native)?;
                check(&self.native)?;
                self.resizer
                    .resize(&self.native, w, h, out)
                    .map_err(|e| Error::decode(path, e.to_string()))
            }
            _ => {
                load_image(path, spec.format, out)?;
                check(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["f10.png", "f2.png", "f1.png", "F3.png", "f02.png", "a.png"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            vec!["a.png", "f1.png", "f2.png", "f02.png", "F3.png", "f10.png"]
        );
        assert_eq!(natural_cmp("Test010", "Test9"), Ordering::Greater);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }

    #[test]
    fn a_frame_of_another_size_is_an_error_also_when_resizing() {
        let dir = tempfile::tempdir().unwrap();
        for (i, w) in [8, 8, 10].iter().enumerate() {
            image::GrayImage::new(*w, 6)
                .save(dir.path().join(format!("{i}.png")))
                .unwrap();
        }
        for spec in [OutputSpec::gray(), OutputSpec::gray().with_size(4, 3)] {
            let mut v = super::super::open_with(dir.path(), spec).unwrap();
            let mut f = Frame::default();
            v.read_into(1, &mut f).unwrap();
            let err = v.read_into(2, &mut f).unwrap_err().to_string();
            assert!(err.contains("2.png") && err.contains("10x6"), "{err}");
        }
    }

    #[test]
    fn empty_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = super::super::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("no frames") && err.contains(&*dir.path().to_string_lossy()),
            "{err}"
        );
    }
}
