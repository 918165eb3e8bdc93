//! `vnuma plan`: the plan as the contract's JSON/YAML document and as a table for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cpuset::{CpuSet, NodeSet};
use crate::ids::{CpuId, NodeId};
use crate::plan::{CpusetSource, GuestPlan, KubevirtVersion};
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
}

#[derive(Serialize)]
struct PlanDoc {
    vmi: VmiDoc,
    kubevirt_version: &'static str,
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
    host_node: u32,
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
    host_node: u32,
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
}

#[derive(Serialize)]
struct ErrorDoc {
    reason: &'static str,
    message: String,
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
        kubevirt_version: match ctx.kubevirt_version {
            KubevirtVersion::Main => "main",
            KubevirtVersion::V1_9OrEarlier => "1.9",
        },
        cpuset: CpusetDoc {
            cpus: cpus(&plan.cpuset),
            source: ctx.cpuset_source.as_str(),
        },
        guest: GuestDoc {
            sockets: plan.guest.sockets,
            cores: plan.guest.cores,
            threads: plan.guest.threads,
            vcpus: plan.guest.vcpus,
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
                host_node: c.host_node,
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
                .map(|&(cell, host)| MemnodeDoc {
                    cell,
                    mode: "strict",
                    nodeset: host.to_string(),
                })
                .collect(),
        }),
        hugepages: plan
            .hugepages
            .iter()
            .map(|v| HugepageDoc {
                host_node: v.host_node,
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
            })
            .collect(),
        error: plan.error.as_ref().map(|e| ErrorDoc {
            reason: e.reason.as_str(),
            message: e.message.clone(),
        }),
    }
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
        "VMI {}/{} on host {}, pod cpuset {} ({})",
        plan.namespace,
        plan.name,
        ctx.host_label,
        cpus(&plan.cpuset),
        ctx.cpuset_source.as_str()
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
                "  cell {} -> host node {}: vCPUs {}, {}{distances}",
                cell.id,
                cell.host_node,
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
                v.host_node,
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
