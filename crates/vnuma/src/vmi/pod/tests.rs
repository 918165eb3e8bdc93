//! KubeVirt's pod resource tests (`kubevirt-numa.md` §4.12) and the seed's numbers (§3).

#![allow(clippy::unwrap_used)]

use super::*;
use crate::vmi::Vmi;

fn q(text: &str) -> Option<Quantity> {
    Some(Quantity::parse(text).unwrap())
}

fn seed() -> Vmi {
    let mut vmi = Vmi {
        architecture: Some("amd64".into()),
        ..Vmi::default()
    };
    vmi.cpu.sockets = 1;
    vmi.cpu.cores = 4;
    vmi.cpu.threads = 1;
    vmi.cpu.dedicated = true;
    vmi.cpu.passthrough = true;
    vmi.memory.hugepages = Some("2Mi".into());
    vmi.memory.guest = q("64Mi");
    vmi.resources.requests_memory = q("64Mi");
    vmi
}

#[test]
fn the_seed_pod() {
    let r = render(&seed(), &ClusterConfig::default(), false);
    assert_eq!(r.requests["cpu"], 4000);
    assert_eq!(r.limits["cpu"], 4000);
    assert_eq!(r.requests["hugepages-2Mi"], 64 << 20);
    assert_eq!(r.limits["hugepages-2Mi"], 64 << 20);
    assert_eq!(r.requests["memory"], 432_144_384);
    assert_eq!(r.limits["memory"], 432_144_384);
    assert_eq!(r.limits["devices.kubevirt.io/kvm"], 1);
    assert_eq!(r.qos(), QosClass::Guaranteed);
    assert_eq!(r.exclusive_cpus(), Some(4));
    let mut iso = seed();
    iso.cpu.isolate_emulator_thread = true;
    assert_eq!(
        render(&iso, &ClusterConfig::default(), false).requests["cpu"],
        5000
    );
}

#[test]
fn with_cpu_pinning_and_isolated_emulator_thread() {
    // (vCPUs as cores, supplemental io, user cpu, parity annotation, expected cpu)
    let cases: [(u32, i64, Option<&str>, bool, i64); 5] = [
        (5, 2, None, false, 8),
        (5, 2, None, true, 8),
        (6, 2, None, true, 10),
        (0, 0, Some("3"), false, 4),
        (0, 2, Some("5"), true, 8),
    ];
    for (cores, io, user, parity, expected) in cases {
        let mut vmi = seed();
        vmi.cpu.sockets = 0;
        vmi.cpu.threads = 0;
        vmi.cpu.cores = cores;
        vmi.cpu.isolate_emulator_thread = true;
        vmi.io_threads_policy = Some("supplementalPool".into());
        vmi.supplemental_pool_thread_count = Some(io);
        vmi.resources.requests_cpu = user.and_then(q);
        vmi.resources.limits_cpu = user.and_then(q);
        if parity {
            vmi.annotations
                .insert(EVEN_PARITY_ANNOTATION.into(), String::new());
        }
        // the unit tests pass additionalCPUs = 0, which is the fixed parity
        let r = render(&vmi, &ClusterConfig::default(), true);
        assert_eq!(
            r.limits["cpu"],
            expected * 1000,
            "{cores} cores, io {io}, user {user:?}, parity {parity}"
        );
        assert_eq!(r.requests["cpu"], expected * 1000);
    }
    let mut vmi = seed();
    vmi.cpu.cores = 2;
    vmi.cpu.isolate_emulator_thread = true;
    vmi.io_threads_policy = Some("supplementalPool".into());
    vmi.supplemental_pool_thread_count = Some(4);
    assert_eq!(
        render(&vmi, &ClusterConfig::default(), false).limits["cpu"],
        7000,
        "2 + 4 + 1"
    );
}

#[test]
fn parity_quirk_counts_supplemental_iothreads_twice() {
    // v = 1, io = 1, parity: the launcher wants 1 + 1 + 2 = 4, KubeVirt's pod gets 3
    let mut vmi = seed();
    vmi.cpu.cores = 1;
    vmi.cpu.isolate_emulator_thread = true;
    vmi.io_threads_policy = Some("supplementalPool".into());
    vmi.supplemental_pool_thread_count = Some(1);
    vmi.annotations
        .insert(EVEN_PARITY_ANNOTATION.into(), String::new());
    assert_eq!(render(&vmi, &ClusterConfig::default(), false).limits["cpu"], 3000);
    assert_eq!(render(&vmi, &ClusterConfig::default(), true).limits["cpu"], 4000);
}

#[test]
fn isolate_emulator_thread_template_cases() {
    for (cores, parity, expected) in [(3, false, 4), (2, false, 3), (3, true, 4), (4, true, 6)] {
        let mut vmi = seed();
        vmi.cpu.cores = cores;
        vmi.cpu.isolate_emulator_thread = true;
        if parity {
            vmi.annotations
                .insert(EVEN_PARITY_ANNOTATION.into(), String::new());
        }
        assert_eq!(
            render(&vmi, &ClusterConfig::default(), false).limits["cpu"],
            expected * 1000
        );
    }
}

#[test]
fn hugepages_template_cases() {
    for (arch, page, expected_mega) in [
        ("amd64", "2Mi", 303),
        ("amd64", "1Gi", 303),
        ("arm64", "2Mi", 437),
        ("arm64", "1Gi", 437),
    ] {
        let mut vmi = Vmi {
            architecture: Some(arch.into()),
            ..Vmi::default()
        };
        vmi.cpu.sockets = 1;
        vmi.memory.hugepages = Some(page.into());
        vmi.resources.requests_memory = q("64M");
        vmi.resources.limits_memory = q("64M");
        let r = render(&vmi, &ClusterConfig::default(), false);
        let mega = |v: i64| (v + 999_999) / 1_000_000;
        assert_eq!(mega(r.requests["memory"]), expected_mega, "{arch} {page}");
        assert_eq!(mega(r.limits["memory"]), expected_mega, "{arch} {page}");
        assert_eq!(r.requests[&format!("hugepages-{page}")], 64_000_000);
        // guest 64M with request and limit 70M: 6M more
        vmi.memory.guest = q("64M");
        vmi.resources.requests_memory = q("70M");
        vmi.resources.limits_memory = q("70M");
        let r = render(&vmi, &ClusterConfig::default(), false);
        assert_eq!(
            mega(r.requests["memory"] - 6_000_000),
            expected_mega,
            "{arch} {page} +6M"
        );
        assert_eq!(r.requests[&format!("hugepages-{page}")], 64_000_000);
    }
}

#[test]
fn the_overhead_ratio_scales_the_whole_overhead() {
    let cluster = ClusterConfig {
        memory_overhead_ratio: Some("2".into()),
        ..ClusterConfig::default()
    };
    assert_eq!(memory_overhead(&seed(), &cluster), 2 * 432_144_384);
}

/// Issue 10 item 6a: a GPU (or host device, or SR-IOV interface) makes the VMI a VFIO one:
/// +1Gi overhead; a device-plugin GPU adds its resource to limits and requests.
#[test]
fn vfio_devices_add_overhead_and_device_plugin_resources() {
    let mut vmi = seed();
    vmi.passthrough_devices = vec![crate::vmi::PassthroughDevice {
        list: "gpus",
        name: "gpu1".into(),
        device_name: Some("nvidia.com/TU104GL_Tesla_T4".into()),
        claim: false,
    }];
    let cluster = ClusterConfig::default();
    assert_eq!(memory_overhead(&vmi, &cluster), 432_144_384 + (1 << 30));
    let r = render(&vmi, &cluster, false);
    assert_eq!(r.limits["nvidia.com/TU104GL_Tesla_T4"], 1);
    assert_eq!(r.requests["nvidia.com/TU104GL_Tesla_T4"], 1);
    assert_eq!(r.requests["memory"], 432_144_384 + (1 << 30));
    assert!(notes(&vmi).is_empty());
    let mut sriov = seed();
    sriov.sriov_interfaces = vec!["fast".into()];
    assert_eq!(memory_overhead(&sriov, &cluster), 432_144_384 + (1 << 30));
    assert_eq!(notes(&sriov).len(), 1);
}

/// Siblings of item 6a: TPM, exec probes, the downward-metrics disk, SEV and the reserved
/// overhead (`GetMemoryOverhead`).
#[test]
fn the_other_overhead_terms() {
    let cluster = ClusterConfig::default();
    let mut vmi = seed();
    vmi.overhead_extras = crate::vmi::OverheadExtras {
        exec_probes: 1,
        downward_metrics_volume: true,
        sev: true,
        tpm: true,
        added_overhead: Quantity::parse("1Gi").ok(),
    };
    assert_eq!(
        memory_overhead(&vmi, &cluster),
        432_144_384 + ((10 + 100 + 1 + 256 + 53 + 1024) << 20)
    );
}
