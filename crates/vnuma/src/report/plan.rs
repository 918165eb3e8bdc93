//! `vnuma plan`: the plan as the contract's JSON/YAML document and as a table for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cpuset::{CpuSet, NodeSet};
use crate::ids::{CpuId, NodeId};
use crate::kubelet::config::KubeletConfig;
use crate::plan::{CpusetSource, FailureReason, GuestPlan, KubevirtVersion};
use crate::report::{human_bytes, json_text, page_size_label, yaml_text};
use crate::topology::HostTopology;

/// What the report says about where things came from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The host's label (`example:dual-socket`, `sysfs:/`).
    pub host_label: &'a str,
    /// The KubeVirt release reproduced.
    pub kubevirt_version: KubevirtVersion,
    /// Where the cpuset came from.
    pub cpuset_source: CpusetSource,
    /// Which kubelet was simulated, when the cpuset is predicted.
    pub kubelet: Option<&'a str>,
    /// The same kubelet's settings, for the document (`None` when the cpuset was given).
    pub kubelet_settings: Option<&'a KubeletSettings>,
}

/// The kubelet settings a predicted cpuset was simulated under, as the plan document records
/// them (the same words as `allocate -o json`'s `policies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletSettings {
    /// `cpuManagerPolicy`.
    pub cpu_manager: String,
    /// `cpuManagerPolicyOptions`, `name` for `true`, else `name=value`.
    pub options: Vec<String>,
    /// `topologyManagerPolicy`.
    pub topology_manager: String,
    /// `topologyManagerScope`.
    pub scope: String,
    /// `memoryManagerPolicy`.
    pub memory_manager: String,
    /// The CPUs the kubelet reserves (kernel cpulist).
    pub reserved: String,
    /// No configuration was given: vnuma's assumed defaults.
    pub assumed_defaults: bool,
}

impl KubeletSettings {
    /// The settings of `config`, with the CPUs the kubelet reserved under it.
    pub fn new(config: &KubeletConfig, reserved: &CpuSet) -> Self {
        KubeletSettings {
            cpu_manager: config.cpu_manager_policy.clone(),
            options: config.policy_option_words(),
            topology_manager: config.topology_manager_policy.clone(),
            scope: config.topology_manager_scope.clone(),
            memory_manager: config.memory_manager_policy.clone(),
            reserved: reserved.to_string(),
            assumed_defaults: config.assumed,
        }
    }
}

#[derive(Serialize)]
struct PlanDoc {
    vmi: VmiDoc,
    kubevirt_version: String,
    cpuset: CpusetDoc,
    guest: GuestDoc,
    vcpupin: Vec<VcpuPinDoc>,
    emulatorpin: Option<String>,
    iothreadpin: Vec<IoThreadPinDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    realtime: Option<RealtimeDoc>,
    cells: Vec<CellDoc>,
    numatune: Option<NumatuneDoc>,
    hugepages: Vec<HugepageDoc>,
    warnings: Vec<WarningDoc>,
    error: Option<ErrorDoc>,
    /// Where the host came from: the `source` of `vnuma topology -o json`.
    host: HostDoc,
    /// The kubelet simulated for a predicted cpuset; `null` when the cpuset was given.
    kubelet: Option<KubeletDoc>,
}

#[derive(Serialize)]
struct HostDoc {
    source: String,
}

#[derive(Serialize)]
struct KubeletDoc {
    cpu_manager: String,
    options: Vec<String>,
    topology_manager: String,
    scope: String,
    memory_manager: String,
    reserved: String,
    assumed_defaults: bool,
}

#[derive(Serialize)]
struct VmiDoc {
    namespace: String,
    name: String,
}

#[derive(Serialize)]
struct CpusetDoc {
    cpus: String,
    source: &'static str,
}

#[derive(Serialize)]
struct GuestDoc {
    sockets: u32,
    cores: u32,
    threads: u32,
    vcpus: u32,
    max_vcpus: u32,
    enabled_vcpus: String,
    memory_bytes: u64,
    page_size_bytes: Option<u64>,
}

#[derive(Serialize)]
struct VcpuPinDoc {
    vcpu: u32,
    cpu: u32,
}

#[derive(Serialize)]
struct IoThreadPinDoc {
    iothread: u32,
    cpus: String,
}

/// What virt-handler does to the vCPU threads at start under `realtime` (not in the XML);
/// the field is left out without realtime, so plans without it read as before.
#[derive(Serialize)]
struct RealtimeDoc {
    vcpus: String,
    policy: &'static str,
    priority: u32,
}

#[derive(Serialize)]
struct CellDoc {
    id: u32,
    /// The one host node, `null` when the cell spans several.
    host_node: Option<u32>,
    /// Every host node the cell is bound to, ascending.
    host_nodes: Vec<u32>,
    vcpus: String,
    memory_bytes: u64,
    distances: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize)]
struct NumatuneDoc {
    mode: &'static str,
    nodeset: String,
    memnodes: Vec<MemnodeDoc>,
}

#[derive(Serialize)]
struct MemnodeDoc {
    cell: u32,
    mode: &'static str,
    nodeset: String,
}

#[derive(Serialize)]
struct HugepageDoc {
    /// The node, or `null` when the verdict is over several (a cell bound to a node set).
    host_node: Option<u32>,
    host_nodes: Vec<u32>,
    page_size_bytes: u64,
    pages_needed: u64,
    pages_free: u64,
    free_known: bool,
    fits: bool,
}

#[derive(Serialize)]
struct WarningDoc {
    code: String,
    message: String,
    /// Every item of the list the message summarises (absent when the message says it all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<String>,
}

#[derive(Serialize)]
struct ErrorDoc {
    reason: &'static str,
    message: String,
    /// vnuma's suggestion, only when it has one (the message stays KubeVirt's words).
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

fn cpus(ids: &[u32]) -> String {
    ids.iter().map(|&c| CpuId(c)).collect::<CpuSet>().to_string()
}

fn nodes(ids: &[u32]) -> String {
    ids.iter().map(|&n| NodeId(n)).collect::<NodeSet>().to_string()
}

fn doc(plan: &GuestPlan, ctx: &Context<'_>) -> PlanDoc {
    PlanDoc {
        vmi: VmiDoc {
            namespace: plan.namespace.clone(),
            name: plan.name.clone(),
        },
        kubevirt_version: ctx.kubevirt_version.label(),
        cpuset: CpusetDoc {
            cpus: cpus(&plan.cpuset),
            source: ctx.cpuset_source.as_str(),
        },
        guest: GuestDoc {
            sockets: plan.guest.sockets,
            cores: plan.guest.cores,
            threads: plan.guest.threads,
            vcpus: plan.guest.vcpus,
            max_vcpus: plan.guest.max_vcpus(),
            enabled_vcpus: (0..plan.guest.vcpus).map(CpuId).collect::<CpuSet>().to_string(),
            memory_bytes: plan.guest.memory_bytes,
            page_size_bytes: plan.guest.page_size_bytes,
        },
        vcpupin: plan
            .vcpupin
            .iter()
            .map(|&(vcpu, cpu)| VcpuPinDoc { vcpu, cpu })
            .collect(),
        emulatorpin: plan.emulatorpin.as_deref().map(cpus),
        iothreadpin: plan
            .iothreadpin
            .iter()
            .map(|(iothread, c)| IoThreadPinDoc {
                iothread: *iothread,
                cpus: cpus(c),
            })
            .collect(),
        realtime: crate::plan::realtime::scheduled_vcpus(plan).map(|v| RealtimeDoc {
            vcpus: cpus(&v),
            policy: crate::plan::realtime::POLICY,
            priority: crate::plan::realtime::PRIORITY,
        }),
        cells: plan
            .cells
            .iter()
            .map(|c| CellDoc {
                id: c.id,
                host_node: c.host_node(),
                host_nodes: c.host_nodes.clone(),
                vcpus: cpus(&c.vcpus),
                memory_bytes: c.memory_bytes,
                distances: c.distances.as_ref().map(|d| {
                    let sorted: BTreeMap<u32, u32> = d.iter().copied().collect();
                    sorted
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
                        .collect()
                }),
            })
            .collect(),
        numatune: plan.numatune.as_ref().map(|n| NumatuneDoc {
            mode: "strict",
            nodeset: nodes(&n.nodeset),
            memnodes: n
                .memnodes
                .iter()
                .map(|(cell, hosts)| MemnodeDoc {
                    cell: *cell,
                    mode: "strict",
                    nodeset: nodes(hosts),
                })
                .collect(),
        }),
        hugepages: plan
            .hugepages
            .iter()
            .map(|v| HugepageDoc {
                host_node: (v.host_nodes.len() <= 1).then_some(v.host_node),
                host_nodes: v.host_nodes.clone(),
                page_size_bytes: v.page_size_bytes,
                pages_needed: v.pages_needed,
                pages_free: v.pages_free,
                free_known: v.free_known,
                fits: v.fits,
            })
            .collect(),
        warnings: plan
            .warnings
            .iter()
            .map(|w| WarningDoc {
                code: w.code.clone(),
                message: w.message.clone(),
                details: w.details.clone(),
            })
            .collect(),
        error: plan.error.as_ref().map(|e| ErrorDoc {
            reason: e.reason.as_str(),
            message: e.message.clone(),
            hint: e.hint.clone(),
        }),
        host: HostDoc {
            source: ctx.host_label.to_string(),
        },
        kubelet: ctx.kubelet_settings.map(|k| KubeletDoc {
            cpu_manager: k.cpu_manager.clone(),
            options: k.options.clone(),
            topology_manager: k.topology_manager.clone(),
            scope: k.scope.clone(),
            memory_manager: k.memory_manager.clone(),
            reserved: k.reserved.clone(),
            assumed_defaults: k.assumed_defaults,
        }),
    }
}

/// The pod cpuset and where it came from, for people: `7-8,23-24 (flag)`, or for an empty
/// one what that means: `none (predicted: the kubelet rejects the pod, see the error)`.
pub fn cpuset_words(plan: &GuestPlan, ctx: &Context<'_>) -> String {
    let source = ctx.cpuset_source.as_str();
    if !plan.cpuset.is_empty() {
        return format!("{} ({source})", cpus(&plan.cpuset));
    }
    let why = match (ctx.cpuset_source, &plan.error) {
        (CpusetSource::Predicted, Some(e)) if e.reason == FailureReason::KubeletRejected => {
            "the kubelet rejects the pod, see the error"
        }
        (CpusetSource::Predicted, _) => "the kubelet gave no CPUs",
        _ => "the list is empty",
    };
    format!("none ({source}: {why})")
}

/// The `plan -o json` document of `cli-contract.md`.
pub fn to_json(plan: &GuestPlan, ctx: &Context<'_>) -> String {
    json_text(&doc(plan, ctx))
}

/// The same document as YAML.
pub fn to_yaml(plan: &GuestPlan, ctx: &Context<'_>) -> String {
    yaml_text(&doc(plan, ctx))
}

/// The table: the guest, the host nodes with the pinned CPUs marked, the guest cells, the
/// hugepage verdict per node, warnings and the error.
pub fn to_table(plan: &GuestPlan, host: &HostTopology, ctx: &Context<'_>) -> String {
    let mut out = String::new();
    let g = &plan.guest;
    let _ = writeln!(
        out,
        "VMI {}/{} on host {}, pod cpuset {}",
        plan.namespace,
        plan.name,
        ctx.host_label,
        cpuset_words(plan, ctx)
    );
    if let Some(kubelet) = ctx.kubelet {
        let _ = writeln!(out, "cpuset predicted by the kubelet simulation: {kubelet}");
    }
    let memory = match g.page_size_bytes {
        Some(page) => format!(
            "{} in {} hugepages",
            human_bytes(g.memory_bytes),
            page_size_label(page)
        ),
        None => human_bytes(g.memory_bytes),
    };
    let _ = writeln!(
        out,
        "guest: {} socket(s) x {} core(s) x {} thread(s) = {} vCPUs, {memory}",
        g.sockets, g.cores, g.threads, g.vcpus
    );
    if g.max_sockets != 0 {
        let outside = plan.vcpus_outside_cells();
        let mut line = format!(
            "CPU hotplug: {} vCPU slots ({} sockets), vCPUs {} enabled at boot",
            g.max_vcpus(),
            g.max_sockets,
            (0..g.vcpus).map(CpuId).collect::<CpuSet>()
        );
        if !outside.is_empty() {
            line.push_str(&format!(
                "; slots {} are in no guest NUMA cell",
                outside.iter().copied().map(CpuId).collect::<CpuSet>()
            ));
        }
        let _ = writeln!(out, "{line}");
    }

    // Marks on host CPUs: vCPUs, emulator, IOThreads.
    let mut marks: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (vcpu, cpu) in &plan.vcpupin {
        marks.entry(*cpu).or_default().push(format!("v{vcpu}"));
    }
    for cpu in plan.emulatorpin.iter().flatten() {
        marks.entry(*cpu).or_default().push("emu".into());
    }
    for (iothread, cs) in &plan.iothreadpin {
        for cpu in cs {
            marks.entry(*cpu).or_default().push(format!("io{iothread}"));
        }
    }
    let _ = writeln!(
        out,
        "\nhost nodes (pinned CPUs marked: vN = vCPU N, emu = emulator, ioN = IOThread N):"
    );
    let mut quiet = 0;
    for node in &host.nodes {
        if !node.cpus.iter().any(|c| marks.contains_key(&c.0)) {
            quiet += 1;
            continue;
        }
        let used: Vec<String> = node
            .cpus
            .iter()
            .filter_map(|c| marks.get(&c.0).map(|m| format!("{}={}", c.0, m.join("+"))))
            .collect();
        let all: CpuSet = node.cpus.iter().copied().collect();
        let _ = writeln!(out, "  node {}: cpus {all}", node.id);
        let _ = writeln!(out, "    {}", used.join(" "));
    }
    if quiet > 0 {
        let _ = writeln!(out, "  ({quiet} other node(s) hold nothing of this VM)");
    }

    if !plan.cells.is_empty() {
        let _ = writeln!(out, "\nguest NUMA cells:");
        for cell in &plan.cells {
            let distances = cell.distances.as_ref().map_or_else(String::new, |d| {
                let parts: Vec<String> = d.iter().map(|(id, v)| format!("{id}:{v}")).collect();
                format!(", distances {}", parts.join(" "))
            });
            let _ = writeln!(
                out,
                "  cell {} -> {}: vCPUs {}, {}{distances}",
                cell.id,
                cell.host_nodes_phrase(),
                cpus(&cell.vcpus),
                human_bytes(cell.memory_bytes)
            );
        }
    } else if plan.error.is_none() {
        let _ = writeln!(
            out,
            "\nno guest NUMA cells (no guestMappingPassthrough, or a host without cells)"
        );
    }
    if !plan.hugepages.is_empty() {
        let _ = writeln!(out, "\nhugepages per host node:");
        for v in &plan.hugepages {
            let verdict = if v.fits { "ok" } else { "SHORT" };
            let kind = if v.free_known {
                "free"
            } else {
                "total (free unknown)"
            };
            let _ = writeln!(
                out,
                "  node {}: needs {} x {}, has {} {kind}  {verdict}",
                crate::plan::comma_nodes(&v.host_nodes),
                v.pages_needed,
                page_size_label(v.page_size_bytes),
                v.pages_free
            );
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings:");
        for w in &plan.warnings {
            let _ = writeln!(out, "  [{}] {}", w.code, w.message);
        }
    }
    if let Some(e) = &plan.error {
        let _ = writeln!(out, "\nERROR ({}): {}", e.reason.as_str(), e.message);
    }
    out
}
