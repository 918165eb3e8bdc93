//! `--validate=strict|warn|ignore` (kubectl's spelling) and `--strict`: what to do with fields
//! no KubeVirt object or KubeletConfiguration has. The library finds them; this decides.

use std::sync::OnceLock;

use anyhow::anyhow;
use clap::ValueEnum;

use crate::Failure;

/// How unknown fields are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum Validation {
    /// An unknown field is an error (exit 2), every one named.
    Strict,
    /// Each unknown field is a warning on stderr, with the nearest known field.
    #[default]
    Warn,
    /// Unknown fields are not looked for.
    Ignore,
}

/// The global flags.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Unknown fields in the YAML inputs (judged by KubeVirt's published schema and the
    /// kubelet's v1beta1 KubeletConfiguration): `strict` refuses them (exit 2), `warn` names
    /// each on stderr with the nearest known field, `ignore` does not look.
    #[arg(long, global = true, value_enum, default_value = "warn", value_name = "MODE")]
    validate: Validation,
    /// Short for --validate=strict.
    #[arg(long, global = true)]
    strict: bool,
}

static MODE: OnceLock<Validation> = OnceLock::new();

/// Records the mode for this run (called once, from `main`).
pub(crate) fn set(args: &ValidateArgs) {
    let mode = if args.strict {
        Validation::Strict
    } else {
        args.validate
    };
    let _ = MODE.set(mode);
}

/// Applies the mode to the unknown fields `find` reports for one input.
pub(crate) fn check(
    origin: &str,
    find: impl FnOnce() -> Result<Vec<String>, Failure>,
) -> Result<(), Failure> {
    let mode = MODE.get().copied().unwrap_or_default();
    if mode == Validation::Ignore {
        return Ok(());
    }
    let fields = find()?;
    if fields.is_empty() {
        return Ok(());
    }
    if mode == Validation::Strict {
        return Err(Failure::input(anyhow!(
            "{origin}: {} unknown field(s) (--validate=strict refuses them):\n  {}",
            fields.len(),
            fields.join("\n  ")
        )));
    }
    for field in fields {
        eprintln!("warning: {origin}: {field}");
    }
    Ok(())
}
