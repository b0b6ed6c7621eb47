//! Subcommands, one file each.

pub mod demo;
pub mod info;
pub mod synth;
