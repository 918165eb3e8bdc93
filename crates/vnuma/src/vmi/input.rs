//! Reading VMIs: YAML text → documents → the selected VirtualMachineInstance or
//! VirtualMachine → [`Vmi`], with field paths in every error.
//!
//! A stream may hold several documents (`---`) and `kind: List` objects; VMIs and VMs are
//! candidates, picked by name when there are several. Instancetypes and preferences in the
//! same stream (or given separately) expand a VirtualMachine that references them.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::vmi::instancetype::{self, Catalogue};
use crate::vmi::quantity::Quantity;
use crate::vmi::select::{self, Selector};
use crate::vmi::{CpuSpec, MemorySpec, Realtime, Resources, Vmi, VmiError, devices};
use crate::vmi::{schema, wire};

/// One YAML source: its name for messages and its text.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file name, or `<stdin>`.
    pub origin: &'a str,
    /// The YAML text.
    pub text: &'a str,
}

/// A parsed document with the source it came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file it came from.
    pub origin: String,
    /// Its content.
    pub value: Value,
}

impl Document {
    /// `kind`, or the empty string.
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name`, or the empty string.
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Splits a YAML stream into documents, flattening `kind: List`.
///
/// # Errors
/// [`VmiError::Yaml`] with the parser's location.
pub fn documents(source: Source<'_>) -> Result<Vec<Document>, VmiError> {
    let values: Vec<Value> = serde_saphyr::from_multiple(source.text).map_err(|e| VmiError::Yaml {
        origin: source.origin.to_string(),
        message: yaml_message(
            e.to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: "),
        ),
    })?;
    let mut docs = Vec::new();
    for value in values {
        flatten(value, source.origin, &mut docs);
    }
    Ok(docs)
}

/// The parser's message in a user's words: a duplicate key is named with its place, not the
/// parser's option that would allow it.
fn yaml_message(message: &str) -> String {
    const DUPLICATE: &str = "duplicate mapping key: ";
    const POLICY: &str = ", set DuplicateKeyPolicy in Options if acceptable";
    if let Some(at) = message.find(DUPLICATE) {
        let (place, rest) = message.split_at(at);
        let key = rest[DUPLICATE.len()..].trim_end_matches(POLICY);
        return format!("{place}key {key:?} is given twice in the same mapping; keep one of them");
    }
    message.to_string()
}

fn flatten(value: Value, origin: &str, out: &mut Vec<Document>) {
    if value.get("kind").and_then(Value::as_str) == Some("List") {
        if let Some(Value::Array(items)) = value.get("items") {
            for item in items {
                flatten(item.clone(), origin, out);
            }
        }
        return;
    }
    if !value.is_null() {
        out.push(Document {
            origin: origin.to_string(),
            value,
        });
    }
}

/// The unknown fields of every KubeVirt object in a YAML stream (VMIs, VMs, instancetypes,
/// preferences, the KubeVirt CR), judged by KubeVirt's schema as the API server's field
/// validation would: one `Kind/name: unknown field PATH; did you mean NAME?` line each.
///
/// # Errors
/// [`VmiError::Yaml`] for a stream that does not parse.
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
    let selector = Selector::parse(name, None).map_err(|message| VmiError::Select {
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
    let chosen = select::pick(&candidates, selector).map_err(|message| VmiError::Select {
        origin: main.origin.to_string(),
        message,
    })?;
    let origin = chosen.origin.as_str();
    match chosen.kind() {
        "VirtualMachine" => {
            // The API server's own words for a VirtualMachine without its template.
            if chosen.value.pointer("/spec/template").is_none_or(Value::is_null) {
                return Err(VmiError::Field {
                    origin: origin.to_string(),
                    path: format!("VirtualMachine {:?} is invalid: spec.template", chosen.name()),
                    message: "Required value".into(),
                });
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

/// Deserializes a document into a wire type, naming the field path of a wrong type.
///
/// # Errors
/// [`VmiError::Field`].
pub fn typed<T: DeserializeOwned>(value: &Value, origin: &str) -> Result<T, VmiError> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| VmiError::Field {
        origin: origin.to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Converts a wire spec to a [`Vmi`], parsing quantities. `prefix` is the spec's field path.
///
/// # Errors
/// [`VmiError::Quantity`] for a quantity that does not parse or is negative.
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
        let err = |message: String| VmiError::Quantity {
            origin: origin.to_string(),
            path: format!("{prefix}.{path}"),
            value: text.0.clone(),
            message,
        };
        // Kubernetes trims white space around a quantity when it decodes one.
        let q = Quantity::parse(text.0.trim()).map_err(|e| err(e.to_string()))?;
        if non_negative && q.is_negative() {
            return Err(err("must be greater than or equal to 0".into()));
        }
        Ok(Some(q))
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
