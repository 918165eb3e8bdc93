//! Stage 3: a KubeVirt VirtualMachineInstance (or VirtualMachine) into a validated [`Vmi`].
//!
//! [`input`] reads YAML streams (multi-document, `kind: List`, VirtualMachine templates,
//! instancetypes and preferences) into [`wire`] mirrors and converts them, naming the field
//! path of any wrong type or bad quantity; [`defaults`] applies KubeVirt's webhook defaults;
//! [`admission`] runs its validating webhook rules with KubeVirt's exact messages.

pub mod admission;
pub mod cluster;
pub mod defaults;
pub mod devices;
pub mod input;
pub mod instancetype;
pub mod pod;
pub mod schema;
pub mod select;
pub mod wire;
#[cfg(test)]
mod wire_schema;

use std::collections::BTreeMap;

pub use crate::k8s::quantity::{self, Quantity};

use crate::k8s::documents::DocumentError;

/// The annotation that asks for an even number of emulator + vCPU threads.
pub const EVEN_PARITY_ANNOTATION: &str = "alpha.kubevirt.io/EmulatorThreadCompleteToEvenParity";
/// The annotation that turns the memfd memory backend off.
pub const MEMFD_ANNOTATION: &str = "kubevirt.io/memfd";

/// A VMI as the planner needs it: upstream names, parsed quantities, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vmi {
    /// Namespace (`default` when unset).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `spec.architecture` (defaulted to the cluster's).
    pub architecture: Option<String>,
    /// `spec.domain.cpu`.
    pub cpu: CpuSpec,
    /// `spec.domain.memory`.
    pub memory: MemorySpec,
    /// `spec.domain.resources`.
    pub resources: Resources,
    /// `spec.domain.ioThreadsPolicy`.
    pub io_threads_policy: Option<String>,
    /// `spec.domain.ioThreads.supplementalPoolThreadCount`.
    pub supplemental_pool_thread_count: Option<i64>,
    /// Disks: name and `dedicatedIOThread`.
    pub disks: Vec<Disk>,
    /// `spec.domain.devices.autoattachGraphicsDevice`.
    pub autoattach_graphics_device: Option<bool>,
    /// `spec.volumes[].name` (a volume without a disk or filesystem gets a default disk).
    pub volumes: Vec<String>,
    /// `spec.domain.devices.filesystems[].name`.
    pub filesystems: Vec<String>,
    /// `spec.domain.devices.gpus` and `hostDevices`: VFIO devices.
    pub passthrough_devices: Vec<PassthroughDevice>,
    /// Names of the SR-IOV interfaces (`spec.domain.devices.interfaces[].sriov`): VFIO too.
    pub sriov_interfaces: Vec<String>,
    /// The other things KubeVirt's memory overhead counts.
    pub overhead_extras: OverheadExtras,
    /// The field path of the spec in its object (`spec` for a VMI, `spec.template.spec` for a
    /// VirtualMachine): admission messages start with it.
    pub spec_path: String,
}

/// `spec.domain.cpu`; zero means unset, as in the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuSpec {
    /// Sockets.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Threads per core.
    pub threads: u32,
    /// Maximum sockets (CPU hotplug).
    pub max_sockets: u32,
    /// `dedicatedCpuPlacement`.
    pub dedicated: bool,
    /// `isolateEmulatorThread`.
    pub isolate_emulator_thread: bool,
    /// `numa` is present (possibly empty).
    pub numa: bool,
    /// `numa.guestMappingPassthrough` is present.
    pub passthrough: bool,
    /// `realtime`, with its mask.
    pub realtime: Option<Realtime>,
    /// `model` (`host-model`, `host-passthrough` or a named model); defaulted by the webhook.
    pub model: Option<String>,
    /// `features`: (name, policy as written).
    pub features: Vec<(String, Option<String>)>,
}

/// `spec.domain.cpu.realtime`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Realtime {
    /// The vCPU mask, libvirt bitmap syntax.
    pub mask: Option<String>,
}

/// `spec.domain.memory`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemorySpec {
    /// `spec.domain.memory` is present at all.
    pub present: bool,
    /// `guest`.
    pub guest: Option<Quantity>,
    /// `maxGuest`.
    pub max_guest: Option<Quantity>,
    /// `hugepages` is present (with its `pageSize` text, possibly empty).
    pub hugepages: Option<String>,
}

/// `spec.domain.resources` (cpu and memory only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    /// `requests.cpu`.
    pub requests_cpu: Option<Quantity>,
    /// `requests.memory`.
    pub requests_memory: Option<Quantity>,
    /// `limits.cpu`.
    pub limits_cpu: Option<Quantity>,
    /// `limits.memory`.
    pub limits_memory: Option<Quantity>,
}

/// One disk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    /// Name.
    pub name: String,
    /// `dedicatedIOThread`.
    pub dedicated_io_thread: Option<bool>,
    /// Which target the disk has (`disk`, `lun`, `cdrom`); `None` when none is written (the
    /// webhook then makes it a `disk`).
    pub target: Option<DiskTargetKind>,
    /// The target's `bus` (as written, then defaulted by the webhook).
    pub bus: Option<String>,
    /// Whether the webhook chose the bus (it was not written).
    pub bus_defaulted: bool,
    /// `disk.readonly`.
    pub read_only: bool,
}

/// The target of a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskTargetKind {
    /// `disk`.
    Disk,
    /// `lun`.
    Lun,
    /// `cdrom`.
    Cdrom,
}

impl DiskTargetKind {
    /// The API's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskTargetKind::Disk => "disk",
            DiskTargetKind::Lun => "lun",
            DiskTargetKind::Cdrom => "cdrom",
        }
    }
}

/// What else adds to KubeVirt's memory overhead (`GetMemoryOverhead`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OverheadExtras {
    /// `exec` liveness and readiness probes (0-2).
    pub exec_probes: u32,
    /// A `downwardMetrics` volume.
    pub downward_metrics_volume: bool,
    /// `launchSecurity.sev` or `snp`.
    pub sev: bool,
    /// A TPM that is not disabled.
    pub tpm: bool,
    /// `memory.reservedOverhead.addedOverhead`.
    pub added_overhead: Option<Quantity>,
}

/// A GPU or host device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PassthroughDevice {
    /// `gpus` or `hostDevices`.
    pub list: &'static str,
    /// Name.
    pub name: String,
    /// `deviceName`: the device plugin's resource.
    pub device_name: Option<String>,
    /// Allocated through a DRA claim (`claimName`) instead.
    pub claim: bool,
}

/// Cluster-wide settings, from a `KubeVirt` CR (`--kubevirt-config`) or KubeVirt's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `spec.configuration.architectureConfiguration.defaultArchitecture`.
    pub default_architecture: String,
    /// Feature gates that are on.
    pub feature_gates: Vec<String>,
    /// `spec.configuration.liveUpdateConfiguration.maxCpuSockets`.
    pub max_cpu_sockets: Option<u32>,
    /// `spec.configuration.liveUpdateConfiguration.maxHotplugRatio` (default 4).
    pub max_hotplug_ratio: u32,
    /// `spec.configuration.additionalGuestMemoryOverheadRatio`.
    pub memory_overhead_ratio: Option<String>,
    /// `spec.configuration.vmRolloutStrategy` is `LiveUpdate` (the default).
    pub live_update: bool,
    /// Annotations of the KubeVirt CR (the even-parity annotation is copied from here).
    pub annotations: BTreeMap<String, String>,
    /// `spec.configuration.cpuModel`: the CPU model of VMIs that name none.
    pub cpu_model: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            default_architecture: "amd64".to_string(),
            feature_gates: Vec::new(),
            max_cpu_sockets: None,
            max_hotplug_ratio: 4,
            memory_overhead_ratio: None,
            live_update: true,
            annotations: BTreeMap::new(),
            cpu_model: None,
        }
    }
}

impl ClusterConfig {
    /// Whether a feature gate is on.
    pub fn gate(&self, name: &str) -> bool {
        self.feature_gates.iter().any(|g| g == name)
    }
}

impl Vmi {
    /// vCPUs as KubeVirt counts them (`GetNumberOfVCPUs`): sockets × cores × threads,
    /// zeros skipped, hotplug sockets not counted.
    pub fn vcpus(&self) -> u32 {
        [self.cpu.sockets, self.cpu.cores, self.cpu.threads]
            .iter()
            .filter(|&&n| n != 0)
            .fold(0, |acc, &n| if acc == 0 { n } else { acc.saturating_mul(n) })
    }

    /// The guest topology as the converter uses it: zeros read as 1.
    pub fn topology(&self) -> (u32, u32, u32) {
        let one = |n: u32| n.max(1);
        (one(self.cpu.sockets), one(self.cpu.cores), one(self.cpu.threads))
    }

    /// Whether KubeVirt counts the VMI as a VFIO one (`IsVFIOVMI`): any GPU, host device or
    /// SR-IOV interface.
    pub fn is_vfio(&self) -> bool {
        !self.passthrough_devices.is_empty() || !self.sriov_interfaces.is_empty()
    }

    /// Guest memory as `GetVirtualMemory` reads it: `memory.guest`; else `limits.memory` when
    /// it is set and `requests.memory` is not; else `requests.memory`.
    pub fn virtual_memory(&self) -> Option<&Quantity> {
        if let Some(guest) = &self.memory.guest {
            return Some(guest);
        }
        match (&self.resources.limits_memory, &self.resources.requests_memory) {
            (Some(limit), None) => Some(limit),
            (_, request) => request.as_ref(),
        }
    }
}

/// One admission cause: the field path and KubeVirt's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid` or `FieldValueRequired`.
    pub kind: &'static str,
    /// e.g. `spec.domain.cpu.dedicatedCpuPlacement`.
    pub field: String,
    /// KubeVirt's message, exactly.
    pub message: String,
}

/// Everything that can go wrong reading a VMI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmiError {
    /// A document, or a field of it, that cannot be read (not YAML, a wrong type, a bad
    /// quantity, no such object).
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// An instancetype or preference that cannot be applied.
    #[error("{origin}: {message}")]
    Instancetype {
        /// The file.
        origin: String,
        /// What went wrong.
        message: String,
    },
    /// KubeVirt's admission webhook would reject the VMI.
    #[error("admission webhook \"virtualmachineinstances-create-validator.kubevirt.io\" denied the request: {}", causes_text(.causes))]
    Rejected {
        /// Every cause, as KubeVirt lists them.
        causes: Vec<Cause>,
    },
}

/// A document error in the VMI's words: the same variant, the same message.
fn causes_text(causes: &[Cause]) -> String {
    causes
        .iter()
        .map(|c| c.message.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
