//! KubeVirt's pool tests (`vcpu_test.go`), catalogue ids from `kubevirt-numa.md` §4.2–§4.4
//! and the derived cases D-05/D-06 of §4.16.

#![allow(clippy::unwrap_used)]

use super::*;

/// KubeVirt's test helper `hostTopology(cellCount, threadsPerCore, threads...)` (§4.1):
/// cores of `tpc` consecutive entries, `perCell` threads per cell, wrapping back to cell 0.
fn host_topology(cell_count: usize, tpc: usize, threads: &[u32]) -> KvTopology {
    let mut cells: Vec<KvCell> = (0..cell_count)
        .map(|i| KvCell {
            id: u32::try_from(i).unwrap(),
            ..KvCell::default()
        })
        .collect();
    let mut per_cell = threads.len() / cell_count;
    per_cell -= per_cell % tpc;
    let (mut cell, mut count) = (0, 0);
    for core in threads.chunks(tpc) {
        for &t in core {
            cells[cell].cpus.push(KvCpu {
                id: t,
                siblings: core.to_vec(),
            });
            count += 1;
        }
        if count >= per_cell {
            count = 0;
            cell = (cell + 1) % cell_count;
        }
    }
    KvTopology { cells }
}

const DEFAULT_THREADS: [u32; 12] = [1, 7, 0, 6, 2, 8, 3, 9, 4, 10, 5, 11];

fn ids(list: &str) -> Vec<u32> {
    list.split(',').map(|s| s.parse().unwrap()).collect()
}

fn fit(
    topology: &KvTopology,
    cpuset: &[u32],
    threads: usize,
    cores: usize,
    relaxed: bool,
) -> Result<Fitted, PoolError> {
    let set: BTreeSet<u32> = cpuset.iter().copied().collect();
    CpuPool::new(topology, &set, cpuset.len(), threads, cores, relaxed).fit_cores(true)
}

/// §4.2: (id, host tpc, cells, guest cores, guest threads, expected).
const POSITIVE: [(&str, usize, usize, usize, usize, &str); 27] = [
    ("P-01", 1, 1, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-02", 1, 2, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-03", 1, 3, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-04", 1, 4, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-05", 1, 1, 6, 2, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-06", 1, 2, 6, 2, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-07", 1, 3, 6, 2, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-08", 1, 1, 4, 3, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-09", 1, 2, 4, 3, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-10", 2, 1, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-11", 2, 2, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-12", 2, 3, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-13", 2, 4, 12, 1, "1,7,4,10,0,6,5,11,2,8,3,9"),
    ("P-14", 2, 1, 6, 2, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-15", 2, 2, 6, 2, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-16", 2, 3, 6, 2, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-17", 2, 1, 4, 3, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-18", 2, 2, 4, 3, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-19", 3, 1, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-20", 3, 2, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-21", 3, 3, 12, 1, "1,7,0,10,5,11,6,2,8,3,9,4"),
    ("P-22", 3, 4, 12, 1, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-23", 3, 1, 6, 2, "1,7,6,2,3,9,10,5,0,8,4,11"),
    ("P-24", 3, 2, 6, 2, "1,7,6,2,3,9,10,5,0,8,4,11"),
    ("P-25", 3, 1, 4, 3, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-26", 3, 2, 4, 3, "1,7,0,6,2,8,3,9,4,10,5,11"),
    ("P-27", 3, 3, 4, 3, "1,7,0,10,5,11,6,2,8,3,9,4"),
];

#[test]
fn generated_positive_fit_cores_both_pools() {
    let cpuset: Vec<u32> = (0..12).collect();
    for (id, host_tpc, cells, cores, threads, expected) in POSITIVE {
        let topology = host_topology(cells, host_tpc, &DEFAULT_THREADS);
        for relaxed in [true, false] {
            let got =
                fit(&topology, &cpuset, threads, cores, relaxed).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(got.threads, ids(expected), "{id} relaxed={relaxed}");
            assert_eq!(got.unpinned, 0, "{id}");
        }
    }
}

#[test]
fn relaxed_and_strict_differ() {
    let cpuset: Vec<u32> = (0..12).collect();
    let cases = [
        ("R/S-1", 1, 3, 4, 3, "1,7,0,2,8,3,4,10,5,6,9,11"),
        ("R/S-2", 2, 3, 4, 3, "1,7,0,2,8,3,4,10,5,6,9,11"),
        ("R/S-3", 3, 3, 6, 2, "1,7,10,5,6,2,3,9,0,11,8,4"),
    ];
    for (id, host_tpc, cells, cores, threads, relaxed_expected) in cases {
        let topology = host_topology(cells, host_tpc, &DEFAULT_THREADS);
        assert_eq!(
            fit(&topology, &cpuset, threads, cores, true).unwrap().threads,
            ids(relaxed_expected),
            "{id}"
        );
        let err = fit(&topology, &cpuset, threads, cores, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not fit 1 core(s) without crossing numa cell boundaries for individual cores",
            "{id}"
        );
    }
}

/// A fixed "shuffle": the pool must not care about cpuset order (§4.4 runs 10 random ones).
fn shuffled(mut v: Vec<u32>, seed: usize) -> Vec<u32> {
    let n = v.len();
    for i in 0..n {
        v.swap(i, (i * 7 + seed * 13 + 3) % n);
    }
    v
}

#[test]
fn individual_pool_tests() {
    let one_cell = host_topology(1, 2, &DEFAULT_THREADS);
    for seed in 0..10 {
        let cpuset = shuffled((0..12).collect(), seed);
        assert_eq!(
            fit(&one_cell, &cpuset, 1, 12, true).unwrap().threads,
            ids("1,7,0,6,2,8,3,9,4,10,5,11")
        );
    }
    let err = fit(&one_cell, &shuffled((0..11).collect(), 1), 1, 12, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not enough exclusive threads provided, could not fit 1 core(s)"
    );

    let two_cells = host_topology(2, 3, &[1, 7, 0, 6, 2, 8]);
    let err = fit(&two_cells, &shuffled(vec![0, 1, 2, 6, 7, 8], 2), 2, 3, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not fit 1 core(s) without crossing numa cell boundaries for individual cores"
    );
    // CPUs 3,4,5,9,10,11 are not in the topology: ignored, but counted as available
    let got = fit(&two_cells, &shuffled((0..12).collect(), 3), 2, 3, true).unwrap();
    assert_eq!(got.threads, ids("1,7,6,2,0,8"));
}

fn thread_sequence(topology: &KvTopology, cpuset: &[u32]) -> Vec<u32> {
    let set: BTreeSet<u32> = cpuset.iter().copied().collect();
    let mut pool = CpuPool::new(topology, &set, cpuset.len(), 2, 1, true);
    let mut seq = Vec::new();
    loop {
        match pool.fit_thread() {
            Ok(t) => seq.push(t),
            Err(e) => {
                assert_eq!(e.to_string(), "no remaining unassigned threads");
                return seq;
            }
        }
    }
}

#[test]
fn fit_thread_sequences() {
    let tpc1 = host_topology(2, 1, &DEFAULT_THREADS);
    assert_eq!(
        thread_sequence(&tpc1, &shuffled((0..12).collect(), 4)),
        ids("1,7,0,6,2,8,3,9,4,10,5,11")
    );
    let tpc2 = host_topology(2, 2, &DEFAULT_THREADS);
    assert_eq!(
        thread_sequence(&tpc2, &shuffled((2..12).collect(), 5)),
        ids("7,6,2,8,3,9,4,10,5,11")
    );
}

#[test]
fn derived_rounding_quirk_d05_d06() {
    let cell = KvTopology {
        cells: vec![KvCell {
            id: 0,
            cpus: (0..3)
                .map(|id| KvCpu {
                    id,
                    siblings: vec![id],
                })
                .collect(),
            distances: vec![],
        }],
    };
    // D-05: 2 cores x 2 threads on 3 threads: relaxed "succeeds" with 3 pins
    let got = fit(&cell, &[0, 1, 2], 2, 2, true).unwrap();
    assert_eq!((got.threads, got.unpinned), (vec![0, 1, 2], 1));
    assert_eq!(
        got.phases,
        vec![2, 2, 3],
        "one leftover core in phase 2, then across cells"
    );
    let err = fit(&cell, &[0, 1, 2], 2, 2, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not enough exclusive threads provided, could not fit 1 core(s)"
    );
    // D-06: 1 core x 2 threads on one thread
    let got = fit(&cell, &[0], 2, 1, true).unwrap();
    assert_eq!((got.threads, got.unpinned), (vec![0], 1));
    // with the quirk fixed, the relaxed pool reports the missing core
    let set: BTreeSet<u32> = [0, 1, 2].into_iter().collect();
    let err = CpuPool::new(&cell, &set, 3, 2, 2, true)
        .fit_cores(false)
        .unwrap_err();
    assert_eq!(err, PoolError::NotEnoughThreads(1));
}
