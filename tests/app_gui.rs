//! The app under egui_kittest on the wgpu renderer (lavapipe in CI, no
//! display): the demo opens, plays, steps, seeks from the timeline, switches
//! views, picks a memory slot and a colour map; the shaders' output matches
//! the CPU colour maps and flow wheel pixel for pixel (within rounding).
#![cfg(feature = "gui")]

mod common;

use std::sync::{Arc, Once};

use eframe::egui;
use eframe::egui_wgpu;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use vadscope::app::maps::Maps;
use vadscope::app::state::{MemoryMode, View};
use vadscope::app::{AppCommand, OpenRequest, VadApp};
use vadscope::render::{self, Colormap, DrawParams, MapImage, Mode};
use vadscope::score::AttentionMap;
use vadscope::Frame;

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Vulkan loaders want a private runtime folder; CI has none.
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir = std::env::temp_dir().join(format!("vadscope-xdg-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
        // The demo writes its frames and weights to a cache: not the user's.
        let cache = std::env::temp_dir().join(format!("vadscope-cache-{}", std::process::id()));
        std::env::set_var("XDG_CACHE_HOME", &cache);
        // Nor its recovery files.
        std::env::set_var("XDG_STATE_HOME", cache.join("state"));
    });
}

fn demo_harness() -> Harness<'static, VadApp> {
    harness(OpenRequest::default())
}

/// The app opened on `req`, in a 1200×900 window.
fn harness(req: OpenRequest) -> Harness<'static, VadApp> {
    setup();
    Harness::builder()
        .with_size(egui::vec2(1200.0, 900.0))
        .wgpu()
        .build_eframe(move |cc| VadApp::new(cc, req))
}

/// Steps until `done` holds (background threads deliver between steps).
fn wait_for(
    h: &mut Harness<'static, VadApp>,
    what: &str,
    mut done: impl FnMut(&mut VadApp) -> bool,
) {
    let t0 = std::time::Instant::now();
    while !done(h.state_mut()) {
        assert!(t0.elapsed().as_secs() < 300, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
}

#[test]
fn demo_opens_plays_steps_and_seeks() {
    let mut h = demo_harness();
    h.run_steps(2);
    assert_eq!(h.state().video_name(), "street");
    h.get_by_label("street").hover();

    // Play, then pause with the button.
    h.get_by_label("Play").click();
    h.run_steps(6);
    assert!(h.state().state.playing);
    let played_to = h.state().state.current;
    assert!(played_to > 0, "playback did not advance");
    h.get_by_label("Pause").click();
    h.run_steps(2);
    assert!(!h.state().state.playing);

    // Keys: Home, →, Shift+→, ←, End.
    h.key_press(egui::Key::Home);
    h.run_steps(1);
    assert_eq!(h.state().state.current, 0);
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(1);
    assert_eq!(h.state().state.current, 1);
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowRight);
    h.run_steps(1);
    assert_eq!(h.state().state.current, 11);
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(1);
    assert_eq!(h.state().state.current, 10);
    h.key_press(egui::Key::End);
    h.run_steps(1);
    assert_eq!(h.state().state.current, 239);
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    assert!(h.state().state.playing, "Space plays");
    h.key_press(egui::Key::K);
    h.run_steps(1);
    assert!(!h.state().state.playing, "K stops");

    // Click the middle of the timeline: the playhead goes near the middle frame.
    let (x, y) = (46.0 + (1200.0 - 50.0) / 2.0, 900.0 - 60.0);
    h.hover_at(egui::pos2(x, y));
    h.run_steps(1);
    h.event(egui::Event::PointerButton {
        pos: egui::pos2(x, y),
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    h.event(egui::Event::PointerButton {
        pos: egui::pos2(x, y),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(2);
    let c = h.state().state.current;
    assert!((100..=140).contains(&c), "timeline click seeked to {c}");

    // The help popover opens with "?".
    h.get_by_label("?").click();
    h.run_steps(2);
    assert!(h.state().state.show_help);
}

/// Presses `label`'s button, lets `between` change the UI, then releases.
fn click_across_a_change(h: &mut Harness<'static, VadApp>, label: &str, between: AppCommand) {
    let pos = h.get_by_label(label).rect().center();
    h.hover_at(pos);
    h.step();
    let button = |pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    h.event(button(true));
    h.step();
    h.state_mut().send(between);
    h.step();
    h.event(button(false));
    h.run_steps(2);
}

/// A click whose press and release straddle a change elsewhere in the UI
/// (scores streaming in, a rescore starting) still lands: widget ids must not
/// depend on how many widgets came before them.
#[test]
fn clicks_survive_layout_changes_between_press_and_release() {
    let mut h = demo_harness();
    wait_for(&mut h, "the demo's scores", |a| {
        a.job_status().is_some_and(|s| s.done)
    });
    h.run_steps(2);

    click_across_a_change(&mut h, "?", AppCommand::Rescore);
    assert!(
        h.state().state.show_help,
        "the help button's click was lost"
    );
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!h.state().state.show_help);

    wait_for(&mut h, "the rescore", |a| {
        a.job_status().is_some_and(|s| s.done)
    });
    h.run_steps(2);
    assert_ne!(h.state().state.settings.colormap, Colormap::Turbo);
    click_across_a_change(&mut h, "turbo", AppCommand::Rescore);
    assert_eq!(
        h.state().state.settings.colormap,
        Colormap::Turbo,
        "the colour map button's click was lost"
    );
}

#[test]
fn views_colormap_and_memory_slot() {
    let mut h = demo_harness();
    h.run_steps(2);
    for (label, view) in [
        ("Flow", View::Flow),
        ("Error maps", View::Maps),
        ("Memory", View::Memory),
        ("Frame", View::Frame),
    ] {
        h.get_by_label(label).click();
        h.run_steps(2);
        assert_eq!(h.state().state.settings.view, view, "tab {label}");
    }

    // Colour map.
    h.get_by_label("turbo").click_accesskit();
    h.run_steps(2);
    assert_eq!(h.state().state.settings.colormap, Colormap::Turbo);

    // A frame without enough history: the memory view says so, not that a
    // model is missing.
    let frame = h.state().state.current;
    h.state_mut().insert_maps(Maps {
        frame,
        origin: format!("demo model: frame {frame} has fewer than 2 frames before it"),
        ..Default::default()
    });
    h.get_by_label("Memory").click();
    h.run_steps(2);
    h.get_by_label_contains("no memory attention here: demo model: frame");
    assert!(h.query_by_label_contains("it needs a model").is_none());

    // The demo has no network, so give the current frame memory attention.
    let att = AttentionMap {
        layer: "bottleneck".into(),
        width: 4,
        height: 3,
        slots: 6,
        weights: (0..72).map(|i| ((i * 7) % 6) as f32 / 6.0).collect(),
    };
    let frame = h.state().state.current;
    h.state_mut().insert_maps(Maps {
        frame,
        attention: vec![att],
        ..Default::default()
    });
    h.get_by_label("Memory").click();
    h.run_steps(2);
    h.get_by_label("slot 4").click();
    h.run_steps(2);
    assert_eq!(h.state().state.memory.1, 4);
    h.get_by_label("arg-max slot").click();
    h.run_steps(2);
    assert_eq!(h.state().state.settings.memory_mode, MemoryMode::ArgMax);
    // The frame view gets the demo's maps from the worker.
    wait_for(&mut h, "maps of the frame", |a| a.maps_ready());
    let image = h.render().expect("wgpu renders");
    assert_eq!(image.width(), 1200);
}

/// A harness that draws one map with the shader and returns the rendered image.
fn render_map(image: MapImage, params: DrawParams, size: (f32, f32)) -> image::RgbaImage {
    setup();
    let rs = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    render::install(&rs);
    let mut h = Harness::builder()
        .with_size(egui::vec2(size.0 + 20.0, size.1 + 20.0))
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(
            rs.clone(),
        ))
        .build_ui(move |ui| {
            let rect =
                egui::Rect::from_min_size(egui::pos2(10.0, 10.0), egui::vec2(size.0, size.1));
            render::paint(ui.painter(), rect, 1, image.clone(), params);
        });
    h.run_steps(1);
    let img = h.render().expect("wgpu renders");
    // Same key and version again: no second upload.
    let before = render::stats(&rs).unwrap().uploads;
    h.run_steps(1);
    let _ = h.render().expect("wgpu renders");
    assert_eq!(
        render::stats(&rs).unwrap().uploads,
        before,
        "texture uploaded again"
    );
    img
}

#[test]
fn colormap_shader_matches_the_cpu_reference() {
    let ramp = Arc::new(Frame {
        width: 256,
        height: 1,
        channels: 1,
        data: (0..256).map(|i| i as f32 / 255.0).collect(),
    });
    for map in Colormap::ALL {
        for gamma in [1.0f32, 2.0] {
            let params = DrawParams {
                mode: Mode::Colormap(map),
                gamma,
                ..Default::default()
            };
            let img = render_map(
                MapImage::new(("ramp", map.name()), ramp.clone()),
                params,
                (256.0, 8.0),
            );
            let mut worst = 0i32;
            for x in 0..256u32 {
                let got = img.get_pixel(10 + x, 14).0;
                let want = map.eval_u8(render::colormap::normalize(
                    x as f32 / 255.0,
                    0.0,
                    1.0,
                    gamma,
                ));
                for (g, w) in got.iter().zip(want) {
                    worst = worst.max((*g as i32 - w as i32).abs());
                }
            }
            assert!(worst <= 2, "{} gamma {gamma}: off by {worst}", map.name());
        }
    }
}

#[test]
fn flow_wheel_shader_matches_the_cpu_reference() {
    let n = 64;
    let field = Arc::new(render::wheel_field(n));
    let params = DrawParams {
        mode: Mode::Flow { max: 1.0 },
        ..Default::default()
    };
    let img = render_map(
        MapImage::new("wheel", field.clone()),
        params,
        (n as f32, n as f32),
    );
    let mut bad = 0;
    for y in 0..n {
        for x in 0..n {
            let i = 2 * (y * n + x);
            let want = vadscope::flow::wheel_color(field.data[i], field.data[i + 1]);
            let got = img.get_pixel(10 + x as u32, 10 + y as u32).0;
            if (0..3).any(|c| (got[c] as i32 - want[c] as i32).abs() > 3) {
                bad += 1;
            }
        }
    }
    // atan2 rounding may flip a pixel on the wheel's seam; nothing else may differ.
    assert!(bad <= n / 4, "{bad} pixels differ from the CPU wheel");
}

#[test]
fn file_export_video_writes_the_loop_selection_with_the_demo_models_maps() {
    let mut h = demo_harness();
    h.run_steps(2);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.mp4");
    h.state_mut().state.selection = Some((100, 130));
    h.state_mut().send(AppCommand::Picked(
        vadscope::app::menu::DialogKind::ExportVideo,
        out.clone(),
    ));
    h.run_steps(1);
    assert!(h.state().export_progress().is_some(), "the export runs");
    wait_for(&mut h, "the export", |app| app.export_progress().is_none());
    h.run_steps(1);
    assert!(
        h.state().state.errors.is_empty(),
        "{:?}",
        h.state().state.errors
    );
    let msg = h.state().annotator.message.clone().unwrap_or_default();
    assert!(msg.contains("exported 30 frames"), "{msg}");
    let mut v = vadscope::video::open(&out).unwrap();
    assert_eq!(v.len(), 30);
    assert!((v.info().fps - 10.0).abs() < 1e-6);
    // The frame and the error map side by side, the score curve under them.
    let f = v.read(0).unwrap();
    assert_eq!((f.width, f.height), (2 * 240, 160 + 48));
}

#[test]
fn a_picture_of_the_view_is_the_views_part_of_the_window() {
    let mut h = demo_harness();
    h.run_steps(3);
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("view.png");
    h.state_mut().send(AppCommand::Picked(
        vadscope::app::menu::DialogKind::SavePicture,
        png.clone(),
    ));
    wait_for(&mut h, "the picture", |_| png.is_file());
    h.run_steps(2);
    let msg = h.state().annotator.message.clone().unwrap_or_default();
    assert!(msg.contains("picture of the Frame view"), "{msg}");
    let img = image::open(&png).unwrap().to_rgb8();
    // Narrower and shorter than the 1200x900 window (the side panel and
    // the timeline are cut off), and not one flat colour.
    assert!(img.width() > 400 && img.width() < 1200, "{}", img.width());
    assert!(img.height() > 200 && img.height() < 900, "{}", img.height());
    let first = *img.get_pixel(0, 0);
    assert!(img.pixels().any(|p| *p != first), "the picture has content");
}

/// `vadscope open udp://…`: the app connects, scores the frames as they
/// arrive, follows the newest with the playhead, and says LIVE; a source
/// that cannot be opened is named in an error and the app keeps running.
#[test]
fn a_live_udp_stream_is_followed_and_scored_and_a_dead_one_is_named() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("clip.mp4");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vadscope"))
        .args([
            "synth", "--video", "--frames", "150", "--fps", "25", "--seed", "2",
        ])
        .arg(&video)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let port = common::free_udp_port();
    let url = format!("udp://127.0.0.1:{port}");
    let (v, u) = (video.clone(), url.clone());
    // The app's open waits for the first frames: the sender starts just after.
    let sender = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-re", "-i"])
            .arg(&v)
            .args(["-c:v", "libx264", "-g", "10", "-f", "mpegts", &u])
            .status()
            .expect("the ffmpeg CLI (packaging/setup.sh installs it)")
    });
    let req = OpenRequest {
        path: Some(url.clone().into()),
        ..Default::default()
    };
    let mut h = harness(req);
    assert!(
        h.state().state.errors.is_empty(),
        "{:?}",
        h.state().state.errors
    );
    assert_eq!(h.state().video_name(), "live");
    // The feed counts a score before the app's next poll puts it on the
    // timeline: wait for both.
    wait_for(&mut h, "live scores", |app| {
        app.live_status().is_some_and(|s| s.scored >= 20) && app.store.curves.scored >= 20
    });
    let s = h.state().live_status().unwrap();
    assert!(s.connected && s.received >= s.scored, "{s:?}");
    // The playhead follows the stream while playing.
    assert!(h.state().state.playing);
    let at = h.state().state.current;
    assert!(
        at + 30 >= s.received && at > 0,
        "playhead {at}, received {}",
        s.received
    );
    let scored = h.state().store.curves.scored;
    assert!(scored >= 20, "{scored}");
    h.get_by_label("LIVE");
    assert!(sender.join().unwrap().success());

    // Nothing is sent to this port: a clear error, and the app runs on.
    let dead = format!("udp://127.0.0.1:{}", port.wrapping_add(1).max(1024));
    let req = OpenRequest {
        path: Some(dead.clone().into()),
        ..Default::default()
    };
    let mut h = harness(req);
    h.step();
    let errors = h.state().state.errors.join("\n");
    assert!(errors.contains(&dead), "{errors}");
    assert_eq!(h.state().video_name(), "street", "the demo opens instead");
}

/// File → Open stream or camera…: a typed URL connects (here to a port
/// nobody sends to, so the error names it and the demo stays open); text
/// that is not a stream cannot be connected.
#[test]
fn the_stream_dialog_opens_a_typed_url() {
    let mut h = demo_harness();
    h.state_mut().send(AppCommand::StreamDialog(true));
    h.run_steps(3);
    let field = h.get_by_role(egui::accesskit::Role::TextInput);
    field.focus();
    field.type_text("x");
    h.run_steps(2);
    assert!(h
        .query_by_label("not a stream URL or a /dev/video device")
        .is_some());
    let port = common::free_udp_port();
    let url = format!("udp://127.0.0.1:{port}");
    h.key_press(egui::Key::Backspace);
    h.run_steps(1);
    h.get_by_role(egui::accesskit::Role::TextInput)
        .type_text(&url);
    h.run_steps(2);
    h.get_by_label("Connect").click();
    h.run_steps(3);
    let errors = h.state().state.errors.join("\n");
    assert!(errors.contains(&url), "{errors}");
    assert_eq!(h.state().video_name(), "street");
    assert!(h.query_by_label("Connect").is_none(), "the window closed");
}
