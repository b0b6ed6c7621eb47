//! `vadscope` without a subcommand: the built-in demo.

/// Runs the demo.
pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("demo is not wired yet")
}
