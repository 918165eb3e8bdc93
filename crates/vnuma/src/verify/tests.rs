//! The comparison on hand-made observations.

#![allow(clippy::unwrap_used)]

use super::*;

fn expected() -> Expected {
    serde_json::from_str(
        r#"{"guest": {"sockets": 1, "cores": 4, "threads": 1, "vcpus": 4},
            "vcpupin": [{"vcpu": 0, "cpu": 7}, {"vcpu": 1, "cpu": 23}, {"vcpu": 2, "cpu": 8}, {"vcpu": 3, "cpu": 24}],
            "cells": [{"id": 0, "host_node": 0, "vcpus": "0-1", "memory_bytes": 33554432},
                      {"id": 1, "host_node": 1, "vcpus": "2-3", "memory_bytes": 33554432}],
            "extra": "ignored"}"#,
    )
    .unwrap()
}

fn matching() -> Observed {
    let pins = [7, 23, 8, 24];
    Observed {
        vcpus: (0..4)
            .map(|i| ObservedVcpu {
                index: i,
                node: Some(i / 2),
                socket: Some(0),
                core: Some(i),
                thread: Some(0),
                thread_id: Some(100 + u64::from(i)),
                affinity: Some(std::iter::once(crate::ids::CpuId(pins[i as usize])).collect()),
            })
            .collect(),
        memdevs: (0..2)
            .map(|c| ObservedMemdev {
                id: format!("ram-node{c}"),
                size: 33554432,
                host_nodes: vec![c],
                policy: "bind".into(),
                backend_type: None,
                hugetlb: None,
                hugetlbsize: None,
            })
            .collect(),
        bound_per_node: Some([(0, 33554432), (1, 33554432)].into_iter().collect()),
        page_sizes_per_node: None,
        sched: None,
    }
}

#[test]
fn a_matching_vm_has_no_mismatch() {
    assert_eq!(compare(&expected(), &matching()), Vec::<String>::new());
}

#[test]
fn every_mismatch_is_named() {
    let mut o = matching();
    o.vcpus[3].node = Some(0);
    o.vcpus[1].affinity = Some(CpuSet::parse_list("0-31").unwrap());
    o.memdevs[1].host_nodes = vec![0];
    o.bound_per_node = Some([(0, 67108864)].into_iter().collect());
    assert_eq!(
        compare(&expected(), &o),
        vec![
            "vCPU 1: its thread 101 may run on host CPUs 0-31, the plan pins it to 23".to_string(),
            "vCPU 3: QEMU puts it in guest node Some(0), the plan in cell Some(1)".to_string(),
            "cell 1: backend ram-node1 is bind to host nodes [0], the plan binds it to host node 1"
                .to_string(),
            "host node 1: 0 bytes of guest memory are bound there (numa_maps), the plan needs 33554432"
                .to_string(),
        ]
    );
}

#[test]
fn numa_maps_sums_bound_pages_per_node() {
    let text = "7f0000000000 bind:0 file=/memfd:ram-node0\\040(deleted) dirty=8192 N0=8192 kernelpagesize_kB=4\n\
                7f1000000000 bind:1 file=/memfd:ram-node1 huge dirty=16 N1=16 kernelpagesize_kB=2048\n\
                7f2000000000 default anon=10 dirty=10 N0=10 kernelpagesize_kB=4\n";
    let bound = parse_numa_maps(text);
    assert_eq!(
        bound,
        [(0, 8192 * 4096), (1, 16 * 2 * 1024 * 1024)]
            .into_iter()
            .collect()
    );
}

/// Issue 12, item 2: the plan asks for 2Mi pages and QEMU runs on `memory-backend-ram`;
/// `query-memdev` cannot tell, the backend's QOM type and `numa_maps` can.
#[test]
fn a_vm_off_its_planned_hugepages_is_a_mismatch() {
    let mut expected = expected();
    expected.guest.page_size_bytes = Some(2 << 20);
    let on_hugepages = |backend: &str, hugetlb: Option<bool>, size: Option<u64>| {
        let mut o = matching();
        for m in &mut o.memdevs {
            m.backend_type = Some(backend.into());
            m.hugetlb = hugetlb;
            m.hugetlbsize = size;
        }
        o
    };
    // Right: memfd with 2Mi hugetlb, or a hugetlbfs file whose 2Mi pages numa_maps shows.
    assert_eq!(
        compare(
            &expected,
            &on_hugepages("memory-backend-memfd", Some(true), Some(2 << 20))
        ),
        Vec::<String>::new()
    );
    let mut file = on_hugepages("memory-backend-file", None, None);
    file.page_sizes_per_node = Some(
        [(0, [2 << 20].into()), (1, [2 << 20].into())]
            .into_iter()
            .collect(),
    );
    assert_eq!(compare(&expected, &file), Vec::<String>::new());

    // Wrong: ordinary memory.
    let mut ram = on_hugepages("memory-backend-ram", None, None);
    ram.page_sizes_per_node = Some([(0, [4096].into()), (1, [4096].into())].into_iter().collect());
    assert_eq!(
        compare(&expected, &ram),
        [
            "cell 0: backend ram-node0 is memory-backend-ram (ordinary pages), the plan puts the guest memory on 2Mi hugepages",
            "cell 1: backend ram-node1 is memory-backend-ram (ordinary pages), the plan puts the guest memory on 2Mi hugepages",
            "host node 0: guest memory there is on 4Ki pages (numa_maps kernelpagesize_kB), the plan on 2Mi hugepages",
            "host node 1: guest memory there is on 4Ki pages (numa_maps kernelpagesize_kB), the plan on 2Mi hugepages",
        ]
    );
    // Wrong: memfd without hugetlb, and 1Gi pages where the plan has 2Mi.
    assert_eq!(
        compare(
            &expected,
            &on_hugepages("memory-backend-memfd", Some(false), None)
        )[0],
        "cell 0: backend ram-node0 is memory-backend-memfd (ordinary pages), the plan puts the guest memory on 2Mi hugepages"
    );
    assert_eq!(
        compare(
            &expected,
            &on_hugepages("memory-backend-memfd", Some(true), Some(1 << 30))
        )[0],
        "cell 0: backend ram-node0 uses 1Gi hugepages, the plan 2Mi"
    );
    // A plan without hugepages on a hugepage backend is a mismatch too.
    expected.guest.page_size_bytes = None;
    assert_eq!(
        compare(
            &expected,
            &on_hugepages("memory-backend-memfd", Some(true), Some(2 << 20))
        )[0],
        "cell 0: backend ram-node0 is memory-backend-memfd (hugepages), the plan puts the guest memory on ordinary pages"
    );
}

#[test]
fn numa_maps_page_sizes_are_read_per_node_for_bound_memory_only() {
    let text = "7f0000000000 bind:0 anon=256 dirty=256 N0=256 kernelpagesize_kB=2048\n\
                7f1000000000 bind:1 file=/dev/hugepages/x huge dirty=128 N1=128 kernelpagesize_kB=2048\n\
                7f2000000000 default anon=10 N0=10 kernelpagesize_kB=4\n\
                7f3000000000 bind:1 anon=1 N1=0 N0=1 kernelpagesize_kB=4\n";
    let sizes = parse_numa_maps_page_sizes(text);
    assert_eq!(
        sizes,
        [(0, [4096, 2 << 20].into()), (1, [2 << 20].into())]
            .into_iter()
            .collect()
    );
}

/// Issue 10 item 6c: realtime scheduling is checked on the vCPU threads.
#[test]
fn realtime_scheduling_is_checked_per_vcpu_thread() {
    let mut plan: serde_json::Value = serde_json::from_str(
        r#"{"guest": {"sockets": 1, "cores": 4, "threads": 1, "vcpus": 4},
            "vcpupin": [], "cells": [],
            "realtime": {"vcpus": "0-2", "policy": "fifo", "priority": 1}}"#,
    )
    .unwrap();
    let expected: Expected = serde_json::from_value(plan.clone()).unwrap();
    let sched = |policy, priority| ObservedSched {
        tid: 0,
        policy,
        priority,
    };
    let vcpu = |i: u32| ObservedVcpu {
        index: i,
        node: None,
        socket: Some(0),
        core: Some(i),
        thread: Some(0),
        thread_id: None,
        affinity: None,
    };
    let mut observed = Observed {
        vcpus: (0..4).map(vcpu).collect(),
        sched: Some(
            [
                (0, sched(1, 1)),
                (1, sched(1, 1)),
                (2, sched(1, 1)),
                (3, sched(0, 0)),
            ]
            .into_iter()
            .map(|(v, mut s)| {
                s.tid = 200 + u64::from(v);
                (v, s)
            })
            .collect(),
        ),
        ..Observed::default()
    };
    assert_eq!(compare(&expected, &observed), Vec::<String>::new());
    let s = observed.sched.as_mut().unwrap();
    s.get_mut(&1).unwrap().policy = 0;
    s.get_mut(&1).unwrap().priority = 0;
    s.get_mut(&3).unwrap().policy = 1;
    s.remove(&2);
    assert_eq!(
        compare(&expected, &observed),
        vec![
            "vCPU 1: its thread 201 runs SCHED_OTHER priority 0, the plan expects SCHED_FIFO priority 1 (virt-handler's realtime setting)".to_string(),
            "vCPU 2: no thread named \"CPU 2/KVM\" to check its realtime scheduling".to_string(),
            "vCPU 3: its thread 203 runs SCHED_FIFO, but the realtime mask leaves it out".to_string(),
        ]
    );
    // a plan without realtime (or an older plan document) checks nothing
    plan.as_object_mut().unwrap().remove("realtime");
    let older: Expected = serde_json::from_value(plan).unwrap();
    assert_eq!(compare(&older, &observed), Vec::<String>::new());
}
