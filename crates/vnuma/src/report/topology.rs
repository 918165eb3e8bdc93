//! `vnuma topology`: the host as JSON (`cli-contract.md`) and as a table for people.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cpuset::CpuSet;
use crate::report::{human_bytes, json_text, page_size_label, yaml_text};
use crate::topology::{HostTopology, HugepagePool, Node};

#[derive(Serialize)]
struct TopologyDoc<'a> {
    source: &'a str,
    nodes: Vec<NodeDoc>,
    cpus: Vec<CpuDoc>,
    hugepages_global: Vec<PoolDoc>,
    allowed: Option<AllowedDoc>,
    /// The CPUs sharing each cache, as `lstopo` groups them (level 3 only, for now).
    caches: Vec<CacheDoc>,
}

#[derive(Serialize)]
struct CacheDoc {
    level: u32,
    id: u32,
    cpus: String,
}

#[derive(Serialize)]
struct NodeDoc {
    id: u32,
    cpus: String,
    memory_bytes: Option<u64>,
    /// `MemFree` of the node's meminfo; `null` when the source does not know it.
    memory_free_bytes: Option<u64>,
    hugepages: Vec<PoolDoc>,
    /// Keyed by node id, in ascending numeric order.
    distances: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize)]
struct CpuDoc {
    id: u32,
    node: Option<u32>,
    socket: Option<u32>,
    die: Option<u32>,
    core: Option<u32>,
    l3: Option<u32>,
    siblings: String,
    online: bool,
}

#[derive(Serialize)]
struct PoolDoc {
    page_size_bytes: u64,
    total: u64,
    free: Option<u64>,
}

#[derive(Serialize)]
struct AllowedDoc {
    cpus: String,
    mems: String,
}

fn pools(pools: &[HugepagePool]) -> Vec<PoolDoc> {
    pools
        .iter()
        .map(|p| PoolDoc {
            page_size_bytes: p.page_size_bytes,
            total: p.total,
            free: p.free,
        })
        .collect()
}

fn node_cpus(node: &Node) -> CpuSet {
    node.cpus.iter().copied().collect()
}

/// The `topology -o json` document. `source` says where the host came from
/// (`sysfs:/path`, `capabilities:/path`, `example:NAME`).
pub fn to_json(host: &HostTopology, source: &str) -> String {
    json_text(&doc(host, source))
}

/// The same document as YAML.
pub fn to_yaml(host: &HostTopology, source: &str) -> String {
    yaml_text(&doc(host, source))
}

fn doc<'a>(host: &HostTopology, source: &'a str) -> TopologyDoc<'a> {
    TopologyDoc {
        source,
        nodes: host
            .nodes
            .iter()
            .map(|n| NodeDoc {
                id: n.id.0,
                cpus: node_cpus(n).to_string(),
                memory_bytes: n.memory_bytes,
                memory_free_bytes: n.memory_free_bytes,
                hugepages: pools(&n.hugepages),
                distances: n.distances.as_ref().map(|d| {
                    d.iter()
                        .map(|(id, v)| (id.to_string(), serde_json::Value::from(*v)))
                        .collect()
                }),
            })
            .collect(),
        cpus: host
            .cpus
            .iter()
            .map(|c| CpuDoc {
                id: c.id.0,
                node: c.node.map(|n| n.0),
                socket: c.socket,
                die: c.die,
                core: c.core,
                l3: c.l3,
                siblings: c.siblings.to_string(),
                online: c.online,
            })
            .collect(),
        hugepages_global: pools(&host.hugepages_global),
        allowed: host.allowed.as_ref().map(|a| AllowedDoc {
            cpus: a.cpus.to_string(),
            mems: a.mems.to_string(),
        }),
        caches: host
            .l3_groups()
            .into_iter()
            .map(|(id, cpus)| CacheDoc {
                level: 3,
                id,
                cpus: cpus.to_string(),
            })
            .collect(),
    }
}

/// Hugepage pools in one line (`2Mi 1024/1024 free, 1Gi 4 total`), or `none`.
pub(crate) fn pools_line(pools: &[HugepagePool]) -> String {
    if pools.is_empty() {
        return "none".to_string();
    }
    let parts: Vec<String> = pools
        .iter()
        .map(|p| match p.free {
            Some(free) => format!("{} {free}/{} free", page_size_label(p.page_size_bytes), p.total),
            None => format!("{} {} total", page_size_label(p.page_size_bytes), p.total),
        })
        .collect();
    parts.join(", ")
}

/// The node's CPUs grouped into cores (SMT siblings joined by `+`), in the node's order.
fn cores_of(host: &HostTopology, node: &Node) -> Vec<String> {
    host.node_cores(node)
        .iter()
        .map(|core| core.iter().map(ToString::to_string).collect::<Vec<_>>().join("+"))
        .collect()
}

/// Words wrapped into lines of at most `width` characters, each line indented.
fn wrap(words: &[String], indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in words {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

/// The `topology` table: a summary line, one block per node (CPUs grouped by core, memory,
/// hugepages, free memory, L3 groups), the distance matrix, the system hugepage pools and any
/// cgroup restriction.
pub fn to_table(host: &HostTopology, source: &str) -> String {
    let mut out = String::new();
    let l3_groups = host.l3_groups();
    let online: Vec<_> = host.cpus.iter().filter(|c| c.online).collect();
    let sockets: BTreeSet<u32> = host.cpus.iter().filter_map(|c| c.socket).collect();
    let cores: usize = host.nodes.iter().map(|n| cores_of(host, n).len()).sum();
    let _ = writeln!(out, "host {source}");
    let _ = writeln!(
        out,
        "{} NUMA nodes, {} sockets, {cores} cores, {} CPUs ({} online)",
        host.nodes.len(),
        if sockets.is_empty() {
            "?".to_string()
        } else {
            sockets.len().to_string()
        },
        host.cpus.len(),
        online.len(),
    );
    let offline: CpuSet = host.cpus.iter().filter(|c| !c.online).map(|c| c.id).collect();
    if !offline.is_empty() {
        let _ = writeln!(out, "offline CPUs: {offline}");
    }
    for node in &host.nodes {
        let cpus = node_cpus(node);
        let node_sockets: BTreeSet<u32> = node.cpus.iter().filter_map(|c| host.cpu(*c)?.socket).collect();
        let socket = match node_sockets.len() {
            0 => String::new(),
            _ => format!(
                "  socket {}",
                node_sockets
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        let memory = match node.memory_bytes {
            Some(0) => "no memory".to_string(),
            Some(bytes) => human_bytes(bytes),
            None => "memory unknown".to_string(),
        };
        let _ = writeln!(
            out,
            "\nnode {}{socket}  {memory}  hugepages {}",
            node.id,
            pools_line(&node.hugepages)
        );
        if cpus.is_empty() {
            let _ = writeln!(out, "  cpus: none (memory only)");
        } else {
            let groups = cores_of(host, node);
            let _ = writeln!(out, "  cpus {cpus} ({} cores):", groups.len());
            out.push_str(&wrap(&groups, "    ", 78));
        }
        if let (Some(free), Some(total)) = (node.memory_free_bytes, node.memory_bytes)
            && total > 0
        {
            let _ = writeln!(
                out,
                "  memory free: {} of {}",
                human_bytes(free),
                human_bytes(total)
            );
        }
        // The CPUs sharing each L3 that holds CPUs of this node (all of them, as lstopo
        // shows an L3 spanning sub-NUMA nodes).
        let shared: Vec<String> = l3_groups
            .iter()
            .filter(|(_, group)| !group.intersection(&cpus).is_empty())
            .map(|(_, group)| format!("[{group}]"))
            .collect();
        if !shared.is_empty() {
            let _ = writeln!(out, "  L3 groups ({}, CPUs sharing each):", shared.len());
            out.push_str(&wrap(&shared, "    ", 78));
        }
    }
    if host.nodes.iter().any(|n| n.distances.is_some()) {
        let _ = writeln!(out, "\ndistances:");
        let ids: Vec<_> = host.nodes.iter().map(|n| n.id).collect();
        let mut header = String::from("node");
        for id in &ids {
            let _ = write!(header, " {id:>4}");
        }
        let _ = writeln!(out, "  {header}");
        for node in &host.nodes {
            let mut row = format!("{:>4}", node.id);
            for id in &ids {
                let cell = node
                    .distances
                    .as_ref()
                    .and_then(|d| d.get(id))
                    .map_or_else(|| "-".to_string(), ToString::to_string);
                let _ = write!(row, " {cell:>4}");
            }
            let _ = writeln!(out, "  {row}");
        }
    }
    let _ = writeln!(
        out,
        "\nhugepages (system): {}",
        pools_line(&host.hugepages_global)
    );
    if let Some(allowed) = &host.allowed {
        let _ = writeln!(out, "cgroup cpuset: cpus {}, mems {}", allowed.cpus, allowed.mems);
    }
    out
}
