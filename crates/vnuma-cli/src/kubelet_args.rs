//! The kubelet flags `allocate` and `plan` share: its configuration and what other pods hold.

use std::path::PathBuf;

use anyhow::anyhow;
use vnuma::cpuset::CpuSet;
use vnuma::kubelet::allocate::Existing;
use vnuma::kubelet::config::KubeletConfig;
use vnuma::pipeline::KubeletSources;
use vnuma::vmi::input::Source;

use crate::Failure;
use crate::host::read_input;

/// Kubelet configuration and existing allocations.
#[derive(Debug, clap::Args)]
pub(crate) struct KubeletArgs {
    /// A KubeletConfiguration (kubelet.config.k8s.io/v1beta1). Without it: the static CPU
    /// Manager, Topology Manager none (scope container), Memory Manager None and one reserved
    /// CPU; with it, every omitted field takes the kubelet's own default.
    #[arg(long, value_name = "FILE")]
    kubelet_config: Option<PathBuf>,
    /// reservedSystemCPUs, overriding the configuration's.
    #[arg(long, value_name = "LIST")]
    reserved: Option<String>,
    /// Exclusive CPUs other containers already hold.
    #[arg(long, value_name = "LIST", conflicts_with = "cpu_manager_state")]
    allocated: Option<String>,
    /// The kubelet's cpu_manager_state checkpoint (its checksum is not verified).
    #[arg(long, value_name = "FILE")]
    cpu_manager_state: Option<PathBuf>,
    /// The kubelet's memory_manager_state checkpoint (its checksum is not verified).
    #[arg(long, value_name = "FILE")]
    memory_manager_state: Option<PathBuf>,
}

fn list(flag: &str, text: &str) -> Result<CpuSet, Failure> {
    CpuSet::parse_list(text).map_err(|e| Failure::input(anyhow!("{flag}: invalid cpu list {text:?}: {e}")))
}

/// The configuration and the existing allocations: the files read here, the rest is
/// [`vnuma::pipeline::load_kubelet`].
pub(crate) fn load(args: &KubeletArgs) -> Result<(KubeletConfig, Existing), Failure> {
    let read = |path: &PathBuf| -> Result<(String, String), Failure> {
        let origin = path.display().to_string();
        let text = read_input(&origin).map_err(Failure::input)?;
        Ok((origin, text))
    };
    let config = args.kubelet_config.as_ref().map(read).transpose()?;
    if let Some((origin, text)) = &config {
        crate::validate::check(origin, || {
            vnuma::kubelet::config_fields::unknown_fields(Source { origin, text }).map_err(Failure::input)
        })?;
    }
    let cpu_state = args.cpu_manager_state.as_ref().map(read).transpose()?;
    let memory_state = args.memory_manager_state.as_ref().map(read).transpose()?;
    let sources = KubeletSources {
        config: source(&config),
        reserved: args
            .reserved
            .as_deref()
            .map(|l| list("--reserved", l))
            .transpose()?,
        allocated: args
            .allocated
            .as_deref()
            .map(|l| list("--allocated", l))
            .transpose()?,
        cpu_manager_state: source(&cpu_state),
        memory_manager_state: source(&memory_state),
    };
    vnuma::pipeline::load_kubelet(&sources).map_err(Failure::input)
}

/// A file read as a [`Source`].
fn source(file: &Option<(String, String)>) -> Option<Source<'_>> {
    file.as_ref().map(|(origin, text)| Source { origin, text })
}

/// One line saying which kubelet was simulated.
pub(crate) fn describe(config: &KubeletConfig) -> String {
    config.describe()
}
