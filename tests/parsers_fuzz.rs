//! A bounded fuzz of every file parser through the public API: valid files
//! with random bytes overwritten, cut short or grown, and random bytes alone.
//! Each read either succeeds or returns an error that names the file; none
//! panics. (The `.npy`, MAT v5 and `.flo` decoders have their own, finer
//! property tests beside them.)

use std::path::Path;

use proptest::prelude::*;
use vadscope::model::{Checkpoint, ModelConfig};
use vadscope::truth::{self, Format, GroundTruth, Interval, ReadOptions, VideoTruth};

fn sample_truth() -> GroundTruth {
    GroundTruth {
        videos: vec![
            VideoTruth::new("01", Some(20), vec![Interval::new(3, 9).unwrap()]),
            VideoTruth::new("02", Some(15), vec![]),
        ],
        provenance: None,
    }
}

/// The bytes of `gt` written in `format` to a file called `name`.
fn valid_bytes(format: Format, name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    truth::write(&sample_truth(), &p, format).unwrap();
    std::fs::read(p).unwrap()
}

/// `base` with `flips` applied, cut to `cut` (a fraction) and `tail` appended.
fn mutate(base: &[u8], flips: &[(usize, u8)], cut: f64, tail: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for &(i, v) in flips {
        if !b.is_empty() {
            let n = b.len();
            b[i % n] = v;
        }
    }
    b.truncate((b.len() as f64 * cut) as usize);
    b.extend_from_slice(tail);
    b
}

/// Reads `bytes` as `name` with `read`; an error must name the file.
fn check<T, E: std::fmt::Display>(
    name: &str,
    bytes: &[u8],
    read: impl Fn(&Path) -> Result<T, E>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    if let Err(e) = read(&p) {
        let msg = e.to_string();
        prop_assert!(
            msg.contains(name),
            "{name}: the error does not name the file: {msg}"
        );
    }
    Ok(())
}

fn mutation() -> impl Strategy<Value = (Vec<(usize, u8)>, f64, Vec<u8>)> {
    (
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        prop_oneof![Just(1.0), 0.0f64..1.0],
        proptest::collection::vec(any::<u8>(), 0..16),
    )
}

fn opts() -> ReadOptions {
    ReadOptions {
        videos: Some(vec![("01".into(), 20), ("02".into(), 15)]),
        skip_masks: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn ground_truth_files_never_panic((flips, cut, tail) in mutation()) {
        for (format, name) in [
            (Format::Json, "gt.json"),
            (Format::Csv, "gt.csv"),
            (Format::UcsdM, "gt.m"),
            (Format::Mat, "gt.mat"),
            (Format::Npy, "gt.npy"),
        ] {
            let bytes = mutate(&valid_bytes(format, name), &flips, cut, &tail);
            check(name, &bytes, |p| truth::read_as(p, format, &opts()))?;
        }
    }

    #[test]
    fn random_bytes_as_any_format_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        for name in ["r.json", "r.csv", "r.m", "r.mat", "r.npy"] {
            check(name, &bytes, |p| truth::read(p, &opts()))?;
        }
        check("scores.csv", &bytes, |p| vadscope::metrics::read_scores(p, None))?;
        check("config.json", &bytes, ModelConfig::load)?;
        check("ck.safetensors", &bytes, |p| Checkpoint::read(p, &candle_core::Device::Cpu))?;
    }

    #[test]
    fn score_files_and_configs_never_panic((flips, cut, tail) in mutation()) {
        let scores = b"frame,score,recon,pred,dist\n4,0.5,0.1,0.2,0.3\n5,0.7,0.2,0.3,0.1\n";
        let bytes = mutate(scores, &flips, cut, &tail);
        check("v.csv", &bytes, |p| vadscope::metrics::read_scores(p, None))?;
        let config = ModelConfig::profile("demo").unwrap().to_json();
        let bytes = mutate(config.as_bytes(), &flips, cut, &tail);
        check("config.json", &bytes, ModelConfig::load)?;
    }
}
