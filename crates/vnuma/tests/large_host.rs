//! A host with 8192 CPUs (64 nodes x 64 cores x 2 threads), the largest Linux NR_CPUS, read
//! from a sysfs tree and used by every stage: it is handled, in bounded work (the test only
//! has to finish; `cargo bench` measures speed).

#![allow(clippy::unwrap_used, missing_docs)]

use vnuma::kubelet::allocate::{Existing, Request, allocate};
use vnuma::kubelet::config::KubeletConfig;
use vnuma::plan::{PlanOptions, invariants, plan};
use vnuma::topology::sysfs::{MemTree, from_tree};
use vnuma::vmi::{Quantity, Vmi};

#[test]
fn an_8192_cpu_host_goes_through_every_stage() {
    let mut tree = MemTree::new().with("sys/devices/system/node/online", "0-63\n");
    for node in 0..64u32 {
        let first = node * 64;
        let dir = format!("sys/devices/system/node/node{node}");
        tree = tree
            .with(
                &format!("{dir}/cpulist"),
                &format!("{first}-{},{}-{}\n", first + 63, first + 4096, first + 4096 + 63),
            )
            .with(
                &format!("{dir}/meminfo"),
                &format!("Node {node} MemTotal: 67108864 kB\n"),
            )
            .with(
                &format!("{dir}/hugepages/hugepages-2048kB/nr_hugepages"),
                "1024\n",
            )
            .with(
                &format!("{dir}/hugepages/hugepages-2048kB/free_hugepages"),
                "1024\n",
            )
            .with(
                &format!("{dir}/distance"),
                &(0..64)
                    .map(|o| if o == node { "10" } else { "20" })
                    .collect::<Vec<_>>()
                    .join(" "),
            );
    }
    for cpu in 0..8192u32 {
        let core = cpu % 4096;
        tree = tree
            .with(
                &format!("sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id"),
                &format!("{}\n", core / 512),
            )
            .with(
                &format!("sys/devices/system/cpu/cpu{cpu}/topology/core_id"),
                &format!("{}\n", core % 512),
            )
            .with(
                &format!("sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"),
                &format!("{core},{}\n", core + 4096),
            );
    }
    let host = from_tree(&tree).unwrap();
    assert_eq!((host.cpus.len(), host.nodes.len()), (8192, 64));
    assert_eq!(host.nodes[63].distances.as_ref().unwrap().len(), 64);

    let a = allocate(
        &host,
        &KubeletConfig::assumed_defaults(),
        &Request {
            cpu_millis: 64_000,
            memory: 1 << 30,
            hugepages: Default::default(),
        },
        &Existing::default(),
    )
    .unwrap();
    assert!(a.admitted);
    let cpuset: Vec<u32> = a.cpuset.unwrap().iter().map(|c| c.0).collect();
    assert_eq!(cpuset.len(), 64);

    let mut vmi = Vmi {
        name: "big".into(),
        architecture: Some("amd64".into()),
        ..Vmi::default()
    };
    vmi.cpu.cores = 32;
    vmi.cpu.threads = 2;
    vmi.cpu.dedicated = true;
    vmi.cpu.passthrough = true;
    vmi.memory.hugepages = Some("2Mi".into());
    vmi.memory.guest = Quantity::parse("2Gi").ok();
    let p = plan(&host, &vmi, &cpuset, &PlanOptions::default());
    assert_eq!(p.error, None);
    assert!(invariants::check(&p, &host).is_empty());
    assert_eq!(p.vcpupin.len(), 64);
}
