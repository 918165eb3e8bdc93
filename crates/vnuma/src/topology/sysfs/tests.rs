//! The sysfs reader on small in-memory trees, one quirk or one bad input at a time.
//! Real machines are covered by `tests/hwloc_fixtures.rs`.

#![allow(clippy::unwrap_used)]

use super::*;

/// Two nodes, two SMT-2 cores each, in the layout of a real tree (trailing `\n\0` included).
fn two_nodes() -> MemTree {
    let mut tree = MemTree::new()
        .with("sys/devices/system/cpu/online", "0-7\n\0")
        .with("sys/devices/system/node/online", "0-1\n")
        .with("sys/devices/system/node/node0/cpulist", "0-1,4-5\n\0")
        .with("sys/devices/system/node/node1/cpulist", "2-3,6-7\n\0")
        .with("sys/devices/system/node/node0/distance", "10 21\n")
        .with("sys/devices/system/node/node1/distance", "21 10\n")
        .with(
            "sys/devices/system/node/node0/meminfo",
            "Node 0 MemTotal:  1048576 kB\nNode 0 MemFree: 1 kB\n",
        )
        .with(
            "sys/devices/system/node/node1/meminfo",
            "Node 1 MemTotal:  0 kB\n",
        )
        .with(
            "sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
            "16\n",
        )
        .with(
            "sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages",
            "8\n",
        )
        .with("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "16\n")
        .with("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "8\n");
    for cpu in 0..8u32 {
        let core = cpu % 4;
        let dir = format!("sys/devices/system/cpu/cpu{cpu}/topology");
        tree = tree
            .with(&format!("{dir}/physical_package_id"), &format!("{}\n", core / 2))
            .with(&format!("{dir}/core_id"), &format!("{core}\n"))
            .with(
                &format!("{dir}/thread_siblings_list"),
                &format!("{core},{}\n", core + 4),
            );
    }
    tree
}

fn err_text(tree: &MemTree) -> String {
    from_tree(tree).unwrap_err().to_string()
}

#[test]
fn reads_a_tidy_two_node_host() {
    let host = from_tree(&two_nodes()).unwrap();
    assert_eq!(host.nodes.len(), 2);
    let n0 = &host.nodes[0];
    assert_eq!(n0.cpus, vec![CpuId(0), CpuId(1), CpuId(4), CpuId(5)]);
    assert_eq!(n0.memory_bytes, Some(1 << 30));
    assert_eq!(
        n0.hugepages,
        vec![HugepagePool {
            page_size_bytes: 2 << 20,
            total: 16,
            free: Some(8)
        }]
    );
    assert_eq!(
        n0.distances,
        Some([(NodeId(0), 10), (NodeId(1), 21)].into_iter().collect())
    );
    assert_eq!(host.nodes[1].memory_bytes, Some(0), "memory-less node");
    let cpu5 = host.cpu(CpuId(5)).unwrap();
    assert_eq!(
        (cpu5.node, cpu5.socket, cpu5.core),
        (Some(NodeId(0)), Some(0), Some(1))
    );
    assert_eq!(
        (cpu5.siblings.to_string(), cpu5.siblings_text.as_str()),
        ("1,5".to_string(), "1,5")
    );
    assert_eq!(host.allowed, None);
}

#[test]
fn cpumap_is_read_when_cpulist_is_missing() {
    let tree = MemTree::new()
        .with("sys/devices/system/cpu/cpu0/", "")
        .with("sys/devices/system/cpu/cpu1/", "")
        .with("sys/devices/system/cpu/cpu33/", "")
        .with("sys/devices/system/node/node0/cpumap", "00000002,00000003\n\0");
    let host = from_tree(&tree).unwrap();
    assert_eq!(host.nodes[0].cpus, vec![CpuId(0), CpuId(1), CpuId(33)]);
    // no topology files: an online CPU is its own only sibling, ids unknown
    let cpu33 = host.cpu(CpuId(33)).unwrap();
    assert_eq!((cpu33.siblings.to_string(), cpu33.core), ("33".to_string(), None));
}

#[test]
fn per_cpu_online_files_and_lists_wider_than_reality() {
    let tree = MemTree::new()
        .with("sys/devices/system/cpu/cpu0/", "") // cpu0 has no online file: online
        .with("sys/devices/system/cpu/cpu1/online", "0\n")
        .with("sys/devices/system/cpu/cpu2/online", "1\n")
        .with("sys/devices/system/node/node0/cpulist", "0-87\n"); // lists absent CPUs
    let host = from_tree(&tree).unwrap();
    assert_eq!(host.nodes[0].cpus, vec![CpuId(0), CpuId(2)]);
    assert_eq!(host.cpus.len(), 3);
    assert!(!host.cpu(CpuId(1)).unwrap().online);
    assert_eq!(
        host.cpu(CpuId(1)).unwrap().node,
        Some(NodeId(0)),
        "an offline CPU still has its node"
    );
}

#[test]
fn distance_rows_are_indexed_by_rank_among_online_nodes() {
    let tree = MemTree::new()
        .with("sys/devices/system/cpu/cpu0/", "")
        .with("sys/devices/system/node/online", "0,33\n")
        .with("sys/devices/system/node/node0/cpulist", "0\n")
        .with("sys/devices/system/node/node33/cpulist", "\n")
        .with("sys/devices/system/node/node0/distance", "10 16\n")
        .with("sys/devices/system/node/node33/distance", "16 10\n");
    let host = from_tree(&tree).unwrap();
    let d33 = host.node(NodeId(33)).unwrap().distances.clone().unwrap();
    assert_eq!(d33, [(NodeId(0), 16), (NodeId(33), 10)].into_iter().collect());
    assert!(host.node(NodeId(33)).unwrap().cpus.is_empty(), "CPU-less node");
}

#[test]
fn a_cpu_in_two_nodes_follows_its_own_link() {
    let tree = MemTree::new()
        .with("sys/devices/system/cpu/cpu0/node1", "")
        .with("sys/devices/system/node/node0/cpulist", "0\n")
        .with("sys/devices/system/node/node1/cpulist", "0\n");
    let host = from_tree(&tree).unwrap();
    assert!(host.nodes[0].cpus.is_empty());
    assert_eq!(host.nodes[1].cpus, vec![CpuId(0)]);
}

#[test]
fn cgroup_v2_restriction_through_proc_self_cgroup() {
    let tree = two_nodes()
        .with("proc/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n")
        .with("proc/self/cgroup", "0::/kubepods.slice/pod1\n")
        .with("sys/fs/cgroup/kubepods.slice/pod1/cpuset.cpus.effective", "1-2\n")
        .with("sys/fs/cgroup/kubepods.slice/pod1/cpuset.mems.effective", "0-1\n");
    let allowed = from_tree(&tree).unwrap().allowed.unwrap();
    assert_eq!(
        (allowed.cpus.to_string(), allowed.mems.to_string()),
        ("1-2".into(), "0-1".into())
    );
}

#[test]
fn bad_input_names_the_file_and_the_value() {
    let cases = [
        (
            two_nodes().with("sys/devices/system/node/node0/cpulist", "0-3,x\n"),
            "invalid cpu list \"0-3,x\" in sys/devices/system/node/node0/cpulist: \"x\" is not an id or an a-b range",
        ),
        (
            two_nodes().with("sys/devices/system/node/node0/cpulist", "0-4294967295\n"),
            "invalid cpu list \"0-4294967295\" in sys/devices/system/node/node0/cpulist: rejecting expanding CPU array for safety reasons, limit is 50000",
        ),
        (
            two_nodes().with("sys/devices/system/cpu/online", "7-0\n"),
            "invalid cpu list \"7-0\" in sys/devices/system/cpu/online: range \"7-0\" ends before it starts",
        ),
        (
            MemTree::new()
                .with("sys/devices/system/cpu/cpu0/", "")
                .with("sys/devices/system/node/node0/cpumap", "zz\n"),
            "invalid cpumap \"zz\" in sys/devices/system/node/node0/cpumap: \"zz\" is not a 32-bit hex word of a cpumap",
        ),
        (
            two_nodes().with("sys/devices/system/node/node1/distance", "21 ten\n"),
            "invalid distance row \"21 ten\" in sys/devices/system/node/node1/distance",
        ),
        (
            two_nodes().with("sys/devices/system/node/node1/distance", "21 10 30\n"),
            "distance row \"21 10 30\" in sys/devices/system/node/node1/distance has 3 entries but the host has 2 online nodes",
        ),
        (
            two_nodes().with(
                "sys/devices/system/node/node0/meminfo",
                "Node 0 MemTotal: lots kB\n",
            ),
            "invalid MemTotal line \"Node 0 MemTotal: lots kB\" in sys/devices/system/node/node0/meminfo",
        ),
        (
            MemTree::new().with("sys/devices/system/cpu/cpu3/online", "maybe\n"),
            "invalid online flag \"maybe\" in sys/devices/system/cpu/cpu3/online",
        ),
        (
            two_nodes().with("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "-1\n"),
            "invalid hugepage count \"-1\" in sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
        ),
        (
            MemTree::new().with("proc/meminfo", "MemTotal: 1 kB\n"),
            "<memory> is not a sysfs root: sys/devices/system/cpu is missing",
        ),
        (
            MemTree::new().with("sys/devices/system/cpu/online", "0\n"),
            "<memory> is not a sysfs root: sys/devices/system/cpu has no cpuN directories",
        ),
    ];
    for (tree, expected) in cases {
        assert_eq!(err_text(&tree), expected);
    }
}
