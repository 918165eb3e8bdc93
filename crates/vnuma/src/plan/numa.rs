//! `numaMapping` (behaviour reference §1.10) in steps: a [`GuestLayout`] chooses the guest
//! cells (passthrough: one per host node holding vCPUs), [`page_size`] reads the hugepage
//! size, [`numatune`] binds each cell strictly to its host nodes, [`split_memory`] splits the
//! guest memory in whole hugepages with the remainder to the first cells, and
//! [`guest_distances`] passes host distances through (KubeVirt main), with vnuma's correction
//! for distances libvirt would reject. [`map`] runs them in KubeVirt's order of checks.

use std::collections::BTreeMap;

use crate::plan::layout::{ChosenCell, GuestLayout};
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

/// Maps the pinned vCPUs to guest cells as `layout` chooses them. `quirk_no_topology` keeps
/// KubeVirt's silent success on a host without cells; `quirk_misscaled` keeps its wrongly
/// scaled message.
pub fn map(
    plan: &mut GuestPlan,
    layout: GuestLayout,
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

    let chosen = match layout.cells(plan, view) {
        Ok(chosen) => chosen,
        Err(message) => {
            fail(plan, message);
            return outcome;
        }
    };
    let page_bytes = match page_size(vmi) {
        Ok(bytes) => bytes,
        Err(message) => {
            fail(plan, message);
            return outcome;
        }
    };
    plan.allocation_immediate = true;
    plan.numatune = Some(numatune(&chosen, view));

    let memory = match guest_memory(vmi) {
        Ok(memory) => memory,
        Err(message) => {
            fail(plan, message);
            return outcome;
        }
    };
    let sizes = match split_memory(memory, page_bytes, chosen.len(), quirk_misscaled) {
        Ok(sizes) => sizes,
        Err(SplitError { message, misscaled }) => {
            outcome.misscaled = misscaled;
            fail(plan, message);
            return outcome;
        }
    };

    let with_distances = options.kubevirt_version == KubevirtVersion::Main;
    let distances = guest_distances(&chosen, view, with_distances);
    for (((g, cell), memory_bytes), distances) in (0u32..).zip(chosen).zip(sizes).zip(distances) {
        plan.cells.push(Cell {
            id: g,
            host_nodes: cell.host_nodes,
            vcpus: cell.vcpus,
            memory_bytes,
            distances,
        });
    }
    if vmi.cpu.realtime.is_some() {
        plan.nosharepages = true;
    }
    drop_invalid_distances(plan);
    outcome
}

/// The hugepage size in bytes: KubeVirt passes a topology through only with hugepages.
///
/// # Errors
/// KubeVirt's messages: no hugepages, a size it cannot parse, a size that is not positive.
pub fn page_size(vmi: &Vmi) -> Result<u64, String> {
    let Some(page_text) = vmi.memory.hugepages.as_deref() else {
        return Err("passing through a numa topology is restricted to VMIs with hugepages enabled".into());
    };
    let page = Quantity::parse(page_text).map_err(|e| {
        format!(
            "failed to determine if hugepages are enabled: could not parse hugepage value {page_text}: {e}"
        )
    })?;
    u64::try_from(page.value()).ok().filter(|&b| b > 0).ok_or_else(|| {
        format!(
            "failed to determine if hugepages are enabled: could not convert page size to MiB {page_text}: the page size must be positive"
        )
    })
}

/// `<numatune>`: the memory nodeset is every host node a cell is bound to, in topology order;
/// each guest cell gets a strict memnode on its host nodes.
pub fn numatune(cells: &[ChosenCell], view: &KvTopology) -> Numatune {
    let bound = |id: u32| cells.iter().any(|c| c.host_nodes.contains(&id));
    Numatune {
        nodeset: view.cells.iter().map(|c| c.id).filter(|&id| bound(id)).collect(),
        memnodes: (0u32..)
            .zip(cells)
            .map(|(g, c)| (g, c.host_nodes.clone()))
            .collect(),
    }
}

/// The guest memory in bytes.
///
/// # Errors
/// KubeVirt's message for a negative size.
fn guest_memory(vmi: &Vmi) -> Result<u64, String> {
    let memory = vmi.virtual_memory().map_or(0, Quantity::value);
    u64::try_from(memory).map_err(|_| {
        format!(
            "could not convert VMI memory to quantity: Memory size '{memory}' must be greater than or equal to 0"
        )
    })
}

/// Why the memory cannot be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// The message (KubeVirt's where the failure is KubeVirt's).
    pub message: String,
    /// The "not enough memory" message was printed (quirk §7.8).
    pub misscaled: bool,
}

/// KubeVirt's split of `memory` bytes over `cells` guest cells: the same whole number of
/// pages each, the remaining pages one each to the first cells. `quirk_misscaled` keeps
/// KubeVirt's wrongly scaled "not enough memory" message.
///
/// # Errors
/// No cell (no pinned vCPU), less than a page per cell, or memory not a whole number of pages.
pub fn split_memory(
    memory: u64,
    page_bytes: u64,
    cells: usize,
    quirk_misscaled: bool,
) -> Result<Vec<u64>, SplitError> {
    let plain = |message: String| SplitError {
        message,
        misscaled: false,
    };
    if cells == 0 {
        // no pinned vCPU, no cell to map (admission requires dedicated CPUs; KubeVirt would
        // divide by zero below)
        return Err(plain(
            "passing through a numa topology needs pinned vCPUs: none are pinned (dedicatedCpuPlacement is off)".into(),
        ));
    }
    let k = u64::try_from(cells).unwrap_or(u64::MAX);
    if memory < k.saturating_mul(page_bytes) {
        let second = if quirk_misscaled {
            k.saturating_mul(page_bytes).saturating_mul(1_048_576)
        } else {
            k.saturating_mul(page_bytes)
        };
        return Err(SplitError {
            message: format!(
                "not enough memory requested to allocate at least one hugepage per numa node: {{{memory} b}} < {second}"
            ),
            misscaled: true,
        });
    }
    if !memory.is_multiple_of(page_bytes) {
        return Err(plain(format!(
            "requested memory can't be divided through the numa page size: {{{memory} b}} mod {page_bytes} != 0"
        )));
    }
    let leftover_pages = (memory % (page_bytes * k)) / page_bytes;
    let base = (memory - leftover_pages * page_bytes) / k;
    Ok((0..k)
        .map(|g| base + if g < leftover_pages { page_bytes } else { 0 })
        .collect())
}

/// Guest distances from the host's (KubeVirt main; none when `with_distances` is off, as in
/// v1.9 and earlier): a cell on one host node gets that node's distances to the nodes of the
/// other one-node cells, by guest id, in the host's sibling order; `None` when none remain.
/// A cell on several host nodes gets none (no host row says how far a set is).
pub fn guest_distances(
    cells: &[ChosenCell],
    view: &KvTopology,
    with_distances: bool,
) -> Vec<Option<Vec<(u32, u32)>>> {
    let single = |c: &ChosenCell| match c.host_nodes.as_slice() {
        [node] => Some(*node),
        _ => None,
    };
    let guest_id: BTreeMap<u32, u32> = (0u32..)
        .zip(cells)
        .filter_map(|(g, c)| single(c).map(|h| (h, g)))
        .collect();
    cells
        .iter()
        .map(|c| {
            let host = single(c).filter(|_| with_distances)?;
            let row = view.cells.iter().find(|v| v.id == host)?;
            let kept: Vec<(u32, u32)> = row
                .distances
                .iter()
                .filter_map(|(h, v)| guest_id.get(h).map(|gid| (*gid, *v)))
                .collect();
            (!kept.is_empty()).then_some(kept)
        })
        .collect()
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
                let to_host = plan
                    .cells
                    .iter()
                    .find(|c| c.id == to)
                    .map_or_else(|| to.to_string(), super::Cell::host_nodes_label);
                bad.push(format!("{}->{}={}", cell.host_nodes_label(), to_host, value));
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
