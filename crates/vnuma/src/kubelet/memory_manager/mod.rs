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
//!
//! This module is the facade (`memory_manager.go`): the resource names, the errors, the policy
//! name, `validateReservedMemory` and the pod model the manager is handed; the jobs live in
//! - `state`: the machine state and blocks (`state/state.go`, `getDefaultMachineState`);
//! - `policy`: the static policy, hints and allocation (`policy_static.go`);
//! - `checkpoint`: the `memory_manager_state` file (`state/checkpoint.go`).
//!
//! Every item is re-exported here, so `memory_manager::X` is the one path to use.

use std::collections::BTreeMap;

use super::topology_manager::{KUBELET_CONFIG_ERROR, ProviderError, go_quote};
use crate::k8s::quantity::Quantity;

mod checkpoint;
mod policy;
mod state;
#[cfg(test)]
mod tests;
// what `tests.rs` finds through `use super::*`, as when this module was one file
#[cfg(test)]
use {
    super::topology::{NodeMask, TopologyHint},
    super::topology_manager::{HintProvider, ProviderHints},
};

pub use checkpoint::{MemoryManagerCheckpoint, WireBlock, WireMemoryTable, WireNodeState};
pub use policy::{ANONYMOUS_CONTAINER, MemoryAllocation, MemoryManager, MemoryProvider};
pub use state::{Assignments, Block, MachineState, MemoryTable, NodeMemory, NodeState, nodes_from_host};

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
