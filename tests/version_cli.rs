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

#[test]
fn completions_and_man_pages_come_from_the_flags() {
    let bin = env!("CARGO_BIN_EXE_vadscope");
    for (shell, marker) in [
        ("bash", "_vadscope"),
        ("zsh", "#compdef vadscope"),
        ("fish", "complete -c vadscope"),
    ] {
        let out = Command::new(bin)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        assert!(
            text.contains("flow-preset"),
            "{shell}: train's flags are missing"
        );
    }
    let out = Command::new(bin)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man1");
    let out = Command::new(bin)
        .args(["manpages", man.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let top = std::fs::read_to_string(man.join("vadscope.1")).unwrap();
    assert!(top.contains(".TH vadscope"), "{top}");
    let train = std::fs::read_to_string(man.join("vadscope-train.1")).unwrap();
    assert!(train.contains("flow\\-preset"), "{train}");
}
