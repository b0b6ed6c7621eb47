//! The desktop integration files agree with the app: one id everywhere (the
//! window's app id, the desktop file, the AppStream component), and every
//! icon size the menu asks for exists.

use std::path::Path;

const APP_ID: &str = "io.github.vadscope.Vadscope";

fn read(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[cfg(feature = "gui")]
#[test]
fn the_window_uses_the_packaged_id() {
    assert_eq!(vadscope::app::APP_ID, APP_ID);
}

#[test]
fn desktop_file_and_metainfo_share_the_id() {
    let desktop = read(&format!("{APP_ID}.desktop"));
    let key = |k: &str| {
        desktop
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= in the desktop file"))
            .to_string()
    };
    assert_eq!(key("StartupWMClass"), APP_ID);
    assert_eq!(key("Icon"), APP_ID);
    assert!(key("Exec").starts_with("vadscope open"));
    assert!(key("MimeType").split(';').any(|m| m == "video/mp4"));
    let meta = read(&format!("{APP_ID}.metainfo.xml"));
    assert!(meta.contains(&format!("<id>{APP_ID}</id>")));
    assert!(meta.contains(&format!(
        "<launchable type=\"desktop-id\">{APP_ID}.desktop</launchable>"
    )));
    let version = format!("<release version=\"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(meta.contains(&version), "the metainfo lists no {version}");
}

#[test]
fn icons_exist_at_every_size() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/icons");
    assert!(dir.join(format!("{APP_ID}.svg")).is_file());
    for size in [32u32, 48, 64, 128, 256, 512] {
        let p = dir.join(format!("{APP_ID}-{size}.png"));
        let (w, h) = image::image_dimensions(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!((w, h), (size, size), "{}", p.display());
    }
}

/// The `[package.metadata.deb]` asset list of Cargo.toml as (source, destination).
fn deb_assets() -> Vec<(String, String)> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    let section = manifest
        .split("[package.metadata.deb]")
        .nth(1)
        .expect("Cargo.toml has no [package.metadata.deb]");
    let assets = section
        .split("assets = [")
        .nth(1)
        .expect("[package.metadata.deb] has no assets")
        .split("\n]")
        .next()
        .expect("assets list ends");
    assets
        .lines()
        .filter(|l| l.trim_start().starts_with('['))
        .map(|l| {
            let fields: Vec<&str> = l.split('"').skip(1).step_by(2).collect();
            assert_eq!(
                fields.len(),
                3,
                "asset line '{l}' is not [source, destination, mode]"
            );
            (fields[0].to_string(), fields[1].to_string())
        })
        .collect()
}

#[test]
fn the_package_ships_every_integration_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let assets = deb_assets();
    // Files from the source tree must exist; target/ ones are made by deb.sh.
    for (src, _) in &assets {
        if !src.starts_with("target/") {
            assert!(root.join(src).is_file(), "asset {src} does not exist");
        }
    }
    let dest_of = |src: &str| {
        assets
            .iter()
            .find(|(s, _)| s == src)
            .map(|(_, d)| d.as_str())
            .unwrap_or_else(|| panic!("the package lacks {src}"))
    };
    assert_eq!(dest_of("target/release/vadscope"), "usr/bin/");
    assert_eq!(
        dest_of(&format!("packaging/{APP_ID}.desktop")),
        "usr/share/applications/"
    );
    assert_eq!(
        dest_of(&format!("packaging/{APP_ID}.metainfo.xml")),
        "usr/share/metainfo/"
    );
    assert_eq!(
        dest_of(&format!("packaging/icons/{APP_ID}.svg")),
        "usr/share/icons/hicolor/scalable/apps/"
    );
    for size in [32u32, 48, 64, 128, 256, 512] {
        assert_eq!(
            dest_of(&format!("packaging/icons/{APP_ID}-{size}.png")),
            format!("usr/share/icons/hicolor/{size}x{size}/apps/{APP_ID}.png"),
        );
    }
    assert_eq!(
        dest_of("target/packaging/man/*.1.gz"),
        "usr/share/man/man1/"
    );
    for dest in [
        "usr/share/bash-completion/completions/vadscope",
        "usr/share/zsh/vendor-completions/",
        "usr/share/fish/vendor_completions.d/",
    ] {
        assert!(
            assets.iter().any(|(_, d)| d == dest),
            "no completion goes to {dest}"
        );
    }
}

#[test]
fn the_debian_changelog_names_this_version() {
    let changelog = read("changelog");
    let first = changelog.lines().next().unwrap_or_default();
    let want = format!("vadscope ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        first.starts_with(&want),
        "packaging/changelog starts '{first}', not '{want}…'"
    );
}
