//! KubeVirt instancetypes and preferences (`instancetype.kubevirt.io/v1beta1`), expanded into a
//! VirtualMachine's template the way KubeVirt's instancetype expansion does, for the fields that
//! shape NUMA placement (listed in `ARCHITECTURE.md`):
//!
//! - instancetype `spec.cpu`: `guest` (vCPUs, laid out by the preference's
//!   `preferredCPUTopology`), `dedicatedCPUPlacement`, `isolateEmulatorThread`, `numa`,
//!   `realtime`, `model`, `maxSockets`;
//! - instancetype `spec.memory`: `guest`, `hugepages`, `maxGuest`;
//! - instancetype `spec.ioThreadsPolicy`, `spec.ioThreads`, `spec.annotations`;
//! - preference `spec.cpu.preferredCPUTopology` (`sockets` (the default), `cores`, `threads`,
//!   `spread` with `spec.preferSpreadSocketToCoreRatio` (default 2), `any` as `sockets`) and
//!   `spec.preferredArchitecture`.
//!
//! As in KubeVirt, a template that sets a field the instancetype also sets is a conflict.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::vmi::VmiError;
use crate::vmi::input::{Document, typed};
use crate::vmi::wire::{self, Matcher, QuantityText};

/// The instancetypes and preferences found in the inputs.
#[derive(Debug, Default)]
pub struct Catalogue {
    docs: Vec<Document>,
}

impl Catalogue {
    /// Keeps `doc` if it is an instancetype or a preference.
    pub fn add(&mut self, doc: Document) {
        if matches!(
            doc.kind(),
            "VirtualMachineInstancetype"
                | "VirtualMachineClusterInstancetype"
                | "VirtualMachinePreference"
                | "VirtualMachineClusterPreference"
        ) {
            self.docs.push(doc);
        }
    }

    fn find(&self, kind: &str, name: &str) -> Option<&Document> {
        self.docs.iter().find(|d| d.kind() == kind && d.name() == name)
    }
}

/// `instancetype.kubevirt.io/v1beta1` VirtualMachine(Cluster)Instancetype.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Instancetype {
    spec: Option<InstancetypeSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstancetypeSpec {
    cpu: Option<InstancetypeCpu>,
    memory: Option<InstancetypeMemory>,
    io_threads_policy: Option<String>,
    io_threads: Option<wire::IoThreads>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstancetypeCpu {
    guest: Option<u32>,
    model: Option<String>,
    #[serde(rename = "dedicatedCPUPlacement")]
    dedicated_cpu_placement: Option<bool>,
    isolate_emulator_thread: Option<bool>,
    numa: Option<wire::Numa>,
    realtime: Option<wire::Realtime>,
    max_sockets: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstancetypeMemory {
    guest: Option<QuantityText>,
    hugepages: Option<wire::Hugepages>,
    max_guest: Option<QuantityText>,
}

/// `instancetype.kubevirt.io/v1beta1` VirtualMachine(Cluster)Preference.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Preference {
    spec: Option<PreferenceSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreferenceSpec {
    cpu: Option<PreferenceCpu>,
    prefer_spread_socket_to_core_ratio: Option<u32>,
    preferred_architecture: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreferenceCpu {
    #[serde(rename = "preferredCPUTopology")]
    preferred_cpu_topology: Option<String>,
}

fn lookup<'a>(
    catalogue: &'a Catalogue,
    matcher: &Matcher,
    namespaced: &str,
    cluster: &str,
    origin: &str,
) -> Result<&'a Document, VmiError> {
    let kind = matcher.kind.clone().unwrap_or_else(|| cluster.to_string());
    let kind = match kind.as_str() {
        k if k.eq_ignore_ascii_case(namespaced) || k.eq_ignore_ascii_case(&namespaced.to_lowercase()) => {
            namespaced
        }
        _ => cluster,
    };
    let name = matcher.name.clone().unwrap_or_default();
    catalogue.find(kind, &name).ok_or_else(|| VmiError::Instancetype {
        origin: origin.to_string(),
        message: format!(
            "the VirtualMachine references {kind} {name:?}, which is in none of the inputs \
             (add it to the same YAML stream or pass it with --instancetype FILE)"
        ),
    })
}

/// Expands the instancetype and preference referenced by a VirtualMachine into its template
/// spec and annotations. Returns whether anything was referenced.
///
/// # Errors
/// [`VmiError::Instancetype`] for a missing object or a conflict; [`VmiError::Document`] for a
/// wrong type inside one.
pub fn expand(
    spec: &mut wire::VmiSpec,
    annotations: &mut BTreeMap<String, String>,
    instancetype: Option<&Matcher>,
    preference: Option<&Matcher>,
    catalogue: &Catalogue,
    origin: &str,
) -> Result<bool, VmiError> {
    let it_doc = match instancetype {
        Some(m) => Some(lookup(
            catalogue,
            m,
            "VirtualMachineInstancetype",
            "VirtualMachineClusterInstancetype",
            origin,
        )?),
        None => None,
    };
    let preference: PreferenceSpec = match preference {
        Some(m) => {
            let doc = lookup(
                catalogue,
                m,
                "VirtualMachinePreference",
                "VirtualMachineClusterPreference",
                origin,
            )?;
            typed::<Preference>(&doc.value, &doc.origin)?
                .spec
                .unwrap_or_default()
        }
        None => PreferenceSpec::default(),
    };
    let Some(doc) = it_doc else {
        if spec.architecture.is_none() {
            spec.architecture = preference.preferred_architecture;
        }
        return Ok(false);
    };
    let it = typed::<Instancetype>(&doc.value, &doc.origin)?
        .spec
        .unwrap_or_default();
    let conflict = |field: &str| VmiError::Instancetype {
        origin: origin.to_string(),
        message: format!(
            "VM field(s) spec.template.spec.domain.{field} conflicts with selected instance type"
        ),
    };
    let domain = spec.domain.get_or_insert_with(Default::default);
    if let Some(cpu) = it.cpu {
        let dcpu = domain.cpu.get_or_insert_with(Default::default);
        for (set, name) in [
            (dcpu.sockets.is_some(), "cpu.sockets"),
            (dcpu.cores.is_some(), "cpu.cores"),
            (dcpu.threads.is_some(), "cpu.threads"),
        ] {
            if set && cpu.guest.is_some() {
                return Err(conflict(name));
            }
        }
        if let Some(guest) = cpu.guest {
            let (sockets, cores, threads) = layout(guest, &preference, origin)?;
            dcpu.sockets = Some(sockets);
            dcpu.cores = Some(cores);
            dcpu.threads = Some(threads);
        }
        macro_rules! take {
            ($src:expr, $dst:expr, $name:literal) => {
                if let Some(v) = $src {
                    if $dst.is_some() {
                        return Err(conflict($name));
                    }
                    $dst = Some(v);
                }
            };
        }
        take!(cpu.model, dcpu.model, "cpu.model");
        take!(
            cpu.dedicated_cpu_placement,
            dcpu.dedicated_cpu_placement,
            "cpu.dedicatedCpuPlacement"
        );
        take!(
            cpu.isolate_emulator_thread,
            dcpu.isolate_emulator_thread,
            "cpu.isolateEmulatorThread"
        );
        take!(cpu.numa, dcpu.numa, "cpu.numa");
        take!(cpu.realtime, dcpu.realtime, "cpu.realtime");
        take!(cpu.max_sockets, dcpu.max_sockets, "cpu.maxSockets");
    }
    if let Some(memory) = it.memory {
        let dmem = domain.memory.get_or_insert_with(Default::default);
        if memory.guest.is_some() && dmem.guest.is_some() {
            return Err(conflict("memory.guest"));
        }
        if memory.hugepages.is_some() && dmem.hugepages.is_some() {
            return Err(conflict("memory.hugepages"));
        }
        if memory.guest.is_some() {
            dmem.guest = memory.guest;
        }
        if memory.hugepages.is_some() {
            dmem.hugepages = memory.hugepages;
        }
        if memory.max_guest.is_some() {
            dmem.max_guest = memory.max_guest;
        }
    }
    if let Some(policy) = it.io_threads_policy {
        if domain.io_threads_policy.is_some() {
            return Err(conflict("ioThreadsPolicy"));
        }
        domain.io_threads_policy = Some(policy);
    }
    if it.io_threads.is_some() {
        domain.io_threads = it.io_threads;
    }
    for (k, v) in it.annotations.unwrap_or_default() {
        annotations.entry(k).or_insert(v);
    }
    if spec.architecture.is_none() {
        spec.architecture = preference.preferred_architecture.clone();
    }
    Ok(true)
}

/// vCPUs laid out as the preference asks (KubeVirt's `preferredCPUTopology`).
fn layout(guest: u32, preference: &PreferenceSpec, origin: &str) -> Result<(u32, u32, u32), VmiError> {
    let choice = preference
        .cpu
        .as_ref()
        .and_then(|c| c.preferred_cpu_topology.clone())
        .unwrap_or_else(|| "sockets".into());
    match choice.as_str() {
        "sockets" | "preferSockets" | "any" | "preferAny" => Ok((guest, 1, 1)),
        "cores" | "preferCores" => Ok((1, guest, 1)),
        "threads" | "preferThreads" => Ok((1, 1, guest)),
        "spread" | "preferSpread" => {
            let ratio = preference.prefer_spread_socket_to_core_ratio.unwrap_or(2).max(1);
            if !guest.is_multiple_of(ratio) {
                return Err(VmiError::Instancetype {
                    origin: origin.to_string(),
                    message: format!("vCPUs {guest} cannot be spread with a socket to core ratio of {ratio}"),
                });
            }
            Ok((guest / ratio, ratio, 1))
        }
        other => Err(VmiError::Instancetype {
            origin: origin.to_string(),
            message: format!("unknown preferredCPUTopology {other:?}"),
        }),
    }
}
