//! `vnuma pod`: the virt-launcher compute container's resources, as JSON/YAML and a table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::k8s::pod::PodResources;
use crate::report::{json_text, yaml_text};
use crate::vmi::Quantity;

#[derive(Serialize)]
struct PodDoc {
    vmi: VmiDoc,
    container: &'static str,
    requests: serde_json::Map<String, serde_json::Value>,
    limits: serde_json::Map<String, serde_json::Value>,
    qos_class: &'static str,
    exclusive_cpus: Option<u64>,
    memory_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
struct VmiDoc {
    namespace: String,
    name: String,
}

/// A resource value as Kubernetes prints it: millicores for `cpu`, bytes (canonical
/// quantity) for the rest, plain counts for device-plugin resources.
pub fn quantity_text(resource: &str, value: i64) -> String {
    if resource == "cpu" {
        return if value % 1000 == 0 {
            (value / 1000).to_string()
        } else {
            format!("{value}m")
        };
    }
    if resource.contains('/') {
        return value.to_string();
    }
    if resource == "ephemeral-storage" {
        // KubeVirt adds a decimal 50M
        return Quantity::new(value, crate::k8s::quantity::Format::DecimalSI).to_string();
    }
    Quantity::from_bytes_binary(value).to_string()
}

fn map(values: &std::collections::BTreeMap<String, i64>) -> serde_json::Map<String, serde_json::Value> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::from(quantity_text(k, *v))))
        .collect()
}

fn doc(namespace: &str, name: &str, r: &PodResources, notes: &[String]) -> PodDoc {
    PodDoc {
        vmi: VmiDoc {
            namespace: namespace.to_string(),
            name: name.to_string(),
        },
        container: "compute",
        requests: map(&r.requests),
        limits: map(&r.limits),
        qos_class: r.qos().as_str(),
        exclusive_cpus: r.exclusive_cpus(),
        memory_bytes: r.requests.get("memory").copied(),
        notes: notes.to_vec(),
    }
}

/// The JSON document; `notes` (what the VMI cannot tell, [`crate::vmi::pod::notes`]) appear
/// as `"notes"` when there are any.
pub fn to_json(namespace: &str, name: &str, r: &PodResources, notes: &[String]) -> String {
    json_text(&doc(namespace, name, r, notes))
}

/// The same as YAML.
pub fn to_yaml(namespace: &str, name: &str, r: &PodResources, notes: &[String]) -> String {
    yaml_text(&doc(namespace, name, r, notes))
}

/// The table, with a `note:` line per note.
pub fn to_table(namespace: &str, name: &str, r: &PodResources, notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "virt-launcher pod of {namespace}/{name}, container compute: QoS {}, {}",
        r.qos().as_str(),
        match r.exclusive_cpus() {
            Some(n) => format!("{n} exclusive CPUs under the static CPU Manager"),
            None => "no exclusive CPUs (shared pool)".to_string(),
        }
    );
    let _ = writeln!(out, "{:<28} {:>14} {:>14}", "resource", "request", "limit");
    let keys: std::collections::BTreeSet<&String> = r.requests.keys().chain(r.limits.keys()).collect();
    for k in keys {
        let show = |v: Option<&i64>| v.map_or_else(|| "-".to_string(), |v| quantity_text(k, *v));
        let _ = writeln!(
            out,
            "{k:<28} {:>14} {:>14}",
            show(r.requests.get(k)),
            show(r.limits.get(k))
        );
    }
    if let Some(m) = r.requests.get("memory") {
        let _ = writeln!(
            out,
            "(memory request = {m} bytes: KubeVirt's overhead for the VM's processes)"
        );
    }
    for note in notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
