//! The plan's invariants over every shared hwloc snapshot: many cpusets (windows sliding over
//! the host's CPUs, whole nodes, CPUs spread round-robin) and guest shapes (the seed, 2
//! threads per core, an isolated emulator thread, 1 GiB pages), with and without the quirk
//! fixes. Every successful plan must pass `invariants::check`, and the same inputs must give
//! the same plan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::path::Path;

use support::{fixtures_dir, fsroot};
use vnuma::plan::{PlanOptions, invariants, plan};
use vnuma::topology::HostTopology;
use vnuma::topology::sysfs::read_sysfs;
use vnuma::vmi::input::{Source, read_vmi};
use vnuma::vmi::{ClusterConfig, Quantity, Vmi, defaults};

fn shapes() -> Vec<(&'static str, Vmi)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut seed = read_vmi(
        Source {
            origin: "seed.yaml",
            text: &text,
        },
        &[],
        None,
    )
    .unwrap();
    defaults::apply(&mut seed, &ClusterConfig::default());
    let mut smt = seed.clone();
    smt.cpu.cores = 2;
    smt.cpu.threads = 2;
    let mut iso = seed.clone();
    iso.cpu.isolate_emulator_thread = true;
    iso.annotations
        .insert(vnuma::vmi::EVEN_PARITY_ANNOTATION.into(), String::new());
    let mut big = seed.clone();
    big.cpu.cores = 6;
    big.memory.hugepages = Some("1Gi".into());
    big.memory.guest = Some(Quantity::parse("5Gi").unwrap());
    let mut relaxed = smt.clone();
    relaxed.cpu.passthrough = false;
    relaxed.cpu.numa = false;
    vec![
        ("seed", seed),
        ("smt2", smt),
        ("isolated", iso),
        ("1gi", big),
        ("relaxed", relaxed),
    ]
}

fn cpusets(host: &HostTopology) -> Vec<Vec<u32>> {
    let online: Vec<u32> = host
        .nodes
        .iter()
        .flat_map(|n| n.cpus.iter().map(|c| c.0))
        .collect();
    let mut sets = Vec::new();
    for width in [4, 5, 8] {
        for start in (0..online.len()).step_by(7) {
            let mut window: Vec<u32> = online
                .iter()
                .cycle()
                .skip(start)
                .take(width.min(online.len()))
                .copied()
                .collect();
            window.sort_unstable();
            window.dedup();
            sets.push(window);
        }
    }
    for node in &host.nodes {
        sets.push(node.cpus.iter().map(|c| c.0).collect());
    }
    sets
}

#[test]
fn every_successful_plan_keeps_the_invariants() {
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
    let (mut planned, mut failed) = (0, 0);
    for name in names {
        let Ok(host) = read_sysfs(&fsroot(&name)) else {
            continue;
        };
        for (shape, vmi) in shapes() {
            for cpuset in cpusets(&host) {
                for fix_quirks in [false, true] {
                    let options = PlanOptions {
                        fix_quirks,
                        allow_hugepage_shortfall: true,
                        ..PlanOptions::default()
                    };
                    let p = plan(&host, &vmi, &cpuset, &options);
                    let broken = invariants::check(&p, &host);
                    assert!(broken.is_empty(), "{name} {shape} {cpuset:?}: {broken:?}");
                    assert_eq!(
                        p,
                        plan(&host, &vmi, &cpuset, &options),
                        "{name} {shape}: not deterministic"
                    );
                    if p.error.is_none() {
                        planned += 1
                    } else {
                        failed += 1
                    }
                }
            }
        }
    }
    // both outcomes are exercised in quantity
    assert!(
        planned > 1000 && failed > 500,
        "planned {planned}, failed {failed}"
    );
}
