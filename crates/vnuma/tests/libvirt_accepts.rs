//! Every domain XML vnuma renders is one libvirt accepts: `virt-xml-validate` (the RNG
//! schema) and `virsh -c test:///default define` (libvirt's own parse and semantic checks,
//! in-process, no daemon). Run for the seed VMI on every shared hwloc snapshot that has NUMA
//! nodes, with a cpuset spread across nodes, and for the catalogue shapes.
//! `.ci/run` installs libvirt-clients and libxml2-utils; without them this test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::path::Path;
use std::process::Command;

use support::{fixtures_dir, fsroot};
use vnuma::plan::{GuestPlan, PlanOptions, plan};
use vnuma::render::libvirt::domain_xml;
use vnuma::topology::HostTopology;
use vnuma::topology::sysfs::read_sysfs;
use vnuma::vmi::input::{Source, read_vmi};
use vnuma::vmi::{ClusterConfig, admission, defaults};

fn seed() -> vnuma::vmi::Vmi {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut vmi = read_vmi(
        Source {
            origin: "seed.yaml",
            text: &text,
        },
        &[],
        None,
    )
    .unwrap();
    defaults::apply(&mut vmi, &ClusterConfig::default());
    assert_eq!(admission::validate(&vmi, &ClusterConfig::default()), vec![]);
    vmi
}

/// Four CPUs taken round-robin from the nodes that have CPUs, so the cpuset spreads across
/// nodes wherever the host has several.
fn spread_cpuset(host: &HostTopology) -> Vec<u32> {
    let nodes: Vec<_> = host.nodes.iter().filter(|n| !n.cpus.is_empty()).collect();
    let mut picked = Vec::new();
    for round in 0.. {
        let before = picked.len();
        for node in &nodes {
            if let Some(cpu) = node.cpus.get(round)
                && picked.len() < 4
            {
                picked.push(cpu.0);
            }
        }
        if picked.len() == 4 || picked.len() == before {
            break;
        }
    }
    picked
}

fn check(xml: &str, what: &str, dir: &Path) {
    let file = dir.join(format!("{}.xml", what.replace(['/', ' '], "_")));
    std::fs::write(&file, xml).unwrap();
    let validate = Command::new("virt-xml-validate")
        .arg(&file)
        .output()
        .expect("virt-xml-validate (Debian libvirt-clients + libxml2-utils; .ci/run installs them)");
    assert!(
        validate.status.success(),
        "{what}: virt-xml-validate refused:\n{}{}\n{xml}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr)
    );
    let define = Command::new("virsh")
        .args(["-q", "-c", "test:///default", "define"])
        .arg(&file)
        .output()
        .expect("virsh (Debian libvirt-clients; .ci/run installs it)");
    assert!(
        define.status.success(),
        "{what}: virsh define refused:\n{}\n{xml}",
        String::from_utf8_lossy(&define.stderr)
    );
}

fn planned(host: &HostTopology, vmi: &vnuma::vmi::Vmi, cpuset: &[u32]) -> GuestPlan {
    let options = PlanOptions {
        allow_hugepage_shortfall: true,
        ..PlanOptions::default()
    };
    plan(host, vmi, cpuset, &options)
}

#[test]
fn the_seed_on_every_snapshot_with_numa_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let vmi = seed();
    let mut checked = 0;
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
    for name in names {
        let Ok(host) = read_sysfs(&fsroot(&name)) else {
            continue;
        }; // the refused one is tested elsewhere
        let cpuset = spread_cpuset(&host);
        if cpuset.len() < 4 {
            continue; // fewer than 4 CPUs: the seed cannot be pinned there at all
        }
        let p = planned(&host, &vmi, &cpuset);
        assert_eq!(p.error, None, "{name}: {:?}", p.error);
        assert_eq!(p.vcpupin.len(), 4, "{name}");
        check(&domain_xml(&p), &name, dir.path());
        checked += 1;
    }
    // 37 snapshots: one refused on purpose, five with only 2 CPUs
    assert_eq!(checked, 31, "snapshots planned");
}

#[test]
fn catalogue_shapes_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let host = vnuma::topology::examples::example("dual-socket").unwrap();
    let base = seed();
    // scenario A, scenario B, isolated emulator with even parity, supplemental IOThreads,
    // 2 threads per core, realtime, CPU hotplug sockets, 1Gi pages over three nodes
    let mut iso = base.clone();
    iso.cpu.isolate_emulator_thread = true;
    iso.annotations
        .insert(vnuma::vmi::EVEN_PARITY_ANNOTATION.into(), "true".into());
    let mut supp = base.clone();
    supp.io_threads_policy = Some("supplementalPool".into());
    supp.supplemental_pool_thread_count = Some(2);
    let mut smt = base.clone();
    smt.cpu.cores = 2;
    smt.cpu.threads = 2;
    let mut rt = base.clone();
    rt.cpu.realtime = Some(vnuma::vmi::Realtime {
        mask: Some("0-1".into()),
    });
    let mut hot = base.clone();
    hot.cpu.sockets = 2;
    hot.cpu.cores = 2;
    hot.cpu.max_sockets = 8;
    let mut auto = base.clone();
    auto.io_threads_policy = Some("auto".into());
    // a policy without any disk gives the domain no IOThreads: KubeVirt fails the conversion
    auto.disks = vec![vnuma::vmi::Disk {
        name: "rootdisk".into(),
        target: Some(vnuma::vmi::DiskTargetKind::Disk),
        bus: Some("virtio".into()),
        ..vnuma::vmi::Disk::default()
    }];
    let cases: Vec<(&str, &vnuma::vmi::Vmi, Vec<u32>)> = vec![
        ("scenario-a", &base, vec![2, 3, 18, 19]),
        ("scenario-b", &base, vec![7, 8, 23, 24]),
        ("isolated-emulator-parity", &iso, vec![2, 3, 4, 5, 18, 19]),
        ("supplemental-iothreads", &supp, vec![2, 3, 4, 5, 18, 19]),
        ("smt2", &smt, vec![7, 8, 23, 24]),
        ("realtime", &rt, vec![7, 8, 23, 24]),
        ("hotplug", &hot, vec![7, 8, 23, 24]),
        ("auto-iothreads", &auto, vec![7, 8, 23, 24]),
    ];
    for (what, vmi, cpuset) in cases {
        let p = planned(&host, vmi, &cpuset);
        assert_eq!(p.error, None, "{what}");
        check(&domain_xml(&p), what, dir.path());
    }
    let asym = vnuma::topology::examples::example("asymmetric").unwrap();
    let mut big = base.clone();
    big.memory.hugepages = Some("1Gi".into());
    big.memory.guest = Some(vnuma::vmi::Quantity::parse("4Gi").unwrap());
    let p = planned(&asym, &big, &[0, 6, 8, 16]);
    assert_eq!(p.cells.len(), 3);
    check(&domain_xml(&p), "asymmetric-1gi", dir.path());
}
