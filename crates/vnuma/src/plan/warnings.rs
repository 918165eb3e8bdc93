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

/// How many items of a long list a warning's message shows; JSON keeps them all in `details`.
pub const SHOWN_ITEMS: usize = 4;

/// The items joined by `; `, or past [`SHOWN_ITEMS`] the first ones and how many more: one
/// warning about a 300-vCPU VM stays one readable line.
fn summary(items: &[String]) -> String {
    match items.get(..SHOWN_ITEMS) {
        Some(shown) if items.len() > SHOWN_ITEMS => format!(
            "{}; … and {} more ({} in all)",
            shown.join("; "),
            items.len() - SHOWN_ITEMS,
            items.len()
        ),
        _ => items.join("; "),
    }
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
            plan.warn_with(
                "guest-core-split",
                format!(
                    "a guest core's threads sit on different host cores, so guest SMT siblings are not host SMT siblings: {}",
                    summary(&split)
                ),
                split,
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
            plan.warn_with(
                "vcpus-share-core",
                format!(
                    "consecutive vCPUs the guest sees as separate cores share one host core (SMT siblings): {}",
                    summary(&shared)
                ),
                shared,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_summarised() {
        let items: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
        assert_eq!(summary(&items[..4]), "p0; p1; p2; p3");
        assert_eq!(summary(&items), "p0; p1; p2; p3; … and 3 more (7 in all)");
        assert_eq!(summary(&[]), "");
    }
}
