//! File → Save a picture of this view…: the main view (frame, flow, error
//! maps or memory) as it is on screen, as a PNG at the view's size in
//! physical pixels. egui renders the whole window into a screenshot; the
//! view's rectangle is cut out of it and written atomically.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};

use eframe::egui;
use image::ImageEncoder as _;

use crate::app::VadApp;

/// A picture requested from the renderer, not yet written.
pub struct PictureJob {
    /// Where it goes.
    pub path: PathBuf,
    rx: Receiver<anyhow::Result<(usize, usize)>>,
}

/// Cuts `rect` (in points, `ppp` pixels per point) out of `image` and
/// writes it to `path` as a PNG; returns its size.
fn write_cut(
    image: &egui::ColorImage,
    rect: egui::Rect,
    ppp: f32,
    path: &Path,
) -> anyhow::Result<(usize, usize)> {
    let [iw, ih] = image.size;
    let x0 = ((rect.min.x * ppp).round().max(0.0) as usize).min(iw);
    let y0 = ((rect.min.y * ppp).round().max(0.0) as usize).min(ih);
    let x1 = ((rect.max.x * ppp).round().max(0.0) as usize).min(iw);
    let y1 = ((rect.max.y * ppp).round().max(0.0) as usize).min(ih);
    anyhow::ensure!(x1 > x0 && y1 > y0, "the view is not on screen");
    let (w, h) = (x1 - x0, y1 - y0);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in y0..y1 {
        for p in &image.pixels[y * iw + x0..y * iw + x1] {
            rgb.extend_from_slice(&[p.r(), p.g(), p.b()]);
        }
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, w as u32, h as u32, image::ExtendedColorType::Rgb8)
        .map_err(|e| anyhow::anyhow!("{}: cannot encode the picture: {e}", path.display()))?;
    crate::save::atomic_write(path, &png)?;
    Ok((w, h))
}

impl VadApp {
    /// Asks the renderer for a screenshot and writes the main view's part of
    /// it to `path` when it arrives.
    pub(crate) fn save_picture(&mut self, path: PathBuf) {
        let Some(rect) = self.view_rect else {
            self.state
                .errors
                .push("no view is drawn yet to take a picture of".into());
            return;
        };
        let ppp = self.ctx.pixels_per_point();
        let (tx, rx) = mpsc::channel();
        let ctx = self.ctx.clone();
        let to = path.clone();
        let callback = egui::ScreenshotCallback::new(move |image| {
            // The callback runs on the renderer's thread: encode elsewhere.
            std::thread::spawn(move || {
                let _ = tx.send(write_cut(&image, rect, ppp, &to));
                ctx.request_repaint();
            });
        });
        self.ctx
            .send_viewport_cmd(egui::ViewportCommand::Screenshot(callback));
        self.picture = Some(PictureJob { path, rx });
    }

    /// Reports a picture that was written (or why not).
    pub(crate) fn poll_picture(&mut self) {
        let Some(job) = &self.picture else { return };
        let Ok(result) = job.rx.try_recv() else {
            return;
        };
        let job = self.picture.take().expect("checked above");
        match result {
            Ok((w, h)) => {
                self.annotator.message = Some(format!(
                    "saved a {w}x{h} picture of the {} view to {}",
                    self.state.settings.view.label(),
                    job.path.display()
                ))
            }
            Err(e) => self
                .state
                .errors
                .push(format!("picture {} not saved: {e:#}", job.path.display())),
        }
    }
}
