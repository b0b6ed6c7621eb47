//! Encoder round trips: encode, decode with FFmpeg's demuxer and decoder,
//! compare frame count, size, timestamps and pixels.

use super::*;
use ffmpeg::media;

/// A test pattern that moves: a gradient with a bright square sliding right.
fn pattern(w: usize, h: usize, channels: usize, i: usize) -> Frame<u8> {
    let mut f = Frame::new(w, h, channels);
    for y in 0..h {
        for x in 0..w {
            let inside = x >= 4 + 3 * i && x < 14 + 3 * i && (10..20).contains(&y);
            for c in 0..channels {
                let v = if inside {
                    230
                } else {
                    (40 + (x * 150) / w + (y * 40) / h + c * 20) as u8
                };
                f.data[(y * w + x) * channels + c] = v;
            }
        }
    }
    f
}

/// Decoded frames (converted to `channels`) and their timestamps in frames.
fn decode(path: &Path, channels: usize) -> (Vec<Frame<u8>>, Vec<f64>, f64) {
    let mut input = format::input(&path).expect("open");
    let stream = input
        .streams()
        .best(media::Type::Video)
        .expect("video stream");
    let (index, tb) = (stream.index(), stream.time_base());
    let rate = f64::from(stream.avg_frame_rate());
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .expect("parameters")
        .decoder()
        .video()
        .expect("decoder");
    let target = if channels == 1 {
        Pixel::GRAY8
    } else {
        Pixel::RGB24
    };
    let mut frames = Vec::new();
    let mut times = Vec::new();
    let mut receive = |decoder: &mut ffmpeg::decoder::Video| {
        let mut decoded = frame::Video::empty();
        while decoder.receive_frame(&mut decoded).is_ok() {
            let mut conv = frame::Video::empty();
            let mut sws = scaling::Context::get(
                decoded.format(),
                decoded.width(),
                decoded.height(),
                target,
                decoded.width(),
                decoded.height(),
                scaling::Flags::BICUBIC | scaling::Flags::ACCURATE_RND,
            )
            .expect("scaler");
            sws.run(&decoded, &mut conv).expect("convert");
            let (w, h) = (conv.width() as usize, conv.height() as usize);
            let stride = conv.stride(0);
            let mut data = Vec::with_capacity(w * h * channels);
            for y in 0..h {
                data.extend_from_slice(&conv.data(0)[y * stride..y * stride + w * channels]);
            }
            frames.push(Frame::from_vec(w, h, channels, data).expect("shape"));
            let ts = decoded.timestamp().expect("timestamp");
            times.push(ts as f64 * f64::from(tb) * rate);
        }
    };
    for (s, packet) in input.packets() {
        if s.index() == index {
            decoder.send_packet(&packet).expect("send packet");
            receive(&mut decoder);
        }
    }
    decoder.send_eof().expect("eof");
    receive(&mut decoder);
    (frames, times, rate)
}

fn psnr(a: &Frame<u8>, b: &Frame<u8>) -> f64 {
    let mse: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        / a.data.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn round_trip(name: &str, channels: usize, fps: f64, opts: &EncodeOptions) -> (f64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let (w, h, n) = (64, 48, 12);
    let mut writer = VideoWriter::create(&path, w, h, fps, opts).expect("create");
    let sources: Vec<Frame<u8>> = (0..n).map(|i| pattern(w, h, channels, i)).collect();
    for f in &sources {
        writer.write(f).expect("write");
    }
    assert_eq!(writer.frames_written(), n);
    writer.finish().expect("finish");
    // Only the final file remains: the temporary one was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let (frames, times, rate) = decode(&path, channels);
    assert_eq!(frames.len(), n, "{name}: frame count");
    assert!((rate - fps).abs() < 1e-6, "{name}: rate {rate}");
    for (i, t) in times.iter().enumerate() {
        assert!((t - i as f64).abs() < 1e-3, "{name}: frame {i} at {t}");
    }
    let worst = frames
        .iter()
        .zip(&sources)
        .map(|(d, s)| {
            assert_eq!((d.width, d.height), (w, h));
            psnr(d, s)
        })
        .fold(f64::INFINITY, f64::min);
    (worst, frames.len())
}

#[test]
fn lossless_gray_mp4_is_exact_and_timed() {
    let (p, _) = round_trip("a.mp4", 1, 10.0, &EncodeOptions::lossless());
    assert!(p > 60.0, "PSNR {p}");
}

#[test]
fn default_quality_rgb_mkv() {
    let (p, _) = round_trip("b.mkv", 3, 25.0, &EncodeOptions::default());
    assert!(p > 30.0, "PSNR {p}");
}

#[test]
fn mpeg4_avi_fractional_rate() {
    let opts = EncodeOptions {
        codec: Some("mpeg4".into()),
        quality: Quality::Crf(5.0),
        ..EncodeOptions::default()
    };
    let (p, _) = round_trip("c.avi", 1, 30000.0 / 1001.0, &opts);
    assert!(p > 30.0, "PSNR {p}");
}

#[test]
fn errors_name_the_file_and_abandoned_writers_clean_up() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("clip.xyz");
    let e = VideoWriter::create(&bad, 32, 32, 10.0, &EncodeOptions::default())
        .err()
        .expect("unknown extension");
    assert!(e.to_string().contains("clip.xyz"), "{e}");
    let path = dir.path().join("clip.mp4");
    let opts = EncodeOptions {
        codec: Some("no-such-codec".into()),
        ..EncodeOptions::default()
    };
    let e = VideoWriter::create(&path, 32, 32, 10.0, &opts)
        .err()
        .expect("bad codec");
    assert!(e.to_string().contains("clip.mp4"), "{e}");
    let e = VideoWriter::create(&path, 33, 32, 10.0, &EncodeOptions::default())
        .err()
        .expect("odd width in 4:2:0");
    assert!(e.to_string().contains("even"), "{e}");
    let mut w = VideoWriter::create(&path, 32, 32, 10.0, &EncodeOptions::default()).unwrap();
    let e = w.write(&Frame::new(16, 16, 1)).unwrap_err();
    assert!(e.to_string().contains("clip.mp4"), "{e}");
    w.write(&Frame::new(32, 32, 1)).unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
