//! GPU drawing of float maps for the app: single-channel (`R32Float`) and flow
//! (`Rg32Float`) textures colour-mapped by `shaders/colormap.wgsl` inside egui
//! paint callbacks (egui_wgpu).
//!
//! [`install`] puts the pipeline and a texture cache into the renderer's
//! callback resources once; each [`MapCallback`] then names its image by a key
//! and a version, so a texture is uploaded only when the frame or the map
//! changes, and scrubbing back to a recent frame reuses its texture.

/// The CPU colour maps live in the engine (exports use them without the GUI);
/// the shader receives their stops.
pub use crate::export::colormap;

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui;
use eframe::egui_wgpu::{self, wgpu};

use crate::Frame;

pub use colormap::Colormap;

/// Most textures kept in the cache; the least recently drawn go first.
const MAX_TEXTURES: usize = 96;

/// A float image to draw: one channel (a scalar map) or two (flow `u, v`).
#[derive(Debug, Clone)]
pub struct MapImage {
    /// Identifies the texture: the same key with the same version is not uploaded again.
    pub key: u64,
    /// Bumped when the data behind `key` changes.
    pub version: u64,
    /// The values (1 or 2 channels, row-major, interleaved).
    pub frame: Arc<Frame<f32>>,
}

impl MapImage {
    /// An image with a key made from `parts` (hashed) and version 0.
    pub fn new(parts: impl std::hash::Hash, frame: Arc<Frame<f32>>) -> Self {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let key = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(parts);
        MapImage {
            key,
            version: 0,
            frame,
        }
    }

    /// Whether the data has the stated size and a supported channel count.
    pub fn is_valid(&self) -> bool {
        let f = &self.frame;
        (f.channels == 1 || f.channels == 2)
            && f.width > 0
            && f.height > 0
            && f.data.len() == f.width * f.height * f.channels
    }
}

/// How values become colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// A sequential colour map over the value range, with gamma.
    Colormap(Colormap),
    /// The Middlebury flow wheel; vectors of length `max` (pixels) are saturated.
    Flow {
        /// Normalising radius in pixels.
        max: f32,
    },
    /// Values are class indices (memory slots), drawn in categorical colours.
    Categorical,
    /// Gray over the value range, with gamma.
    Gray,
}

/// Everything about one draw except the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawParams {
    /// How values become colours.
    pub mode: Mode,
    /// Values mapped to the ends of the colour map.
    pub range: (f32, f32),
    /// Exponent applied after normalising to `[0, 1]`.
    pub gamma: f32,
    /// 0 (invisible) to 1 (opaque); overlays use less.
    pub opacity: f32,
    /// The part of the image shown, in `[0, 1]` texture coordinates (zoom and pan).
    pub uv: egui::Rect,
}

impl Default for DrawParams {
    fn default() -> Self {
        DrawParams {
            mode: Mode::Colormap(Colormap::Inferno),
            range: (0.0, 1.0),
            gamma: 1.0,
            opacity: 1.0,
            uv: egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
        }
    }
}

/// The shader's uniform block (layout of `Params` in `colormap.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Uniform {
    uv_min: [f32; 2],
    uv_max: [f32; 2],
    range: [f32; 2],
    gamma: f32,
    opacity: f32,
    mode: u32,
    flow_max: f32,
    pad: [f32; 2],
    stops: [[f32; 4]; colormap::STOPS],
}

impl Uniform {
    fn new(p: &DrawParams) -> Self {
        let (mode, flow_max, map) = match p.mode {
            Mode::Colormap(m) => (0, 0.0, m),
            Mode::Flow { max } => (1, max, Colormap::Inferno),
            Mode::Categorical => (2, 0.0, Colormap::Inferno),
            Mode::Gray => (3, 0.0, Colormap::Inferno),
        };
        Uniform {
            uv_min: [p.uv.min.x, p.uv.min.y],
            uv_max: [p.uv.max.x, p.uv.max.y],
            range: [p.range.0, p.range.1],
            gamma: p.gamma,
            opacity: p.opacity.clamp(0.0, 1.0),
            mode,
            flow_max,
            pad: [0.0; 2],
            stops: map.stops_f32(),
        }
    }
}

/// What the texture cache has done, for tests and the status bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderStats {
    /// Texture uploads since start.
    pub uploads: u64,
    /// Textures held now.
    pub textures: usize,
}

struct CachedTexture {
    version: u64,
    size: (usize, usize, usize),
    view: wgpu::TextureView,
    texture: wgpu::Texture,
    /// Changes whenever `view` is a new texture, so bind groups know to rebuild.
    serial: u64,
    last_used: u64,
}

struct Slot {
    buffer: wgpu::Buffer,
    bind_group: Option<(u64, u64, wgpu::BindGroup)>,
}

/// The pipeline and the caches, kept in egui_wgpu's callback resources.
pub struct MapResources {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    textures: HashMap<u64, CachedTexture>,
    slots: HashMap<u64, Slot>,
    clock: u64,
    serial: u64,
    stats: RenderStats,
}

/// Installs the map pipeline for `render_state`'s target format (once; later calls do nothing).
pub fn install(render_state: &egui_wgpu::RenderState) {
    let mut renderer = render_state.renderer.write();
    if renderer.callback_resources.get::<MapResources>().is_some() {
        return;
    }
    let res = MapResources::new(&render_state.device, render_state.target_format);
    renderer.callback_resources.insert(res);
}

/// The cache statistics, if [`install`] ran on this renderer.
pub fn stats(render_state: &egui_wgpu::RenderState) -> Option<RenderStats> {
    let renderer = render_state.renderer.read();
    renderer
        .callback_resources
        .get::<MapResources>()
        .map(|r| r.stats)
}

impl MapResources {
    fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("vadscope colormap"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/colormap.wgsl").into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("vadscope map"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        // Float but not filterable: read with textureLoad only.
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("vadscope map"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("vadscope map"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState {
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                ..Default::default()
            },
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        MapResources {
            pipeline,
            layout,
            textures: HashMap::new(),
            slots: HashMap::new(),
            clock: 0,
            serial: 0,
            stats: RenderStats::default(),
        }
    }

    /// Makes sure `image` is on the GPU at its version; uploads only if not.
    fn upload(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, image: &MapImage) {
        self.clock += 1;
        let size = (image.frame.width, image.frame.height, image.frame.channels);
        if let Some(t) = self.textures.get_mut(&image.key) {
            t.last_used = self.clock;
            if t.version == image.version && t.size == size {
                return;
            }
        }
        let reuse = matches!(self.textures.get(&image.key), Some(t) if t.size == size);
        if !reuse {
            if self.textures.len() >= MAX_TEXTURES {
                // Evict the least recently drawn texture.
                if let Some(&old) = self
                    .textures
                    .iter()
                    .min_by_key(|(_, t)| t.last_used)
                    .map(|(k, _)| k)
                {
                    self.textures.remove(&old);
                }
            }
            let format = if image.frame.channels == 2 {
                wgpu::TextureFormat::Rg32Float
            } else {
                wgpu::TextureFormat::R32Float
            };
            let texture = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("vadscope map"),
                size: extent(image),
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            self.serial += 1;
            self.textures.insert(
                image.key,
                CachedTexture {
                    version: image.version,
                    size,
                    view,
                    texture,
                    serial: self.serial,
                    last_used: self.clock,
                },
            );
        }
        let Some(t) = self.textures.get_mut(&image.key) else {
            return;
        };
        t.version = image.version;
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &t.texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(image.frame.data.as_slice()),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some((image.frame.width * image.frame.channels * 4) as u32),
                rows_per_image: Some(image.frame.height as u32),
            },
            extent(image),
        );
        self.stats.uploads += 1;
        self.stats.textures = self.textures.len();
    }
}

fn extent(image: &MapImage) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width: image.frame.width as u32,
        height: image.frame.height as u32,
        depth_or_array_layers: 1,
    }
}

/// One map drawn into a rect: add it with [`paint`].
pub struct MapCallback {
    /// Which draw this is (one per view): owns a uniform buffer across frames.
    pub slot: u64,
    /// The image.
    pub image: MapImage,
    /// How to draw it.
    pub params: DrawParams,
}

impl egui_wgpu::CallbackTrait for MapCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(res) = resources.get_mut::<MapResources>() else {
            return Vec::new();
        };
        if !self.image.is_valid() {
            return Vec::new();
        }
        res.upload(device, queue, &self.image);
        let Some(tex) = res.textures.get(&self.image.key) else {
            return Vec::new();
        };
        let (serial, view) = (tex.serial, tex.view.clone());
        let layout = res.layout.clone();
        let slot = res.slots.entry(self.slot).or_insert_with(|| Slot {
            buffer: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("vadscope map params"),
                size: std::mem::size_of::<Uniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            bind_group: None,
        });
        queue.write_buffer(
            &slot.buffer,
            0,
            bytemuck::bytes_of(&Uniform::new(&self.params)),
        );
        let stale =
            !matches!(&slot.bind_group, Some((k, s, _)) if *k == self.image.key && *s == serial);
        if stale {
            let bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("vadscope map"),
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: slot.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&view),
                    },
                ],
            });
            slot.bind_group = Some((self.image.key, serial, bg));
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(res) = resources.get::<MapResources>() else {
            return;
        };
        let Some(Slot {
            bind_group: Some((_, _, bg)),
            ..
        }) = res.slots.get(&self.slot)
        else {
            return;
        };
        pass.set_pipeline(&res.pipeline);
        pass.set_bind_group(0, bg, &[]);
        pass.draw(0..4, 0..1);
    }
}

/// A flow field whose vector at each pixel points from the centre to it,
/// length 1 at the rim: drawn in flow mode it is the colour wheel itself
/// (the legend, and the shader test's input).
pub fn wheel_field(n: usize) -> Frame<f32> {
    let c = (n as f32 - 1.0) / 2.0;
    let mut data = Vec::with_capacity(n * n * 2);
    for y in 0..n {
        for x in 0..n {
            data.push((x as f32 - c) / c.max(1e-6));
            data.push((y as f32 - c) / c.max(1e-6));
        }
    }
    Frame {
        width: n,
        height: n,
        channels: 2,
        data,
    }
}

/// Adds `image` drawn with `params` into `rect` to `painter`.
pub fn paint(
    painter: &egui::Painter,
    rect: egui::Rect,
    slot: u64,
    image: MapImage,
    params: DrawParams,
) {
    painter.add(egui_wgpu::Callback::new_paint_callback(
        rect,
        MapCallback {
            slot,
            image,
            params,
        },
    ));
}
