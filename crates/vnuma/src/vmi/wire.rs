//! Mirrors of the KubeVirt API objects vnuma reads (`kubevirt.io/v1`), with upstream field
//! names. Only the fields that matter are declared; unknown fields are accepted, as real
//! manifests carry many. Quantities are kept as text here and parsed in [`super`].

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::k8s::quantity::QuantityText;

/// Any object: enough to dispatch on `kind`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeMeta {
    /// `kubevirt.io/v1`, `v1`, ...
    pub api_version: Option<String>,
    /// `VirtualMachineInstance`, `VirtualMachine`, `List`, ...
    pub kind: Option<String>,
    /// Name and friends.
    pub metadata: Option<ObjectMeta>,
}

/// `metadata`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    pub name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Annotations.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// A `kubevirt.io/v1` VirtualMachineInstance.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineInstance {
    /// Metadata.
    pub metadata: Option<ObjectMeta>,
    /// The spec.
    pub spec: Option<VmiSpec>,
}

/// A `kubevirt.io/v1` VirtualMachine.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    /// Metadata.
    pub metadata: Option<ObjectMeta>,
    /// The spec.
    pub spec: Option<VirtualMachineSpec>,
}

/// `VirtualMachine.spec`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineSpec {
    /// The VMI template.
    pub template: Option<VmiTemplate>,
    /// Instancetype reference.
    pub instancetype: Option<Matcher>,
    /// Preference reference.
    pub preference: Option<Matcher>,
}

/// `spec.template`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmiTemplate {
    /// Template metadata (annotations reach the VMI).
    pub metadata: Option<ObjectMeta>,
    /// The VMI spec.
    pub spec: Option<VmiSpec>,
}

/// An instancetype or preference reference.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// Object name.
    pub name: Option<String>,
    /// `VirtualMachineInstancetype`, `VirtualMachineClusterInstancetype` (the default), ...
    pub kind: Option<String>,
}

/// `VirtualMachineInstance.spec`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmiSpec {
    /// The domain.
    pub domain: Option<DomainSpec>,
    /// `amd64`, `arm64`, `s390x`.
    pub architecture: Option<String>,
    /// Volumes (one without a disk or filesystem of its name gets a default disk).
    pub volumes: Option<Vec<Volume>>,
    /// Liveness probe (an `exec` one adds memory overhead).
    pub liveness_probe: Option<Probe>,
    /// Readiness probe (likewise).
    pub readiness_probe: Option<Probe>,
}

/// One volume: its name, and whether it is the downward-metrics disk (memory overhead).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Volume {
    /// Name.
    pub name: Option<String>,
    /// A downward-metrics volume.
    #[serde(rename = "downwardMetrics")]
    pub downward_metrics: Option<Empty>,
}

/// A probe: only whether it runs a command matters here.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Probe {
    /// An exec probe.
    pub exec: Option<Empty>,
}

/// `spec.domain`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainSpec {
    /// CPU.
    pub cpu: Option<Cpu>,
    /// Memory.
    pub memory: Option<Memory>,
    /// Resources.
    pub resources: Option<Resources>,
    /// `shared`, `auto`, `supplementalPool`.
    pub io_threads_policy: Option<String>,
    /// Supplemental pool settings.
    pub io_threads: Option<IoThreads>,
    /// Devices (disks matter for IOThreads).
    pub devices: Option<Devices>,
    /// Launch security (SEV adds memory overhead).
    pub launch_security: Option<LaunchSecurity>,
}

/// `spec.domain.launchSecurity`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LaunchSecurity {
    /// AMD SEV (and SEV-ES).
    pub sev: Option<Empty>,
    /// AMD SEV-SNP.
    pub snp: Option<Empty>,
}

/// `spec.domain.cpu`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    /// Sockets.
    pub sockets: Option<u32>,
    /// Cores per socket.
    pub cores: Option<u32>,
    /// Threads per core.
    pub threads: Option<u32>,
    /// Maximum sockets (CPU hotplug).
    pub max_sockets: Option<u32>,
    /// CPU model.
    pub model: Option<String>,
    /// CPU features.
    pub features: Option<Vec<CpuFeature>>,
    /// Dedicated CPUs.
    pub dedicated_cpu_placement: Option<bool>,
    /// One extra CPU for the emulator thread.
    pub isolate_emulator_thread: Option<bool>,
    /// NUMA.
    pub numa: Option<Numa>,
    /// Realtime.
    pub realtime: Option<Realtime>,
}

/// One `spec.domain.cpu.features` item.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CpuFeature {
    /// Feature name.
    pub name: Option<String>,
    /// `force`, `require`, `optional`, `disable`, `forbid`.
    pub policy: Option<String>,
}

/// `spec.domain.cpu.numa`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Numa {
    /// An empty object turns passthrough on.
    pub guest_mapping_passthrough: Option<Empty>,
}

/// An empty object (`{}`); extra fields are ignored.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Empty {}

/// `spec.domain.cpu.realtime`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Realtime {
    /// vCPUs to run with SCHED_FIFO, libvirt bitmap syntax.
    pub mask: Option<String>,
}

/// `spec.domain.memory`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    /// Guest memory.
    pub guest: Option<QuantityText>,
    /// Maximum guest memory (memory hotplug).
    pub max_guest: Option<QuantityText>,
    /// Hugepages.
    pub hugepages: Option<Hugepages>,
    /// Extra overhead the user reserves.
    pub reserved_overhead: Option<ReservedOverhead>,
}

/// `spec.domain.memory.reservedOverhead`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ReservedOverhead {
    /// Added to KubeVirt's memory overhead.
    #[serde(rename = "addedOverhead")]
    pub added_overhead: Option<QuantityText>,
}

/// `spec.domain.memory.hugepages`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hugepages {
    /// `2Mi`, `1Gi`.
    pub page_size: Option<String>,
}

/// `spec.domain.resources`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// Requests by resource name.
    pub requests: Option<BTreeMap<String, QuantityText>>,
    /// Limits by resource name.
    pub limits: Option<BTreeMap<String, QuantityText>>,
}

/// `spec.domain.ioThreads`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IoThreads {
    /// Supplemental pool size.
    pub supplemental_pool_thread_count: Option<i64>,
}

/// `spec.domain.devices`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Devices {
    /// Disks.
    pub disks: Option<Vec<Disk>>,
    /// Whether a video device is attached (memory overhead).
    pub autoattach_graphics_device: Option<bool>,
    /// Filesystems (a volume they name gets no default disk).
    pub filesystems: Option<Vec<Filesystem>>,
    /// GPUs (VFIO).
    pub gpus: Option<Vec<PassthroughDevice>>,
    /// Host devices (VFIO).
    #[serde(rename = "hostDevices")]
    pub host_devices: Option<Vec<PassthroughDevice>>,
    /// Network interfaces (SR-IOV ones are VFIO).
    pub interfaces: Option<Vec<Interface>>,
    /// A TPM (its swtpm process adds memory overhead).
    pub tpm: Option<Tpm>,
}

/// `spec.domain.devices.tpm`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Tpm {
    /// Off when `false`.
    pub enabled: Option<bool>,
}

/// One filesystem: only its name matters here.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filesystem {
    /// Name.
    pub name: Option<String>,
}

/// A GPU or host device (`v1.GPU`, `v1.HostDevice`): a device-plugin resource, or a DRA claim.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PassthroughDevice {
    /// Name.
    pub name: Option<String>,
    /// The device plugin's resource name, e.g. `nvidia.com/TU104GL_Tesla_T4`.
    #[serde(rename = "deviceName")]
    pub device_name: Option<String>,
    /// DRA claim (instead of `deviceName`).
    #[serde(rename = "claimName")]
    pub claim_name: Option<String>,
}

/// One network interface: its name and whether it is SR-IOV.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Interface {
    /// Name.
    pub name: Option<String>,
    /// Present (an empty object) for an SR-IOV interface.
    pub sriov: Option<Empty>,
}

/// One disk.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// Name.
    pub name: Option<String>,
    /// Own IOThread. KubeVirt spells it with capitals (`dedicatedIOThread`).
    #[serde(rename = "dedicatedIOThread")]
    pub dedicated_io_thread: Option<bool>,
    /// A disk target.
    pub disk: Option<DiskTarget>,
    /// A LUN target.
    pub lun: Option<DiskTarget>,
    /// A CD-ROM target.
    pub cdrom: Option<DiskTarget>,
}

/// `disk`, `lun` or `cdrom` of a disk: only the bus matters here.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct DiskTarget {
    /// `virtio`, `sata`, `scsi`, `usb`.
    pub bus: Option<String>,
    /// Read-only (`readonly`, all lower case in the API).
    pub readonly: Option<bool>,
}
