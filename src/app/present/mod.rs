//! Presenting: presentation mode's banner, the export job (File → Export
//! video…) and pictures of a view (File → Save a picture of this view…).

pub mod banner;
pub mod export;
pub mod picture;
