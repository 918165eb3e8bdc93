//! What every successful plan must satisfy, whatever the inputs: the promises a hypervisor
//! relies on. `plan()` checks them in debug builds; the tests check them over every hwloc
//! snapshot.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::CpuId;
use crate::plan::GuestPlan;
use crate::topology::HostTopology;

/// Every broken invariant, in words; empty for a sound plan. A failed plan (`error` set) is
/// not checked: it promises nothing.
pub fn check(plan: &GuestPlan, host: &HostTopology) -> Vec<String> {
    let mut broken = Vec::new();
    if plan.error.is_some() {
        return broken;
    }
    let cpuset: BTreeSet<u32> = plan.cpuset.iter().copied().collect();
    let quirk = plan
        .warnings
        .iter()
        .any(|w| w.code == "kubevirt-quirk:partial-core-unpinned");
    // KubeVirt's sibling parser drops ranges (quirk §7.12): each CPU of a core written as
    // "1,3-4" reads as the core [1], so the pool holds CPU 1 once per such CPU and hands it out
    // more than once. Reproduced on purpose, with its warning; the fixed plan has no repeats.
    let ranges_quirk = plan
        .warnings
        .iter()
        .any(|w| w.code == "kubevirt-quirk:sibling-ranges-dropped");

    // every vCPU pinned once, in order, to a CPU of the pod's cpuset, no CPU twice
    let vcpus: Vec<u32> = plan.vcpupin.iter().map(|p| p.0).collect();
    let expected: Vec<u32> = (0..plan.guest.vcpus).collect();
    if !plan.vcpupin.is_empty() && vcpus != expected && !(quirk && expected.starts_with(&vcpus)) {
        broken.push(format!(
            "vCPUs pinned {vcpus:?}, expected each of 0..{} once",
            plan.guest.vcpus
        ));
    }
    let mut used = BTreeSet::new();
    for &(vcpu, cpu) in &plan.vcpupin {
        if !cpuset.contains(&cpu) {
            broken.push(format!("vCPU {vcpu} pinned to CPU {cpu}, outside the pod cpuset"));
        }
        if !used.insert(cpu) && !ranges_quirk {
            broken.push(format!("host CPU {cpu} pinned to two vCPUs"));
        }
    }
    for cpu in plan.emulatorpin.iter().flatten() {
        if !cpuset.contains(cpu) {
            broken.push(format!("emulator pinned to CPU {cpu}, outside the pod cpuset"));
        }
        if used.contains(cpu) && !ranges_quirk {
            broken.push(format!("emulator shares CPU {cpu} with a vCPU"));
        }
    }

    if plan.cells.is_empty() {
        return broken;
    }
    // cells partition the pinned vCPUs, each on its host node
    let pin: BTreeMap<u32, u32> = plan.vcpupin.iter().copied().collect();
    let mut seen = BTreeSet::new();
    for cell in &plan.cells {
        for &v in &cell.vcpus {
            if !seen.insert(v) {
                broken.push(format!("vCPU {v} is in two guest cells"));
            }
            let node = pin
                .get(&v)
                .and_then(|c| host.cpu(CpuId(*c)))
                .and_then(|c| c.node)
                .map(|n| n.0);
            if !node.is_some_and(|n| cell.host_nodes.contains(&n)) {
                broken.push(format!(
                    "vCPU {v} of cell {} runs on host node {node:?}, not {}",
                    cell.id,
                    cell.host_nodes_label()
                ));
            }
        }
    }
    let pinned: BTreeSet<u32> = pin.keys().copied().collect();
    if seen != pinned {
        broken.push(format!("guest cells hold vCPUs {seen:?}, the pins {pinned:?}"));
    }
    // memory: whole pages, summing to the guest's
    let total: u64 = plan.cells.iter().map(|c| c.memory_bytes).sum();
    if total != plan.guest.memory_bytes {
        broken.push(format!(
            "cells hold {total} bytes, the guest {}",
            plan.guest.memory_bytes
        ));
    }
    if let Some(page) = plan.guest.page_size_bytes {
        for cell in plan.cells.iter().filter(|c| c.memory_bytes % page != 0) {
            broken.push(format!(
                "cell {} memory {} is not a whole number of {page}-byte pages",
                cell.id, cell.memory_bytes
            ));
        }
    }
    // numatune and cells agree (the hugepage nodesets are the cell ids by construction)
    match &plan.numatune {
        None => broken.push("guest cells without numatune".into()),
        Some(n) => {
            let memnodes: Vec<(u32, Vec<u32>)> =
                plan.cells.iter().map(|c| (c.id, c.host_nodes.clone())).collect();
            if n.memnodes != memnodes {
                broken.push(format!(
                    "memnodes {:?} disagree with the cells {memnodes:?}",
                    n.memnodes
                ));
            }
            let nodes: BTreeSet<u32> = plan
                .cells
                .iter()
                .flat_map(|c| c.host_nodes.iter().copied())
                .collect();
            if n.nodeset.iter().copied().collect::<BTreeSet<_>>() != nodes {
                broken.push(format!(
                    "numatune nodeset {:?} is not the cells' host nodes {nodes:?}",
                    n.nodeset
                ));
            }
        }
    }
    let ids: Vec<u32> = plan.cells.iter().map(|c| c.id).collect();
    if ids != (0..u32::try_from(ids.len()).unwrap_or(u32::MAX)).collect::<Vec<_>>() {
        broken.push(format!("guest cell ids {ids:?} are not 0..n"));
    }
    broken
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::cpuset::CpuSet;
    use crate::ids::NodeId;
    use crate::plan::{PlanOptions, plan};
    use crate::topology::{Cpu, Node};
    use crate::vmi::{CpuSpec, MemorySpec, Quantity, Vmi};

    /// Found by `tests/properties.rs`: an SMT-3 core whose sibling text has a range
    /// ("1,3-4", as libvirt prints {1,3,4}) made KubeVirt's parser see the core [1] three
    /// times, so two vCPUs were pinned to CPU 1 and `plan()`'s debug check panicked. The plan
    /// reproduces KubeVirt (with the quirk's warning) and the fixed plan pins distinct CPUs.
    #[test]
    fn regression_sibling_range_repeats_a_cpu() {
        let core: CpuSet = [1, 3, 4].into_iter().map(CpuId).collect();
        let cpus = [1, 3, 4]
            .into_iter()
            .map(|id| Cpu {
                id: CpuId(id),
                node: Some(NodeId(0)),
                socket: Some(0),
                die: Some(0),
                core: Some(0),
                l3: None,
                siblings: core.clone(),
                siblings_text: "1,3-4".into(),
                online: true,
            })
            .collect();
        let host = HostTopology {
            nodes: vec![Node {
                id: NodeId(0),
                cpus: vec![CpuId(1), CpuId(3), CpuId(4)],
                memory_bytes: Some(1 << 30),
                memory_free_bytes: None,
                hugepages: vec![],
                distances: None,
            }],
            cpus,
            hugepages_global: vec![],
            allowed: None,
        };
        let vmi = Vmi {
            name: "vm".into(),
            namespace: "default".into(),
            cpu: CpuSpec {
                sockets: 2,
                cores: 1,
                threads: 1,
                dedicated: true,
                ..CpuSpec::default()
            },
            memory: MemorySpec {
                present: true,
                guest: Some(Quantity::parse("1Gi").unwrap()),
                ..MemorySpec::default()
            },
            ..Vmi::default()
        };
        let quirky = plan(&host, &vmi, &[1, 3, 4], &PlanOptions::default());
        assert_eq!(quirky.vcpupin, vec![(0, 1), (1, 1)]);
        assert!(
            quirky
                .warnings
                .iter()
                .any(|w| w.code == "kubevirt-quirk:sibling-ranges-dropped")
        );
        assert_eq!(check(&quirky, &host), Vec::<String>::new());
        let options = PlanOptions {
            fix_quirks: true,
            ..PlanOptions::default()
        };
        let fixed = plan(&host, &vmi, &[1, 3, 4], &options);
        assert_eq!(fixed.vcpupin, vec![(0, 1), (1, 3)]);
        assert_eq!(check(&fixed, &host), Vec::<String>::new());
    }
}
