//! `vnuma allocate`: what the kubelet would give one Guaranteed container on a host.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::ValueEnum;
use vnuma::kubelet::allocate::{Request, allocate};
use vnuma::report::allocate as report;
use vnuma::vmi::Quantity;

use crate::kubelet_args::{self, KubeletArgs};
use crate::{Failure, HostArgs, host, output};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum AllocateFormat {
    /// A view for people.
    Table,
    /// The JSON document (reference: docs/formats.md in the repository).
    Json,
    /// The same document as YAML.
    Yaml,
}

/// Arguments of `vnuma allocate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Models one Guaranteed container (requests = limits), as virt-launcher's compute \
container is with dedicated CPUs. Kubelet quirks (kubelet-quirk:* codes) are predicted as the \
kubelet behaves; no switch turns them off (unlike --fix-kubevirt-quirks). Exit codes: 0 admitted; \
1 the kubelet rejects the pod (SMTAlignmentError, TopologyAffinityError, UnexpectedAdmissionError, \
or KubeletPanic: the kubelet would crash on it); 2 unusable input or a configuration the kubelet \
would refuse to start with."
)]
pub(crate) struct AllocateArgs {
    #[command(flatten)]
    host: HostArgs,
    /// CPUs: an integer gets exclusive CPUs under the static policy, a fraction the shared pool.
    #[arg(long, value_name = "N")]
    cpus: String,
    /// Memory (a Kubernetes quantity).
    #[arg(long, value_name = "Q", default_value = "0")]
    memory: String,
    /// Hugepages per page size, e.g. `2Mi=64Mi` (repeatable).
    #[arg(long, value_name = "SIZE=Q")]
    hugepages: Vec<String>,
    #[command(flatten)]
    kubelet: KubeletArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    output: AllocateFormat,
    /// Write the result to FILE (atomically; `-` is stdout; a new file gets mode 0666 less
    /// the umask, as `>` gives it, a replaced file keeps its mode).
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

fn quantity(flag: &str, text: &str) -> Result<Quantity, Failure> {
    let q = Quantity::parse(text.trim()).map_err(|e| Failure::input(anyhow!("{flag} {text:?}: {e}")))?;
    if q.is_negative() {
        return Err(Failure::input(anyhow!(
            "{flag} {text:?}: must be greater than or equal to 0"
        )));
    }
    Ok(q)
}

fn request(args: &AllocateArgs) -> Result<Request, Failure> {
    let cpu = quantity("--cpus", &args.cpus)?;
    let memory = quantity("--memory", &args.memory)?;
    let mut hugepages = BTreeMap::new();
    for item in &args.hugepages {
        let (size, amount) = item.split_once('=').ok_or_else(|| {
            Failure::input(anyhow!(
                "--hugepages {item:?}: expected SIZE=QUANTITY, e.g. 2Mi=64Mi"
            ))
        })?;
        quantity("--hugepages", size)?;
        let bytes = quantity("--hugepages", amount)?.bytes().unwrap_or(0);
        hugepages.insert(format!("hugepages-{}", size.trim()), bytes);
    }
    Ok(Request {
        cpu_millis: cpu.milli_value(),
        memory: memory.bytes().unwrap_or(0),
        hugepages,
    })
}

/// The contract's JSON document.
pub(crate) fn run(args: &AllocateArgs) -> Result<(), Failure> {
    let request = request(args)?;
    let (config, existing) = kubelet_args::load(&args.kubelet)?;
    let loaded = host::load(args.host.host.as_deref()).map_err(Failure::input)?;
    let allocation = allocate(&loaded.host, &config, &request, &existing).map_err(Failure::input)?;
    let text = match args.output {
        AllocateFormat::Json => report::to_json(&allocation, &config),
        AllocateFormat::Yaml => report::to_yaml(&allocation, &config),
        AllocateFormat::Table => report::to_table(&allocation, &config, &request, &loaded.label),
    };
    output::emit(&text, args.output_file.as_deref()).map_err(Failure::input)?;
    match &allocation.error {
        Some((reason, message)) => Err(Failure::cannot_run(anyhow!(
            "the kubelet rejects the pod: {reason}: {message}"
        ))),
        None => Ok(()),
    }
}
