//! The kubelet's CPU Manager static policy, re-implemented from the behaviour reference
//! `kubelet.md` §2: `pkg/kubelet/cm/cpumanager/policy_static.go` (`NewStaticPolicy`, `Start` /
//! `validateState`, `Allocate`, `allocateCPUs`, `RemoveContainer`, `guaranteedCPUs`,
//! `podGuaranteedCPUs`, `GetTopologyHints`, `GetPodTopologyHints`,
//! `generateCPUTopologyHints`), `policy_options.go` (`NewStaticPolicyOptions`,
//! `ValidateStaticPolicyOptions`), the reserved-CPU count of `cpu_manager.go` (`NewManager`) and
//! the pod QoS class of `pkg/apis/core/v1/helper/qos` (`GetPodQOS`).
//!
//! Two ways in:
//! - the stateless calls [`StaticPolicy::available`], [`StaticPolicy::hints`] and
//!   [`StaticPolicy::allocate`], which take the CPUs already exclusively assigned and treat
//!   every other CPU as part of the shared pool;
//! - the stateful calls on a [`PolicyState`] (the default cpuset, the assignments and the
//!   reusable init-container CPUs) that follow the kubelet step by step: [`StaticPolicy::start`],
//!   [`StaticPolicy::allocate_container`], [`StaticPolicy::remove_container`],
//!   [`StaticPolicy::container_topology_hints`], [`StaticPolicy::pod_topology_hints`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::cpu_assignment::{
    CpuDetails, CpuSortingStrategy, TakeByTopologyError, take_by_topology_numa_distributed,
    take_by_topology_numa_packed,
};
use super::topology::{CpuTopology, NodeMask, TopologyHint};
use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::vmi::pod::{PodResources, QosClass};

#[cfg(test)]
mod tests;

/// `full-pcpus-only` (GA).
pub const FULL_PCPUS_ONLY: &str = "full-pcpus-only";
/// `distribute-cpus-across-numa` (beta).
pub const DISTRIBUTE_CPUS_ACROSS_NUMA: &str = "distribute-cpus-across-numa";
/// `align-by-socket` (alpha).
pub const ALIGN_BY_SOCKET: &str = "align-by-socket";
/// `distribute-cpus-across-cores` (alpha).
pub const DISTRIBUTE_CPUS_ACROSS_CORES: &str = "distribute-cpus-across-cores";
/// `strict-cpu-reservation` (beta).
pub const STRICT_CPU_RESERVATION: &str = "strict-cpu-reservation";
/// `prefer-align-cpus-by-uncorecache` (beta).
pub const PREFER_ALIGN_CPUS_BY_UNCORECACHE: &str = "prefer-align-cpus-by-uncorecache";

/// The feature gate that allows alpha-level options.
pub const ALPHA_OPTIONS_GATE: &str = "CPUManagerPolicyAlphaOptions";
/// The feature gate that allows beta-level options (on by default in the kubelet).
pub const BETA_OPTIONS_GATE: &str = "CPUManagerPolicyBetaOptions";

/// The gates the kubelet enables by default that matter here: `CPUManagerPolicyBetaOptions`.
/// Union this with the gates a configuration turns on (and remove those it turns off).
pub fn default_feature_gates() -> BTreeSet<String> {
    std::iter::once(BETA_OPTIONS_GATE.to_string()).collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Maturity {
    Alpha,
    Beta,
    Stable,
}

fn maturity(option: &str) -> Option<Maturity> {
    match option {
        FULL_PCPUS_ONLY => Some(Maturity::Stable),
        DISTRIBUTE_CPUS_ACROSS_NUMA | STRICT_CPU_RESERVATION | PREFER_ALIGN_CPUS_BY_UNCORECACHE => {
            Some(Maturity::Beta)
        }
        ALIGN_BY_SOCKET | DISTRIBUTE_CPUS_ACROSS_CORES => Some(Maturity::Alpha),
        _ => None,
    }
}

/// Go's `strconv.Quote`, for the texts the kubelet prints with `%q`.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            ' ' => out.push(' '),
            c if c.is_control() || c.is_whitespace() => {
                let code = u32::from(c);
                if code < 0x80 {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code < 0x1_0000 {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `SMTAlignmentError`: a full-pcpus-only request that cannot take whole cores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtAlignmentError {
    /// The CPUs requested.
    pub requested: usize,
    /// CPUs per core (the policy's group size).
    pub cpus_per_core: usize,
    /// Free CPUs of cores without a reserved CPU (set when `caused_by_physical`).
    pub available_physical: usize,
    /// Whether the error is the lack of free physical CPUs rather than the request's size.
    pub caused_by_physical: bool,
}

impl fmt::Display for SmtAlignmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.caused_by_physical {
            write!(
                f,
                "SMT Alignment Error: not enough free physical CPUs: available physical CPUs = {}, requested CPUs = {}, CPUs per core = {}",
                self.available_physical, self.requested, self.cpus_per_core
            )
        } else {
            write!(
                f,
                "SMT Alignment Error: requested {} cpus not multiple cpus per core = {}",
                self.requested, self.cpus_per_core
            )
        }
    }
}

impl std::error::Error for SmtAlignmentError {}

/// What the CPU Manager refuses, with the kubelet's exact texts (the kubelet's own
/// capitalisation and typos kept).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuManagerError {
    /// A policy option the kubelet does not know.
    #[error("unknown CPU Manager Policy option: {}", go_quote(.name))]
    UnknownOption {
        /// The option.
        name: String,
    },
    /// An alpha option without `CPUManagerPolicyAlphaOptions`.
    #[error("CPU Manager Policy Alpha-level Options not enabled, but option {} provided", go_quote(.name))]
    AlphaOptionsDisabled {
        /// The option.
        name: String,
    },
    /// A beta option without `CPUManagerPolicyBetaOptions`.
    #[error("CPU Manager Policy Beta-level Options not enabled, but option {} provided", go_quote(.name))]
    BetaOptionsDisabled {
        /// The option.
        name: String,
    },
    /// A value `strconv.ParseBool` refuses.
    #[error("bad value for option {}: strconv.ParseBool: parsing {}: invalid syntax", go_quote(.name), go_quote(.value))]
    BadOptionValue {
        /// The option.
        name: String,
        /// Its value.
        value: String,
    },
    /// Two options that exclude each other (in the kubelet's order).
    #[error("static policy options {first} and {second} can not be used at the same time")]
    IncompatibleOptions {
        /// The first option of the kubelet's check.
        first: &'static str,
        /// The second.
        second: &'static str,
    },
    /// align-by-socket with the Topology Manager's single-numa-node policy (upstream's typo).
    #[error(
        "Topolgy manager single-numa-node policy is incompatible with CPUManager align-by-socket policy option"
    )]
    AlignBySocketWithSingleNumaNode,
    /// align-by-socket on a machine with more sockets than NUMA nodes.
    #[error(
        "Align by socket is not compatible with hardware where number of sockets are more than number of NUMA"
    )]
    AlignBySocketMoreSocketsThanNuma,
    /// Neither kubeReserved nor systemReserved has a cpu entry.
    #[error("[cpumanager] unable to determine reserved CPU resources for static policy")]
    ReservedCpusUnknown,
    /// kubeReserved.cpu + systemReserved.cpu is zero.
    #[error(
        "[cpumanager] the static policy requires systemreserved.cpu + kubereserved.cpu to be greater than zero"
    )]
    ZeroReservedCpus,
    /// The reserved set does not have the reserved count.
    #[error(
        "[cpumanager] unable to reserve the required amount of CPUs (size of {reserved} did not equal {requested})"
    )]
    UnableToReserve {
        /// The reserved set chosen or given.
        reserved: CpuSet,
        /// numReservedCPUs.
        requested: usize,
    },
    /// A reserved CPU the topology does not have.
    #[error(
        "[cpumanager] unable to build the reserved physical CPUs from the reserved set: unknown CPU ID: {cpu}"
    )]
    UnknownReservedCpu {
        /// The CPU.
        cpu: u32,
    },
    /// full-pcpus-only refused the request.
    #[error(transparent)]
    SmtAlignment(#[from] SmtAlignmentError),
    /// The CPU selection failed.
    #[error(transparent)]
    Take(#[from] TakeByTopologyError),
    /// The checkpoint's default cpuset is empty while containers hold CPUs.
    #[error("default cpuset cannot be empty")]
    EmptyDefaultCpuSet,
    /// strict-cpu-reservation: reserved CPUs found in the shared pool.
    #[error("some of strictly reserved cpus: \"{overlap}\" are present in defaultCpuSet: \"{default}\"")]
    StrictReservedInDefault {
        /// Reserved ∩ default.
        overlap: CpuSet,
        /// The default cpuset.
        default: CpuSet,
    },
    /// Reserved CPUs missing from the shared pool.
    #[error("not all reserved cpus: \"{reserved}\" are present in defaultCpuSet: \"{default}\"")]
    ReservedNotInDefault {
        /// The reserved CPUs.
        reserved: CpuSet,
        /// The default cpuset.
        default: CpuSet,
    },
    /// An assignment overlapping the shared pool.
    #[error(
        "pod: {pod}, container: {container} cpuset: \"{cpuset}\" overlaps with default cpuset \"{default}\""
    )]
    AssignmentOverlapsDefault {
        /// Pod UID.
        pod: String,
        /// Container name.
        container: String,
        /// Its CPUs.
        cpuset: CpuSet,
        /// The default cpuset.
        default: CpuSet,
    },
    /// The checkpoint's CPUs are not the machine's.
    #[error("current set of available CPUs \"{all}\" doesn't match with CPUs in state \"{state}\"")]
    StateMismatch {
        /// The CPUs the policy manages.
        all: CpuSet,
        /// Default ∪ every assignment.
        state: CpuSet,
    },
}

impl CpuManagerError {
    /// The pod-admission reason when this error comes out of `Allocate`: the typed
    /// `SMTAlignmentError`, else `UnexpectedAdmissionError` (what the Topology Manager makes of
    /// any untyped error). Configuration and start-up errors never reach admission; they answer
    /// `UnexpectedAdmissionError` too.
    pub fn reason(&self) -> &'static str {
        match self {
            CpuManagerError::SmtAlignment(_) => "SMTAlignmentError",
            _ => "UnexpectedAdmissionError",
        }
    }

    /// The pod-admission message: a typed error's own text, else
    /// `Allocate failed due to <err>, which is unexpected`.
    pub fn admission_message(&self) -> String {
        match self {
            CpuManagerError::SmtAlignment(e) => e.to_string(),
            other => format!("Allocate failed due to {other}, which is unexpected"),
        }
    }
}

/// `StaticPolicyOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuManagerOptions {
    /// `full-pcpus-only`: whole cores only (SMT alignment checks; distributed group = CPUs per
    /// core).
    pub full_pcpus_only: bool,
    /// `distribute-cpus-across-numa`: the distributed algorithm.
    pub distribute_cpus_across_numa: bool,
    /// `align-by-socket`: align to the sockets of the hint's NUMA nodes.
    pub align_by_socket: bool,
    /// `distribute-cpus-across-cores`: the spread order.
    pub distribute_cpus_across_cores: bool,
    /// `prefer-align-cpus-by-uncorecache`: the uncore step.
    pub prefer_align_cpus_by_uncorecache: bool,
    /// `strict-cpu-reservation`: reserved CPUs out of the shared pool too.
    pub strict_cpu_reservation: bool,
}

impl CpuManagerOptions {
    /// `NewStaticPolicyOptions` then the topology part of `ValidateStaticPolicyOptions`.
    /// `feature_gates` are the gates that are on (see [`default_feature_gates`]).
    ///
    /// Options are checked in name order (the kubelet walks a Go map, whose order is random, so
    /// with two bad options either error may come first there).
    ///
    /// # Errors
    /// The kubelet's option errors ([`CpuManagerError::UnknownOption`],
    /// [`CpuManagerError::AlphaOptionsDisabled`], [`CpuManagerError::BetaOptionsDisabled`],
    /// [`CpuManagerError::BadOptionValue`], [`CpuManagerError::IncompatibleOptions`],
    /// [`CpuManagerError::AlignBySocketMoreSocketsThanNuma`]).
    pub fn parse(
        options: &BTreeMap<String, String>,
        feature_gates: &BTreeSet<String>,
        topology: &CpuTopology,
    ) -> Result<Self, CpuManagerError> {
        Self::parse_with_topology_manager(options, feature_gates, topology, None)
    }

    /// [`CpuManagerOptions::parse`] with the Topology Manager's policy name, so that
    /// align-by-socket with `single-numa-node` is refused too (checked first, as upstream).
    ///
    /// # Errors
    /// As [`CpuManagerOptions::parse`], plus
    /// [`CpuManagerError::AlignBySocketWithSingleNumaNode`].
    pub fn parse_with_topology_manager(
        options: &BTreeMap<String, String>,
        feature_gates: &BTreeSet<String>,
        topology: &CpuTopology,
        topology_manager_policy: Option<&str>,
    ) -> Result<Self, CpuManagerError> {
        let mut opts = CpuManagerOptions::default();
        for (name, value) in options {
            match maturity(name) {
                None => return Err(CpuManagerError::UnknownOption { name: name.clone() }),
                Some(Maturity::Alpha) if !feature_gates.contains(ALPHA_OPTIONS_GATE) => {
                    return Err(CpuManagerError::AlphaOptionsDisabled { name: name.clone() });
                }
                Some(Maturity::Beta) if !feature_gates.contains(BETA_OPTIONS_GATE) => {
                    return Err(CpuManagerError::BetaOptionsDisabled { name: name.clone() });
                }
                Some(_) => {}
            }
            let on = parse_bool(value).ok_or_else(|| CpuManagerError::BadOptionValue {
                name: name.clone(),
                value: value.clone(),
            })?;
            match name.as_str() {
                FULL_PCPUS_ONLY => opts.full_pcpus_only = on,
                DISTRIBUTE_CPUS_ACROSS_NUMA => opts.distribute_cpus_across_numa = on,
                ALIGN_BY_SOCKET => opts.align_by_socket = on,
                DISTRIBUTE_CPUS_ACROSS_CORES => opts.distribute_cpus_across_cores = on,
                STRICT_CPU_RESERVATION => opts.strict_cpu_reservation = on,
                _ => opts.prefer_align_cpus_by_uncorecache = on,
            }
        }
        let pairs = [
            (
                opts.full_pcpus_only && opts.distribute_cpus_across_cores,
                FULL_PCPUS_ONLY,
                DISTRIBUTE_CPUS_ACROSS_CORES,
            ),
            (
                opts.distribute_cpus_across_numa && opts.distribute_cpus_across_cores,
                DISTRIBUTE_CPUS_ACROSS_NUMA,
                DISTRIBUTE_CPUS_ACROSS_CORES,
            ),
            (
                opts.prefer_align_cpus_by_uncorecache && opts.distribute_cpus_across_cores,
                PREFER_ALIGN_CPUS_BY_UNCORECACHE,
                DISTRIBUTE_CPUS_ACROSS_CORES,
            ),
            (
                opts.prefer_align_cpus_by_uncorecache && opts.distribute_cpus_across_numa,
                PREFER_ALIGN_CPUS_BY_UNCORECACHE,
                DISTRIBUTE_CPUS_ACROSS_NUMA,
            ),
        ];
        if let Some(&(_, first, second)) = pairs.iter().find(|p| p.0) {
            return Err(CpuManagerError::IncompatibleOptions { first, second });
        }
        if opts.align_by_socket {
            if topology_manager_policy == Some("single-numa-node") {
                return Err(CpuManagerError::AlignBySocketWithSingleNumaNode);
            }
            if topology.num_sockets > topology.num_numa_nodes {
                return Err(CpuManagerError::AlignBySocketMoreSocketsThanNuma);
            }
        }
        Ok(opts)
    }

    /// The sorting strategy: spread with distribute-cpus-across-cores, else packed.
    pub fn strategy(&self) -> CpuSortingStrategy {
        if self.distribute_cpus_across_cores {
            CpuSortingStrategy::Spread
        } else {
            CpuSortingStrategy::Packed
        }
    }
}

/// `numReservedCPUs` as `NewManager` computes it: with an explicit `reservedSystemCPUs` list,
/// its size (the kubelet overwrites the reserved cpu quantity with it); otherwise
/// `ceil((kubeReserved.cpu + systemReserved.cpu) / 1000m)`. `reserved_cpu_millis` is `None`
/// when neither reservation names cpu.
///
/// # Errors
/// [`CpuManagerError::ReservedCpusUnknown`] without a cpu reservation,
/// [`CpuManagerError::ZeroReservedCpus`] for a zero one.
pub fn num_reserved_cpus(
    reserved_cpu_millis: Option<i64>,
    reserved_system_cpus: &CpuSet,
) -> Result<usize, CpuManagerError> {
    if !reserved_system_cpus.is_empty() {
        return Ok(reserved_system_cpus.len());
    }
    let millis = reserved_cpu_millis.ok_or(CpuManagerError::ReservedCpusUnknown)?;
    if millis == 0 {
        return Err(CpuManagerError::ZeroReservedCpus);
    }
    let millis = u64::try_from(millis).map_err(|_| CpuManagerError::ZeroReservedCpus)?;
    usize::try_from(millis.div_ceil(1000)).map_err(|_| CpuManagerError::ZeroReservedCpus)
}

/// A container as the CPU Manager sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// Its name (unique in the pod).
    pub name: String,
    /// Requests and limits (cpu in millicores). A limit without a request counts as the
    /// request too, as the API server's defaulting makes it.
    pub resources: PodResources,
    /// An init container with `restartPolicy: Always` (a sidecar).
    pub restartable: bool,
}

/// A pod as the CPU Manager sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodSpec {
    /// Its UID (the state's key).
    pub uid: String,
    /// Init containers, in order.
    pub init_containers: Vec<ContainerSpec>,
    /// App containers, in order.
    pub containers: Vec<ContainerSpec>,
}

impl ContainerSpec {
    /// A container with the same cpu (millicores) and memory (bytes) request and limit.
    pub fn guaranteed(name: &str, cpu_millis: i64, memory: i64) -> Self {
        let both: BTreeMap<String, i64> =
            [("cpu".to_string(), cpu_millis), ("memory".to_string(), memory)].into();
        ContainerSpec {
            name: name.to_string(),
            resources: PodResources {
                requests: both.clone(),
                limits: both,
            },
            restartable: false,
        }
    }

    /// The request of `resource` after defaulting from the limit.
    fn request(&self, resource: &str) -> Option<i64> {
        self.resources
            .requests
            .get(resource)
            .or_else(|| self.resources.limits.get(resource))
            .copied()
    }
}

impl PodSpec {
    /// `GetPodQOS`: Guaranteed when every container has positive cpu and memory limits and the
    /// pod's summed requests equal its summed limits (positive quantities only); BestEffort
    /// without any positive request or limit; Burstable otherwise.
    pub fn qos(&self) -> QosClass {
        let mut requests: BTreeMap<&str, i64> = BTreeMap::new();
        let mut limits: BTreeMap<&str, i64> = BTreeMap::new();
        let mut guaranteed = true;
        for c in self.containers.iter().chain(&self.init_containers) {
            let mut limits_found = 0;
            for resource in ["cpu", "memory"] {
                if let Some(q) = c.request(resource).filter(|&q| q > 0) {
                    let sum = requests.entry(resource).or_insert(0);
                    *sum = sum.saturating_add(q);
                }
                if let Some(&q) = c.resources.limits.get(resource).filter(|&&q| q > 0) {
                    limits_found += 1;
                    let sum = limits.entry(resource).or_insert(0);
                    *sum = sum.saturating_add(q);
                }
            }
            if limits_found < 2 {
                guaranteed = false;
            }
        }
        if requests.is_empty() && limits.is_empty() {
            return QosClass::BestEffort;
        }
        if guaranteed
            && requests.len() == limits.len()
            && requests.iter().all(|(r, q)| limits.get(r) == Some(q))
        {
            QosClass::Guaranteed
        } else {
            QosClass::Burstable
        }
    }

    /// The container of this pod (init or app) with this name.
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .find(|c| c.name == name)
    }
}

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
    fn allocate_cpus(
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
