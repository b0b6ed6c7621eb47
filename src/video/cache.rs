//! A frame cache bounded in bytes (least recently used out first), and a video
//! reader that fills it ahead of the playhead on a background thread, so that
//! playback and scrubbing in the app rarely wait for the decoder.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::{open_with, OutputSpec, Video, VideoInfo};
use crate::error::{Error, Result};
use crate::frame::Frame;

/// Decoded frames by index, bounded by their total size in bytes.
#[derive(Debug)]
pub struct FrameCache {
    capacity_bytes: usize,
    bytes: usize,
    tick: u64,
    frames: HashMap<usize, (Arc<Frame<u8>>, u64)>,
    /// Last-use tick -> frame index: the first entry is the least recently used.
    by_age: BTreeMap<u64, usize>,
    hits: u64,
    misses: u64,
}

impl FrameCache {
    /// An empty cache holding at most `capacity_bytes` of pixel data.
    pub fn new(capacity_bytes: usize) -> Self {
        FrameCache {
            capacity_bytes,
            bytes: 0,
            tick: 0,
            frames: HashMap::new(),
            by_age: BTreeMap::new(),
            hits: 0,
            misses: 0,
        }
    }

    /// The frame at `index`, marking it recently used.
    pub fn get(&mut self, index: usize) -> Option<Arc<Frame<u8>>> {
        self.tick += 1;
        let tick = self.tick;
        match self.frames.get_mut(&index) {
            Some((frame, age)) => {
                self.by_age.remove(age);
                *age = tick;
                self.by_age.insert(tick, index);
                self.hits += 1;
                Some(frame.clone())
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Whether `index` is cached (without touching its age or the statistics).
    pub fn contains(&self, index: usize) -> bool {
        self.frames.contains_key(&index)
    }

    /// Inserts a frame, evicting the least recently used ones to stay in bounds.
    /// A frame larger than the whole capacity is not kept.
    pub fn insert(&mut self, index: usize, frame: Arc<Frame<u8>>) {
        let size = frame.size_bytes();
        if size > self.capacity_bytes {
            return;
        }
        self.remove(index);
        while self.bytes + size > self.capacity_bytes {
            let Some((_, &victim)) = self.by_age.iter().next() else {
                break;
            };
            self.remove(victim);
        }
        self.tick += 1;
        self.by_age.insert(self.tick, index);
        self.frames.insert(index, (frame, self.tick));
        self.bytes += size;
    }

    fn remove(&mut self, index: usize) {
        if let Some((frame, age)) = self.frames.remove(&index) {
            self.by_age.remove(&age);
            self.bytes -= frame.size_bytes();
        }
    }

    /// Number of cached frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes of pixel data held.
    pub fn size_bytes(&self) -> usize {
        self.bytes
    }

    /// The byte bound.
    pub fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    /// `(hits, misses)` of [`FrameCache::get`] so far.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

/// A video whose frames are served from a [`FrameCache`] that a background
/// thread keeps filled ahead of the playhead (the last frame asked for).
pub struct CachedVideo {
    info: VideoInfo,
    spec: OutputSpec,
    video: Video,
    cache: Arc<Mutex<FrameCache>>,
    prefetch: Option<Prefetcher>,
}

struct Prefetcher {
    playhead: Sender<usize>,
    thread: Option<JoinHandle<()>>,
    error: Arc<Mutex<Option<String>>>,
}

fn lock(cache: &Mutex<FrameCache>) -> MutexGuard<'_, FrameCache> {
    // A panic while holding the lock cannot leave the cache inconsistent in a
    // way that matters (worst case: a stale byte count), so keep going.
    cache.lock().unwrap_or_else(|p| p.into_inner())
}

impl CachedVideo {
    /// Opens `path` with `spec`, a cache of `capacity_bytes`, and a prefetch
    /// thread that decodes up to `prefetch_frames` frames ahead (0: no thread).
    pub fn open(
        path: impl AsRef<Path>,
        spec: OutputSpec,
        capacity_bytes: usize,
        prefetch_frames: usize,
    ) -> Result<Self> {
        let path = path.as_ref();
        let video = open_with(path, spec)?;
        let info = video.info().clone();
        let cache = Arc::new(Mutex::new(FrameCache::new(capacity_bytes)));
        let prefetch = if prefetch_frames > 0 {
            let (w, h) = video.output_size();
            let frame_bytes = (w * h * spec.format.channels()).max(1);
            // Never prefetch more than half the cache: the rest keeps recent frames for scrubbing back.
            let ahead = prefetch_frames.min(capacity_bytes / frame_bytes / 2);
            let worker_video = open_with(path, spec)?;
            Some(Prefetcher::spawn(worker_video, cache.clone(), ahead))
        } else {
            None
        };
        Ok(CachedVideo {
            info,
            spec,
            video,
            cache,
            prefetch,
        })
    }

    /// What was found when opening.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The output spec of cached frames.
    pub fn output(&self) -> OutputSpec {
        self.spec
    }

    /// Frame `index`, from the cache or decoded now; moves the playhead there.
    pub fn get(&mut self, index: usize) -> Result<Arc<Frame<u8>>> {
        if let Some(p) = &self.prefetch {
            // The worker may have gone (it stops on a decoding error); reads still work.
            let _ = p.playhead.send(index);
        }
        if let Some(f) = lock(&self.cache).get(index) {
            return Ok(f);
        }
        let frame = Arc::new(self.video.read(index)?);
        lock(&self.cache).insert(index, frame.clone());
        Ok(frame)
    }

    /// The frame at `index` if it is cached now, without decoding.
    pub fn get_cached(&self, index: usize) -> Option<Arc<Frame<u8>>> {
        lock(&self.cache).get(index)
    }

    /// Whether `index` is cached now.
    pub fn is_cached(&self, index: usize) -> bool {
        lock(&self.cache).contains(index)
    }

    /// Cache statistics: `(frames held, bytes held, hits, misses)`.
    pub fn cache_stats(&self) -> (usize, usize, u64, u64) {
        let c = lock(&self.cache);
        let (h, m) = c.stats();
        (c.len(), c.size_bytes(), h, m)
    }

    /// The error that stopped the prefetch thread, if any.
    pub fn prefetch_error(&self) -> Option<String> {
        self.prefetch
            .as_ref()
            .and_then(|p| p.error.lock().ok().and_then(|e| e.clone()))
    }
}

impl Prefetcher {
    fn spawn(mut video: Video, cache: Arc<Mutex<FrameCache>>, ahead: usize) -> Self {
        let (tx, rx) = mpsc::channel::<usize>();
        let error = Arc::new(Mutex::new(None));
        let err = error.clone();
        let thread = std::thread::Builder::new()
            .name("vadscope-prefetch".into())
            .spawn(move || {
                if let Err(e) = prefetch_loop(&mut video, &cache, &rx, ahead) {
                    if let Ok(mut slot) = err.lock() {
                        *slot = Some(e.to_string());
                    }
                }
            })
            .ok();
        Prefetcher {
            playhead: tx,
            thread,
            error,
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        // Closing the channel ends the loop; join so the decoder closes before we return.
        let (dead, _) = mpsc::channel();
        self.playhead = dead;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Decodes frames after the playhead into the cache until told to move or to stop.
fn prefetch_loop(
    video: &mut Video,
    cache: &Mutex<FrameCache>,
    rx: &Receiver<usize>,
    ahead: usize,
) -> Result<()> {
    let n = video.len();
    let mut playhead = match rx.recv() {
        Ok(p) => p,
        Err(_) => return Ok(()),
    };
    loop {
        let mut moved = false;
        for i in playhead + 1..(playhead + 1 + ahead).min(n) {
            match rx.try_recv() {
                Ok(p) => {
                    // Drain to the newest playhead: scrubbing sends many.
                    playhead = rx.try_iter().last().unwrap_or(p);
                    moved = true;
                    break;
                }
                Err(TryRecvError::Disconnected) => return Ok(()),
                Err(TryRecvError::Empty) => {}
            }
            if lock(cache).contains(i) {
                continue;
            }
            let frame = video
                .read(i)
                .map_err(|e| Error::decode(&video.info().path, format!("prefetch: {e}")))?;
            lock(cache).insert(i, Arc::new(frame));
        }
        if !moved {
            playhead = match rx.recv() {
                Ok(p) => p,
                Err(_) => return Ok(()),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: usize, v: u8) -> Arc<Frame<u8>> {
        Arc::new(Frame::from_vec(bytes, 1, 1, vec![v; bytes]).unwrap())
    }

    #[test]
    fn evicts_least_recently_used_within_bytes() {
        let mut c = FrameCache::new(300);
        c.insert(0, frame(100, 0));
        c.insert(1, frame(100, 1));
        c.insert(2, frame(100, 2));
        assert!(c.get(0).is_some()); // 1 is now the oldest
        c.insert(3, frame(100, 3));
        assert!(!c.contains(1) && c.contains(0) && c.contains(2) && c.contains(3));
        assert_eq!(c.size_bytes(), 300);
        c.insert(4, frame(250, 4));
        assert_eq!(c.len(), 1);
        assert!(c.contains(4) && c.size_bytes() == 250);
        c.insert(5, frame(400, 5)); // larger than the cache: not kept
        assert!(!c.contains(5) && c.contains(4));
        assert_eq!(c.get(4).unwrap().data[0], 4);
        assert_eq!(c.stats(), (2, 0));
    }

    #[test]
    fn reinserting_replaces_without_leaking_bytes() {
        let mut c = FrameCache::new(1000);
        c.insert(7, frame(100, 1));
        c.insert(7, frame(200, 2));
        assert_eq!((c.len(), c.size_bytes()), (1, 200));
    }
}
