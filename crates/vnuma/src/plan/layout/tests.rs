//! The layout seam: passthrough chosen from the VMI, the steps after it on their own, and a
//! hand-built cell bound to two host nodes through numatune, the renderers and the hugepage
//! check (no policy makes one yet).

#![allow(clippy::unwrap_used)]

use super::{ChosenCell, GuestLayout};
use crate::plan::numa::{SplitError, numatune, split_memory};
use crate::plan::pool::{KvCell, KvTopology};
use crate::plan::{Cell, FailureReason, GuestPlan, Numatune, PlanOptions, hugepages, plan};
use crate::render::cloud_hypervisor::{self, ChError, ChOptions};
use crate::render::{libvirt, qemu};
use crate::topology::HostTopology;
use crate::topology::examples::example;
use crate::vmi::{Quantity, Vmi};

const MI2: u64 = 2 << 20;

fn seed() -> Vmi {
    let mut vmi = Vmi {
        name: "vm".into(),
        namespace: "default".into(),
        ..Vmi::default()
    };
    vmi.cpu.sockets = 1;
    vmi.cpu.cores = 4;
    vmi.cpu.threads = 1;
    vmi.cpu.dedicated = true;
    vmi.cpu.passthrough = true;
    vmi.cpu.numa = true;
    vmi.memory.hugepages = Some("2Mi".into());
    vmi.memory.guest = Some(Quantity::parse("64Mi").unwrap());
    vmi
}

/// The seed on `dual-socket` with one host core on each node (scenario B).
fn scenario_b() -> (HostTopology, GuestPlan) {
    let host = example("dual-socket").unwrap();
    let p = plan(&host, &seed(), &[7, 8, 23, 24], &PlanOptions::default());
    assert_eq!(p.error, None);
    (host, p)
}

/// Scenario B with its two cells merged into one guest cell bound to host nodes 0 and 1.
fn spanning() -> (HostTopology, GuestPlan) {
    let (host, mut p) = scenario_b();
    p.cells = vec![Cell {
        id: 0,
        host_nodes: vec![0, 1],
        vcpus: vec![0, 1, 2, 3],
        memory_bytes: 64 << 20,
        distances: None,
    }];
    p.numatune = Some(Numatune {
        nodeset: vec![0, 1],
        memnodes: vec![(0, vec![0, 1])],
    });
    p.hugepages.clear();
    (host, p)
}

#[test]
fn passthrough_is_chosen_from_the_vmi() {
    let mut vmi = seed();
    assert_eq!(GuestLayout::from_vmi(&vmi), Some(GuestLayout::Passthrough));
    vmi.cpu.passthrough = false;
    assert_eq!(GuestLayout::from_vmi(&vmi), None);
}

#[test]
fn passthrough_cells_are_the_host_nodes_holding_vcpus_in_topology_order() {
    let (_, p) = scenario_b();
    let view = KvTopology {
        cells: [1, 0]
            .into_iter()
            .map(|id| KvCell {
                id,
                cpus: Vec::new(),
                distances: Vec::new(),
            })
            .collect(),
    };
    // no CPU of the pins in this view: KubeVirt's message
    assert_eq!(
        GuestLayout::Passthrough.cells(&p, &view),
        Err(
            "failed to generate numa pinning information: vcpu 0 is mapped to a not existing host cpu set 7"
                .into()
        )
    );
    let (host, _) = scenario_b();
    let (view, _) = crate::plan::kubevirt_view(&host, true);
    let chosen = GuestLayout::Passthrough.cells(&p, &view).unwrap();
    assert_eq!(
        chosen,
        vec![
            ChosenCell {
                host_nodes: vec![0],
                vcpus: vec![0, 1],
            },
            ChosenCell {
                host_nodes: vec![1],
                vcpus: vec![2, 3],
            },
        ]
    );
    assert_eq!(
        numatune(&chosen, &view),
        Numatune {
            nodeset: vec![0, 1],
            memnodes: vec![(0, vec![0]), (1, vec![1])],
        }
    );
}

#[test]
fn memory_is_split_in_whole_pages_with_the_remainder_to_the_first_cells() {
    assert_eq!(
        split_memory(5 * MI2, MI2, 3, true),
        Ok(vec![2 * MI2, 2 * MI2, MI2])
    );
    assert_eq!(split_memory(4 * MI2, MI2, 2, true), Ok(vec![2 * MI2, 2 * MI2]));
    let Err(SplitError { message, misscaled }) = split_memory(MI2, MI2, 2, false) else {
        panic!("one page for two cells split");
    };
    assert!(misscaled);
    assert_eq!(
        message,
        "not enough memory requested to allocate at least one hugepage per numa node: {2097152 b} < 4194304"
    );
    assert!(split_memory(4 * MI2, MI2, 0, true).is_err());
}

#[test]
fn a_cell_on_two_nodes_is_a_nodeset_in_libvirt_and_qemu() {
    let (_, p) = spanning();
    let xml = libvirt::domain_xml(&p);
    assert!(
        xml.contains("<memnode cellid=\"0\" mode=\"strict\" nodeset=\"0,1\"></memnode>"),
        "{xml}"
    );
    assert!(
        xml.contains("<memory mode=\"strict\" nodeset=\"0,1\"></memory>"),
        "{xml}"
    );

    let args = qemu::args(&p, &qemu::QemuOptions::default()).unwrap();
    let backend = args.iter().find(|a| a.contains("id=ram-node0")).unwrap();
    assert!(backend.ends_with(",host-nodes=0-1,policy=bind"), "{backend}");

    // nodes that are no run: one host-nodes= per run
    let mut p = p;
    p.numatune.as_mut().unwrap().memnodes = vec![(0, vec![0, 2, 3])];
    let args = qemu::args(&p, &qemu::QemuOptions::default()).unwrap();
    let backend = args.iter().find(|a| a.contains("id=ram-node0")).unwrap();
    assert!(
        backend.ends_with(",host-nodes=0,host-nodes=2-3,policy=bind"),
        "{backend}"
    );
}

#[test]
fn cloud_hypervisor_refuses_a_cell_on_two_nodes() {
    let (_, p) = spanning();
    let error = cloud_hypervisor::args(&p, &ChOptions::default()).unwrap_err();
    let ChError::Unsupported(message) = error else {
        panic!("not a backend-unsupported refusal: {error:?}");
    };
    assert_eq!(
        message,
        "guest cell 0 is bound to host nodes 0,1, but a Cloud Hypervisor memory zone takes one host_numa_node: use -o xml or -o qemu"
    );
}

#[test]
fn hugepages_are_checked_over_the_cells_node_set() {
    let (host, mut p) = spanning();
    hugepages::check(&mut p, &host, false);
    let verdicts: Vec<_> = p
        .hugepages
        .iter()
        .map(|v| {
            (
                v.host_node,
                v.host_nodes.clone(),
                v.pages_needed,
                v.pages_free,
                v.fits,
            )
        })
        .collect();
    assert_eq!(verdicts, vec![(0, vec![0, 1], 32, 2048, true)]);
    assert_eq!(p.error, None);

    // more than either node has, within what both have together
    let (host, mut p) = spanning();
    p.cells[0].memory_bytes = 1500 * MI2;
    hugepages::check(&mut p, &host, false);
    assert_eq!(p.hugepages[0].pages_free, 2048);
    assert!(p.hugepages[0].fits);

    // more than both have
    let (host, mut p) = spanning();
    p.cells[0].memory_bytes = 2049 * MI2;
    hugepages::check(&mut p, &host, false);
    let error = p.error.unwrap();
    assert_eq!(error.reason, FailureReason::HugepageShortfall);
    assert_eq!(
        error.message,
        "hugepage shortfall: host nodes 0,1 have 2048 free 2Mi hugepages, the guest needs 2049"
    );
}

#[test]
fn a_cell_on_two_nodes_is_a_set_in_the_plan_document_and_its_hint() {
    let (host, mut p) = spanning();
    p.cells[0].memory_bytes = 2049 * MI2;
    hugepages::check(&mut p, &host, false);
    crate::plan::hints::add(&mut p, &host, &seed(), crate::plan::CpusetSource::Flag);
    let ctx = crate::report::plan::Context {
        host_label: "example:dual-socket",
        kubevirt_version: crate::plan::KubevirtVersion::Main,
        cpuset_source: crate::plan::CpusetSource::Flag,
        kubelet: None,
        kubelet_settings: None,
    };
    let doc: serde_json::Value = serde_json::from_str(&crate::report::plan::to_json(&p, &ctx)).unwrap();
    assert_eq!(doc["cells"][0]["host_node"], serde_json::Value::Null);
    assert_eq!(doc["cells"][0]["host_nodes"], serde_json::json!([0, 1]));
    assert_eq!(doc["hugepages"][0]["host_node"], serde_json::Value::Null);
    assert_eq!(doc["hugepages"][0]["host_nodes"], serde_json::json!([0, 1]));
    let hint = doc["error"]["hint"].as_str().unwrap();
    assert!(
        hint.starts_with("reserve 1 more 2Mi pages over host nodes 0,1 (their pools count together)"),
        "{hint}"
    );
}
