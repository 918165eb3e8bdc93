//! KubeVirt's mutating webhook defaults that matter for NUMA placement (`pkg/defaults`,
//! `vmi-mutator.go`): architecture, CPU hotplug sockets, guest topology, guest memory and the
//! even-parity annotation.

use crate::k8s::quantity::Quantity;
use crate::vmi::{ClusterConfig, EVEN_PARITY_ANNOTATION, Vmi};

/// The most vCPUs hotplug may ever reach (KubeVirt's cap on `maxSockets`).
const MAX_HOTPLUG_VCPUS: u32 = 512;

/// Applies the defaults in KubeVirt's order.
pub fn apply(vmi: &mut Vmi, cluster: &ClusterConfig) {
    let architecture = vmi
        .architecture
        .get_or_insert_with(|| cluster.default_architecture.clone())
        .clone();

    // SetDefaultGuestCPUTopology: only when all three are unset.
    if vmi.cpu.sockets == 0 && vmi.cpu.cores == 0 && vmi.cpu.threads == 0 {
        let from_resources = vmi
            .resources
            .limits_cpu
            .as_ref()
            .or(vmi.resources.requests_cpu.as_ref())
            .map(Quantity::value)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0);
        vmi.cpu.sockets = from_resources.unwrap_or(1);
        vmi.cpu.cores = 1;
        vmi.cpu.threads = 1;
    }

    // setupCPUHotplug, after the guest topology default (so sockets taken from the CPU request
    // get hotplug too); sockets left 0 because cores or threads are set stay without hotplug.
    if cluster.live_update && architecture != "arm64" && vmi.cpu.max_sockets == 0 && vmi.cpu.sockets != 0 {
        let per_socket = vmi.cpu.cores.max(1).saturating_mul(vmi.cpu.threads.max(1));
        let wanted = match cluster.max_cpu_sockets {
            Some(max) => max,
            None => vmi.cpu.sockets.saturating_mul(cluster.max_hotplug_ratio),
        };
        let cap = (MAX_HOTPLUG_VCPUS / per_socket).max(vmi.cpu.sockets);
        vmi.cpu.max_sockets = wanted.min(cap);
    }

    // Guest memory: requests, then limits, then one hugepage.
    if vmi.memory.guest.is_none() {
        let from_page = vmi
            .memory
            .hugepages
            .as_deref()
            .and_then(|p| Quantity::parse(p).ok());
        let guest = vmi
            .resources
            .requests_memory
            .clone()
            .or_else(|| vmi.resources.limits_memory.clone())
            .or(from_page);
        if guest.is_some() {
            vmi.memory.present = true;
            vmi.memory.guest = guest;
        }
    }

    // vmi-mutator: the even-parity annotation comes from the KubeVirt CR under AlignCPUs.
    if cluster.gate("AlignCPUs")
        && vmi.cpu.isolate_emulator_thread
        && let Some(value) = cluster.annotations.get(EVEN_PARITY_ANNOTATION)
    {
        vmi.annotations
            .insert(EVEN_PARITY_ANNOTATION.to_string(), value.clone());
    }

    // Volume disks, disk targets and buses, the CPU model.
    crate::vmi::devices::apply_defaults(vmi, cluster);
}
