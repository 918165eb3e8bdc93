//! The QEMU renderer on the worked examples (golden files) and its rules.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use super::*;
use crate::plan::{PlanOptions, plan};
use crate::vmi::input::{Source, read_vmi};
use crate::vmi::{ClusterConfig, defaults};

fn seed() -> crate::vmi::Vmi {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let text = std::fs::read_to_string(path).unwrap();
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
    vmi
}

fn seed_plan(cpuset: &[u32]) -> GuestPlan {
    let host = crate::topology::examples::example("dual-socket").unwrap();
    plan(&host, &seed(), cpuset, &PlanOptions::default())
}

/// Compares with `tests/data/golden/NAME`; `UPDATE_GOLDEN=1` rewrites the file instead.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "{} differs (UPDATE_GOLDEN=1 rewrites it after review)",
        path.display()
    );
}

#[test]
fn golden_seed_scenarios() {
    golden(
        "qemu-seed-a.args",
        &command_line(&seed_plan(&[2, 3, 18, 19]), &QemuOptions::default()).unwrap(),
    );
    golden(
        "qemu-seed-b.args",
        &command_line(&seed_plan(&[7, 8, 23, 24]), &QemuOptions::default()).unwrap(),
    );
    golden(
        "qemu-seed-b.pinning.json",
        &pinning_json(&seed_plan(&[7, 8, 23, 24])),
    );
}

#[test]
fn backends_and_distances() {
    let p = seed_plan(&[7, 8, 23, 24]);
    let file = QemuOptions {
        backend: MemoryBackend::File("/dev/hugepages".into()),
        ..QemuOptions::default()
    };
    let a = args(&p, &file).unwrap();
    assert!(a.contains(&"memory-backend-file,id=ram-node1,size=33554432,mem-path=/dev/hugepages,prealloc=on,host-nodes=1,policy=bind".to_string()));
    let ram = QemuOptions {
        backend: MemoryBackend::Ram,
        accel: "tcg".into(),
        ..QemuOptions::default()
    };
    let a = args(&p, &ram).unwrap();
    assert!(a.contains(
        &"memory-backend-ram,id=ram-node0,size=33554432,prealloc=on,host-nodes=0,policy=bind".to_string()
    ));
    let dists: Vec<&String> = a.iter().filter(|x| x.starts_with("dist,")).collect();
    assert_eq!(
        dists,
        [
            "dist,src=0,dst=0,val=10",
            "dist,src=0,dst=1,val=21",
            "dist,src=1,dst=0,val=21",
            "dist,src=1,dst=1,val=10"
        ]
    );
    assert_eq!(cpus_params(&[0, 1, 2, 5, 7, 8]), ",cpus=0-2,cpus=5,cpus=7-8");
}

#[test]
fn a_failed_plan_renders_nothing() {
    let p = seed_plan(&[2]);
    assert!(p.error.is_some());
    assert_eq!(
        args(&p, &QemuOptions::default()),
        Err(QemuError::PlanFailed(
            "not enough exclusive threads provided, could not fit 3 core(s)".into()
        ))
    );
}
