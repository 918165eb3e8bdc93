//! `vnuma pod`: the virt-launcher pod's compute-container resources for a VMI.

use std::path::PathBuf;

use clap::ValueEnum;
use vnuma::report::pod as report;

use crate::vmi_args::{self, VmiArgs};
use crate::{Failure, output};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PodFormat {
    /// A view for people.
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Arguments of `vnuma pod`.
#[derive(Debug, clap::Args)]
pub(crate) struct PodArgs {
    #[command(flatten)]
    input: VmiArgs,
    /// Count the emulator's parity as the launcher does (KubeVirt's renderer can leave the pod
    /// one CPU short with supplemental IOThreads and the even-parity annotation).
    #[arg(long)]
    fix_kubevirt_quirks: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    output: PodFormat,
    /// Write the result to FILE (atomically; `-` is stdout; a new file gets mode 0666 less
    /// the umask, as `>` gives it, a replaced file keeps its mode).
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

pub(crate) fn run(args: &PodArgs) -> Result<(), Failure> {
    let (vmi, cluster) = vmi_args::load(&args.input, None)?;
    let resources = vnuma::vmi::pod::render(&vmi, &cluster, args.fix_kubevirt_quirks);
    if !args.fix_kubevirt_quirks
        && let Some((pod, launcher)) = vnuma::vmi::pod::parity_mismatch(&vmi, &cluster)
    {
        eprintln!(
            "warning: kubevirt-quirk:parity-mismatch: KubeVirt gives the pod {} CPUs but virt-launcher pins {} \
             (supplemental IOThreads counted twice in the emulator's even parity); --fix-kubevirt-quirks renders {}",
            pod / 1000,
            launcher / 1000,
            launcher / 1000
        );
    }
    let notes = vnuma::vmi::pod::notes(&vmi);
    let text = match args.output {
        PodFormat::Table => report::to_table(&vmi.namespace, &vmi.name, &resources, &notes),
        PodFormat::Json => report::to_json(&vmi.namespace, &vmi.name, &resources, &notes),
        PodFormat::Yaml => report::to_yaml(&vmi.namespace, &vmi.name, &resources, &notes),
    };
    output::emit(&text, args.output_file.as_deref()).map_err(Failure::input)
}
