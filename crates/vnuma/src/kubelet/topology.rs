//! The kubelet's view of a host (`cpumanager/topology/topology.go`) and the NUMA bitmask and
//! topology hints the managers exchange (`topologymanager/bitmask`, `TopologyHint`).

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::CpuId;
use crate::topology::HostTopology;

/// Where one CPU sits, as the kubelet records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuInfo {
    /// NUMA node id.
    pub numa: u32,
    /// Socket id.
    pub socket: u32,
    /// Core id: the lowest thread id of the core, unique across the machine.
    pub core: u32,
    /// Uncore (L3) cache id; the socket id when the host reports none.
    pub uncore: u32,
}

/// `CPUTopology`: header counts and the per-CPU details. The derived per-core / per-socket /
/// per-uncore values come from the HEADER counts, as upstream (some upstream test fixtures
/// have headers that disagree with their maps, and the behaviour depends on it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuTopology {
    /// `NumCPUs`.
    pub num_cpus: usize,
    /// `NumCores`.
    pub num_cores: usize,
    /// `NumSockets`.
    pub num_sockets: usize,
    /// `NumNUMANodes` (0 in some fixtures: "unset").
    pub num_numa_nodes: usize,
    /// `NumUncoreCache`.
    pub num_uncore_cache: usize,
    /// `CPUDetails`.
    pub details: BTreeMap<u32, CpuInfo>,
}

fn per(a: usize, b: usize) -> usize {
    a.checked_div(b).unwrap_or(0)
}

impl CpuTopology {
    /// `CPUsPerCore` (0 when there are no cores).
    pub fn cpus_per_core(&self) -> usize {
        per(self.num_cpus, self.num_cores)
    }

    /// `CPUsPerSocket`.
    pub fn cpus_per_socket(&self) -> usize {
        per(self.num_cpus, self.num_sockets)
    }

    /// `CPUsPerUncore`.
    pub fn cpus_per_uncore(&self) -> usize {
        per(self.num_cpus, self.num_uncore_cache)
    }

    /// The kubelet's discovery on a host: online CPUs with a node; core id = the lowest
    /// online sibling; socket = the package id, else the node id; uncore = the L3 id, else
    /// the socket id.
    ///
    /// An L3 shared by exactly the CPUs of the CPU's own NUMA node is no uncore cache to the
    /// kubelet: cadvisor files a cache as large as the node as a *node* cache, not a core's,
    /// so the core has no uncore cache and the kubelet uses the socket id (`kubelet.md` §1.2;
    /// AMD "L3 as NUMA" hosts). `NumUncoreCache` counts the ids so derived.
    pub fn from_host(host: &HostTopology) -> Self {
        // the CPUs of every node and of every L3, as the kubelet sees them (online, with a node)
        let mut node_cpus: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        let mut l3_cpus: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        for node in &host.nodes {
            for &cpu in &node.cpus {
                let Some(info) = host.cpu(cpu) else { continue };
                node_cpus.entry(node.id.0).or_default().insert(cpu.0);
                if let Some(l3) = info.l3 {
                    l3_cpus.entry(l3).or_default().insert(cpu.0);
                }
            }
        }
        let node_cache = |l3: u32, node: u32| l3_cpus.get(&l3) == node_cpus.get(&node);
        let mut details = BTreeMap::new();
        for node in &host.nodes {
            for &cpu in &node.cpus {
                let Some(info) = host.cpu(cpu) else { continue };
                let socket = info.socket.unwrap_or(node.id.0);
                let core = info
                    .siblings
                    .iter()
                    .filter(|s| host.cpu(*s).is_some_and(|c| c.online))
                    .map(|s| s.0)
                    .min()
                    .unwrap_or(cpu.0);
                details.insert(
                    cpu.0,
                    CpuInfo {
                        numa: node.id.0,
                        socket,
                        core,
                        uncore: info.l3.filter(|&l3| !node_cache(l3, node.id.0)).unwrap_or(socket),
                    },
                );
            }
        }
        let distinct = |f: fn(&CpuInfo) -> u32| details.values().map(f).collect::<BTreeSet<u32>>().len();
        CpuTopology {
            num_cpus: details.len(),
            num_cores: distinct(|c| c.core),
            num_sockets: distinct(|c| c.socket),
            num_numa_nodes: distinct(|c| c.numa),
            num_uncore_cache: distinct(|c| c.uncore),
            details,
        }
    }

    /// All CPUs.
    pub fn all_cpus(&self) -> crate::cpuset::CpuSet {
        self.details.keys().map(|&c| CpuId(c)).collect()
    }

    /// The NUMA node ids present.
    pub fn numa_nodes(&self) -> Vec<u32> {
        self.details
            .values()
            .map(|c| c.numa)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// A set of NUMA nodes as the kubelet's 64-bit bitmask (node ids 0–63).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NodeMask(pub u64);

/// A node id past 63.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bit number must be in range 0-63")]
pub struct BitRangeError;

impl NodeMask {
    /// The mask of these nodes.
    ///
    /// # Errors
    /// [`BitRangeError`] for an id past 63 (the kubelet's own message).
    pub fn of(nodes: &[u32]) -> Result<Self, BitRangeError> {
        let mut bits = 0u64;
        for &n in nodes {
            if n > 63 {
                return Err(BitRangeError);
            }
            bits |= 1 << n;
        }
        Ok(NodeMask(bits))
    }

    /// The node ids, ascending.
    pub fn nodes(self) -> Vec<u32> {
        (0..64).filter(|b| self.0 & (1u64 << b) != 0).collect()
    }

    /// `Count`.
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }

    /// `IsSet`.
    pub fn is_set(self, node: u32) -> bool {
        node < 64 && self.0 & (1u64 << node) != 0
    }

    /// Bitwise and.
    pub fn and(self, other: NodeMask) -> NodeMask {
        NodeMask(self.0 & other.0)
    }

    /// `IsNarrowerThan`: fewer nodes, or as many and a smaller integer.
    pub fn is_narrower_than(self, other: NodeMask) -> bool {
        self.count() < other.count() || (self.count() == other.count() && self.0 < other.0)
    }

    /// `IterateBitMasks`: every non-empty subset of `ids`, size 1 first, then 2, …; within a
    /// size, lexicographic by position in the sorted id list.
    pub fn iterate(ids: &[u32]) -> Vec<NodeMask> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        fn rec(ids: &[u32], start: usize, left: usize, acc: &mut Vec<u32>, out: &mut Vec<NodeMask>) {
            if left == 0 {
                if let Ok(m) = NodeMask::of(acc) {
                    out.push(m);
                }
                return;
            }
            for i in start..ids.len() {
                acc.push(ids[i]);
                rec(ids, i + 1, left - 1, acc, out);
                acc.pop();
            }
        }
        for size in 1..=ids.len() {
            rec(&ids, 0, size, &mut Vec::new(), &mut out);
        }
        out
    }
}

/// `TopologyHint`: a NUMA affinity (none = no preference) and whether it is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopologyHint {
    /// The nodes, or `None`.
    pub affinity: Option<NodeMask>,
    /// Preferred.
    pub preferred: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmask_semantics() {
        let m = |ids: &[u32]| NodeMask::of(ids).unwrap_or_default();
        assert_eq!(NodeMask::of(&[64]), Err(BitRangeError));
        assert_eq!(BitRangeError.to_string(), "bit number must be in range 0-63");
        assert!(
            !m(&[0, 3]).is_narrower_than(m(&[1, 2])),
            "{{0,3}}=9 is not narrower than {{1,2}}=6"
        );
        assert!(m(&[1, 2]).is_narrower_than(m(&[0, 3])));
        assert!(m(&[5]).is_narrower_than(m(&[0, 1])));
        let all: Vec<Vec<u32>> = NodeMask::iterate(&[2, 0, 1])
            .into_iter()
            .map(NodeMask::nodes)
            .collect();
        assert_eq!(
            all,
            vec![
                vec![0],
                vec![1],
                vec![2],
                vec![0, 1],
                vec![0, 2],
                vec![1, 2],
                vec![0, 1, 2]
            ]
        );
    }

    #[test]
    fn discovery_from_the_built_in_host() {
        let host = crate::topology::examples::example("dual-socket").unwrap_or_else(|e| panic!("{e}"));
        let t = CpuTopology::from_host(&host);
        assert_eq!(
            (
                t.num_cpus,
                t.num_cores,
                t.num_sockets,
                t.num_numa_nodes,
                t.num_uncore_cache
            ),
            (32, 16, 2, 2, 2)
        );
        assert_eq!(
            t.details[&17],
            CpuInfo {
                numa: 0,
                socket: 0,
                core: 1,
                uncore: 0
            }
        );
        assert_eq!(t.cpus_per_core(), 2);
    }
}
