//! What to do about a failed plan: vnuma's suggestions, kept in [`Failure::hint`] apart from
//! the failure's message (KubeVirt's exact words, which scripts match).
//!
//! - Pinning, emulator thread, IOThreads: how many CPUs the VM needs and why (vCPUs, the
//!   emulator thread, supplemental IOThreads) against what the pod cpuset has, CPUs the host
//!   does not have, or the strict pool's rule that a guest core stays inside one host node.
//! - Hugepage shortfall: how to reserve the pages on the node (sysfs or the kernel command
//!   line), another node with enough free pages, and `--allow-hugepage-shortfall`.

use crate::ids::{CpuId, NodeId};
use crate::k8s::pages::page_size_label;
use crate::plan::{CpusetSource, Failure, FailureReason, GuestPlan};
use crate::topology::HostTopology;
use crate::vmi::{EVEN_PARITY_ANNOTATION, Vmi};

/// Fills `plan.error.hint` (when the plan failed and vnuma has a suggestion). `source` says
/// where the cpuset came from, so the hint names the right remedy.
pub fn add(plan: &mut GuestPlan, host: &HostTopology, vmi: &Vmi, source: CpusetSource) {
    let hint = match &plan.error {
        Some(Failure { reason, .. }) => match reason {
            FailureReason::Pinning | FailureReason::EmulatorThread | FailureReason::IoThreads => {
                cpus_hint(plan, host, vmi, source)
            }
            FailureReason::HugepageShortfall => hugepage_hint(plan, host),
            FailureReason::NumaMapping | FailureReason::KubeletRejected => None,
        },
        None => None,
    };
    if let Some(error) = &mut plan.error {
        error.hint = hint;
    }
}

/// The CPUs the VM takes from the pod cpuset and why: (count, "4 vCPUs + 1 emulator thread").
pub fn cpus_needed(vmi: &Vmi) -> (u32, String) {
    let vcpus = vmi.vcpus();
    let supplemental = if vmi.io_threads_policy.as_deref() == Some("supplementalPool") {
        vmi.supplemental_pool_thread_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    } else {
        0
    };
    let emulator = if vmi.cpu.isolate_emulator_thread {
        let pinned = vcpus.saturating_add(supplemental);
        if vmi.annotations.contains_key(EVEN_PARITY_ANNOTATION) && pinned.is_multiple_of(2) {
            2
        } else {
            1
        }
    } else {
        0
    };
    let mut why = vec![format!("{vcpus} vCPUs")];
    if emulator > 0 {
        why.push(format!(
            "{emulator} emulator thread CPU{} (isolateEmulatorThread)",
            if emulator == 1 { "" } else { "s" }
        ));
    }
    if supplemental > 0 {
        why.push(format!("{supplemental} supplemental IOThreads"));
    }
    (
        vcpus.saturating_add(emulator).saturating_add(supplemental),
        why.join(" + "),
    )
}

fn cpus_hint(plan: &GuestPlan, host: &HostTopology, vmi: &Vmi, source: CpusetSource) -> Option<String> {
    let (need, why) = cpus_needed(vmi);
    let known: Vec<u32> = plan
        .cpuset
        .iter()
        .copied()
        .filter(|&c| host.cpu(CpuId(c)).is_some())
        .collect();
    let have = u32::try_from(plan.cpuset.len()).unwrap_or(u32::MAX);
    let mut lines = Vec::new();
    if known.len() < plan.cpuset.len() {
        let missing: crate::cpuset::CpuSet = plan
            .cpuset
            .iter()
            .filter(|&&c| host.cpu(CpuId(c)).is_none())
            .map(|&c| CpuId(c))
            .collect();
        lines.push(format!(
            "the host has no CPU {missing} of the pod cpuset: is --host the node the pod runs on?"
        ));
    }
    if have < need {
        let remedy = match source {
            CpusetSource::Flag => {
                format!("give --cpuset at least {need} CPUs, or omit it to predict the kubelet's")
            }
            CpusetSource::Cgroup => {
                "check that --cgroup is the VM's virt-launcher pod (its compute container)".to_string()
            }
            CpusetSource::Predicted => {
                "the kubelet gives the pod what it requests; check its cpu request".into()
            }
        };
        lines.push(format!(
            "the pod cpuset has {have} CPUs, the VM needs {need} ({why}) — {remedy}"
        ));
    } else if known.len() == plan.cpuset.len() && plan.strict_pool {
        let (_, _, threads) = vmi.topology();
        let remedy = match source {
            CpusetSource::Flag => {
                format!(
                    ": give --cpuset a multiple of {threads} CPUs on each host node (whole host cores are best)"
                )
            }
            CpusetSource::Cgroup | CpusetSource::Predicted => String::new(),
        };
        lines.push(format!(
            "the pod cpuset has {have} CPUs for the {need} the VM needs ({why}), but with \
             guestMappingPassthrough KubeVirt keeps each guest core ({threads} thread(s)) inside one \
             host node{remedy}"
        ));
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The sysfs directory name of a hugepage size (`hugepages-2048kB`).
fn sysfs_pool(page: u64) -> String {
    format!("hugepages-{}kB", page / 1024)
}

/// The kernel's `hugepagesz=` spelling (`2M`, `1G`).
fn kernel_size(page: u64) -> String {
    page_size_label(page).trim_end_matches('i').to_string()
}

fn hugepage_hint(plan: &GuestPlan, host: &HostTopology) -> Option<String> {
    let short: Vec<_> = plan.hugepages.iter().filter(|v| !v.fits).collect();
    let first = short.first()?;
    let page = first.page_size_bytes;
    let label = page_size_label(page);
    let mut lines = Vec::new();
    for v in &short {
        let total = host
            .node(NodeId(v.host_node))
            .and_then(|n| n.hugepages.iter().find(|p| p.page_size_bytes == page))
            .map_or(0, |p| p.total);
        let more = v.pages_needed - v.pages_free;
        if v.host_nodes.len() > 1 {
            let set: Vec<String> = v.host_nodes.iter().map(ToString::to_string).collect();
            lines.push(format!(
                "reserve {more} more {label} pages over host nodes {} (their pools count together): on the node \
                 raise /sys/devices/system/node/nodeN/hugepages/{}/nr_hugepages of those nodes",
                set.join(","),
                sysfs_pool(page),
            ));
            continue;
        }
        lines.push(format!(
            "reserve {more} more {label} pages on host node {node}: on the node run `echo {target} > \
             /sys/devices/system/node/node{node}/hugepages/{pool}/nr_hugepages`",
            node = v.host_node,
            target = total + more,
            pool = sysfs_pool(page),
        ));
    }
    let nodes = u64::try_from(host.nodes.len()).unwrap_or(1).max(1);
    let most = short.iter().map(|v| v.pages_needed).max().unwrap_or(0);
    lines.push(format!(
        "or boot the node with `hugepagesz={size} hugepages={count}` on the kernel command line \
         (the kernel spreads those pages evenly across its {nodes} node(s))",
        size = kernel_size(page),
        count = most * nodes,
    ));
    for v in &short {
        let others: Vec<String> = host
            .nodes
            .iter()
            .filter(|n| n.id.0 != v.host_node)
            .filter_map(|n| {
                let pool = n.hugepages.iter().find(|p| p.page_size_bytes == page)?;
                let free = pool.free.unwrap_or(pool.total);
                let own = plan
                    .hugepages
                    .iter()
                    .find(|o| o.host_node == n.id.0)
                    .map_or(0, |o| o.pages_needed);
                (free >= own + v.pages_needed).then(|| {
                    format!(
                        "host node {} has {free} {label} pages{}",
                        n.id.0,
                        if pool.free.is_some() {
                            " free"
                        } else {
                            " (total, free unknown)"
                        }
                    )
                })
            })
            .collect();
        if !others.is_empty() {
            lines.push(format!(
                "{}, enough for the guest cell on host node {}: a pod cpuset on that node's CPUs puts it there",
                others.join(", "),
                v.host_node
            ));
        }
    }
    lines.push("or pass --allow-hugepage-shortfall to plan anyway (the shortfall becomes a warning)".into());
    Some(lines.join("\n"))
}
