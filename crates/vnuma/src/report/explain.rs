//! `vnuma explain`: a plan in plain words, step by step, with the KubeVirt rule behind each
//! choice and what to change for a single-node or symmetric layout.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::plan::{FailureReason, GuestPlan};
use crate::report::plan::Context;
use crate::report::{human_bytes, page_size_label};
use crate::topology::HostTopology;

fn set(ids: &[u32]) -> String {
    ids.iter().map(|&c| CpuId(c)).collect::<CpuSet>().to_string()
}

fn node_of(host: &HostTopology, cpu: u32) -> Option<u32> {
    host.cpu(CpuId(cpu)).and_then(|c| c.node).map(|n| n.0)
}

fn core_of(host: &HostTopology, cpu: u32) -> String {
    host.cpu(CpuId(cpu))
        .map_or_else(|| cpu.to_string(), |c| c.siblings.to_string())
}

/// Where each warning comes from.
fn rule(code: &str) -> &'static str {
    match code {
        "vcpus-share-core" => {
            "KubeVirt's vCPU pool with threads = 1 counts every host core as whole and uses it thread by thread, so consecutive vCPUs land on SMT siblings (KubeVirt's CPU pool: kubevirt/kubevirt pkg/virt-launcher/virtwrap/converter/vcpu/vcpu.go)"
        }
        "socket-spans-cells" => {
            "numaMapping builds guest cells from the host nodes the vCPUs landed on, not from guest sockets (KubeVirt's numaMapping: kubevirt/kubevirt pkg/virt-launcher/virtwrap/converter/vcpu/vcpu.go; kubevirt/kubevirt#17198)"
        }
        "asymmetric-cells" => {
            "numaMapping makes one guest cell per host node holding vCPUs, with however many vCPUs the kubelet's CPUs put there (KubeVirt's numaMapping: kubevirt/kubevirt pkg/virt-launcher/virtwrap/converter/vcpu/vcpu.go)"
        }
        "guest-core-split" => {
            "the relaxed pool's last phase combines leftover threads across host cores and nodes (KubeVirt's CPU pool: kubevirt/kubevirt pkg/virt-launcher/virtwrap/converter/vcpu/vcpu.go)"
        }
        "emulator-other-node" => {
            "the emulator thread takes the next free thread of the pool, whatever its node (KubeVirt's emulator pin: kubevirt/kubevirt pkg/virt-launcher/virtwrap/converter/vcpu/vcpu.go)"
        }
        "cpuset-unknown-cpus" => {
            "KubeVirt ignores CPUs the host does not report but still counts them as available (KubeVirt's CPU pool: kubevirt/kubevirt pkg/virt-launcher/virtwrap/converter/vcpu/vcpu.go)"
        }
        "hugepage-shortfall" | "hugepages-free-unknown" => {
            "vnuma's own check: KubeVirt binds each cell's hugepages strictly to its node without checking they exist (kubevirt#6981)"
        }
        "distances-invalid" => {
            "vnuma's correction: libvirt refuses these distances, KubeVirt would pass them through"
        }
        "cpuset-shared-pool" => {
            "the kubelet's CPU Manager gives exclusive CPUs only under the static policy to Guaranteed pods"
        }
        code if code.starts_with("kubevirt-quirk:") => {
            "a KubeVirt bug reproduced on purpose; --fix-kubevirt-quirks turns it off"
        }
        _ => "vnuma",
    }
}

/// The numbers the kubelet simulation works with, so the advice reasons from them and never
/// suggests what is already configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletFacts {
    /// The CPUs the pod asks for (what `vnuma pod` renders).
    pub pod_cpus: u32,
    /// Where they come from, e.g. `16 vCPUs + 1 emulator thread`.
    pub pod_cpus_why: String,
    /// `cpuManagerPolicy`.
    pub cpu_manager_policy: String,
    /// `topologyManagerPolicy`.
    pub topology_manager_policy: String,
    /// Per host node with CPUs: (node, its online CPUs, reserved ones, ones other pods hold).
    pub nodes: Vec<(u32, u32, u32, u32)>,
}

/// The explanation, advising from generic numbers (the cpuset's size, the nodes' sizes).
pub fn explain(plan: &GuestPlan, host: &HostTopology, ctx: &Context<'_>) -> String {
    explain_with(plan, host, ctx, None)
}

/// The explanation; with `facts`, the advice uses the kubelet's own numbers.
pub fn explain_with(
    plan: &GuestPlan,
    host: &HostTopology,
    ctx: &Context<'_>,
    facts: Option<&KubeletFacts>,
) -> String {
    let mut out = String::new();
    let g = &plan.guest;
    let _ = writeln!(
        out,
        "Plan for {}/{} on {}, pod cpuset {}.",
        plan.namespace,
        plan.name,
        ctx.host_label,
        super::plan::cpuset_words(plan, ctx)
    );
    if let Some(kubelet) = ctx.kubelet {
        let _ = writeln!(
            out,
            "The cpuset is the kubelet's predicted allocation under {kubelet}."
        );
    }
    if plan
        .error
        .as_ref()
        .is_some_and(|e| e.reason == FailureReason::KubeletRejected)
    {
        if let Some(e) = &plan.error {
            let _ = writeln!(out, "\nThe kubelet does not admit the pod: {}.", e.message);
        }
        advise(&mut out, plan, host, facts);
        return out;
    }

    let _ = writeln!(out, "\n1. The vCPU pool");
    if plan.strict_pool {
        let _ = writeln!(
            out,
            "   The VMI asks for guestMappingPassthrough, so KubeVirt uses the strict pool: a guest core never spans two host NUMA nodes."
        );
    } else {
        let _ = writeln!(
            out,
            "   Without guestMappingPassthrough KubeVirt uses the relaxed pool: when whole host cores run out, a guest core may combine threads of several host cores and nodes."
        );
    }
    let _ = writeln!(
        out,
        "   The guest wants {} socket(s) x {} core(s) x {} thread(s) = {} vCPUs: {} guest core(s) of {} thread(s).",
        g.sockets,
        g.cores,
        g.threads,
        g.vcpus,
        g.sockets * g.cores,
        g.threads
    );
    let mut by_node: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for node in &host.nodes {
        for cpu in &node.cpus {
            if !plan.cpuset.contains(&cpu.0) || !seen.insert(cpu.0) {
                continue;
            }
            let siblings: Vec<u32> = host
                .cpu(*cpu)
                .map(|c| {
                    c.siblings
                        .iter()
                        .map(|s| s.0)
                        .filter(|s| plan.cpuset.contains(s))
                        .collect()
                })
                .unwrap_or_else(|| vec![cpu.0]);
            seen.extend(siblings.iter().copied());
            by_node
                .entry(node.id.0)
                .or_default()
                .push(format!("[{}]", set(&siblings)));
        }
    }
    let _ = writeln!(
        out,
        "   The pod's CPUs, grouped as KubeVirt groups them (host node, then host core, in the host's order):"
    );
    for (node, cores) in &by_node {
        let _ = writeln!(out, "     host node {node}: {}", cores.join(" "));
    }

    if !plan.vcpupin.is_empty() {
        let _ = writeln!(out, "\n2. Guest cores");
        let threads = usize::try_from(g.threads.max(1)).unwrap_or(1);
        for (core, pins) in plan.vcpupin.chunks(threads).enumerate() {
            let vcpus: Vec<u32> = pins.iter().map(|p| p.0).collect();
            let cpus: Vec<u32> = pins.iter().map(|p| p.1).collect();
            let phase = plan.pool_phases.get(core * threads).copied().unwrap_or(0);
            let how = match phase {
                1 => "phase 1: taken from a whole host core",
                2 => "phase 2: made of the node's leftover threads",
                3 => "phase 3: leftover threads from anywhere (relaxed pool)",
                _ => "",
            };
            let nodes: BTreeSet<String> = cpus
                .iter()
                .map(|&c| node_of(host, c).map_or_else(|| "?".into(), |n| n.to_string()))
                .collect();
            let _ = writeln!(
                out,
                "   guest core {core} (vCPU {}): host CPU {} on host node {}, host core {} - {how}",
                set(&vcpus),
                set(&cpus),
                nodes.into_iter().collect::<Vec<_>>().join(","),
                cpus.first().map_or_else(String::new, |&c| core_of(host, c)),
            );
        }
    }
    if let Some(cpus) = &plan.emulatorpin {
        let _ = writeln!(
            out,
            "   The emulator thread takes the next free thread(s): host CPU {}.",
            set(cpus)
        );
    }
    for (iothread, cpus) in &plan.iothreadpin {
        let _ = writeln!(
            out,
            "   IOThread {iothread} is pinned to host CPU(s) {}.",
            set(cpus)
        );
    }
    if let Some(vcpus) = crate::plan::realtime::scheduled_vcpus(plan) {
        let _ = writeln!(
            out,
            "   Realtime: when the VM starts, virt-handler runs the threads \"CPU N/KVM\" of vCPUs {} with SCHED_FIFO priority 1 (not in the domain XML, which only turns the PMU off{}).",
            if vcpus.is_empty() {
                "(none)".to_string()
            } else {
                set(&vcpus)
            },
            if plan.nosharepages {
                " and adds <nosharepages>"
            } else {
                ""
            }
        );
    }

    if !plan.cells.is_empty() {
        let _ = writeln!(out, "\n3. Guest NUMA cells");
        for cell in &plan.cells {
            let _ = writeln!(
                out,
                "   cell {} exists because vCPUs {} run on {}; its memory is bound strictly to {}.",
                cell.id,
                set(&cell.vcpus),
                cell.host_nodes_phrase(),
                if cell.host_nodes.len() == 1 {
                    "that node"
                } else {
                    "those nodes"
                }
            );
        }
        if let Some(page) = g.page_size_bytes.filter(|&p| p > 0) {
            let pages = g.memory_bytes / page;
            let k = u64::try_from(plan.cells.len()).unwrap_or(1).max(1);
            let (base, rest) = (pages / k, pages % k);
            let _ = write!(
                out,
                "   Memory: {} = {pages} x {} pages over {k} cell(s): {base} page(s) each",
                human_bytes(g.memory_bytes),
                page_size_label(page)
            );
            if rest == 0 {
                let _ = writeln!(out, ", no remainder.");
            } else {
                let _ = writeln!(
                    out,
                    "; the remaining {rest} page(s) go one each to the first {rest} cell(s), as KubeVirt does."
                );
            }
        }
        if plan.cells.iter().any(|c| c.distances.is_some()) {
            let _ = writeln!(
                out,
                "   Guest distances are the host distances between the cells' nodes (KubeVirt after v1.9)."
            );
        }
    }
    if !plan.hugepages.is_empty() {
        let _ = writeln!(
            out,
            "\n4. Hugepages per host node (vnuma's check; KubeVirt has none)"
        );
        for v in &plan.hugepages {
            let _ = writeln!(
                out,
                "   host node{} {}: needs {} x {}, has {} {} - {}",
                if v.host_nodes.len() == 1 { "" } else { "s" },
                crate::plan::comma_nodes(&v.host_nodes),
                v.pages_needed,
                page_size_label(v.page_size_bytes),
                v.pages_free,
                if v.free_known {
                    "free"
                } else {
                    "in total (free unknown)"
                },
                if v.fits {
                    "fits"
                } else {
                    "SHORT: the VM would not start"
                }
            );
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\n5. Warnings and the rule behind each");
        for w in &plan.warnings {
            let _ = writeln!(out, "   [{}] {}\n      why: {}", w.code, w.message, rule(&w.code));
        }
    }
    if let Some(e) = &plan.error {
        let _ = writeln!(
            out,
            "\nThe VM cannot run as planned ({}): {}",
            e.reason.as_str(),
            e.message
        );
        if e.reason == FailureReason::Pinning && plan.strict_pool && e.message.contains("crossing numa cell")
        {
            let _ = writeln!(
                out,
                "   The pod has enough CPUs, but the strict pool cannot build a whole guest core inside one host node from them."
            );
        }
    }
    advise(&mut out, plan, host, facts);
    out
}

fn advise(out: &mut String, plan: &GuestPlan, host: &HostTopology, facts: Option<&KubeletFacts>) {
    let _ = writeln!(out, "\nTo change the layout");
    let one_cell = plan.cells.len() == 1 && plan.error.is_none();
    let Some(f) = facts else {
        let smallest = host
            .nodes
            .iter()
            .map(|n| n.cpus.len())
            .filter(|&n| n > 0)
            .min()
            .unwrap_or(0);
        let needed = plan
            .cpuset
            .len()
            .max(usize::try_from(plan.guest.vcpus).unwrap_or(0));
        let _ = if one_cell {
            writeln!(
                out,
                "   - The guest has one NUMA cell. To keep it that way after a reschedule, run the kubelet with topologyManagerPolicy: single-numa-node (or restricted) and the static CPU Manager, so the pod is only admitted on one node."
            )
        } else {
            writeln!(
                out,
                "   - For a single-node layout: topologyManagerPolicy: single-numa-node with the static CPU Manager makes the kubelet give the pod CPUs of one node only ({needed} CPUs needed; the smallest node here has {smallest})."
            )
        };
        return advise_shape(out, plan, host);
    };
    let free = |&(_, cpus, reserved, taken): &(u32, u32, u32, u32)| cpus.saturating_sub(reserved + taken);
    let best = f.nodes.iter().max_by_key(|n| (free(n), std::cmp::Reverse(n.0)));
    let node_words = |n: &(u32, u32, u32, u32)| {
        let mut words = format!("node {} has {} free of {} CPUs", n.0, free(n), n.1);
        let detail: Vec<String> = [(n.2, "reserved"), (n.3, "held by other pods")]
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!("{count} {what}"))
            .collect();
        if !detail.is_empty() {
            words.push_str(&format!(" ({})", detail.join(", ")));
        }
        words
    };
    let configured = matches!(
        f.topology_manager_policy.as_str(),
        "single-numa-node" | "restricted"
    );
    let fits_one = best.is_some_and(|n| free(n) >= f.pod_cpus);
    let need = format!("the pod needs {} CPUs: {}", f.pod_cpus, f.pod_cpus_why);
    let most = best.map_or_else(|| "no node has CPUs".to_string(), node_words);
    if f.cpu_manager_policy != "static" {
        let _ = writeln!(
            out,
            "   - The kubelet runs cpuManagerPolicy {}: no exclusive CPUs, so no topology alignment either; cpuManagerPolicy: static comes first.",
            f.cpu_manager_policy
        );
    } else if configured && fits_one {
        let _ = writeln!(
            out,
            "   - topologyManagerPolicy: {} is already set, so the kubelet admits the pod on one node only ({need}; {most}).",
            f.topology_manager_policy
        );
    } else if configured {
        let _ = writeln!(
            out,
            "   - topologyManagerPolicy: {} is already set, and no node can hold the pod alone ({need}; the most any node has is: {most}), so the kubelet rejects it with TopologyAffinityError. Ask for fewer CPUs (vCPUs, or no isolateEmulatorThread), reserve fewer CPUs on that node (reservedSystemCPUs), or use a policy that allows several nodes (best-effort, or none).",
            f.topology_manager_policy
        );
    } else if fits_one {
        let _ = writeln!(
            out,
            "   - {} topologyManagerPolicy: single-numa-node with the static CPU Manager makes the kubelet give the pod CPUs of one node only ({need}; {most}).",
            if one_cell {
                "The guest has one NUMA cell; to keep it after a reschedule,"
            } else {
                "For a single-node layout:"
            }
        );
    } else {
        let _ = writeln!(
            out,
            "   - No node can hold the pod alone ({need}; the most any node has is: {most}), so topologyManagerPolicy: single-numa-node would make the kubelet reject it (TopologyAffinityError). A single guest cell needs fewer CPUs, or fewer reserved on one node."
        );
    }
    advise_shape(out, plan, host);
}

/// The advice that does not depend on the kubelet: symmetric cells and SMT.
fn advise_shape(out: &mut String, plan: &GuestPlan, host: &HostTopology) {
    let _ = writeln!(
        out,
        "   - For symmetric cells: give the VM a vCPU count the kubelet can split evenly (a multiple of the host's cores per node), or cpuManagerPolicyOptions distribute-cpus-across-numa: \"true\" so the kubelet spreads the CPUs evenly over nodes."
    );
    if plan.guest.threads <= 1 && host.cpus.iter().any(|c| c.siblings.len() > 1) {
        let _ = writeln!(
            out,
            "   - The host has SMT: threads: 2 in the VMI gives each guest core both threads of one host core (and full-pcpus-only keeps other pods off the sibling)."
        );
    }
}
