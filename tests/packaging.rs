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
