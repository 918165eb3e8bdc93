//! The `cpu_assignment_test.go` vectors of `kubelet.md` §6, one table per upstream test.

use super::*;
use crate::kubelet::fixtures::*;

fn set(list: &str) -> CpuSet {
    CpuSet::parse_list(list).unwrap_or_else(|e| panic!("{list:?}: {e}"))
}

/// The fixture of that upstream name.
fn topo(name: &str) -> CpuTopology {
    match name {
        "topoSingleSocketHT" => topo_single_socket_ht(),
        "topoDualSocketHT" => topo_dual_socket_ht(),
        "topoDualSocketNoHT" => topo_dual_socket_no_ht(),
        "topoTripleSocketHT" => topo_triple_socket_ht(),
        "topoDualSocketMultiNumaPerSocketHT" => topo_dual_socket_multi_numa_per_socket_ht(),
        "fakeTopoMultiSocketDualSocketPerNumaHT" => fake_topo_multi_socket_dual_socket_per_numa_ht(),
        "topoDualSocketMultiNumaPerSocketHTLarge" => topo_dual_socket_multi_numa_per_socket_ht_large(),
        "topoQuadSocketFourWayHT" => topo_quad_socket_four_way_ht(),
        "topoUncoreSingleSocketNoSMT" => topo_uncore_single_socket_no_smt(),
        "topoUncoreDualSocketNoSMT" => topo_uncore_dual_socket_no_smt(),
        "topoUncoreSingleSocketMultiNuma" => topo_uncore_single_socket_multi_numa(),
        "topoUncoreSingleSocketSMT" => topo_uncore_single_socket_smt(),
        other => panic!("no fixture {other}"),
    }
}

#[test]
fn fixtures_are_consistent() {
    let quad = topo_quad_socket_four_way_ht();
    assert_eq!(quad.details.len(), 288);
    assert_eq!(
        quad.details.keys().copied().collect::<Vec<_>>(),
        (0..288).collect::<Vec<_>>()
    );
    assert_eq!(quad.details.cores().len(), 72);
    // the two fixtures whose header disagrees with the map
    let no_smt = topo_single_socket_single_numa_per_socket_no_smt_small_uncore();
    assert_eq!(
        (
            no_smt.details.len(),
            no_smt.cpus_per_core(),
            no_smt.cpus_per_uncore()
        ),
        (64, 2, 8)
    );
    let dup = topo_dual_socket_multi_numa_per_socket_uncore();
    assert_eq!(dup.details.cpus_in_cores(&[5]), set("5,101"));
}

#[test]
fn free_sockets() {
    let cases: &[(&str, &str, &[u32])] = &[
        ("topoSingleSocketHT", "0-7", &[0]),
        ("topoSingleSocketHT", "1-7", &[]),
        ("topoDualSocketHT", "0-11", &[0, 1]),
        ("topoDualSocketHT", "0-9,11", &[1]),
        ("topoDualSocketHT", "0,2-9,11", &[]),
        ("topoDualSocketMultiNumaPerSocketHT", "0-79", &[0, 1]),
        ("topoDualSocketMultiNumaPerSocketHT", "1-79", &[1]),
        ("topoDualSocketMultiNumaPerSocketHT", "1-78", &[]),
        ("fakeTopoMultiSocketDualSocketPerNumaHT", "0-79", &[0, 1, 2, 3]),
        ("fakeTopoMultiSocketDualSocketPerNumaHT", "0-19,21-79", &[0, 1, 3]),
        ("fakeTopoMultiSocketDualSocketPerNumaHT", "0-59,61-78", &[0, 1]),
        (
            "fakeTopoMultiSocketDualSocketPerNumaHT",
            "1-19,21-38,41-60,61-78",
            &[1],
        ),
        (
            "fakeTopoMultiSocketDualSocketPerNumaHT",
            "0-40,42-49,51-68,71-79",
            &[],
        ),
    ];
    for &(name, avail, want) in cases {
        let t = topo(name);
        let mut got = CpuAccumulator::new(&t, &set(avail), 0).free_sockets();
        got.sort_unstable();
        assert_eq!(got, want, "freeSockets {name} avail {avail}");
    }
}

#[test]
fn free_numa_nodes() {
    let cases: &[(&str, &str, &[u32])] = &[
        ("topoSingleSocketHT", "0-7", &[0]),
        ("topoSingleSocketHT", "1-7", &[]),
        ("topoDualSocketHT", "0-11", &[0, 1]),
        ("topoDualSocketHT", "0-9,11", &[1]),
        ("topoDualSocketHT", "0,2-9,11", &[]),
        ("topoDualSocketMultiNumaPerSocketHT", "0-79", &[0, 1, 2, 3]),
        ("topoDualSocketMultiNumaPerSocketHT", "1-79", &[1, 2, 3]),
        ("topoDualSocketMultiNumaPerSocketHT", "1-9,11-79", &[2, 3]),
        ("topoDualSocketMultiNumaPerSocketHT", "1-9,11-59,61-79", &[3]),
        ("topoDualSocketMultiNumaPerSocketHT", "1-9,11-59,61-78", &[]),
        ("fakeTopoMultiSocketDualSocketPerNumaHT", "0-79", &[0, 1]),
        ("fakeTopoMultiSocketDualSocketPerNumaHT", "0-9,11-79", &[1]),
        ("fakeTopoMultiSocketDualSocketPerNumaHT", "0-9,11-59,61-79", &[]),
    ];
    for &(name, avail, want) in cases {
        let t = topo(name);
        let got = CpuAccumulator::new(&t, &set(avail), 0).free_numa_nodes();
        assert_eq!(got, want, "freeNUMANodes {name} avail {avail}");
    }
}

#[test]
fn free_sockets_and_numa_nodes() {
    let cases: &[(&str, &[u32], &[u32])] = &[
        ("0-79", &[0, 1], &[0, 1, 2, 3]),
        ("1-79", &[1], &[1, 2, 3]),
        ("1-9,11-79", &[1], &[2, 3]),
        ("1-59,61-79", &[], &[1, 3]),
    ];
    let t = topo_dual_socket_multi_numa_per_socket_ht();
    for &(avail, sockets, numa) in cases {
        let acc = CpuAccumulator::new(&t, &set(avail), 0);
        let mut got_sockets = acc.free_sockets();
        got_sockets.sort_unstable();
        let mut got_numa = acc.free_numa_nodes();
        got_numa.sort_unstable();
        assert_eq!(
            (got_sockets.as_slice(), got_numa.as_slice()),
            (sockets, numa),
            "freeSocketsAndNUMANodes avail {avail}"
        );
    }
}

#[test]
fn free_cores() {
    let cases: &[(&str, &str, &[u32])] = &[
        ("topoSingleSocketHT", "0-7", &[0, 1, 2, 3]),
        ("topoSingleSocketHT", "0-2,4-6", &[0, 1, 2]),
        ("topoSingleSocketHT", "0-6", &[0, 1, 2]),
        ("topoSingleSocketHT", "", &[]),
        ("topoSingleSocketHT", "0-3", &[]),
        ("topoDualSocketHT", "0-11", &[0, 2, 4, 1, 3, 5]),
        ("topoDualSocketHT", "1-5,7-11", &[2, 4, 1, 3, 5]),
        ("topoDualSocketHT", "2-5,8-11", &[2, 4, 3, 5]),
    ];
    for &(name, avail, want) in cases {
        let t = topo(name);
        let got = CpuAccumulator::new(&t, &set(avail), 0).free_cores();
        assert_eq!(got, want, "freeCores {name} avail {avail}");
    }
}

#[test]
fn free_cpus() {
    let cases: &[(&str, &str, &[u32])] = &[
        ("topoSingleSocketHT", "0-7", &[0, 4, 1, 5, 2, 6, 3, 7]),
        ("topoSingleSocketHT", "3-7", &[4, 5, 6, 3, 7]),
        (
            "topoDualSocketHT",
            "0-11",
            &[0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11],
        ),
        ("topoDualSocketHT", "1-11", &[6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11]),
        ("topoDualSocketHT", "1-5,7-11", &[2, 8, 4, 10, 1, 7, 3, 9, 5, 11]),
        (
            "topoTripleSocketHT",
            "0-3,6-13",
            &[12, 13, 0, 1, 2, 3, 6, 7, 8, 9, 10, 11],
        ),
    ];
    for &(name, avail, want) in cases {
        let t = topo(name);
        let got = CpuAccumulator::new(&t, &set(avail), 0).free_cpus();
        assert_eq!(got, want, "freeCPUs {name} avail {avail}");
    }
}

#[test]
fn accumulator_take() {
    let cases: &[(&str, &[&str], usize, bool, bool)] = &[
        ("0-7", &[""], 1, false, false),
        ("", &[""], 1, false, true),
        ("0-7", &["0"], 1, true, false),
        ("0-7", &["0"], 2, false, false),
        ("0-2", &["0", "1"], 4, false, true),
        ("0-7", &["0", "1", "2", "3", "4", "5", "6", "7"], 8, true, false),
    ];
    let t = topo_single_socket_ht();
    for &(avail, takes, need, satisfied, failed) in cases {
        let mut acc = CpuAccumulator::new(&t, &set(avail), need);
        for take in takes {
            acc.take(&set(take));
        }
        assert_eq!(
            (acc.is_satisfied(), acc.is_failed()),
            (satisfied, failed),
            "accumulatorTake avail {avail} takes {takes:?} need {need}"
        );
    }
}

/// §6.2: `(topology, avail, n, Ok(want) | Err(message))`.
type Vector = (
    &'static str,
    &'static str,
    usize,
    Result<&'static str, &'static str>,
);

const COMMON: &[Vector] = &[
    (
        "topoSingleSocketHT",
        "0,2,4,6",
        5,
        Err("not enough cpus available to satisfy request: requested=5, available=4"),
    ),
    ("topoSingleSocketHT", "0-7", 0, Ok("")),
    ("topoSingleSocketHT", "0-7", 1, Ok("0")),
    ("topoSingleSocketHT", "1,3,5,6,7", 1, Ok("6")),
    ("topoSingleSocketHT", "0-7", 2, Ok("0,4")),
    ("topoSingleSocketHT", "0-7", 8, Ok("0-7")),
    ("topoSingleSocketHT", "0-3,6", 2, Ok("2,6")),
    ("topoDualSocketHT", "0-11", 6, Ok("0,2,4,6,8,10")),
    ("topoDualSocketMultiNumaPerSocketHT", "0-79", 40, Ok("0-19,40-59")),
    ("topoDualSocketMultiNumaPerSocketHT", "0-79", 20, Ok("0-9,40-49")),
    (
        "topoDualSocketMultiNumaPerSocketHT",
        "10-39,50-79",
        20,
        Ok("10-19,50-59"),
    ),
    ("topoDualSocketMultiNumaPerSocketHT", "0-79", 60, Ok("0-29,40-69")),
    (
        "topoDualSocketMultiNumaPerSocketHT",
        "1-39,41-79",
        60,
        Ok("10-39,50-79"),
    ),
];

fn check(
    label: &str,
    vectors: &[Vector],
    run: impl Fn(&CpuTopology, &CpuSet, usize) -> Result<CpuSet, TakeByTopologyError>,
) {
    for &(name, avail, n, want) in vectors {
        let t = topo(name);
        let got = run(&t, &set(avail), n);
        match want {
            Ok(want) => assert_eq!(got, Ok(set(want)), "{label} {name} avail {avail} n {n}"),
            Err(message) => assert_eq!(
                got.map_err(|e| e.to_string()),
                Err(message.to_string()),
                "{label} {name} avail {avail} n {n}"
            ),
        }
    }
}

#[test]
fn take_by_topology_common_packed() {
    check("common/packed", COMMON, |t, a, n| {
        take_by_topology_numa_packed(t, a, n, CpuSortingStrategy::Packed, false)
    });
}

#[test]
fn take_by_topology_common_distributed() {
    check("common/distributed", COMMON, |t, a, n| {
        take_by_topology_numa_distributed(t, a, n, 1, CpuSortingStrategy::Packed)
    });
}

#[test]
fn take_by_topology_packed() {
    let packed: &[Vector] = &[
        ("topoDualSocketHT", "1-5,7-11", 1, Ok("2")),
        ("topoDualSocketHT", "0-11", 8, Ok("0-2,4,6-8,10")),
        ("topoDualSocketMultiNumaPerSocketHT", "0-79", 64, Ok("0-31,40-71")),
    ];
    check("packed", packed, |t, a, n| {
        take_by_topology_numa_packed(t, a, n, CpuSortingStrategy::Packed, false)
    });
}

#[test]
fn take_by_topology_packed_uncore() {
    let packed_uncore: &[Vector] = &[
        ("topoUncoreSingleSocketNoSMT", "1-15", 10, Ok("1-2,4-11")),
        ("topoDualSocketHT", "1-5,7-11", 1, Ok("1")),
        ("topoUncoreDualSocketNoSMT", "0-15", 4, Ok("0-3")),
        ("topoUncoreDualSocketNoSMT", "2-15", 6, Ok("2-7")),
        ("topoUncoreDualSocketNoSMT", "8-15", 4, Ok("8-11")),
        ("topoUncoreSingleSocketMultiNuma", "3-8,12", 2, Ok("4-5")),
        ("topoUncoreSingleSocketSMT", "2-7,10-15", 6, Ok("4-6,12-14")),
        ("topoUncoreSingleSocketSMT", "1-7,9-15", 10, Ok("1,4-7,9,12-15")),
    ];
    check("packedUncore", packed_uncore, |t, a, n| {
        take_by_topology_numa_packed(t, a, n, CpuSortingStrategy::Packed, true)
    });
}

#[test]
fn take_by_topology_packed_spread() {
    let packed_spread: &[Vector] = &[
        ("topoSingleSocketHT", "0-7", 3, Ok("0-2")),
        ("topoDualSocketHT", "0-11", 2, Ok("0,2")),
        ("topoDualSocketHT", "0-11", 3, Ok("0,2,4")),
        ("topoDualSocketHT", "0-11", 6, Ok("0,2,4,6,8,10")),
        ("topoDualSocketHT", "0-11", 8, Ok("0-4,6,8,10")),
        ("topoDualSocketNoHT", "0-7", 2, Ok("0-1")),
        ("topoDualSocketMultiNumaPerSocketHT", "0-79", 8, Ok("0-7")),
        (
            "topoQuadSocketFourWayHT",
            "0-287",
            12,
            Ok("0-2,9-10,13-14,21-22,25-26,33"),
        ),
    ];
    check("packedSpread", packed_spread, |t, a, n| {
        take_by_topology_numa_packed(t, a, n, CpuSortingStrategy::Spread, false)
    });
}

#[test]
fn take_by_topology_distributed() {
    // (topology, avail, n, group, want)
    let cases: &[(&str, &str, usize, usize, &str)] = &[
        ("topoDualSocketHT", "0-11", 8, 1, "0-3,6-9"),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-79",
            64,
            1,
            "0-7,10-17,20-27,30-37,40-47,50-57,60-67,70-77",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-79",
            48,
            1,
            "0-7,10-17,20-27,40-47,50-57,60-67",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "1-29,32-39,41-69,72-79",
            48,
            1,
            "1-8,10-17,20-27,41-48,50-57,60-67",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "2-29,31-39,42-69,71-79",
            48,
            1,
            "10-17,20-27,31-38,50-57,60-67,71-78",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-2,10-12,20-22,30-32,40-41,50-51,60-61,70-71",
            16,
            1,
            "0-1,10-11,20-21,30-31,40-41,50-51,60-61,70-71",
        ),
        ("topoDualSocketHT", "1-5,7-11", 1, 1, "1"),
        ("topoDualSocketHT", "1-5,7-11", 1, 2, "2"),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-79",
            26,
            1,
            "0-6,10-16,40-45,50-55",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-79",
            26,
            2,
            "0-6,10-15,40-46,50-55",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-79",
            62,
            1,
            "0-7,10-17,20-27,30-37,40-47,50-57,60-66,70-76",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-79",
            62,
            2,
            "0-7,10-17,20-27,30-36,40-47,50-57,60-67,70-76",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-8,10-18,20-39,40-48,50-58,60-79",
            62,
            1,
            "0-7,10-17,20-27,30-37,40-46,50-56,60-67,70-77",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-8,10-18,20-39,40-48,50-58,60-79",
            62,
            2,
            "0-7,10-16,20-27,30-37,40-47,50-56,60-67,70-77",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHT",
            "0-3,10-13,20-23,30-36,40-43,50-53,60-63,70-76",
            34,
            1,
            "0-3,10-13,20-23,30-34,40-43,50-53,60-63,70-74",
        ),
        (
            "topoDualSocketMultiNumaPerSocketHTLarge",
            "0,30-31,43-47,62-63,75-79,94,96,101-111,126-128,158-159,171-175,190-191,203-207,222-223,229-239,254-255",
            28,
            1,
            "43-47,75-79,96,101-105,171-174,203-206,229-232",
        ),
    ];
    for &(name, avail, n, group, want) in cases {
        let t = topo(name);
        let got = take_by_topology_numa_distributed(&t, &set(avail), n, group, CpuSortingStrategy::Packed);
        assert_eq!(
            got,
            Ok(set(want)),
            "distributed {name} avail {avail} n {n} g {group}"
        );
    }
}

#[test]
fn standard_deviation_rounds_like_the_kubelet() {
    assert_eq!(standard_deviation(&[5, 5, 5, 5]), 0.0);
    assert_eq!(standard_deviation(&[4, 4, 5, 5]), 0.5);
    assert_eq!(standard_deviation(&[1, 2, 3]), 0.816);
}

#[test]
fn combinations_are_lexicographic() {
    let mut seen = Vec::new();
    for_each_combination(4, 2, |c| {
        seen.push(c.to_vec());
        true
    });
    assert_eq!(
        seen,
        vec![
            vec![0, 1],
            vec![0, 2],
            vec![0, 3],
            vec![1, 2],
            vec![1, 3],
            vec![2, 3]
        ]
    );
}
