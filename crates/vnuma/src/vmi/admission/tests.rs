//! KubeVirt's admission tests (`vmi-create-admitter_test.go`, `kubevirt-numa.md` §4.11), with
//! the test prefix `fake`, and one test per §2 rule with its exact message.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::vmi::{Quantity, Realtime, Vmi};

fn q(text: &str) -> Option<Quantity> {
    Some(Quantity::parse(text).unwrap())
}

/// `newBaseVmi(WithDedicatedCPUPlacement)`: requests.memory 512Mi, amd64, dedicated.
fn base() -> Vmi {
    let mut vmi = Vmi {
        spec_path: "fake".into(),
        architecture: Some("amd64".into()),
        ..Vmi::default()
    };
    vmi.resources.requests_memory = q("512Mi");
    vmi.cpu.dedicated = true;
    vmi
}

/// `NewMinimalVMI`: requests.memory 8192Ki.
fn minimal() -> Vmi {
    let mut vmi = Vmi {
        spec_path: "fake".into(),
        architecture: Some("amd64".into()),
        ..Vmi::default()
    };
    vmi.resources.requests_memory = q("8192Ki");
    vmi
}

fn causes(vmi: &Vmi) -> Vec<(String, String)> {
    validate(vmi, &ClusterConfig::default())
        .into_iter()
        .map(|c| (c.field, c.message))
        .collect()
}

fn fields(vmi: &Vmi) -> Vec<String> {
    causes(vmi).into_iter().map(|c| c.0).collect()
}

fn hugepages(vmi: &mut Vmi, size: &str) {
    vmi.memory.present = true;
    vmi.memory.hugepages = Some(size.into());
}

#[test]
fn cpu_pinning_context() {
    // passthrough without dedicated
    let mut vmi = base();
    vmi.cpu.dedicated = false;
    vmi.cpu.passthrough = true;
    hugepages(&mut vmi, "2Mi");
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.cpu.numa.guestMappingPassthrough".into(),
            "fake.domain.cpu.dedicatedCpuPlacement must be set to true when NUMA topology strategy is set in fake.domain.cpu.numa.guestMappingPassthrough".into()
        )]
    );
    // passthrough without hugepages (memory nil; memory without hugepages)
    for memory_present in [false, true] {
        let mut vmi = base();
        vmi.cpu.passthrough = true;
        vmi.cpu.cores = 4;
        vmi.resources.limits_cpu = q("4");
        vmi.memory.present = memory_present;
        assert_eq!(
            causes(&vmi),
            vec![(
                "fake.domain.cpu.numa.guestMappingPassthrough".into(),
                "fake.domain.memory.hugepages must be requested when NUMA topology strategy is set in fake.domain.cpu.numa.guestMappingPassthrough".into()
            )]
        );
    }
    // passthrough accepted
    let mut vmi = base();
    vmi.cpu.passthrough = true;
    vmi.cpu.cores = 4;
    vmi.resources.limits_cpu = q("4");
    hugepages(&mut vmi, "2Mi");
    assert_eq!(causes(&vmi), vec![]);
    // threads on arm64
    let mut vmi = base();
    vmi.cpu.threads = 2;
    vmi.architecture = Some("arm64".into());
    assert!(causes(&vmi).contains(&(
        "fake.architecture".into(),
        "threads must not be greater than 1 at fake.domain.cpu.threads (got 2) when fake.architecture is arm64".into()
    )));
    let mut vmi = base();
    vmi.cpu.threads = 1;
    vmi.architecture = Some("arm64".into());
    assert_eq!(causes(&vmi), vec![]);
    let mut vmi = base();
    vmi.cpu.threads = 2;
    assert_eq!(causes(&vmi), vec![]);
    // arch unset, cluster default arm64
    let mut vmi = base();
    vmi.cpu.threads = 2;
    vmi.architecture = None;
    let arm = ClusterConfig {
        default_architecture: "arm64".into(),
        ..ClusterConfig::default()
    };
    let got: Vec<String> = validate(&vmi, &arm).into_iter().map(|c| c.field).collect();
    assert_eq!(got, vec!["fake.architecture".to_string()]);
    // more than two threads
    let mut vmi = base();
    hugepages(&mut vmi, "2Mi");
    vmi.cpu.cores = 4;
    vmi.cpu.threads = 3;
    vmi.cpu.passthrough = true;
    vmi.resources.limits_cpu = q("12");
    assert!(causes(&vmi).contains(&(
        "fake.domain.cpu.dedicatedCpuPlacement".into(),
        "Not more than two threads must be provided at fake.domain.cpu.threads (got 3) when DedicatedCPUPlacement is true".into()
    )));
    // no CPU requirements
    assert_eq!(
        causes(&base()),
        vec![(
            "fake.domain.cpu.dedicatedCpuPlacement".into(),
            "either fake.domain.resources.requests.cpu or fake.domain.resources.limits.cpu or fake.domain.cpu.cores must be provided when DedicatedCPUPlacement is true ".into()
        )]
    );
    // isolateEmulatorThread without dedicated
    let mut vmi = base();
    vmi.cpu.dedicated = false;
    vmi.cpu.isolate_emulator_thread = true;
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.cpu.isolateEmulatorThread".into(),
            "IsolateEmulatorThread should be only set in combination with DedicatedCPUPlacement".into()
        )]
    );
    // inconsistent CPU
    let mut vmi = base();
    vmi.cpu.cores = 4;
    vmi.resources.limits_cpu = q("2");
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.cpu.dedicatedCpuPlacement".into(),
            "fake.domain.resources.requests.cpu or fake.domain.resources.limits.cpu must not be provided at the same time with fake.domain.cpu.cores when DedicatedCPUPlacement is true ".into()
        )]
    );
    // non-integer limit, non-integer request
    let mut vmi = base();
    vmi.resources.limits_cpu = q("800m");
    assert_eq!(fields(&vmi), vec!["fake.domain.resources.limits.cpu".to_string()]);
    assert_eq!(
        causes(&vmi)[0].1,
        "provided resources CPU limits must be an interger"
    );
    let mut vmi = base();
    vmi.resources.requests_cpu = q("800m");
    vmi.resources.requests_memory = q("8Mi");
    assert_eq!(
        fields(&vmi),
        vec!["fake.domain.resources.requests.cpu".to_string()]
    );
    assert_eq!(
        causes(&vmi)[0].1,
        "provided resources CPU requests must be an interger"
    );
    // CPU overcommit
    let mut vmi = base();
    vmi.resources.limits_cpu = q("4");
    vmi.resources.limits_memory = q("8Mi");
    vmi.resources.requests_cpu = q("2");
    vmi.resources.requests_memory = q("8Mi");
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.cpu.dedicatedCpuPlacement".into(),
            "fake.domain.resources.requests.cpu or fake.domain.resources.limits.cpu must be equal when DedicatedCPUPlacement is true ".into()
        )]
    );
    // inconsistent memory
    let mut vmi = base();
    vmi.resources.limits_cpu = q("1");
    vmi.resources.limits_memory = q("8Mi");
    vmi.resources.requests_cpu = q("1");
    vmi.resources.requests_memory = q("4Mi");
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.resources.requests.memory".into(),
            "fake.domain.resources.requests.memory must be equal to fake.domain.resources.limits.memory"
                .into()
        )]
    );
}

#[test]
fn dedicated_without_any_memory() {
    let mut vmi = base();
    vmi.resources.requests_memory = None;
    vmi.cpu.cores = 2;
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.resources.limits.memory".into(),
            "fake.domain.resources.requests.memory, fake.domain.resources.limits.memory, fake.domain.memory.hugepages or fake.domain.memory.guest should be provided".into()
        )]
    );
}

#[test]
fn hugepage_admission() {
    let mut vmi = minimal();
    vmi.resources.requests_memory = q("64Mi");
    hugepages(&mut vmi, "2ab");
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.memory.hugepages.pageSize".into(),
            "fake.domain.memory.hugepages.pageSize '2ab': quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".into()
        )]
    );
    // 1Gi pages with a 64Mi request, guest or limit (the base request of 8192Ki stays)
    let mut with_request = minimal();
    with_request.resources.requests_memory = q("64Mi");
    let mut with_guest = minimal();
    with_guest.memory.guest = q("64Mi");
    let mut with_limit = minimal();
    with_limit.resources.limits_memory = q("64Mi");
    for mut vmi in [with_request, with_guest, with_limit] {
        hugepages(&mut vmi, "1Gi");
        assert_eq!(
            fields(&vmi),
            vec!["fake.domain.resources.requests.memory".to_string()]
        );
    }
    let mut vmi = minimal();
    vmi.resources.requests_memory = q("64Mi");
    hugepages(&mut vmi, "1Gi");
    assert_eq!(
        causes(&vmi)[0].1,
        "fake.domain.resources.requests.memory '64Mi' must be equal to or larger than page size fake.domain.memory.hugepages.pageSize '1Gi'"
    );
    let mut vmi = minimal();
    vmi.resources.requests_memory = q("65Mi");
    hugepages(&mut vmi, "2Gi");
    assert_eq!(
        fields(&vmi),
        vec!["fake.domain.resources.requests.memory".to_string()]
    );
    let mut vmi = minimal();
    vmi.resources.requests_memory = q("64Mi");
    hugepages(&mut vmi, "2Mi");
    assert_eq!(causes(&vmi), vec![]);
    let mut vmi = minimal();
    vmi.resources.requests_memory = q("64Mi");
    hugepages(&mut vmi, "10Mi");
    let got = validate(&vmi, &ClusterConfig::default());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, "FieldValueInvalid");
    assert_eq!(
        got[0].message,
        "fake.domain.resources.requests.memory '64Mi' is not a multiple of the page size fake.domain.memory.hugepages.pageSize '10Mi'"
    );
    let mut vmi = minimal();
    vmi.resources.requests_memory = q("64Mi");
    vmi.memory.guest = q("64Mi");
    hugepages(&mut vmi, "2Mi");
    assert_eq!(causes(&vmi), vec![]);
}

#[test]
fn realtime_admission() {
    let rt = || {
        let mut vmi = minimal();
        vmi.cpu.realtime = Some(Realtime::default());
        vmi.cpu.cores = 4;
        vmi
    };
    let mut vmi = rt();
    hugepages(&mut vmi, "2Mi");
    vmi.cpu.passthrough = true;
    let got = validate(&vmi, &ClusterConfig::default());
    assert!(got.iter().any(|c| c.kind == "FieldValueRequired"
        && c.field == "fake.domain.cpu.dedicatedCpuPlacement"
        && c.message == "fake.domain.cpu.dedicatedCpuPlacement must be set to true when fake.domain.cpu.realtime is used"));
    for numa_present in [true, false] {
        let mut vmi = rt();
        vmi.cpu.dedicated = true;
        vmi.cpu.numa = numa_present;
        let got = validate(&vmi, &ClusterConfig::default());
        assert!(got.iter().any(|c| c.kind == "FieldValueRequired"
            && c.field == "fake.domain.cpu.numa.guestMappingPassthrough"
            && c.message == "fake.domain.cpu.numa.guestMappingPassthrough must be defined when fake.domain.cpu.realtime is used"));
    }
}

#[test]
fn iothreads_admission() {
    let mut vmi = minimal();
    vmi.spec_path = "spec".into();
    vmi.io_threads_policy = Some("bad".into());
    assert_eq!(
        causes(&vmi),
        vec![(
            "spec.domain.ioThreadsPolicy".into(),
            "Invalid IOThreadsPolicy (bad)".into()
        )]
    );
    for count in [Some(0), None] {
        let mut vmi = minimal();
        vmi.spec_path = "spec".into();
        vmi.cpu.cores = 2;
        vmi.cpu.dedicated = true;
        vmi.cpu.isolate_emulator_thread = true;
        vmi.io_threads_policy = Some("supplementalPool".into());
        vmi.supplemental_pool_thread_count = count;
        assert_eq!(
            causes(&vmi),
            vec![(
                "spec.domain.ioThreads.count".into(),
                "the number of iothreads needs to be set and positive for the dedicated policy".into()
            )]
        );
    }
}

#[test]
fn sockets_above_max_sockets_and_guest_above_limit() {
    let mut vmi = minimal();
    vmi.cpu.sockets = 4;
    vmi.cpu.max_sockets = 2;
    assert_eq!(
        causes(&vmi),
        vec![(
            "fake.domain.cpu.sockets".into(),
            "Number of sockets in CPU topology is greater than the maximum sockets allowed".into()
        )]
    );
    let mut vmi = minimal();
    vmi.memory.guest = q("128Mi");
    vmi.resources.limits_memory = q("64Mi");
    assert_eq!(causes(&vmi), vec![], "LiveUpdate (the default) allows it");
    let stage = ClusterConfig {
        live_update: false,
        ..ClusterConfig::default()
    };
    let got: Vec<String> = validate(&vmi, &stage).into_iter().map(|c| c.message).collect();
    assert_eq!(
        got,
        vec!["fake.domain.memory.guest '128Mi' must be equal to or less than the memory limit fake.domain.resources.limits.memory '64Mi'".to_string()]
    );
}

#[test]
fn memory_hotplug_on_a_vm_with_passthrough() {
    let mut vmi = base();
    vmi.spec_path = "spec.template.spec".into();
    vmi.cpu.cores = 2;
    vmi.cpu.passthrough = true;
    hugepages(&mut vmi, "2Mi");
    vmi.memory.max_guest = q("2Gi");
    assert!(causes(&vmi).contains(&(
        "spec.template.spec.domain.memory.guest".into(),
        "Memory hotplug is not compatible with guest mapping passthrough".into()
    )));
}

#[test]
fn several_problems_are_all_listed() {
    let mut vmi = base();
    vmi.cpu.dedicated = false;
    vmi.cpu.passthrough = true;
    vmi.cpu.isolate_emulator_thread = true;
    vmi.io_threads_policy = Some("fast".into());
    assert_eq!(causes(&vmi).len(), 4, "{:?}", causes(&vmi));
}

/// Issue 10 item 2: a dedicated IOThread on a bus other than virtio (`validateBusSupport`,
/// `vmi-create-admitter_test.go` "IOThreads are not supported" for sata, scsi and usb). The
/// field names the disks path twice, as KubeVirt writes it.
#[test]
fn iothreads_on_a_non_virtio_bus_are_rejected() {
    use crate::vmi::{Disk, DiskTargetKind};
    for bus in ["sata", "scsi", "usb"] {
        let mut vmi = minimal();
        vmi.disks = vec![
            Disk {
                name: "disk-with-dedicated-io-thread".into(),
                dedicated_io_thread: Some(true),
                target: Some(DiskTargetKind::Disk),
                bus: Some(bus.into()),
                ..Disk::default()
            },
            Disk {
                name: "disk-with-dedicated-io-thread-and-virtio".into(),
                dedicated_io_thread: Some(true),
                target: Some(DiskTargetKind::Disk),
                bus: Some("virtio".into()),
                ..Disk::default()
            },
            Disk {
                name: "disk-without-dedicated-io-thread-and-with-sata".into(),
                dedicated_io_thread: Some(false),
                target: Some(DiskTargetKind::Disk),
                bus: Some("sata".into()),
                ..Disk::default()
            },
        ];
        let found = validate(&vmi, &ClusterConfig::default());
        assert_eq!(found.len(), 1, "{bus}: {found:?}");
        assert_eq!(found[0].kind, "FieldValueNotSupported");
        assert_eq!(
            found[0].field,
            "fake.domain.devices.disks.domain.devices.disks[0]"
        );
        assert_eq!(
            found[0].message,
            format!("IOThreads are not supported for disks on a {bus} bus")
        );
    }
}

/// Siblings of item 2: the other bus rules of `validateBusSupport`.
#[test]
fn disk_bus_rules() {
    use crate::vmi::{Disk, DiskTargetKind};
    let disk = |target, bus: &str, read_only| Disk {
        name: "d".into(),
        target: Some(target),
        bus: Some(bus.into()),
        read_only,
        ..Disk::default()
    };
    let cases = [
        (disk(DiskTargetKind::Cdrom, "virtio", false), "fake.domain.devices.disks[0].cdrom.bus", "Bus type virtio is invalid for CD-ROM device".to_string()),
        (disk(DiskTargetKind::Disk, "ide", false), "fake.domain.devices.disks[0].disk.bus", "IDE bus is not supported".to_string()),
        (disk(DiskTargetKind::Disk, "sata", true), "fake.domain.devices.disks[0].disk.bus", "sata hard-disks do not support read-only.".to_string()),
        (disk(DiskTargetKind::Lun, "nvme", false), "fake.domain.devices.disks[0].lun.bus", "fake.domain.devices.disks[0] is set with an unrecognized bus nvme, must be one of: [virtio scsi sata usb]".to_string()),
    ];
    for (d, field, message) in cases {
        let mut vmi = minimal();
        vmi.disks = vec![d];
        assert_eq!(causes(&vmi), vec![(field.to_string(), message)]);
    }
}
