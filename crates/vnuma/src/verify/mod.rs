//! Beyond KubeVirt: does a running VM match its plan? The command line gathers what QEMU and
//! the kernel report (QMP `query-cpus-fast` and `query-memdev`, each backend's type and
//! hugepage settings through `qom-list`/`qom-get` (`query-memdev` reports neither), the vCPU
//! threads' affinities, `/proc/PID/numa_maps` with the page size of each binding); this module
//! compares that with the plan, purely, and names every mismatch.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::cpuset::CpuSet;

/// The parts of a `vnuma plan -o json` document that a running VM can be checked against.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    /// Guest topology.
    pub guest: ExpectedGuest,
    /// vCPU pins.
    pub vcpupin: Vec<ExpectedPin>,
    /// Guest cells.
    pub cells: Vec<ExpectedCell>,
    /// What realtime scheduling virt-handler gives the vCPU threads (absent in older plans).
    #[serde(default)]
    pub realtime: Option<ExpectedRealtime>,
}

/// `realtime` of the plan document.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedRealtime {
    /// vCPUs, kernel list.
    pub vcpus: String,
    /// `fifo`.
    pub policy: String,
    /// Realtime priority.
    pub priority: u32,
}

/// `guest` of the plan document.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedGuest {
    /// Sockets.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
    /// vCPUs.
    pub vcpus: u32,
    /// Hugepage size in bytes, `None` (or absent, in plans written before it was read) for
    /// ordinary memory.
    #[serde(default)]
    pub page_size_bytes: Option<u64>,
}

/// One `vcpupin` item.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedPin {
    /// vCPU.
    pub vcpu: u32,
    /// Host CPU.
    pub cpu: u32,
}

/// One `cells` item.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedCell {
    /// Guest cell id.
    pub id: u32,
    /// Host node (`null` when the cell spans several).
    pub host_node: Option<u32>,
    /// Every host node (absent from plans written before cells could span several).
    #[serde(default)]
    pub host_nodes: Vec<u32>,
    /// vCPUs, kernel list.
    pub vcpus: String,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

impl ExpectedCell {
    /// The host nodes the cell is bound to: `host_nodes`, or the one `host_node` of an older
    /// plan.
    pub fn nodes(&self) -> Vec<u32> {
        if self.host_nodes.is_empty() {
            self.host_node.into_iter().collect()
        } else {
            self.host_nodes.clone()
        }
    }
}

/// One vCPU as QEMU and the kernel report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedVcpu {
    /// `cpu-index`.
    pub index: u32,
    /// `props.node-id`, when QEMU has NUMA.
    pub node: Option<u32>,
    /// `props.socket-id`.
    pub socket: Option<u32>,
    /// `props.core-id`.
    pub core: Option<u32>,
    /// `props.thread-id`.
    pub thread: Option<u32>,
    /// The host thread id.
    pub thread_id: Option<u64>,
    /// The host thread's CPU affinity, when read.
    pub affinity: Option<CpuSet>,
}

/// One memory backend (`query-memdev`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedMemdev {
    /// Object id (`ram-node0`).
    pub id: String,
    /// Size in bytes.
    pub size: u64,
    /// Host nodes it is bound to.
    pub host_nodes: Vec<u32>,
    /// Policy (`bind`, `default`, ...).
    pub policy: String,
    /// The QOM type (`memory-backend-memfd`, `memory-backend-file`, `memory-backend-ram`),
    /// from `qom-list /objects`; `None` when not read.
    pub backend_type: Option<String>,
    /// `hugetlb` of a memfd backend.
    pub hugetlb: Option<bool>,
    /// `hugetlbsize` of a memfd backend (0: the kernel's default hugepage size).
    pub hugetlbsize: Option<u64>,
}

/// Everything observed about a running VM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// vCPUs.
    pub vcpus: Vec<ObservedVcpu>,
    /// Memory backends.
    pub memdevs: Vec<ObservedMemdev>,
    /// Bytes of guest memory bound to each host node (`numa_maps`), when read.
    pub bound_per_node: Option<BTreeMap<u32, u64>>,
    /// The page sizes (bytes) of the bound memory on each host node (`numa_maps`
    /// `kernelpagesize_kB`), when read.
    pub page_sizes_per_node: Option<BTreeMap<u32, BTreeSet<u64>>>,
    /// Per vCPU (from its thread's name `CPU N/KVM`): the thread id, scheduling policy and
    /// realtime priority (`/proc/PID/task/TID/stat` fields 41 and 40), when read.
    pub sched: Option<BTreeMap<u32, ObservedSched>>,
}

/// Per host node, the page sizes (bytes) of the memory resident there in mappings under a
/// `bind:` policy (QEMU binds its guest memory backends; its own allocations are not bound).
pub fn parse_numa_maps_page_sizes(text: &str) -> BTreeMap<u32, BTreeSet<u64>> {
    let mut sizes: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.get(1).is_none_or(|p| !p.starts_with("bind:")) {
            continue;
        }
        let page_kib: u64 = words
            .iter()
            .find_map(|w| w.strip_prefix("kernelpagesize_kB="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(4);
        for word in &words[2..] {
            let Some((node, pages)) = word.strip_prefix('N').and_then(|r| r.split_once('=')) else {
                continue;
            };
            if let (Ok(node), Ok(pages)) = (node.parse::<u32>(), pages.parse::<u64>())
                && pages > 0
            {
                sizes
                    .entry(node)
                    .or_default()
                    .insert(page_kib.saturating_mul(1024));
            }
        }
    }
    sizes
}

/// A page size for people: `2Mi`, `1Gi`, `4Ki`.
fn page_label(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}Gi", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}Mi", b >> 20),
        b => format!("{}Ki", b >> 10),
    }
}

/// What a backend's own properties say of its pages: `Some(Some(size))` hugepages of a known
/// size, `Some(None)` hugepages of the default size (or on a hugetlbfs file, whose size only
/// `numa_maps` shows), `None` ordinary pages; the outer `Err` when its type is not known.
fn backend_pages(m: &ObservedMemdev) -> Result<Option<Option<u64>>, ()> {
    match m.backend_type.as_deref() {
        Some("memory-backend-ram") => Ok(None),
        Some("memory-backend-memfd") => Ok(match (m.hugetlb, m.hugetlbsize) {
            (Some(true), Some(size)) if size > 0 => Some(Some(size)),
            (Some(true), _) => Some(None),
            _ => None,
        }),
        Some("memory-backend-file") => Ok(Some(None)),
        _ => Err(()),
    }
}

/// The scheduling of one vCPU thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservedSched {
    /// Thread id.
    pub tid: u64,
    /// Linux policy number (1 is `SCHED_FIFO`).
    pub policy: u32,
    /// Realtime priority.
    pub priority: u32,
}

fn compare_realtime(want: &ExpectedRealtime, sched: &BTreeMap<u32, ObservedSched>, out: &mut Vec<String>) {
    use crate::plan::realtime::{SCHED_FIFO, policy_name};
    let vcpus = match CpuSet::parse_list(&want.vcpus) {
        Ok(set) => set,
        Err(e) => {
            out.push(format!("plan realtime: invalid vcpus {:?}: {e}", want.vcpus));
            return;
        }
    };
    let policy = match want.policy.as_str() {
        "fifo" => SCHED_FIFO,
        other => {
            out.push(format!("plan realtime: unknown policy {other:?}"));
            return;
        }
    };
    for v in vcpus.iter() {
        match sched.get(&v.0) {
            None => out.push(format!(
                "vCPU {}: no thread named \"CPU {}/KVM\" to check its realtime scheduling",
                v.0, v.0
            )),
            Some(s) if s.policy != policy || s.priority != want.priority => out.push(format!(
                "vCPU {}: its thread {} runs {} priority {}, the plan expects {} priority {} (virt-handler's realtime setting)",
                v.0,
                s.tid,
                policy_name(s.policy),
                s.priority,
                policy_name(policy),
                want.priority
            )),
            Some(_) => {}
        }
    }
    for (v, s) in sched {
        if !vcpus.contains(crate::ids::CpuId(*v)) && s.policy == policy {
            out.push(format!(
                "vCPU {v}: its thread {} runs {}, but the realtime mask leaves it out",
                s.tid,
                policy_name(s.policy)
            ));
        }
    }
}

/// Sums `/proc/PID/numa_maps`: for mappings under a `bind:` policy, the resident pages on
/// each node times the mapping's page size.
pub fn parse_numa_maps(text: &str) -> BTreeMap<u32, u64> {
    let mut bound: BTreeMap<u32, u64> = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(_addr), Some(policy)) = (words.next(), words.next()) else {
            continue;
        };
        if !policy.starts_with("bind:") {
            continue;
        }
        let words: Vec<&str> = words.collect();
        let page_kib: u64 = words
            .iter()
            .find_map(|w| w.strip_prefix("kernelpagesize_kB="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(4);
        for word in &words {
            let Some(rest) = word.strip_prefix('N') else {
                continue;
            };
            let Some((node, pages)) = rest.split_once('=') else {
                continue;
            };
            if let (Ok(node), Ok(pages)) = (node.parse::<u32>(), pages.parse::<u64>()) {
                *bound.entry(node).or_default() += pages.saturating_mul(page_kib).saturating_mul(1024);
            }
        }
    }
    bound
}

/// Every difference between the plan and the running VM, in plain words.
pub fn compare(expected: &Expected, observed: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    let g = &expected.guest;
    if observed.vcpus.len() != usize::try_from(g.vcpus).unwrap_or(usize::MAX) {
        out.push(format!(
            "QEMU reports {} vCPUs, the plan has {}",
            observed.vcpus.len(),
            g.vcpus
        ));
    }
    let mut cell_of: BTreeMap<u32, u32> = BTreeMap::new();
    for cell in &expected.cells {
        match CpuSet::parse_list(&cell.vcpus) {
            Ok(set) => {
                for v in set.iter() {
                    cell_of.insert(v.0, cell.id);
                }
            }
            Err(e) => out.push(format!(
                "plan cell {}: invalid vcpus {:?}: {e}",
                cell.id, cell.vcpus
            )),
        }
    }
    let (threads, cores) = (g.threads.max(1), g.cores.max(1));
    for vcpu in &observed.vcpus {
        let i = vcpu.index;
        let want = (i % threads, (i / threads) % cores, i / (threads * cores));
        let got = (vcpu.thread, vcpu.core, vcpu.socket);
        if got != (Some(want.0), Some(want.1), Some(want.2)) {
            out.push(format!(
                "vCPU {i}: QEMU places it at socket {:?} core {:?} thread {:?}, the plan's topology at socket {} core {} thread {}",
                vcpu.socket, vcpu.core, vcpu.thread, want.2, want.1, want.0
            ));
        }
        if vcpu.node != cell_of.get(&i).copied() {
            out.push(format!(
                "vCPU {i}: QEMU puts it in guest node {:?}, the plan in cell {:?}",
                vcpu.node,
                cell_of.get(&i)
            ));
        }
        if let Some(affinity) = &vcpu.affinity
            && let Some(pin) = expected.vcpupin.iter().find(|p| p.vcpu == i)
        {
            let want: CpuSet = std::iter::once(crate::ids::CpuId(pin.cpu)).collect();
            if *affinity != want {
                out.push(format!(
                    "vCPU {i}: its thread {} may run on host CPUs {affinity}, the plan pins it to {}",
                    vcpu.thread_id.map_or_else(|| "?".into(), |t| t.to_string()),
                    pin.cpu
                ));
            }
        }
    }
    for cell in &expected.cells {
        let id = format!("ram-node{}", cell.id);
        match observed.memdevs.iter().find(|m| m.id == id) {
            None => out.push(format!("cell {}: QEMU has no memory backend {id}", cell.id)),
            Some(m) => {
                if m.size != cell.memory_bytes {
                    out.push(format!(
                        "cell {}: backend {id} has {} bytes, the plan {}",
                        cell.id, m.size, cell.memory_bytes
                    ));
                }
                let want = g.page_size_bytes;
                let pages = |p: Option<u64>| {
                    p.map_or_else(
                        || "ordinary pages".to_string(),
                        |b| format!("{} hugepages", page_label(b)),
                    )
                };
                match (backend_pages(m), want) {
                    (Ok(None), Some(_)) | (Ok(Some(_)), None) => out.push(format!(
                        "cell {}: backend {id} is {} ({}), the plan puts the guest memory on {}",
                        cell.id,
                        m.backend_type.as_deref().unwrap_or("?"),
                        if want.is_some() {
                            "ordinary pages"
                        } else {
                            "hugepages"
                        },
                        pages(want)
                    )),
                    (Ok(Some(Some(size))), Some(want)) if size != want => out.push(format!(
                        "cell {}: backend {id} uses {} hugepages, the plan {}",
                        cell.id,
                        page_label(size),
                        page_label(want)
                    )),
                    _ => {}
                }
                let nodes = cell.nodes();
                if m.host_nodes != nodes || m.policy != "bind" {
                    let plural = if nodes.len() == 1 { "" } else { "s" };
                    out.push(format!(
                        "cell {}: backend {id} is {} to host nodes {:?}, the plan binds it to host node{plural} {}",
                        cell.id,
                        m.policy,
                        m.host_nodes,
                        crate::plan::comma_nodes(&nodes)
                    ));
                }
            }
        }
    }
    if let (Some(sizes), Some(want)) = (&observed.page_sizes_per_node, g.page_size_bytes) {
        let nodes: BTreeSet<u32> = expected.cells.iter().flat_map(ExpectedCell::nodes).collect();
        for node in nodes {
            if let Some(got) = sizes.get(&node)
                && got.iter().any(|&size| size != want)
            {
                let got: Vec<String> = got.iter().map(|&b| page_label(b)).collect();
                out.push(format!(
                    "host node {node}: guest memory there is on {} pages (numa_maps kernelpagesize_kB), the plan on {} hugepages",
                    got.join(" and "),
                    page_label(want)
                ));
            }
        }
    }
    if let (Some(want), Some(sched)) = (&expected.realtime, &observed.sched) {
        compare_realtime(want, sched, &mut out);
    }
    if let Some(bound) = &observed.bound_per_node {
        let mut want: BTreeMap<u32, u64> = BTreeMap::new();
        for cell in expected.cells.iter().filter(|c| c.nodes().len() == 1) {
            // a cell on several nodes may sit on any of them: only one-node cells are summed
            for node in cell.nodes() {
                *want.entry(node).or_default() += cell.memory_bytes;
            }
        }
        for (node, bytes) in &want {
            let got = bound.get(node).copied().unwrap_or(0);
            if got < *bytes {
                out.push(format!(
                    "host node {node}: {got} bytes of guest memory are bound there (numa_maps), the plan needs {bytes}"
                ));
            }
        }
        for (node, got) in bound {
            if !want.contains_key(node) && *got > 0 {
                out.push(format!(
                    "host node {node}: {got} bytes are bound there, the plan binds nothing to it"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
