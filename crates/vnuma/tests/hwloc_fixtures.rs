//! The sysfs reader against real machines: every snapshot of hwloc's Linux test suite
//! (`../shared/fixtures/hwloc`), checked against the sysfs truth, hwloc's own expected output,
//! and, where vnuma decides differently from hwloc, against that decision with its reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::fs;

use support::{console_nodes, fixture_tests, fixtures_dir, fsroot, lstopo_memory, sysfs_truth, xml_target};
use vnuma::cpuset::{CpuSet, NodeSet};
use vnuma::ids::{CpuId, NodeId};
use vnuma::topology::sysfs::read_sysfs;
use vnuma::topology::{HostTopology, HugepagePool, TopologyError};

/// The console tests whose NUMA→PU rule gives exactly the sysfs truth (FIXTURES.md).
const CONSOLE_MATCHES: [&str; 21] = [
    "128arm-2pa2n8cluster4co",
    "128ia64-17n4s2c",
    "16amd64-8n2c-cpusets-disallowed",
    "16amd64-8n2c",
    "16em64t-4s2c2t",
    "16em64t-4s2c2t-merge",
    "16em64t-4s2c2t-nocaches",
    "16em64t-4s2c2t-offlines",
    "16ia64-8n2s",
    "256ia64-64n2s2c",
    "2pa-pcidomain32bits",
    "32intel64-2p8co2t+8ve",
    "40intel64-4n10c+pci-conflicts",
    "64amd64-4s2n4ca2co",
    "64fake-4n2s2ca2c2t",
    "8em64t-2s2ca2c",
    "8em64t-2s4c-asymcaches",
    "8ia64-2n2s2c",
    "8ia64-2s2c2t",
    "96em64t-4no4pa3ca2co",
    "fakecpuid1f-64intel64-2p4d2n2c2t",
];

/// Snapshots vnuma refuses on purpose, with the reason.
const REFUSED: [(&str, &str); 1] = [(
    "fakeheterocpunuma",
    "overlapping node cpusets (node 5 ⊃ node 4 ⊃ node 3) and no cpuN/nodeM links to decide",
)];

/// Snapshots without a `node/` directory: one implicit node 0.
const NO_NODE_DIR: [&str; 5] = [
    "20s390-2g6s4c",
    "2arm-2c",
    "2ps3-2t",
    "2i386-2c-nohugepage",
    "2i386-2t-hugepagesizecount",
];

fn read(tarball: &str) -> HostTopology {
    read_sysfs(&fsroot(tarball)).unwrap_or_else(|e| panic!("{tarball}: {e}"))
}

fn node_cpus(host: &HostTopology) -> BTreeMap<u32, CpuSet> {
    host.nodes
        .iter()
        .map(|n| (n.id.0, n.cpus.iter().copied().collect()))
        .collect()
}

fn tarballs() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_suffix(".tar.bz2")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 37,
        "expected the 37 shared snapshots, found {}",
        names.len()
    );
    names
}

#[test]
fn every_snapshot_reads_or_is_refused_for_a_named_reason() {
    for tarball in tarballs() {
        let result = read_sysfs(&fsroot(&tarball));
        match REFUSED.iter().find(|(name, _)| *name == tarball) {
            Some((_, reason)) => assert!(result.is_err(), "{tarball} should be refused: {reason}"),
            None => {
                let host = result.unwrap_or_else(|e| panic!("{tarball}: {e}"));
                assert!(!host.nodes.is_empty(), "{tarball}: no nodes");
                assert!(!host.cpus.is_empty(), "{tarball}: no cpus");
                // Every online CPU sits in exactly one node, and host order is ascending.
                let mut seen = CpuSet::new();
                for node in &host.nodes {
                    assert!(
                        node.cpus.windows(2).all(|w| w[0] < w[1]),
                        "{tarball}: node {} unsorted",
                        node.id
                    );
                    for cpu in &node.cpus {
                        assert!(seen.insert(*cpu), "{tarball}: cpu {cpu} in two nodes");
                    }
                }
                assert!(
                    host.nodes.windows(2).all(|w| w[0].id < w[1].id),
                    "{tarball}: nodes unsorted"
                );
            }
        }
    }
}

#[test]
fn node_cpus_equal_the_sysfs_truth() {
    for tarball in tarballs() {
        if REFUSED.iter().any(|(n, _)| *n == tarball) || NO_NODE_DIR.contains(&tarball.as_str()) {
            continue;
        }
        let root = fsroot(&tarball);
        let truth = sysfs_truth(&root);
        let ours = node_cpus(&read(&tarball));
        if tarball == "8em64t-2s2ca2c-buggynuma" {
            // Every node lists CPUs 0-7; the per-CPU links decide (see the test below).
            continue;
        }
        assert_eq!(ours, truth, "{tarball}: node CPUs differ from sysfs");
    }
}

#[test]
fn node_cpus_equal_hwlocs_answer_for_the_21_console_tests() {
    let tests = fixture_tests();
    for name in CONSOLE_MATCHES {
        let test = tests
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no {name}.test"));
        let console = fs::read_to_string(fixtures_dir().join(&test.target)).unwrap();
        let hwloc: BTreeMap<u32, CpuSet> = console_nodes(&console)
            .into_iter()
            .map(|(id, (cpus, _))| (id, cpus))
            .collect();
        let ours = node_cpus(&read(&test.tarball));
        if name == "16amd64-8n2c-cpusets-disallowed" {
            // lstopo --disallowed shows every node, as vnuma does (allowed is separate).
            assert_eq!(read(&test.tarball).nodes.len(), 8);
        }
        assert_eq!(
            ours, hwloc,
            "{name}: node CPUs differ from hwloc's console output"
        );
        assert_eq!(
            ours,
            sysfs_truth(&fsroot(&test.tarball)),
            "{name}: hwloc and sysfs disagree"
        );
    }
}

#[test]
fn node_memory_equals_the_rounded_console_value() {
    let mut compared = 0;
    for test in fixture_tests().iter().filter(|t| t.target.ends_with(".console")) {
        if REFUSED.iter().any(|(n, _)| *n == test.tarball) {
            continue;
        }
        let console = fs::read_to_string(fixtures_dir().join(&test.target)).unwrap();
        let host = read(&test.tarball);
        for (id, (_, local)) in console_nodes(&console) {
            if local.is_empty() {
                continue;
            }
            let node = host
                .node(NodeId(id))
                .unwrap_or_else(|| panic!("{}: hwloc has node {id}, vnuma not", test.name));
            let bytes = node
                .memory_bytes
                .unwrap_or_else(|| panic!("{}: node {id} memory unknown", test.name));
            assert_eq!(lstopo_memory(bytes), local, "{}: node {id} memory", test.name);
            compared += 1;
        }
    }
    assert_eq!(compared, 193, "nodes compared");
}

#[test]
fn xml_targets_give_exact_memory_distances_and_cpus() {
    for test in fixture_tests().iter().filter(|t| t.target.ends_with(".xml")) {
        if REFUSED.iter().any(|(n, _)| *n == test.tarball) {
            continue;
        }
        let target = xml_target(&fs::read_to_string(fixtures_dir().join(&test.target)).unwrap());
        let host = read(&test.tarball);
        let restricted = host.allowed.clone();
        for (id, (cpus, memory)) in &target.nodes {
            let node = host
                .node(NodeId(*id))
                .unwrap_or_else(|| panic!("{}: no node {id}", test.name));
            assert_eq!(
                node.memory_bytes,
                Some(*memory),
                "{}: node {id} local_memory",
                test.name
            );
            let ours: CpuSet = node.cpus.iter().copied().collect();
            // hwloc's cpuset is the cgroup-allowed part; a CPU-less node's is its locality.
            let expected = match &restricted {
                Some(allowed) => ours.intersection(&allowed.cpus),
                None => ours.clone(),
            };
            if !ours.is_empty() {
                assert_eq!(expected, *cpus, "{}: node {id} cpuset", test.name);
            }
        }
        for ((from, to), value) in &target.distances {
            let node = host.node(NodeId(*from)).unwrap();
            let ours = node.distances.as_ref().and_then(|d| d.get(&NodeId(*to)));
            assert_eq!(ours, Some(value), "{}: distance {from}->{to}", test.name);
        }
    }
}

#[test]
fn overlapping_nodes_without_links_are_refused() {
    let err = read_sysfs(&fsroot("fakeheterocpunuma")).unwrap_err();
    assert!(
        matches!(err, TopologyError::OverlappingNodes { cpu: CpuId(16), .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("cpu 16 is listed by NUMA nodes 4,5 and ")
            && text.ends_with(
                "fakeheterocpunuma/sys/devices/system/cpu/cpu16 names none of them; vnuma needs \
                 every CPU in exactly one node (a firmware bug or a fake topology)"
            ),
        "{text}"
    );
}

#[test]
fn duplicate_node_lists_are_decided_by_each_cpus_node_link() {
    // buggynuma: all 8 nodes list CPUs 0-7, but cpuN/nodeN says CPU n is on node n (the
    // kernel's cpu_to_node). hwloc merges the nodes into one; vnuma follows the kernel.
    let host = read("8em64t-2s2ca2c-buggynuma");
    let expected: BTreeMap<u32, CpuSet> = (0..8).map(|n| (n, std::iter::once(CpuId(n)).collect())).collect();
    assert_eq!(node_cpus(&host), expected);
    assert!(host.cpus.iter().all(|c| c.node == Some(NodeId(c.id.0))));
}

#[test]
fn no_node_directory_gives_one_implicit_node_with_proc_meminfo() {
    for tarball in NO_NODE_DIR {
        let host = read(tarball);
        assert_eq!(host.nodes.len(), 1, "{tarball}");
        let node = &host.nodes[0];
        assert_eq!(node.id, NodeId(0), "{tarball}");
        let all: Vec<CpuId> = host.cpus.iter().filter(|c| c.online).map(|c| c.id).collect();
        assert_eq!(node.cpus, all, "{tarball}");
        let has_meminfo = fsroot(tarball).join("proc/meminfo").exists();
        assert_eq!(
            node.memory_bytes.is_some(),
            has_meminfo,
            "{tarball}: memory from /proc/meminfo, unknown without it"
        );
        assert_eq!(node.distances, None, "{tarball}: no distances are invented");
    }
    // exact memory from hwloc's XML for the two i386 machines
    for (tarball, target) in [
        ("2i386-2c-nohugepage", "2i386-2c-nohugepage.xml"),
        ("2i386-2t-hugepagesizecount", "2i386-2t-hugepagesizecount.xml"),
    ] {
        let xml = xml_target(&fs::read_to_string(fixtures_dir().join(target)).unwrap());
        let memory = xml.nodes.values().next().map(|n| n.1);
        assert_eq!(read(tarball).nodes[0].memory_bytes, memory, "{tarball}");
    }
}

#[test]
fn cgroup_cpuset_restrictions_are_exposed_as_allowed() {
    let cases = [
        ("16amd64-8n2c-cpusets", Some(("0-6,12-15", "1-4"))), // v1 cpuset fs, /dev/cpuset/dummy
        ("32amd64-4s2n4c-cgroup2", Some(("0-5", "0-5"))),     // v2 cpuset.*.effective
        ("16em64t-4s2ca2c-cpusetreorder", Some(("2-11,13", "0"))),
        ("16amd64-4n4c-cgroup-distance-merge", Some(("0-3", "2-3"))), // v1 wins over an idle v2 mount
        ("4fake-4gr1nu1pu", Some(("0-1", "0,2"))),                    // v1 cgroup with cpuset. prefix
        ("nvidiagpunumanodes", Some(("0-87", "0"))),                  // v1 effective_* files
        ("fakeheteromemtiers", None),                                 // v2 root: allows everything
        ("32intel64-2p8co2t+8ve", None),                              // v1 root: allows everything
        ("16amd64-8n2c", None),                                       // no cgroup data
    ];
    for (tarball, expected) in cases {
        let allowed = read(tarball)
            .allowed
            .map(|a| (a.cpus.to_string(), a.mems.to_string()));
        let expected = expected.map(|(c, m)| (c.to_string(), m.to_string()));
        assert_eq!(allowed, expected, "{tarball}");
    }
}

#[test]
fn cpu_less_and_memory_less_nodes_are_kept() {
    let host = read("fakememinitiators-1np2c+1npp+gi");
    for node in &host.nodes {
        let cpu_less = node.id.0 >= 4;
        assert_eq!(node.cpus.is_empty(), cpu_less, "node {}", node.id);
        let memory_less = node.id.0 <= 4;
        assert_eq!(
            node.memory_bytes == Some(0),
            memory_less,
            "node {} memory {:?}",
            node.id,
            node.memory_bytes
        );
    }
    // hwloc hides NVIDIA GPU memory nodes by default; vnuma keeps them as CPU-less nodes.
    let host = read("nvidiagpunumanodes");
    let ids: NodeSet = host.nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids.to_string(), "0,8,250-255");
    assert!(
        host.nodes
            .iter()
            .filter(|n| n.id.0 >= 250)
            .all(|n| n.cpus.is_empty() && n.memory_bytes > Some(0))
    );
    // node 0 lists 0-87 but only cpu0-15 exist
    let node0: CpuSet = host.nodes[0].cpus.iter().copied().collect();
    assert_eq!(node0.to_string(), "0-15");
}

#[test]
fn sparse_node_ids_get_distances_by_rank() {
    let host = read("nvidiagpunumanodes");
    let ids: NodeSet = host.nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids.to_string(), "0,8,250-255");
    for node in &host.nodes {
        let d = node.distances.as_ref().unwrap();
        let keys: NodeSet = d.keys().copied().collect();
        assert_eq!(
            keys, ids,
            "node {}: a row of 8 maps onto the 8 online ids",
            node.id
        );
        assert_eq!(d.get(&node.id), Some(&10), "node {} self distance", node.id);
    }
    // row "10 40 80 ..." of node 8: rank 1 is node 8, rank 0 node 0
    let node8 = host.node(NodeId(8)).unwrap().distances.as_ref().unwrap();
    assert_eq!(
        (
            node8.get(&NodeId(0)),
            node8.get(&NodeId(8)),
            node8.get(&NodeId(250))
        ),
        (Some(&40), Some(&10), Some(&80))
    );
    // a single node whose distance is 0 keeps the 0 (the plan stage judges distances)
    let host = read("8ia64-2s2c2t");
    assert_eq!(
        host.nodes[0].distances,
        Some([(NodeId(0), 0)].into_iter().collect())
    );
}

#[test]
fn hugepages_per_node_and_global_of_every_size() {
    let pool = |size: u64, total, free| HugepagePool {
        page_size_bytes: size,
        total,
        free: Some(free),
    };
    let host = read("16amd64-4n4c-cgroup-distance-merge");
    for node in &host.nodes {
        assert_eq!(node.hugepages, vec![pool(2 << 20, 512, 512)], "node {}", node.id);
    }
    assert_eq!(host.hugepages_global, vec![pool(2 << 20, 2048, 2048)]);
    let host = read("32intel64-2p8co2t+8ve");
    assert!(
        host.nodes
            .iter()
            .all(|n| n.hugepages.first().map(|p| p.total) == Some(2048))
    );
    let host = read("2i386-2t-hugepagesizecount");
    let sizes: Vec<(u64, u64)> = host
        .hugepages_global
        .iter()
        .map(|p| (p.page_size_bytes, p.total))
        .collect();
    assert_eq!(sizes, vec![(2 << 20, 1), (16 << 30, 1)]);
    assert_eq!(
        host.nodes[0].hugepages, host.hugepages_global,
        "the implicit node owns the global pools"
    );
}

#[test]
fn offline_cpus_are_listed_but_not_placed() {
    let host = read("16em64t-4s2c2t-offlines");
    let offline: CpuSet = host.cpus.iter().filter(|c| !c.online).map(|c| c.id).collect();
    assert_eq!(offline.to_string(), "2,5,13-14");
    assert_eq!(host.cpus.len(), 16);
    let placed: CpuSet = host.nodes[0].cpus.iter().copied().collect();
    assert_eq!(placed.to_string(), "0-1,3-4,6-12,15");
    // asymmetric SMT once siblings went offline: some cores have one thread, some two
    let sizes: std::collections::BTreeSet<usize> = host
        .cpus
        .iter()
        .filter(|c| c.online)
        .map(|c| c.siblings.len())
        .collect();
    assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn sockets_dies_cores_and_siblings_come_from_topology_files() {
    let host = read("32intel64-2p8co2t+8ve");
    let cpu0 = host.cpu(CpuId(0)).unwrap();
    assert_eq!(
        (cpu0.socket, cpu0.core, cpu0.siblings.to_string()),
        (Some(0), Some(0), "0,16".to_string())
    );
    let cpu17 = host.cpu(CpuId(17)).unwrap();
    assert_eq!(cpu17.siblings.to_string(), "1,17");
    let host = read("fakecpuid1f-64intel64-2p4d2n2c2t");
    assert_eq!(host.cpu(CpuId(0)).unwrap().die, Some(0));
    assert_eq!(host.cpu(CpuId(8)).unwrap().die, Some(1));
}

/// The `MemFree` of a meminfo file, parsed apart from the reader: `... MemFree: N kB`.
fn memfree(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.contains("MemFree:"))?;
    let mut words = line.split("MemFree:").nth(1)?.split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    Some(kib * 1024)
}

/// Every node's free memory is the `MemFree` of its `meminfo` (of `/proc/meminfo` for the
/// implicit node), never above its total.
#[test]
fn node_free_memory_is_the_snapshots_memfree() {
    let mut compared = 0;
    for tarball in tarballs() {
        if REFUSED.iter().any(|(n, _)| *n == tarball) {
            continue;
        }
        let root = fsroot(&tarball);
        let host = read(&tarball);
        for node in &host.nodes {
            let file = if NO_NODE_DIR.contains(&tarball.as_str()) {
                root.join("proc/meminfo")
            } else {
                root.join(format!("sys/devices/system/node/node{}/meminfo", node.id))
            };
            let expected = fs::read_to_string(&file).ok().and_then(|t| memfree(&t));
            assert_eq!(
                node.memory_free_bytes,
                expected,
                "{tarball}: node {} against {}",
                node.id,
                file.display()
            );
            if let Some(free) = expected {
                assert!(
                    node.memory_bytes.is_some_and(|total| free <= total),
                    "{tarball}: node {} free {free} over its total",
                    node.id
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 213, "nodes compared");
}

/// Where the kernel names the L3 (`cache/indexN/id`), the CPUs grouped by it are exactly the
/// cache's `shared_cpu_list` (online part).
#[test]
fn l3_groups_are_the_snapshots_shared_cpu_lists() {
    let (mut compared, mut without_id) = (0, 0);
    for tarball in tarballs() {
        if REFUSED.iter().any(|(n, _)| *n == tarball) {
            continue;
        }
        let root = fsroot(&tarball);
        let host = read(&tarball);
        let groups = host.l3_groups();
        let online: CpuSet = host.cpus.iter().filter(|c| c.online).map(|c| c.id).collect();
        for cpu in host.cpus.iter().filter(|c| c.online) {
            let cache = root.join(format!("sys/devices/system/cpu/cpu{}/cache", cpu.id));
            let Ok(entries) = fs::read_dir(&cache) else {
                continue;
            };
            for entry in entries {
                let dir = entry.unwrap().path();
                let level = fs::read_to_string(dir.join("level")).unwrap_or_default();
                if level.trim_end_matches(['\n', '\0']).trim() != "3" {
                    continue;
                }
                let Ok(list) = fs::read_to_string(dir.join("shared_cpu_list")) else {
                    continue;
                };
                let Some(l3) = cpu.l3 else {
                    without_id += 1;
                    continue;
                };
                let shared = CpuSet::parse_list(&list).unwrap().intersection(&online);
                let group = groups.iter().find(|(id, _)| *id == l3).map(|(_, g)| g.clone());
                assert_eq!(group, Some(shared), "{tarball}: cpu {} L3 {l3}", cpu.id);
                compared += 1;
            }
        }
    }
    // Kernels before 4.11 export no cache `id`: there the groups are unknown (not guessed
    // from shared_cpu_list), and `caches` is empty.
    assert_eq!(
        (compared, without_id),
        (102, 420),
        "CPUs compared, CPUs whose L3 has no id"
    );
}
