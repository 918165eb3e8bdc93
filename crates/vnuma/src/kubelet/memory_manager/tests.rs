//! Tests of the Memory Manager static policy: every vector of `kubelet.md` §10 under its
//! group name and index (`hints[3]` is the fourth line of that group), then the §4 rules the
//! summary does not spell out (extension, group violation, validation, reuse, the
//! checkpoint).
//!
//! §10 summarises upstream's cases without full machines; where it gives only a situation
//! ("node 0 insufficient"), the machine here is built to be exactly that situation, reached by
//! real allocations where possible, and the comment says so.

use std::collections::BTreeSet;

use super::*;

const MI: u64 = 1 << 20;
const GI: u64 = 1 << 30;

fn hint(nodes: &[u32], preferred: bool) -> TopologyHint {
    TopologyHint {
        affinity: Some(NodeMask::of(nodes).unwrap()),
        preferred,
    }
}

const NO_HINT: TopologyHint = TopologyHint {
    affinity: None,
    preferred: false,
};

fn req(items: &[(&str, u64)]) -> BTreeMap<String, u64> {
    items.iter().map(|(r, b)| ((*r).to_owned(), *b)).collect()
}

/// (node, memory bytes, hugepage pools).
type NodeRow<'a> = (u32, u64, &'a [(u64, u64)]);

/// (name, kind, requests).
type ContainerRow<'a> = (&'a str, ContainerKind, &'a [(&'a str, u64)]);

fn machine(nodes: &[NodeRow<'_>]) -> BTreeMap<u32, NodeMemory> {
    nodes
        .iter()
        .map(|&(id, memory_bytes, hp)| {
            (
                id,
                NodeMemory {
                    memory_bytes,
                    hugepages: hp.to_vec(),
                },
            )
        })
        .collect()
}

fn reserve(items: &[(u32, &str, u64)]) -> BTreeMap<u32, BTreeMap<String, u64>> {
    let mut out: BTreeMap<u32, BTreeMap<String, u64>> = BTreeMap::new();
    for &(n, r, b) in items {
        out.entry(n).or_default().insert(r.to_owned(), b);
    }
    out
}

fn table(total: u64, system_reserved: u64, allocatable: u64, reserved: u64, free: u64) -> MemoryTable {
    MemoryTable {
        total,
        system_reserved,
        allocatable,
        reserved,
        free,
    }
}

/// Provider hints as `resource → ["01:T", …]`.
fn hints_of(items: &[(&str, &[&str])]) -> ProviderHints {
    Some(
        items
            .iter()
            .map(|(r, hs)| {
                let list = hs
                    .iter()
                    .map(|t| {
                        let (m, p) = t.split_once(':').unwrap();
                        let ids: Vec<u32> = m.chars().map(|c| c.to_digit(10).unwrap()).collect();
                        hint(&ids, p == "T")
                    })
                    .collect();
                ((*r).to_owned(), Some(list))
            })
            .collect(),
    )
}

fn pod(uid: &str, guaranteed: bool, containers: &[ContainerRow<'_>]) -> PodSpec {
    PodSpec {
        uid: uid.to_owned(),
        guaranteed,
        containers: containers
            .iter()
            .map(|(name, kind, r)| ContainerSpec {
                name: (*name).to_owned(),
                kind: *kind,
                requests: req(r),
            })
            .collect(),
    }
}

/// The single-node machine of `startDefaultState[0]`: 3Gi, one 1Gi page, 512Mi reserved.
fn one_node() -> MemoryManager {
    MemoryManager::new(
        &machine(&[(0, 3 * GI, &[(GI, 1)])]),
        &reserve(&[(0, "memory", 512 * MI)]),
    )
    .unwrap()
}

fn node(mm: &MemoryManager, n: u32) -> &NodeState {
    &mm.state().nodes[&n]
}

fn free(mm: &MemoryManager, n: u32, r: &str) -> u64 {
    node(mm, n).memory_map[r].free
}

#[test]
fn start_default_state_0() {
    let mm = one_node();
    let want = NodeState {
        number_of_assignments: 0,
        memory_map: [
            (
                MEMORY.to_owned(),
                table(3 * GI, 512 * MI, 1536 * MI, 0, 1536 * MI),
            ),
            ("hugepages-1Gi".to_owned(), table(GI, 0, GI, 0, GI)),
        ]
        .into(),
        cells: vec![0],
    };
    assert_eq!(mm.state().nodes, [(0, want)].into(), "startDefaultState[0]");
}

/// A checkpoint holding `state` and `entries` (JSON as the kubelet writes it).
fn checkpoint(state: &MachineState, entries: &Assignments) -> MemoryManagerCheckpoint {
    MemoryManagerCheckpoint {
        policy_name: "Static".into(),
        machine_state: state
            .nodes
            .iter()
            .map(|(id, n)| {
                (
                    id.to_string(),
                    WireNodeState {
                        number_of_assignments: n.number_of_assignments,
                        memory_map: n
                            .memory_map
                            .iter()
                            .map(|(r, t)| {
                                (
                                    r.clone(),
                                    WireMemoryTable {
                                        total: t.total,
                                        system_reserved: t.system_reserved,
                                        allocatable: t.allocatable,
                                        reserved: t.reserved,
                                        free: t.free,
                                    },
                                )
                            })
                            .collect(),
                        cells: n.cells.clone(),
                    },
                )
            })
            .collect(),
        entries: entries
            .iter()
            .map(|(p, cs)| {
                (
                    p.clone(),
                    cs.iter()
                        .map(|(c, bs)| {
                            (
                                c.clone(),
                                bs.iter()
                                    .map(|b| WireBlock {
                                        numa_affinity: b.numa_affinity.clone(),
                                        resource: b.resource.clone(),
                                        size: b.size,
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            })
            .collect(),
        checksum: 0,
    }
}

#[test]
fn start_default_state_1_stored_state_differs() {
    // a machine with an allocation, checkpointed, restored: fine; any field changed: refused
    let nodes = machine(&[(0, 4 * GI, &[(GI, 1)]), (1, 4 * GI, &[(GI, 1)])]);
    let reserved = reserve(&[(0, "memory", 512 * MI), (1, "memory", 512 * MI)]);
    let mut mm = MemoryManager::new(&nodes, &reserved).unwrap();
    mm.allocate(
        &req(&[("memory", 3 * GI), ("hugepages-1Gi", GI)]),
        hint(&[0, 1], false),
    )
    .unwrap();
    let good = checkpoint(mm.state(), mm.assignments());
    let restored = MemoryManager::start(&nodes, &reserved, &good).unwrap();
    assert_eq!(restored.state(), mm.state());
    assert_eq!(restored.assignments(), mm.assignments());

    type Edit = (&'static str, fn(&mut WireNodeState));
    let edits: [Edit; 7] = [
        ("total", |n| n.memory_map.get_mut("memory").unwrap().total += 1),
        ("systemReserved", |n| {
            n.memory_map.get_mut("memory").unwrap().system_reserved += 1
        }),
        ("allocatable", |n| {
            n.memory_map.get_mut("memory").unwrap().allocatable += 1
        }),
        ("reserved", |n| {
            n.memory_map.get_mut("hugepages-1Gi").unwrap().reserved += 1
        }),
        ("free", |n| n.memory_map.get_mut("memory").unwrap().free += 1),
        ("numberOfAssignments", |n| n.number_of_assignments += 1),
        ("cells", |n| n.cells = vec![1]),
    ];
    for (field, edit) in edits {
        let mut bad = good.clone();
        edit(bad.machine_state.get_mut("1").unwrap());
        let e = MemoryManager::start(&nodes, &reserved, &bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[memorymanager] the expected machine state is different from the real one",
            "startDefaultState[1] ({field})"
        );
    }
    // a changed reservation (kubelet restarted with other reservedMemory) also differs
    let e = MemoryManager::start(&nodes, &reserve(&[(0, "memory", GI)]), &good).unwrap_err();
    assert_eq!(e, MemoryManagerError::StateMismatch);
}

#[test]
fn start_default_state_2_empty_state_with_assignments() {
    let mut mm = one_node();
    mm.allocate(&req(&[("memory", GI)]), NO_HINT).unwrap();
    let cp = checkpoint(&MachineState::default(), mm.assignments());
    let e = MemoryManager::start(
        &machine(&[(0, 3 * GI, &[(GI, 1)])]),
        &reserve(&[(0, "memory", 512 * MI)]),
        &cp,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "[memorymanager] machine state can not be empty when it has memory assignments",
        "startDefaultState[2]"
    );
    // empty state and no assignments: the default state
    let cp = checkpoint(&MachineState::default(), &Assignments::new());
    let mm = MemoryManager::start(
        &machine(&[(0, 3 * GI, &[(GI, 1)])]),
        &reserve(&[(0, "memory", 512 * MI)]),
        &cp,
    )
    .unwrap();
    assert_eq!(mm.state(), one_node().state());
}

#[test]
fn start_default_state_3_no_reserved_memory() {
    for reserved in [
        reserve(&[]),
        reserve(&[(0, "hugepages-1Gi", GI)]),
        reserve(&[(0, "memory", 0)]),
    ] {
        let e = MemoryManager::new(&machine(&[(0, 3 * GI, &[(GI, 1)])]), &reserved).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[memorymanager] you should specify the system reserved memory",
            "startDefaultState[3]"
        );
    }
}

#[test]
fn hints_0_burstable() {
    let mm = one_node();
    let p = pod("p", false, &[("c", ContainerKind::App, &[("memory", GI)])]);
    assert_eq!(mm.container_hints(&p, 0), None, "hints[0]");
    assert_eq!(mm.pod_hints(&p), None, "hints[0] pod scope");
}

#[test]
fn hints_1_existing_blocks_regenerate() {
    let mut mm = one_node();
    let p = pod(
        "p",
        true,
        &[("c", ContainerKind::App, &[("memory", GI), ("hugepages-1Gi", GI)])],
    );
    mm.allocate_container(&p, 0, hint(&[0], true)).unwrap();
    let want = hints_of(&[("memory", &["0:T"]), ("hugepages-1Gi", &["0:T"])]);
    assert_eq!(mm.container_hints(&p, 0), want, "hints[1]");
    assert_eq!(mm.pod_hints(&p), want, "hints[1] pod scope");
}

#[test]
fn hints_2_existing_blocks_differ() {
    let mut mm = one_node();
    let p = pod(
        "p",
        true,
        &[("c", ContainerKind::App, &[("memory", GI), ("hugepages-1Gi", GI)])],
    );
    mm.allocate_container(&p, 0, hint(&[0], true)).unwrap();
    let differing: [(&str, &[(&str, u64)]); 3] = [
        ("count", &[("memory", GI)]),
        ("type", &[("memory", GI), ("hugepages-2Mi", GI)]),
        ("size", &[("memory", 512 * MI), ("hugepages-1Gi", GI)]),
    ];
    for (what, r) in differing {
        let q = pod("p", true, &[("c", ContainerKind::App, r)]);
        assert_eq!(mm.container_hints(&q, 0), None, "hints[2] ({what})");
    }
}

/// Four nodes of 1536Mi allocatable memory and 2 × 1Gi pages; a first pod of 2Gi memory and
/// 4Gi of hugepages placed on {0,1} groups nodes 0 and 1 and leaves exactly `hints[3]`'s
/// state.
fn four_nodes_with_group() -> MemoryManager {
    let nodes: Vec<NodeRow<'_>> = (0..4).map(|n| (n, 4 * GI, &[(GI, 2)][..])).collect();
    let reserved: Vec<(u32, &str, u64)> = (0..4).map(|n| (n, "memory", 512 * MI)).collect();
    let mut mm = MemoryManager::new(&machine(&nodes), &reserve(&reserved)).unwrap();
    let taken = mm
        .allocate(
            &req(&[("memory", 2 * GI), ("hugepages-1Gi", 4 * GI)]),
            hint(&[0, 1], true),
        )
        .unwrap();
    assert_eq!(
        taken,
        vec![
            (0, "hugepages-1Gi".to_owned(), 2 * GI),
            (0, "memory".to_owned(), 1536 * MI),
            (1, "hugepages-1Gi".to_owned(), 2 * GI),
            (1, "memory".to_owned(), 512 * MI),
        ]
    );
    mm
}

#[test]
fn hints_3_four_nodes_two_grouped() {
    let mm = four_nodes_with_group();
    for (n, mem_free, hp_free, noa, cells) in [
        (0, 0, 0, 2, vec![0, 1]),
        (1, GI, 0, 2, vec![0, 1]),
        (2, 1536 * MI, 2 * GI, 0, vec![2]),
        (3, 1536 * MI, 2 * GI, 0, vec![3]),
    ] {
        assert_eq!(
            (
                free(&mm, n, "memory"),
                free(&mm, n, "hugepages-1Gi"),
                node(&mm, n).number_of_assignments,
                node(&mm, n).cells.clone()
            ),
            (mem_free, hp_free, noa, cells),
            "hints[3] state of node {n}"
        );
    }
    let want = hints_of(&[
        ("memory", &["2:T", "3:T", "23:F"]),
        ("hugepages-1Gi", &["2:T", "3:T", "23:F"]),
    ]);
    assert_eq!(
        mm.hints(&req(&[("memory", GI), ("hugepages-1Gi", GI)])),
        want,
        "hints[3]"
    );
}

/// Two nodes of 2Gi allocatable memory and 16 × 2Mi pages; a first pod of 3Gi memory and
/// 48Mi of hugepages on {0,1} leaves exactly `hints[4]`'s state.
fn two_nodes_grouped() -> MemoryManager {
    let nodes = machine(&[
        (0, 2 * GI + 32 * MI + 512 * MI, &[(2 * MI, 16)]),
        (1, 2 * GI + 32 * MI + 512 * MI, &[(2 * MI, 16)]),
    ]);
    let mut mm = MemoryManager::new(
        &nodes,
        &reserve(&[(0, "memory", 512 * MI), (1, "memory", 512 * MI)]),
    )
    .unwrap();
    mm.allocate(
        &req(&[("memory", 3 * GI), ("hugepages-2Mi", 48 * MI)]),
        hint(&[0, 1], true),
    )
    .unwrap();
    mm
}

#[test]
fn hints_4_two_nodes_grouped() {
    let mm = two_nodes_grouped();
    assert_eq!((free(&mm, 0, "memory"), free(&mm, 0, "hugepages-2Mi")), (0, 0));
    assert_eq!(
        (free(&mm, 1, "memory"), free(&mm, 1, "hugepages-2Mi")),
        (GI, 16 * MI)
    );
    assert_eq!(node(&mm, 0).cells, vec![0, 1]);
    assert!(node(&mm, 1).number_of_assignments > 0);
    let want = hints_of(&[("memory", &["01:F"]), ("hugepages-2Mi", &["01:F"])]);
    assert_eq!(
        mm.hints(&req(&[("memory", GI), ("hugepages-2Mi", 16 * MI)])),
        want,
        "hints[4]"
    );
}

#[test]
fn allocate_0_burstable() {
    let mut mm = one_node();
    let before = mm.clone();
    let p = pod("p", false, &[("c", ContainerKind::App, &[("memory", GI)])]);
    assert_eq!(mm.allocate_container(&p, 0, NO_HINT), Ok(vec![]), "allocate[0]");
    assert_eq!(mm, before, "allocate[0]: no change");
}

#[test]
fn allocate_1_container_already_has_blocks() {
    let mut mm = one_node();
    let p = pod("p", true, &[("c", ContainerKind::App, &[("memory", GI)])]);
    mm.allocate_container(&p, 0, NO_HINT).unwrap();
    let before = mm.clone();
    assert_eq!(mm.allocate_container(&p, 0, NO_HINT), Ok(vec![]), "allocate[1]");
    assert_eq!(mm, before, "allocate[1]: no change");
}

#[test]
fn allocate_2_default_hint() {
    let mut mm = one_node();
    let p = pod(
        "p",
        true,
        &[("c", ContainerKind::App, &[("memory", GI), ("hugepages-1Gi", GI)])],
    );
    let taken = mm.allocate_container(&p, 0, NO_HINT).unwrap();
    assert_eq!(
        taken,
        vec![(0, "hugepages-1Gi".to_owned(), GI), (0, "memory".to_owned(), GI)]
    );
    assert_eq!(
        mm.blocks("p", "c").unwrap(),
        &[
            Block {
                numa_affinity: vec![0],
                resource: "hugepages-1Gi".into(),
                size: GI
            },
            Block {
                numa_affinity: vec![0],
                resource: "memory".into(),
                size: GI
            },
        ],
        "allocate[2] blocks"
    );
    let n = node(&mm, 0);
    assert_eq!(
        (
            free(&mm, 0, "memory"),
            free(&mm, 0, "hugepages-1Gi"),
            n.number_of_assignments,
            n.cells.clone()
        ),
        (512 * MI, 0, 2, vec![0]),
        "allocate[2] state"
    );
    assert_eq!(n.memory_map["memory"].reserved, GI);
}

#[test]
fn allocate_3_not_enough_allocatable() {
    let mut mm = one_node();
    let e = mm.allocate(&req(&[("memory", 10 * GI)]), NO_HINT).unwrap_err();
    assert_eq!(
        e.to_string(),
        "[memorymanager] failed to get the default NUMA affinity, no NUMA nodes with enough memory is available",
        "allocate[3]"
    );
    assert_eq!(e.reason(), "UnexpectedAdmissionError");
}

#[test]
fn allocate_4_default_hint_not_preferred() {
    // hints[4]'s machine: the only hint left is {0,1}, not preferred (capacity says 1 node)
    let mut mm = two_nodes_grouped();
    let r = req(&[("memory", GI), ("hugepages-2Mi", 16 * MI)]);
    let preferred_nil = TopologyHint {
        affinity: None,
        preferred: true,
    };
    let e = mm.allocate(&r, preferred_nil).unwrap_err();
    assert_eq!(
        e.to_string(),
        "[memorymanager] failed to find the default preferred hint",
        "allocate[4]"
    );
    // the same with a non-preferred nil hint (policy none) lands on the group
    let taken = mm.allocate(&r, NO_HINT).unwrap();
    assert_eq!(
        taken,
        vec![
            (1, "hugepages-2Mi".to_owned(), 16 * MI),
            (1, "memory".to_owned(), GI)
        ]
    );
    assert_eq!(node(&mm, 0).number_of_assignments, 4);
}

#[test]
fn allocate_5_cannot_extend() {
    // three nodes of 2Gi; a first pod of 3Gi on {1,2} groups them; 3Gi more with hint {0}
    // cannot fit on node 0 and no mask over node 0 respects the group
    let nodes = machine(&[
        (0, 2 * GI + 256 * MI, &[]),
        (1, 2 * GI + 256 * MI, &[]),
        (2, 2 * GI + 256 * MI, &[]),
    ]);
    let reserved = reserve(&[
        (0, "memory", 256 * MI),
        (1, "memory", 256 * MI),
        (2, "memory", 256 * MI),
    ]);
    let mut mm = MemoryManager::new(&nodes, &reserved).unwrap();
    mm.allocate(&req(&[("memory", 3 * GI)]), hint(&[1, 2], true))
        .unwrap();
    assert_eq!(
        (node(&mm, 1).cells.clone(), node(&mm, 2).cells.clone()),
        (vec![1, 2], vec![1, 2])
    );
    let e = mm
        .allocate(&req(&[("memory", 3 * GI)]), hint(&[0], false))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "[memorymanager] failed to find NUMA nodes to extend the current topology hint",
        "allocate[5]"
    );
}

#[test]
fn remove_0_single_node_block() {
    let mut mm = one_node();
    let fresh = mm.clone();
    let p = pod(
        "p",
        true,
        &[("c", ContainerKind::App, &[("memory", GI), ("hugepages-1Gi", GI)])],
    );
    mm.allocate_container(&p, 0, NO_HINT).unwrap();
    mm.remove_container("p", "c");
    assert_eq!(mm, fresh, "remove[0]: free restored, NoA back to 0, cells [0]");
}

#[test]
fn remove_1_cross_numa_block() {
    let mut mm = four_nodes_with_group();
    // a second container on the same group keeps it alive while the first goes
    let second = pod("q", true, &[("c", ContainerKind::App, &[("memory", 512 * MI)])]);
    mm.allocate_container(&second, 0, hint(&[0, 1], false)).unwrap();
    assert_eq!(free(&mm, 1, "memory"), 512 * MI);
    let first = mm
        .assignments()
        .keys()
        .find(|p| p.starts_with("anonymous-"))
        .unwrap()
        .clone();
    mm.remove_container(&first, "container");
    // 2Gi of memory go back greedily: node 0 gets its 1536Mi back, node 1 the other 512Mi
    // (though node 1 holds the second container's 512Mi, greedy release ignores that)
    assert_eq!(
        node(&mm, 0).memory_map["memory"],
        table(4 * GI, 512 * MI, 1536 * MI, 0, 1536 * MI)
    );
    assert_eq!(
        node(&mm, 1).memory_map["memory"],
        table(4 * GI, 512 * MI, 1536 * MI, 512 * MI, GI)
    );
    assert_eq!(
        (node(&mm, 0).number_of_assignments, node(&mm, 0).cells.clone()),
        (1, vec![0, 1])
    );
    mm.remove_container("q", "c");
    // the last block on {0,1}: NoA reaches 0 and the group dissolves into [0] and [1]
    for n in [0, 1] {
        assert_eq!(
            (node(&mm, n).number_of_assignments, node(&mm, n).cells.clone()),
            (0, vec![n]),
            "remove[1]"
        );
    }
    assert_eq!(
        node(&mm, 1).memory_map["memory"],
        table(4 * GI, 512 * MI, 1536 * MI, 0, 1536 * MI)
    );
}

#[test]
fn extension_to_a_wider_mask() {
    let nodes = machine(&[(0, 2 * GI + 256 * MI, &[]), (1, 2 * GI + 256 * MI, &[])]);
    let reserved = reserve(&[(0, "memory", 256 * MI), (1, "memory", 256 * MI)]);
    let mut mm = MemoryManager::new(&nodes, &reserved).unwrap();
    // 3Gi on {0}: only {0,1} has the capacity, and it is preferred (narrowest that fits)
    let a = mm
        .allocate_detailed(&req(&[("memory", 3 * GI)]), hint(&[0], true))
        .unwrap();
    assert_eq!(
        a.taken,
        vec![(0, "memory".to_owned(), 2 * GI), (1, "memory".to_owned(), GI)]
    );
    assert_eq!(
        a.blocks,
        vec![Block {
            numa_affinity: vec![0, 1],
            resource: "memory".into(),
            size: 3 * GI
        }]
    );
    assert_eq!(a.pod_uid, "anonymous-0");
    assert_eq!(
        mm.blocks("anonymous-0", ANONYMOUS_CONTAINER).unwrap(),
        a.blocks.as_slice()
    );
    assert_eq!(node(&mm, 1).cells, vec![0, 1]);
}

#[test]
fn extension_must_stay_preferred() {
    // three nodes of 2Gi; {0,1} grouped with 512Mi + 2Gi free; 1Gi on a preferred {0} extends
    // only to the non-preferred {0,1}
    let nodes = machine(&[
        (0, 2 * GI + 256 * MI, &[]),
        (1, 2 * GI + 256 * MI, &[]),
        (2, 2 * GI + 256 * MI, &[]),
    ]);
    let reserved = reserve(&[
        (0, "memory", 256 * MI),
        (1, "memory", 256 * MI),
        (2, "memory", 256 * MI),
    ]);
    let mut mm = MemoryManager::new(&nodes, &reserved).unwrap();
    mm.allocate(&req(&[("memory", 1536 * MI)]), hint(&[0, 1], true))
        .unwrap();
    assert_eq!(
        (free(&mm, 0, "memory"), free(&mm, 1, "memory")),
        (512 * MI, 2 * GI)
    );
    assert_eq!(
        mm.hints(&req(&[("memory", GI)])),
        hints_of(&[("memory", &["2:T", "01:F"])])
    );
    let before = mm.clone();
    let e = mm
        .allocate(&req(&[("memory", GI)]), hint(&[0], true))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "[memorymanager] failed to find the extended preferred hint"
    );
    assert_eq!(mm, before);
    // not preferred: extended to the group, taken from node 0 first
    let taken = mm.allocate(&req(&[("memory", GI)]), hint(&[0], false)).unwrap();
    assert_eq!(
        taken,
        vec![
            (0, "memory".to_owned(), 512 * MI),
            (1, "memory".to_owned(), 512 * MI)
        ]
    );
    // a single node of a group may still be given a single-node block: its group is replaced
    let mut mm = before;
    let taken = mm
        .allocate(&req(&[("memory", 256 * MI)]), hint(&[0], true))
        .unwrap();
    assert_eq!(taken, vec![(0, "memory".to_owned(), 256 * MI)]);
    assert_eq!(
        (node(&mm, 0).cells.clone(), node(&mm, 1).cells.clone()),
        (vec![0], vec![0, 1])
    );
}

#[test]
fn multi_node_hint_over_a_single_numa_node_violates() {
    let nodes = machine(&[(0, 2 * GI + 256 * MI, &[]), (1, 2 * GI + 256 * MI, &[])]);
    let reserved = reserve(&[(0, "memory", 256 * MI), (1, "memory", 256 * MI)]);
    let mut mm = MemoryManager::new(&nodes, &reserved).unwrap();
    mm.allocate(&req(&[("memory", 512 * MI)]), hint(&[0], true))
        .unwrap();
    let e = mm
        .allocate(&req(&[("memory", GI)]), hint(&[0, 1], false))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "[memorymanager] preferred hint violates NUMA node allocation"
    );
    // and hints never offer {0,1} while node 0 serves single-node blocks
    assert_eq!(mm.hints(&req(&[("memory", 3 * GI)])), Some(BTreeMap::new()));
}

/// A provider with fixed hints that allocates nothing.
struct Fixed(ProviderHints);

impl HintProvider for Fixed {
    fn container_hints(&self, _: usize) -> ProviderHints {
        self.0.clone()
    }
    fn pod_hints(&self) -> ProviderHints {
        self.0.clone()
    }
    fn allocate(&mut self, _: usize, _: TopologyHint) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[test]
fn best_effort_without_alignment_groups_every_node() {
    // §4.5 consequence: CPUs want node 1, a device node 0: nothing aligns, best-effort admits
    // with all nodes, and memory is taken from node 0 upward, grouping every node
    use super::super::topology_manager::{NumaInfo, TopologyManager, effective_feature_gates};
    let tm = TopologyManager::new(
        "best-effort",
        "container",
        &BTreeMap::new(),
        &effective_feature_gates(&BTreeMap::new()),
        NumaInfo {
            nodes: vec![0, 1],
            distances: BTreeMap::new(),
        },
    )
    .unwrap();
    let nodes = machine(&[(0, 2 * GI + 256 * MI, &[]), (1, 2 * GI + 256 * MI, &[])]);
    let reserved = reserve(&[(0, "memory", 256 * MI), (1, "memory", 256 * MI)]);
    let mut mm = MemoryManager::new(&nodes, &reserved).unwrap();
    let mut cpu = Fixed(hints_of(&[("cpu", &["1:T"])]));
    let mut device = Fixed(hints_of(&[("example.com/nic", &["0:T"])]));
    for (uid, node0_free) in [("vm", GI), ("vm2", 0)] {
        let p = pod(uid, true, &[("compute", ContainerKind::App, &[("memory", GI)])]);
        let hints = tm
            .admit(
                1,
                &mut [&mut cpu, &mut device, &mut MemoryProvider::new(&mut mm, &p)],
            )
            .unwrap();
        assert_eq!(hints, vec![hint(&[0, 1], false)]);
        assert_eq!(mm.blocks(uid, "compute").unwrap()[0].numa_affinity, vec![0, 1]);
        assert_eq!(
            (free(&mm, 0, "memory"), free(&mm, 1, "memory")),
            (node0_free, 2 * GI)
        );
        assert_eq!(
            (node(&mm, 0).cells.clone(), node(&mm, 1).cells.clone()),
            (vec![0, 1], vec![0, 1])
        );
    }
}

#[test]
fn restricted_rejects_when_memory_cannot_align() {
    use super::super::topology_manager::{NumaInfo, TopologyManager};
    let tm = TopologyManager::new(
        "restricted",
        "pod",
        &BTreeMap::new(),
        &BTreeSet::new(),
        NumaInfo {
            nodes: vec![0, 1],
            distances: BTreeMap::new(),
        },
    )
    .unwrap();
    let mut mm = two_nodes_grouped();
    let p = pod("vm", true, &[("compute", ContainerKind::App, &[("memory", GI)])]);
    let e = tm
        .admit(1, &mut [&mut MemoryProvider::new(&mut mm, &p)])
        .unwrap_err();
    assert_eq!(e.reason(), "TopologyAffinityError");
}

#[test]
fn reserved_memory_validation() {
    let e = MemoryManager::new(&machine(&[(0, 3 * GI, &[])]), &reserve(&[(1, "memory", GI)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the reserved memory configuration references a NUMA node 1 that does not exist on this machine"
    );
    let reserved = reserve(&[(0, "memory", GI), (1, "hugepages-1Gi", GI)]);
    assert_eq!(
        validate_reserved_memory(&[0], &reserved, &BTreeMap::new()),
        Err(MemoryManagerError::UnknownReservedNode(1))
    );
    let e =
        validate_reserved_memory(&[0, 1], &reserved, &req(&[("memory", 1536 * MI), ("cpu", 1)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the total amount \"1Gi\" of type \"hugepages-1Gi\" is not equal to the value \"0\" determined by Node Allocatable feature"
    );
    let e = validate_reserved_memory(
        &[0, 1],
        &reserved,
        &req(&[("memory", 1536 * MI), ("hugepages-1Gi", GI)]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the total amount \"1Gi\" of type \"memory\" is not equal to the value \"1536Mi\" determined by Node Allocatable feature"
    );
    assert_eq!(
        validate_reserved_memory(
            &[0, 1],
            &reserved,
            &req(&[("memory", GI), ("hugepages-1Gi", GI), ("cpu", 2)])
        ),
        Ok(())
    );
    let e = MachineState::new(&machine(&[(0, GI, &[(GI, 1)])]), &reserve(&[(0, "memory", 1)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "reserved 1 bytes of memory on NUMA node 0 exceed the 0 bytes it has"
    );
}

#[test]
fn pod_level_requests_and_init_reuse() {
    let p = pod(
        "p",
        true,
        &[
            ("sidecar", ContainerKind::Sidecar, &[("memory", 256 * MI)]),
            ("init", ContainerKind::Init, &[("memory", GI), ("cpu", 2)]),
            ("app", ContainerKind::App, &[("memory", 512 * MI)]),
        ],
    );
    assert_eq!(p.pod_requests(), req(&[("memory", 1280 * MI)]));

    // assumed reuse model (see allocate_container): the app takes the init container's memory
    let mut mm = one_node();
    let p = pod(
        "p",
        true,
        &[
            ("init", ContainerKind::Init, &[("memory", GI)]),
            ("app", ContainerKind::App, &[("memory", 1280 * MI)]),
        ],
    );
    assert_eq!(
        mm.allocate_container(&p, 0, NO_HINT).unwrap(),
        vec![(0, "memory".to_owned(), GI)]
    );
    // 1280Mi > 512Mi free, but 1Gi of it is reusable on {0}
    assert_eq!(mm.container_hints(&p, 1), hints_of(&[("memory", &["0:T"])]));
    assert_eq!(
        mm.allocate_container(&p, 1, NO_HINT).unwrap(),
        vec![(0, "memory".to_owned(), 256 * MI)]
    );
    assert_eq!(free(&mm, 0, "memory"), 256 * MI);
    assert_eq!(node(&mm, 0).number_of_assignments, 2);
}

#[test]
fn quantity_overflow() {
    let mut mm = one_node();
    let r = req(&[("memory", u64::MAX)]);
    assert_eq!(mm.hints(&r), None);
    assert_eq!(
        mm.allocate(&r, NO_HINT),
        Err(MemoryManagerError::QuantityOverflow)
    );
    assert_eq!(
        MemoryManagerError::QuantityOverflow.to_string(),
        "[memorymanager] failed to represent quantity as int64"
    );
}

#[test]
fn checkpoint_wire_format() {
    let text = r#"{"policyName":"Static","machineState":{"0":{"numberOfAssignments":2,"memoryMap":{"hugepages-1Gi":{"total":1073741824,"systemReserved":0,"allocatable":1073741824,"reserved":1073741824,"free":0},"memory":{"total":3221225472,"systemReserved":536870912,"allocatable":1610612736,"reserved":1073741824,"free":536870912}},"cells":[0]}},"entries":{"pod-uid":{"compute":[{"numaAffinity":[0],"type":"hugepages-1Gi","size":1073741824},{"numaAffinity":[0],"type":"memory","size":1073741824}]}},"checksum":1234567890}"#;
    let cp = MemoryManagerCheckpoint::parse(text).unwrap();
    assert_eq!(cp.checksum, 1_234_567_890);
    let mm = MemoryManager::start(
        &machine(&[(0, 3 * GI, &[(GI, 1)])]),
        &reserve(&[(0, "memory", 512 * MI)]),
        &cp,
    )
    .unwrap();
    assert_eq!(mm.blocks("pod-uid", "compute").unwrap().len(), 2);
    let mut expected = one_node();
    let p = pod(
        "pod-uid",
        true,
        &[(
            "compute",
            ContainerKind::App,
            &[("memory", GI), ("hugepages-1Gi", GI)],
        )],
    );
    expected.allocate_container(&p, 0, NO_HINT).unwrap();
    assert_eq!(mm.state(), expected.state());

    let none = MemoryManagerCheckpoint::parse(
        r#"{"policyName":"None","machineState":null,"entries":null,"checksum":1}"#,
    )
    .unwrap();
    assert_eq!(
        none.to_state().unwrap_err().to_string(),
        "could not restore state from checkpoint: configured policy \"Static\" differs from state checkpoint policy \"None\""
    );
    let bad_key =
        MemoryManagerCheckpoint::parse(r#"{"policyName":"Static","machineState":{"x":{}}}"#).unwrap();
    assert_eq!(
        bad_key.to_state().unwrap_err(),
        MemoryManagerError::CheckpointNodeKey("x".into())
    );
    assert!(matches!(
        MemoryManagerCheckpoint::parse("{\"policyName\": 3}"),
        Err(MemoryManagerError::Checkpoint(_))
    ));
    let unknown_node = MemoryManagerCheckpoint::parse(
        r#"{"policyName":"Static","machineState":{"0":{}},"entries":{"p":{"c":[{"numaAffinity":[3],"type":"memory","size":1}]}}}"#,
    )
    .unwrap();
    assert_eq!(
        MemoryManager::start(
            &machine(&[(0, 3 * GI, &[])]),
            &reserve(&[(0, "memory", MI)]),
            &unknown_node
        )
        .unwrap_err()
        .to_string(),
        "[memorymanager] (pod: p, container: c) the memory assignment uses the NUMA that does not exist"
    );
}

#[test]
fn names_and_host_reading() {
    assert_eq!(hugepage_resource(2 * MI), "hugepages-2Mi");
    assert_eq!(hugepage_resource(GI), "hugepages-1Gi");
    assert_eq!(hugepage_resource(64 << 10), "hugepages-64Ki");
    assert!(
        is_memory_resource("hugepages-2Mi") && is_memory_resource("memory") && !is_memory_resource("cpu")
    );
    assert_eq!(
        MemoryManagerPolicy::parse("Static"),
        Ok(MemoryManagerPolicy::Static)
    );
    assert_eq!(
        MemoryManagerPolicy::parse("static").unwrap_err().to_string(),
        "unknown policy: \"static\""
    );
    let host = crate::topology::examples::example("dual-socket").unwrap_or_else(|e| panic!("{e}"));
    let nodes = nodes_from_host(&host);
    assert_eq!(nodes.keys().copied().collect::<Vec<_>>(), vec![0, 1]);
}
