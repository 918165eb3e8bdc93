//! KubeVirt's validating webhook rules that touch CPU placement, memory and NUMA
//! (`vmi-create-admitter.go`, `vms-admitter.go`), with KubeVirt's exact messages and field
//! paths, typos and trailing spaces included (behaviour reference §2).

use crate::k8s::quantity::Quantity;
use crate::vmi::{Cause, ClusterConfig, Vmi};

const INVALID: &str = "FieldValueInvalid";
const REQUIRED: &str = "FieldValueRequired";
const NOT_SUPPORTED: &str = "FieldValueNotSupported";

/// The regular expression Kubernetes names when a quantity does not parse.
const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

fn value(q: Option<&Quantity>) -> i64 {
    q.map_or(0, Quantity::value)
}

/// Every cause KubeVirt would list for this VMI; empty when it would be admitted.
pub fn validate(vmi: &Vmi, cluster: &ClusterConfig) -> Vec<Cause> {
    let p = vmi.spec_path.as_str();
    let mut causes = Vec::new();
    causes.extend(disk_causes(vmi));
    let mut cause =
        |kind: &'static str, field: String, message: String| causes.push(Cause { kind, field, message });
    let cpu = &vmi.cpu;
    let res = &vmi.resources;

    if cpu.max_sockets != 0 && cpu.sockets > cpu.max_sockets {
        cause(
            INVALID,
            format!("{p}.domain.cpu.sockets"),
            "Number of sockets in CPU topology is greater than the maximum sockets allowed".into(),
        );
    }

    if let Some(page_text) = &vmi.memory.hugepages {
        match Quantity::parse(page_text) {
            Err(_) => cause(
                INVALID,
                format!("{p}.domain.memory.hugepages.pageSize"),
                format!("{p}.domain.memory.hugepages.pageSize '{page_text}': {QUANTITY_FORMAT}"),
            ),
            Ok(page) => {
                let vm_memory = [
                    res.requests_memory.as_ref(),
                    vmi.memory.guest.as_ref(),
                    res.limits_memory.as_ref(),
                ]
                .into_iter()
                .flatten()
                .map(Quantity::value)
                .find(|&v| v != 0)
                .unwrap_or(0);
                let request = res
                    .requests_memory
                    .as_ref()
                    .map_or_else(|| "0".to_string(), ToString::to_string);
                let page_value = page.value();
                if vm_memory != 0 && vm_memory < page_value {
                    cause(
                        INVALID,
                        format!("{p}.domain.resources.requests.memory"),
                        format!(
                            "{p}.domain.resources.requests.memory '{request}' must be equal to or larger than page size {p}.domain.memory.hugepages.pageSize '{page}'"
                        ),
                    );
                } else if page_value > 0 && vm_memory % page_value != 0 {
                    cause(
                        INVALID,
                        format!("{p}.domain.resources.requests.memory"),
                        format!(
                            "{p}.domain.resources.requests.memory '{request}' is not a multiple of the page size {p}.domain.memory.hugepages.pageSize '{page}'"
                        ),
                    );
                }
            }
        }
    }

    if !cluster.live_update
        && let (Some(guest), Some(limit)) = (&vmi.memory.guest, &res.limits_memory)
        && guest.value() > limit.value()
    {
        cause(
            INVALID,
            format!("{p}.domain.memory.guest"),
            format!(
                "{p}.domain.memory.guest '{guest}' must be equal to or less than the memory limit {p}.domain.resources.limits.memory '{limit}'"
            ),
        );
    }

    if cpu.passthrough {
        let field = format!("{p}.domain.cpu.numa.guestMappingPassthrough");
        if !cpu.dedicated {
            cause(
                INVALID,
                field.clone(),
                format!(
                    "{p}.domain.cpu.dedicatedCpuPlacement must be set to true when NUMA topology strategy is set in {p}.domain.cpu.numa.guestMappingPassthrough"
                ),
            );
        }
        if vmi.memory.hugepages.is_none() {
            cause(
                INVALID,
                field,
                format!(
                    "{p}.domain.memory.hugepages must be requested when NUMA topology strategy is set in {p}.domain.cpu.numa.guestMappingPassthrough"
                ),
            );
        }
    }

    if cpu.isolate_emulator_thread && !cpu.dedicated {
        cause(
            INVALID,
            format!("{p}.domain.cpu.isolateEmulatorThread"),
            "IsolateEmulatorThread should be only set in combination with DedicatedCPUPlacement".into(),
        );
    }

    if cpu.dedicated {
        let no_guest = vmi.memory.guest.as_ref().is_none_or(Quantity::is_zero);
        if value(res.limits_memory.as_ref()) == 0
            && value(res.requests_memory.as_ref()) == 0
            && vmi.memory.hugepages.is_none()
            && no_guest
        {
            cause(
                INVALID,
                format!("{p}.domain.resources.limits.memory"),
                format!(
                    "{p}.domain.resources.requests.memory, {p}.domain.resources.limits.memory, {p}.domain.memory.hugepages or {p}.domain.memory.guest should be provided"
                ),
            );
        }
        let whole = |q: &Quantity| q.value().saturating_mul(1000) == q.milli_value();
        let fractional = |q: Option<&Quantity>| q.is_some_and(|q| q.value() > 0 && !whole(q));
        if fractional(res.requests_cpu.as_ref()) {
            cause(
                INVALID,
                format!("{p}.domain.resources.requests.cpu"),
                "provided resources CPU requests must be an interger".into(),
            );
        }
        if fractional(res.limits_cpu.as_ref()) {
            cause(
                INVALID,
                format!("{p}.domain.resources.limits.cpu"),
                "provided resources CPU limits must be an interger".into(),
            );
        }
        let (req_mem, lim_mem) = (
            value(res.requests_memory.as_ref()),
            value(res.limits_memory.as_ref()),
        );
        if req_mem > 0 && lim_mem > 0 && req_mem != lim_mem {
            cause(
                INVALID,
                format!("{p}.domain.resources.requests.memory"),
                format!(
                    "{p}.domain.resources.requests.memory must be equal to {p}.domain.resources.limits.memory"
                ),
            );
        }
        let (req, lim) = (value(res.requests_cpu.as_ref()), value(res.limits_cpu.as_ref()));
        let vcpus = i64::from(vmi.vcpus());
        let field = format!("{p}.domain.cpu.dedicatedCpuPlacement");
        if req == 0 && lim == 0 && vcpus == 0 {
            cause(
                INVALID,
                field.clone(),
                format!(
                    "either {p}.domain.resources.requests.cpu or {p}.domain.resources.limits.cpu or {p}.domain.cpu.cores must be provided when DedicatedCPUPlacement is true "
                ),
            );
        } else if req > 0 && lim > 0 && req != lim {
            cause(
                INVALID,
                field.clone(),
                format!(
                    "{p}.domain.resources.requests.cpu or {p}.domain.resources.limits.cpu must be equal when DedicatedCPUPlacement is true "
                ),
            );
        } else if (req > 0 || lim > 0) && vcpus > 0 && req != vcpus && lim != vcpus {
            cause(
                INVALID,
                field.clone(),
                format!(
                    "{p}.domain.resources.requests.cpu or {p}.domain.resources.limits.cpu must not be provided at the same time with {p}.domain.cpu.cores when DedicatedCPUPlacement is true "
                ),
            );
        }
        let arch = vmi
            .architecture
            .as_deref()
            .unwrap_or(&cluster.default_architecture);
        if cpu.threads > 1 && arch == "arm64" {
            cause(
                INVALID,
                format!("{p}.architecture"),
                format!(
                    "threads must not be greater than 1 at {p}.domain.cpu.threads (got {}) when {p}.architecture is arm64",
                    cpu.threads
                ),
            );
        }
        if cpu.threads > 2 {
            cause(
                INVALID,
                field,
                format!(
                    "Not more than two threads must be provided at {p}.domain.cpu.threads (got {}) when DedicatedCPUPlacement is true",
                    cpu.threads
                ),
            );
        }
    }

    if cpu.realtime.is_some() {
        if !cpu.dedicated {
            cause(
                REQUIRED,
                format!("{p}.domain.cpu.dedicatedCpuPlacement"),
                format!(
                    "{p}.domain.cpu.dedicatedCpuPlacement must be set to true when {p}.domain.cpu.realtime is used"
                ),
            );
        }
        if !cpu.passthrough {
            cause(
                REQUIRED,
                format!("{p}.domain.cpu.numa.guestMappingPassthrough"),
                format!(
                    "{p}.domain.cpu.numa.guestMappingPassthrough must be defined when {p}.domain.cpu.realtime is used"
                ),
            );
        }
    }

    if let Some(policy) = &vmi.io_threads_policy {
        if !matches!(policy.as_str(), "shared" | "auto" | "supplementalPool") {
            cause(
                INVALID,
                format!("{p}.domain.ioThreadsPolicy"),
                format!("Invalid IOThreadsPolicy ({policy})"),
            );
        } else if policy == "supplementalPool" && vmi.supplemental_pool_thread_count.is_none_or(|n| n < 1) {
            cause(
                INVALID,
                format!("{p}.domain.ioThreads.count"),
                "the number of iothreads needs to be set and positive for the dedicated policy".into(),
            );
        }
    }

    if p == "spec.template.spec" && cluster.live_update && vmi.memory.max_guest.is_some() {
        if cpu.passthrough {
            cause(
                INVALID,
                "spec.template.spec.domain.memory.guest".into(),
                "Memory hotplug is not compatible with guest mapping passthrough".into(),
            );
        } else if cpu.realtime.is_some() {
            cause(
                INVALID,
                "spec.template.spec.domain.memory.guest".into(),
                "Memory hotplug is not compatible with realtime VMs".into(),
            );
        }
    }
    causes
}

/// The storage admitter's bus rules for each disk (`validateBusSupport`), run before the
/// spec rules. They see the buses the mutating webhook defaulted, so a VirtualMachine whose
/// disk names no bus passes its own admission and is refused when its VMI is created: those
/// causes carry the VMI's `spec` prefix. KubeVirt names the IOThreads cause's field with the
/// disks path twice (`spec.domain.devices.disks.domain.devices.disks[0]`); that is kept.
fn disk_causes(vmi: &Vmi) -> Vec<Cause> {
    let mut causes = Vec::new();
    for (idx, disk) in vmi.disks.iter().enumerate() {
        let Some(bus) = disk.bus.as_deref() else {
            continue;
        };
        let p = if disk.bus_defaulted {
            "spec"
        } else {
            vmi.spec_path.as_str()
        };
        let disks = format!("{p}.domain.devices.disks");
        let target = disk.target.unwrap_or(crate::vmi::DiskTargetKind::Disk);
        let bus_field = format!("{disks}[{idx}].{}.bus", target.as_str());
        let mut cause = |kind: &'static str, field: String, message: String| {
            causes.push(Cause { kind, field, message });
        };
        match bus {
            "ide" => cause(INVALID, bus_field, "IDE bus is not supported".into()),
            "virtio" if target == crate::vmi::DiskTargetKind::Cdrom => cause(
                INVALID,
                bus_field,
                "Bus type virtio is invalid for CD-ROM device".into(),
            ),
            "sata" if disk.read_only => {
                cause(
                    INVALID,
                    bus_field,
                    "sata hard-disks do not support read-only.".into(),
                );
            }
            "virtio" | "sata" | "scsi" | "usb" => {}
            other => cause(
                INVALID,
                bus_field,
                format!(
                    "{disks}[{idx}] is set with an unrecognized bus {other}, must be one of: [virtio scsi sata usb]"
                ),
            ),
        }
        if disk.dedicated_io_thread == Some(true) && bus != "virtio" {
            cause(
                NOT_SUPPORTED,
                format!("{disks}.domain.devices.disks[{idx}]"),
                format!("IOThreads are not supported for disks on a {bus} bus"),
            );
        }
    }
    causes
}

#[cfg(test)]
mod tests;
