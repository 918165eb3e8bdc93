//! Stage 4: the plan. A validated [`Vmi`], the host and the pod's cpuset become a
//! [`GuestPlan`]: exactly what KubeVirt's virt-launcher would put in the domain for dedicated
//! CPUs and `guestMappingPassthrough`, plus vnuma's checks KubeVirt lacks (per-node hugepage
//! feasibility, distances libvirt would reject) and warnings a person should see.
//!
//! - [`pool`]: the vCPU pool (§1.7); [`pinning`]: vCPU, emulator and IOThread pins
//!   (§1.6–§1.9); [`layout`]: which guest cells (passthrough is one policy);
//!   [`numa`]: `numaMapping` (§1.10) in steps; [`hugepages`]: feasibility per host node;
//!   [`warnings`]: what a person should notice; [`realtime`]: the realtime mask.
//! - KubeVirt's quirks (`cli-contract.md`) are reproduced unless [`PlanOptions::fix_quirks`];
//!   each one that changes the result adds a `kubevirt-quirk:*` warning.

pub mod hints;
pub mod hugepages;
pub mod invariants;
pub mod layout;
pub mod numa;
pub mod pinning;
pub mod pool;
pub mod realtime;
pub mod warnings;

use crate::topology::HostTopology;
use crate::vmi::Vmi;

use pool::{KvCell, KvCpu, KvTopology};

/// Which KubeVirt to reproduce. Only guest distances differ between versions (main passes
/// the host's through since kubevirt PR #18829); everything else is main's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KubevirtVersion {
    /// main after v1.9.0: guest cells carry host distances.
    #[default]
    Main,
    /// v1.9.0 or earlier: no distances.
    V1_9OrEarlier,
    /// The release v1.MINOR (MINOR 0 to 8): behaves as [`KubevirtVersion::V1_9OrEarlier`],
    /// reported as `1.MINOR`.
    V1Minor(u8),
}

impl KubevirtVersion {
    /// What the command line accepts, for messages.
    pub const ACCEPTED: &'static str = "main, or a release 1.0 to 1.9 (also written v1.9 or 1.9.0)";

    /// Reads `main`, `1.N`, `v1.N` or `1.N.P` (N 0 to 9).
    ///
    /// # Errors
    /// The refusal, listing what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "main" {
            return Ok(KubevirtVersion::Main);
        }
        let bare = text.strip_prefix('v').unwrap_or(text);
        let parts: Vec<&str> = bare.split('.').collect();
        let number = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let minor = match parts.as_slice() {
            ["1", minor] | ["1", minor, _] if parts.iter().all(|p| number(p)) => minor.parse::<u8>().ok(),
            _ => None,
        };
        match minor {
            Some(9) => Ok(KubevirtVersion::V1_9OrEarlier),
            Some(m) if m < 9 => Ok(KubevirtVersion::V1Minor(m)),
            _ => Err(format!(
                "unknown KubeVirt version {text:?}; vnuma reproduces {}",
                Self::ACCEPTED
            )),
        }
    }

    /// The name reports print: `main`, or the release as `1.MINOR`.
    pub fn label(self) -> String {
        match self {
            KubevirtVersion::Main => "main".into(),
            KubevirtVersion::V1_9OrEarlier => "1.9".into(),
            KubevirtVersion::V1Minor(m) => format!("1.{m}"),
        }
    }
}

/// How to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanOptions {
    /// The KubeVirt release to reproduce.
    pub kubevirt_version: KubevirtVersion,
    /// Turn every KubeVirt quirk off.
    pub fix_quirks: bool,
    /// A hugepage shortfall is a warning instead of an error.
    pub allow_hugepage_shortfall: bool,
}

/// Where the pod cpuset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpusetSource {
    /// `--cpuset`.
    Flag,
    /// `--cgroup`.
    Cgroup,
    /// Predicted from the kubelet simulation.
    Predicted,
}

impl CpusetSource {
    /// The contract's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            CpusetSource::Flag => "flag",
            CpusetSource::Cgroup => "cgroup",
            CpusetSource::Predicted => "predicted",
        }
    }
}

/// Why a plan cannot run (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// The vCPU pool.
    Pinning,
    /// The emulator thread.
    EmulatorThread,
    /// IOThreads.
    IoThreads,
    /// `numaMapping`.
    NumaMapping,
    /// A host node without the hugepages its guest cell needs.
    HugepageShortfall,
    /// The kubelet would not admit the pod.
    KubeletRejected,
}

impl FailureReason {
    /// The contract's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Pinning => "pinning",
            FailureReason::EmulatorThread => "emulator-thread",
            FailureReason::IoThreads => "iothreads",
            FailureReason::NumaMapping => "numa-mapping",
            FailureReason::HugepageShortfall => "hugepage-shortfall",
            FailureReason::KubeletRejected => "kubelet-rejected",
        }
    }
}

/// A failure with KubeVirt's (or vnuma's) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which step failed.
    pub reason: FailureReason,
    /// The message (KubeVirt's exact words where the failure is KubeVirt's).
    pub message: String,
    /// What to do about it (vnuma's words, one suggestion per line), kept apart from the
    /// message so scripts matching KubeVirt's text keep matching. See [`hints::add`].
    pub hint: Option<String>,
}

/// Something a person should notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// A stable code, e.g. `asymmetric-cells` or `kubevirt-quirk:sibling-ranges-dropped`.
    pub code: String,
    /// Plain words (a long list is summarised: its first items and how many more).
    pub message: String,
    /// Every item of a list the message summarises (empty when the message says it all).
    pub details: Vec<String>,
}

/// One guest NUMA cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Guest cell id.
    pub id: u32,
    /// The host nodes its vCPUs and memory are on, ascending (one node with passthrough;
    /// [`Cell::host_node`] reads it).
    pub host_nodes: Vec<u32>,
    /// Its vCPUs, ascending.
    pub vcpus: Vec<u32>,
    /// Its memory in bytes.
    pub memory_bytes: u64,
    /// Distances to guest cells (guest id, value), in the host's sibling order; `None` when
    /// left out.
    pub distances: Option<Vec<(u32, u32)>>,
}

impl Cell {
    /// The host node, when the cell is on exactly one (always with passthrough).
    pub fn host_node(&self) -> Option<u32> {
        match self.host_nodes.as_slice() {
            [node] => Some(*node),
            _ => None,
        }
    }

    /// `host node 0`, or `host nodes 0,1` for a cell on several.
    pub fn host_nodes_phrase(&self) -> String {
        let plural = if self.host_nodes.len() == 1 { "" } else { "s" };
        format!("host node{plural} {}", self.host_nodes_label())
    }

    /// The host nodes in KubeVirt's comma form (`0` for one node, `0,1` for two).
    pub fn host_nodes_label(&self) -> String {
        comma_nodes(&self.host_nodes)
    }
}

/// Node ids joined by commas, as KubeVirt writes a memnode's nodeset.
pub fn comma_nodes(nodes: &[u32]) -> String {
    nodes.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Per host node set: the hugepages its guest cells need against what it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepageVerdict {
    /// The first host node of the set (the only one when a cell is on one node, as with
    /// passthrough).
    pub host_node: u32,
    /// The host nodes whose free pages are summed against the need, ascending.
    pub host_nodes: Vec<u32>,
    /// Page size in bytes.
    pub page_size_bytes: u64,
    /// Pages the guest cells bound to the node set need.
    pub pages_needed: u64,
    /// Free pages of the set's nodes together (or totals when the source only knows totals).
    pub pages_free: u64,
    /// Whether `pages_free` is really a free count.
    pub free_known: bool,
    /// `pages_needed <= pages_free`.
    pub fits: bool,
}

/// `<numatune>`: strict binding of guest memory to host nodes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Numatune {
    /// `<memory mode="strict" nodeset>`: the involved host nodes, in topology order.
    pub nodeset: Vec<u32>,
    /// `<memnode cellid mode="strict" nodeset>`: (guest cell, its host nodes ascending).
    pub memnodes: Vec<(u32, Vec<u32>)>,
}

/// The guest CPU topology and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Guest {
    /// Sockets (the spec's, hotplug excluded).
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
    /// vCPUs enabled at boot.
    pub vcpus: u32,
    /// `maxSockets` (0: no CPU hotplug).
    pub max_sockets: u32,
    /// Guest memory in bytes.
    pub memory_bytes: u64,
    /// Hugepage size in bytes, when hugepages back the guest.
    pub page_size_bytes: Option<u64>,
}

/// Everything KubeVirt would put into the domain, and vnuma's verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuestPlan {
    /// VMI namespace.
    pub namespace: String,
    /// VMI name.
    pub name: String,
    /// The architecture.
    pub architecture: String,
    /// The pod cpuset in the order it was given (KubeVirt indexes IOThread pins into it).
    pub cpuset: Vec<u32>,
    /// Guest topology and memory.
    pub guest: Guest,
    /// (vCPU, host CPU) for every pinned vCPU, in vCPU order.
    pub vcpupin: Vec<(u32, u32)>,
    /// The pool phase that placed each pinned vCPU (1 whole host cores, 2 a cell's leftover
    /// threads, 3 leftovers across cells), in vCPU order.
    pub pool_phases: Vec<u8>,
    /// Whether the strict pool (passthrough) or the relaxed one placed the vCPUs.
    pub strict_pool: bool,
    /// The emulator thread's CPUs.
    pub emulatorpin: Option<Vec<u32>>,
    /// IOThreads in the domain.
    pub iothreads: u32,
    /// (IOThread id, CPUs).
    pub iothreadpin: Vec<(u32, Vec<u32>)>,
    /// Guest NUMA cells (empty without passthrough).
    pub cells: Vec<Cell>,
    /// `<numatune>`; `None` without passthrough.
    pub numatune: Option<Numatune>,
    /// Hugepage verdicts per host node.
    pub hugepages: Vec<HugepageVerdict>,
    /// `<features><kvm><hint-dedicated>` (dedicated CPUs on amd64).
    pub hint_dedicated: bool,
    /// `<features><pmu state="off">` (realtime).
    pub pmu_off: bool,
    /// `<memoryBacking><nosharepages>` (passthrough with realtime).
    pub nosharepages: bool,
    /// `<memoryBacking><source type="memfd">`.
    pub memfd: bool,
    /// `<memoryBacking><allocation mode="immediate">` (passthrough).
    pub allocation_immediate: bool,
    /// The realtime mask, when realtime is on.
    pub realtime_mask: Option<realtime::RealtimeMask>,
    /// `spec.domain.cpu.model` after the webhook's default: `host-model`, `host-passthrough`
    /// or a named model (empty reads as `host-model`).
    pub cpu_model: String,
    /// `spec.domain.cpu.features`: (name, policy as written).
    pub cpu_features: Vec<(String, Option<String>)>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Why the VM cannot run as planned.
    pub error: Option<Failure>,
}

impl Guest {
    /// vCPU slots in the domain: `maxSockets × cores × threads` with CPU hotplug, else the
    /// boot vCPUs.
    pub fn max_vcpus(&self) -> u32 {
        if self.max_sockets == 0 {
            self.vcpus
        } else {
            self.max_sockets
                .saturating_mul(self.cores)
                .saturating_mul(self.threads)
        }
    }
}

impl GuestPlan {
    /// vCPU slots that no guest cell lists, ascending: with passthrough, the hot-pluggable
    /// slots (KubeVirt builds the cells from the boot vCPUs only, `kubevirt-numa.md` §1.13).
    /// Empty when the plan has no cells.
    pub fn vcpus_outside_cells(&self) -> Vec<u32> {
        if self.cells.is_empty() {
            return Vec::new();
        }
        let mut inside = std::collections::BTreeSet::new();
        for cell in &self.cells {
            inside.extend(cell.vcpus.iter().copied());
        }
        (0..self.guest.max_vcpus())
            .filter(|v| !inside.contains(v))
            .collect()
    }

    fn warn(&mut self, code: &str, message: String) {
        self.warn_with(code, message, Vec::new());
    }

    fn warn_with(&mut self, code: &str, message: String, details: Vec<String>) {
        self.warnings.push(Warning {
            code: code.to_string(),
            message,
            details,
        });
    }

    fn fail(&mut self, reason: FailureReason, message: String) {
        if self.error.is_none() {
            self.error = Some(Failure {
                reason,
                message,
                hint: None,
            });
        }
    }
}

/// Which quirks a run hit (so the caller can tell whether fixing them changes the result).
#[derive(Debug, Clone, Copy, Default)]
struct QuirkHits {
    sibling_ranges: bool,
    partial_core: bool,
    no_topology: bool,
    misscaled: bool,
}

/// Individual quirk switches (all on reproduces KubeVirt).
#[derive(Debug, Clone, Copy)]
struct Quirks {
    sibling_ranges: bool,
    partial_core: bool,
    no_topology: bool,
    misscaled: bool,
}

impl Quirks {
    fn all(on: bool) -> Self {
        Quirks {
            sibling_ranges: on,
            partial_core: on,
            no_topology: on,
            misscaled: on,
        }
    }
}

/// The host as KubeVirt reads it from `virsh capabilities`: cells in order, each CPU's
/// siblings parsed from their text. With `drop_ranges` (KubeVirt's parser, quirk §7.12) any
/// piece that is not a plain number, a range such as `0-1` included, is dropped silently.
pub fn kubevirt_view(host: &HostTopology, drop_ranges: bool) -> (KvTopology, bool) {
    let mut dropped = false;
    let cells = host
        .nodes
        .iter()
        .map(|node| KvCell {
            id: node.id.0,
            cpus: node
                .cpus
                .iter()
                .map(|&cpu| {
                    let text = host.cpu(cpu).map(|c| c.siblings_text.as_str()).unwrap_or("");
                    let siblings = if drop_ranges {
                        let kept: Vec<u32> = text.split(',').filter_map(|p| p.parse().ok()).collect();
                        dropped |= text
                            .split(',')
                            .any(|p| !p.is_empty() && p.parse::<u32>().is_err());
                        kept
                    } else {
                        host.cpu(cpu)
                            .map(|c| c.siblings.iter().map(|s| s.0).collect())
                            .unwrap_or_default()
                    };
                    KvCpu { id: cpu.0, siblings }
                })
                .collect(),
            distances: node
                .distances
                .as_ref()
                .map(|d| d.iter().map(|(k, v)| (k.0, *v)).collect())
                .unwrap_or_default(),
        })
        .collect();
    (KvTopology { cells }, dropped)
}

/// Plans `vmi` on `host` with the pod `cpuset` (in the order it was written).
///
/// The plan is always returned; when the VM cannot run as planned its `error` says why and
/// what was computed up to that point is kept.
pub fn plan(host: &HostTopology, vmi: &Vmi, cpuset: &[u32], options: &PlanOptions) -> GuestPlan {
    let result = plan_and_name_quirks(host, vmi, cpuset, options);
    debug_assert!(
        invariants::check(&result, host).is_empty(),
        "plan invariants broken: {:?}",
        invariants::check(&result, host)
    );
    result
}

fn plan_and_name_quirks(host: &HostTopology, vmi: &Vmi, cpuset: &[u32], options: &PlanOptions) -> GuestPlan {
    let quirks = Quirks::all(!options.fix_quirks);
    let (mut result, hits) = plan_with(host, vmi, cpuset, options, quirks);
    if options.fix_quirks {
        return result;
    }
    type Fix = fn(&mut Quirks);
    let checks: [(bool, &str, &str, Fix); 4] = [
        (
            hits.sibling_ranges,
            "kubevirt-quirk:sibling-ranges-dropped",
            "KubeVirt drops sibling lists written as ranges (e.g. \"0-1\"), so those CPUs count as one-thread cores",
            |q| q.sibling_ranges = false,
        ),
        (
            hits.partial_core,
            "kubevirt-quirk:partial-core-unpinned",
            "KubeVirt's relaxed pool reports success with fewer pins than vCPUs when the last guest core is incomplete",
            |q| q.partial_core = false,
        ),
        (
            hits.no_topology,
            "kubevirt-quirk:no-topology-no-numa",
            "the host reports no NUMA cells: KubeVirt pins the vCPUs but silently gives the guest no NUMA topology",
            |q| q.no_topology = false,
        ),
        (
            hits.misscaled,
            "kubevirt-quirk:misscaled-error",
            "KubeVirt's \"not enough memory\" message prints its second number scaled by 1048576",
            |q| q.misscaled = false,
        ),
    ];
    for (hit, code, message, fix) in checks {
        if !hit {
            continue;
        }
        let mut fixed_quirks = quirks;
        fix(&mut fixed_quirks);
        let (fixed, _) = plan_with(host, vmi, cpuset, options, fixed_quirks);
        let same = fixed.vcpupin == result.vcpupin
            && fixed.cells == result.cells
            && fixed.emulatorpin == result.emulatorpin
            && fixed.error == result.error;
        if !same {
            result.warn(
                code,
                format!("{message}; --fix-kubevirt-quirks changes this plan"),
            );
        }
    }
    result
}

/// The first host CPU the vCPU and emulator pins use twice.
fn repeated_cpu(plan: &GuestPlan) -> Option<u32> {
    let mut used = std::collections::BTreeSet::new();
    let vcpus = plan.vcpupin.iter().map(|p| p.1);
    vcpus
        .chain(plan.emulatorpin.iter().flatten().copied())
        .find(|&cpu| !used.insert(cpu))
}

/// The parts of a plan that come from the VMI alone: names, guest topology and memory.
fn empty_plan(vmi: &Vmi, cpuset: &[u32]) -> GuestPlan {
    let (sockets, cores, threads) = vmi.topology();
    let architecture = vmi.architecture.clone().unwrap_or_else(|| "amd64".into());
    GuestPlan {
        namespace: vmi.namespace.clone(),
        name: vmi.name.clone(),
        architecture: architecture.clone(),
        cpuset: cpuset.to_vec(),
        cpu_model: vmi
            .cpu
            .model
            .clone()
            .unwrap_or_else(|| crate::vmi::devices::DEFAULT_CPU_MODEL.to_string()),
        cpu_features: vmi.cpu.features.clone(),
        guest: Guest {
            sockets,
            cores,
            threads,
            vcpus: vmi.vcpus(),
            max_sockets: vmi.cpu.max_sockets,
            memory_bytes: vmi
                .virtual_memory()
                .map_or(0, |q| u64::try_from(q.value()).unwrap_or(0)),
            page_size_bytes: vmi
                .memory
                .hugepages
                .as_deref()
                .and_then(|p| crate::vmi::Quantity::parse(p).ok())
                .and_then(|q| u64::try_from(q.value()).ok()),
        },
        memfd: vmi.memory.hugepages.is_some()
            && matches!(architecture.as_str(), "amd64" | "arm64")
            && vmi
                .annotations
                .get(crate::vmi::MEMFD_ANNOTATION)
                .map(String::as_str)
                != Some("false"),
        ..GuestPlan::default()
    }
}

/// The plan of a VM whose pod the kubelet would not admit: nothing is placed, the kubelet's
/// reason is the error.
pub fn kubelet_rejected(vmi: &Vmi, message: String) -> GuestPlan {
    let mut plan = empty_plan(vmi, &[]);
    plan.fail(FailureReason::KubeletRejected, message);
    plan
}

fn plan_with(
    host: &HostTopology,
    vmi: &Vmi,
    cpuset: &[u32],
    options: &PlanOptions,
    quirks: Quirks,
) -> (GuestPlan, QuirkHits) {
    let mut hits = QuirkHits::default();
    let mut plan = empty_plan(vmi, cpuset);
    let (view, dropped) = kubevirt_view(host, quirks.sibling_ranges);
    hits.sibling_ranges = dropped;

    let unknown: Vec<u32> = cpuset
        .iter()
        .copied()
        .filter(|c| host.cpu(crate::ids::CpuId(*c)).is_none())
        .collect();
    if !unknown.is_empty() {
        let list: crate::cpuset::CpuSet = unknown.iter().map(|&c| crate::ids::CpuId(c)).collect();
        plan.warn(
            "cpuset-unknown-cpus",
            format!("the cpuset names CPUs the host does not have ({list}); KubeVirt ignores them for placement but counts them as available"),
        );
    }

    if vmi.cpu.dedicated {
        hits.partial_core = pinning::pin(&mut plan, vmi, &view, cpuset, quirks.partial_core);
        // Sibling lists that disagree (a CPU named by lists of CPUs that are not its siblings,
        // which no real host reports) make KubeVirt's chunking hand one CPU out twice. Dropped
        // ranges do it on real hosts too: that quirk is reproduced, with its warning.
        if !dropped
            && plan.error.is_none()
            && let Some(cpu) = repeated_cpu(&plan)
        {
            plan.fail(
                FailureReason::Pinning,
                format!(
                    "host CPU {cpu} would be pinned twice: the host's sibling lists disagree (a CPU is listed as a sibling by CPUs that are not its siblings)"
                ),
            );
        }
    }
    if let Some(layout) = layout::GuestLayout::from_vmi(vmi)
        && plan.error.is_none()
    {
        let outcome = numa::map(
            &mut plan,
            layout,
            vmi,
            &view,
            options,
            quirks.no_topology,
            quirks.misscaled,
        );
        hits.no_topology = outcome.no_topology;
        hits.misscaled = outcome.misscaled;
        if plan.error.is_none() {
            hugepages::check(&mut plan, host, options.allow_hugepage_shortfall);
        }
    }
    if plan.error.is_none()
        || plan
            .error
            .as_ref()
            .is_some_and(|e| e.reason == FailureReason::HugepageShortfall)
    {
        warnings::add(&mut plan, host);
    }
    (plan, hits)
}

#[cfg(test)]
mod tests;
