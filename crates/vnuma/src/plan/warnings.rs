//! Warnings a person should see about a plan that KubeVirt would run without a word.

use std::collections::BTreeSet;

use crate::ids::CpuId;
use crate::plan::GuestPlan;
use crate::topology::HostTopology;

fn node_of(host: &HostTopology, cpu: u32) -> Option<u32> {
    host.cpu(CpuId(cpu)).and_then(|c| c.node).map(|n| n.0)
}

fn siblings(host: &HostTopology, a: u32, b: u32) -> bool {
    host.cpu(CpuId(a)).is_some_and(|c| c.siblings.contains(CpuId(b)))
}

/// Adds the warnings that apply.
pub fn add(plan: &mut GuestPlan, host: &HostTopology) {
    let shapes: BTreeSet<(usize, u64)> = plan
        .cells
        .iter()
        .map(|c| (c.vcpus.len(), c.memory_bytes))
        .collect();
    if shapes.len() > 1 {
        let desc: Vec<String> = plan
            .cells
            .iter()
            .map(|c| {
                format!(
                    "cell {} has {} vCPUs and {} MiB",
                    c.id,
                    c.vcpus.len(),
                    c.memory_bytes >> 20
                )
            })
            .collect();
        plan.warn(
            "asymmetric-cells",
            format!("the guest NUMA cells are not alike: {}", desc.join(", ")),
        );
    }
    if plan.cells.len() > 1 && plan.guest.sockets < u32::try_from(plan.cells.len()).unwrap_or(u32::MAX) {
        plan.warn(
            "socket-spans-cells",
            format!(
                "the guest sees {} socket(s) split across {} NUMA cells (guest sockets do not line up with guest NUMA nodes)",
                plan.guest.sockets,
                plan.cells.len()
            ),
        );
    }
    let threads = usize::try_from(plan.guest.threads).unwrap_or(1).max(1);
    let pinned: Vec<u32> = plan.vcpupin.iter().map(|p| p.1).collect();
    if threads > 1 {
        let split: Vec<String> = pinned
            .chunks(threads)
            .enumerate()
            .filter(|(_, core)| core.iter().any(|&t| !siblings(host, core[0], t)))
            .map(|(i, core)| {
                format!(
                    "guest core {i} on host CPUs {}",
                    core.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        if !split.is_empty() {
            plan.warn(
                "guest-core-split",
                format!(
                    "a guest core's threads sit on different host cores, so guest SMT siblings are not host SMT siblings: {}",
                    split.join("; ")
                ),
            );
        }
    } else {
        let shared: Vec<String> = plan
            .vcpupin
            .windows(2)
            .filter(|w| siblings(host, w[0].1, w[1].1))
            .map(|w| {
                format!(
                    "vCPUs {} and {} on host CPUs {} and {}",
                    w[0].0, w[1].0, w[0].1, w[1].1
                )
            })
            .collect();
        if !shared.is_empty() {
            plan.warn(
                "vcpus-share-core",
                format!(
                    "consecutive vCPUs the guest sees as separate cores share one host core (SMT siblings): {}",
                    shared.join("; ")
                ),
            );
        }
    }
    if let Some(emulator) = &plan.emulatorpin {
        let vcpu_nodes: BTreeSet<u32> = pinned.iter().filter_map(|&c| node_of(host, c)).collect();
        let other: Vec<String> = emulator
            .iter()
            .filter(|&&c| node_of(host, c).is_some_and(|n| !vcpu_nodes.contains(&n)))
            .map(|&c| format!("CPU {c} on host node {}", node_of(host, c).unwrap_or(0)))
            .collect();
        if !other.is_empty() {
            plan.warn(
                "emulator-other-node",
                format!(
                    "the emulator thread runs on a node that holds no vCPU: {}",
                    other.join(", ")
                ),
            );
        }
    }
}
