// Single-channel and flow textures drawn into an egui paint-callback rect.
//
// mode 0: scalar -> colour map (11 sRGB stops, linear between them), range + gamma
// mode 1: flow (rg) -> Middlebury colour wheel, vectors of length `flow_max` saturated
// mode 2: category index -> categorical colour (memory arg-max slot)
// mode 3: scalar -> gray (reconstructions, predictions), range + gamma
//
// Textures are R32Float / Rg32Float, which are not filterable: read with
// textureLoad (nearest texel). The target is gamma space and egui blends
// premultiplied alpha, so colours are written as sRGB values times opacity.

struct Params {
    uv_min: vec2<f32>,
    uv_max: vec2<f32>,
    range: vec2<f32>,
    gamma: f32,
    opacity: f32,
    mode: u32,
    flow_max: f32,
    pad: vec2<f32>,
    stops: array<vec4<f32>, 11>,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var tex: texture_2d<f32>;

struct VsOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VsOut {
    // A triangle strip covering the viewport (the callback's rect).
    let x = f32(i & 1u);
    let y = f32((i >> 1u) & 1u);
    var out: VsOut;
    out.pos = vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0);
    out.uv = vec2<f32>(x, y);
    return out;
}

fn normalized(v: f32) -> f32 {
    // NaN and infinities read as 0 (an unscored pixel).
    if (!(v == v) || abs(v) > 3.0e38) {
        return 0.0;
    }
    let span = max(p.range.y - p.range.x, 1e-12);
    return pow(clamp((v - p.range.x) / span, 0.0, 1.0), max(p.gamma, 1e-3));
}

fn colormap(t: f32) -> vec3<f32> {
    let x = clamp(t, 0.0, 1.0) * 10.0;
    let i = min(u32(floor(x)), 9u);
    let f = x - f32(i);
    return mix(p.stops[i].rgb, p.stops[i + 1u].rgb, f);
}

// The Middlebury wheel: 55 colours in six ramps (red-yellow 15, yellow-green 6,
// green-cyan 4, cyan-blue 11, blue-magenta 13, magenta-red 6).
fn wheel_entry(idx: u32) -> vec3<f32> {
    var k = idx % 55u;
    if (k < 15u) { let t = f32(k) / 15.0; return vec3<f32>(1.0, t, 0.0); }
    k = k - 15u;
    if (k < 6u) { let t = f32(k) / 6.0; return vec3<f32>(1.0 - t, 1.0, 0.0); }
    k = k - 6u;
    if (k < 4u) { let t = f32(k) / 4.0; return vec3<f32>(0.0, 1.0, t); }
    k = k - 4u;
    if (k < 11u) { let t = f32(k) / 11.0; return vec3<f32>(0.0, 1.0 - t, 1.0); }
    k = k - 11u;
    if (k < 13u) { let t = f32(k) / 13.0; return vec3<f32>(t, 0.0, 1.0); }
    k = k - 13u;
    let t = f32(k) / 6.0;
    return vec3<f32>(1.0, 0.0, 1.0 - t);
}

fn wheel(u: f32, v: f32) -> vec3<f32> {
    if (!(u == u) || !(v == v) || abs(u) > 1.0e9 || abs(v) > 1.0e9) {
        return vec3<f32>(0.0);
    }
    let rad = sqrt(u * u + v * v);
    let a = atan2(-v, -u) / 3.14159265;
    let fk = (a + 1.0) / 2.0 * 54.0;
    let k0 = min(u32(floor(fk)), 54u);
    let k1 = (k0 + 1u) % 55u;
    let f = fk - f32(k0);
    let col = (1.0 - f) * wheel_entry(k0) + f * wheel_entry(k1);
    if (rad <= 1.0) {
        return vec3<f32>(1.0) - rad * (vec3<f32>(1.0) - col);
    }
    return col * 0.75;
}

fn hsv(h: f32, s: f32, v: f32) -> vec3<f32> {
    let n = vec3<f32>(5.0, 3.0, 1.0);
    let k = (n + vec3<f32>(h * 6.0)) % vec3<f32>(6.0);
    return vec3<f32>(v) - v * s * clamp(min(k, vec3<f32>(4.0) - k), vec3<f32>(0.0), vec3<f32>(1.0));
}

fn category(i: u32) -> vec3<f32> {
    let h = fract(f32(i) * 0.618034);
    var v = 0.75;
    if (i % 2u == 0u) { v = 0.95; }
    return hsv(h, 0.75, v);
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let dims = vec2<f32>(textureDimensions(tex));
    let uv = mix(p.uv_min, p.uv_max, in.uv);
    let texel = clamp(vec2<i32>(floor(uv * dims)), vec2<i32>(0), vec2<i32>(dims) - vec2<i32>(1));
    let s = textureLoad(tex, texel, 0);
    var rgb: vec3<f32>;
    if (p.mode == 1u) {
        let scale = select(0.0, 1.0 / p.flow_max, p.flow_max > 1e-6);
        rgb = wheel(s.r * scale, s.g * scale);
    } else if (p.mode == 2u) {
        rgb = category(u32(max(s.r, 0.0)));
    } else if (p.mode == 3u) {
        rgb = vec3<f32>(normalized(s.r));
    } else {
        rgb = colormap(normalized(s.r));
    }
    return vec4<f32>(rgb * p.opacity, p.opacity);
}
