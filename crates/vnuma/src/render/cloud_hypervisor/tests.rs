//! The Cloud Hypervisor renderer on the worked examples (golden files), read back with a
//! parser of CH's option syntax ([`syntax`]) for what the arguments mean, and every limit it
//! refuses with its exact message.
//!
//! Golden files live in `crates/vnuma/tests/data/golden/`. After a deliberate change, rerun
//! with `UPDATE_GOLDEN=1` to rewrite them, then review the diff by hand against
//! `backends-and-topology.md` §4 before committing.

#![allow(clippy::unwrap_used)]

mod syntax;

use std::path::PathBuf;

use super::*;
use crate::plan::{Cell, Failure, FailureReason, GuestPlan, PlanOptions, plan};
use crate::vmi::input::{Source, read_vmi};
use crate::vmi::{ClusterConfig, Quantity, Vmi, admission, defaults};

/// `examples/seed.yaml` through the real input stage, before defaults.
fn seed_raw() -> Vmi {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    read_vmi(
        Source {
            origin: "seed.yaml",
            text: &text,
        },
        &[],
        None,
    )
    .unwrap()
}

fn admitted(mut vmi: Vmi, cluster: &ClusterConfig) -> Vmi {
    defaults::apply(&mut vmi, cluster);
    assert_eq!(admission::validate(&vmi, cluster), vec![]);
    vmi
}

/// The seed VMI: 4 dedicated cores, 64Mi in 2Mi pages, NUMA passthrough.
fn seed() -> Vmi {
    admitted(seed_raw(), &ClusterConfig::default())
}

/// The seed as the §4 example guest: 2 sockets × 2 cores × 2 threads, 4Gi in 2Mi pages.
/// Under KubeVirt's default `LiveUpdate` rollout, explicit sockets turn on CPU hotplug
/// (`maxSockets` 8); the §4 example has none, so its cluster uses the `Stage` strategy.
fn seed_2s2c2t(cluster: &ClusterConfig) -> Vmi {
    let mut vmi = seed_raw();
    vmi.cpu.sockets = 2;
    vmi.cpu.cores = 2;
    vmi.cpu.threads = 2;
    vmi.memory.guest = Some(Quantity::parse("4Gi").unwrap());
    admitted(vmi, cluster)
}

fn stage_rollout() -> ClusterConfig {
    ClusterConfig {
        live_update: false,
        ..ClusterConfig::default()
    }
}

fn on_dual_socket(vmi: &Vmi, cpuset: &[u32]) -> GuestPlan {
    let host = crate::topology::examples::example("dual-socket").unwrap();
    let p = plan(&host, vmi, cpuset, &PlanOptions::default());
    assert_eq!(p.error, None);
    p
}

fn scenario_a() -> GuestPlan {
    on_dual_socket(&seed(), &[2, 3, 18, 19])
}

fn scenario_b() -> GuestPlan {
    on_dual_socket(&seed(), &[7, 8, 23, 24])
}

const CPUSET_2S2C2T: [u32; 8] = [0, 1, 16, 17, 8, 9, 24, 25];

fn example_2s2c2t() -> GuestPlan {
    on_dual_socket(&seed_2s2c2t(&stage_rollout()), &CPUSET_2S2C2T)
}

/// Compares with `tests/data/golden/NAME`; with `UPDATE_GOLDEN=1` set, rewrites the file
/// first (review the diff before keeping it).
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "{} differs (UPDATE_GOLDEN=1 rewrites it; review the diff)",
        path.display()
    );
}

fn options() -> ChOptions {
    ChOptions::default()
}

#[test]
fn golden_seed_scenarios_and_the_spec_example() {
    golden(
        "ch-seed-a.args",
        &command_line(&scenario_a(), &options()).unwrap(),
    );
    golden(
        "ch-seed-b.args",
        &command_line(&scenario_b(), &options()).unwrap(),
    );
    golden(
        "ch-2s2c2t.args",
        &command_line(&example_2s2c2t(), &options()).unwrap(),
    );
}

#[test]
fn the_spec_example_exactly() {
    // backends-and-topology.md §4, with memory_zones in brackets (CH's StringList accepts
    // both) and one argument per zone and node.
    let argv = args(&example_2s2c2t(), &options()).unwrap();
    assert_eq!(
        argv,
        [
            "cloud-hypervisor",
            "--cpus",
            "boot=8,topology=2:2:1:2,affinity=[0@[0],1@[16],2@[1],3@[17],4@[8],5@[24],6@[9],7@[25]]",
            "--memory",
            "size=0",
            "--memory-zone",
            "id=mem0,size=2G,hugepages=on,hugepage_size=2M,host_numa_node=0,prefault=on",
            "id=mem1,size=2G,hugepages=on,hugepage_size=2M,host_numa_node=1,prefault=on",
            "--numa",
            "guest_numa_id=0,cpus=[0-3],distances=[1@21],memory_zones=[mem0]",
            "guest_numa_id=1,cpus=[4-7],distances=[0@21],memory_zones=[mem1]",
        ]
    );
}

#[test]
fn seed_b_reads_back_as_planned() {
    let p = scenario_b();
    let parsed = syntax::parse(&args(&p, &options()).unwrap());
    assert_eq!(parsed.binary, "cloud-hypervisor");
    assert_eq!(
        parsed.cpus,
        syntax::Cpus {
            boot: 4,
            max: None,
            topology: (1, 4, 1, 1),
            affinity: vec![(0, vec![7]), (1, vec![23]), (2, vec![8]), (3, vec![24])],
        }
    );
    assert_eq!(parsed.memory_size, 0);
    let zone = |id: &str, node| syntax::Zone {
        id: id.into(),
        size: 32 << 20,
        hugepage_size: Some(2 << 20),
        host_numa_node: Some(node),
        prefault: true,
    };
    assert_eq!(parsed.zones, vec![zone("mem0", 0), zone("mem1", 1)]);
    assert_eq!(
        parsed.numa,
        vec![
            syntax::Numa {
                id: 0,
                cpus: Some(vec![0, 1]),
                distances: Some(vec![(1, 21)]),
                memory_zones: vec!["mem0".into()],
            },
            syntax::Numa {
                id: 1,
                cpus: Some(vec![2, 3]),
                distances: Some(vec![(0, 21)]),
                memory_zones: vec!["mem1".into()],
            },
        ]
    );
}

#[test]
fn the_three_cases_mean_what_the_plans_say() {
    for (what, p) in [
        ("seed A", scenario_a()),
        ("seed B", scenario_b()),
        ("2s2c2t", example_2s2c2t()),
    ] {
        syntax::check_semantics(&p, &args(&p, &options()).unwrap(), what);
    }
}

#[test]
fn a_single_cell_has_no_distances() {
    // Scenario A's only distance is to itself, which CH ignores: `distances=` is left out.
    let argv = args(&scenario_a(), &options()).unwrap();
    assert_eq!(
        argv.last().unwrap(),
        "guest_numa_id=0,cpus=[0-3],memory_zones=[mem0]"
    );
}

#[test]
fn shapes_without_passthrough_or_hugepages_and_with_hotplug() {
    // The real pipeline with KubeVirt's default rollout: hotplug up to 8 sockets. KubeVirt's
    // cells hold the 8 boot vCPUs only, and Cloud Hypervisor refuses the 24 slots outside its
    // NUMA nodes (issue 10, item 3): refused, not rendered.
    let p = on_dual_socket(&seed_2s2c2t(&ClusterConfig::default()), &CPUSET_2S2C2T);
    assert_eq!(p.guest.max_sockets, 8);
    assert_eq!(
        args(&p, &options()).unwrap_err(),
        ChError::HotplugSlotsInNoCell { slots: "8-31".into() }
    );
    // The same guest without cells renders with its hotplug slots.
    let mut p = p;
    p.cells.clear();
    p.numatune = None;
    let argv = args(&p, &options()).unwrap();
    assert_eq!(
        argv[2],
        "boot=8,max=32,topology=2:2:1:8,affinity=[0@[0],1@[16],2@[1],3@[17],4@[8],5@[24],6@[9],7@[25]]"
    );
    syntax::check_semantics(&p, &argv, "2s2c2t with hotplug, no cells");

    // Hugepages without cells: one zone, no host node.
    let mut p = scenario_b();
    p.cells.clear();
    p.numatune = None;
    let argv = args(&p, &options()).unwrap();
    assert_eq!(
        argv[3..],
        [
            "--memory",
            "size=0",
            "--memory-zone",
            "id=mem0,size=64M,hugepages=on,hugepage_size=2M,prefault=on"
        ]
    );
    syntax::check_semantics(&p, &argv, "no cells");

    // No hugepages, no cells: plain memory.
    p.guest.page_size_bytes = None;
    let argv = args(&p, &options()).unwrap();
    assert_eq!(argv[3..], ["--memory", "size=64M"]);
    syntax::check_semantics(&p, &argv, "plain");

    // No pins at all: no affinity.
    p.vcpupin.clear();
    assert_eq!(args(&p, &options()).unwrap()[2], "boot=4,topology=1:4:1:1");

    // CPU hotplug: max and packages from maxSockets; with cells the slots 4-11 are in none,
    // which Cloud Hypervisor refuses.
    let mut p = scenario_b();
    p.guest.max_sockets = 3;
    assert_eq!(
        args(&p, &options()).unwrap_err().to_string(),
        "vcpu slots 4-11 (CPU hotplug) are in no guest NUMA cell, and cloud hypervisor refuses vcpus \
         outside its numa nodes (KubeVirt builds the cells from the boot vcpus only)"
    );
    p.cells.clear();
    p.numatune = None;
    let argv = args(&p, &options()).unwrap();
    assert_eq!(
        argv[2],
        "boot=4,max=12,topology=1:4:1:3,affinity=[0@[7],1@[23],2@[8],3@[24]]"
    );
    syntax::check_semantics(&p, &argv, "hotplug");

    // Cells without hugepages (a hand-built plan): zones still bind each cell to its node.
    let mut p = scenario_b();
    p.guest.page_size_bytes = None;
    let argv = args(&p, &options()).unwrap();
    assert_eq!(
        argv[5..8],
        [
            "--memory-zone",
            "id=mem0,size=32M,host_numa_node=0,prefault=on",
            "id=mem1,size=32M,host_numa_node=1,prefault=on"
        ]
    );
    syntax::check_semantics(&p, &argv, "cells without hugepages");

    // A pin list with several CPUs is written with ranges.
    let mut p = scenario_b();
    p.vcpupin = vec![(0, 7), (0, 8), (0, 9), (0, 23), (1, 24)];
    assert_eq!(
        args(&p, &options()).unwrap()[2],
        "boot=4,topology=1:4:1:1,affinity=[0@[7-9,23],1@[24]]"
    );
}

#[test]
fn sizes_use_the_largest_exact_suffix() {
    assert_eq!(size(0), "0");
    assert_eq!(size(1000), "1000");
    assert_eq!(size(1024), "1K");
    assert_eq!(size(2 << 20), "2M");
    assert_eq!(size(3 << 29), "1536M");
    assert_eq!(size(1 << 30), "1G");
    assert_eq!(size(64 << 30), "64G");
    assert_eq!(size(u64::MAX), u64::MAX.to_string());
    for bytes in [0, 1, 1000, 1024, 4097, 2 << 20, 3 << 29, 1 << 30, u64::MAX] {
        assert_eq!(syntax::bytes(&size(bytes)), bytes, "{bytes} reads back");
    }
}

#[test]
fn the_binary_is_an_option_and_lines_follow_the_shell_helper() {
    let text = command_line(
        &scenario_b(),
        &ChOptions {
            binary: "/usr/bin/cloud-hypervisor".into(),
        },
    )
    .unwrap();
    assert!(text.starts_with("/usr/bin/cloud-hypervisor \\\n--cpus 'boot=4,"));
    assert!(text.ends_with("memory_zones=[mem1]'\n"));
}

fn message(p: &GuestPlan) -> String {
    args(p, &options()).unwrap_err().to_string()
}

#[test]
fn a_failed_plan_is_refused() {
    let mut p = scenario_b();
    p.error = Some(Failure {
        reason: FailureReason::HugepageShortfall,
        message: "host node 1 has 3 free 2097152-byte pages, the guest needs 16".into(),
        hint: None,
    });
    assert_eq!(
        message(&p),
        "the plan cannot run (hugepage-shortfall: host node 1 has 3 free 2097152-byte pages, the guest needs 16); refusing to render it"
    );
    assert!(command_line(&p, &options()).is_err());
}

#[test]
fn at_most_two_threads_per_core_on_x86() {
    let mut p = scenario_b();
    p.guest.cores = 1;
    p.guest.threads = 4;
    assert_eq!(
        message(&p),
        "cloud hypervisor allows at most 2 threads per core on x86, the guest has 4"
    );
    // Other architectures have no such limit.
    p.architecture = "arm64".into();
    assert!(args(&p, &options()).is_ok());
}

#[test]
fn the_topology_must_hold_the_vcpus() {
    let mut p = scenario_b();
    p.guest.cores = 3;
    assert_eq!(message(&p), "topology 1:3:1:1 holds 3 vcpus but the guest has 4");
}

#[test]
fn a_zone_takes_one_host_node() {
    let mut p = scenario_b();
    p.numatune.as_mut().unwrap().memnodes = vec![(0, vec![0]), (1, vec![0])];
    assert_eq!(
        message(&p),
        "memory zone mem1 would be bound to host nodes 0-1, but a zone takes one host_numa_node"
    );
    let mut p = scenario_b();
    p.numatune.as_mut().unwrap().memnodes.push((0, vec![3]));
    assert_eq!(
        message(&p),
        "memory zone mem0 would be bound to host nodes 0,3, but a zone takes one host_numa_node"
    );
}

#[test]
fn distances_fit_a_byte() {
    let mut p = scenario_b();
    p.cells[1].distances = Some(vec![(0, 256), (1, 10)]);
    assert_eq!(
        message(&p),
        "distance 256 from guest cell 1 to guest cell 0 is above 255, which cloud hypervisor would wrap"
    );
    // 255 fits; a self distance is left out whatever its value.
    p.cells[1].distances = Some(vec![(0, 255), (1, 300)]);
    assert_eq!(
        args(&p, &options()).unwrap().last().unwrap(),
        "guest_numa_id=1,cpus=[2-3],distances=[0@255],memory_zones=[mem1]"
    );
}

#[test]
fn zones_are_whole_pages() {
    let mut p = scenario_b();
    p.cells[0].memory_bytes += 4096;
    p.cells[1].memory_bytes -= 4096;
    assert_eq!(
        message(&p),
        "memory zone mem0 size 33558528 is not a multiple of the page size 2097152"
    );
    let mut p = scenario_b();
    p.cells.clear();
    p.guest.memory_bytes = 3 << 20;
    assert_eq!(
        message(&p),
        "memory zone mem0 size 3145728 is not a multiple of the page size 2097152"
    );
    let mut p = scenario_b();
    p.guest.page_size_bytes = Some(3 << 20);
    assert_eq!(message(&p), "hugepage size 3145728 is not a power of two");
    p.guest.page_size_bytes = Some(0);
    assert_eq!(message(&p), "hugepage size 0 is not a power of two");
}

#[test]
fn every_boot_vcpu_in_exactly_one_cell() {
    let mut p = scenario_b();
    p.cells[1].vcpus = vec![2];
    assert_eq!(message(&p), "vcpu 3 is in no guest cell");

    let mut p = scenario_b();
    p.cells[1].vcpus = vec![2, 3, 4];
    assert_eq!(
        message(&p),
        "guest cell 1 lists vcpu 4, but the guest boots 4 vcpus"
    );

    let mut p = scenario_b();
    p.cells[1].vcpus = vec![1, 2, 3];
    assert_eq!(message(&p), "vcpu 1 is in guest cells 0 and 1");

    // With hotplug the cells still may not name vCPUs beyond the boot ones.
    let mut p = scenario_b();
    p.guest.max_sockets = 2;
    p.cells.push(Cell {
        id: 2,
        host_nodes: vec![1],
        vcpus: vec![4],
        memory_bytes: 0,
        distances: None,
    });
    assert_eq!(
        message(&p),
        "guest cell 2 lists vcpu 4, but the guest boots 4 vcpus"
    );
}

#[test]
fn pins_name_vcpus_the_guest_can_have() {
    let mut p = scenario_b();
    p.vcpupin.push((4, 9));
    assert_eq!(message(&p), "vcpu 4 is pinned, but the guest has at most 4 vcpus");
}
