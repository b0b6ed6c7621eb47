//! The app's views, one per file, each drawn by a `*_ui`-style function that
//! reads the store and the state through `&` and sends commands.

pub mod boxes;
pub mod brush;
pub mod controls;
pub mod flow;
pub mod frame;
pub mod maps;
pub mod memory;
pub mod timeline;
