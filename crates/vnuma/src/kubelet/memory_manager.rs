//! The kubelet's Memory Manager, static policy (`pkg/kubelet/cm/memorymanager`:
//! `memory_manager.go`, `policy_static.go`, `state/state.go`, `state/checkpoint.go`), written
//! clean-room from `kubelet.md` §4.
//!
//! [`MachineState`] is the per-NUMA-node table of every memory resource (`memory`,
//! `hugepages-<size>`); [`MemoryManager`] gives topology hints for a container or a pod,
//! allocates memory blocks greedily from the lowest node of the chosen mask, forms and dissolves
//! NUMA groups, and restores and validates the `memory_manager_state` checkpoint
//! ([`MemoryManagerCheckpoint`]).
//!
//! Go map order is random; here resources are handled in name order (`hugepages-1Gi` before
//! `memory`). Only the order of the blocks of one container depends on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::topology::{NodeMask, TopologyHint};
use super::topology_manager::{HintProvider, KUBELET_CONFIG_ERROR, ProviderError, ProviderHints, go_quote};
use crate::topology::HostTopology;
use crate::vmi::Quantity;

/// The resource name of ordinary memory.
pub const MEMORY: &str = "memory";
/// The prefix of hugepage resource names.
pub const HUGEPAGES_PREFIX: &str = "hugepages-";

/// `hugepages-<size>` for a page size in bytes, the size as Kubernetes prints a binary
/// quantity (`2Mi`, `1Gi`, `64Ki`).
pub fn hugepage_resource(page_size_bytes: u64) -> String {
    format!("{HUGEPAGES_PREFIX}{}", quantity_text(u128::from(page_size_bytes)))
}

/// Whether the Memory Manager handles this resource (`memory` or `hugepages-*`).
pub fn is_memory_resource(name: &str) -> bool {
    name == MEMORY || name.starts_with(HUGEPAGES_PREFIX)
}

/// A byte count printed as a canonical binary quantity (`1Gi`, `1536Mi`, `1000`).
fn quantity_text(bytes: u128) -> String {
    match i64::try_from(bytes) {
        Ok(b) => Quantity::from_bytes_binary(b).canonical(),
        Err(_) => bytes.to_string(),
    }
}

/// Why the Memory Manager cannot start, or cannot place a container.
///
/// `Display` is the kubelet's text where `kubelet.md` gives one; variants marked "vnuma" are
/// checks of this simulator (the kubelet would wrap around an unsigned number, or the text is
/// not in the spec).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryManagerError {
    /// `--memory-manager-policy` is neither `None` nor `Static` (wording as the Topology
    /// Manager's; not in the spec).
    #[error("unknown policy: \"{0}\"")]
    UnknownPolicy(String),
    /// `reservedMemory` names a node the machine lacks.
    #[error(
        "the reserved memory configuration references a NUMA node {0} that does not exist on this machine"
    )]
    UnknownReservedNode(u32),
    /// A resource's `reservedMemory` sum differs from the node-allocatable reservation.
    #[error(
        "the total amount {} of type {} is not equal to the value {} determined by Node Allocatable feature",
        go_quote(.total), go_quote(.resource), go_quote(.expected)
    )]
    ReservedTotalMismatch {
        /// Σ `reservedMemory` of the type, as a quantity.
        total: String,
        /// The resource.
        resource: String,
        /// kube-reserved + system-reserved + hard eviction, as a quantity.
        expected: String,
    },
    /// The static policy with no reserved `memory` at all.
    #[error("[memorymanager] you should specify the system reserved memory")]
    NoSystemReserved,
    /// A checkpoint with assignments but no machine state.
    #[error("[memorymanager] machine state can not be empty when it has memory assignments")]
    EmptyMachineState,
    /// A checkpoint whose machine state differs from the one its assignments imply.
    #[error("[memorymanager] the expected machine state is different from the real one")]
    StateMismatch,
    /// A request past `i64::MAX` bytes.
    #[error("[memorymanager] failed to represent quantity as int64")]
    QuantityOverflow,
    /// No hint from the Topology Manager and no node (set) with enough memory.
    #[error(
        "[memorymanager] failed to get the default NUMA affinity, no NUMA nodes with enough memory is available"
    )]
    NoDefaultAffinity,
    /// The Topology Manager's hint was preferred, the Memory Manager's own default is not.
    #[error("[memorymanager] failed to find the default preferred hint")]
    NoDefaultPreferredHint,
    /// The hint's nodes lack free memory and no wider mask can take the request.
    #[error("[memorymanager] failed to find NUMA nodes to extend the current topology hint")]
    CannotExtendHint,
    /// The hint was preferred, its extension is not.
    #[error("[memorymanager] failed to find the extended preferred hint")]
    NoExtendedPreferredHint,
    /// A multi-node mask over a node that serves single-node blocks or another group.
    #[error("[memorymanager] preferred hint violates NUMA node allocation")]
    HintViolatesNumaAllocation,
    /// vnuma: a reservation larger than what the node has (the kubelet's unsigned arithmetic
    /// would wrap around).
    #[error("reserved {reserved} bytes of {resource} on NUMA node {node} exceed the {capacity} bytes it has")]
    ReservedExceedsCapacity {
        /// The node.
        node: u32,
        /// The resource.
        resource: String,
        /// Bytes reserved.
        reserved: u64,
        /// Bytes available before the reservation.
        capacity: u64,
    },
    /// vnuma: a node whose sizes overflow 64 bits.
    #[error("the memory sizes of NUMA node {node} overflow 64 bits")]
    CapacityOverflow {
        /// The node.
        node: u32,
    },
    /// vnuma: a checkpoint that is not the expected JSON.
    #[error("not a memory_manager_state checkpoint: {0}")]
    Checkpoint(String),
    /// A checkpoint written by another policy.
    #[error(
        "could not restore state from checkpoint: configured policy \"Static\" differs from state checkpoint policy \"{0}\""
    )]
    CheckpointPolicy(String),
    /// vnuma: a machine-state key that is not a node id.
    #[error("not a memory_manager_state checkpoint: machine state key {} is not a NUMA node id", go_quote(.0))]
    CheckpointNodeKey(String),
    /// A stored block on a node the machine lacks (wording not in the spec).
    #[error(
        "[memorymanager] (pod: {pod}, container: {container}) the memory assignment uses the NUMA that does not exist"
    )]
    AssignmentUnknownNode {
        /// Pod UID.
        pod: String,
        /// Container name.
        container: String,
    },
    /// A stored block of a resource the node lacks (wording not in the spec).
    #[error(
        "[memorymanager] (pod: {pod}, container: {container}) the memory assignment uses memory resource that does not exist"
    )]
    AssignmentUnknownResource {
        /// Pod UID.
        pod: String,
        /// Container name.
        container: String,
    },
}

impl MemoryManagerError {
    /// The pod-admission reason: `UnexpectedAdmissionError` for an allocation failure (these
    /// are not typed admission errors), [`KUBELET_CONFIG_ERROR`] for a kubelet that would not
    /// start.
    pub fn reason(&self) -> &'static str {
        match self {
            MemoryManagerError::QuantityOverflow
            | MemoryManagerError::NoDefaultAffinity
            | MemoryManagerError::NoDefaultPreferredHint
            | MemoryManagerError::CannotExtendHint
            | MemoryManagerError::NoExtendedPreferredHint
            | MemoryManagerError::HintViolatesNumaAllocation => {
                super::topology_manager::UNEXPECTED_ADMISSION_ERROR
            }
            _ => KUBELET_CONFIG_ERROR,
        }
    }
}

impl From<MemoryManagerError> for ProviderError {
    fn from(e: MemoryManagerError) -> Self {
        ProviderError::Other(e.to_string())
    }
}

/// `--memory-manager-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryManagerPolicy {
    /// `None`: no hints, no blocks.
    None,
    /// `Static`: [`MemoryManager`].
    Static,
}

impl MemoryManagerPolicy {
    /// Parses `None` / `Static`.
    ///
    /// # Errors
    /// [`MemoryManagerError::UnknownPolicy`].
    pub fn parse(name: &str) -> Result<Self, MemoryManagerError> {
        match name {
            "None" => Ok(MemoryManagerPolicy::None),
            "Static" => Ok(MemoryManagerPolicy::Static),
            _ => Err(MemoryManagerError::UnknownPolicy(name.to_owned())),
        }
    }

    /// The kubelet's name.
    pub fn name(self) -> &'static str {
        match self {
            MemoryManagerPolicy::None => "None",
            MemoryManagerPolicy::Static => "Static",
        }
    }
}

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

fn check_reserved_nodes(
    nodes: &BTreeMap<u32, NodeMemory>,
    reserved: &BTreeMap<u32, BTreeMap<String, u64>>,
) -> Result<(), MemoryManagerError> {
    match reserved.keys().find(|n| !nodes.contains_key(n)) {
        Some(&n) => Err(MemoryManagerError::UnknownReservedNode(n)),
        None => Ok(()),
    }
}

/// `validateReservedMemory` (§4.2): every `reservedMemory` node exists, and per resource the
/// sum over nodes equals the node-allocatable reservation (kube-reserved + system-reserved +
/// the hard eviction threshold, for `memory` and each `hugepages-*`). Resources are checked in
/// name order; amounts print as canonical binary quantities.
///
/// # Errors
/// [`MemoryManagerError::UnknownReservedNode`], [`MemoryManagerError::ReservedTotalMismatch`].
pub fn validate_reserved_memory(
    nodes: &[u32],
    reserved: &BTreeMap<u32, BTreeMap<String, u64>>,
    node_allocatable_reservation: &BTreeMap<String, u64>,
) -> Result<(), MemoryManagerError> {
    if let Some(&n) = reserved.keys().find(|n| !nodes.contains(n)) {
        return Err(MemoryManagerError::UnknownReservedNode(n));
    }
    let mut totals: BTreeMap<&str, u128> = BTreeMap::new();
    for limits in reserved.values() {
        for (resource, &bytes) in limits {
            *totals.entry(resource).or_default() += u128::from(bytes);
        }
    }
    let mut types: Vec<&str> = totals.keys().copied().collect();
    types.extend(
        node_allocatable_reservation
            .keys()
            .map(String::as_str)
            .filter(|t| is_memory_resource(t)),
    );
    types.sort_unstable();
    types.dedup();
    for t in types {
        let total = totals.get(t).copied().unwrap_or(0);
        let expected = node_allocatable_reservation.get(t).map_or(0, |&b| u128::from(b));
        if total != expected {
            return Err(MemoryManagerError::ReservedTotalMismatch {
                total: quantity_text(total),
                resource: t.to_owned(),
                expected: quantity_text(expected),
            });
        }
    }
    Ok(())
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

    fn sum(&self, mask: NodeMask, resource: &str, field: fn(&MemoryTable) -> u64) -> u128 {
        mask.nodes()
            .iter()
            .filter_map(|n| self.nodes.get(n)?.memory_map.get(resource))
            .map(|t| u128::from(field(t)))
            .sum()
    }

    /// Whether a multi-node mask respects the groups: every node of it that has
    /// assignments already belongs to exactly this group. Single-node masks always pass.
    fn group_allows(&self, mask: NodeMask) -> bool {
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

/// The container name [`MemoryManager::allocate`] uses.
pub const ANONYMOUS_CONTAINER: &str = "container";

/// What [`MemoryManager::allocate_detailed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryAllocation {
    /// The pod UID it recorded the blocks under (container [`ANONYMOUS_CONTAINER`]).
    pub pod_uid: String,
    /// The container's blocks (empty when there was nothing to allocate).
    pub blocks: Vec<Block>,
    /// Bytes taken per (node, resource), ascending, non-zero only.
    pub taken: Vec<(u32, String, u64)>,
}

/// Blocks per pod UID and container name.
pub type Assignments = BTreeMap<String, BTreeMap<String, Vec<Block>>>;

/// Which kind of container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// A regular init container: its memory is reusable by the pod's later containers.
    Init,
    /// A sidecar (init container with `restartPolicy: Always`): keeps its memory.
    Sidecar,
    /// An app container.
    App,
}

/// One container of a pod, requests in bytes (only `memory` and `hugepages-*` count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The name.
    pub name: String,
    /// The kind.
    pub kind: ContainerKind,
    /// Requests (= limits in a Guaranteed pod), resource → bytes.
    pub requests: BTreeMap<String, u64>,
}

/// A pod as the Memory Manager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSpec {
    /// The pod UID.
    pub uid: String,
    /// Whether its QoS class is Guaranteed (only such pods get hints and blocks).
    pub guaranteed: bool,
    /// Init containers (and sidecars) in order, then app containers.
    pub containers: Vec<ContainerSpec>,
}

impl PodSpec {
    /// The pod-level request per resource (pod scope): the largest of each regular init
    /// container plus the sidecars started before it, and Σ app containers + Σ sidecars.
    pub fn pod_requests(&self) -> BTreeMap<String, u64> {
        let mut sidecars: BTreeMap<&str, u64> = BTreeMap::new();
        let mut init_max: BTreeMap<&str, u64> = BTreeMap::new();
        let mut apps: BTreeMap<&str, u64> = BTreeMap::new();
        for c in &self.containers {
            for (r, &b) in c.requests.iter().filter(|(r, _)| is_memory_resource(r)) {
                match c.kind {
                    ContainerKind::Sidecar => {
                        let e = sidecars.entry(r).or_default();
                        *e = e.saturating_add(b);
                    }
                    ContainerKind::Init => {
                        let with_sidecars = sidecars.get(r.as_str()).copied().unwrap_or(0).saturating_add(b);
                        let e = init_max.entry(r).or_default();
                        *e = (*e).max(with_sidecars);
                    }
                    ContainerKind::App => {
                        let e = apps.entry(r).or_default();
                        *e = e.saturating_add(b);
                    }
                }
            }
        }
        let mut out = BTreeMap::new();
        for r in sidecars.keys().chain(init_max.keys()).chain(apps.keys()) {
            let app_total = apps
                .get(r)
                .copied()
                .unwrap_or(0)
                .saturating_add(sidecars.get(r).copied().unwrap_or(0));
            out.insert(
                (*r).to_owned(),
                init_max.get(r).copied().unwrap_or(0).max(app_total),
            );
        }
        out
    }
}

/// Reusable memory of one pod: (mask bits, resource) → bytes.
type Reusable = BTreeMap<(u64, String), u64>;

/// The requests the Memory Manager handles.
///
/// # Errors
/// [`MemoryManagerError::QuantityOverflow`] for a value past `i64::MAX`.
fn requested(requests: &BTreeMap<String, u64>) -> Result<BTreeMap<String, u64>, MemoryManagerError> {
    let mut out = BTreeMap::new();
    for (r, &b) in requests.iter().filter(|(r, _)| is_memory_resource(r)) {
        if i64::try_from(b).is_err() {
            return Err(MemoryManagerError::QuantityOverflow);
        }
        out.insert(r.clone(), b);
    }
    Ok(out)
}

/// `findBestHint`: the first hint, replaced by a later one that is preferred while the best
/// is not, or as preferred and narrower.
fn find_best_hint(hints: &[TopologyHint]) -> Option<TopologyHint> {
    let mut best = *hints.first()?;
    for &h in &hints[1..] {
        let narrower = match (h.affinity, best.affinity) {
            (Some(a), Some(b)) => a.is_narrower_than(b),
            _ => false,
        };
        if (h.preferred && !best.preferred) || (h.preferred == best.preferred && narrower) {
            best = h;
        }
    }
    Some(best)
}

/// The static Memory Manager policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryManager {
    state: MachineState,
    default_state: MachineState,
    assignments: Assignments,
    reusable: BTreeMap<String, Reusable>,
}

impl MemoryManager {
    /// `NewPolicyStatic` with a fresh state: `reservedMemory` nodes must exist and reserve
    /// some `memory` in total. Run [`validate_reserved_memory`] before, as the kubelet does,
    /// when the node-allocatable reservation is known.
    ///
    /// # Errors
    /// [`MemoryManagerError::UnknownReservedNode`], [`MemoryManagerError::NoSystemReserved`],
    /// or [`MachineState::new`]'s.
    pub fn new(
        nodes: &BTreeMap<u32, NodeMemory>,
        reserved: &BTreeMap<u32, BTreeMap<String, u64>>,
    ) -> Result<Self, MemoryManagerError> {
        check_reserved_nodes(nodes, reserved)?;
        let total: u128 = reserved
            .values()
            .filter_map(|m| m.get(MEMORY))
            .map(|&b| u128::from(b))
            .sum();
        if total == 0 {
            return Err(MemoryManagerError::NoSystemReserved);
        }
        let state = MachineState::new(nodes, reserved)?;
        Ok(MemoryManager {
            default_state: state.clone(),
            state,
            assignments: Assignments::new(),
            reusable: BTreeMap::new(),
        })
    }

    /// `Start` from a checkpoint: `validateState` (§4.2). An empty machine state is fine
    /// without assignments (the default state is used); otherwise the stored state must equal
    /// the default state with every stored block applied (node by node in the block's order:
    /// one more assignment, the block's nodes as the group, free memory taken greedily).
    ///
    /// # Errors
    /// [`MemoryManager::new`]'s, the checkpoint's ([`MemoryManagerCheckpoint::to_state`]),
    /// [`MemoryManagerError::EmptyMachineState`], [`MemoryManagerError::StateMismatch`],
    /// [`MemoryManagerError::AssignmentUnknownNode`] /
    /// [`MemoryManagerError::AssignmentUnknownResource`].
    pub fn start(
        nodes: &BTreeMap<u32, NodeMemory>,
        reserved: &BTreeMap<u32, BTreeMap<String, u64>>,
        checkpoint: &MemoryManagerCheckpoint,
    ) -> Result<Self, MemoryManagerError> {
        let mut mm = MemoryManager::new(nodes, reserved)?;
        let (stored, assignments) = checkpoint.to_state()?;
        if stored.nodes.is_empty() {
            if !assignments.is_empty() {
                return Err(MemoryManagerError::EmptyMachineState);
            }
            return Ok(mm);
        }
        let mut expected = mm.default_state.clone();
        for (pod, containers) in &assignments {
            for (container, blocks) in containers {
                for b in blocks {
                    let mut remaining = b.size;
                    for n in &b.numa_affinity {
                        let node = expected.nodes.get_mut(n).ok_or_else(|| {
                            MemoryManagerError::AssignmentUnknownNode {
                                pod: pod.clone(),
                                container: container.clone(),
                            }
                        })?;
                        node.number_of_assignments += 1;
                        node.cells.clone_from(&b.numa_affinity);
                        let table = node.memory_map.get_mut(&b.resource).ok_or_else(|| {
                            MemoryManagerError::AssignmentUnknownResource {
                                pod: pod.clone(),
                                container: container.clone(),
                            }
                        })?;
                        let take = table.free.min(remaining);
                        table.free -= take;
                        table.reserved += take;
                        remaining -= take;
                    }
                }
            }
        }
        if expected != stored {
            return Err(MemoryManagerError::StateMismatch);
        }
        mm.state = stored;
        mm.assignments = assignments;
        Ok(mm)
    }

    /// The machine state.
    pub fn state(&self) -> &MachineState {
        &self.state
    }

    /// The machine state, for setting up a situation directly.
    pub fn state_mut(&mut self) -> &mut MachineState {
        &mut self.state
    }

    /// Every container's blocks.
    pub fn assignments(&self) -> &Assignments {
        &self.assignments
    }

    /// A container's blocks.
    pub fn blocks(&self, pod_uid: &str, container: &str) -> Option<&[Block]> {
        self.assignments.get(pod_uid)?.get(container).map(Vec::as_slice)
    }

    fn reusable_of(&self, pod_uid: &str) -> Reusable {
        self.reusable.get(pod_uid).cloned().unwrap_or_default()
    }

    /// `calculateHints` (§4.4): every mask in `IterateBitMasks` order that has the capacity,
    /// respects the groups and has the free memory (plus the pod's reusable memory on it);
    /// preferred iff as narrow as the narrowest mask with the capacity. An empty map when no
    /// mask passes.
    fn calculate_hints(
        &self,
        requests: &BTreeMap<String, u64>,
        reusable: &Reusable,
    ) -> BTreeMap<String, Vec<TopologyHint>> {
        let ids: Vec<u32> = self.state.nodes.keys().copied().collect();
        let mut min_affinity = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        let mut masks = Vec::new();
        for mask in NodeMask::iterate(&ids) {
            if requests
                .iter()
                .any(|(r, &b)| self.state.sum(mask, r, |t| t.allocatable) < u128::from(b))
            {
                continue;
            }
            min_affinity = min_affinity.min(mask.count());
            let bits = mask.nodes();
            if bits.len() == 1 {
                if self.state.nodes.get(&bits[0]).is_some_and(|n| n.cells.len() > 1) {
                    continue;
                }
            } else if !self.state.group_allows(mask) {
                continue;
            }
            let short = requests.iter().any(|(r, &b)| {
                let reuse = reusable.get(&(mask.0, r.clone())).copied().unwrap_or(0);
                self.state.sum(mask, r, |t| t.free) + u128::from(reuse) < u128::from(b)
            });
            if short {
                continue;
            }
            masks.push(mask);
        }
        let mut hints = BTreeMap::new();
        if masks.is_empty() {
            return hints;
        }
        for r in requests.keys() {
            hints.insert(
                r.clone(),
                masks
                    .iter()
                    .map(|&m| TopologyHint {
                        affinity: Some(m),
                        preferred: m.count() == min_affinity,
                    })
                    .collect(),
            );
        }
        hints
    }

    /// Hints from existing blocks (after a restart): `None` unless the blocks match the
    /// request exactly (count, types, sizes); else each block's mask, preferred.
    fn regenerate_hints(blocks: &[Block], requests: &BTreeMap<String, u64>) -> ProviderHints {
        if blocks.len() != requests.len() {
            return None;
        }
        let mut hints: BTreeMap<String, Option<Vec<TopologyHint>>> = BTreeMap::new();
        for b in blocks {
            if requests.get(&b.resource) != Some(&b.size) {
                return None;
            }
            let mask = NodeMask::of(&b.numa_affinity).ok()?;
            hints
                .entry(b.resource.clone())
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(TopologyHint {
                    affinity: Some(mask),
                    preferred: true,
                });
        }
        Some(hints)
    }

    fn wrap(hints: BTreeMap<String, Vec<TopologyHint>>) -> ProviderHints {
        Some(hints.into_iter().map(|(r, h)| (r, Some(h))).collect())
    }

    /// Hints for a fresh container of a Guaranteed pod requesting `requests` (bytes per
    /// resource): `None` only for a request past `i64::MAX` (the kubelet logs and gives no
    /// hint); an empty map when nothing fits (no preference for the Topology Manager; the
    /// failure shows at [`MemoryManager::allocate`]).
    pub fn hints(&self, requests: &BTreeMap<String, u64>) -> ProviderHints {
        let requests = requested(requests).ok()?;
        Self::wrap(self.calculate_hints(&requests, &Reusable::new()))
    }

    /// `GetTopologyHints(pod, container)`: `None` for a pod that is not Guaranteed (or an
    /// unknown container index, or a request past `i64::MAX`); hints regenerated from existing
    /// blocks; otherwise [`MemoryManager::hints`] counting the pod's reusable memory.
    pub fn container_hints(&self, pod: &PodSpec, container: usize) -> ProviderHints {
        if !pod.guaranteed {
            return None;
        }
        let c = pod.containers.get(container)?;
        let requests = requested(&c.requests).ok()?;
        if let Some(blocks) = self.blocks(&pod.uid, &c.name) {
            return Self::regenerate_hints(blocks, &requests);
        }
        Self::wrap(self.calculate_hints(&requests, &self.reusable_of(&pod.uid)))
    }

    /// `GetPodTopologyHints(pod)`: as [`MemoryManager::container_hints`] with the pod-level
    /// request ([`PodSpec::pod_requests`]); the first container (in order) that has blocks
    /// decides by regeneration.
    pub fn pod_hints(&self, pod: &PodSpec) -> ProviderHints {
        if !pod.guaranteed {
            return None;
        }
        let requests = requested(&pod.pod_requests()).ok()?;
        for c in &pod.containers {
            if let Some(blocks) = self.blocks(&pod.uid, &c.name) {
                return Self::regenerate_hints(blocks, &requests);
            }
        }
        Self::wrap(self.calculate_hints(&requests, &self.reusable_of(&pod.uid)))
    }

    fn update_reusable(&mut self, pod_uid: &str, kind: ContainerKind, blocks: &[Block]) {
        self.reusable.retain(|uid, _| uid == pod_uid);
        let reusable = self.reusable.entry(pod_uid.to_owned()).or_default();
        for b in blocks {
            let Ok(mask) = NodeMask::of(&b.numa_affinity) else {
                continue;
            };
            let key = (mask.0, b.resource.clone());
            match kind {
                ContainerKind::Init => {
                    let entry = reusable.entry(key).or_default();
                    *entry = (*entry).max(b.size);
                }
                ContainerKind::Sidecar | ContainerKind::App => {
                    if let Some(entry) = reusable.get_mut(&key) {
                        *entry -= (*entry).min(b.size);
                    }
                }
            }
        }
        reusable.retain(|_, bytes| *bytes > 0);
        if reusable.is_empty() {
            self.reusable.remove(pod_uid);
        }
    }

    /// Whether the mask's free memory plus the pod's reusable memory on it covers every
    /// request.
    fn satisfies(&self, mask: NodeMask, requests: &BTreeMap<String, u64>, reusable: &Reusable) -> bool {
        requests.iter().all(|(r, &b)| {
            let reuse = reusable.get(&(mask.0, r.clone())).copied().unwrap_or(0);
            self.state.sum(mask, r, |t| t.free) + u128::from(reuse) >= u128::from(b)
        })
    }

    /// `Allocate(pod, container)` (§4.5) with the Topology Manager's hint for the container.
    /// Returns the bytes taken from each node per resource (node, resource; only non-zero
    /// takes; memory reused from the pod's init containers is not taken again). A pod that
    /// is not Guaranteed, a container with blocks already or without memory requests: no-op.
    ///
    /// Reuse (an assumption: `kubelet.md` says only "analogous to CPUs"): a regular init
    /// container's blocks become reusable for its mask and resource (the largest counts); an
    /// app container or sidecar allocated on the same mask takes from them first and uses them
    /// up.
    ///
    /// # Errors
    /// The allocation errors of [`MemoryManagerError`] (all `UnexpectedAdmissionError`).
    pub fn allocate_container(
        &mut self,
        pod: &PodSpec,
        container: usize,
        tm_hint: TopologyHint,
    ) -> Result<Vec<(u32, String, u64)>, MemoryManagerError> {
        let Some(c) = pod.containers.get(container) else {
            return Ok(Vec::new());
        };
        if !pod.guaranteed {
            return Ok(Vec::new());
        }
        if let Some(blocks) = self.blocks(&pod.uid, &c.name) {
            if c.kind == ContainerKind::Init {
                let blocks = blocks.to_vec();
                self.update_reusable(&pod.uid, c.kind, &blocks);
            }
            return Ok(Vec::new());
        }
        let requests = requested(&c.requests)?;
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let reusable = self.reusable_of(&pod.uid);
        let mut hint = tm_hint;
        if hint.affinity.is_none() {
            let hints = self.calculate_hints(&requests, &reusable);
            let list = hints.get(MEMORY).or_else(|| hints.values().next());
            let default = list
                .and_then(|l| find_best_hint(l))
                .ok_or(MemoryManagerError::NoDefaultAffinity)?;
            if tm_hint.preferred && !default.preferred {
                return Err(MemoryManagerError::NoDefaultPreferredHint);
            }
            hint = default;
        }
        let mut mask = hint.affinity.unwrap_or_default();
        if !self.satisfies(mask, &requests, &reusable) {
            let hints = self.calculate_hints(&requests, &reusable);
            let wider: Vec<TopologyHint> = hints
                .get(MEMORY)
                .or_else(|| hints.values().next())
                .into_iter()
                .flatten()
                .filter(|h| h.affinity.is_some_and(|m| m.0 & mask.0 == mask.0))
                .copied()
                .collect();
            let extended = find_best_hint(&wider).ok_or(MemoryManagerError::CannotExtendHint)?;
            if hint.preferred && !extended.preferred {
                return Err(MemoryManagerError::NoExtendedPreferredHint);
            }
            mask = extended.affinity.unwrap_or_default();
        }
        if !self.state.group_allows(mask) {
            return Err(MemoryManagerError::HintViolatesNumaAllocation);
        }
        let bits = mask.nodes();
        let mut blocks = Vec::new();
        let mut taken: Vec<(u32, String, u64)> = Vec::new();
        for (resource, &size) in &requests {
            blocks.push(Block {
                numa_affinity: bits.clone(),
                resource: resource.clone(),
                size,
            });
            let reuse = reusable.get(&(mask.0, resource.clone())).copied().unwrap_or(0);
            let mut remaining = size - size.min(reuse);
            for n in &bits {
                let Some(node) = self.state.nodes.get_mut(n) else {
                    continue;
                };
                node.number_of_assignments += 1;
                node.cells.clone_from(&bits);
                if remaining == 0 {
                    continue;
                }
                let Some(table) = node.memory_map.get_mut(resource) else {
                    continue;
                };
                let take = table.free.min(remaining);
                table.free -= take;
                table.reserved += take;
                remaining -= take;
                if take > 0 {
                    taken.push((*n, resource.clone(), take));
                }
            }
        }
        self.update_reusable(&pod.uid, c.kind, &blocks);
        self.assignments
            .entry(pod.uid.clone())
            .or_default()
            .insert(c.name.clone(), blocks);
        taken.sort();
        Ok(taken)
    }

    /// [`MemoryManager::allocate_container`] for a new one-container Guaranteed pod (UID
    /// `anonymous-<n>`, container `container`), as `vnuma allocate` models virt-launcher's
    /// compute container. Takes the whole Topology Manager hint: its `preferred` flag decides
    /// the "preferred hint" errors. Returns the bytes taken per node and resource; see
    /// [`MemoryManager::allocate_detailed`] for the blocks.
    ///
    /// # Errors
    /// As [`MemoryManager::allocate_container`].
    pub fn allocate(
        &mut self,
        requests: &BTreeMap<String, u64>,
        hint: TopologyHint,
    ) -> Result<Vec<(u32, String, u64)>, MemoryManagerError> {
        self.allocate_detailed(requests, hint).map(|a| a.taken)
    }

    /// [`MemoryManager::allocate`], also returning the pod UID used and the blocks (their
    /// `numa_affinity` is the container's `cpuset.mems`).
    ///
    /// # Errors
    /// As [`MemoryManager::allocate_container`].
    pub fn allocate_detailed(
        &mut self,
        requests: &BTreeMap<String, u64>,
        hint: TopologyHint,
    ) -> Result<MemoryAllocation, MemoryManagerError> {
        let uid = (0u64..)
            .map(|n| format!("anonymous-{n}"))
            .find(|uid| !self.assignments.contains_key(uid))
            .unwrap_or_default();
        let pod = PodSpec {
            uid,
            guaranteed: true,
            containers: vec![ContainerSpec {
                name: ANONYMOUS_CONTAINER.into(),
                kind: ContainerKind::App,
                requests: requests.clone(),
            }],
        };
        let taken = self.allocate_container(&pod, 0, hint)?;
        let blocks = self
            .blocks(&pod.uid, ANONYMOUS_CONTAINER)
            .map(<[Block]>::to_vec)
            .unwrap_or_default();
        Ok(MemoryAllocation {
            pod_uid: pod.uid,
            blocks,
            taken,
        })
    }

    /// `RemoveContainer`: for each block, each of its nodes in order loses one assignment
    /// (back to its own group `[node]` at zero) and the block's size returns from reserved to
    /// free greedily, lowest node first.
    pub fn remove_container(&mut self, pod_uid: &str, container: &str) {
        let Some(pod) = self.assignments.get_mut(pod_uid) else {
            return;
        };
        let Some(blocks) = pod.remove(container) else {
            return;
        };
        if pod.is_empty() {
            self.assignments.remove(pod_uid);
        }
        for b in blocks {
            let mut remaining = b.size;
            let mut nodes = b.numa_affinity.clone();
            nodes.sort_unstable();
            for n in nodes {
                let Some(node) = self.state.nodes.get_mut(&n) else {
                    continue;
                };
                node.number_of_assignments = node.number_of_assignments.saturating_sub(1);
                if node.number_of_assignments == 0 {
                    node.cells = vec![n];
                }
                let Some(table) = node.memory_map.get_mut(&b.resource) else {
                    continue;
                };
                let release = table.reserved.min(remaining);
                table.reserved -= release;
                table.free += release;
                remaining -= release;
            }
        }
    }
}

/// The Memory Manager as a Topology Manager hint provider for one pod.
#[derive(Debug)]
pub struct MemoryProvider<'a> {
    manager: &'a mut MemoryManager,
    pod: &'a PodSpec,
}

impl<'a> MemoryProvider<'a> {
    /// The provider for `pod`.
    pub fn new(manager: &'a mut MemoryManager, pod: &'a PodSpec) -> Self {
        MemoryProvider { manager, pod }
    }
}

impl HintProvider for MemoryProvider<'_> {
    fn container_hints(&self, container: usize) -> ProviderHints {
        self.manager.container_hints(self.pod, container)
    }

    fn pod_hints(&self) -> ProviderHints {
        self.manager.pod_hints(self.pod)
    }

    fn allocate(&mut self, container: usize, hint: TopologyHint) -> Result<(), ProviderError> {
        self.manager
            .allocate_container(self.pod, container, hint)
            .map(|_| ())
            .map_err(ProviderError::from)
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The `memory_manager_state` checkpoint (`/var/lib/kubelet/memory_manager_state`), as
/// written by the kubelet. The checksum is read, not verified.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryManagerCheckpoint {
    /// `policyName`: `Static` or `None`.
    #[serde(default)]
    pub policy_name: String,
    /// `machineState`: node id (as a string) → state.
    #[serde(default, deserialize_with = "null_as_default")]
    pub machine_state: BTreeMap<String, WireNodeState>,
    /// `entries`: pod UID → container → blocks.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entries: BTreeMap<String, BTreeMap<String, Vec<WireBlock>>>,
    /// `checksum`.
    #[serde(default)]
    pub checksum: u64,
}

/// A node of the checkpoint's `machineState`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireNodeState {
    /// `numberOfAssignments`.
    #[serde(default)]
    pub number_of_assignments: u64,
    /// `memoryMap`: resource → table.
    #[serde(default, deserialize_with = "null_as_default")]
    pub memory_map: BTreeMap<String, WireMemoryTable>,
    /// `cells`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cells: Vec<u32>,
}

/// A `memoryMap` table of the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMemoryTable {
    /// `total`.
    #[serde(default)]
    pub total: u64,
    /// `systemReserved`.
    #[serde(default)]
    pub system_reserved: u64,
    /// `allocatable`.
    #[serde(default)]
    pub allocatable: u64,
    /// `reserved`.
    #[serde(default)]
    pub reserved: u64,
    /// `free`.
    #[serde(default)]
    pub free: u64,
}

/// A block of the checkpoint's `entries`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlock {
    /// `numaAffinity`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub numa_affinity: Vec<u32>,
    /// `type`: the resource.
    #[serde(rename = "type")]
    pub resource: String,
    /// `size` in bytes.
    pub size: u64,
}

impl MemoryManagerCheckpoint {
    /// Reads the checkpoint's JSON.
    ///
    /// # Errors
    /// [`MemoryManagerError::Checkpoint`] with serde's message.
    pub fn parse(text: &str) -> Result<Self, MemoryManagerError> {
        serde_json::from_str(text).map_err(|e| MemoryManagerError::Checkpoint(e.to_string()))
    }

    /// The machine state and assignments it holds. Only a `Static` checkpoint restores into
    /// the static policy.
    ///
    /// # Errors
    /// [`MemoryManagerError::CheckpointPolicy`], [`MemoryManagerError::CheckpointNodeKey`].
    pub fn to_state(&self) -> Result<(MachineState, Assignments), MemoryManagerError> {
        if self.policy_name != MemoryManagerPolicy::Static.name() {
            return Err(MemoryManagerError::CheckpointPolicy(self.policy_name.clone()));
        }
        let mut state = MachineState::default();
        for (key, node) in &self.machine_state {
            let id: u32 = key
                .parse()
                .map_err(|_| MemoryManagerError::CheckpointNodeKey(key.clone()))?;
            state.nodes.insert(
                id,
                NodeState {
                    number_of_assignments: node.number_of_assignments,
                    memory_map: node
                        .memory_map
                        .iter()
                        .map(|(r, t)| {
                            (
                                r.clone(),
                                MemoryTable {
                                    total: t.total,
                                    system_reserved: t.system_reserved,
                                    allocatable: t.allocatable,
                                    reserved: t.reserved,
                                    free: t.free,
                                },
                            )
                        })
                        .collect(),
                    cells: node.cells.clone(),
                },
            );
        }
        let assignments = self
            .entries
            .iter()
            .map(|(pod, containers)| {
                let containers = containers
                    .iter()
                    .map(|(name, blocks)| {
                        let blocks = blocks
                            .iter()
                            .map(|b| Block {
                                numa_affinity: b.numa_affinity.clone(),
                                resource: b.resource.clone(),
                                size: b.size,
                            })
                            .collect();
                        (name.clone(), blocks)
                    })
                    .collect();
                (pod.clone(), containers)
            })
            .collect();
        Ok((state, assignments))
    }
}

#[cfg(test)]
mod tests;
