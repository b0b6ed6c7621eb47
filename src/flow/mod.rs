//! Dense optical flow between consecutive frames (coarse-to-fine, DIS family).
