//! `vadscope --version` says what is running: version, features, FFmpeg.

use std::process::Command;

#[test]
fn version_names_the_features_and_the_linked_ffmpeg() {
    let out = Command::new(env!("CARGO_BIN_EXE_vadscope"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("vadscope {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let features = text
        .lines()
        .find_map(|l| l.strip_prefix("features: "))
        .unwrap_or_else(|| panic!("no features line: {text}"));
    assert_eq!(features.contains("gui"), cfg!(feature = "gui"), "{text}");
    assert_eq!(features.contains("cuda"), cfg!(feature = "cuda"), "{text}");
    let ffmpeg = text.lines().find(|l| l.starts_with("FFmpeg ")).unwrap();
    assert!(
        ffmpeg.contains("libavcodec ") && ffmpeg.contains("libavformat "),
        "{text}"
    );
}
