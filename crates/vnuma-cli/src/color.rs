//! `--color auto|always|never`: whether the table views get ANSI colours. `auto` colours only
//! when the output goes to a terminal (stdout, no `--output-file`) and `NO_COLOR` is unset or
//! empty (<https://no-color.org>).

use std::io::IsTerminal;
use std::path::Path;

use clap::ValueEnum;

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The `--color` flag.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct ColorArgs {
    /// Colour the map in the table view: auto (only on a terminal, and not when NO_COLOR is
    /// set), always, never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub(crate) color: ColorChoice,
}

impl ColorArgs {
    /// Whether to colour output written to `output_file` (or stdout).
    pub(crate) fn enabled(self, output_file: Option<&Path>) -> bool {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        decide(
            self.color,
            crate::output::is_stdout(output_file) && std::io::stdout().is_terminal(),
            no_color,
        )
    }
}

/// The decision, apart from the environment.
fn decide(choice: ColorChoice, terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && !no_color,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        assert!(decide(ColorChoice::Auto, true, false));
        assert!(!decide(ColorChoice::Auto, true, true));
        assert!(!decide(ColorChoice::Auto, false, false));
        assert!(decide(ColorChoice::Always, false, true));
        assert!(!decide(ColorChoice::Never, true, false));
    }
}
