//! Dataset layouts: each benchmark's folder structure is recognised, its videos
//! listed with splits, and its ground truth found and read.

use std::path::Path;

use vadscope::dataset::{self, clips, ClipReader, Layout, Split};
use vadscope::flow::{Params, Preset};
use vadscope::synth::{write_dataset, DatasetConfig, SceneConfig};
use vadscope::video::OutputSpec;

fn frames(dir: &Path, n: usize, ext: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        image::GrayImage::from_pixel(8, 6, image::Luma([i as u8 * 10]))
            .save(dir.join(format!("{:03}.{ext}", i + 1)))
            .unwrap();
    }
}

fn small_synth(root: &Path) {
    let cfg = DatasetConfig {
        scene: SceneConfig {
            width: 64,
            height: 48,
            frames: 12,
            ..Default::default()
        },
        train: 2,
        test: 3,
        seed: 3,
        anomalies_per_video: 1,
    };
    write_dataset(root, &cfg, &|| {}).unwrap();
}

#[test]
fn mnad_layout_from_synth_with_truth() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("synth");
    small_synth(&root);
    let ds = dataset::open(&root).unwrap();
    assert_eq!(ds.layout, Layout::Mnad);
    assert_eq!(ds.split(Split::Train).count(), 2);
    let test = ds.frame_counts(Split::Test).unwrap();
    assert_eq!(test.len(), 3);
    assert!(test.iter().all(|(_, n)| *n == 12));
    assert!(ds.split(Split::Test).all(|v| v.masks.is_some()));
    // The JSON and the mask folders are both found, and agree frame by frame.
    let json = ds
        .truth
        .iter()
        .find(|t| t.path.ends_with("truth.json"))
        .expect("truth.json found");
    let masks = ds
        .truth
        .iter()
        .find(|t| t.path.ends_with("masks"))
        .expect("mask folder found");
    let a = ds.load_truth(json, &test).unwrap();
    let b = ds.load_truth(masks, &test).unwrap();
    for (name, n) in &test {
        assert_eq!(
            a.video(name).unwrap().labels(*n),
            b.video(name).unwrap().labels(*n),
            "video {name}"
        );
    }
    assert!(a.anomalous_frames() > 0);
}

#[test]
fn train_and_test_spellings_are_accepted_with_or_without_frames_folders() {
    let dir = tempfile::tempdir().unwrap();
    // train/ and test/ holding frame folders directly.
    let a = dir.path().join("a");
    frames(&a.join("train/01"), 3, "png");
    frames(&a.join("train/02"), 4, "png");
    frames(&a.join("test/01"), 5, "png");
    frames(&a.join("test/masks/01"), 5, "png");
    let ds = dataset::open(&a).unwrap();
    assert_eq!(ds.layout, Layout::Mnad);
    assert_eq!(ds.split(Split::Train).count(), 2);
    let test: Vec<_> = ds.split(Split::Test).collect();
    assert_eq!(test.len(), 1, "the masks folder is not a video");
    assert!(test[0].masks.is_some());
    // training/frames/ still works.
    let b = dir.path().join("b");
    frames(&b.join("training/frames/01"), 3, "jpg");
    let ds = dataset::open(&b).unwrap();
    assert_eq!(ds.split(Split::Train).count(), 1);
    // Something else says which names it expects.
    let c = dir.path().join("c");
    std::fs::create_dir_all(c.join("stuff")).unwrap();
    let err = dataset::open(&c).unwrap_err().to_string();
    assert!(err.contains("train/ and test/"), "{err}");
}

#[test]
fn ucsd_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("UCSDped2");
    frames(&root.join("Train/Train001"), 4, "tif");
    frames(&root.join("Train/Train002"), 5, "tif");
    frames(&root.join("Test/Test001"), 6, "tif");
    frames(&root.join("Test/Test001_gt"), 6, "bmp");
    frames(&root.join("Test/Test002"), 3, "tif");
    std::fs::write(
        root.join("Test/UCSDped2.m"),
        "TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [2:4];\nTestVideoFile{end+1}.gt_frame = [1:2];\n",
    )
    .unwrap();
    let ds = dataset::open(&root).unwrap();
    assert_eq!(ds.layout, Layout::Ucsd);
    let names: Vec<_> = ds
        .videos
        .iter()
        .map(|v| (v.name.as_str(), v.split))
        .collect();
    assert_eq!(
        names,
        [
            ("Train001", Split::Train),
            ("Train002", Split::Train),
            ("Test001", Split::Test),
            ("Test002", Split::Test)
        ]
    );
    assert!(ds.videos[2].masks.as_ref().unwrap().ends_with("Test001_gt"));
    assert_eq!(ds.fps, Some(10.0));
    let counts = ds.frame_counts(Split::Test).unwrap();
    let gt = ds.load_truth(&ds.truth[0], &counts).unwrap();
    assert_eq!(
        gt.video("Test001").unwrap().labels(6),
        [false, true, true, true, false, false]
    );
    assert_eq!(gt.video("Test002").unwrap().anomalous_frames(), 2);
}

#[test]
fn avenue_and_shanghaitech_and_plain_folders() {
    let dir = tempfile::tempdir().unwrap();
    let av = dir.path().join("avenue");
    for sub in ["training_videos", "testing_videos", "testing_label_mask"] {
        std::fs::create_dir_all(av.join(sub)).unwrap();
    }
    std::fs::write(av.join("training_videos/01.avi"), b"x").unwrap();
    std::fs::write(av.join("testing_videos/01.avi"), b"x").unwrap();
    std::fs::write(av.join("testing_videos/02.avi"), b"x").unwrap();
    std::fs::write(av.join("testing_label_mask/1_label.mat"), b"x").unwrap();
    let ds = dataset::open(&av).unwrap();
    assert_eq!(ds.layout, Layout::Avenue);
    assert_eq!(ds.videos.len(), 3);
    let t1 = ds
        .videos
        .iter()
        .find(|v| v.split == Split::Test && v.name == "01")
        .unwrap();
    assert!(t1.masks.as_ref().unwrap().ends_with("1_label.mat"));
    assert!(ds
        .videos
        .iter()
        .find(|v| v.name == "02")
        .unwrap()
        .masks
        .is_none());

    let st = dir.path().join("shanghaitech");
    std::fs::create_dir_all(st.join("training/videos")).unwrap();
    std::fs::write(st.join("training/videos/01_001.avi"), b"x").unwrap();
    frames(&st.join("testing/frames/01_0014"), 3, "jpg");
    std::fs::create_dir_all(st.join("test_frame_mask")).unwrap();
    std::fs::write(st.join("test_frame_mask/01_0014.npy"), b"x").unwrap();
    let ds = dataset::open(&st).unwrap();
    assert_eq!(ds.layout, Layout::ShanghaiTech);
    let t = ds.split(Split::Test).next().unwrap();
    assert_eq!(t.name, "01_0014");
    assert!(t.labels.is_some() && t.masks.is_none());

    let vf = dir.path().join("videos");
    std::fs::create_dir_all(&vf).unwrap();
    std::fs::write(vf.join("cam2.mp4"), b"x").unwrap();
    std::fs::write(vf.join("cam10.mkv"), b"x").unwrap();
    let ds = dataset::open(&vf).unwrap();
    assert_eq!(ds.layout, Layout::VideoFolder);
    assert_eq!(
        ds.videos
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        ["cam2", "cam10"]
    );

    let ff = dir.path().join("frames");
    frames(&ff.join("a"), 2, "png");
    assert_eq!(dataset::open(&ff).unwrap().layout, Layout::FrameFolders);

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = dataset::open(&empty).unwrap_err().to_string();
    assert!(
        err.contains("empty") && err.contains("not a dataset layout"),
        "{err}"
    );
    assert!(dataset::open(dir.path().join("missing"))
        .unwrap_err()
        .to_string()
        .contains("missing"));
}

#[test]
fn clip_reader_serves_overlapping_windows() {
    let dir = tempfile::tempdir().unwrap();
    frames(&dir.path().join("v0"), 7, "png");
    frames(&dir.path().join("v1"), 3, "png");
    let paths = vec![dir.path().join("v0"), dir.path().join("v1")];
    let cs = clips(&[7, 3], 3, 1).unwrap();
    assert_eq!(cs.len(), 5 + 1);
    let mut reader = ClipReader::new(paths, OutputSpec::gray().with_size(4, 3));
    let mut out = Vec::new();
    for c in &cs {
        reader.read(c, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        for (k, f) in out.iter().enumerate() {
            assert_eq!((f.width, f.height), (4, 3));
            // Frame i of each folder is the constant 10 * i / 255.
            let expected = (10 * (c.start + k)) as f32 / 255.0;
            assert!((f.data[5] - expected).abs() < 1e-6, "clip {c:?} frame {k}");
        }
    }
    // Going back (random access) works too.
    reader.read(&cs[0], &mut out).unwrap();
    assert!(out[0].data[0].abs() < 1e-6);
}

#[test]
fn clip_flows_are_computed_once_per_pair_and_follow_motion() {
    // A textured square moving 2 px right per frame over a textured background.
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v");
    std::fs::create_dir_all(&v).unwrap();
    let tex = |x: u32, y: u32| ((x * 37 + y * 91 + (x * y) % 23) % 97) as u8;
    for i in 0..8u32 {
        let img = image::GrayImage::from_fn(48, 40, |x, y| {
            let sx = x.wrapping_sub(10 + 2 * i);
            if sx < 12 && (14..26).contains(&y) {
                image::Luma([120 + tex(sx, y)])
            } else {
                image::Luma([tex(x, y) / 3])
            }
        });
        img.save(v.join(format!("{i:02}.png"))).unwrap();
    }
    let cs = clips(&[8], 5, 1).unwrap();
    let params = Params::preset(Preset::Balanced);
    let mut reader = ClipReader::with_flow(vec![v], OutputSpec::gray(), params).unwrap();
    let (mut frames, mut flows) = (Vec::new(), Vec::new());
    for c in &cs {
        reader.read_with_flow(c, &mut frames, &mut flows).unwrap();
        assert_eq!((frames.len(), flows.len()), (5, 4));
        for (k, f) in flows.iter().enumerate() {
            assert_eq!((f.width, f.height), (48, 40));
            // The square's centre in the flow's first frame.
            let (u, vv) = f.at(16 + 2 * (c.start + k), 20);
            assert!(
                (u - 2.0).abs() < 0.75 && vv.abs() < 0.75,
                "flow at the square: ({u}, {vv})"
            );
        }
    }
    // 4 clips of 5 frames over 8 frames: 7 pairs, each computed once.
    assert_eq!(reader.pairs_computed(), 7);
    let mut plain = ClipReader::new(vec![dir.path().join("v")], OutputSpec::gray());
    assert!(plain
        .read_with_flow(&cs[0], &mut frames, &mut flows)
        .is_err());
}
