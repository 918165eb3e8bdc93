//! Admission and allocation of one Guaranteed container (virt-launcher's compute container),
//! the way the kubelet runs its managers: build the CPU, Topology and Memory Managers from the
//! configuration (a configuration the kubelet would refuse to start with is an error), gather
//! the CPU and memory hints, merge them under the Topology Manager policy, admit or reject,
//! then allocate CPUs and memory aligned to the merged hint.

use std::collections::{BTreeMap, BTreeSet};

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::kubelet::config::KubeletConfig;
use crate::kubelet::cpu_manager::{CpuManagerError, CpuManagerOptions, StaticPolicy, num_reserved_cpus};
use crate::kubelet::memory_manager::{
    MemoryManager, MemoryManagerCheckpoint, MemoryManagerError, MemoryManagerPolicy, nodes_from_host,
};
use crate::kubelet::quirks::{KUBELET_PANIC, QuirkWarning, whole_take_warnings};
use crate::kubelet::topology::CpuTopology;
use crate::kubelet::topology_manager::{NumaInfo, ProviderHints, TopologyManager, TopologyManagerError};
use crate::topology::HostTopology;

/// What the container asks for (requests = limits).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// CPU in millicores; a whole number of CPUs gets exclusive CPUs under the static policy.
    pub cpu_millis: i64,
    /// Memory in bytes.
    pub memory: u64,
    /// Hugepages by resource name (`hugepages-2Mi`) in bytes.
    pub hugepages: BTreeMap<String, u64>,
}

/// What other pods already hold.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// Exclusive CPUs assigned to other containers.
    pub assigned_cpus: CpuSet,
    /// The Memory Manager's checkpoint, when given.
    pub memory_checkpoint: Option<MemoryManagerCheckpoint>,
}

/// The kubelet's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Admitted.
    pub admitted: bool,
    /// The container's cpuset (exclusive CPUs, or the shared pool), when admitted.
    pub cpuset: Option<CpuSet>,
    /// Whether the CPUs are exclusive.
    pub exclusive: bool,
    /// Nodes of the CPUs, plus the nodes of the memory blocks under the static Memory Manager.
    pub numa_nodes: Vec<u32>,
    /// Memory taken per (node, resource) in bytes (static Memory Manager only).
    pub memory: Vec<(u32, String, u64)>,
    /// The kubelet's rejection: reason (`TopologyAffinityError`, `SMTAlignmentError`, ...,
    /// or `KubeletPanic` when the kubelet would crash on the pod) and message.
    pub error: Option<(String, String)>,
    /// The reserved CPUs.
    pub reserved: CpuSet,
    /// Kubelet quirks that shaped an admitted allocation (`kubelet-quirk:…` codes), e.g. reserved
    /// or assigned CPUs handed out by a whole-socket take on an uneven machine.
    pub warnings: Vec<QuirkWarning>,
}

/// A configuration the kubelet would refuse to start with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeletStartError {
    /// CPU Manager.
    #[error(transparent)]
    Cpu(#[from] CpuManagerError),
    /// Topology Manager.
    #[error(transparent)]
    Topology(#[from] TopologyManagerError),
    /// Memory Manager.
    #[error(transparent)]
    Memory(#[from] MemoryManagerError),
    /// An unknown CPU Manager policy.
    #[error("unknown policy: \"{0}\"")]
    UnknownCpuPolicy(String),
}

/// The managers built from one configuration on one host.
#[derive(Debug, Clone)]
pub struct Kubelet {
    topology: CpuTopology,
    cpu: Option<StaticPolicy>,
    tm: TopologyManager,
    memory: Option<MemoryManager>,
}

impl Kubelet {
    /// Starts the managers as the kubelet would.
    ///
    /// # Errors
    /// [`KubeletStartError`] with the kubelet's message.
    pub fn start(
        host: &HostTopology,
        config: &KubeletConfig,
        memory_checkpoint: Option<&MemoryManagerCheckpoint>,
    ) -> Result<Self, KubeletStartError> {
        let topology = CpuTopology::from_host(host);
        let tm = TopologyManager::new(
            &config.topology_manager_policy,
            &config.topology_manager_scope,
            &config.topology_manager_policy_options,
            &config.feature_gates,
            NumaInfo::from_host(host),
        )?;
        let cpu = match config.cpu_manager_policy.as_str() {
            "none" => None,
            "static" => {
                let options = CpuManagerOptions::parse_with_topology_manager(
                    &config.cpu_manager_policy_options,
                    &config.feature_gates,
                    &topology,
                    Some(&config.topology_manager_policy),
                )?;
                let n = num_reserved_cpus(config.reserved_cpu_millis, &config.reserved_system_cpus)?;
                Some(StaticPolicy::new(
                    topology.clone(),
                    n,
                    &config.reserved_system_cpus,
                    options,
                )?)
            }
            other => return Err(KubeletStartError::UnknownCpuPolicy(other.to_string())),
        };
        let memory = match MemoryManagerPolicy::parse(&config.memory_manager_policy)? {
            MemoryManagerPolicy::None => None,
            MemoryManagerPolicy::Static => {
                let nodes = nodes_from_host(host);
                Some(match memory_checkpoint {
                    Some(cp) => MemoryManager::start(&nodes, &config.reserved_memory, cp)?,
                    None => MemoryManager::new(&nodes, &config.reserved_memory)?,
                })
            }
        };
        Ok(Kubelet {
            topology,
            cpu,
            tm,
            memory,
        })
    }

    /// The reserved CPUs (empty without the static policy).
    pub fn reserved(&self) -> CpuSet {
        self.cpu
            .as_ref()
            .map(|p| p.reserved().clone())
            .unwrap_or_default()
    }

    /// Admits and allocates one Guaranteed container. `&mut self` because the Memory Manager
    /// records what it hands out (so a caller can place several pods in turn).
    pub fn allocate(&mut self, request: &Request, assigned_cpus: &CpuSet) -> Allocation {
        let reserved = self.reserved();
        let mut result = Allocation {
            admitted: false,
            cpuset: None,
            exclusive: false,
            numa_nodes: Vec::new(),
            memory: Vec::new(),
            error: None,
            reserved: reserved.clone(),
            warnings: Vec::new(),
        };
        let whole = request.cpu_millis > 0 && request.cpu_millis % 1000 == 0;
        let n = match (&self.cpu, whole) {
            (Some(_), true) => usize::try_from(request.cpu_millis / 1000).unwrap_or(usize::MAX),
            _ => 0,
        };
        let mut memory_requests: BTreeMap<String, u64> = request.hugepages.clone();
        memory_requests.insert("memory".into(), request.memory);

        // Under policy `none` the Topology Manager asks no provider for hints (and hint
        // generation walks every subset of the NUMA nodes: 2^64 on a 64-node host).
        let none = self.tm.policy() == crate::kubelet::topology_manager::Policy::None;
        let cpu_hints: ProviderHints = self
            .cpu
            .as_ref()
            .filter(|_| !none)
            .and_then(|p| p.hints(assigned_cpus, n))
            .map(|hints| [("cpu".to_string(), Some(hints))].into_iter().collect());
        let memory_hints: ProviderHints = self
            .memory
            .as_ref()
            .filter(|_| !none)
            .and_then(|m| m.hints(&memory_requests));
        // a Go panic while merging is the kubelet crashing on this pod: no answer, never admitted
        // (see `TopologyManager::merge` for when and why)
        let (hint, admitted) = match self.tm.merge(&[cpu_hints, memory_hints]) {
            Ok(merged) => merged,
            Err(panic) => {
                result.error = Some((KUBELET_PANIC.into(), panic.to_string()));
                return result;
            }
        };
        if !admitted {
            result.error = Some((
                "TopologyAffinityError".into(),
                "Resources cannot be allocated with Topology locality".into(),
            ));
            return result;
        }
        let cpuset = match (&self.cpu, n) {
            (Some(policy), n) if n > 0 => match policy.allocate(assigned_cpus, n, hint.affinity) {
                Ok(set) => {
                    // reproduced as the kubelet does it; told, since it breaks the promise of
                    // exclusive CPUs
                    result.warnings = whole_take_warnings(&self.topology, &set, &reserved, assigned_cpus);
                    result.exclusive = true;
                    set
                }
                Err(e) => {
                    result.error = Some((e.reason().to_string(), e.admission_message()));
                    return result;
                }
            },
            // the shared pool: every CPU no container holds exclusively (the static policy's
            // strict reservation keeps the reserved ones out of it too)
            (Some(policy), _) => policy.all_cpus().difference(assigned_cpus),
            (None, _) => self.topology.all_cpus(),
        };
        let mut nodes: BTreeSet<u32> = cpuset
            .iter()
            .filter_map(|c: CpuId| self.topology.details.get(&c.0).map(|i| i.numa))
            .collect();
        if let Some(mm) = self.memory.as_mut() {
            match mm.allocate_detailed(&memory_requests, hint) {
                Ok(allocation) => {
                    for block in &allocation.blocks {
                        nodes.extend(block.numa_affinity.iter().copied());
                    }
                    result.memory = allocation.taken;
                }
                Err(e) => {
                    result.error = Some((e.reason().to_string(), e.to_string()));
                    return result;
                }
            }
        }
        result.admitted = true;
        result.cpuset = Some(cpuset);
        result.numa_nodes = nodes.into_iter().collect();
        result
    }
}

/// One-shot: start the managers and allocate.
///
/// # Errors
/// [`KubeletStartError`] for a configuration the kubelet would refuse.
pub fn allocate(
    host: &HostTopology,
    config: &KubeletConfig,
    request: &Request,
    existing: &Existing,
) -> Result<Allocation, KubeletStartError> {
    let mut kubelet = Kubelet::start(host, config, existing.memory_checkpoint.as_ref())?;
    Ok(kubelet.allocate(request, &existing.assigned_cpus))
}

#[cfg(test)]
mod tests;
