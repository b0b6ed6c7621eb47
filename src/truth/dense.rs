//! Helpers for [`Masks::Dense`]: packing per-pixel masks into bits and reading
//! them back. Bits are packed row-major, least significant bit first: pixel
//! `i = y * width + x` is bit `i % 8` of byte `i / 8`.

use super::Masks;

/// Packs one flag per pixel into bits.
pub fn pack_bits(mask: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; mask.len().div_ceil(8)];
    for (i, _) in mask.iter().enumerate().filter(|(_, &m)| m) {
        out[i / 8] |= 1 << (i % 8);
    }
    out
}

/// Packs one byte per pixel (non-zero = anomalous) into bits.
pub fn pack_nonzero(values: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; values.len().div_ceil(8)];
    for (i, _) in values.iter().enumerate().filter(|(_, &v)| v != 0) {
        out[i / 8] |= 1 << (i % 8);
    }
    out
}

/// Unpacks the first `len` bits into one flag per pixel (missing bytes read as 0).
pub fn unpack_bits(bits: &[u8], len: usize) -> Vec<bool> {
    (0..len).map(|i| bit(bits, i)).collect()
}

/// Bit `i` of a packed mask (false beyond its end).
pub fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)
}

/// Number of set bits.
pub fn count_bits(bits: &[u8]) -> usize {
    bits.iter().map(|b| b.count_ones() as usize).sum()
}

impl Masks {
    /// For dense masks: whether pixel (x, y) of frame `frame` is anomalous.
    /// `None` for folder masks (not loaded) and for positions outside the mask.
    pub fn dense_pixel(&self, frame: usize, x: usize, y: usize) -> Option<bool> {
        match self {
            Masks::Dense {
                width,
                height,
                frames,
            } if x < *width && y < *height => Some(
                frames
                    .get(frame)
                    .and_then(Option::as_ref)
                    .is_some_and(|bits| bit(bits, y * width + x)),
            ),
            _ => None,
        }
    }

    /// For dense masks: the number of anomalous pixels of frame `frame`
    /// (`None` for folder masks).
    pub fn dense_count(&self, frame: usize) -> Option<usize> {
        match self {
            Masks::Dense { frames, .. } => Some(
                frames
                    .get(frame)
                    .and_then(Option::as_ref)
                    .map_or(0, |bits| count_bits(bits)),
            ),
            Masks::Folder { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips() {
        let mask: Vec<bool> = (0..37).map(|i| i % 3 == 0 || i == 35).collect();
        let bits = pack_bits(&mask);
        assert_eq!(bits.len(), 5);
        assert_eq!(bits[0], 0b0100_1001, "LSB first");
        assert_eq!(unpack_bits(&bits, mask.len()), mask);
        let bytes: Vec<u8> = mask.iter().map(|&m| if m { 255 } else { 0 }).collect();
        assert_eq!(pack_nonzero(&bytes), bits);
        assert_eq!(count_bits(&bits), mask.iter().filter(|&&m| m).count());
        assert!(!bit(&bits, 1000));
        let masks = Masks::Dense {
            width: 37,
            height: 1,
            frames: vec![None, Some(bits)],
        };
        assert_eq!(masks.dense_pixel(1, 3, 0), Some(true));
        assert_eq!(masks.dense_pixel(1, 4, 0), Some(false));
        assert_eq!(masks.dense_pixel(0, 3, 0), Some(false));
        assert_eq!(masks.dense_pixel(1, 37, 0), None);
        assert_eq!(masks.dense_count(1), Some(14));
        assert_eq!(masks.dense_count(0), Some(0));
    }
}
