//! The plan against KubeVirt's converter and numaMapping tests (`kubevirt-numa.md` §4.5–§4.7),
//! the worked example of §5 and the derived cases of §4.16.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use std::collections::BTreeMap;

use super::layout::GuestLayout;
use super::pool::{KvCell, KvCpu, KvTopology};
use super::*;
use crate::cpuset::CpuSet;
use crate::ids::{CpuId, NodeId};
use crate::topology::{Cpu, HostTopology, HugepagePool, Node};
use crate::vmi::{Disk, Quantity, Vmi};

fn q(text: &str) -> Option<Quantity> {
    Some(Quantity::parse(text).unwrap())
}

/// A host: cells of cores, each core a sibling list in its order (`[[1,7],[0,6]]`).
fn host(cells: &[(u32, &[&[u32]])]) -> HostTopology {
    let mut cpus = Vec::new();
    let mut nodes = Vec::new();
    for (id, cores) in cells {
        let mut node_cpus = Vec::new();
        for core in *cores {
            for &t in *core {
                node_cpus.push(CpuId(t));
                cpus.push(Cpu {
                    id: CpuId(t),
                    node: Some(NodeId(*id)),
                    socket: Some(*id),
                    die: Some(0),
                    core: Some(core[0]),
                    l3: None,
                    siblings: core.iter().map(|&c| CpuId(c)).collect(),
                    siblings_text: core.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
                    online: true,
                });
            }
        }
        nodes.push(Node {
            id: NodeId(*id),
            cpus: node_cpus,
            memory_bytes: Some(32 << 30),
            memory_free_bytes: None,
            hugepages: vec![
                HugepagePool {
                    page_size_bytes: 2 << 20,
                    total: 1024,
                    free: Some(1024),
                },
                HugepagePool {
                    page_size_bytes: 1 << 30,
                    total: 8,
                    free: Some(8),
                },
            ],
            distances: None,
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

/// One cell of one-thread cores with empty sibling lists, as the converter tests use.
fn flat_host(cpus: std::ops::RangeInclusive<u32>) -> HostTopology {
    let mut h = host(&[(0, &[])]);
    for id in cpus {
        h.nodes[0].cpus.push(CpuId(id));
        h.cpus.push(Cpu {
            id: CpuId(id),
            node: Some(NodeId(0)),
            socket: Some(0),
            die: Some(0),
            core: Some(id),
            l3: None,
            siblings: CpuSet::new(),
            siblings_text: String::new(),
            online: true,
        });
    }
    h
}

fn dedicated(sockets: u32, cores: u32, threads: u32) -> Vmi {
    let mut vmi = Vmi {
        name: "vm".into(),
        namespace: "default".into(),
        architecture: Some("amd64".into()),
        spec_path: "spec".into(),
        ..Vmi::default()
    };
    vmi.cpu.sockets = sockets;
    vmi.cpu.cores = cores;
    vmi.cpu.threads = threads;
    vmi.cpu.dedicated = true;
    vmi
}

fn seed() -> Vmi {
    let mut vmi = dedicated(0, 4, 0);
    vmi.name = "numavm".into();
    vmi.cpu.numa = true;
    vmi.cpu.passthrough = true;
    vmi.memory.present = true;
    vmi.memory.hugepages = Some("2Mi".into());
    vmi.memory.guest = q("64Mi");
    vmi.resources.requests_memory = q("64Mi");
    vmi
}

fn pins(plan: &GuestPlan) -> Vec<u32> {
    plan.vcpupin.iter().map(|p| p.1).collect()
}

fn run(host: &HostTopology, vmi: &Vmi, cpuset: &[u32]) -> GuestPlan {
    plan(host, vmi, cpuset, &PlanOptions::default())
}

fn dual_socket() -> HostTopology {
    crate::topology::examples::example("dual-socket").unwrap()
}

#[test]
fn seed_scenario_a_one_node_d02() {
    let p = run(&dual_socket(), &seed(), &[2, 3, 18, 19]);
    assert_eq!(p.error, None);
    assert_eq!(pins(&p), vec![2, 18, 3, 19]);
    assert_eq!(p.cells.len(), 1);
    assert_eq!(
        (p.cells[0].vcpus.clone(), p.cells[0].memory_bytes),
        (vec![0, 1, 2, 3], 67_108_864)
    );
    assert_eq!(p.cells[0].distances, Some(vec![(0, 10)]));
    assert_eq!(
        p.numatune,
        Some(Numatune {
            nodeset: vec![0],
            memnodes: vec![(0, vec![0])]
        })
    );
    assert!(p.hint_dedicated && p.memfd && p.allocation_immediate);
    let codes: Vec<&str> = p.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(
        codes,
        vec!["vcpus-share-core"],
        "vCPUs 0 and 1 share host core 2/18"
    );
}

#[test]
fn seed_scenario_b_two_nodes_d03() {
    let p = run(&dual_socket(), &seed(), &[7, 8, 23, 24]);
    assert_eq!(p.error, None);
    assert_eq!(pins(&p), vec![7, 23, 8, 24]);
    let cells: Vec<(u32, u32, Vec<u32>, u64)> = p
        .cells
        .iter()
        .map(|c| (c.id, c.host_node().unwrap(), c.vcpus.clone(), c.memory_bytes))
        .collect();
    assert_eq!(
        cells,
        vec![(0, 0, vec![0, 1], 33_554_432), (1, 1, vec![2, 3], 33_554_432)]
    );
    assert_eq!(p.cells[0].distances, Some(vec![(0, 10), (1, 21)]));
    assert_eq!(p.cells[1].distances, Some(vec![(0, 21), (1, 10)]));
    assert_eq!(
        p.numatune,
        Some(Numatune {
            nodeset: vec![0, 1],
            memnodes: vec![(0, vec![0]), (1, vec![1])]
        })
    );
    let verdicts: Vec<(u32, u64, u64, bool)> = p
        .hugepages
        .iter()
        .map(|v| (v.host_node, v.pages_needed, v.pages_free, v.fits))
        .collect();
    assert_eq!(verdicts, vec![(0, 16, 1024, true), (1, 16, 1024, true)]);
    // KubeVirt 1.9 and earlier: no distances
    let old = plan(
        &dual_socket(),
        &seed(),
        &[7, 8, 23, 24],
        &PlanOptions {
            kubevirt_version: KubevirtVersion::V1_9OrEarlier,
            ..PlanOptions::default()
        },
    );
    assert!(old.cells.iter().all(|c| c.distances.is_none()));
}

#[test]
fn scenario_a_with_isolated_emulator_thread_d04() {
    let mut vmi = seed();
    vmi.cpu.isolate_emulator_thread = true;
    let p = run(&dual_socket(), &vmi, &[2, 3, 4, 18, 19]);
    assert_eq!(pins(&p), vec![2, 18, 3, 19]);
    assert_eq!(p.emulatorpin, Some(vec![4]));
}

#[test]
fn uneven_split_d01_and_n8() {
    // D-01: three cells, one vCPU each, 4Gi in 1Gi pages: 2Gi, 1Gi, 1Gi
    let h = host(&[(0, &[&[0]]), (1, &[&[1]]), (2, &[&[2]])]);
    let mut vmi = dedicated(0, 3, 0);
    vmi.cpu.passthrough = true;
    vmi.memory.hugepages = Some("1Gi".into());
    vmi.memory.guest = q("4Gi");
    let p = run(&h, &vmi, &[0, 1, 2]);
    let mem: Vec<u64> = p.cells.iter().map(|c| c.memory_bytes >> 30).collect();
    assert_eq!(mem, vec![2, 1, 1]);
    assert_eq!(p.numatune.as_ref().unwrap().nodeset, vec![0, 1, 2]);
    assert_eq!(
        p.warnings.iter().filter(|w| w.code == "asymmetric-cells").count(),
        1
    );
}

/// §4.6: the shared numaMapping fixture, vcpupin 0→10, 1→20, 3→30 (vCPU 2 absent).
fn numa_fixture(extra: bool) -> (GuestPlan, KvTopology, Vmi) {
    let cell = |id, cpus: &[u32], distances: Vec<(u32, u32)>| KvCell {
        id,
        cpus: cpus
            .iter()
            .map(|&c| KvCpu {
                id: c,
                siblings: vec![c],
            })
            .collect(),
        distances,
    };
    let mut view = KvTopology {
        cells: vec![cell(0, &[10, 20], vec![]), cell(4, &[30, 50], vec![])],
    };
    let mut vcpupin = vec![(0, 10), (1, 20), (3, 30)];
    if extra {
        vcpupin.push((4, 40));
        view.cells.push(cell(5, &[40], vec![]));
    }
    let plan = GuestPlan {
        vcpupin,
        guest: Guest {
            page_size_bytes: Some(2 << 20),
            ..Guest::default()
        },
        ..GuestPlan::default()
    };
    let mut vmi = dedicated(0, 4, 0);
    vmi.cpu.passthrough = true;
    vmi.memory.guest = q("64Mi");
    vmi.memory.hugepages = Some("2Mi".into());
    (plan, view, vmi)
}

fn map(plan: &mut GuestPlan, view: &KvTopology, vmi: &Vmi) -> numa::Outcome {
    numa::map(
        plan,
        GuestLayout::Passthrough,
        vmi,
        view,
        &PlanOptions::default(),
        true,
        true,
    )
}

fn cells(plan: &GuestPlan) -> Vec<(u32, String, u64)> {
    plan.cells
        .iter()
        .map(|c| {
            (
                c.id,
                c.vcpus
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                c.memory_bytes,
            )
        })
        .collect()
}

#[test]
fn numa_mapping_catalogue() {
    // N-1: no hugepages
    let (mut p, view, mut vmi) = numa_fixture(false);
    vmi.memory.hugepages = None;
    map(&mut p, &view, &vmi);
    assert_eq!(
        p.error.unwrap().message,
        "passing through a numa topology is restricted to VMIs with hugepages enabled"
    );
    // N-2a/b: no topology: success, nothing changes
    let (mut p, _, vmi) = numa_fixture(false);
    let before = p.clone();
    let outcome = map(&mut p, &KvTopology::default(), &vmi);
    assert!(outcome.no_topology);
    assert_eq!(p, before);
    // N-3: a vCPU on a CPU in no cell
    let (mut p, view, vmi) = numa_fixture(false);
    p.vcpupin.push((4, 40));
    map(&mut p, &view, &vmi);
    assert_eq!(
        p.error.unwrap().message,
        "failed to generate numa pinning information: vcpu 4 is mapped to a not existing host cpu set 40"
    );
    // N-4: equal split
    let (mut p, view, vmi) = numa_fixture(false);
    map(&mut p, &view, &vmi);
    assert_eq!(p.error, None);
    assert_eq!(
        cells(&p),
        vec![(0, "0,1".into(), 33_554_432), (1, "3".into(), 33_554_432)]
    );
    assert_eq!(
        p.numatune,
        Some(Numatune {
            nodeset: vec![0, 4],
            memnodes: vec![(0, vec![0]), (1, vec![4])]
        })
    );
    assert!(p.allocation_immediate);
    assert_eq!(p.vcpupin, vec![(0, 10), (1, 20), (3, 30)], "cputune unchanged");
    // N-5: distances with three nodes
    let (mut p, mut view, vmi) = numa_fixture(true);
    view.cells[0].distances = vec![(0, 10), (4, 20), (5, 30)];
    view.cells[1].distances = vec![(0, 20), (4, 10), (5, 20)];
    view.cells[2].distances = vec![(0, 30), (4, 20), (5, 10)];
    map(&mut p, &view, &vmi);
    let d: Vec<Option<Vec<(u32, u32)>>> = p.cells.iter().map(|c| c.distances.clone()).collect();
    assert_eq!(
        d,
        vec![
            Some(vec![(0, 10), (1, 20), (2, 30)]),
            Some(vec![(0, 20), (1, 10), (2, 20)]),
            Some(vec![(0, 30), (1, 20), (2, 10)])
        ]
    );
    // N-6: a non-involved host node's distance is dropped
    let (mut p, mut view, vmi) = numa_fixture(false);
    view.cells[0].distances = vec![(0, 10), (2, 15), (4, 20)];
    view.cells[1].distances = vec![(0, 20), (2, 15), (4, 10)];
    map(&mut p, &view, &vmi);
    assert_eq!(p.cells[0].distances, Some(vec![(0, 10), (1, 20)]));
    assert_eq!(p.cells[1].distances, Some(vec![(0, 20), (1, 10)]));
    // N-7: not enough memory, with KubeVirt's misscaled number and, fixed, the bytes
    let (mut p, view, mut vmi) = numa_fixture(false);
    vmi.memory.guest = q("2Mi");
    assert!(map(&mut p, &view, &vmi).misscaled);
    assert_eq!(
        p.error.unwrap().message,
        "not enough memory requested to allocate at least one hugepage per numa node: {2097152 b} < 4398046511104"
    );
    let (mut p, view, _) = numa_fixture(false);
    numa::map(
        &mut p,
        GuestLayout::Passthrough,
        &vmi,
        &view,
        &PlanOptions::default(),
        true,
        false,
    );
    assert_eq!(
        p.error.unwrap().message,
        "not enough memory requested to allocate at least one hugepage per numa node: {2097152 b} < 4194304"
    );
    // N-8: 32 pages over 3 cells: 22Mi, 22Mi, 20Mi
    let (mut p, view, vmi) = numa_fixture(true);
    map(&mut p, &view, &vmi);
    assert_eq!(
        cells(&p),
        vec![
            (0, "0,1".into(), 23_068_672),
            (1, "3".into(), 23_068_672),
            (2, "4".into(), 20_971_520)
        ]
    );
    assert_eq!(
        p.numatune,
        Some(Numatune {
            nodeset: vec![0, 4, 5],
            memnodes: vec![(0, vec![0]), (1, vec![4]), (2, vec![5])]
        })
    );
    // N-9: realtime adds nosharepages
    let (mut p, view, mut vmi) = numa_fixture(false);
    vmi.cpu.realtime = Some(crate::vmi::Realtime::default());
    map(&mut p, &view, &vmi);
    assert!(p.nosharepages);
}

#[test]
fn memory_not_divisible_by_the_page() {
    let (mut p, view, mut vmi) = numa_fixture(false);
    vmi.memory.guest = Some(Quantity::parse("67108865").unwrap());
    map(&mut p, &view, &vmi);
    assert_eq!(
        p.error.unwrap().message,
        "requested memory can't be divided through the numa page size: {67108865 b} mod 2097152 != 0"
    );
}

#[test]
fn supplemental_pool_with_dedicated_cpus() {
    // §4.7: cpuset 5..12, one cell of one-thread cores with empty sibling lists
    let h = flat_host(5..=12);
    let cpuset: Vec<u32> = (5..=12).collect();
    let cases: [(u32, i64, bool, bool, &[u32], &[u32], Option<&[u32]>); 5] = [
        (2, 2, false, false, &[5, 6], &[7, 8], None),
        (2, 2, true, false, &[5, 6], &[7, 8], Some(&[9])),
        (3, 2, true, true, &[5, 6, 7], &[8, 9], Some(&[10])),
        (2, 2, true, true, &[5, 6], &[7, 8], Some(&[9, 10])),
        (1, 1, true, true, &[5], &[6], Some(&[7, 8])),
    ];
    for (vcpus, io, isolate, parity, vcpupin, iothreadpin, emulator) in cases {
        let mut vmi = dedicated(vcpus, 1, 1);
        vmi.io_threads_policy = Some("supplementalPool".into());
        vmi.supplemental_pool_thread_count = Some(io);
        vmi.cpu.isolate_emulator_thread = isolate;
        if parity {
            vmi.annotations
                .insert(crate::vmi::EVEN_PARITY_ANNOTATION.into(), String::new());
        }
        let p = run(&h, &vmi, &cpuset);
        assert_eq!(p.error, None);
        assert_eq!(pins(&p), vcpupin, "{vcpus}/{io}");
        let io_pins: Vec<u32> = p.iothreadpin.iter().map(|(_, c)| c[0]).collect();
        assert_eq!(io_pins, iothreadpin, "{vcpus}/{io}");
        assert_eq!(
            p.iothreadpin.iter().map(|t| t.0).collect::<Vec<_>>(),
            (1..=u32::try_from(io).unwrap()).collect::<Vec<_>>()
        );
        assert_eq!(p.emulatorpin.as_deref(), emulator, "{vcpus}/{io}");
    }
}

#[test]
fn isolated_emulator_thread_with_the_relaxed_pool() {
    let cases: [(u32, &[u32], bool, Result<&[u32], &str>); 6] = [
        (2, &[5, 6, 7], false, Ok(&[7])),
        (5, &[5, 6, 7, 8, 9, 10], true, Ok(&[10])),
        (6, &[5, 6, 7, 8, 9, 10, 11, 12], true, Ok(&[11, 12])),
        (
            2,
            &[5, 6],
            false,
            Err("no CPU allocated for the emulation thread: no remaining unassigned threads"),
        ),
        (
            3,
            &[5, 6, 7],
            true,
            Err("no CPU allocated for the emulation thread: no remaining unassigned threads"),
        ),
        (
            2,
            &[5, 6, 7],
            true,
            Err("no second CPU allocated for the emulation thread: no remaining unassigned threads"),
        ),
    ];
    for (cores, cpuset, parity, expected) in cases {
        let h = flat_host(cpuset[0]..=cpuset[cpuset.len() - 1]);
        let mut vmi = dedicated(1, cores, 1);
        vmi.cpu.isolate_emulator_thread = true;
        if parity {
            vmi.annotations
                .insert(crate::vmi::EVEN_PARITY_ANNOTATION.into(), "true".into());
        }
        let p = run(&h, &vmi, cpuset);
        match expected {
            Ok(emulator) => {
                assert_eq!(p.emulatorpin.as_deref(), Some(emulator), "{cores} cores");
                assert!(pins(&p).iter().all(|c| !emulator.contains(c)));
            }
            Err(message) => {
                let err = p.error.unwrap();
                assert_eq!(
                    (err.reason, err.message.as_str()),
                    (FailureReason::EmulatorThread, message)
                );
            }
        }
    }
}

#[test]
fn iothread_pins_index_into_the_cpuset() {
    let cpuset: Vec<u32> = (5..=20).collect();
    let pins16 = pinning::shared_iothread_pins(6, 16, &cpuset, None);
    let text: Vec<(u32, String)> = pins16
        .iter()
        .map(|(t, c)| {
            (
                *t,
                c.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            )
        })
        .collect();
    assert_eq!(
        text,
        vec![
            (1, "5,6,7".into()),
            (2, "8,9,10".into()),
            (3, "11,12,13".into()),
            (4, "14,15,16".into()),
            (5, "17,18".into()),
            (6, "19,20".into())
        ]
    );
    let pins2 = pinning::shared_iothread_pins(6, 2, &[5, 6], None);
    assert_eq!(
        pins2.iter().map(|(_, c)| c[0]).collect::<Vec<_>>(),
        vec![6, 5, 6, 5, 6, 5]
    );
}

#[test]
fn iothreads_with_a_dedicated_disk_and_no_policy_4_5() {
    // §4.5: 8 sockets, one dedicated-IOThread disk, cpuset 0..7, one cell of single threads
    let h = host(&[(0, &[&[0], &[1], &[2], &[3], &[4], &[5], &[6], &[7]])]);
    let mut vmi = dedicated(8, 1, 1);
    vmi.architecture = None;
    vmi.disks = vec![Disk {
        name: "rootdisk".into(),
        dedicated_io_thread: Some(true),
        ..Disk::default()
    }];
    let p = run(&h, &vmi, &(0..8).collect::<Vec<_>>());
    assert_eq!(p.error, None);
    assert_eq!(pins(&p), (0..8).collect::<Vec<_>>());
    assert_eq!(p.emulatorpin, None);
    assert!(!p.iothreadpin.is_empty());
    assert_eq!(p.iothreads, 1);
    assert_eq!(
        p.iothreadpin,
        vec![(1, (0..8).collect::<Vec<_>>())],
        "derived: IOThread 1 on 0,1,...,7"
    );
}

#[test]
fn auto_policy_shares_the_emulator_cpu() {
    let h = host(&[(0, &[&[0], &[1]])]);
    let mut vmi = dedicated(0, 1, 0);
    vmi.cpu.isolate_emulator_thread = true;
    vmi.io_threads_policy = Some("auto".into());
    vmi.disks = vec![
        Disk {
            name: "disk0".into(),
            dedicated_io_thread: None,
            ..Disk::default()
        },
        Disk {
            name: "disk1".into(),
            dedicated_io_thread: None,
            ..Disk::default()
        },
        Disk {
            name: "ded2".into(),
            dedicated_io_thread: Some(true),
            ..Disk::default()
        },
    ];
    let p = run(&h, &vmi, &[0, 1]);
    assert_eq!(p.iothreads, 2);
    assert_eq!(pins(&p), vec![0]);
    assert_eq!(p.emulatorpin, Some(vec![1]));
    assert_eq!(p.iothreadpin, vec![(1, vec![1])]);
}

#[test]
fn iothread_counts_per_policy() {
    let disks = |n_shared: usize, n_dedicated: usize| -> Vec<Disk> {
        let mut d: Vec<Disk> = (0..n_dedicated)
            .map(|i| Disk {
                name: format!("ded{i}"),
                dedicated_io_thread: Some(true),
                ..Disk::default()
            })
            .collect();
        d.push(Disk {
            name: "false".into(),
            dedicated_io_thread: Some(false),
            ..Disk::default()
        });
        d.extend((1..n_shared).map(|i| Disk {
            name: format!("s{i}"),
            dedicated_io_thread: None,
            ..Disk::default()
        }));
        d
    };
    let cases = [
        ("shared", "1", 2),
        ("shared", "2", 2),
        ("auto", "1", 2),
        ("auto", "2", 4),
        ("auto", "3", 6),
        ("auto", "4", 7),
        ("auto", "5", 7),
    ];
    for (policy, cpu, total) in cases {
        let mut vmi = dedicated(1, 1, 1);
        vmi.cpu.dedicated = false;
        vmi.io_threads_policy = Some(policy.into());
        vmi.resources.requests_cpu = q(cpu);
        vmi.disks = disks(6, 1);
        assert_eq!(pinning::iothread_count(&vmi), total, "{policy} {cpu}");
    }
    for (cpu, total) in [("1", 3), ("2", 4), ("3", 6), ("4", 6)] {
        let mut vmi = dedicated(1, 1, 1);
        vmi.io_threads_policy = Some("auto".into());
        vmi.resources.requests_cpu = q(cpu);
        let mut d = disks(4, 2);
        d.retain(|x| x.name != "false");
        d.push(Disk {
            name: "s4".into(),
            dedicated_io_thread: None,
            ..Disk::default()
        });
        vmi.disks = d;
        assert_eq!(pinning::iothread_count(&vmi), total, "auto honor {cpu}");
    }
}

#[test]
fn realtime_turns_the_pmu_off() {
    let h = host(&[(0, &[&[0], &[1], &[2]])]);
    let mut vmi = dedicated(0, 2, 0);
    vmi.cpu.realtime = Some(crate::vmi::Realtime::default());
    let p = run(&h, &vmi, &[0, 1, 2, 3, 4]);
    assert!(p.pmu_off);
    assert_eq!(pins(&p), vec![0, 1]);
    assert!(p.cells.is_empty(), "no passthrough: no NUMA");
}

#[test]
fn quirks_warn_when_they_change_the_plan_and_can_be_fixed() {
    // libvirt prints adjacent siblings as a range: KubeVirt drops it
    let mut h = host(&[(0, &[&[0, 1], &[2, 3]])]);
    for cpu in &mut h.cpus {
        cpu.siblings_text = cpu.siblings.to_string();
    }
    let mut vmi = dedicated(0, 2, 2);
    vmi.cpu.passthrough = true;
    vmi.memory.hugepages = Some("2Mi".into());
    vmi.memory.guest = q("64Mi");
    let p = run(&h, &vmi, &[0, 1, 2, 3]);
    assert_eq!(pins(&p), vec![0, 1, 2, 3]);
    // fixed: same pins here (each core still whole), so no warning
    assert!(
        p.warnings.iter().all(|w| !w.code.starts_with("kubevirt-quirk")),
        "{:?}",
        p.warnings
    );
    // with threads = 1 the dropped ranges change nothing either; with a partial core they do
    let p = run(&h, &vmi, &[0, 2, 3, 1]);
    assert_eq!(p.error, None);

    // D-05 through the plan: relaxed pool, 2x2 on three threads
    let flat = host(&[(0, &[&[0], &[1], &[2]])]);
    let vmi = dedicated(0, 2, 2);
    let p = run(&flat, &vmi, &[0, 1, 2]);
    assert_eq!(pins(&p), vec![0, 1, 2]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.code == "kubevirt-quirk:partial-core-unpinned")
    );
    let fixed = plan(
        &flat,
        &vmi,
        &[0, 1, 2],
        &PlanOptions {
            fix_quirks: true,
            ..PlanOptions::default()
        },
    );
    assert_eq!(
        fixed.error.unwrap().message,
        "not enough exclusive threads provided, could not fit 1 core(s)"
    );

    // no cells: KubeVirt pins and passes nothing through
    let empty = HostTopology {
        nodes: vec![],
        cpus: vec![],
        hugepages_global: vec![],
        allowed: None,
    };
    let p = run(&empty, &seed(), &[0, 1, 2, 3]);
    // (pinning fails first: an empty pool cannot place a core, and the cpuset is large enough,
    // so the strict pool blames cell boundaries; numaMapping's own no-topology path is N-2)
    assert_eq!(
        p.error.as_ref().map(|e| e.message.as_str()),
        Some("could not fit 4 core(s) without crossing numa cell boundaries for individual cores")
    );
}

#[test]
fn hugepage_shortfall_is_an_error_unless_allowed() {
    let mut h = dual_socket();
    h.nodes[1].hugepages[0].free = Some(8);
    let p = run(&h, &seed(), &[7, 8, 23, 24]);
    let err = p.error.clone().unwrap();
    assert_eq!(err.reason, FailureReason::HugepageShortfall);
    assert_eq!(
        err.message,
        "hugepage shortfall: host node 1 has 8 free 2Mi hugepages, the guest needs 16"
    );
    assert!(!p.hugepages[1].fits);
    let allowed = plan(
        &h,
        &seed(),
        &[7, 8, 23, 24],
        &PlanOptions {
            allow_hugepage_shortfall: true,
            ..PlanOptions::default()
        },
    );
    assert_eq!(allowed.error, None);
    assert!(allowed.warnings.iter().any(|w| w.code == "hugepage-shortfall"));
}

#[test]
fn invalid_host_distances_are_left_out() {
    let mut h = dual_socket();
    h.nodes[0].distances = Some(BTreeMap::from([(NodeId(0), 10), (NodeId(1), 10)]));
    let p = run(&h, &seed(), &[7, 8, 23, 24]);
    assert!(p.cells.iter().all(|c| c.distances.is_none()));
    let w = p.warnings.iter().find(|w| w.code == "distances-invalid").unwrap();
    assert_eq!(
        w.message,
        "host distances libvirt would reject (0->1=10): guest distances are left out"
    );
}

#[test]
fn unknown_cpus_warn_and_then_fail_with_kubevirts_error() {
    let p = run(&dual_socket(), &seed(), &[2, 3, 18, 99]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.code == "cpuset-unknown-cpus" && w.message.contains("(99)"))
    );
    // 99 counts as available (quirk 7.2), so the strict pool blames cell boundaries
    assert_eq!(
        p.error.unwrap().message,
        "could not fit 1 core(s) without crossing numa cell boundaries for individual cores"
    );
}

#[test]
fn the_invariant_checker_catches_broken_plans() {
    let host = dual_socket();
    let good = run(&host, &seed(), &[7, 8, 23, 24]);
    assert_eq!(invariants::check(&good, &host), Vec::<String>::new());
    let mut p = good.clone();
    p.vcpupin[1].1 = 7;
    p.cells[1].memory_bytes -= 1;
    p.cells[0].host_nodes = vec![1];
    let broken = invariants::check(&p, &host);
    assert_eq!(
        broken,
        vec![
            "host CPU 7 pinned to two vCPUs".to_string(),
            "vCPU 0 of cell 0 runs on host node Some(0), not 1".to_string(),
            "vCPU 1 of cell 0 runs on host node Some(0), not 1".to_string(),
            "cells hold 67108863 bytes, the guest 67108864".to_string(),
            "cell 1 memory 33554431 is not a whole number of 2097152-byte pages".to_string(),
            "memnodes [(0, [0]), (1, [1])] disagree with the cells [(0, [1]), (1, [1])]".to_string(),
            "numatune nodeset [0, 1] is not the cells' host nodes {1}".to_string(),
        ]
    );
    let mut p = good;
    p.vcpupin.push((4, 99));
    assert!(
        invariants::check(&p, &host)
            .iter()
            .any(|b| b == "vCPU 4 pinned to CPU 99, outside the pod cpuset")
    );
}

/// Found by the `capabilities_xml` and `sysfs_tree` fuzz targets
/// (`fuzz/regressions/{capabilities_xml,sysfs_tree}/`): a CPU whose sibling list names a CPU
/// of another cell (here CPU 1 lists `2`) made the pool hold CPU 2 twice, so the emulator
/// thread shared CPU 2 with a vCPU and `plan()`'s debug check panicked. Now a pinning failure.
#[test]
fn regression_fuzz_foreign_sibling_pins_a_cpu_twice() {
    let xml = "<capabilities><host><topology><cells num='2'>\
        <cell id='0'><cpus num='2'><cpu id='0' siblings='0'/><cpu id='2' siblings='2'/></cpus></cell>\
        <cell id='1'><cpus num='2'><cpu id='1' siblings='2'/><cpu id='3' siblings='3'/></cpus></cell>\
        </cells></topology></host></capabilities>";
    let host = crate::topology::capabilities::from_capabilities_xml(xml, "caps.xml").unwrap();
    let mut vmi = Vmi {
        name: "vm".into(),
        namespace: "default".into(),
        ..Vmi::default()
    };
    vmi.cpu.sockets = 1;
    vmi.cpu.cores = 2;
    vmi.cpu.threads = 1;
    vmi.cpu.dedicated = true;
    vmi.cpu.isolate_emulator_thread = true;
    vmi.memory.guest = q("1Gi");
    let result = plan(&host, &vmi, &[0, 1, 2, 3], &PlanOptions::default());
    let error = result.error.as_ref().unwrap();
    assert_eq!(error.reason, FailureReason::Pinning);
    assert!(
        error.message.starts_with("host CPU 2 would be pinned twice"),
        "{}",
        error.message
    );
    assert_eq!(invariants::check(&result, &host), Vec::<String>::new());
}
