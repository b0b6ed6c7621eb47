//! Frame folders end to end: listing, reading, resizing, caching, bad input.

use std::path::Path;

use vadscope::video::{self, cache::CachedVideo, OutputSpec};
use vadscope::PixelFormat;

/// Writes `n` 32x24 frames with a bright square at x = 2 * i, named out of order
/// lexicographically (f0.png … f12.png) so natural sorting matters.
fn write_frames(dir: &Path, n: usize) {
    for i in 0..n {
        let img = image::RgbImage::from_fn(32, 24, |x, y| {
            let inside = (x as usize) >= 2 * i && (x as usize) < 2 * i + 4 && (8..12).contains(&y);
            if inside {
                image::Rgb([250, 200, 150])
            } else {
                image::Rgb([20, 40, 60])
            }
        });
        img.save(dir.join(format!("f{i}.png"))).unwrap();
    }
}

#[test]
fn reads_frames_in_natural_order_at_any_size() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 13);
    std::fs::write(dir.path().join("notes.txt"), "not a frame").unwrap();
    let mut v = video::open(dir.path()).unwrap();
    assert_eq!(v.len(), 13);
    assert_eq!((v.info().width, v.info().height), (32, 24));
    assert!(!v.info().fps_known);

    // Frame 10 (f10.png) has its square at x = 20..24: natural order, not f1, f10, f11, f12, f2…
    let f = v.read(10).unwrap();
    assert_eq!((f.width, f.height, f.channels), (32, 24, 1));
    assert!(f.get(21, 9, 0) > 150 && f.get(10, 9, 0) < 60);

    v.set_output(OutputSpec {
        format: PixelFormat::Rgb,
        size: Some((16, 12)),
    });
    let f = v.read(10).unwrap();
    assert_eq!((f.width, f.height, f.channels), (16, 12, 3));
    // The square (x 20..24, y 8..12) lands near x 10..12, y 4..6 at half size.
    assert!(f.get(11, 5, 0) > 150, "{}", f.get(11, 5, 0));
    assert!(f.get(3, 5, 0) < 60);
    assert!(v.read(13).is_err());
}

#[test]
fn corrupt_frame_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 3);
    std::fs::write(dir.path().join("f1.png"), b"\x89PNG garbage").unwrap();
    let mut v = video::open(dir.path()).unwrap();
    assert!(v.read(0).is_ok());
    let err = v.read(1).unwrap_err().to_string();
    assert!(err.contains("f1.png"), "{err}");
}

#[test]
fn mismatched_frame_size_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 2);
    image::GrayImage::new(10, 10)
        .save(dir.path().join("f2.png"))
        .unwrap();
    let mut v = video::open(dir.path()).unwrap();
    let err = v.read(2).unwrap_err().to_string();
    assert!(err.contains("f2.png") && err.contains("10x10"), "{err}");
}

#[test]
fn cached_video_prefetches_ahead_of_the_playhead() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 12);
    let mut v = CachedVideo::open(dir.path(), OutputSpec::gray(), 1 << 20, 4).unwrap();
    let first = v.get(0).unwrap();
    assert_eq!(first.width, 32);
    // The worker fills frames 1..=4; wait for it (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(1..=4).all(|i| v.is_cached(i)) {
        assert!(
            std::time::Instant::now() < deadline,
            "prefetch did not fill frames 1..=4"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(!v.is_cached(9), "prefetched further than asked");
    let again = v.get(3).unwrap();
    assert_eq!(*again, video::open(dir.path()).unwrap().read(3).unwrap());
    let (_, _, hits, _) = v.cache_stats();
    assert!(hits >= 1);
    assert!(v.prefetch_error().is_none());
}
