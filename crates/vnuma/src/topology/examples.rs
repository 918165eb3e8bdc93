//! Built-in example hosts, so every command works without a real machine.
//!
//! - `dual-socket`: the host of KubeVirt's worked example (and `cli-contract.md`): two nodes,
//!   one socket each, 8 SMT-2 cores per socket, CPUs `n` and `n+16` siblings, distances 10/21,
//!   32 GiB and 1024 free 2 MiB pages per node.
//! - `asymmetric`: what real servers look like once sub-NUMA clustering and CXL arrive: socket 0
//!   split unevenly into node 0 (6 cores) and node 1 (2 cores), socket 1 as node 2 with CPUs
//!   but no memory, and a CPU-less CXL memory node with the sparse id 5. Hugepages are uneven
//!   (node 0 has 1 GiB pages too, and fewer 2 MiB pages free than total).
//!
//! Both are idle hosts: a node's free memory (`MemFree`) is its memory less its hugepage
//! pools (reserved pages are never in `MemFree`, used or not), so `dual-socket` has 30 GiB
//! free per node.

use std::collections::BTreeMap;

use crate::cpuset::CpuSet;
use crate::ids::{CpuId, NodeId};
use crate::topology::{Cpu, HostTopology, HugepagePool, Node, TopologyError};

/// The built-in hosts: name (after `example:`) and a one-line description.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "dual-socket",
        "2 sockets = 2 NUMA nodes, 8 cores each, SMT-2, 32 GiB and 1024 x 2 MiB pages per node",
    ),
    (
        "asymmetric",
        "uneven SNC nodes 0 (6 cores) and 1 (2 cores), memory-less node 2, CPU-less CXL node 5",
    ),
];

const GIB: u64 = 1 << 30;
const MIB2: u64 = 2 << 20;

/// One node of an example: its socket, its cores as (core id, threads), and its memory.
struct NodeSpec {
    id: u32,
    socket: u32,
    cores: Vec<(u32, Vec<u32>)>,
    memory_bytes: u64,
    hugepages: Vec<HugepagePool>,
    distances: Vec<(u32, u32)>,
}

fn pool(page_size_bytes: u64, total: u64, free: u64) -> HugepagePool {
    HugepagePool {
        page_size_bytes,
        total,
        free: Some(free),
    }
}

/// SMT-2 cores `first..first+count` of a socket whose sibling CPUs are `n` and `n + 16`.
fn smt2_cores(first_cpu: u32, first_core: u32, count: u32) -> Vec<(u32, Vec<u32>)> {
    (0..count)
        .map(|i| (first_core + i, vec![first_cpu + i, first_cpu + i + 16]))
        .collect()
}

fn build(specs: Vec<NodeSpec>) -> HostTopology {
    let mut cpus = Vec::new();
    let mut nodes = Vec::new();
    let mut global: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for spec in specs {
        let mut node_cpus: Vec<CpuId> = Vec::new();
        for (core, threads) in &spec.cores {
            let siblings: CpuSet = threads.iter().map(|&t| CpuId(t)).collect();
            for &t in threads {
                node_cpus.push(CpuId(t));
                cpus.push(Cpu {
                    id: CpuId(t),
                    node: Some(NodeId(spec.id)),
                    socket: Some(spec.socket),
                    die: Some(0),
                    core: Some(*core),
                    l3: Some(spec.socket),
                    siblings_text: siblings.to_string(),
                    siblings: siblings.clone(),
                    online: true,
                });
            }
        }
        node_cpus.sort();
        for p in &spec.hugepages {
            let entry = global.entry(p.page_size_bytes).or_default();
            entry.0 += p.total;
            entry.1 += p.free.unwrap_or(0);
        }
        let pooled: u64 = spec.hugepages.iter().map(|p| p.total * p.page_size_bytes).sum();
        nodes.push(Node {
            id: NodeId(spec.id),
            cpus: node_cpus,
            memory_bytes: Some(spec.memory_bytes),
            memory_free_bytes: Some(spec.memory_bytes.saturating_sub(pooled)),
            hugepages: spec.hugepages,
            distances: Some(spec.distances.iter().map(|&(n, d)| (NodeId(n), d)).collect()),
        });
    }
    cpus.sort_by_key(|c| c.id);
    HostTopology {
        nodes,
        cpus,
        hugepages_global: global
            .into_iter()
            .map(|(size, (total, free))| pool(size, total, free))
            .collect(),
        allowed: None,
    }
}

fn dual_socket() -> HostTopology {
    build(
        (0..2)
            .map(|n| NodeSpec {
                id: n,
                socket: n,
                cores: smt2_cores(8 * n, 0, 8),
                memory_bytes: 32 * GIB,
                hugepages: vec![pool(MIB2, 1024, 1024)],
                distances: vec![
                    (0, if n == 0 { 10 } else { 21 }),
                    (1, if n == 1 { 10 } else { 21 }),
                ],
            })
            .collect(),
    )
}

fn asymmetric() -> HostTopology {
    build(vec![
        NodeSpec {
            id: 0,
            socket: 0,
            cores: smt2_cores(0, 0, 6),
            memory_bytes: 16 * GIB,
            hugepages: vec![pool(MIB2, 2048, 1536), pool(GIB, 4, 4)],
            distances: vec![(0, 10), (1, 11), (2, 21), (5, 30)],
        },
        NodeSpec {
            id: 1,
            socket: 0,
            cores: smt2_cores(6, 6, 2),
            memory_bytes: 16 * GIB,
            hugepages: vec![pool(MIB2, 512, 512)],
            distances: vec![(0, 11), (1, 10), (2, 21), (5, 30)],
        },
        NodeSpec {
            id: 2,
            socket: 1,
            cores: smt2_cores(8, 0, 8),
            memory_bytes: 0,
            hugepages: vec![],
            distances: vec![(0, 21), (1, 21), (2, 10), (5, 40)],
        },
        NodeSpec {
            id: 5,
            socket: 0,
            cores: vec![],
            memory_bytes: 64 * GIB,
            hugepages: vec![pool(GIB, 8, 8)],
            distances: vec![(0, 30), (1, 30), (2, 40), (5, 10)],
        },
    ])
}

/// The built-in host `name` (without the `example:` prefix).
///
/// # Errors
/// [`TopologyError::UnknownExample`] listing the names there are.
///
/// ```
/// let host = vnuma::topology::examples::example("dual-socket").unwrap();
/// assert_eq!(host.nodes.len(), 2);
/// ```
pub fn example(name: &str) -> Result<HostTopology, TopologyError> {
    match name {
        "dual-socket" => Ok(dual_socket()),
        "asymmetric" => Ok(asymmetric()),
        _ => Err(TopologyError::UnknownExample {
            name: name.to_string(),
            known: EXAMPLES
                .iter()
                .map(|(n, _)| format!("example:{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
