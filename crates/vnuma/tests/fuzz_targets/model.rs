//! Plain-data shapes of hosts, VMIs and cpusets, and the one deterministic way each becomes
//! the library's values: a [`HostShape`] becomes a `HostTopology` built directly *and* the
//! sysfs `MemTree` a kernel would show for it; a [`VmiShape`] becomes a `Vmi`; a
//! [`CpusetShape`] picks CPUs of a host in a written order.
//!
//! Shared by the property tests (`tests/properties.rs`, whose proptest strategies generate the
//! shapes) and the fuzz targets (`fuzz_targets/mod.rs`, which decode the shapes from bytes with
//! [`Bytes`]). No dependency beyond `vnuma` and `std`, so both sides can include it.

use std::collections::BTreeMap;

use vnuma::cpuset::CpuSet;
use vnuma::ids::{CpuId, NodeId};
use vnuma::topology::sysfs::MemTree;
use vnuma::topology::{Cpu, HostTopology, HugepagePool, Node};
use vnuma::vmi::{CpuSpec, Disk, EVEN_PARITY_ANNOTATION, MemorySpec, Quantity, Resources, Vmi};

/// 2 MiB.
pub(crate) const PAGE_2M: u64 = 2 << 20;
/// 1 GiB.
pub(crate) const PAGE_1G: u64 = 1 << 30;

/// The `i`-th element of `v`, cycling; `default` when `v` is empty.
fn cyc<T: Copy>(v: &[T], i: usize, default: T) -> T {
    if v.is_empty() { default } else { v[i % v.len()] }
}

/// A host, as small numbers. Every `Vec` is read cyclically (an empty one gives the default),
/// so any values make a valid shape.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostShape {
    /// Sockets (1..=2 used).
    pub sockets: u32,
    /// NUMA nodes per socket (1..=2 used).
    pub nodes_per_socket: u32,
    /// Cores of each node (0 makes a CPU-less node; capped at 4).
    pub cores_per_node: Vec<u32>,
    /// Threads per core (1..=4 used).
    pub smt: u32,
    /// The gap before each node id (sparse node numbering; capped at 3).
    pub node_id_gaps: Vec<u32>,
    /// Sort keys that shuffle the CPU numbering.
    pub cpu_id_keys: Vec<u32>,
    /// The gap before each CPU id in numbering order (sparse CPU numbering; capped at 2).
    pub cpu_id_gaps: Vec<u32>,
    /// Which CPUs (by creation index) are offline; the first CPU always stays online.
    pub offline: Vec<bool>,
    /// Memory of each node in MiB (0 makes a memory-less node).
    pub memory_mib: Vec<u32>,
    /// Per node: 2Mi pages total, 2Mi free, 1Gi total, 1Gi free (free clamped to total).
    pub pages: Vec<(u32, u32, u32, u32)>,
    /// Distances between distinct nodes, read cyclically per ordered pair (asymmetric and
    /// zero distances included on purpose).
    pub distances: Vec<u32>,
    /// Whether `cpu/online` exists (else per-CPU `online` files say it).
    pub online_file: bool,
}

/// One generated CPU before numbering.
struct Proto {
    node: usize,
    socket: u32,
    core: u32,
    online: bool,
}

/// A host built both ways.
#[derive(Debug, Clone)]
pub(crate) struct BuiltHost {
    /// The topology as the sysfs reader must return it.
    pub host: HostTopology,
    /// The sysfs tree a kernel would show.
    pub tree: MemTree,
}

impl HostShape {
    /// The host as a `HostTopology` and as a sysfs tree.
    pub(crate) fn build(&self) -> BuiltHost {
        let sockets = self.sockets.clamp(1, 2);
        let per_socket = self.nodes_per_socket.clamp(1, 2);
        let smt = self.smt.clamp(1, 4);
        let n_nodes = (sockets * per_socket) as usize;

        // node ids: ascending with gaps
        let mut node_ids = Vec::with_capacity(n_nodes);
        let mut next = 0u32;
        for i in 0..n_nodes {
            next += cyc(&self.node_id_gaps, i, 0).min(3);
            node_ids.push(next);
            next += 1;
        }

        // CPUs in creation order: node, core, thread
        let mut protos = Vec::new();
        let mut core_of = Vec::new(); // (node, core index in node)
        for node in 0..n_nodes {
            let socket = u32::try_from(node).unwrap_or(0) / per_socket;
            let cores = cyc(&self.cores_per_node, node, 2).min(4);
            for core in 0..cores {
                // core ids restart per socket, as on real machines
                let core_id = (u32::try_from(node).unwrap_or(0) % per_socket) * 4 + core;
                for _ in 0..smt {
                    let i = protos.len();
                    let online = i == 0 || !cyc(&self.offline, i, false);
                    protos.push(Proto {
                        node,
                        socket,
                        core: core_id,
                        online,
                    });
                    core_of.push((node, core));
                }
            }
        }
        if protos.is_empty() {
            // a host needs a CPU: give the first node one core
            protos.push(Proto {
                node: 0,
                socket: 0,
                core: 0,
                online: true,
            });
            core_of.push((0, 0));
        }

        // numbering: sort creation indices by key, then hand out ids with gaps
        let mut order: Vec<usize> = (0..protos.len()).collect();
        order.sort_by_key(|&i| (cyc(&self.cpu_id_keys, i, 0), i));
        let mut ids = vec![0u32; protos.len()];
        let mut next = 0u32;
        for (rank, &i) in order.iter().enumerate() {
            next += cyc(&self.cpu_id_gaps, rank, 0).min(2);
            ids[i] = next;
            next += 1;
        }

        let siblings_of = |i: usize| -> CpuSet {
            (0..protos.len())
                .filter(|&j| core_of[j] == core_of[i] && protos[j].online)
                .map(|j| CpuId(ids[j]))
                .collect()
        };

        let mut cpus: Vec<Cpu> = protos
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let node = Some(NodeId(node_ids[p.node]));
                if p.online {
                    let siblings = siblings_of(i);
                    Cpu {
                        id: CpuId(ids[i]),
                        node,
                        socket: Some(p.socket),
                        die: Some(0),
                        core: Some(p.core),
                        l3: Some(p.socket),
                        siblings_text: siblings.to_string(),
                        siblings,
                        online: true,
                    }
                } else {
                    // an offline CPU has no topology directory, only its node link
                    Cpu {
                        id: CpuId(ids[i]),
                        node,
                        socket: None,
                        die: None,
                        core: None,
                        l3: None,
                        siblings: CpuSet::new(),
                        siblings_text: String::new(),
                        online: false,
                    }
                }
            })
            .collect();
        cpus.sort_by_key(|c| c.id);

        let mut nodes = Vec::with_capacity(n_nodes);
        let mut global = [(0u64, 0u64), (0u64, 0u64)];
        for (n, &id) in node_ids.iter().enumerate() {
            let (t2, f2, t1, f1) = cyc(&self.pages, n, (0, 0, 0, 0));
            let (t2, t1) = (u64::from(t2 % 4096), u64::from(t1 % 16));
            let (f2, f1) = (u64::from(f2).min(t2), u64::from(f1).min(t1));
            global[0].0 += t2;
            global[0].1 += f2;
            global[1].0 += t1;
            global[1].1 += f1;
            let distances: BTreeMap<NodeId, u32> = node_ids
                .iter()
                .enumerate()
                .map(|(m, &other)| {
                    let value = if m == n {
                        10
                    } else {
                        cyc(&self.distances, n * n_nodes + m, 20) % 256
                    };
                    (NodeId(other), value)
                })
                .collect();
            nodes.push(Node {
                id: NodeId(id),
                cpus: cpus
                    .iter()
                    .filter(|c| c.online && c.node == Some(NodeId(id)))
                    .map(|c| c.id)
                    .collect(),
                memory_bytes: Some(u64::from(cyc(&self.memory_mib, n, 4096)) << 20),
                memory_free_bytes: Some(u64::from(cyc(&self.memory_mib, n, 4096)) << 19),
                hugepages: pools(t2, f2, t1, f1),
                distances: Some(distances),
            });
        }
        let host = HostTopology {
            nodes,
            cpus,
            hugepages_global: pools(global[0].0, global[0].1, global[1].0, global[1].1),
            allowed: None,
        };
        let tree = tree_of(&host, self.online_file);
        BuiltHost { host, tree }
    }
}

fn pools(t2: u64, f2: u64, t1: u64, f1: u64) -> Vec<HugepagePool> {
    vec![
        HugepagePool {
            page_size_bytes: PAGE_2M,
            total: t2,
            free: Some(f2),
        },
        HugepagePool {
            page_size_bytes: PAGE_1G,
            total: t1,
            free: Some(f1),
        },
    ]
}

/// The sysfs tree of a host, files as the kernel writes them (`\n` terminated).
pub(crate) fn tree_of(host: &HostTopology, online_file: bool) -> MemTree {
    const CPU: &str = "sys/devices/system/cpu";
    const NODE: &str = "sys/devices/system/node";
    let mut tree = MemTree::new();
    let online: CpuSet = host.cpus.iter().filter(|c| c.online).map(|c| c.id).collect();
    let possible: CpuSet = host.cpus.iter().map(|c| c.id).collect();
    tree = tree.with(&format!("{CPU}/possible"), &format!("{possible}\n"));
    if online_file {
        tree = tree.with(&format!("{CPU}/online"), &format!("{online}\n"));
    }
    for cpu in &host.cpus {
        let dir = format!("{CPU}/cpu{}", cpu.id);
        // cpu0 usually has no `online` file (it cannot be unplugged); an offline cpu0 needs one
        if !online_file && (cpu.id.0 != 0 || !cpu.online) {
            tree = tree.with(&format!("{dir}/online"), if cpu.online { "1\n" } else { "0\n" });
        }
        if let Some(node) = cpu.node {
            tree = tree.with(&format!("{dir}/node{node}/"), "");
        }
        if !cpu.online {
            // no topology/ or cache/ while offline; make sure the directory exists
            tree = tree.with(&format!("{dir}/subsystem/"), "");
            continue;
        }
        let topo = format!("{dir}/topology");
        let num = |v: Option<u32>| v.map_or_else(|| "-1\n".to_string(), |v| format!("{v}\n"));
        tree = tree
            .with(&format!("{topo}/physical_package_id"), &num(cpu.socket))
            .with(&format!("{topo}/die_id"), &num(cpu.die))
            .with(&format!("{topo}/core_id"), &num(cpu.core))
            .with(
                &format!("{topo}/thread_siblings_list"),
                &format!("{}\n", cpu.siblings),
            )
            .with(&format!("{dir}/cache/index0/level"), "1\n")
            .with(&format!("{dir}/cache/index0/id"), "0\n");
        if let Some(l3) = cpu.l3 {
            tree = tree
                .with(&format!("{dir}/cache/index3/level"), "3\n")
                .with(&format!("{dir}/cache/index3/id"), &format!("{l3}\n"));
        }
    }
    let node_ids: Vec<u32> = host.nodes.iter().map(|n| n.id.0).collect();
    let node_set: vnuma::cpuset::NodeSet = host.nodes.iter().map(|n| n.id).collect();
    tree = tree
        .with(&format!("{NODE}/online"), &format!("{node_set}\n"))
        .with(&format!("{NODE}/possible"), &format!("{node_set}\n"));
    for node in &host.nodes {
        let dir = format!("{NODE}/node{}", node.id);
        let list: CpuSet = node.cpus.iter().copied().collect();
        tree = tree.with(&format!("{dir}/cpulist"), &format!("{list}\n"));
        if let Some(bytes) = node.memory_bytes {
            tree = tree.with(
                &format!("{dir}/meminfo"),
                &format!(
                    "Node {} MemTotal:       {} kB\nNode {} MemFree:        {} kB\n",
                    node.id,
                    bytes / 1024,
                    node.id,
                    node.memory_free_bytes.unwrap_or(0) / 1024
                ),
            );
        }
        if let Some(distances) = &node.distances {
            let row: Vec<String> = node_ids
                .iter()
                .map(|id| distances.get(&NodeId(*id)).copied().unwrap_or(0).to_string())
                .collect();
            tree = tree.with(&format!("{dir}/distance"), &format!("{}\n", row.join(" ")));
        }
        tree = write_pools(tree, &format!("{dir}/hugepages"), &node.hugepages);
    }
    write_pools(tree, "sys/kernel/mm/hugepages", &host.hugepages_global)
}

fn write_pools(mut tree: MemTree, dir: &str, pools: &[HugepagePool]) -> MemTree {
    for pool in pools {
        let sub = format!("{dir}/hugepages-{}kB", pool.page_size_bytes / 1024);
        tree = tree.with(&format!("{sub}/nr_hugepages"), &format!("{}\n", pool.total));
        if let Some(free) = pool.free {
            tree = tree.with(&format!("{sub}/free_hugepages"), &format!("{free}\n"));
        }
    }
    tree
}

/// A VMI, as small numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct VmiShape {
    /// Sockets (1..=4 used).
    pub sockets: u32,
    /// Cores per socket (1..=8 used).
    pub cores: u32,
    /// Threads per core (1..=2 used).
    pub threads: u32,
    /// `dedicatedCpuPlacement`.
    pub dedicated: bool,
    /// `numa.guestMappingPassthrough`.
    pub passthrough: bool,
    /// 0: no hugepages, 1: 2Mi, 2: 1Gi.
    pub hugepages: u8,
    /// Guest memory in pages of the hugepage size (128Mi units without hugepages; 1..=64 used).
    pub memory_units: u32,
    /// `isolateEmulatorThread`.
    pub isolate_emulator_thread: bool,
    /// The even-parity annotation.
    pub even_parity: bool,
    /// 0: none, 1: `shared`, 2: `auto`, 3: `supplementalPool`.
    pub io_threads_policy: u8,
    /// `supplementalPoolThreadCount` (1..=4 used).
    pub supplemental: u32,
    /// Disks and whether each asks for a dedicated IOThread.
    pub disks: Vec<bool>,
}

impl VmiShape {
    /// The `Vmi` (before defaults and admission).
    pub(crate) fn build(&self) -> Vmi {
        let page = match self.hugepages % 3 {
            1 => Some(("2Mi", PAGE_2M)),
            2 => Some(("1Gi", PAGE_1G)),
            _ => None,
        };
        let units = i64::from(self.memory_units.clamp(1, 64));
        let unit = page.map_or(128 << 20, |(_, bytes)| bytes);
        let memory = Quantity::from_bytes_binary(units * i64::try_from(unit).unwrap_or(1));
        let mut annotations = BTreeMap::new();
        if self.even_parity {
            annotations.insert(EVEN_PARITY_ANNOTATION.to_string(), String::new());
        }
        Vmi {
            namespace: "default".into(),
            name: "vm".into(),
            annotations,
            architecture: Some("amd64".into()),
            cpu: CpuSpec {
                sockets: self.sockets.clamp(1, 4),
                cores: self.cores.clamp(1, 8),
                threads: self.threads.clamp(1, 2),
                dedicated: self.dedicated,
                isolate_emulator_thread: self.isolate_emulator_thread,
                numa: self.passthrough,
                passthrough: self.passthrough,
                ..CpuSpec::default()
            },
            memory: MemorySpec {
                present: true,
                guest: Some(memory.clone()),
                max_guest: None,
                hugepages: page.map(|(text, _)| text.to_string()),
            },
            resources: Resources {
                requests_memory: Some(memory),
                ..Resources::default()
            },
            io_threads_policy: match self.io_threads_policy % 4 {
                1 => Some("shared".into()),
                2 => Some("auto".into()),
                3 => Some("supplementalPool".into()),
                _ => None,
            },
            supplemental_pool_thread_count: (self.io_threads_policy % 4 == 3)
                .then(|| i64::from(self.supplemental.clamp(1, 4))),
            disks: self
                .disks
                .iter()
                .take(4)
                .enumerate()
                .map(|(i, &dedicated)| Disk {
                    name: format!("disk{i}"),
                    dedicated_io_thread: Some(dedicated),
                    target: Some(vnuma::vmi::DiskTargetKind::Disk),
                    bus: Some("virtio".into()),
                    ..Disk::default()
                })
                .collect(),
            autoattach_graphics_device: None,
            spec_path: "spec".into(),
            ..Vmi::default()
        }
    }
}

/// A pod cpuset over a host, as small numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpusetShape {
    /// 0: every online CPU; 1: the online CPUs of some nodes; 2: a random subset.
    pub mode: u8,
    /// Which nodes (mode 1) or CPUs (mode 2) to keep, cyclically.
    pub keep: Vec<bool>,
    /// Sort keys that shuffle the written order (none: ascending).
    pub order: Vec<u32>,
    /// CPU ids the host does not have, added at the end (ids past the host's).
    pub unknown: Vec<u32>,
}

impl CpusetShape {
    /// The cpuset, in its written order.
    pub(crate) fn build(&self, host: &HostTopology) -> Vec<u32> {
        let mut cpus: Vec<u32> = match self.mode % 3 {
            0 => host.online_cpus().iter().map(|c| c.0).collect(),
            1 => host
                .nodes
                .iter()
                .enumerate()
                .filter(|(i, _)| cyc(&self.keep, *i, true))
                .flat_map(|(_, n)| n.cpus.iter().map(|c| c.0))
                .collect(),
            _ => host
                .online_cpus()
                .iter()
                .enumerate()
                .filter(|(i, _)| cyc(&self.keep, *i, true))
                .map(|(_, c)| c.0)
                .collect(),
        };
        if !self.order.is_empty() {
            let mut keyed: Vec<(u32, usize, u32)> = cpus
                .iter()
                .enumerate()
                .map(|(i, &c)| (cyc(&self.order, i, 0), i, c))
                .collect();
            keyed.sort_unstable();
            cpus = keyed.into_iter().map(|(_, _, c)| c).collect();
        }
        let top = host.cpus.last().map_or(0, |c| c.id.0);
        for &extra in self.unknown.iter().take(3) {
            cpus.push(top.saturating_add(1).saturating_add(extra % 64));
        }
        cpus.dedup();
        cpus
    }
}

/// A cursor over fuzz bytes that never fails: past the end every read is zero.
#[derive(Debug, Clone)]
pub(crate) struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Reads `data` from the start.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    /// One byte (0 past the end).
    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A number below `n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        u32::from(self.byte()) % n.max(1)
    }

    /// A boolean.
    pub(crate) fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A little-endian `u32` from two bytes.
    pub(crate) fn u16(&mut self) -> u32 {
        u32::from(self.byte()) | (u32::from(self.byte()) << 8)
    }

    /// Up to `max` values made by `f`.
    pub(crate) fn list<T>(&mut self, max: u32, mut f: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = self.below(max + 1);
        (0..n).map(|_| f(self)).collect()
    }

    /// What is left.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// A host shape.
    pub(crate) fn host(&mut self) -> HostShape {
        HostShape {
            sockets: 1 + self.below(2),
            nodes_per_socket: 1 + self.below(2),
            cores_per_node: self.list(4, |b| b.below(5)),
            smt: 1 + self.below(4),
            node_id_gaps: self.list(4, |b| b.below(4)),
            cpu_id_keys: self.list(8, |b| b.below(16)),
            cpu_id_gaps: self.list(4, |b| b.below(3)),
            offline: self.list(8, |b| b.below(4) == 0),
            memory_mib: self.list(4, |b| b.below(5) * 2048),
            pages: self.list(4, |b| (b.u16(), b.u16(), b.below(16), b.below(16))),
            distances: self.list(8, |b| match b.below(8) {
                0 => 0,
                1 => 10,
                2 => 255,
                n => 10 + n * 4,
            }),
            online_file: self.flag(),
        }
    }

    /// A VMI shape.
    pub(crate) fn vmi(&mut self) -> VmiShape {
        VmiShape {
            sockets: 1 + self.below(4),
            cores: 1 + self.below(8),
            threads: 1 + self.below(2),
            dedicated: self.below(4) != 0,
            passthrough: self.flag(),
            hugepages: u8::try_from(self.below(3)).unwrap_or(0),
            memory_units: 1 + self.below(64),
            isolate_emulator_thread: self.flag(),
            even_parity: self.flag(),
            io_threads_policy: u8::try_from(self.below(4)).unwrap_or(0),
            supplemental: 1 + self.below(4),
            disks: self.list(4, Self::flag),
        }
    }

    /// A cpuset shape.
    pub(crate) fn cpuset(&mut self) -> CpusetShape {
        CpusetShape {
            mode: u8::try_from(self.below(3)).unwrap_or(0),
            keep: self.list(16, |b| b.below(4) != 0),
            order: self.list(16, |b| b.below(32)),
            unknown: self.list(3, |b| b.below(64)),
        }
    }
}
