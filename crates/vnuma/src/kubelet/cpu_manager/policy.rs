//! The static policy itself (`pkg/kubelet/cm/cpumanager/policy_static.go`: `NewStaticPolicy`,
//! `Start` / `validateState`, `Allocate`, `allocateCPUs`, `RemoveContainer`, `guaranteedCPUs`,
//! `podGuaranteedCPUs`, `GetTopologyHints`, `GetPodTopologyHints`,
//! `generateCPUTopologyHints`, `updateCPUsToReuse`): the reserved CPUs, allocation, topology
//! hints and init-container CPU reuse, over the [`PolicyState`] it keeps.

use std::collections::BTreeMap;

use super::{ContainerSpec, CpuManagerError, CpuManagerOptions, PodSpec, SmtAlignmentError};
use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::k8s::pod::QosClass;
use crate::kubelet::cpu_assignment::{
    CpuDetails, TakeByTopologyError, take_by_topology_numa_distributed, take_by_topology_numa_packed,
};
use crate::kubelet::topology::{CpuTopology, NodeMask, TopologyHint};

/// `guaranteedCPUs`: the container's whole-number cpu request when the pod is Guaranteed, else 0
/// (the shared pool).
pub fn guaranteed_cpus(pod: &PodSpec, container: &ContainerSpec) -> usize {
    if pod.qos() != QosClass::Guaranteed {
        return 0;
    }
    let millis = container.request("cpu").unwrap_or(0);
    if millis <= 0 || millis % 1000 != 0 {
        return 0;
    }
    usize::try_from(millis / 1000).unwrap_or(0)
}

/// `podGuaranteedCPUs`: `max(largest init container + the sidecars started before it, the app
/// containers + every sidecar)`.
pub fn pod_guaranteed_cpus(pod: &PodSpec) -> usize {
    let mut init_max = 0usize;
    let mut sidecars = 0usize;
    for c in &pod.init_containers {
        if c.request("cpu").is_none() {
            continue;
        }
        let n = guaranteed_cpus(pod, c);
        if c.restartable {
            sidecars += n;
        } else {
            init_max = init_max.max(sidecars + n);
        }
    }
    let apps: usize = pod
        .containers
        .iter()
        .filter(|c| c.request("cpu").is_some())
        .map(|c| guaranteed_cpus(pod, c))
        .sum();
    init_max.max(apps + sidecars)
}

/// The CPU Manager's state: the shared pool (`defaultCpuSet`), the exclusive assignments by pod
/// UID and container name, and the CPUs of finished init containers each pod may reuse (the
/// policy's `cpusToReuse`, kept here so the policy stays immutable).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyState {
    /// `defaultCpuSet`: the shared pool.
    pub default_cpuset: CpuSet,
    /// Exclusive CPUs by pod UID, then container name.
    pub assignments: BTreeMap<String, BTreeMap<String, CpuSet>>,
    /// Reusable CPUs by pod UID (only the pod allocated last keeps an entry).
    pub cpus_to_reuse: BTreeMap<String, CpuSet>,
}

impl PolicyState {
    /// The container's exclusive CPUs.
    pub fn cpuset(&self, pod_uid: &str, container: &str) -> Option<&CpuSet> {
        self.assignments.get(pod_uid)?.get(container)
    }

    /// Every exclusively assigned CPU.
    pub fn assigned(&self) -> CpuSet {
        self.assignments
            .values()
            .flat_map(BTreeMap::values)
            .fold(CpuSet::new(), |acc, s| acc.union(s))
    }
}

/// The static policy (`staticPolicy`): the topology, the reserved CPUs and the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPolicy {
    topology: CpuTopology,
    options: CpuManagerOptions,
    reserved: CpuSet,
    reserved_physical: CpuSet,
    cpu_group_size: usize,
}

impl StaticPolicy {
    /// `NewStaticPolicy`: the reserved set is `reserved_cpus` when non-empty, else
    /// `num_reserved` CPUs chosen by `takeByTopology` with the configured options over all
    /// CPUs; its size must be `num_reserved`. The reserved physical CPUs are every CPU of a
    /// core holding a reserved CPU.
    ///
    /// # Errors
    /// [`CpuManagerError::UnableToReserve`], [`CpuManagerError::UnknownReservedCpu`].
    pub fn new(
        topology: CpuTopology,
        num_reserved: usize,
        reserved_cpus: &CpuSet,
        options: CpuManagerOptions,
    ) -> Result<Self, CpuManagerError> {
        let mut policy = StaticPolicy {
            cpu_group_size: topology.cpus_per_core(),
            topology,
            options,
            reserved: CpuSet::new(),
            reserved_physical: CpuSet::new(),
        };
        let reserved = if reserved_cpus.is_empty() {
            // a failed choice leaves the empty set, refused below unless nothing was asked
            policy
                .take_by_topology(&policy.topology.all_cpus(), num_reserved)
                .unwrap_or_default()
        } else {
            reserved_cpus.clone()
        };
        if reserved.len() != num_reserved {
            return Err(CpuManagerError::UnableToReserve {
                reserved,
                requested: num_reserved,
            });
        }
        let mut physical = CpuSet::new();
        for cpu in reserved.iter() {
            let info = policy
                .topology
                .details
                .get(&cpu.0)
                .ok_or(CpuManagerError::UnknownReservedCpu { cpu: cpu.0 })?;
            physical = physical.union(&policy.topology.details.cpus_in_cores(&[info.core]));
        }
        policy.reserved = reserved;
        policy.reserved_physical = physical;
        Ok(policy)
    }

    /// The topology.
    pub fn topology(&self) -> &CpuTopology {
        &self.topology
    }

    /// The options.
    pub fn options(&self) -> &CpuManagerOptions {
        &self.options
    }

    /// The reserved CPUs (never exclusive).
    pub fn reserved(&self) -> &CpuSet {
        &self.reserved
    }

    /// Every CPU of a core that holds a reserved CPU (what full-pcpus-only keeps out).
    pub fn reserved_physical(&self) -> &CpuSet {
        &self.reserved_physical
    }

    /// The CPUs the state accounts for: every CPU, minus the reserved ones under
    /// strict-cpu-reservation.
    pub fn all_cpus(&self) -> CpuSet {
        let all = self.topology.all_cpus();
        if self.options.strict_cpu_reservation {
            all.difference(&self.reserved)
        } else {
            all
        }
    }

    /// A fresh state, as `Start` makes it from an empty checkpoint: the default cpuset is
    /// [`StaticPolicy::all_cpus`].
    pub fn initial_state(&self) -> PolicyState {
        PolicyState {
            default_cpuset: self.all_cpus(),
            ..PolicyState::default()
        }
    }

    /// `takeByTopology`: the distributed algorithm (group = CPUs per core under full-pcpus-only,
    /// else 1) with distribute-cpus-across-numa, else the packed one (with the uncore step under
    /// prefer-align-cpus-by-uncorecache); spread order under distribute-cpus-across-cores.
    ///
    /// # Errors
    /// [`TakeByTopologyError`].
    pub fn take_by_topology(
        &self,
        available: &CpuSet,
        num_cpus: usize,
    ) -> Result<CpuSet, TakeByTopologyError> {
        let strategy = self.options.strategy();
        if self.options.distribute_cpus_across_numa {
            let group = if self.options.full_pcpus_only {
                self.cpu_group_size
            } else {
                1
            };
            return take_by_topology_numa_distributed(&self.topology, available, num_cpus, group, strategy);
        }
        take_by_topology_numa_packed(
            &self.topology,
            available,
            num_cpus,
            strategy,
            self.options.prefer_align_cpus_by_uncorecache,
        )
    }

    /// The state in which the CPUs `assigned` are held exclusively and every other CPU is in
    /// the shared pool.
    fn state_with(&self, assigned: &CpuSet) -> PolicyState {
        PolicyState {
            default_cpuset: self.all_cpus().difference(assigned),
            ..PolicyState::default()
        }
    }

    /// Free CPUs an exclusive request may use, given CPUs already exclusively assigned to other
    /// containers: every CPU minus those and the reserved ones.
    pub fn available(&self, assigned: &CpuSet) -> CpuSet {
        self.available_cpus(&self.state_with(assigned))
    }

    /// Topology hints for a request of `num_cpus` exclusive CPUs (`None` = no preference,
    /// `Some(vec![])` = impossible).
    pub fn hints(&self, assigned: &CpuSet, num_cpus: usize) -> Option<Vec<TopologyHint>> {
        if num_cpus == 0 {
            return None;
        }
        Some(self.generate_cpu_topology_hints(&self.available(assigned), &CpuSet::new(), num_cpus))
    }

    /// Exclusive CPUs for one container, aligned to `affinity` when given (the Topology
    /// Manager's merged hint). Zero CPUs is the shared pool: the empty set.
    ///
    /// # Errors
    /// [`CpuManagerError::SmtAlignment`] under full-pcpus-only, [`CpuManagerError::Take`] when
    /// the CPUs cannot be found.
    pub fn allocate(
        &self,
        assigned: &CpuSet,
        num_cpus: usize,
        affinity: Option<NodeMask>,
    ) -> Result<CpuSet, CpuManagerError> {
        if num_cpus == 0 {
            return Ok(CpuSet::new());
        }
        let mut state = self.state_with(assigned);
        self.check_smt_alignment(&state, num_cpus)?;
        self.allocate_cpus(&mut state, num_cpus, affinity, &CpuSet::new())
    }

    /// `GetAvailableCPUs`: the default cpuset minus the reserved CPUs.
    pub fn available_cpus(&self, state: &PolicyState) -> CpuSet {
        state.default_cpuset.difference(&self.reserved)
    }

    /// `GetAvailablePhysicalCPUs`: the default cpuset minus the reserved physical CPUs.
    pub fn available_physical_cpus(&self, state: &PolicyState) -> CpuSet {
        state.default_cpuset.difference(&self.reserved_physical)
    }

    /// `Start` / `validateState`: initialises an empty state, else checks it.
    ///
    /// # Errors
    /// [`CpuManagerError::EmptyDefaultCpuSet`], [`CpuManagerError::StrictReservedInDefault`],
    /// [`CpuManagerError::ReservedNotInDefault`], [`CpuManagerError::AssignmentOverlapsDefault`],
    /// [`CpuManagerError::StateMismatch`], in that order of checking.
    pub fn start(&self, state: &mut PolicyState) -> Result<(), CpuManagerError> {
        let all = self.all_cpus();
        let default = state.default_cpuset.clone();
        if default.is_empty() {
            if !state.assignments.is_empty() {
                return Err(CpuManagerError::EmptyDefaultCpuSet);
            }
            state.default_cpuset = all;
            return Ok(());
        }
        if self.options.strict_cpu_reservation {
            let overlap = self.reserved.intersection(&default);
            if !overlap.is_empty() {
                return Err(CpuManagerError::StrictReservedInDefault { overlap, default });
            }
        } else if !self.reserved.is_subset(&default) {
            return Err(CpuManagerError::ReservedNotInDefault {
                reserved: self.reserved.clone(),
                default,
            });
        }
        for (pod, containers) in &state.assignments {
            for (container, cpuset) in containers {
                if !default.intersection(cpuset).is_empty() {
                    return Err(CpuManagerError::AssignmentOverlapsDefault {
                        pod: pod.clone(),
                        container: container.clone(),
                        cpuset: cpuset.clone(),
                        default,
                    });
                }
            }
        }
        let known = default.union(&state.assigned());
        if known != all {
            return Err(CpuManagerError::StateMismatch { all, state: known });
        }
        Ok(())
    }

    /// The full-pcpus-only checks of `Allocate` (run before the "already allocated" short cut).
    fn check_smt_alignment(&self, state: &PolicyState, num_cpus: usize) -> Result<(), SmtAlignmentError> {
        if !self.options.full_pcpus_only {
            return Ok(());
        }
        let group = self.cpu_group_size;
        if group == 0 || !num_cpus.is_multiple_of(group) {
            return Err(SmtAlignmentError {
                requested: num_cpus,
                cpus_per_core: group,
                available_physical: 0,
                caused_by_physical: false,
            });
        }
        let available_physical = self.available_physical_cpus(state).len();
        if num_cpus > available_physical {
            return Err(SmtAlignmentError {
                requested: num_cpus,
                cpus_per_core: group,
                available_physical,
                caused_by_physical: true,
            });
        }
        Ok(())
    }

    /// `Allocate(pod, container)`: nothing for a shared-pool container; the SMT checks; nothing
    /// new for a container that already has CPUs; otherwise `allocateCPUs` aligned to
    /// `affinity` (the hint the Topology Manager stored for the container), recorded in the
    /// state, and the reuse bookkeeping.
    ///
    /// # Errors
    /// [`CpuManagerError::SmtAlignment`], [`CpuManagerError::Take`].
    pub fn allocate_container(
        &self,
        state: &mut PolicyState,
        pod: &PodSpec,
        container: &ContainerSpec,
        affinity: Option<NodeMask>,
    ) -> Result<(), CpuManagerError> {
        let num_cpus = guaranteed_cpus(pod, container);
        if num_cpus == 0 {
            return Ok(());
        }
        self.check_smt_alignment(state, num_cpus)?;
        if let Some(cpus) = state.cpuset(&pod.uid, &container.name).cloned() {
            update_cpus_to_reuse(state, pod, container, &cpus);
            return Ok(());
        }
        let reusable = state.cpus_to_reuse.get(&pod.uid).cloned().unwrap_or_default();
        let cpus = self.allocate_cpus(state, num_cpus, affinity, &reusable)?;
        state
            .assignments
            .entry(pod.uid.clone())
            .or_default()
            .insert(container.name.clone(), cpus.clone());
        update_cpus_to_reuse(state, pod, container, &cpus);
        Ok(())
    }

    /// `allocateCPUs`: from the available CPUs plus the pod's reusable ones, first as many as
    /// possible inside the affinity's NUMA nodes (or their sockets under align-by-socket), then
    /// the rest from what is left; the result leaves the default cpuset.
    pub(super) fn allocate_cpus(
        &self,
        state: &mut PolicyState,
        num_cpus: usize,
        affinity: Option<NodeMask>,
        reusable: &CpuSet,
    ) -> Result<CpuSet, CpuManagerError> {
        let allocatable = self.available_cpus(state).union(reusable);
        let mut result = CpuSet::new();
        if let Some(mask) = affinity {
            let aligned = self.aligned_cpus(mask, &allocatable);
            let count = num_cpus.min(aligned.len());
            result = self.take_by_topology(&aligned, count)?;
        }
        let rest = self.take_by_topology(&allocatable.difference(&result), num_cpus - result.len())?;
        result = result.union(&rest);
        state.default_cpuset = state.default_cpuset.difference(&result);
        Ok(result)
    }

    /// `getAlignedCPUs`.
    fn aligned_cpus(&self, mask: NodeMask, allocatable: &CpuSet) -> CpuSet {
        let nodes = mask.nodes();
        let details = &self.topology.details;
        let within = if self.options.align_by_socket {
            let sockets: Vec<u32> = details.sockets_in_numa_nodes(&nodes).into_iter().collect();
            details.cpus_in_sockets(&sockets)
        } else {
            details.cpus_in_numa_nodes(&nodes)
        };
        allocatable.intersection(&within)
    }

    /// `RemoveContainer`: the container's CPUs go back to the default cpuset, minus those other
    /// containers of the pod still hold (reused init-container CPUs).
    pub fn remove_container(&self, state: &mut PolicyState, pod_uid: &str, container: &str) {
        let in_use = state
            .assignments
            .get(pod_uid)
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.as_str() != container)
            .fold(CpuSet::new(), |acc, (_, s)| acc.union(s));
        let Some(containers) = state.assignments.get_mut(pod_uid) else {
            return;
        };
        let Some(released) = containers.remove(container) else {
            return;
        };
        if containers.is_empty() {
            state.assignments.remove(pod_uid);
        }
        state.default_cpuset = state.default_cpuset.union(&released.difference(&in_use));
    }

    /// `GetTopologyHints` (container scope): `None` for a shared-pool container; for a
    /// container that already has CPUs, `Some(vec![])` when their number differs from the
    /// request, else the hints regenerated from them; otherwise hints over the available and
    /// the pod's reusable CPUs.
    pub fn container_topology_hints(
        &self,
        state: &PolicyState,
        pod: &PodSpec,
        container: &ContainerSpec,
    ) -> Option<Vec<TopologyHint>> {
        let requested = guaranteed_cpus(pod, container);
        if requested == 0 {
            return None;
        }
        if let Some(allocated) = state.cpuset(&pod.uid, &container.name) {
            if allocated.len() != requested {
                return Some(Vec::new());
            }
            return Some(self.generate_cpu_topology_hints(allocated, &CpuSet::new(), requested));
        }
        let reusable = state.cpus_to_reuse.get(&pod.uid).cloned().unwrap_or_default();
        Some(self.generate_cpu_topology_hints(&self.available_cpus(state), &reusable, requested))
    }

    /// `GetPodTopologyHints` (pod scope), for `podGuaranteedCPUs`: `None` when zero;
    /// `Some(vec![])` when a container's existing CPUs differ from its request; hints
    /// regenerated from the pod's CPUs when they already make up the whole request; otherwise
    /// hints over the available CPUs with the pod's reusable and already assigned CPUs.
    pub fn pod_topology_hints(&self, state: &PolicyState, pod: &PodSpec) -> Option<Vec<TopologyHint>> {
        let requested = pod_guaranteed_cpus(pod);
        if requested == 0 {
            return None;
        }
        let mut assigned = CpuSet::new();
        for c in pod.init_containers.iter().chain(&pod.containers) {
            if let Some(allocated) = state.cpuset(&pod.uid, &c.name) {
                if allocated.len() != guaranteed_cpus(pod, c) {
                    return Some(Vec::new());
                }
                assigned = assigned.union(allocated);
            }
        }
        if assigned.len() == requested {
            return Some(self.generate_cpu_topology_hints(&assigned, &CpuSet::new(), requested));
        }
        let reusable = state
            .cpus_to_reuse
            .get(&pod.uid)
            .cloned()
            .unwrap_or_default()
            .union(&assigned);
        Some(self.generate_cpu_topology_hints(&self.available_cpus(state), &reusable, requested))
    }

    /// `generateCPUTopologyHints`: one hint per NUMA mask (in `IterateBitMasks` order) that
    /// contains every reusable CPU and holds `request` CPUs counting the reusable and the
    /// available ones inside it; preferred when the mask is as narrow as the narrowest mask
    /// whose *capacity* fits the request (or, under align-by-socket, spans the fewest sockets
    /// that capacity needs).
    pub fn generate_cpu_topology_hints(
        &self,
        available: &CpuSet,
        reusable: &CpuSet,
        request: usize,
    ) -> Vec<TopologyHint> {
        let details = &self.topology.details;
        let nodes: Vec<u32> = details.numa_nodes().into_iter().collect();
        let numa_of = |c: CpuId| details.get(&c.0).map_or(0, |i| i.numa);
        let mut min_affinity = nodes.len();
        let mut hints = Vec::new();
        for mask in NodeMask::iterate(&nodes) {
            let bits = mask.nodes();
            let capacity = details.cpus_in_numa_nodes(&bits).len();
            let count = usize::try_from(mask.count()).unwrap_or(usize::MAX);
            if capacity >= request && count < min_affinity {
                min_affinity = count;
            }
            if reusable.iter().any(|c| !mask.is_set(numa_of(c))) {
                continue;
            }
            let matching = reusable.len() + available.iter().filter(|&c| mask.is_set(numa_of(c))).count();
            if matching >= request {
                hints.push(TopologyHint {
                    affinity: Some(mask),
                    preferred: false,
                });
            }
        }
        for hint in &mut hints {
            let Some(mask) = hint.affinity else { continue };
            let count = usize::try_from(mask.count()).unwrap_or(usize::MAX);
            if self.options.align_by_socket && self.is_hint_socket_aligned(mask, min_affinity) {
                hint.preferred = true;
                continue;
            }
            if count == min_affinity {
                hint.preferred = true;
            }
        }
        hints
    }

    /// `isHintSocketAligned`: the mask's NUMA nodes span the fewest sockets `min_affinity` NUMA
    /// nodes need (header counts; never with less than one NUMA node per socket).
    fn is_hint_socket_aligned(&self, mask: NodeMask, min_affinity: usize) -> bool {
        let per_socket = self
            .topology
            .num_numa_nodes
            .checked_div(self.topology.num_sockets)
            .unwrap_or(0);
        if per_socket == 0 {
            return false;
        }
        let min_sockets = min_affinity.div_ceil(per_socket);
        self.topology.details.sockets_in_numa_nodes(&mask.nodes()).len() == min_sockets
    }
}

/// `updateCPUsToReuse`: only the current pod keeps an entry; a regular init container's CPUs
/// become reusable, an app container's or sidecar's stop being so.
fn update_cpus_to_reuse(state: &mut PolicyState, pod: &PodSpec, container: &ContainerSpec, cpus: &CpuSet) {
    state.cpus_to_reuse.retain(|uid, _| *uid == pod.uid);
    let entry = state.cpus_to_reuse.entry(pod.uid.clone()).or_default();
    let regular_init = pod
        .init_containers
        .iter()
        .find(|c| c.name == container.name)
        .is_some_and(|c| !c.restartable);
    *entry = if regular_init {
        entry.union(cpus)
    } else {
        entry.difference(cpus)
    };
}
