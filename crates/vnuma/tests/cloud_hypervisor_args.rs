//! Every Cloud Hypervisor command line vnuma renders means what its plan says, read back with
//! a parser of CH's option syntax (shared with the unit tests): the seed VMI on every shared
//! hwloc snapshot that can hold it, SMT guests on every snapshot with SMT-2 cores, the
//! catalogue shapes on the built-in hosts, and the `backends-and-topology.md` §4 example on
//! its real host (`32intel64-2p8co2t+8ve`), which must give the golden file built on the
//! `dual-socket` example host byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

#[path = "../src/render/cloud_hypervisor/tests/syntax.rs"]
mod syntax;

use std::path::Path;

use support::{fixtures_dir, fsroot};
use vnuma::plan::{GuestPlan, PlanOptions, plan};
use vnuma::render::cloud_hypervisor::{ChError, ChOptions, args, command_line};
use vnuma::topology::HostTopology;
use vnuma::topology::sysfs::read_sysfs;
use vnuma::vmi::input::{Source, read_vmi};
use vnuma::vmi::{ClusterConfig, Quantity, Vmi, admission, defaults};

fn seed_raw() -> Vmi {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
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

/// The cluster of the §4 example: `Stage` rollout, so explicit sockets do not turn on
/// CPU hotplug.
fn stage_rollout() -> ClusterConfig {
    ClusterConfig {
        live_update: false,
        ..ClusterConfig::default()
    }
}

fn planned(host: &HostTopology, vmi: &Vmi, cpuset: &[u32]) -> GuestPlan {
    let options = PlanOptions {
        allow_hugepage_shortfall: true,
        ..PlanOptions::default()
    };
    plan(host, vmi, cpuset, &options)
}

fn check(p: &GuestPlan, what: &str) {
    let argv = args(p, &ChOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
    syntax::check_semantics(p, &argv, what);
}

/// Snapshot names the reader accepts, sorted.
fn hosts() -> Vec<(String, HostTopology)> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
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
    names
        .into_iter()
        .filter_map(|name| {
            let host = read_sysfs(&fsroot(&name)).ok()?; // the refused one is tested elsewhere
            Some((name, host))
        })
        .collect()
}

/// `count` CPUs taken round-robin from the nodes that have CPUs, whole cores at a time when
/// `whole_cores` (a CPU with all its siblings in the node), so the cpuset spreads across nodes.
fn spread_cpuset(host: &HostTopology, count: usize, whole_cores: bool) -> Vec<u32> {
    let nodes: Vec<_> = host.nodes.iter().filter(|n| !n.cpus.is_empty()).collect();
    let mut picked: Vec<u32> = Vec::new();
    let mut next = vec![0usize; nodes.len()];
    loop {
        let before = picked.len();
        for (i, node) in nodes.iter().enumerate() {
            while let Some(cpu) = node.cpus.get(next[i]) {
                next[i] += 1;
                if picked.contains(&cpu.0) {
                    continue;
                }
                let group: Vec<u32> = if whole_cores {
                    let siblings = &host.cpu(*cpu).unwrap().siblings;
                    node.cpus
                        .iter()
                        .map(|c| c.0)
                        .filter(|c| siblings.iter().any(|s| s.0 == *c))
                        .collect()
                } else {
                    vec![cpu.0]
                };
                if picked.len() + group.len() <= count {
                    picked.extend(group);
                }
                break;
            }
        }
        if picked.len() == count || picked.len() == before {
            return picked;
        }
    }
}

#[test]
fn the_seed_on_every_snapshot() {
    let vmi = admitted(seed_raw(), &ClusterConfig::default());
    let mut checked = 0;
    for (name, host) in hosts() {
        let cpuset = spread_cpuset(&host, 4, false);
        if cpuset.len() < 4 {
            continue; // fewer than 4 CPUs: the seed cannot be pinned there at all
        }
        let p = planned(&host, &vmi, &cpuset);
        assert_eq!(p.error, None, "{name}: {:?}", p.error);
        check(&p, &name);
        checked += 1;
    }
    // the same count as tests/libvirt_accepts.rs: 37 snapshots, one refused, five too small
    assert_eq!(checked, 31, "snapshots planned");
}

#[test]
fn smt_guests_on_every_snapshot_with_smt2_cores() {
    let mut vmi = seed_raw();
    vmi.cpu.sockets = 2;
    vmi.cpu.cores = 2;
    vmi.cpu.threads = 2;
    vmi.memory.guest = Some(Quantity::parse("4Gi").unwrap());
    let stage = admitted(vmi.clone(), &stage_rollout());
    let hotplug = admitted(vmi, &ClusterConfig::default());
    assert_eq!(hotplug.cpu.max_sockets, 8);
    let mut checked = Vec::new();
    for (name, host) in hosts() {
        let smt2 = host
            .nodes
            .iter()
            .flat_map(|n| &n.cpus)
            .all(|c| host.cpu(*c).unwrap().siblings.len() == 2);
        let cpuset = spread_cpuset(&host, 8, true);
        if !smt2 || cpuset.len() < 8 {
            continue;
        }
        for (what, vmi) in [("stage", &stage), ("hotplug", &hotplug)] {
            let p = planned(&host, vmi, &cpuset);
            assert_eq!(p.error, None, "{name} {what}: {:?}", p.error);
            assert_eq!(p.vcpupin.len(), 8, "{name} {what}");
            if what == "hotplug" {
                // KubeVirt's cells hold the boot vCPUs only; CH refuses the other slots.
                assert_eq!(
                    args(&p, &ChOptions::default()),
                    Err(ChError::HotplugSlotsInNoCell { slots: "8-31".into() }),
                    "{name}"
                );
            } else {
                check(&p, &format!("{name} {what}"));
            }
        }
        checked.push(name);
    }
    assert!(checked.len() >= 3, "SMT-2 snapshots checked: {checked:?}");
}

#[test]
fn catalogue_shapes_on_the_built_in_hosts() {
    let host = vnuma::topology::examples::example("dual-socket").unwrap();
    let base = admitted(seed_raw(), &ClusterConfig::default());
    let mut iso = base.clone();
    iso.cpu.isolate_emulator_thread = true;
    let mut smt = base.clone();
    smt.cpu.cores = 2;
    smt.cpu.threads = 2;
    let mut hot = base.clone();
    hot.cpu.sockets = 2;
    hot.cpu.cores = 2;
    hot.cpu.max_sockets = 8;
    let mut no_passthrough = base.clone();
    no_passthrough.cpu.passthrough = false;
    let mut hot_no_passthrough = hot.clone();
    hot_no_passthrough.cpu.passthrough = false;
    let mut no_hugepages = no_passthrough.clone();
    no_hugepages.memory.hugepages = None;
    let cases: Vec<(&str, &Vmi, Vec<u32>)> = vec![
        ("scenario-a", &base, vec![2, 3, 18, 19]),
        ("scenario-b", &base, vec![7, 8, 23, 24]),
        ("isolated-emulator", &iso, vec![2, 3, 4, 5, 18, 19]),
        ("smt2", &smt, vec![7, 8, 23, 24]),
        ("hotplug-no-cells", &hot_no_passthrough, vec![7, 8, 23, 24]),
        ("no-passthrough", &no_passthrough, vec![7, 8, 23, 24]),
        ("no-hugepages", &no_hugepages, vec![7, 8, 23, 24]),
    ];
    for (what, vmi, cpuset) in cases {
        let p = planned(&host, vmi, &cpuset);
        assert_eq!(p.error, None, "{what}");
        check(&p, what);
    }
    // Hotplug with cells: the slots 4-15 are in no cell, which CH refuses.
    let p = planned(&host, &hot, &[7, 8, 23, 24]);
    assert_eq!(
        args(&p, &ChOptions::default()),
        Err(ChError::HotplugSlotsInNoCell { slots: "4-15".into() })
    );
    let asym = vnuma::topology::examples::example("asymmetric").unwrap();
    let mut big = base.clone();
    big.memory.hugepages = Some("1Gi".into());
    big.memory.guest = Some(Quantity::parse("4Gi").unwrap());
    let p = planned(&asym, &big, &[0, 6, 8, 16]);
    assert_eq!(p.cells.len(), 3);
    check(&p, "asymmetric-1gi");
    let argv = args(&p, &ChOptions::default()).unwrap();
    assert!(argv.iter().any(|a| a.contains("hugepage_size=1G")), "{argv:?}");
}

#[test]
fn the_spec_example_on_its_real_host_matches_the_golden_file() {
    let host = read_sysfs(&fsroot("32intel64-2p8co2t+8ve")).unwrap();
    let mut vmi = seed_raw();
    vmi.cpu.sockets = 2;
    vmi.cpu.cores = 2;
    vmi.cpu.threads = 2;
    vmi.memory.guest = Some(Quantity::parse("4Gi").unwrap());
    let vmi = admitted(vmi, &stage_rollout());
    let p = planned(&host, &vmi, &[0, 1, 16, 17, 8, 9, 24, 25]);
    assert_eq!(p.error, None);
    check(&p, "32intel64-2p8co2t+8ve");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/ch-2s2c2t.args");
    assert_eq!(
        command_line(&p, &ChOptions::default()).unwrap(),
        std::fs::read_to_string(golden).unwrap()
    );
}
