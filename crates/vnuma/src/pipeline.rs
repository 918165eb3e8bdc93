//! The one engine every front end calls (the CLI today; the KubeVirt hook and the cluster
//! server next), in the spirit of Firecracker's single `VmmAction` entry: documents and the
//! host in, typed results out, no I/O. The caller reads the files and hands in their text as
//! [`Source`]s, and prints what comes back; nothing of the composition lives in a front end.
//!
//! - [`load_vmi`]: a VMI or VirtualMachine with its instancetypes and the KubeVirt CR, through
//!   KubeVirt's defaults and admission.
//! - [`load_kubelet`]: the KubeletConfiguration and what other pods already hold.
//! - [`pod_request`]: the virt-launcher compute container's request, as the kubelet sees it.
//! - [`plan`]: the guest plan on a given cpuset, or on the cpuset the kubelet would give.
//! - [`kubelet_facts`]: the kubelet's numbers behind `explain`'s advice.
//!
//! Failures of the input are a [`PipelineError`] (exit 2 in the CLI); a VM that cannot run is
//! a result, [`GuestPlan::error`] or [`Allocation::error`] (exit 1): [`exit_code`] maps both.

use crate::cpuset::CpuSet;
use crate::kubelet::allocate::{Allocation, Existing, KubeletStartError, Request, allocate};
use crate::kubelet::config::{KubeletConfig, read_cpu_manager_state, read_kubelet_config};
use crate::kubelet::memory_manager::MemoryManagerCheckpoint;
use crate::plan::{CpusetSource, GuestPlan, PlanOptions, Warning};
use crate::report::explain::KubeletFacts;
use crate::report::plan::KubeletSettings;
use crate::topology::HostTopology;
use crate::vmi::input::{Source, read_vmi_selected};
use crate::vmi::select::Selector;
use crate::vmi::{ClusterConfig, Vmi, VmiError, admission, cluster, defaults};

/// An input the pipeline cannot use (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The VMI, an instancetype, the KubeVirt CR or the KubeletConfiguration.
    #[error(transparent)]
    Document(#[from] VmiError),
    /// A kubelet checkpoint that does not parse.
    #[error("{origin}: {message}")]
    Checkpoint {
        /// The file.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A kubelet configuration the kubelet would refuse to start with.
    #[error(transparent)]
    KubeletStart(#[from] KubeletStartError),
}

/// The process exit code of a result: 0 it runs, 1 it cannot run as planned (or the kubelet
/// rejects the pod); input errors are 2 ([`PipelineError`]).
pub fn exit_code(cannot_run: bool) -> u8 {
    u8::from(cannot_run)
}

/// Where the VMI comes from.
#[derive(Debug, Clone, Copy)]
pub struct VmiSources<'a> {
    /// The VMI or VirtualMachine stream.
    pub main: Source<'a>,
    /// Instancetypes and preferences given apart.
    pub extra: &'a [Source<'a>],
    /// Which object of the stream.
    pub selector: &'a Selector,
    /// The KubeVirt CR, when given.
    pub kubevirt_config: Option<Source<'a>>,
}

/// Reads the VMI, applies KubeVirt's defaults and runs its admission.
///
/// # Errors
/// [`VmiError`] naming the file and field, or [`VmiError::Rejected`] with every cause.
pub fn load_vmi(sources: &VmiSources<'_>) -> Result<(Vmi, ClusterConfig), VmiError> {
    let mut vmi = read_vmi_selected(sources.main, sources.extra, sources.selector)?;
    let cluster = match sources.kubevirt_config {
        Some(source) => cluster::read_cluster_config(source)?,
        None => ClusterConfig::default(),
    };
    defaults::apply(&mut vmi, &cluster);
    let causes = admission::validate(&vmi, &cluster);
    if !causes.is_empty() {
        return Err(VmiError::Rejected { causes });
    }
    Ok((vmi, cluster))
}

/// The kubelet's configuration and the node's existing allocations, as given.
#[derive(Debug, Clone, Default)]
pub struct KubeletSources<'a> {
    /// A KubeletConfiguration; without it, vnuma's assumed defaults
    /// ([`KubeletConfig::assumed_defaults`]).
    pub config: Option<Source<'a>>,
    /// `reservedSystemCPUs`, overriding the configuration's.
    pub reserved: Option<CpuSet>,
    /// Exclusive CPUs other containers hold.
    pub allocated: Option<CpuSet>,
    /// The kubelet's `cpu_manager_state` checkpoint (overrides `allocated`).
    pub cpu_manager_state: Option<Source<'a>>,
    /// The kubelet's `memory_manager_state` checkpoint.
    pub memory_manager_state: Option<Source<'a>>,
}

/// The configuration and the existing allocations.
///
/// # Errors
/// [`PipelineError`] for a document or checkpoint that does not parse.
pub fn load_kubelet(sources: &KubeletSources<'_>) -> Result<(KubeletConfig, Existing), PipelineError> {
    let mut config = match sources.config {
        Some(source) => read_kubelet_config(source).map_err(VmiError::from)?,
        None => KubeletConfig::assumed_defaults(),
    };
    if let Some(reserved) = &sources.reserved {
        config.reserved_system_cpus = reserved.clone();
        config.reserved_cpu_millis = Some(i64::try_from(reserved.len()).unwrap_or(i64::MAX) * 1000);
    }
    let mut existing = Existing::default();
    if let Some(allocated) = &sources.allocated {
        existing.assigned_cpus = allocated.clone();
    }
    if let Some(source) = sources.cpu_manager_state {
        existing.assigned_cpus =
            read_cpu_manager_state(source.origin, source.text).map_err(VmiError::from)?;
    }
    if let Some(source) = sources.memory_manager_state {
        existing.memory_checkpoint =
            Some(
                MemoryManagerCheckpoint::parse(source.text).map_err(|e| PipelineError::Checkpoint {
                    origin: source.origin.to_string(),
                    message: e.to_string(),
                })?,
            );
    }
    Ok((config, existing))
}

/// The pod's request, as virt-controller renders the compute container, for the kubelet
/// simulation. `fix_quirks` turns KubeVirt's parity quirk off.
pub fn pod_request(vmi: &Vmi, cluster: &ClusterConfig, fix_quirks: bool) -> Request {
    let pod = crate::vmi::pod::render(vmi, cluster, fix_quirks);
    let get = |k: &str| pod.requests.get(k).copied().unwrap_or(0);
    Request {
        cpu_millis: get("cpu"),
        memory: u64::try_from(get("memory")).unwrap_or(0),
        hugepages: pod
            .requests
            .iter()
            .filter(|(k, _)| k.starts_with("hugepages-"))
            .map(|(k, v)| (k.clone(), u64::try_from(*v).unwrap_or(0)))
            .collect(),
    }
}

/// Which CPUs the pod has.
#[derive(Debug, Clone, Copy)]
pub enum Cpuset<'a> {
    /// Given (`--cpuset`, a cgroup): the CPUs in the order written.
    Given(&'a [u32], CpusetSource),
    /// Whatever the kubelet would give, under this configuration and these allocations.
    Predicted(&'a KubeletConfig, &'a Existing),
}

/// A plan and where its cpuset came from.
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    /// The plan (its `error` says whether the VM can run).
    pub plan: GuestPlan,
    /// Where the cpuset came from.
    pub source: CpusetSource,
    /// The kubelet's settings, when it predicted the cpuset.
    pub kubelet: Option<KubeletSettings>,
}

impl PlanOutcome {
    /// 0 or 1, see [`exit_code`].
    pub fn exit_code(&self) -> u8 {
        exit_code(self.plan.error.is_some())
    }
}

/// Plans the VM: on the given cpuset, or on the kubelet's predicted allocation (a pod the
/// kubelet rejects is a plan whose error is the kubelet's reason). Failed plans carry vnuma's
/// hint of what to do.
///
/// # Errors
/// [`PipelineError::KubeletStart`] for a configuration the kubelet would refuse.
pub fn plan(
    host: &HostTopology,
    vmi: &Vmi,
    cluster: &ClusterConfig,
    cpuset: Cpuset<'_>,
    options: &PlanOptions,
) -> Result<PlanOutcome, PipelineError> {
    let mut outcome = match cpuset {
        Cpuset::Given(cpus, source) => PlanOutcome {
            plan: crate::plan::plan(host, vmi, cpus, options),
            source,
            kubelet: None,
        },
        Cpuset::Predicted(config, existing) => {
            let request = pod_request(vmi, cluster, options.fix_quirks);
            let allocation = allocate(host, config, &request, existing)?;
            PlanOutcome {
                plan: predicted(host, vmi, cluster, &allocation, options),
                source: CpusetSource::Predicted,
                kubelet: Some(KubeletSettings::new(config, &allocation.reserved)),
            }
        }
    };
    crate::plan::hints::add(&mut outcome.plan, host, vmi, outcome.source);
    Ok(outcome)
}

/// The plan on the kubelet's allocation, with the warnings only a prediction has.
fn predicted(
    host: &HostTopology,
    vmi: &Vmi,
    cluster: &ClusterConfig,
    allocation: &Allocation,
    options: &PlanOptions,
) -> GuestPlan {
    if let Some((reason, message)) = &allocation.error {
        return crate::plan::kubelet_rejected(vmi, format!("{reason}: {message}"));
    }
    let cpuset: Vec<u32> = allocation
        .cpuset
        .iter()
        .flat_map(|s| s.iter().map(|c| c.0))
        .collect();
    let mut plan = crate::plan::plan(host, vmi, &cpuset, options);
    let warning = |code: &str, message: String| Warning {
        code: code.to_string(),
        message,
        details: Vec::new(),
    };
    if !options.fix_quirks
        && let Some((pod, launcher)) = crate::vmi::pod::parity_mismatch(vmi, cluster)
    {
        plan.warnings.push(warning(
            "kubevirt-quirk:parity-mismatch",
            format!(
                "KubeVirt gives the pod {} CPUs but virt-launcher pins {} (supplemental IOThreads counted twice in \
                 the emulator's even parity); --fix-kubevirt-quirks gives the pod what the launcher needs",
                pod / 1000,
                launcher / 1000
            ),
        ));
    }
    plan.warnings.extend(
        allocation
            .warnings
            .iter()
            .map(|w| warning(&w.code, w.message.clone())),
    );
    if !allocation.exclusive {
        plan.warnings.push(warning(
            "cpuset-shared-pool",
            "the kubelet gives this pod no exclusive CPUs (cpuManagerPolicy none, or a pod that is \
             not Guaranteed): its cpuset is the shared pool"
                .into(),
        ));
    }
    plan
}

/// The kubelet's numbers for `explain`'s advice: the pod's CPUs and why, the policies, and per
/// node the CPUs, the reserved ones and those other pods hold, from the same simulation
/// [`plan`] predicts with.
///
/// # Errors
/// [`PipelineError::KubeletStart`] for a configuration the kubelet would refuse.
pub fn kubelet_facts(
    host: &HostTopology,
    vmi: &Vmi,
    cluster: &ClusterConfig,
    config: &KubeletConfig,
    existing: &Existing,
    fix_quirks: bool,
) -> Result<KubeletFacts, PipelineError> {
    let request = pod_request(vmi, cluster, fix_quirks);
    let allocation = allocate(host, config, &request, existing)?;
    let (_, why) = crate::plan::hints::cpus_needed(vmi);
    let count = |set: &CpuSet, node: &crate::topology::Node| {
        u32::try_from(node.cpus.iter().filter(|c| set.contains(**c)).count()).unwrap_or(u32::MAX)
    };
    Ok(KubeletFacts {
        pod_cpus: u32::try_from(request.cpu_millis / 1000).unwrap_or(u32::MAX),
        pod_cpus_why: why,
        cpu_manager_policy: config.cpu_manager_policy.clone(),
        topology_manager_policy: config.topology_manager_policy.clone(),
        nodes: host
            .nodes
            .iter()
            .filter(|n| !n.cpus.is_empty())
            .map(|n| {
                (
                    n.id.0,
                    u32::try_from(n.cpus.len()).unwrap_or(u32::MAX),
                    count(&allocation.reserved, n),
                    count(&existing.assigned_cpus, n),
                )
            })
            .collect(),
    })
}
