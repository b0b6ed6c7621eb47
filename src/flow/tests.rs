use super::*;

/// A smooth, richly textured analytic image: a sum of sinusoids of assorted
/// frequencies and directions, values in [0, 1]. Sampling it at moved
/// coordinates gives exact warps, with no interpolation error in the test data.
fn texture(x: f32, y: f32) -> f32 {
    const WAVES: [(f32, f32, f32); 8] = [
        (0.31, 0.12, 0.0),
        (-0.17, 0.41, 1.0),
        (0.53, -0.29, 2.0),
        (0.07, 0.23, 3.0),
        (-0.44, -0.13, 4.0),
        (0.21, 0.61, 5.0),
        (0.71, 0.05, 0.5),
        (-0.09, -0.77, 1.5),
    ];
    let s: f32 = WAVES
        .iter()
        .map(|&(a, b, ph)| (a * x + b * y + ph).sin())
        .sum();
    0.5 + s / 20.0
}

/// A frame of `texture` sampled where `map(x, y)` says.
fn frame(w: usize, h: usize, map: impl Fn(f32, f32) -> (f32, f32)) -> Frame<f32> {
    let mut f = Frame::new(w, h, 1);
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = map(x as f32, y as f32);
            f.data[y * w + x] = texture(sx, sy);
        }
    }
    f
}

/// EPE against `truth(x, y)` over pixels at least `border` from the edge.
fn epe(flow: &Flow, border: usize, truth: impl Fn(f32, f32) -> (f32, f32)) -> f64 {
    let (mut sum, mut n) = (0.0, 0);
    for y in border..flow.height - border {
        for x in border..flow.width - border {
            let (u, v) = flow.at(x, y);
            let (tu, tv) = truth(x as f32, y as f32);
            sum += (((u - tu).powi(2) + (v - tv).powi(2)) as f64).sqrt();
            n += 1;
        }
    }
    sum / n as f64
}

#[test]
fn recovers_translation_with_every_preset() {
    let (du, dv) = (1.6, -0.7);
    let prev = frame(64, 64, |x, y| (x, y));
    // next(x) = prev(x - d): content moves by +d.
    let next = frame(64, 64, |x, y| (x - du, y - dv));
    for preset in [Preset::Fast, Preset::Balanced, Preset::Accurate] {
        let flow = dense(&prev, &next, &Params::preset(preset)).unwrap();
        let e = epe(&flow, 4, |_, _| (du, dv));
        assert!(e < 0.1, "{preset:?}: EPE {e}");
    }
}

#[test]
fn recovers_larger_translation_coarse_to_fine() {
    let (du, dv) = (-5.0, 3.5);
    let prev = frame(128, 128, |x, y| (x, y));
    let next = frame(128, 128, |x, y| (x - du, y - dv));
    let flow = dense(&prev, &next, &Params::default()).unwrap();
    let e = epe(&flow, 12, |_, _| (du, dv));
    assert!(e < 0.15, "EPE {e}");
}

#[test]
fn recovers_rotation() {
    let (c, ang) = (48.0f32, 3.0f32.to_radians());
    let (s, co) = ang.sin_cos();
    let prev = frame(96, 96, |x, y| (x, y));
    // next(p) = prev(R^-1 (p - c) + c): pixel q of prev moves to R (q - c) + c.
    let next = frame(96, 96, |x, y| {
        let (dx, dy) = (x - c, y - c);
        (co * dx + s * dy + c, -s * dx + co * dy + c)
    });
    let flow = dense(&prev, &next, &Params::default()).unwrap();
    let e = epe(&flow, 8, |x, y| {
        let (dx, dy) = (x - c, y - c);
        (co * dx - s * dy + c - x, s * dx + co * dy + c - y)
    });
    assert!(e < 0.15, "EPE {e}");
}

#[test]
fn identical_frames_give_zero_flow() {
    let f = frame(80, 48, |x, y| (x, y));
    let flow = dense(&f, &f, &Params::default()).unwrap();
    assert_eq!((flow.width, flow.height), (80, 48));
    let max = flow.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max < 1e-3, "max |flow| {max}");
}

#[test]
fn flat_frames_give_zero_flow() {
    let a = Frame::from_vec(40, 30, 1, vec![0.3; 1200]).unwrap();
    let b = Frame::from_vec(40, 30, 1, vec![0.6; 1200]).unwrap();
    let flow = dense(&a, &b, &Params::default()).unwrap();
    assert!(flow.data.iter().all(|v| v.is_finite() && v.abs() < 1e-3));
}

#[test]
fn tiny_odd_sizes_work_and_too_small_is_an_error() {
    let a = frame(9, 13, |x, y| (x, y));
    let b = frame(9, 13, |x, y| (x - 0.5, y));
    let flow = dense(&a, &b, &Params::default()).unwrap();
    assert_eq!(flow.data.len(), 9 * 13 * 2);
    assert!(flow.data.iter().all(|v| v.is_finite()));

    let small = frame(7, 20, |x, y| (x, y));
    let err = dense(&small, &small, &Params::default()).unwrap_err();
    assert!(err.to_string().contains("too small"), "{err}");
}

#[test]
fn mismatched_or_colour_frames_are_errors() {
    let a = frame(32, 32, |x, y| (x, y));
    let b = frame(32, 24, |x, y| (x, y));
    let err = dense(&a, &b, &Params::default()).unwrap_err();
    assert!(err.to_string().contains("differ in size"), "{err}");
    let rgb = Frame::<f32>::new(32, 32, 3);
    let err = dense(&a, &rgb, &Params::default()).unwrap_err();
    assert!(err.to_string().contains("gray"), "{err}");
    let bad = Params {
        patch_size: 5,
        ..Params::default()
    };
    assert!(FlowEstimator::new(bad).is_err());
}

#[test]
fn estimator_reuses_buffers_across_sizes() {
    let mut est = FlowEstimator::new(Params::default()).unwrap();
    let a = frame(64, 48, |x, y| (x, y));
    let b = frame(64, 48, |x, y| (x - 1.0, y));
    let first = est.estimate(&a, &b).unwrap();
    let small = frame(32, 32, |x, y| (x, y));
    est.estimate(&small, &small).unwrap();
    let again = est.estimate(&a, &b).unwrap();
    assert_eq!(first, again);
    assert_eq!(first, dense(&a, &b, &Params::default()).unwrap());
}

#[test]
fn resized_rescales_vectors() {
    let mut f = Flow::zeros(4, 2);
    for p in f.data.chunks_exact_mut(2) {
        p[0] = 1.0;
        p[1] = -2.0;
    }
    let r = f.resized(8, 6).unwrap();
    assert_eq!((r.width, r.height), (8, 6));
    for p in r.data.chunks_exact(2) {
        assert!(
            (p[0] - 2.0).abs() < 1e-6 && (p[1] + 6.0).abs() < 1e-6,
            "{p:?}"
        );
    }
    assert!(f.resized(0, 3).is_err());
}

#[test]
fn flo_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.flo");
    let mut f = Flow::zeros(3, 2);
    for (i, v) in f.data.iter_mut().enumerate() {
        *v = i as f32 * 0.25 - 1.0;
    }
    write_flo(&path, &f).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], b"PIEH");
    assert_eq!(
        f32::from_le_bytes(bytes[..4].try_into().unwrap()),
        202021.25
    );
    assert_eq!(read_flo(&path).unwrap(), f);

    std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
    let err = read_flo(&path).unwrap_err();
    assert!(err.to_string().contains("a.flo"), "{err}");
    std::fs::write(&path, b"nope, not a flow file").unwrap();
    assert!(read_flo(&path).unwrap_err().to_string().contains("PIEH"));
}

#[test]
fn colour_wheel_matches_middlebury_coding() {
    assert_eq!(wheel_color(0.0, 0.0), [255, 255, 255]);
    // Rightward motion is red, downward is yellow-green, leftward cyan-ish, upward blue-magenta.
    let right = wheel_color(1.0, 0.0);
    assert!(
        right[0] == 255 && right[1] < 30 && right[2] < 60,
        "{right:?}"
    );
    let down = wheel_color(0.0, 1.0);
    assert!(down[1] > 200 && down[2] < 30, "{down:?}");
    let left = wheel_color(-1.0, 0.0);
    assert!(left[0] < 30 && left[1] > 150 && left[2] > 150, "{left:?}");
    let up = wheel_color(0.0, -1.0);
    assert!(up[2] == 255 && up[1] < 30, "{up:?}");
    // Half length is half-way to white.
    let half = wheel_color(0.5, 0.0);
    assert!(half[1] > 100 && half[1] < 160, "{half:?}");

    let mut f = Flow::zeros(2, 1);
    f.data[2] = 3.0;
    let img = flow_to_rgb(&f);
    assert_eq!(img.channels, 3);
    assert_eq!(&img.data[..3], &[255, 255, 255]);
    assert_eq!(&img.data[3..], &right);
}

#[test]
fn epe_helper_checks_shapes() {
    let a = Flow::zeros(2, 2);
    let mut b = Flow::zeros(2, 2);
    b.data[0] = 3.0;
    b.data[1] = 4.0;
    assert!((a.epe(&b, None).unwrap() - 1.25).abs() < 1e-9);
    let mask = [false, true, true, true];
    assert_eq!(a.epe(&b, Some(&mask)).unwrap(), 0.0);
    assert!(a.epe(&Flow::zeros(1, 2), None).is_err());
}

/// The default parameters as a config written before `field` existed reads them.
fn default_params_without(field: &str) -> Params {
    let mut old = serde_json::to_value(Params::default()).unwrap();
    old.as_object_mut().unwrap().remove(field);
    serde_json::from_value(old).unwrap()
}

/// `field`, a share in (0, 1] that `set` writes, is range-checked by
/// `validate`, whose message names it.
fn assert_share_checked(field: &str, set: impl Fn(&mut Params, f32)) {
    for bad in [0.0, -0.5, 1.5, f32::NAN] {
        let mut p = Params::default();
        set(&mut p, bad);
        let err = p.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{field} {bad}: {err}");
    }
}

/// Damped Gauss-Newton steps (`search_step`) still recover a translation,
/// given iterations enough for the shares to add up; the field is range-checked, and configs written before it read as full steps.
#[test]
fn damped_search_recovers_translation_and_old_params_read_as_full_steps() {
    let (du, dv) = (1.6, -0.7);
    let prev = frame(64, 64, |x, y| (x, y));
    let next = frame(64, 64, |x, y| (x - du, y - dv));
    let damped = Params {
        search_step: 0.125,
        search_iterations: 40,
        refine_iterations: 3,
        ..Params::default()
    };
    let flow = dense(&prev, &next, &damped).unwrap();
    let e = epe(&flow, 4, |_, _| (du, dv));
    // The early stop looks at the damped step, so up to 1/step of 0.01 px is
    // left to the refinement: a looser bound than full steps get.
    assert!(e < 0.15, "damped: EPE {e}");
    let full = dense(&prev, &next, &Params::default()).unwrap();
    assert_ne!(flow, full, "the step share changes the search");
    assert_share_checked("search_step", |p, v| p.search_step = v);
    let read = default_params_without("search_step");
    assert_eq!(read.search_step, 1.0);
    assert_eq!(read.preset_name(), Some("balanced"));
}

/// `search_keep_best` recovers a translation as well as the plain search,
/// changes the search, and helps where Gauss-Newton steps go astray: on a
/// pair whose second frame is heavily noised, patches that keep their best
/// visited position stay nearer the truth. Configs without the field read
/// as off.
#[test]
fn keep_best_search_recovers_translation_and_resists_noise() {
    let (du, dv) = (1.6, -0.7);
    let prev = frame(64, 64, |x, y| (x, y));
    let next = frame(64, 64, |x, y| (x - du, y - dv));
    let best = Params {
        search_keep_best: true,
        ..Params::default()
    };
    let flow = dense(&prev, &next, &best).unwrap();
    let e = epe(&flow, 4, |_, _| (du, dv));
    assert!(e < 0.05, "keep best: EPE {e}");
    // Noise of amplitude 0.1 (the texture spans about 0.3) on the second frame.
    let mut noisy = next.clone();
    let mut state = 12345u32;
    for v in &mut noisy.data {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v += ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.2;
    }
    let plain = Params {
        search_iterations: 25,
        ..Params::default()
    };
    let kept = Params {
        search_keep_best: true,
        ..plain.clone()
    };
    let e_plain = epe(&dense(&prev, &noisy, &plain).unwrap(), 4, |_, _| (du, dv));
    let e_kept = epe(&dense(&prev, &noisy, &kept).unwrap(), 4, |_, _| (du, dv));
    assert!(e_kept < e_plain, "noisy: kept {e_kept} vs plain {e_plain}");
    let read = default_params_without("search_keep_best");
    assert!(!read.search_keep_best);
    assert_eq!(read.preset_name(), Some("balanced"));
}

/// The whole estimator gives bit-identical flow on 1 thread (every pass run
/// in turn) and on several (passes overlapped as a wavefront), for frames
/// whose levels cut into many row blocks and into a few.
#[test]
fn threads_do_not_change_the_flow() {
    let (w, h) = (200, 150);
    let prev = frame(w, h, |x, y| (x, y));
    let next = frame(w, h, |x, y| {
        // A rotation-like swirl, so that every row's flow differs.
        (x - 2.5 + 0.02 * (y - 75.0), y + 1.5 - 0.02 * (x - 100.0))
    });
    let propagating = |kind| Params {
        search_propagation: kind,
        search_propagation_margin: 0.7,
        ..Params::default()
    };
    let params = [Preset::Fast, Preset::Balanced, Preset::Accurate]
        .map(|p| (format!("{p:?}"), Params::preset(p)));
    for (name, p) in params.into_iter().chain([
        ("before".to_string(), propagating(Propagation::Before)),
        ("after".to_string(), propagating(Propagation::After)),
    ]) {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| dense(&prev, &next, &p).unwrap())
        };
        let one = run(1);
        assert!(
            one.data.iter().any(|v| v.abs() > 1.0),
            "{name}: no motion found"
        );
        for threads in [2, 3, 5] {
            assert!(
                run(threads) == one,
                "{name}: {threads} threads differ from 1"
            );
        }
    }
}

/// An object moving 7 px over a background moving 0.5 px: the coarse levels
/// blur the two motions together, and with `search_propagation` the patches
/// at the object's edge pick up the motion their neighbours found, so the
/// flow is closer to the truth than without, for both kinds, with and
/// without a margin (if no neighbour's flow were ever taken, the EPE would
/// match the plain search's). A translation is still recovered, the margin is
/// range-checked, and configs without the fields read as off and 1.
#[test]
fn propagation_sharpens_motion_boundaries() {
    let (w, h) = (128, 128);
    let inside = |x: f32, y: f32| (40.0..88.0).contains(&x) && (40.0..88.0).contains(&y);
    let (ou, ov, bu) = (7.0, 3.0, 0.5);
    let prev = frame(w, h, |x, y| {
        if inside(x, y) {
            (x + 100.0, y + 100.0)
        } else {
            (x, y)
        }
    });
    // The object covers what lies behind it at its new place.
    let next = frame(w, h, |x, y| {
        if inside(x - ou, y - ov) {
            (x - ou + 100.0, y - ov + 100.0)
        } else {
            (x - bu, y)
        }
    });
    let truth = |x: f32, y: f32| if inside(x, y) { (ou, ov) } else { (bu, 0.0) };
    let plain = Params::default();
    let e_plain = epe(&dense(&prev, &next, &plain).unwrap(), 8, truth);
    let translation = {
        let (du, dv) = (1.6, -0.7);
        let prev = frame(64, 64, |x, y| (x, y));
        let next = frame(64, 64, |x, y| (x - du, y - dv));
        move |p: &Params| epe(&dense(&prev, &next, p).unwrap(), 4, |_, _| (du, dv))
    };
    for kind in [Propagation::Before, Propagation::After] {
        for margin in [1.0, 0.7] {
            let p = Params {
                search_propagation: kind,
                search_propagation_margin: margin,
                ..plain.clone()
            };
            let e = epe(&dense(&prev, &next, &p).unwrap(), 8, truth);
            assert!(
                e < 0.95 * e_plain,
                "{kind:?} {margin}: {e} vs plain {e_plain}"
            );
            let e = translation(&p);
            assert!(e < 0.1, "{kind:?} {margin}: translation EPE {e}");
        }
    }
    assert_share_checked("search_propagation_margin", |p, v| {
        p.search_propagation_margin = v
    });
    let read = default_params_without("search_propagation");
    assert_eq!(read.search_propagation, Propagation::Off);
    let read = default_params_without("search_propagation_margin");
    assert_eq!(read.search_propagation_margin, 1.0);
    assert_eq!(read.preset_name(), Some("balanced"));
}

/// `search_propagation_near_px` exempts near neighbours' flows from the
/// margin: with every neighbour near (64 px), even a margin that no
/// neighbour could ever beat gives DIS's rule (margin 1) bit for bit, and
/// with none near the same margin gives other flow; both kinds. The field is
/// range-checked and reads as 0 where a config lacks it.
#[test]
fn near_neighbours_skip_the_margin() {
    let (w, h) = (128, 96);
    let prev = frame(w, h, |x, y| (x, y));
    // A slow swirl: sub-pixel flow that differs from patch to patch.
    let next = frame(w, h, |x, y| {
        (x - 0.6 + 0.01 * (y - 48.0), y + 0.4 - 0.01 * (x - 64.0))
    });
    for kind in [Propagation::Before, Propagation::After] {
        let with = |margin, near_px| Params {
            search_propagation: kind,
            search_propagation_margin: margin,
            search_propagation_near_px: near_px,
            ..Params::default()
        };
        let dis_rule = dense(&prev, &next, &with(1.0, 0.0)).unwrap();
        let all_near = dense(&prev, &next, &with(1e-6, 64.0)).unwrap();
        let none_near = dense(&prev, &next, &with(1e-6, 0.0)).unwrap();
        assert!(
            all_near == dis_rule,
            "{kind:?}: near neighbours met the margin"
        );
        assert!(
            none_near != dis_rule,
            "{kind:?}: the margin changed nothing"
        );
    }
    for bad in [-0.5, 65.0, f32::NAN] {
        let p = Params {
            search_propagation_near_px: bad,
            ..Params::default()
        };
        let err = p.validate().unwrap_err().to_string();
        assert!(err.contains("search_propagation_near_px"), "{bad}: {err}");
    }
    let read = default_params_without("search_propagation_near_px");
    assert_eq!(read.search_propagation_near_px, 0.0);
    assert_eq!(read.preset_name(), Some("balanced"));
}
