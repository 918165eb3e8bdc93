//! The kubelet flags `allocate` and `plan` share: its configuration and what other pods hold.

use std::path::PathBuf;

use anyhow::anyhow;
use vnuma::cpuset::CpuSet;
use vnuma::kubelet::allocate::Existing;
use vnuma::kubelet::config::{KubeletConfig, read_cpu_manager_state, read_kubelet_config};
use vnuma::kubelet::memory_manager::MemoryManagerCheckpoint;
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

/// The configuration and the existing allocations.
pub(crate) fn load(args: &KubeletArgs) -> Result<(KubeletConfig, Existing), Failure> {
    let mut config = match &args.kubelet_config {
        Some(path) => {
            let origin = path.display().to_string();
            let text = read_input(&origin).map_err(Failure::input)?;
            crate::validate::check(&origin, || {
                vnuma::kubelet::config_fields::unknown_fields(Source {
                    origin: &origin,
                    text: &text,
                })
                .map_err(Failure::input)
            })?;
            read_kubelet_config(Source {
                origin: &origin,
                text: &text,
            })
            .map_err(Failure::input)?
        }
        None => KubeletConfig::assumed_defaults(),
    };
    if let Some(reserved) = &args.reserved {
        config.reserved_system_cpus = list("--reserved", reserved)?;
        config.reserved_cpu_millis =
            Some(i64::try_from(config.reserved_system_cpus.len()).unwrap_or(i64::MAX) * 1000);
    }
    let mut existing = Existing::default();
    if let Some(allocated) = &args.allocated {
        existing.assigned_cpus = list("--allocated", allocated)?;
    }
    if let Some(path) = &args.cpu_manager_state {
        let origin = path.display().to_string();
        let text = read_input(&origin).map_err(Failure::input)?;
        existing.assigned_cpus = read_cpu_manager_state(&origin, &text).map_err(Failure::input)?;
    }
    if let Some(path) = &args.memory_manager_state {
        let origin = path.display().to_string();
        let text = read_input(&origin).map_err(Failure::input)?;
        existing.memory_checkpoint = Some(
            MemoryManagerCheckpoint::parse(&text).map_err(|e| Failure::input(anyhow!("{origin}: {e}")))?,
        );
    }
    Ok((config, existing))
}

/// One line saying which kubelet was simulated.
pub(crate) fn describe(config: &KubeletConfig) -> String {
    let mut text = format!(
        "cpuManagerPolicy {}, topologyManagerPolicy {} (scope {}), memoryManagerPolicy {}",
        config.cpu_manager_policy,
        config.topology_manager_policy,
        config.topology_manager_scope,
        config.memory_manager_policy
    );
    if !config.cpu_manager_policy_options.is_empty() {
        let options: Vec<String> = config
            .cpu_manager_policy_options
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        text.push_str(&format!(", options {}", options.join(",")));
    }
    if config.assumed {
        text.push_str(" (assumed defaults: no --kubelet-config)");
    }
    text
}
