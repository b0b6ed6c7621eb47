//! `vadscope completions SHELL` and `vadscope manpages DIR`: shell
//! completions and man pages generated from the command-line definitions
//! themselves, so they never fall behind the flags (packages install them;
//! see `packaging/README.md`).

use std::path::PathBuf;

use anyhow::Context;

/// Arguments of `vadscope completions`.
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script of `cmd` for the shell to standard output,
/// e.g. `vadscope completions bash > ~/.local/share/bash-completion/completions/vadscope`.
pub fn completions(args: CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<()> {
    clap_complete::generate(args.shell, &mut cmd, "vadscope", &mut std::io::stdout());
    Ok(())
}

/// Arguments of `vadscope manpages`.
#[derive(clap::Args)]
pub struct ManpagesArgs {
    /// Folder to write `vadscope.1` and one page per subcommand into
    /// (`vadscope-train.1`, …); created if missing.
    pub dir: PathBuf,
}

/// Writes the man pages of `cmd` into the folder.
pub fn manpages(args: ManpagesArgs, cmd: clap::Command) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    clap_mangen::generate_to(cmd, &args.dir)
        .with_context(|| format!("cannot write man pages into {}", args.dir.display()))?;
    let pages = std::fs::read_dir(&args.dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "1"))
                .count()
        })
        .unwrap_or(0);
    eprintln!("{pages} man pages in {}", args.dir.display());
    Ok(())
}
