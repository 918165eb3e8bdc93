//! The whole kubelet admission on the built-in hosts.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::topology::examples::example;

fn cpus(n: i64) -> Request {
    Request {
        cpu_millis: n * 1000,
        memory: 1 << 30,
        hugepages: BTreeMap::new(),
    }
}

#[test]
fn the_contract_example() {
    let host = example("dual-socket").unwrap();
    let a = allocate(
        &host,
        &KubeletConfig::assumed_defaults(),
        &cpus(4),
        &Existing::default(),
    )
    .unwrap();
    assert!(a.admitted && a.exclusive);
    assert_eq!(a.cpuset.unwrap().to_string(), "1-2,17-18");
    assert_eq!(a.numa_nodes, vec![0]);
    assert_eq!(a.reserved.to_string(), "0");
}

#[test]
fn single_numa_node_rejects_what_spans_nodes() {
    let host = example("dual-socket").unwrap();
    let config = KubeletConfig {
        topology_manager_policy: "single-numa-node".into(),
        ..KubeletConfig::assumed_defaults()
    };
    let a = allocate(&host, &config, &cpus(15), &Existing::default()).unwrap();
    assert!(a.admitted);
    assert_eq!(
        a.numa_nodes,
        vec![0],
        "both nodes fit 15: the narrower mask, node 0, wins"
    );
    let a = allocate(&host, &config, &cpus(16), &Existing::default()).unwrap();
    assert!(a.admitted);
    assert_eq!(
        a.numa_nodes,
        vec![1],
        "node 0 lost CPU 0 to the reservation: only node 1 has 16 free"
    );
    let a = allocate(&host, &config, &cpus(17), &Existing::default()).unwrap();
    assert!(!a.admitted);
    assert_eq!(
        a.error,
        Some((
            "TopologyAffinityError".into(),
            "Resources cannot be allocated with Topology locality".into()
        ))
    );
}

#[test]
fn full_pcpus_only_rejects_odd_requests() {
    let host = example("dual-socket").unwrap();
    let mut config = KubeletConfig::assumed_defaults();
    config
        .cpu_manager_policy_options
        .insert("full-pcpus-only".into(), "true".into());
    let a = allocate(&host, &config, &cpus(3), &Existing::default()).unwrap();
    assert!(!a.admitted);
    assert_eq!(a.error.as_ref().map(|e| e.0.as_str()), Some("SMTAlignmentError"));
}

#[test]
fn fractional_cpus_share_the_pool_and_none_policy_pins_nothing() {
    let host = example("dual-socket").unwrap();
    let shared = Request {
        cpu_millis: 1500,
        ..cpus(0)
    };
    let a = allocate(
        &host,
        &KubeletConfig::assumed_defaults(),
        &shared,
        &Existing::default(),
    )
    .unwrap();
    assert!(a.admitted && !a.exclusive);
    assert_eq!(a.cpuset.unwrap().to_string(), "0-31");
    let none = KubeletConfig::kubelet_defaults();
    let a = allocate(&host, &none, &cpus(4), &Existing::default()).unwrap();
    assert!(a.admitted && !a.exclusive);
}

#[test]
fn configurations_the_kubelet_refuses() {
    let host = example("dual-socket").unwrap();
    let mut c = KubeletConfig::kubelet_defaults();
    c.cpu_manager_policy = "static".into();
    c.reserved_cpu_millis = Some(0);
    let err = allocate(&host, &c, &cpus(1), &Existing::default())
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "[cpumanager] the static policy requires systemreserved.cpu + kubereserved.cpu to be greater than zero"
    );
    c.cpu_manager_policy = "dynamic".into();
    assert_eq!(
        allocate(&host, &c, &cpus(1), &Existing::default())
            .map(|_| ())
            .unwrap_err()
            .to_string(),
        "unknown policy: \"dynamic\""
    );
}

#[test]
fn existing_allocations_are_respected() {
    let host = example("dual-socket").unwrap();
    let existing = Existing {
        assigned_cpus: CpuSet::parse_list("1-7,16-23").unwrap(),
        memory_checkpoint: None,
    };
    let a = allocate(&host, &KubeletConfig::assumed_defaults(), &cpus(4), &existing).unwrap();
    let set = a.cpuset.unwrap();
    assert!(set.intersection(&existing.assigned_cpus).is_empty());
    assert_eq!(a.numa_nodes, vec![1]);
}

#[test]
fn the_static_memory_manager_places_hugepages() {
    let host = example("dual-socket").unwrap();
    let mut config = KubeletConfig::assumed_defaults();
    config.memory_manager_policy = "Static".into();
    config.topology_manager_policy = "single-numa-node".into();
    config
        .reserved_memory
        .insert(0, [("memory".to_string(), 1u64 << 30)].into_iter().collect());
    let request = Request {
        cpu_millis: 4000,
        memory: 432_144_384,
        hugepages: [("hugepages-2Mi".to_string(), 64u64 << 20)].into_iter().collect(),
    };
    let a = allocate(&host, &config, &request, &Existing::default()).unwrap();
    assert!(a.admitted, "{:?}", a.error);
    assert_eq!(a.numa_nodes.len(), 1);
    let node = a.numa_nodes[0];
    assert!(
        a.memory.contains(&(node, "hugepages-2Mi".to_string(), 64 << 20)),
        "{:?}",
        a.memory
    );
}

/// One socket of one-thread cores: `nodes` lists each node's id and CPUs; every CPU's L3 is
/// `l3(cpu)`; distances as the kernel gives them when `distances` (10 local, 20 remote).
fn socket_host(nodes: &[(u32, &[u32])], l3: impl Fn(u32) -> Option<u32>, distances: bool) -> HostTopology {
    let nodes: Vec<(u32, u32, &[u32])> = nodes.iter().map(|&(id, cpus)| (id, 0, cpus)).collect();
    sockets_host(&nodes, l3, distances)
}

/// One-thread cores: `nodes` lists each node's id, socket and CPUs.
fn sockets_host(
    nodes: &[(u32, u32, &[u32])],
    l3: impl Fn(u32) -> Option<u32>,
    distances: bool,
) -> HostTopology {
    use crate::ids::NodeId;
    use crate::topology::{Cpu, Node};
    let ids: Vec<u32> = nodes.iter().map(|(id, _, _)| *id).collect();
    let mut cpus = Vec::new();
    let mut host_nodes = Vec::new();
    for &(id, socket, node_cpus) in nodes {
        for &c in node_cpus {
            cpus.push(Cpu {
                id: CpuId(c),
                node: Some(NodeId(id)),
                socket: Some(socket),
                die: Some(0),
                core: Some(c),
                l3: l3(c),
                siblings: [CpuId(c)].into_iter().collect(),
                siblings_text: c.to_string(),
                online: true,
            });
        }
        host_nodes.push(Node {
            id: NodeId(id),
            cpus: node_cpus.iter().map(|&c| CpuId(c)).collect(),
            memory_bytes: Some(8 << 30),
            memory_free_bytes: None,
            hugepages: Vec::new(),
            distances: distances.then(|| {
                ids.iter()
                    .map(|&to| (NodeId(to), if to == id { 10 } else { 20 }))
                    .collect()
            }),
        });
    }
    cpus.sort_by_key(|c| c.id);
    HostTopology {
        nodes: host_nodes,
        cpus,
        hugepages_global: Vec::new(),
        allowed: None,
    }
}

/// Node 0 = CPUs 0,2 and node 1 = CPUs 1,3 on one socket, one L3 per node (AMD "L3 as NUMA").
fn l3_per_node_host() -> HostTopology {
    socket_host(&[(0, &[0, 2]), (1, &[1, 3])], |c| Some(c % 2), false)
}

fn uncore_config() -> KubeletConfig {
    let mut config = KubeletConfig::assumed_defaults();
    config
        .cpu_manager_policy_options
        .insert("prefer-align-cpus-by-uncorecache".into(), "true".into());
    config
}

#[test]
fn an_l3_as_large_as_its_numa_node_is_a_node_cache_not_an_uncore_cache() {
    let host = l3_per_node_host();
    let topology = CpuTopology::from_host(&host);
    assert_eq!(topology.num_uncore_cache, 1, "both uncore ids are the socket id");
    assert!(topology.details.values().all(|c| c.uncore == 0));
    let mut config = uncore_config();
    config.reserved_system_cpus = CpuSet::parse_list("0").unwrap();
    let a = allocate(&host, &config, &cpus(1), &Existing::default()).unwrap();
    assert!(a.admitted, "{:?}", a.error);
    assert_eq!(
        a.cpuset.unwrap().to_string(),
        "1",
        "the kubelet (v1.36) gives CPU 1: one uncore cache, the lowest free CPU"
    );
}

#[test]
fn an_l3_as_large_as_its_numa_node_does_not_steer_the_kube_reserved_cpus() {
    // node 0 = CPUs 1,3 (L3 0), node 1 = CPUs 0,2 (L3 1): to the kubelet one socket-wide
    // uncore, whose lowest core is CPU 0 (with per-node uncores it would be node 0's CPU 1)
    let host = socket_host(&[(0, &[1, 3]), (1, &[0, 2])], |c| Some((c + 1) % 2), false);
    let config = uncore_config();
    assert_eq!(config.reserved_cpu_millis, Some(1000), "kubeReserved.cpu: 1");
    let a = allocate(&host, &config, &cpus(1), &Existing::default()).unwrap();
    assert_eq!(a.reserved.to_string(), "0");
}

#[test]
fn an_l3_smaller_than_its_numa_node_stays_an_uncore_cache() {
    // node 0 = CPUs 0-3 with L3s {0,1} and {2,3}: per-core uncore caches, as before
    let host = socket_host(&[(0, &[0, 1, 2, 3])], |c| Some(c / 2), false);
    let topology = CpuTopology::from_host(&host);
    assert_eq!(topology.num_uncore_cache, 2);
    assert_eq!(topology.details[&3].uncore, 1);
}

#[test]
fn prefer_closest_numa_nodes_on_noncontiguous_node_ids_crashes_the_kubelet() {
    // nodes 0 and 2: each distance row has 2 entries, the kubelet reads row[2]
    let host = socket_host(&[(0, &[0, 1]), (2, &[2, 3])], |_| None, true);
    let mut config = KubeletConfig::assumed_defaults();
    config.topology_manager_policy = "best-effort".into();
    config
        .topology_manager_policy_options
        .insert("prefer-closest-numa-nodes".into(), "true".into());
    let a = allocate(&host, &config, &cpus(1), &Existing::default()).expect("the kubelet starts");
    assert!(!a.admitted && a.cpuset.is_none());
    let (reason, message) = a.error.unwrap();
    assert_eq!(reason, "KubeletPanic");
    assert!(
        message.starts_with("kubelet-quirk:closest-numa-noncontiguous-ids: ")
            && message.contains("\"panic: runtime error: index out of range [2] with length 2\""),
        "{message}"
    );
    // single-numa-node never compares distances; contiguous ids read inside the rows
    config.topology_manager_policy = "single-numa-node".into();
    let a = allocate(&host, &config, &cpus(1), &Existing::default()).unwrap();
    assert!(a.admitted, "{:?}", a.error);
    config.topology_manager_policy = "best-effort".into();
    let contiguous = socket_host(&[(0, &[0, 1]), (1, &[2, 3])], |_| None, true);
    let a = allocate(&contiguous, &config, &cpus(1), &Existing::default()).unwrap();
    assert!(a.admitted, "{:?}", a.error);
}

/// Socket 0 = nodes 0 and 1 (an odd SNC split), socket 1 = node 2: more nodes than sockets, so
/// the kubelet takes whole sockets first, and judges a socket free by CPUsPerSocket.
fn uneven_sockets(node0: &[u32], node1: &[u32], node2: &[u32]) -> HostTopology {
    sockets_host(&[(0, 0, node0), (1, 0, node1), (2, 1, node2)], |_| None, false)
}

#[test]
fn uneven_socket_whole_take_hands_out_a_reserved_cpu() {
    // sockets of 3 (0,1,5) and 2 (2,3) CPUs: CPUsPerSocket = 5 / 2 = 2; with CPU 0 reserved,
    // socket 0 has 2 free CPUs, so the kubelet counts it free and takes all 3 of its CPUs
    let host = uneven_sockets(&[0, 1], &[5], &[2, 3]);
    let mut config = KubeletConfig::assumed_defaults();
    config.reserved_system_cpus = CpuSet::parse_list("0").unwrap();
    let a = allocate(&host, &config, &cpus(3), &Existing::default()).unwrap();
    assert!(a.admitted, "{:?}", a.error);
    assert_eq!(
        a.cpuset.unwrap().to_string(),
        "0-1,5",
        "as the kubelet: reserved 0 in 0-1,5"
    );
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    let w = &a.warnings[0];
    assert_eq!(w.code, "kubelet-quirk:uneven-socket-whole-take");
    assert_eq!(w.cpus.to_string(), "0");
    assert_eq!(
        w.message,
        "the kubelet hands out reserved CPU(s) 0 in cpuset 0-1,5: its whole-socket step counts a \
         socket free when its free CPUs number CPUsPerSocket (5 online CPUs / 2 sockets = 2), then \
         takes every CPU of the socket; this socket has more CPUs than that (uneven sockets, \
         offline CPUs)"
    );
}

#[test]
fn uneven_socket_whole_take_hands_out_an_assigned_cpu() {
    // sockets of 4 (1,2,5,6) and 3 (0,3,4) CPUs: CPUsPerSocket = 7 / 2 = 3; with CPU 5 held by
    // another container socket 0 has 3 free CPUs and is taken whole
    let host = uneven_sockets(&[1, 2], &[5, 6], &[0, 3, 4]);
    let mut config = KubeletConfig::assumed_defaults();
    config.reserved_system_cpus = CpuSet::parse_list("0").unwrap();
    let existing = Existing {
        assigned_cpus: CpuSet::parse_list("5").unwrap(),
        memory_checkpoint: None,
    };
    let a = allocate(&host, &config, &cpus(4), &existing).unwrap();
    assert!(a.admitted, "{:?}", a.error);
    assert_eq!(
        a.cpuset.unwrap().to_string(),
        "1-2,5-6",
        "as the kubelet: assigned 5 in 1-2,5-6"
    );
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert_eq!(a.warnings[0].code, "kubelet-quirk:uneven-socket-whole-take");
    assert_eq!(a.warnings[0].cpus.to_string(), "5");
    assert!(
        a.warnings[0].message.starts_with(
            "the kubelet hands out CPU(s) 5 already assigned to other containers in cpuset 1-2,5-6"
        ),
        "{}",
        a.warnings[0].message
    );
}

#[test]
fn even_sockets_give_no_whole_take_warning() {
    let host = uneven_sockets(&[0, 1], &[4], &[2, 3, 5]);
    let mut config = KubeletConfig::assumed_defaults();
    config.reserved_system_cpus = CpuSet::parse_list("0").unwrap();
    let a = allocate(&host, &config, &cpus(3), &Existing::default()).unwrap();
    assert!(a.admitted, "{:?}", a.error);
    assert!(!a.cpuset.unwrap().contains(CpuId(0)));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn uneven_core_whole_take_hands_out_a_reserved_cpu() {
    // cores of 3 (0,1,2) and 2 (3,4) threads: CPUsPerCore = 5 / 2 = 2; with CPU 0 reserved the
    // first core has 2 free threads, so the kubelet counts it free and takes all 3
    let mut host = socket_host(&[(0, &[0, 1, 2, 3, 4])], |_| None, false);
    for cpu in &mut host.cpus {
        let core: &[u32] = if cpu.id.0 < 3 { &[0, 1, 2] } else { &[3, 4] };
        cpu.siblings = core.iter().map(|&c| CpuId(c)).collect();
    }
    let mut config = KubeletConfig::assumed_defaults();
    config.reserved_system_cpus = CpuSet::parse_list("0").unwrap();
    let a = allocate(&host, &config, &cpus(3), &Existing::default()).unwrap();
    assert!(a.admitted, "{:?}", a.error);
    assert_eq!(a.cpuset.unwrap().to_string(), "0-2");
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert_eq!(a.warnings[0].code, "kubelet-quirk:uneven-core-whole-take");
    assert_eq!(a.warnings[0].cpus.to_string(), "0");
    assert!(
        a.warnings[0]
            .message
            .contains("CPUsPerCore (5 online CPUs / 2 cores = 2)"),
        "{}",
        a.warnings[0].message
    );
}
