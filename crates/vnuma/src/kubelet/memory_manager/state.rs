//! The Memory Manager's machine state (`pkg/kubelet/cm/memorymanager/state/state.go`:
//! `MemoryTable`, `NUMANodeState`, `NUMANodeMap`, `Block`, `ContainerMemoryAssignments`), and
//! the default state the static policy builds from the machine (`getDefaultMachineState` of
//! `policy_static.go`) with the group rule its hints and allocations share.

use std::collections::BTreeMap;

use super::{MEMORY, MemoryManagerError, hugepage_resource};
use crate::kubelet::topology::NodeMask;
use crate::topology::HostTopology;

/// `MemoryTable`: one resource on one node, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryTable {
    /// `TotalMemSize`.
    pub total: u64,
    /// `SystemReserved`.
    pub system_reserved: u64,
    /// `Allocatable`.
    pub allocatable: u64,
    /// `Reserved`: given to containers.
    pub reserved: u64,
    /// `Free`.
    pub free: u64,
}

/// `NUMANodeState`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeState {
    /// `NumberOfAssignments`: blocks using the node (one per resource per container).
    pub number_of_assignments: u64,
    /// `MemoryMap`: resource → table.
    pub memory_map: BTreeMap<String, MemoryTable>,
    /// `Cells`: the node's group (`[node]` when it has none).
    pub cells: Vec<u32>,
}

/// `NUMANodeMap`: the machine state, node id → state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MachineState {
    /// Per node.
    pub nodes: BTreeMap<u32, NodeState>,
}

/// A node's memory as cadvisor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeMemory {
    /// The node's memory in bytes (`MemTotal` of the node).
    pub memory_bytes: u64,
    /// Hugepage pools: (page size in bytes, total pages).
    pub hugepages: Vec<(u64, u64)>,
}

/// The host's nodes as the Memory Manager sees them (every node the source lists; unknown
/// memory counts 0).
pub fn nodes_from_host(host: &HostTopology) -> BTreeMap<u32, NodeMemory> {
    host.nodes
        .iter()
        .map(|n| {
            (
                n.id.0,
                NodeMemory {
                    memory_bytes: n.memory_bytes.unwrap_or(0),
                    hugepages: n.hugepages.iter().map(|p| (p.page_size_bytes, p.total)).collect(),
                },
            )
        })
        .collect()
}

pub(super) fn check_reserved_nodes(
    nodes: &BTreeMap<u32, NodeMemory>,
    reserved: &BTreeMap<u32, BTreeMap<String, u64>>,
) -> Result<(), MemoryManagerError> {
    match reserved.keys().find(|n| !nodes.contains_key(n)) {
        Some(&n) => Err(MemoryManagerError::UnknownReservedNode(n)),
        None => Ok(()),
    }
}

impl MachineState {
    /// `getDefaultMachineState`: per node, each hugepage pool (`total = pages × size`,
    /// `allocatable = total − reserved`) and `memory` (`allocatable = node memory − Σ hugepage
    /// totals − reserved`), nothing assigned, `cells = [node]`. Reservations of a resource the
    /// node lacks are ignored.
    ///
    /// # Errors
    /// [`MemoryManagerError::UnknownReservedNode`]; vnuma's
    /// [`MemoryManagerError::ReservedExceedsCapacity`] / [`MemoryManagerError::CapacityOverflow`].
    pub fn new(
        nodes: &BTreeMap<u32, NodeMemory>,
        reserved: &BTreeMap<u32, BTreeMap<String, u64>>,
    ) -> Result<Self, MemoryManagerError> {
        check_reserved_nodes(nodes, reserved)?;
        let mut state = MachineState::default();
        for (&id, node) in nodes {
            let reserved_of = |r: &str| reserved.get(&id).and_then(|m| m.get(r)).copied().unwrap_or(0);
            let overflow = MemoryManagerError::CapacityOverflow { node: id };
            let mut memory_map = BTreeMap::new();
            let mut hugepages_total = 0u64;
            for &(size, pages) in &node.hugepages {
                let resource = hugepage_resource(size);
                let total = size.checked_mul(pages).ok_or_else(|| overflow.clone())?;
                hugepages_total = hugepages_total
                    .checked_add(total)
                    .ok_or_else(|| overflow.clone())?;
                let system_reserved = reserved_of(&resource);
                let allocatable = total.checked_sub(system_reserved).ok_or_else(|| {
                    MemoryManagerError::ReservedExceedsCapacity {
                        node: id,
                        resource: resource.clone(),
                        reserved: system_reserved,
                        capacity: total,
                    }
                })?;
                memory_map.insert(
                    resource,
                    MemoryTable {
                        total,
                        system_reserved,
                        allocatable,
                        reserved: 0,
                        free: allocatable,
                    },
                );
            }
            let system_reserved = reserved_of(MEMORY);
            let capacity = node.memory_bytes.saturating_sub(hugepages_total);
            let allocatable = node
                .memory_bytes
                .checked_sub(hugepages_total)
                .and_then(|m| m.checked_sub(system_reserved))
                .ok_or_else(|| MemoryManagerError::ReservedExceedsCapacity {
                    node: id,
                    resource: MEMORY.to_owned(),
                    reserved: system_reserved,
                    capacity,
                })?;
            memory_map.insert(
                MEMORY.to_owned(),
                MemoryTable {
                    total: node.memory_bytes,
                    system_reserved,
                    allocatable,
                    reserved: 0,
                    free: allocatable,
                },
            );
            state.nodes.insert(
                id,
                NodeState {
                    number_of_assignments: 0,
                    memory_map,
                    cells: vec![id],
                },
            );
        }
        Ok(state)
    }

    pub(super) fn sum(&self, mask: NodeMask, resource: &str, field: fn(&MemoryTable) -> u64) -> u128 {
        mask.nodes()
            .iter()
            .filter_map(|n| self.nodes.get(n)?.memory_map.get(resource))
            .map(|t| u128::from(field(t)))
            .sum()
    }

    /// Whether a multi-node mask respects the groups: every node of it that has
    /// assignments already belongs to exactly this group. Single-node masks always pass.
    pub(super) fn group_allows(&self, mask: NodeMask) -> bool {
        let bits = mask.nodes();
        if bits.len() <= 1 {
            return true;
        }
        bits.iter().filter_map(|n| self.nodes.get(n)).all(|node| {
            node.number_of_assignments == 0 || (node.cells.len() > 1 && same_nodes(&node.cells, &bits))
        })
    }
}

fn same_nodes(cells: &[u32], bits: &[u32]) -> bool {
    let mut c = cells.to_vec();
    c.sort_unstable();
    c.dedup();
    c == bits
}

/// `Block`: memory of one resource given to a container on a set of nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// `NUMAAffinity`: the mask's nodes, ascending.
    pub numa_affinity: Vec<u32>,
    /// `Type`: the resource.
    pub resource: String,
    /// `Size` in bytes: the container's request.
    pub size: u64,
}

/// Blocks per pod UID and container name.
pub type Assignments = BTreeMap<String, BTreeMap<String, Vec<Block>>>;
