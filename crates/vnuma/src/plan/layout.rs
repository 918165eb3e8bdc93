//! Which guest NUMA cells a VM gets: the policy step of `numaMapping`. Passthrough
//! (KubeVirt's `guestMappingPassthrough`) is the only policy today; another layout is another
//! [`GuestLayout`] variant with its own [`GuestLayout::cells`], and the steps after it (memory
//! split, numatune, distances in [`crate::plan::numa`]) stay as they are.

use std::collections::BTreeMap;

use crate::plan::GuestPlan;
use crate::plan::pool::KvTopology;
use crate::vmi::Vmi;

/// A guest layout policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestLayout {
    /// `guestMappingPassthrough`: one guest cell per host node holding vCPUs, in topology
    /// order, each on that one node.
    Passthrough,
}

/// One guest cell as a policy chooses it; its id is its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenCell {
    /// The host nodes its memory is bound to, ascending (never empty).
    pub host_nodes: Vec<u32>,
    /// Its vCPUs, in vcpupin order.
    pub vcpus: Vec<u32>,
}

impl GuestLayout {
    /// The layout the VMI asks for, `None` when it asks for no guest NUMA topology.
    pub fn from_vmi(vmi: &Vmi) -> Option<GuestLayout> {
        vmi.cpu.passthrough.then_some(GuestLayout::Passthrough)
    }

    /// Chooses the guest cells from the pinned vCPUs (`plan.vcpupin`) on the host as KubeVirt
    /// reads it. Empty when no vCPU is pinned.
    ///
    /// # Errors
    /// KubeVirt's message when a vCPU is pinned to a CPU the host does not have.
    pub fn cells(self, plan: &GuestPlan, view: &KvTopology) -> Result<Vec<ChosenCell>, String> {
        match self {
            GuestLayout::Passthrough => passthrough_cells(plan, view),
        }
    }
}

/// vCPUs grouped by the host node of their pinned CPU, one cell per node holding vCPUs, in
/// topology order (KubeVirt's `numamap` and `involvedCells`).
fn passthrough_cells(plan: &GuestPlan, view: &KvTopology) -> Result<Vec<ChosenCell>, String> {
    let cell_of: BTreeMap<u32, u32> = view
        .cells
        .iter()
        .flat_map(|c| c.cpus.iter().map(move |cpu| (cpu.id, c.id)))
        .collect();
    let mut numamap: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(vcpu, cpu) in &plan.vcpupin {
        let Some(&cell) = cell_of.get(&cpu) else {
            return Err(format!(
                "failed to generate numa pinning information: vcpu {vcpu} is mapped to a not existing host cpu set {cpu}"
            ));
        };
        numamap.entry(cell).or_default().push(vcpu);
    }
    Ok(view
        .cells
        .iter()
        .filter_map(|c| {
            numamap.get(&c.id).map(|vcpus| ChosenCell {
                host_nodes: vec![c.id],
                vcpus: vcpus.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests;
