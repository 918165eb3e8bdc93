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
            })
            .collect(),
        bound_per_node: Some([(0, 33554432), (1, 33554432)].into_iter().collect()),
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
