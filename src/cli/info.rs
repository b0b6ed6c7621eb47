//! `vadscope info PATH`.

use std::path::PathBuf;

/// Arguments of `vadscope info`.
#[derive(clap::Args)]
pub struct InfoArgs {
    /// A video file, a frame folder or a dataset root.
    pub path: PathBuf,
}

/// Prints what was found at the path.
pub fn run(args: InfoArgs) -> anyhow::Result<()> {
    anyhow::bail!("{}: info is not wired yet", args.path.display())
}
