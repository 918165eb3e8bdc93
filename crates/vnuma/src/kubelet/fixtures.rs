//! The kubelet's CPU Manager test topologies (`cpumanager/policy_test.go`, plus the few defined in
//! `cpu_assignment_test.go`, `policy_static_test.go` and `topology_hints_test.go`), re-encoded
//! from the behaviour reference `kubelet.md` §5. Compiled for tests only.
//!
//! Header counts are kept exactly as upstream wrote them, including the two fixtures whose
//! headers disagree with their maps
//! ([`topo_single_socket_single_numa_per_socket_no_smt_small_uncore`]: 128 CPUs / 64 cores in
//! the header, 64 CPUs listed; [`topo_dual_socket_multi_numa_per_socket_uncore`]: core ids
//! restart at 0 on socket 1), because the policy derives per-core / per-socket / per-uncore sizes
//! from the header.

use std::collections::BTreeMap;

use super::topology::{CpuInfo, CpuTopology};

/// Header counts: CPUs, cores, sockets, NUMA nodes (0 = unset), uncore caches (0 = unset).
type Header = (usize, usize, usize, usize, usize);

/// Builds a topology from header counts and `cpu -> (core, socket, numa, uncore)`.
fn build(
    header: Header,
    cpus: impl IntoIterator<Item = u32>,
    place: impl Fn(u32) -> (u32, u32, u32, u32),
) -> CpuTopology {
    let (num_cpus, num_cores, num_sockets, num_numa_nodes, num_uncore_cache) = header;
    let details: BTreeMap<u32, CpuInfo> = cpus
        .into_iter()
        .map(|c| {
            let (core, socket, numa, uncore) = place(c);
            (
                c,
                CpuInfo {
                    numa,
                    socket,
                    core,
                    uncore,
                },
            )
        })
        .collect();
    CpuTopology {
        num_cpus,
        num_cores,
        num_sockets,
        num_numa_nodes,
        num_uncore_cache,
        details,
    }
}

/// `topoSingleSocketHT`: 1 socket, 4 cores × 2 threads; siblings (0,4) (1,5) (2,6) (3,7).
pub fn topo_single_socket_ht() -> CpuTopology {
    build((8, 4, 1, 0, 0), 0..8, |c| (c % 4, 0, 0, 0))
}

/// `topoDualSocketHT`: 2 sockets × 3 cores × 2 threads, even CPUs on socket 0; one uncore.
pub fn topo_dual_socket_ht() -> CpuTopology {
    build((12, 6, 2, 0, 1), 0..12, |c| (c % 6, c % 2, c % 2, 0))
}

/// `topoDualSocketNoHT`: 2 sockets × 4 cores, no SMT.
pub fn topo_dual_socket_no_ht() -> CpuTopology {
    build((8, 8, 2, 0, 0), 0..8, |c| (c, c / 4, c / 4, 0))
}

/// `topoTripleSocketHT`: CPUs 0-5 on socket 1, 6-11 on socket 0, 12-17 on socket 2.
pub fn topo_triple_socket_ht() -> CpuTopology {
    build((18, 9, 3, 0, 0), 0..18, |c| {
        let socket = match c {
            0..=5 => 1,
            6..=11 => 0,
            _ => 2,
        };
        (c / 2, socket, socket, 0)
    })
}

/// `topoDualSocketMultiNumaPerSocketHT`: 2 sockets × 2 NUMA × 10 cores × 2 threads
/// (socketsFirst); CPU c and c+40 are siblings.
pub fn topo_dual_socket_multi_numa_per_socket_ht() -> CpuTopology {
    build((80, 40, 2, 4, 0), 0..80, |c| {
        let b = c % 40;
        (b, b / 20, b / 10, 0)
    })
}

/// `fakeTopoMultiSocketDualSocketPerNumaHT`: 4 "sockets", 2 NUMA nodes, each NUMA spanning two
/// sockets.
pub fn fake_topo_multi_socket_dual_socket_per_numa_ht() -> CpuTopology {
    build((80, 40, 4, 2, 0), 0..80, |c| {
        let b = c % 40;
        (b, b / 10, b / 20, 0)
    })
}

/// `topoDualSocketMultiNumaPerSocketHTLarge`: 2 sockets × 4 NUMA × 16 cores × 2 threads.
pub fn topo_dual_socket_multi_numa_per_socket_ht_large() -> CpuTopology {
    build((256, 128, 2, 8, 0), 0..256, |c| {
        let b = c % 128;
        (b, b / 64, b / 16, 0)
    })
}

/// `topoQuadSocketFourWayHT` per socket: `(core id, its four CPUs)`.
const QUAD_SOCKET_FOUR_WAY: [[(u32, [u32; 4]); 18]; 4] = [
    [
        (0, [0, 169, 109, 229]),
        (1, [50, 170, 110, 230]),
        (64, [1, 25, 13, 38]),
        (65, [2, 26, 14, 39]),
        (72, [9, 33, 21, 46]),
        (73, [10, 34, 22, 47]),
        (8, [57, 177, 117, 237]),
        (9, [58, 178, 118, 238]),
        (24, [71, 191, 131, 251]),
        (25, [72, 192, 132, 252]),
        (32, [79, 199, 139, 259]),
        (33, [80, 200, 140, 260]),
        (40, [87, 207, 147, 267]),
        (41, [88, 208, 148, 268]),
        (48, [95, 215, 155, 275]),
        (49, [96, 216, 156, 276]),
        (56, [103, 223, 163, 283]),
        (57, [104, 224, 164, 284]),
    ],
    [
        (66, [3, 27, 15, 40]),
        (67, [4, 28, 16, 41]),
        (74, [11, 35, 23, 48]),
        (75, [12, 36, 24, 49]),
        (2, [51, 171, 111, 231]),
        (3, [52, 172, 112, 232]),
        (10, [59, 179, 119, 239]),
        (11, [60, 180, 120, 240]),
        (18, [65, 185, 125, 245]),
        (19, [66, 186, 126, 246]),
        (26, [73, 193, 133, 253]),
        (27, [74, 194, 134, 254]),
        (34, [81, 201, 141, 261]),
        (35, [82, 202, 142, 262]),
        (42, [89, 209, 149, 269]),
        (43, [90, 210, 150, 270]),
        (50, [97, 217, 157, 277]),
        (51, [98, 218, 158, 278]),
    ],
    [
        (68, [5, 29, 17, 42]),
        (69, [6, 30, 18, 43]),
        (4, [53, 173, 113, 233]),
        (5, [54, 174, 114, 234]),
        (12, [61, 181, 121, 241]),
        (13, [62, 182, 122, 242]),
        (20, [67, 187, 127, 247]),
        (21, [68, 188, 128, 248]),
        (28, [75, 195, 135, 255]),
        (29, [76, 196, 136, 256]),
        (36, [83, 203, 143, 263]),
        (37, [84, 204, 144, 264]),
        (44, [91, 211, 151, 271]),
        (45, [92, 212, 152, 272]),
        (52, [99, 219, 159, 279]),
        (53, [100, 220, 160, 280]),
        (60, [105, 225, 165, 285]),
        (61, [106, 226, 166, 286]),
    ],
    [
        (70, [7, 31, 19, 44]),
        (71, [8, 32, 20, 45]),
        (63, [37, 168, 108, 228]),
        (62, [107, 227, 167, 287]),
        (6, [55, 175, 115, 235]),
        (7, [56, 176, 116, 236]),
        (14, [63, 183, 123, 243]),
        (15, [64, 184, 124, 244]),
        (22, [69, 189, 129, 249]),
        (23, [70, 190, 130, 250]),
        (30, [77, 197, 137, 257]),
        (31, [78, 198, 138, 258]),
        (38, [85, 205, 145, 265]),
        (39, [86, 206, 146, 266]),
        (46, [93, 213, 153, 273]),
        (47, [94, 214, 154, 274]),
        (54, [101, 221, 161, 281]),
        (55, [102, 222, 162, 282]),
    ],
];

/// `topoQuadSocketFourWayHT`: 4 sockets × 18 cores × 4 threads, scattered numbering; NUMA id =
/// socket id, NumNUMANodes unset.
pub fn topo_quad_socket_four_way_ht() -> CpuTopology {
    let mut place = BTreeMap::new();
    for (socket, cores) in (0u32..).zip(QUAD_SOCKET_FOUR_WAY.iter()) {
        for &(core, cpus) in cores {
            for cpu in cpus {
                place.insert(cpu, (core, socket, socket, 0));
            }
        }
    }
    let cpus: Vec<u32> = place.keys().copied().collect();
    build((288, 72, 4, 0, 0), cpus, |c| {
        place.get(&c).copied().unwrap_or_default()
    })
}

/// `topoUncoreSingleSocketNoSMT`: 16 CPUs, 4 per uncore.
pub fn topo_uncore_single_socket_no_smt() -> CpuTopology {
    build((16, 16, 1, 0, 4), 0..16, |c| (c, 0, 0, c / 4))
}

/// `topoUncoreDualSocketNoSMT`: 2 sockets, all CPUs on NUMA 0, 4 per uncore.
pub fn topo_uncore_dual_socket_no_smt() -> CpuTopology {
    build((16, 16, 2, 0, 4), 0..16, |c| (c, c / 8, 0, c / 4))
}

/// `topoUncoreSingleSocketMultiNuma`: 1 socket, 2 NUMA nodes, 4 CPUs per uncore.
pub fn topo_uncore_single_socket_multi_numa() -> CpuTopology {
    build((16, 16, 1, 0, 4), 0..16, |c| (c, 0, c / 8, c / 4))
}

/// `topoUncoreSingleSocketSMT`: 8 cores × 2 threads, 2 uncores.
pub fn topo_uncore_single_socket_smt() -> CpuTopology {
    build((16, 8, 1, 0, 2), 0..16, |c| (c % 8, 0, 0, (c % 8) / 4))
}

/// `topoDualSocketSingleNumaPerSocketSMTUncore`: AMD-like, 8 cores per CCX; c and c+192 siblings.
pub fn topo_dual_socket_single_numa_per_socket_smt_uncore() -> CpuTopology {
    build((384, 192, 2, 2, 24), 0..384, |c| {
        let b = c % 192;
        (b, b / 96, b / 96, b / 8)
    })
}

/// `topoSingleSocketSingleNumaPerSocketSMTSmallUncore`: 64 cores × 2 threads, 4 cores per uncore.
pub fn topo_single_socket_single_numa_per_socket_smt_small_uncore() -> CpuTopology {
    build((128, 64, 1, 1, 16), 0..128, |c| {
        let b = c % 64;
        (b, 0, 0, b / 4)
    })
}

/// `topoSingleSocketSingleNumaPerSocketNoSMTSmallUncore`. Upstream quirk kept: the header says
/// 128 CPUs / 64 cores but only 64 CPUs are listed, so `CPUsPerCore() = 2` and
/// `CPUsPerUncore() = 8`.
pub fn topo_single_socket_single_numa_per_socket_no_smt_small_uncore() -> CpuTopology {
    build((128, 64, 1, 1, 16), 0..64, |c| (c, 0, 0, c / 4))
}

/// `topoSmallDualSocketSingleNumaPerSocketSMTUncore`.
pub fn topo_small_dual_socket_single_numa_per_socket_smt_uncore() -> CpuTopology {
    build((128, 64, 2, 2, 8), 0..128, |c| {
        let b = c % 64;
        (b, b / 32, b / 32, b / 8)
    })
}

/// `topoSmallDualSocketSingleNumaPerSocketNoSMTUncore`.
pub fn topo_small_dual_socket_single_numa_per_socket_no_smt_uncore() -> CpuTopology {
    build((64, 64, 2, 2, 8), 0..64, |c| (c, c / 32, c / 32, c / 8))
}

/// `topoLargeSingleSocketSingleNumaPerSocketSMTUncore`.
pub fn topo_large_single_socket_single_numa_per_socket_smt_uncore() -> CpuTopology {
    build((256, 128, 1, 1, 16), 0..256, |c| {
        let b = c % 128;
        (b, 0, 0, b / 8)
    })
}

/// `topoDualSocketMultiNumaPerSocketUncore`. Upstream quirk kept: core ids restart at 0 on
/// socket 1, so `CPUsInCores(id)` returns one CPU of each socket.
pub fn topo_dual_socket_multi_numa_per_socket_uncore() -> CpuTopology {
    build((192, 192, 2, 4, 24), 0..192, |c| {
        let core = if c < 96 { c } else { c - 96 };
        (core, c / 96, c / 48, c / 8)
    })
}

/// `topoDualSocketSubNumaPerSocketHTMonolithicUncore`: SNC-2, one L3 per socket.
pub fn topo_dual_socket_sub_numa_per_socket_ht_monolithic_uncore() -> CpuTopology {
    build((240, 120, 2, 4, 2), 0..240, |c| {
        let b = c % 120;
        (b, b / 60, b / 30, b / 60)
    })
}

/// `topoSingleSocketSingleNumaPerSocketPCoreHTMonolithicUncore`: 8 E-cores (CPUs 0-7) and 8
/// P-cores (CPUs 8-15) whose siblings are CPUs 16-23.
pub fn topo_single_socket_single_numa_per_socket_pcore_ht_monolithic_uncore() -> CpuTopology {
    build((24, 16, 1, 1, 1), 0..24, |c| {
        (if c < 16 { c } else { c - 8 }, 0, 0, 0)
    })
}

/// `topoLargeSingleSocketSingleNumaPerSocketUncore`: ARM-like, no SMT, 8 CPUs per uncore.
pub fn topo_large_single_socket_single_numa_per_socket_uncore() -> CpuTopology {
    build((128, 128, 1, 1, 16), 0..128, |c| (c, 0, 0, c / 8))
}

/// `topoSingleSocketSingleNumaPerSocketUncore`: Graviton-like, one uncore.
pub fn topo_single_socket_single_numa_per_socket_uncore() -> CpuTopology {
    build((64, 64, 1, 1, 1), 0..64, |c| (c, 0, 0, 0))
}

/// `topoSmallSingleSocketSingleNumaPerSocketNoSMTUncore`. Not retrieved from upstream: inferred
/// from its one test (8 CPUs per uncore, 32 CPUs, no SMT).
pub fn topo_small_single_socket_single_numa_per_socket_no_smt_uncore() -> CpuTopology {
    build((32, 32, 1, 1, 4), 0..32, |c| (c, 0, 0, c / 8))
}

/// The `topology_hints_test.go` machine: 2 sockets = 2 NUMA nodes, 3 cores × 2 threads each,
/// siblings (c, c+6), as `topology.Discover` builds it (no L3 reported: uncore = socket).
pub fn hints_machine_12() -> CpuTopology {
    build((12, 6, 2, 2, 2), 0..12, |c| {
        let core = c % 6;
        let node = core / 3;
        (core, node, node, node)
    })
}
