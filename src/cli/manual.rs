//! Shell completions and man pages, generated from the command line's own definitions so that
//! they never say other than `--help` (the Debian package ships them: deploy/debian/).

use std::path::Path;

use anyhow::Context;
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: CompletionShell,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// Prints the completion script of `args.shell` on stdout.
pub fn completions(args: CompletionsArgs) {
    let shell = match args.shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut command = super::Cli::command();
    clap_complete::generate(shell, &mut command, "tocsin", &mut std::io::stdout());
}

/// Writes `tocsin.1` and one page per command (`tocsin-serve.1`, `tocsin-tenant.1`…) into `dir`.
pub fn man_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut command = super::Cli::command();
    // Built, so that each command's page lists the global options too.
    command.build();
    let write = |name: &str, page: clap::Command| -> anyhow::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut roff = Vec::new();
        clap_mangen::Man::new(page).render(&mut roff)?;
        std::fs::write(&path, roff).with_context(|| format!("cannot write {}", path.display()))
    };
    let paged = |sub: &&clap::Command| !sub.is_hide_set() && sub.get_name() != "help";
    for sub in command.get_subcommands().filter(paged) {
        // Titled tocsin-serve(1) as Debian names them, run as `tocsin serve`.
        let name = format!("tocsin-{}", sub.get_name());
        let page = sub
            .clone()
            .display_name(&name)
            .bin_name(format!("tocsin {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        write(&name, page)?;
    }
    write("tocsin", command)
}
