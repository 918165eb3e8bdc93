//! Stage 1: the host's NUMA topology, whatever it was read from.
//!
//! [`HostTopology`] is the one model every later stage reads. Sources fill it:
//! [`sysfs`] (a Linux filesystem root, live or a snapshot), [`capabilities`] (a `virsh
//! capabilities` document, KubeVirt's own source) and [`examples`] (built-in hosts). The model is
//! plain data; the readers decide every quirk of their source, so nothing downstream has to.
//!
//! Order matters: KubeVirt hands out CPUs in the order libvirt reports them. `nodes` keeps the
//! source's order (document order for capabilities; ascending ids for sysfs and the built-in
//! hosts, as libvirt prints them) and so does each node's `cpus`.

pub mod capabilities;
pub mod examples;
pub mod sysfs;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::cpuset::{CpuSet, ListParseError, NodeSet};
use crate::ids::{CpuId, NodeId};

/// A host as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTopology {
    /// NUMA nodes in source order (see the module docs).
    pub nodes: Vec<Node>,
    /// Every CPU that exists, ascending by id, offline ones included.
    pub cpus: Vec<Cpu>,
    /// The system-wide hugepage pools, ascending by page size.
    pub hugepages_global: Vec<HugepagePool>,
    /// The cgroup cpuset restriction the source was read under, if any.
    pub allowed: Option<Allowed>,
}

/// One host NUMA node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node id (may be sparse).
    pub id: NodeId,
    /// The node's online CPUs, in source order (empty for a CPU-less node).
    pub cpus: Vec<CpuId>,
    /// Memory local to the node in bytes; `Some(0)` for a memory-less node, `None` when unknown.
    pub memory_bytes: Option<u64>,
    /// The node's free memory in bytes (`MemFree` of its `meminfo`; hugepage pools are not
    /// in it), `None` when the source does not know it (capabilities documents).
    pub memory_free_bytes: Option<u64>,
    /// Hugepage pools of this node, ascending by page size.
    pub hugepages: Vec<HugepagePool>,
    /// Distance to each node, keyed by node id, as the source gave it (values unvalidated:
    /// a `0` or an asymmetric matrix is kept); `None` when the source has none.
    pub distances: Option<BTreeMap<NodeId, u32>>,
}

/// One logical CPU (hardware thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpu {
    /// The CPU id.
    pub id: CpuId,
    /// The node the CPU belongs to, when known.
    pub node: Option<NodeId>,
    /// Physical package (socket) id.
    pub socket: Option<u32>,
    /// Die id within the package.
    pub die: Option<u32>,
    /// Core id as the source reports it (may repeat across sockets, may be sparse).
    pub core: Option<u32>,
    /// L3 (uncore) cache id, where known.
    pub l3: Option<u32>,
    /// The SMT siblings, this CPU included (empty when unknown).
    pub siblings: CpuSet,
    /// The siblings exactly as KubeVirt would read them from `virsh capabilities`: the
    /// document's attribute text, or for other sources the text libvirt would print
    /// (ascending, consecutive ids as a range such as `0-1`).
    pub siblings_text: String,
    /// Whether the CPU is online.
    pub online: bool,
}

/// One hugepage pool: pages of one size, on one node or system-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugepagePool {
    /// Page size in bytes.
    pub page_size_bytes: u64,
    /// Pages in the pool.
    pub total: u64,
    /// Pages free, when the source knows it (capabilities documents give totals only).
    pub free: Option<u64>,
}

/// A cgroup cpuset restriction (what a process, or a pod, may use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// CPUs the cgroup may run on.
    pub cpus: CpuSet,
    /// Memory nodes the cgroup may allocate from.
    pub mems: NodeSet,
}

impl HostTopology {
    /// The node with this id.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The CPU with this id.
    pub fn cpu(&self, id: CpuId) -> Option<&Cpu> {
        self.cpus
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .and_then(|i| self.cpus.get(i))
    }

    /// The node's cores: its CPUs grouped with their SMT siblings inside the node, in the
    /// node's order (a core comes where its first CPU does), each core's CPUs ascending. A CPU
    /// whose sibling list is unknown or does not name it is a core of its own. The SVG, the
    /// terminal map and the topology table all draw cores from this.
    pub fn node_cores(&self, node: &Node) -> Vec<Vec<CpuId>> {
        let in_node: CpuSet = node.cpus.iter().copied().collect();
        let mut done: BTreeSet<CpuId> = BTreeSet::new();
        let mut cores = Vec::new();
        for &cpu in &node.cpus {
            if done.contains(&cpu) {
                continue;
            }
            let siblings: Vec<CpuId> = self
                .cpu(cpu)
                .map(|c| c.siblings.intersection(&in_node))
                .filter(|s| s.contains(cpu))
                .map_or_else(|| vec![cpu], |s| s.iter().collect());
            done.extend(siblings.iter().copied());
            cores.push(siblings);
        }
        cores
    }

    /// The online CPUs sharing each level-3 cache, ascending by cache id (empty when the
    /// source names no L3: capabilities documents without cache banks, some architectures).
    pub fn l3_groups(&self) -> Vec<(u32, CpuSet)> {
        let mut groups: BTreeMap<u32, CpuSet> = BTreeMap::new();
        for cpu in self.cpus.iter().filter(|c| c.online) {
            if let Some(l3) = cpu.l3 {
                groups.entry(l3).or_default().insert(cpu.id);
            }
        }
        groups.into_iter().collect()
    }

    /// Every online CPU that belongs to a node.
    pub fn online_cpus(&self) -> CpuSet {
        self.nodes.iter().flat_map(|n| n.cpus.iter().copied()).collect()
    }
}

/// Everything that can go wrong reading a host.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// A file or directory could not be read.
    #[error("failed to read {}", .path.display())]
    Read {
        /// What was read.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A file is larger than any real sysfs file (a `/dev/zero` lookalike, say).
    #[error("{} is larger than {limit} bytes; not a sysfs file", .path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A directory has more entries than any real sysfs directory.
    #[error("{} has more than {limit} entries; not a sysfs directory", .path.display())]
    DirTooLarge {
        /// The directory.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// The directory given as a host does not look like a filesystem root with sysfs.
    #[error("{} is not a sysfs root: {} {what}", .root.display(), .probe.display())]
    NotSysfsRoot {
        /// The directory given.
        root: PathBuf,
        /// The path that proved it.
        probe: PathBuf,
        /// What is wrong with it.
        what: &'static str,
    },
    /// A cpulist, nodelist or cpumap that does not parse.
    #[error("invalid {kind} {text:?} in {}: {reason}", .path.display())]
    List {
        /// The file.
        path: PathBuf,
        /// `cpu list`, `node list` or `cpumap`.
        kind: &'static str,
        /// The text as read (trimmed).
        text: String,
        /// Why (part of the message, so not also a `source`).
        reason: ListParseError,
    },
    /// A number that does not parse.
    #[error("invalid {what} {text:?} in {}", .path.display())]
    Number {
        /// The file.
        path: PathBuf,
        /// What the number means.
        what: &'static str,
        /// The text as read.
        text: String,
    },
    /// A CPU listed by several nodes with nothing to say which one it really belongs to.
    #[error(
        "cpu {cpu} is listed by NUMA nodes {} and {} names none of them; \
         vnuma needs every CPU in exactly one node (a firmware bug or a fake topology)",
        .nodes.to_comma_list(), .cpu_dir.display()
    )]
    OverlappingNodes {
        /// The CPU.
        cpu: CpuId,
        /// The nodes whose lists contain it.
        nodes: NodeSet,
        /// The CPU's directory, whose `nodeN` link would have decided.
        cpu_dir: PathBuf,
    },
    /// A distance row whose length matches no list of nodes.
    #[error(
        "distance row {text:?} in {} has {len} entries but the host has {online} online nodes",
        .path.display()
    )]
    DistanceRow {
        /// The file.
        path: PathBuf,
        /// The row as read.
        text: String,
        /// Entries in the row.
        len: usize,
        /// Online nodes.
        online: usize,
    },
    /// A capabilities document that is not well-formed XML.
    #[error("{origin}: malformed XML at line {line}: {message}")]
    Xml {
        /// The file (or `<stdin>`).
        origin: String,
        /// Line of the problem (1-based).
        line: usize,
        /// The parser's words.
        message: String,
    },
    /// A capabilities document with a value that does not fit its attribute.
    #[error("{origin}: invalid {what} {value:?} at {location}")]
    Capabilities {
        /// The file (or `<stdin>`).
        origin: String,
        /// The element path, e.g. `host/topology/cells/cell[1]/cpus/cpu[3]/@siblings`.
        location: String,
        /// What the value means.
        what: &'static str,
        /// The value.
        value: String,
    },
    /// A capabilities document with no `<host>` element.
    #[error("{origin}: not a libvirt capabilities document (no <capabilities><host> element)")]
    NotCapabilities {
        /// The file (or `<stdin>`).
        origin: String,
    },
    /// An hwloc (`lstopo`) XML topology, which vnuma does not read.
    #[error(
        "{origin}: this is an hwloc (lstopo) XML topology, which vnuma does not read; pass a sysfs root \
         (`/` on the node, or the directory an `hwloc-gather-topology` tarball extracts to), a \
         `virsh capabilities` document (`virsh capabilities > caps.xml` on the node) or example:NAME"
    )]
    HwlocXml {
        /// The file (or `<stdin>`).
        origin: String,
    },
    /// A capabilities document without NUMA cells (`<host><topology><cells>`).
    #[error(
        "{origin}: the capabilities document has no NUMA topology (<host><topology><cells> is missing \
         or empty); run `virsh capabilities` on the node itself (libvirt in a container or on another \
         machine may not see the host's nodes), or pass a sysfs root (--host / on the node)"
    )]
    NoNumaTopology {
        /// The file (or `<stdin>`).
        origin: String,
    },
    /// A built-in host that does not exist.
    #[error("unknown built-in host {name:?}; known: {known}")]
    UnknownExample {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
}
