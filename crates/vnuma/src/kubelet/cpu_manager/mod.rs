//! The kubelet's CPU Manager static policy, re-implemented from the behaviour reference
//! `kubelet.md` §2: `pkg/kubelet/cm/cpumanager/policy_static.go` (`NewStaticPolicy`, `Start` /
//! `validateState`, `Allocate`, `allocateCPUs`, `RemoveContainer`, `guaranteedCPUs`,
//! `podGuaranteedCPUs`, `GetTopologyHints`, `GetPodTopologyHints`,
//! `generateCPUTopologyHints`), `policy_options.go` (`NewStaticPolicyOptions`,
//! `ValidateStaticPolicyOptions`), the reserved-CPU count of `cpu_manager.go` (`NewManager`);
//! the pod QoS class of `pkg/apis/core/v1/helper/qos` (`GetPodQOS`) is
//! [`crate::k8s::pod::pod_qos`].
//!
//! Two ways in:
//! - the stateless calls [`StaticPolicy::available`], [`StaticPolicy::hints`] and
//!   [`StaticPolicy::allocate`], which take the CPUs already exclusively assigned and treat
//!   every other CPU as part of the shared pool;
//! - the stateful calls on a [`PolicyState`] (the default cpuset, the assignments and the
//!   reusable init-container CPUs) that follow the kubelet step by step: [`StaticPolicy::start`],
//!   [`StaticPolicy::allocate_container`], [`StaticPolicy::remove_container`],
//!   [`StaticPolicy::container_topology_hints`], [`StaticPolicy::pod_topology_hints`].
//!
//! The jobs are split as upstream splits them: `options` (`policy_options.go`) parses and
//! validates `cpuManagerPolicyOptions`; `policy` (`policy_static.go`) is the static policy and
//! its state. This module keeps what they share: the errors, the reserved-CPU count and the pod
//! model. Every item is re-exported here, so `cpu_manager::X` is the one path to use.

use std::collections::BTreeMap;
use std::fmt;

use super::cpu_assignment::TakeByTopologyError;
use crate::cpuset::CpuSet;
use crate::k8s::pod::{PodResources, QosClass, pod_qos};

mod options;
mod policy;
#[cfg(test)]
mod tests;
// what `tests.rs` finds through `use super::*`, as when this module was one file
#[cfg(test)]
use {
    super::cpu_assignment::CpuDetails,
    super::topology::{CpuTopology, NodeMask, TopologyHint},
    std::collections::BTreeSet,
};

pub use options::{
    ALIGN_BY_SOCKET, ALPHA_OPTIONS_GATE, BETA_OPTIONS_GATE, CpuManagerOptions, DISTRIBUTE_CPUS_ACROSS_CORES,
    DISTRIBUTE_CPUS_ACROSS_NUMA, FULL_PCPUS_ONLY, PREFER_ALIGN_CPUS_BY_UNCORECACHE, STRICT_CPU_RESERVATION,
    default_feature_gates,
};
pub use policy::{PolicyState, StaticPolicy, guaranteed_cpus, pod_guaranteed_cpus};

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
    /// `GetPodQOS` over its app and init containers ([`pod_qos`]).
    pub fn qos(&self) -> QosClass {
        pod_qos(
            self.containers
                .iter()
                .chain(&self.init_containers)
                .map(|c| &c.resources),
        )
    }

    /// The container of this pod (init or app) with this name.
    pub fn container(&self, name: &str) -> Option<&ContainerSpec> {
        self.init_containers
            .iter()
            .chain(&self.containers)
            .find(|c| c.name == name)
    }
}
