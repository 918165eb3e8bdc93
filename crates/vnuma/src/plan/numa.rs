//! `numaMapping` (behaviour reference §1.10): one guest cell per host cell that holds vCPUs,
//! guest memory split in whole hugepages with the remainder to the first cells, strict
//! numatune memnodes, and host distances passed through (KubeVirt main), with vnuma's
//! correction for distances libvirt would reject.

use std::collections::BTreeMap;

use crate::plan::pool::KvTopology;
use crate::plan::{Cell, FailureReason, GuestPlan, KubevirtVersion, Numatune, PlanOptions};
use crate::vmi::{Quantity, Vmi};

/// Which quirks the mapping hit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    /// The host had no cells (quirk §7.5).
    pub no_topology: bool,
    /// The "not enough memory" message was printed (quirk §7.8).
    pub misscaled: bool,
}

/// Maps the pinned vCPUs to guest cells. `quirk_no_topology` keeps KubeVirt's silent success
/// on a host without cells; `quirk_misscaled` keeps its wrongly scaled message.
pub fn map(
    plan: &mut GuestPlan,
    vmi: &Vmi,
    view: &KvTopology,
    options: &PlanOptions,
    quirk_no_topology: bool,
    quirk_misscaled: bool,
) -> Outcome {
    let mut outcome = Outcome::default();
    if view.cells.is_empty() {
        outcome.no_topology = true;
        if !quirk_no_topology {
            plan.fail(
                FailureReason::NumaMapping,
                "the host reports no NUMA cells, so there is no NUMA topology to pass through to the guest"
                    .into(),
            );
        }
        return outcome;
    }
    let fail = |plan: &mut GuestPlan, message: String| plan.fail(FailureReason::NumaMapping, message);

    // host cpu -> host cell, and host cell -> vCPUs in vcpupin order
    let cell_of: BTreeMap<u32, u32> = view
        .cells
        .iter()
        .flat_map(|c| c.cpus.iter().map(move |cpu| (cpu.id, c.id)))
        .collect();
    let mut numamap: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(vcpu, cpu) in &plan.vcpupin {
        let Some(&cell) = cell_of.get(&cpu) else {
            fail(
                plan,
                format!(
                    "failed to generate numa pinning information: vcpu {vcpu} is mapped to a not existing host cpu set {cpu}"
                ),
            );
            return outcome;
        };
        numamap.entry(cell).or_default().push(vcpu);
    }
    let involved: Vec<u32> = view
        .cells
        .iter()
        .map(|c| c.id)
        .filter(|id| numamap.contains_key(id))
        .collect();
    let guest_id: BTreeMap<u32, u32> = involved.iter().copied().zip(0u32..).collect();

    let Some(page_text) = vmi.memory.hugepages.as_deref() else {
        fail(
            plan,
            "passing through a numa topology is restricted to VMIs with hugepages enabled".into(),
        );
        return outcome;
    };
    let page = match Quantity::parse(page_text) {
        Ok(q) => q,
        Err(e) => {
            fail(
                plan,
                format!(
                    "failed to determine if hugepages are enabled: could not parse hugepage value {page_text}: {e}"
                ),
            );
            return outcome;
        }
    };
    let Some(page_bytes) = u64::try_from(page.value()).ok().filter(|&b| b > 0) else {
        fail(
            plan,
            format!(
                "failed to determine if hugepages are enabled: could not convert page size to MiB {page_text}: the page size must be positive"
            ),
        );
        return outcome;
    };
    plan.allocation_immediate = true;
    plan.numatune = Some(Numatune {
        nodeset: involved.clone(),
        memnodes: involved.iter().map(|h| (guest_id[h], *h)).collect(),
    });

    let memory = vmi.virtual_memory().map_or(0, Quantity::value);
    let Ok(memory) = u64::try_from(memory) else {
        fail(
            plan,
            format!(
                "could not convert VMI memory to quantity: Memory size '{memory}' must be greater than or equal to 0"
            ),
        );
        return outcome;
    };
    if involved.is_empty() {
        // no pinned vCPU, no cell to map (admission requires dedicated CPUs; KubeVirt would
        // divide by zero below)
        fail(
            plan,
            "passing through a numa topology needs pinned vCPUs: none are pinned (dedicatedCpuPlacement is off)".into(),
        );
        return outcome;
    }
    let k = u64::try_from(involved.len()).unwrap_or(u64::MAX);
    if memory < k.saturating_mul(page_bytes) {
        outcome.misscaled = true;
        let second = if quirk_misscaled {
            k.saturating_mul(page_bytes).saturating_mul(1_048_576)
        } else {
            k.saturating_mul(page_bytes)
        };
        fail(
            plan,
            format!(
                "not enough memory requested to allocate at least one hugepage per numa node: {{{memory} b}} < {second}"
            ),
        );
        return outcome;
    }
    if memory % page_bytes != 0 {
        fail(
            plan,
            format!(
                "requested memory can't be divided through the numa page size: {{{memory} b}} mod {page_bytes} != 0"
            ),
        );
        return outcome;
    }
    let leftover_pages = (memory % (page_bytes * k)) / page_bytes;
    let base = (memory - leftover_pages * page_bytes) / k;

    let with_distances = options.kubevirt_version == KubevirtVersion::Main;
    for (g, host) in (0u32..).zip(&involved) {
        let cell = view.cells.iter().find(|c| c.id == *host);
        let distances = cell.filter(|_| with_distances).and_then(|c| {
            let kept: Vec<(u32, u32)> = c
                .distances
                .iter()
                .filter_map(|(h, v)| guest_id.get(h).map(|gid| (*gid, *v)))
                .collect();
            (!kept.is_empty()).then_some(kept)
        });
        plan.cells.push(Cell {
            id: g,
            host_node: *host,
            vcpus: numamap.get(host).cloned().unwrap_or_default(),
            memory_bytes: base
                + if u64::from(g) < leftover_pages {
                    page_bytes
                } else {
                    0
                },
            distances,
        });
    }
    if vmi.cpu.realtime.is_some() {
        plan.nosharepages = true;
    }
    drop_invalid_distances(plan);
    outcome
}

/// libvirt refuses a self distance other than 10, a remote distance of 10 and values outside
/// 10..=255: KubeVirt would pass them through and the VM would not start. vnuma leaves the
/// distances out for the whole VM and says which host nodes are at fault.
fn drop_invalid_distances(plan: &mut GuestPlan) {
    let mut bad = Vec::new();
    for cell in &plan.cells {
        for &(to, value) in cell.distances.iter().flatten() {
            let valid = (10..=255).contains(&value) && ((to == cell.id) == (value == 10));
            if !valid {
                let to_host = plan.cells.iter().find(|c| c.id == to).map_or(to, |c| c.host_node);
                bad.push(format!("{}->{}={}", cell.host_node, to_host, value));
            }
        }
    }
    if !bad.is_empty() {
        for cell in &mut plan.cells {
            cell.distances = None;
        }
        plan.warn(
            "distances-invalid",
            format!(
                "host distances libvirt would reject ({}): guest distances are left out",
                bad.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::plan::{FailureReason, PlanOptions, plan};
    use crate::topology::examples::example;
    use crate::vmi::{Quantity, Vmi};

    /// Found by the `pipeline` fuzz target (`fuzz/regressions/pipeline/`): passthrough without
    /// dedicated CPUs (a VMI admission would refuse) pins no vCPU, involves no cell, and the
    /// memory split divided by zero. Now a `numa-mapping` failure.
    #[test]
    fn regression_fuzz_passthrough_without_pins() {
        let host = example("dual-socket").unwrap();
        let mut vmi = Vmi {
            name: "vm".into(),
            namespace: "default".into(),
            ..Vmi::default()
        };
        vmi.cpu.sockets = 1;
        vmi.cpu.cores = 2;
        vmi.cpu.threads = 1;
        vmi.cpu.passthrough = true;
        vmi.cpu.numa = true;
        vmi.memory.hugepages = Some("2Mi".into());
        vmi.memory.guest = Some(Quantity::parse("1Gi").unwrap());
        let cpus: Vec<u32> = host.online_cpus().iter().map(|c| c.0).collect();
        let result = plan(&host, &vmi, &cpus, &PlanOptions::default());
        let error = result.error.unwrap();
        assert_eq!(error.reason, FailureReason::NumaMapping);
        assert!(error.message.contains("needs pinned vCPUs"), "{}", error.message);
    }
}
