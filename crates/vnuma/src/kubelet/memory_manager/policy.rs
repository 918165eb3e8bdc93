//! The static Memory Manager policy (`pkg/kubelet/cm/memorymanager/policy_static.go`:
//! `NewPolicyStatic`, `Start` / `validateState`, `GetTopologyHints`, `GetPodTopologyHints`,
//! `calculateHints`, `Allocate`, `RemoveContainer`, the init-container memory reuse), and the
//! Memory Manager as a Topology Manager hint provider.

use std::collections::BTreeMap;

use super::checkpoint::MemoryManagerCheckpoint;
use super::state::{Assignments, Block, MachineState, NodeMemory, check_reserved_nodes};
use super::{ContainerKind, ContainerSpec, MEMORY, MemoryManagerError, PodSpec, is_memory_resource};
use crate::kubelet::topology::{NodeMask, TopologyHint};
use crate::kubelet::topology_manager::{HintProvider, ProviderError, ProviderHints};

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
    /// some `memory` in total. Run [`validate_reserved_memory`](super::validate_reserved_memory)
    /// before, as the kubelet does, when the node-allocatable reservation is known.
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
