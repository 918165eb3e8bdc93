//! The devices and CPU model of a VMI that change placement, admission or the pod: disks with
//! their target and bus (IOThreads), volumes and filesystems (default disks), GPUs, host devices
//! and SR-IOV interfaces (VFIO), and the CPU model with its features. Read from the wire types,
//! then defaulted as KubeVirt's mutating webhook does (`pkg/defaults`, `SetDefaults_DiskDevice`,
//! `SetDefaultVolumeDisk`).

use crate::vmi::wire;
use crate::vmi::{ClusterConfig, Disk, DiskTargetKind, OverheadExtras, PassthroughDevice, Vmi, VmiError};

/// KubeVirt's default CPU model when neither the VMI nor the cluster names one.
pub const DEFAULT_CPU_MODEL: &str = "host-model";
/// The CPU model that exposes the host CPU as it is.
pub const HOST_PASSTHROUGH: &str = "host-passthrough";

/// The disks as written.
pub fn disks(domain: &wire::DomainSpec) -> Vec<Disk> {
    domain
        .devices
        .as_ref()
        .and_then(|d| d.disks.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let (target, t) = match (&d.disk, &d.lun, &d.cdrom) {
                (Some(t), _, _) => (Some(DiskTargetKind::Disk), Some(t)),
                (None, Some(t), _) => (Some(DiskTargetKind::Lun), Some(t)),
                (None, None, Some(t)) => (Some(DiskTargetKind::Cdrom), Some(t)),
                (None, None, None) => (None, None),
            };
            Disk {
                name: d.name.unwrap_or_default(),
                dedicated_io_thread: d.dedicated_io_thread,
                target,
                bus: t.and_then(|t| t.bus.clone()).filter(|b| !b.is_empty()),
                bus_defaulted: false,
                read_only: target == Some(DiskTargetKind::Disk)
                    && t.and_then(|t| t.readonly).unwrap_or(false),
            }
        })
        .collect()
}

/// Fills the device and CPU-model fields of `vmi` from the wire spec.
///
/// # Errors
/// [`crate::k8s::documents::DocumentError::Quantity`] for an `addedOverhead` that does not
/// parse or is negative.
pub fn read(vmi: &mut Vmi, spec: &wire::VmiSpec, origin: &str) -> Result<(), VmiError> {
    let domain = spec.domain.clone().unwrap_or_default();
    let devices = domain.devices.clone().unwrap_or_default();
    let cpu = domain.cpu.clone().unwrap_or_default();
    vmi.disks = disks(&domain);
    vmi.volumes = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.clone().unwrap_or_default())
        .collect();
    vmi.filesystems = devices
        .filesystems
        .iter()
        .flatten()
        .map(|f| f.name.clone().unwrap_or_default())
        .collect();
    let passthrough = |list: &'static str, items: &Option<Vec<wire::PassthroughDevice>>| {
        items
            .iter()
            .flatten()
            .map(|d| PassthroughDevice {
                list,
                name: d.name.clone().unwrap_or_default(),
                device_name: d.device_name.clone().filter(|n| !n.is_empty()),
                claim: d.claim_name.as_deref().is_some_and(|c| !c.is_empty()),
            })
            .collect::<Vec<_>>()
    };
    vmi.passthrough_devices = passthrough("gpus", &devices.gpus);
    vmi.passthrough_devices
        .extend(passthrough("hostDevices", &devices.host_devices));
    vmi.sriov_interfaces = devices
        .interfaces
        .iter()
        .flatten()
        .filter(|i| i.sriov.is_some())
        .map(|i| i.name.clone().unwrap_or_default())
        .collect();
    vmi.cpu.model = cpu.model.filter(|m| !m.is_empty());
    vmi.cpu.features = cpu
        .features
        .iter()
        .flatten()
        .map(|f| {
            (
                f.name.clone().unwrap_or_default(),
                f.policy.clone().filter(|p| !p.is_empty()),
            )
        })
        .collect();
    let added = domain
        .memory
        .as_ref()
        .and_then(|m| m.reserved_overhead.as_ref())
        .and_then(|r| r.added_overhead.as_ref());
    let added_overhead = match added {
        None => None,
        Some(text) => Some(text.parse_at(
            origin,
            &format!("{}.domain.memory.reservedOverhead.addedOverhead", vmi.spec_path),
            true,
        )?),
    };
    let exec = |p: &Option<wire::Probe>| u32::from(p.as_ref().is_some_and(|p| p.exec.is_some()));
    vmi.overhead_extras = OverheadExtras {
        exec_probes: exec(&spec.liveness_probe) + exec(&spec.readiness_probe),
        downward_metrics_volume: spec
            .volumes
            .iter()
            .flatten()
            .any(|v| v.downward_metrics.is_some()),
        sev: domain
            .launch_security
            .as_ref()
            .is_some_and(|l| l.sev.is_some() || l.snp.is_some()),
        tpm: devices.tpm.as_ref().is_some_and(|t| t.enabled != Some(false)),
        added_overhead,
    };
    Ok(())
}

/// The webhook's device and CPU-model defaults, in its order: a disk for every volume without
/// a disk or filesystem; a `disk` target for a disk without one; the architecture's bus for a
/// target without one (`sata` on amd64, `virtio` on arm64 and s390x); the CPU model (arm64:
/// `host-passthrough`; otherwise the cluster's `cpuModel`, else `host-model`).
pub fn apply_defaults(vmi: &mut Vmi, cluster: &ClusterConfig) {
    let named: std::collections::BTreeSet<String> = vmi
        .disks
        .iter()
        .map(|d| d.name.clone())
        .chain(vmi.filesystems.iter().cloned())
        .collect();
    let missing: Vec<String> = vmi
        .volumes
        .iter()
        .filter(|v| !named.contains(*v))
        .cloned()
        .collect();
    vmi.disks.extend(missing.into_iter().map(|name| Disk {
        name,
        ..Disk::default()
    }));
    let arch = vmi
        .architecture
        .clone()
        .unwrap_or_else(|| cluster.default_architecture.clone());
    let default_bus = match arch.as_str() {
        "arm64" | "s390x" => "virtio",
        _ => "sata",
    };
    for disk in &mut vmi.disks {
        disk.target.get_or_insert(DiskTargetKind::Disk);
        if disk.bus.is_none() {
            disk.bus = Some(default_bus.to_string());
            disk.bus_defaulted = true;
        }
    }
    if vmi.cpu.model.is_none() {
        vmi.cpu.model = Some(if arch == "arm64" {
            HOST_PASSTHROUGH.to_string()
        } else {
            cluster
                .cpu_model
                .clone()
                .unwrap_or_else(|| DEFAULT_CPU_MODEL.to_string())
        });
    }
}

/// GPUs and host devices a device plugin provides, as (resource name, count), in the order
/// first met: each adds 1 to its resource (`WithGPUsDevicePlugins`,
/// `WithHostDevicesDevicePlugins`). DRA-claimed devices have none.
pub fn device_plugin_resources(vmi: &Vmi) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for d in &vmi.passthrough_devices {
        let Some(name) = d.device_name.as_ref().filter(|_| !d.claim) else {
            continue;
        };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => *count += 1,
            None => out.push((name.clone(), 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_defaults_bus_per_architecture_and_adds_volume_disks() {
        let mut vmi = Vmi {
            architecture: Some("amd64".into()),
            disks: vec![
                Disk {
                    name: "a".into(),
                    ..Disk::default()
                },
                Disk {
                    name: "b".into(),
                    target: Some(DiskTargetKind::Cdrom),
                    ..Disk::default()
                },
                Disk {
                    name: "c".into(),
                    target: Some(DiskTargetKind::Lun),
                    bus: Some("virtio".into()),
                    ..Disk::default()
                },
            ],
            volumes: vec!["a".into(), "fs".into(), "extra".into()],
            filesystems: vec!["fs".into()],
            ..Vmi::default()
        };
        apply_defaults(&mut vmi, &ClusterConfig::default());
        let buses: Vec<(&str, Option<DiskTargetKind>, &str, bool)> = vmi
            .disks
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.target,
                    d.bus.as_deref().unwrap_or(""),
                    d.bus_defaulted,
                )
            })
            .collect();
        assert_eq!(
            buses,
            [
                ("a", Some(DiskTargetKind::Disk), "sata", true),
                ("b", Some(DiskTargetKind::Cdrom), "sata", true),
                ("c", Some(DiskTargetKind::Lun), "virtio", false),
                ("extra", Some(DiskTargetKind::Disk), "sata", true),
            ]
        );
        assert_eq!(vmi.cpu.model.as_deref(), Some("host-model"));

        let mut arm = Vmi {
            architecture: Some("arm64".into()),
            disks: vec![Disk::default()],
            ..Vmi::default()
        };
        let cluster = ClusterConfig {
            cpu_model: Some("Skylake-Server".into()),
            ..ClusterConfig::default()
        };
        apply_defaults(&mut arm, &cluster);
        assert_eq!(arm.disks[0].bus.as_deref(), Some("virtio"));
        // arm64 ignores the cluster's model
        assert_eq!(arm.cpu.model.as_deref(), Some("host-passthrough"));
        let mut x86 = Vmi::default();
        apply_defaults(&mut x86, &cluster);
        assert_eq!(x86.cpu.model.as_deref(), Some("Skylake-Server"));
    }

    #[test]
    fn device_plugin_resources_count_per_device_and_skip_claims() {
        let dev = |name: Option<&str>, claim: bool| PassthroughDevice {
            list: "gpus",
            name: "g".into(),
            device_name: name.map(Into::into),
            claim,
        };
        let vmi = Vmi {
            passthrough_devices: vec![
                dev(Some("nvidia.com/T4"), false),
                dev(Some("intel.com/qat"), false),
                dev(Some("nvidia.com/T4"), false),
                dev(None, true),
            ],
            ..Vmi::default()
        };
        assert_eq!(
            device_plugin_resources(&vmi),
            [("nvidia.com/T4".to_string(), 2), ("intel.com/qat".to_string(), 1)]
        );
        assert!(vmi.is_vfio());
    }
}
