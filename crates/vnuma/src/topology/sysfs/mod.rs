//! The Linux sysfs source: a filesystem root (`/` for the live machine, or an extracted
//! snapshot) read the way real machines present it.
//!
//! Quirks handled, each exercised by a real snapshot in the tests:
//! - files end in `\n\0`; `cpulist` may be missing (then `cpumap` is read);
//! - no `node/` directory at all: one implicit node 0 with every CPU, `/proc/meminfo` memory
//!   and the global hugepage pools;
//! - `cpu/online` is authoritative when present; otherwise a CPU is online unless its own
//!   `online` file says `0` (`cpu0` usually has none);
//! - a node's list may name offline or absent CPUs: it is intersected with the `cpuN`
//!   directories, and `nodes[].cpus` keeps only online ones;
//! - sparse node ids; a `distance` row is indexed by rank among online nodes (`node/online`),
//!   not by node id; zero and asymmetric distances are kept as read;
//! - CPU-less nodes (empty list) and memory-less nodes (`MemTotal: 0`); free memory is
//!   `MemFree` of the same `meminfo` (`None` when the line is missing or malformed);
//! - a CPU listed by several nodes (firmware bugs, fakes): its own `cpuN/nodeM` link, which is
//!   the kernel's `cpu_to_node`, decides; with no link to decide, the host is refused
//!   ([`TopologyError::OverlappingNodes`]) rather than guessed;
//! - per-node and global hugepage pools of every size;
//! - cgroup v1 (`cpuset` filesystem or controller) and v2 cpuset restrictions, found through
//!   `/proc/mounts` and `/proc/self/cgroup` (or `/proc/self/cpuset`), exposed as `allowed`.

pub mod parse;
pub mod tree;

use std::collections::BTreeMap;
use std::path::Path;

pub use tree::{DiskTree, MemTree, SysfsTree};

use crate::cpuset::{CpuSet, IdSet, NodeSet, trim_sysfs};
use crate::ids::{CpuId, Id, NodeId};
use crate::topology::{Allowed, Cpu, HostTopology, HugepagePool, Node, TopologyError};

const CPU_DIR: &str = "sys/devices/system/cpu";
const NODE_DIR: &str = "sys/devices/system/node";
const HUGEPAGES_DIR: &str = "sys/kernel/mm/hugepages";

/// Reads the host below a filesystem root (`/` for this machine).
///
/// # Errors
/// [`TopologyError`] naming the file and the value that could not be used.
pub fn read_sysfs(root: &Path) -> Result<HostTopology, TopologyError> {
    from_tree(&DiskTree::new(root))
}

/// Reads the host from any [`SysfsTree`].
///
/// # Errors
/// [`TopologyError`] naming the file and the value that could not be used.
pub fn from_tree(tree: &impl SysfsTree) -> Result<HostTopology, TopologyError> {
    let not_root = |what| TopologyError::NotSysfsRoot {
        root: tree.path(""),
        probe: tree.path(CPU_DIR),
        what,
    };
    let cpu_entries = tree.list(CPU_DIR)?.ok_or_else(|| not_root("is missing"))?;
    let existing: CpuSet = numbered(&cpu_entries, "cpu").collect();
    if existing.is_empty() {
        return Err(not_root("has no cpuN directories"));
    }
    let online_list: Option<CpuSet> = read_list(tree, &format!("{CPU_DIR}/online"), "cpu list")?;
    let mut cpus = Vec::with_capacity(existing.len());
    let mut links = BTreeMap::new();
    for id in existing.iter() {
        let (cpu, cpu_links) = read_cpu(tree, id, online_list.as_ref(), &existing)?;
        links.insert(id, cpu_links);
        cpus.push(cpu);
    }
    let hugepages_global = read_pools(tree, HUGEPAGES_DIR)?;
    let nodes = read_nodes(tree, &mut cpus, &existing, &links, &hugepages_global)?;
    let all_online: CpuSet = cpus.iter().filter(|c| c.online).map(|c| c.id).collect();
    let all_nodes: NodeSet = nodes.iter().map(|n| n.id).collect();
    let allowed = read_allowed(tree, &all_online, &all_nodes)?;
    Ok(HostTopology {
        nodes,
        cpus,
        hugepages_global,
        allowed,
    })
}

/// The numbers of directory entries named `<prefix><digits>`, ascending.
fn numbered<T: Id>(names: &[String], prefix: &str) -> impl Iterator<Item = T> + use<T> {
    let mut ids: Vec<u32> = names
        .iter()
        .filter_map(|name| name.strip_prefix(prefix))
        .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|rest| rest.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(T::from_raw)
}

fn read_list<T: Id>(
    tree: &impl SysfsTree,
    rel: &str,
    kind: &'static str,
) -> Result<Option<IdSet<T>>, TopologyError> {
    let Some(text) = tree.read(rel)? else {
        return Ok(None);
    };
    IdSet::parse_list(&text)
        .map(Some)
        .map_err(|reason| TopologyError::List {
            path: tree.path(rel),
            kind,
            text: trim_sysfs(&text).to_string(),
            reason,
        })
}

fn read_map<T: Id>(tree: &impl SysfsTree, rel: &str) -> Result<Option<IdSet<T>>, TopologyError> {
    let Some(text) = tree.read(rel)? else {
        return Ok(None);
    };
    IdSet::parse_map(&text)
        .map(Some)
        .map_err(|reason| TopologyError::List {
            path: tree.path(rel),
            kind: "cpumap",
            text: trim_sysfs(&text).to_string(),
            reason,
        })
}

/// A list file, or its hex map twin when the list is missing (old kernels).
fn read_list_or_map<T: Id>(
    tree: &impl SysfsTree,
    list_rel: &str,
    map_rel: &str,
) -> Result<Option<IdSet<T>>, TopologyError> {
    match read_list(tree, list_rel, "cpu list")? {
        Some(set) => Ok(Some(set)),
        None => read_map(tree, map_rel),
    }
}

fn read_number(tree: &impl SysfsTree, rel: &str, what: &'static str) -> Result<Option<u64>, TopologyError> {
    let Some(text) = tree.read(rel)? else {
        return Ok(None);
    };
    parse::number(&text)
        .map(Some)
        .ok_or_else(|| TopologyError::Number {
            path: tree.path(rel),
            what,
            text: trim_sysfs(&text).to_string(),
        })
}

fn read_cpu(
    tree: &impl SysfsTree,
    id: CpuId,
    online_list: Option<&CpuSet>,
    existing: &CpuSet,
) -> Result<(Cpu, Vec<NodeId>), TopologyError> {
    let dir = format!("{CPU_DIR}/cpu{id}");
    let online = match online_list {
        Some(list) => list.contains(id),
        // An empty `online` file (seen on ia64) says nothing: only an explicit 0 is offline.
        None => match tree.read(&format!("{dir}/online"))?.as_deref().map(trim_sysfs) {
            None | Some("") | Some("1") => true,
            Some("0") => false,
            Some(other) => {
                return Err(TopologyError::Number {
                    path: tree.path(&format!("{dir}/online")),
                    what: "online flag",
                    text: other.to_string(),
                });
            }
        },
    };
    let topo = |file: &str| -> Result<Option<u32>, TopologyError> {
        Ok(tree
            .read(&format!("{dir}/topology/{file}"))?
            .as_deref()
            .and_then(parse::topology_id))
    };
    let siblings = read_list_or_map(
        tree,
        &format!("{dir}/topology/thread_siblings_list"),
        &format!("{dir}/topology/thread_siblings"),
    )?;
    let siblings = match siblings {
        Some(set) => set.intersection(existing),
        None if online => std::iter::once(id).collect(),
        None => CpuSet::new(),
    };
    let entries = tree.list(&dir)?.unwrap_or_default();
    let links = numbered(&entries, "node").collect();
    let cpu = Cpu {
        id,
        node: None,
        socket: topo("physical_package_id")?,
        die: topo("die_id")?,
        core: topo("core_id")?,
        l3: read_l3_id(tree, &dir)?,
        siblings_text: siblings.to_string(),
        siblings,
        online,
    };
    Ok((cpu, links))
}

/// The `id` of the CPU's level-3 cache, where the kernel exports one.
fn read_l3_id(tree: &impl SysfsTree, cpu_dir: &str) -> Result<Option<u32>, TopologyError> {
    let cache = format!("{cpu_dir}/cache");
    let Some(entries) = tree.list(&cache)? else {
        return Ok(None);
    };
    for index in entries.iter().filter(|e| e.starts_with("index")) {
        let level = tree.read(&format!("{cache}/{index}/level"))?;
        if level.as_deref().map(trim_sysfs) == Some("3") {
            let id = tree.read(&format!("{cache}/{index}/id"))?;
            return Ok(id.as_deref().and_then(parse::topology_id));
        }
    }
    Ok(None)
}

/// The hugepage pools below a `hugepages/` directory, ascending by size.
fn read_pools(tree: &impl SysfsTree, dir: &str) -> Result<Vec<HugepagePool>, TopologyError> {
    let Some(entries) = tree.list(dir)? else {
        return Ok(Vec::new());
    };
    let mut pools = Vec::new();
    for name in &entries {
        let Some(page_size_bytes) = parse::hugepage_dir_size(name) else {
            continue;
        };
        let Some(total) = read_number(tree, &format!("{dir}/{name}/nr_hugepages"), "hugepage count")? else {
            continue;
        };
        let free = read_number(
            tree,
            &format!("{dir}/{name}/free_hugepages"),
            "free hugepage count",
        )?;
        pools.push(HugepagePool {
            page_size_bytes,
            total,
            free,
        });
    }
    pools.sort_by_key(|p| p.page_size_bytes);
    Ok(pools)
}

fn read_nodes(
    tree: &impl SysfsTree,
    cpus: &mut [Cpu],
    existing: &CpuSet,
    links: &BTreeMap<CpuId, Vec<NodeId>>,
    hugepages_global: &[HugepagePool],
) -> Result<Vec<Node>, TopologyError> {
    let entries = tree.list(NODE_DIR)?.unwrap_or_default();
    let node_ids: Vec<NodeId> = numbered(&entries, "node").collect();
    if node_ids.is_empty() {
        return implicit_node(tree, cpus, hugepages_global);
    }

    // Which nodes list each CPU.
    let mut listed_by: BTreeMap<CpuId, NodeSet> = BTreeMap::new();
    let mut nodes = Vec::with_capacity(node_ids.len());
    let mut rows = Vec::with_capacity(node_ids.len());
    for &id in &node_ids {
        let dir = format!("{NODE_DIR}/node{id}");
        let listed: CpuSet =
            read_list_or_map(tree, &format!("{dir}/cpulist"), &format!("{dir}/cpumap"))?.unwrap_or_default();
        for cpu in listed.intersection(existing).iter() {
            listed_by.entry(cpu).or_default().insert(id);
        }
        let meminfo = tree.read(&format!("{dir}/meminfo"))?;
        let memory_free_bytes = meminfo.as_deref().and_then(parse::meminfo_free_bytes);
        let memory_bytes = match meminfo {
            Some(text) => Some(parse::meminfo_total_bytes(&text).ok_or_else(|| {
                TopologyError::Number {
                    path: tree.path(&format!("{dir}/meminfo")),
                    what: "MemTotal line",
                    text: text
                        .lines()
                        .find(|l| l.contains("MemTotal"))
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                }
            })?),
            None => None,
        };
        let row_rel = format!("{dir}/distance");
        let row = match tree.read(&row_rel)? {
            Some(text) => Some((
                parse::distance_row(&text).ok_or_else(|| TopologyError::Number {
                    path: tree.path(&row_rel),
                    what: "distance row",
                    text: trim_sysfs(&text).to_string(),
                })?,
                text,
            )),
            None => None,
        };
        rows.push(row);
        nodes.push(Node {
            id,
            cpus: Vec::new(),
            memory_bytes,
            memory_free_bytes,
            hugepages: read_pools(tree, &format!("{dir}/hugepages"))?,
            distances: None,
        });
    }

    // Each CPU to exactly one node.
    for cpu in cpus.iter_mut() {
        let own_links = links.get(&cpu.id).map(Vec::as_slice).unwrap_or_default();
        cpu.node = match listed_by.get(&cpu.id) {
            Some(set) if set.len() == 1 => set.iter().next(),
            Some(set) => {
                let decided: Vec<NodeId> = own_links.iter().copied().filter(|n| set.contains(*n)).collect();
                match decided.as_slice() {
                    [one] => Some(*one),
                    _ => {
                        return Err(TopologyError::OverlappingNodes {
                            cpu: cpu.id,
                            nodes: set.clone(),
                            cpu_dir: tree.path(&format!("{CPU_DIR}/cpu{}", cpu.id)),
                        });
                    }
                }
            }
            None => match own_links {
                [one] if node_ids.contains(one) => Some(*one),
                _ => None,
            },
        };
        if cpu.online
            && let Some(node) = cpu.node.and_then(|n| nodes.iter_mut().find(|x| x.id == n))
        {
            node.cpus.push(cpu.id);
        }
    }

    // Distance rows are indexed by rank among online nodes.
    let ranked = ranked_node_lists(tree, &node_ids)?;
    for (node, row) in nodes.iter_mut().zip(rows) {
        let Some((row, text)) = row else { continue };
        let Some(order) = ranked.iter().find(|list| list.len() == row.len()) else {
            return Err(TopologyError::DistanceRow {
                path: tree.path(&format!("{NODE_DIR}/node{}/distance", node.id)),
                text: trim_sysfs(&text).to_string(),
                len: row.len(),
                online: ranked.first().map_or(0, Vec::len),
            });
        };
        node.distances = Some(
            order
                .iter()
                .zip(row)
                .filter(|(id, _)| node_ids.contains(id))
                .map(|(id, value)| (*id, value))
                .collect(),
        );
    }
    Ok(nodes)
}

/// The node orders a distance row may be indexed by, most likely first: `node/online`,
/// `node/possible`, then the `nodeN` directories.
fn ranked_node_lists(tree: &impl SysfsTree, node_ids: &[NodeId]) -> Result<Vec<Vec<NodeId>>, TopologyError> {
    let mut lists = Vec::new();
    for file in ["online", "possible"] {
        if let Some(set) = read_list::<NodeId>(tree, &format!("{NODE_DIR}/{file}"), "node list")? {
            lists.push(set.iter().collect());
        }
    }
    lists.push(node_ids.to_vec());
    Ok(lists)
}

/// No `node/` directory: the whole machine is node 0, as the kernel without NUMA sees it.
fn implicit_node(
    tree: &impl SysfsTree,
    cpus: &mut [Cpu],
    hugepages_global: &[HugepagePool],
) -> Result<Vec<Node>, TopologyError> {
    let meminfo = tree.read("proc/meminfo")?;
    let memory_bytes = meminfo.as_deref().and_then(parse::meminfo_total_bytes);
    let memory_free_bytes = meminfo.as_deref().and_then(parse::meminfo_free_bytes);
    for cpu in cpus.iter_mut() {
        cpu.node = Some(NodeId(0));
    }
    Ok(vec![Node {
        id: NodeId(0),
        cpus: cpus.iter().filter(|c| c.online).map(|c| c.id).collect(),
        memory_bytes,
        memory_free_bytes,
        hugepages: hugepages_global.to_vec(),
        distances: None,
    }])
}

/// The cpuset cgroup the snapshot (or this process) runs in, when it restricts anything.
fn read_allowed(
    tree: &impl SysfsTree,
    all_cpus: &CpuSet,
    all_nodes: &NodeSet,
) -> Result<Option<Allowed>, TopologyError> {
    let Some(mounts_text) = tree.read("proc/mounts")? else {
        return Ok(None);
    };
    let self_cgroup = tree.read("proc/self/cgroup")?.unwrap_or_default();
    let self_cpuset = tree.read("proc/self/cpuset")?;
    let fallback = self_cpuset.as_deref().map(trim_sysfs).filter(|p| !p.is_empty());

    let mounts = parse::mounts(&mounts_text);
    let v1 = mounts
        .iter()
        .filter(|m| m.fstype == "cpuset" || (m.fstype == "cgroup" && m.options.contains(&"cpuset")))
        .map(|m| (m.dir, parse::CgroupKind::V1));
    let v2 = mounts
        .iter()
        .filter(|m| m.fstype == "cgroup2")
        .map(|m| (m.dir, parse::CgroupKind::V2));
    for (mount_dir, kind) in v1.chain(v2) {
        let Some(path) = parse::self_cgroup_path(&self_cgroup, kind).or(fallback) else {
            continue;
        };
        if path.split('/').any(|part| part == "..") {
            continue;
        }
        let dir = format!("{}/{}", mount_dir.trim_matches('/'), path.trim_matches('/'));
        let dir = dir.trim_end_matches('/');
        let (cpu_files, mem_files): (&[&str], &[&str]) = match kind {
            parse::CgroupKind::V1 => (
                &["cpuset.effective_cpus", "cpuset.cpus", "cpus"],
                &["cpuset.effective_mems", "cpuset.mems", "mems"],
            ),
            parse::CgroupKind::V2 => (&["cpuset.cpus.effective"], &["cpuset.mems.effective"]),
        };
        let cpus = first_list::<CpuId>(tree, dir, cpu_files, "cpu list")?;
        let mems = first_list::<NodeId>(tree, dir, mem_files, "node list")?;
        if let (Some(cpus), Some(mems)) = (cpus, mems) {
            let restricts = !all_cpus.is_subset(&cpus) || !all_nodes.is_subset(&mems);
            return Ok(restricts.then_some(Allowed { cpus, mems }));
        }
    }
    Ok(None)
}

fn first_list<T: Id>(
    tree: &impl SysfsTree,
    dir: &str,
    files: &[&str],
    kind: &'static str,
) -> Result<Option<IdSet<T>>, TopologyError> {
    for file in files {
        if let Some(set) = read_list(tree, &format!("{dir}/{file}"), kind)? {
            return Ok(Some(set));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
