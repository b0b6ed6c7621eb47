//! Subcommands, one file each.

pub mod bench;
pub mod demo;
pub mod flow;
pub mod info;
