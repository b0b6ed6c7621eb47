//! Ground-truth formats end to end: random ground truths survive a write and a
//! read in every writable format; malformed files are refused with errors that
//! name them; random bytes never panic a reader.

mod common;
use common::vadscope;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use vadscope::truth::{self, Format, GroundTruth, Masks, ReadOptions, VideoTruth};

/// Videos `00_x`, `01_y`, ... (unique, naturally ordered) with random labels.
fn ground_truth() -> impl Strategy<Value = GroundTruth> {
    proptest::collection::vec(
        (
            "[a-z0-9]{1,6}",
            proptest::collection::vec(any::<bool>(), 0..40),
        ),
        1..5,
    )
    .prop_map(|vs| GroundTruth {
        videos: vs
            .into_iter()
            .enumerate()
            .map(|(i, (name, labels))| VideoTruth::from_labels(format!("{i:02}_{name}"), &labels))
            .collect(),
        provenance: None,
    })
}

/// Adds random 1..4 x 1..4 masks consistent with the labels.
fn with_masks(mut gt: GroundTruth, seed: u64) -> GroundTruth {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for v in &mut gt.videos {
        let (w, h) = (1 + next() as usize % 4, 1 + next() as usize % 4);
        let n = v.num_frames.unwrap_or(0);
        let frames = (0..n)
            .map(|i| {
                v.is_anomalous(i).then(|| {
                    let mut bits: Vec<bool> = (0..w * h).map(|_| next() % 3 == 0).collect();
                    bits[next() as usize % (w * h)] = true;
                    Masks::pack_bits(bits, w * h).unwrap_or_default()
                })
            })
            .collect();
        v.masks = Some(Masks::Dense {
            width: w,
            height: h,
            frames,
        });
    }
    gt
}

fn list(gt: &GroundTruth) -> ReadOptions {
    ReadOptions {
        videos: Some(
            gt.videos
                .iter()
                .map(|v| (v.name.clone(), v.num_frames.unwrap_or(0)))
                .collect(),
        ),
        ..Default::default()
    }
}

/// Name, frame count and intervals of each video.
fn summary(gt: &GroundTruth) -> Vec<(String, Option<usize>, Vec<truth::Interval>)> {
    gt.videos
        .iter()
        .map(|v| (v.name.clone(), v.num_frames, v.anomalous.clone()))
        .collect()
}

fn round_trip(gt: &GroundTruth, format: Format, file: &str, opts: &ReadOptions) -> GroundTruth {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    truth::write(gt, &path, format).unwrap();
    // Detection must find the format we wrote.
    assert_eq!(Format::detect(&path).unwrap(), format);
    truth::read(&path, opts).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_writable_format_round_trips(gt in ground_truth()) {
        let plain = ReadOptions::default();
        for (format, file, opts) in [
            (Format::UcsdM, "gt.m", &plain),
            (Format::Mat, "gt.mat", &plain),
            (Format::Json, "gt.json", &plain),
            (Format::Csv, "gt.csv", &plain),
            (Format::NpyPerVideo, "labels", &plain),
            (Format::Npy, "gt.npy", &list(&gt)),
        ] {
            let back = round_trip(&gt, format, file, opts);
            prop_assert_eq!(summary(&back), summary(&gt), "{}", format);
        }
    }

    #[test]
    fn mask_folders_round_trip(gt in ground_truth(), seed in any::<u64>()) {
        let gt = with_masks(gt, seed);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("masks");
        truth::write(&gt, &path, Format::MaskFolder).unwrap();
        // Videos without frames leave an empty folder, which holds no video.
        let kept: Vec<_> = gt.videos.iter().filter(|v| v.num_frames != Some(0)).cloned().collect();
        let kept = GroundTruth { videos: kept, provenance: None };
        if kept.videos.is_empty() {
            prop_assert!(truth::read(&path, &ReadOptions::default()).is_err());
            return Ok(());
        }
        let back = truth::read(&path, &ReadOptions::default()).unwrap();
        prop_assert_eq!(summary(&back), summary(&kept));
        for (v, b) in kept.videos.iter().zip(&back.videos) {
            let Some(Masks::Dense { width, height, frames }) = &v.masks else { unreachable!() };
            let Some(Masks::Folder { path }) = &b.masks else { panic!("{:?}", b.masks) };
            for (i, f) in frames.iter().enumerate() {
                let img = image::open(path.join(format!("{i:03}.png"))).unwrap().to_luma8();
                prop_assert_eq!((img.width() as usize, img.height() as usize), (*width, *height));
                let want = f.as_ref().map(|b| Masks::unpack_bits(b, width * height)).unwrap_or(vec![false; width * height]);
                let got: Vec<bool> = img.pixels().map(|p| p.0[0] != 0).collect();
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), ext in 0usize..5) {
        let dir = tempfile::tempdir().unwrap();
        let name = ["x.m", "x.mat", "x.npy", "x.json", "x.csv"][ext];
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        if let Err(e) = truth::read(&path, &ReadOptions::default()) {
            prop_assert!(e.to_string().contains(name), "{}", e);
        }
    }

    #[test]
    fn mutated_files_never_panic(gt in ground_truth(), ext in 0usize..5, flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let (format, name) = [(Format::UcsdM, "x.m"), (Format::Mat, "x.mat"), (Format::Npy, "x.npy"), (Format::Json, "x.json"), (Format::Csv, "x.csv")][ext];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        truth::write(&gt, &path, format).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        for (i, v) in flips {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        std::fs::write(&path, &bytes).unwrap();
        let _ = truth::read(&path, &list(&gt));
    }
}

fn sample() -> GroundTruth {
    GroundTruth {
        videos: vec![
            VideoTruth::from_labels("01", &[0, 1, 1, 0]),
            VideoTruth::from_labels("02", &[0, 0, 0]),
        ],
        provenance: None,
    }
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn malformed_files_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let opts = ReadOptions::default();
    let cases = [
        (
            write_bytes(d, "garbage.m", b"this is not matlab\n"),
            "line 1",
        ),
        (write_bytes(d, "magic.mat", &[b'x'; 200]), "endian"),
        (write_bytes(d, "short.mat", b"MATLAB 5.0"), "header"),
        (write_bytes(d, "magic.npy", b"\x93NUMPX\x01\x00"), "magic"),
        (
            write_bytes(
                d,
                "bad.json",
                b"{\"format\": \"vadscope-truth\", \"version\": 7, \"videos\": []}",
            ),
            "version 7",
        ),
        (
            write_bytes(d, "bad.csv", b"video,start,end\na,3,1\n"),
            "reversed",
        ),
        (
            write_bytes(d, "unknown.txt", b"hello"),
            "unknown ground-truth format",
        ),
    ];
    for (path, want) in cases {
        let e = truth::read(&path, &opts).unwrap_err().to_string();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(e.contains(name) && e.contains(want), "{e}");
    }
    // A truncated .npy and a 2-D (not frame labels) .npy.
    let npy = dir.path().join("t.npy");
    truth::write(&sample(), &npy, Format::Npy).unwrap();
    let bytes = std::fs::read(&npy).unwrap();
    std::fs::write(&npy, &bytes[..bytes.len() - 4]).unwrap();
    let e = truth::read(&npy, &opts).unwrap_err().to_string();
    assert!(e.contains("t.npy") && e.contains("data bytes"), "{e}");
}

#[test]
fn counts_must_agree_with_the_video_list() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("all.npy");
    truth::write(&sample(), &npy, Format::Npy).unwrap();
    let short = ReadOptions {
        videos: Some(vec![("01".into(), 4), ("02".into(), 2)]),
        ..Default::default()
    };
    let e = truth::read(&npy, &short).unwrap_err().to_string();
    assert!(e.contains("all.npy") && e.contains("holds 7"), "{e}");
    // The .m has two entries: a list of three videos does not fit.
    let m = dir.path().join("gt.m");
    truth::write(&sample(), &m, Format::UcsdM).unwrap();
    let three = ReadOptions {
        videos: Some(vec![("a".into(), 4), ("b".into(), 3), ("c".into(), 3)]),
        ..Default::default()
    };
    let e = truth::read(&m, &three).unwrap_err().to_string();
    assert!(e.contains("gt.m") && e.contains("lists 2 videos"), "{e}");
    // Anomalies past the last frame are refused.
    let tiny = ReadOptions {
        videos: Some(vec![("x".into(), 2), ("y".into(), 3)]),
        ..Default::default()
    };
    let e = truth::read(&m, &tiny).unwrap_err().to_string();
    assert!(e.contains("beyond the video's 2 frames"), "{e}");
}

#[test]
fn npy_is_written_as_int64_row() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("l.npy");
    truth::write(&sample(), &npy, Format::Npy).unwrap();
    let bytes = std::fs::read(&npy).unwrap();
    let header = String::from_utf8_lossy(&bytes[10..128]);
    assert!(
        header.contains("'descr': '<i8'") && header.contains("'shape': (1, 7)"),
        "{header}"
    );
    assert_eq!(bytes.len(), 128 + 7 * 8);
}

#[test]
fn saves_keep_a_backup_of_files_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("gt.csv");
    truth::write(&sample(), &csv, Format::Csv).unwrap();
    let mut other = sample();
    other.videos.pop();
    truth::write(&other, &csv, Format::Csv).unwrap();
    let bak = truth::read(&dir.path().join("gt.csv.bak"), &ReadOptions::default()).unwrap();
    assert_eq!(bak.videos.len(), 2);
    assert_eq!(
        truth::read(&csv, &ReadOptions::default())
            .unwrap()
            .videos
            .len(),
        1
    );

    let folder = dir.path().join("labels");
    truth::write(&sample(), &folder, Format::NpyPerVideo).unwrap();
    truth::write(&other, &folder, Format::NpyPerVideo).unwrap();
    assert_eq!(
        truth::read(&folder, &ReadOptions::default())
            .unwrap()
            .videos
            .len(),
        1
    );
    let old = dir.path().join("labels.bak");
    assert_eq!(
        truth::read(&old, &ReadOptions::default())
            .unwrap()
            .videos
            .len(),
        2
    );
    // No temporary folder is left behind.
    let hidden = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0);
    // A failed folder write leaves the old folder in place.
    let mut nameless = sample();
    nameless.videos[0].name = "../escape".into();
    assert!(truth::write(&nameless, &folder, Format::NpyPerVideo).is_err());
    assert_eq!(
        truth::read(&folder, &ReadOptions::default())
            .unwrap()
            .videos
            .len(),
        1
    );
}

#[test]
fn video_lists_from_frames_and_files() {
    let dir = tempfile::tempdir().unwrap();
    for (v, n) in [("10", 2), ("2", 3)] {
        let p = dir.path().join("frames").join(v);
        std::fs::create_dir_all(&p).unwrap();
        for i in 0..n {
            std::fs::write(p.join(format!("{i:03}.jpg")), b"").unwrap();
        }
    }
    let got = truth::video_list_from_frames(&dir.path().join("frames")).unwrap();
    assert_eq!(got, [("2".to_owned(), 3), ("10".to_owned(), 2)]);
    let list = write_bytes(dir.path(), "videos.txt", b"# name count\n01 180\n02,150\n");
    assert_eq!(
        truth::video_list_from_file(&list).unwrap(),
        [("01".to_owned(), 180), ("02".to_owned(), 150)]
    );
    let bad = write_bytes(dir.path(), "bad.txt", b"01\n");
    let e = truth::video_list_from_file(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.txt") && e.contains("line 1"), "{e}");
}

#[test]
fn folder_formats_refuse_duplicate_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut gt = sample();
    gt.videos[1].name = "01".into();
    let e = truth::write(&gt, &dir.path().join("out"), Format::NpyPerVideo)
        .unwrap_err()
        .to_string();
    assert!(e.contains("two videos are named \"01\""), "{e}");
    assert!(!dir.path().join("out").exists());
}

#[test]
fn cli_converts_and_compares() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = d.join("gt.m");
    truth::write(&sample(), &m, Format::UcsdM).unwrap();
    // A frames folder gives names and counts for the consolidated .npy.
    for (v, n) in [("01", 4), ("02", 3)] {
        std::fs::create_dir_all(d.join("frames").join(v)).unwrap();
        for i in 0..n {
            std::fs::write(d.join("frames").join(v).join(format!("{i:03}.jpg")), b"").unwrap();
        }
    }
    let npy = d.join("all.npy");
    let (ok, text) = vadscope(&[Path::new("truth"), Path::new("convert"), &m, &npy]);
    assert!(ok, "{text}");
    let frames = d.join("frames");
    let args = |b: &Path| {
        [
            Path::new("truth"),
            Path::new("compare"),
            &m,
            b,
            Path::new("--frames"),
            &frames,
        ]
        .map(Path::to_path_buf)
    };
    let (ok, text) = vadscope(&args(&npy));
    assert!(
        ok && text.contains("all 2 sources agree on all 7 frames"),
        "{text}"
    );
    // One frame flipped in a CSV copy: the check fails and says where.
    let csv = d.join("gt.csv");
    let mut changed = sample();
    changed.videos[1] = VideoTruth::from_labels("02", &[0, 0, 1]);
    truth::write(&changed, &csv, Format::Csv).unwrap();
    let (ok, text) = vadscope(&args(&csv));
    assert!(!ok && text.contains("1 frame labels disagree"), "{text}");
    let row = text.lines().find(|l| l.starts_with("02")).unwrap();
    // Disagreeing frames, Cohen's kappa and the IoU against A, per video.
    let fields: Vec<&str> = row.split_whitespace().rev().take(3).collect();
    assert_eq!(fields[2], "1", "{row}");
    let (kappa, iou): (f64, f64) = (fields[1].parse().unwrap(), fields[0].parse().unwrap());
    // A marks no frame of 02 and B one of three: chance agreement only (κ 0), no overlap.
    assert_eq!((kappa, iou), (0.0, 0.0), "{row}");
    let same = text.lines().find(|l| l.starts_with("01")).unwrap();
    assert!(same.trim_end().ends_with("0 1.000 1.000"), "{same}");
}
