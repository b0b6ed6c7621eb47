//! Presenting: the export job (File → Export video…). Presentation mode's
//! banner is drawn by the app's frame loop.

pub mod export;
