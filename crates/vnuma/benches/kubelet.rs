//! Benchmarks (run with `cargo bench -p vnuma`): the kubelet simulation's `allocate` on a
//! 4-socket, 8-node, 512-CPU SMT-2 host, and the reschedule view on the built-in host.
//! A plain timing loop (no harness crate): each case runs a warm-up, then enough iterations to
//! fill about a second, and prints the mean time per iteration.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use vnuma::cpuset::CpuSet;
use vnuma::ids::{CpuId, NodeId};
use vnuma::kubelet::allocate::{Request, allocate};
use vnuma::kubelet::config::KubeletConfig;
use vnuma::plan::PlanOptions;
use vnuma::topology::{Cpu, HostTopology, HugepagePool, Node};

/// 4 sockets x 2 nodes x 32 cores x 2 threads = 512 CPUs; CPU n and n+256 are siblings.
fn big_host() -> HostTopology {
    let mut cpus = Vec::new();
    let mut nodes = Vec::new();
    for node in 0..8u32 {
        let socket = node / 2;
        let mut node_cpus = Vec::new();
        for core in 0..32u32 {
            let first = node * 32 + core;
            let siblings: CpuSet = [CpuId(first), CpuId(first + 256)].into_iter().collect();
            for id in [first, first + 256] {
                node_cpus.push(CpuId(id));
                cpus.push(Cpu {
                    id: CpuId(id),
                    node: Some(NodeId(node)),
                    socket: Some(socket),
                    die: Some(0),
                    core: Some(first % 64),
                    l3: Some(node),
                    siblings_text: siblings.to_string(),
                    siblings: siblings.clone(),
                    online: true,
                });
            }
        }
        node_cpus.sort();
        nodes.push(Node {
            id: NodeId(node),
            cpus: node_cpus,
            memory_bytes: Some(64 << 30),
            memory_free_bytes: None,
            hugepages: vec![HugepagePool {
                page_size_bytes: 2 << 20,
                total: 4096,
                free: Some(4096),
            }],
            distances: Some(
                (0..8)
                    .map(|o| {
                        (
                            NodeId(o),
                            if o == node {
                                10
                            } else if o / 2 == socket {
                                12
                            } else {
                                32
                            },
                        )
                    })
                    .collect(),
            ),
        });
    }
    cpus.sort_by_key(|c| c.id);
    HostTopology {
        nodes,
        cpus,
        hugepages_global: vec![],
        allowed: None,
    }
}

fn bench(name: &str, mut f: impl FnMut()) {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_secs(1) {
        f();
        n += 1;
    }
    let per = start.elapsed() / n;
    println!("{name:<60} {per:>12.2?}/iter ({n} iterations)");
}

fn main() {
    let host = big_host();
    let request = |cpus: i64| Request {
        cpu_millis: cpus * 1000,
        memory: 1 << 30,
        hugepages: BTreeMap::new(),
    };
    let default = KubeletConfig::assumed_defaults();
    let mut best_effort = KubeletConfig::assumed_defaults();
    best_effort.topology_manager_policy = "best-effort".into();
    let mut snn = KubeletConfig::assumed_defaults();
    snn.topology_manager_policy = "single-numa-node".into();
    let mut distribute = KubeletConfig::assumed_defaults();
    distribute
        .cpu_manager_policy_options
        .insert("distribute-cpus-across-numa".into(), "true".into());
    let busy = CpuSet::parse_list("1-40,256-300").unwrap();
    let existing = vnuma::kubelet::allocate::Existing {
        assigned_cpus: busy,
        memory_checkpoint: None,
    };
    for (label, config) in [
        ("static, TM none", &default),
        ("static, TM best-effort", &best_effort),
        ("static, TM single-numa-node", &snn),
        ("static, distribute-cpus-across-numa", &distribute),
    ] {
        for cpus in [4, 64, 200] {
            bench(&format!("allocate 512-CPU host, {label}, {cpus} CPUs"), || {
                black_box(allocate(&host, config, &request(cpus), &existing).unwrap());
            });
        }
    }
    let builtin = vnuma::topology::examples::example("dual-socket").unwrap();
    let mut vmi = vnuma::vmi::Vmi {
        name: "numavm".into(),
        architecture: Some("amd64".into()),
        ..Default::default()
    };
    vmi.cpu.cores = 4;
    vmi.cpu.dedicated = true;
    vmi.cpu.passthrough = true;
    vmi.memory.hugepages = Some("2Mi".into());
    vmi.memory.guest = vnuma::vmi::Quantity::parse("64Mi").ok();
    let seed_request = Request {
        cpu_millis: 4000,
        memory: 432_144_384,
        hugepages: [("hugepages-2Mi".to_string(), 64 << 20)].into_iter().collect(),
    };
    bench("reschedule view, built-in host, seed VMI, 100 samples", || {
        black_box(
            vnuma::reschedule::explore(
                &builtin,
                &default,
                &seed_request,
                &vmi,
                &PlanOptions::default(),
                100,
                1,
            )
            .unwrap(),
        );
    });
}
