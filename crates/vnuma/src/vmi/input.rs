//! Reading VMIs: YAML text → documents → the selected VirtualMachineInstance or
//! VirtualMachine → [`Vmi`], with field paths in every error.
//!
//! A stream may hold several documents (`---`) and `kind: List` objects; VMIs and VMs are
//! candidates, picked by name when there are several. Instancetypes and preferences in the
//! same stream (or given separately) expand a VirtualMachine that references them.

use serde_json::Value;

use crate::k8s::documents::DocumentError;
pub use crate::k8s::documents::{Document, Source, documents, typed};
use crate::k8s::quantity::Quantity;
use crate::vmi::instancetype::{self, Catalogue};
use crate::vmi::select::{self, Selector};
use crate::vmi::{CpuSpec, MemorySpec, Realtime, Resources, Vmi, VmiError, devices};
use crate::vmi::{schema, wire};

/// The unknown fields of every KubeVirt object in a YAML stream (VMIs, VMs, instancetypes,
/// preferences, the KubeVirt CR), judged by KubeVirt's schema as the API server's field
/// validation would: one `Kind/name: unknown field PATH; did you mean NAME?` line each.
///
/// # Errors
/// [`DocumentError::Yaml`] for a stream that does not parse.
pub fn unknown_fields(source: Source<'_>) -> Result<Vec<String>, VmiError> {
    let mut out = Vec::new();
    for doc in documents(source)? {
        for field in schema::unknown_fields(&doc.value) {
            out.push(format!("{}/{}: {field}", doc.kind(), doc.name()));
        }
    }
    Ok(out)
}

/// Reads the VMI from `main` (picked by `name`, `NAME` or `KIND/NAME`, when several are
/// there), expanding a VirtualMachine's instancetype and preference from `main` and `extra`
/// sources.
///
/// # Errors
/// [`VmiError`] naming the file, the field path and the value.
pub fn read_vmi(main: Source<'_>, extra: &[Source<'_>], name: Option<&str>) -> Result<Vmi, VmiError> {
    let selector = Selector::parse(name, None).map_err(|message| DocumentError::Select {
        origin: main.origin.to_string(),
        message,
    })?;
    read_vmi_selected(main, extra, &selector)
}

/// [`read_vmi`] with a [`Selector`]: kind, name and namespace.
///
/// # Errors
/// [`VmiError`] naming the file, the field path and the value.
pub fn read_vmi_selected(
    main: Source<'_>,
    extra: &[Source<'_>],
    selector: &Selector,
) -> Result<Vmi, VmiError> {
    let docs = documents(main)?;
    let mut catalogue = Catalogue::default();
    for doc in docs.iter().cloned() {
        catalogue.add(doc);
    }
    for source in extra {
        for doc in documents(*source)? {
            catalogue.add(doc);
        }
    }
    let candidates: Vec<&Document> = docs
        .iter()
        .filter(|d| matches!(d.kind(), "VirtualMachineInstance" | "VirtualMachine"))
        .collect();
    let chosen = select::pick(&candidates, selector).map_err(|message| DocumentError::Select {
        origin: main.origin.to_string(),
        message,
    })?;
    let origin = chosen.origin.as_str();
    match chosen.kind() {
        "VirtualMachine" => {
            // The API server's own words for a VirtualMachine without its template.
            if chosen.value.pointer("/spec/template").is_none_or(Value::is_null) {
                return Err(DocumentError::Field {
                    origin: origin.to_string(),
                    path: format!("VirtualMachine {:?} is invalid: spec.template", chosen.name()),
                    message: "Required value".into(),
                }
                .into());
            }
            let vm: wire::VirtualMachine = typed(&chosen.value, origin)?;
            let meta = vm.metadata.unwrap_or_default();
            let spec = vm.spec.unwrap_or_default();
            let template = spec.template.unwrap_or_default();
            let mut vmi_spec = template.spec.unwrap_or_default();
            let mut annotations = template.metadata.and_then(|m| m.annotations).unwrap_or_default();
            instancetype::expand(
                &mut vmi_spec,
                &mut annotations,
                spec.instancetype.as_ref(),
                spec.preference.as_ref(),
                &catalogue,
                origin,
            )?;
            let meta = wire::ObjectMeta {
                annotations: Some(annotations),
                ..meta
            };
            convert(&meta, &vmi_spec, origin, "spec.template.spec")
        }
        _ => {
            let vmi: wire::VirtualMachineInstance = typed(&chosen.value, origin)?;
            convert(
                &vmi.metadata.unwrap_or_default(),
                &vmi.spec.unwrap_or_default(),
                origin,
                "spec",
            )
        }
    }
}

/// Converts a wire spec to a [`Vmi`], parsing quantities. `prefix` is the spec's field path.
///
/// # Errors
/// [`DocumentError::Quantity`] for a quantity that does not parse or is negative.
pub fn convert(
    meta: &wire::ObjectMeta,
    spec: &wire::VmiSpec,
    origin: &str,
    prefix: &str,
) -> Result<Vmi, VmiError> {
    let domain = spec.domain.clone().unwrap_or_default();
    let cpu = domain.cpu.clone().unwrap_or_default();
    let quantity = |path: &str,
                    text: Option<&wire::QuantityText>,
                    non_negative: bool|
     -> Result<Option<Quantity>, VmiError> {
        let Some(text) = text else { return Ok(None) };
        Ok(Some(text.parse_at(
            origin,
            &format!("{prefix}.{path}"),
            non_negative,
        )?))
    };
    let resources = domain.resources.clone().unwrap_or_default();
    let requests = resources.requests.unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    let memory = domain.memory.clone();
    let mem = memory.clone().unwrap_or_default();
    let mut vmi = Vmi {
        namespace: meta.namespace.clone().unwrap_or_else(|| "default".into()),
        name: meta.name.clone().unwrap_or_default(),
        annotations: meta.annotations.clone().unwrap_or_default(),
        architecture: spec.architecture.clone().filter(|a| !a.is_empty()),
        cpu: CpuSpec {
            sockets: cpu.sockets.unwrap_or(0),
            cores: cpu.cores.unwrap_or(0),
            threads: cpu.threads.unwrap_or(0),
            max_sockets: cpu.max_sockets.unwrap_or(0),
            dedicated: cpu.dedicated_cpu_placement.unwrap_or(false),
            isolate_emulator_thread: cpu.isolate_emulator_thread.unwrap_or(false),
            numa: cpu.numa.is_some(),
            passthrough: cpu
                .numa
                .as_ref()
                .is_some_and(|n| n.guest_mapping_passthrough.is_some()),
            realtime: cpu.realtime.as_ref().map(|r| Realtime { mask: r.mask.clone() }),
            ..CpuSpec::default()
        },
        memory: MemorySpec {
            present: memory.is_some(),
            guest: quantity("domain.memory.guest", mem.guest.as_ref(), true)?,
            max_guest: quantity("domain.memory.maxGuest", mem.max_guest.as_ref(), true)?,
            hugepages: mem.hugepages.map(|h| h.page_size.unwrap_or_default()),
        },
        resources: Resources {
            requests_cpu: quantity("domain.resources.requests.cpu", requests.get("cpu"), true)?,
            requests_memory: quantity("domain.resources.requests.memory", requests.get("memory"), true)?,
            limits_cpu: quantity("domain.resources.limits.cpu", limits.get("cpu"), true)?,
            limits_memory: quantity("domain.resources.limits.memory", limits.get("memory"), true)?,
        },
        io_threads_policy: domain.io_threads_policy.clone(),
        supplemental_pool_thread_count: domain
            .io_threads
            .as_ref()
            .and_then(|i| i.supplemental_pool_thread_count),
        autoattach_graphics_device: domain.devices.as_ref().and_then(|d| d.autoattach_graphics_device),
        spec_path: prefix.to_string(),
        ..Vmi::default()
    };
    devices::read(&mut vmi, spec, origin)?;
    Ok(vmi)
}
