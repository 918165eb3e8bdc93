//! `vnuma allocate`: the kubelet's answer for one Guaranteed container, as a typed document
//! (JSON/YAML) and a table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::kubelet::allocate::{Allocation, Request};
use crate::kubelet::config::KubeletConfig;
use crate::report::{json_text, yaml_text};

/// The `allocate` document.
#[derive(Debug, Serialize)]
struct AllocateDoc<'a> {
    admitted: bool,
    cpuset: Option<String>,
    exclusive: bool,
    numa_nodes: &'a [u32],
    memory: Vec<MemoryDoc<'a>>,
    policies: PoliciesDoc<'a>,
    error: Option<ErrorDoc<'a>>,
    warnings: Vec<WarningDoc<'a>>,
}

#[derive(Debug, Serialize)]
struct MemoryDoc<'a> {
    node: u32,
    resource: &'a str,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct PoliciesDoc<'a> {
    cpu_manager: &'a str,
    options: Vec<String>,
    topology_manager: &'a str,
    scope: &'a str,
    memory_manager: &'a str,
    reserved: String,
}

#[derive(Debug, Serialize)]
struct ErrorDoc<'a> {
    reason: &'a str,
    message: &'a str,
}

#[derive(Debug, Serialize)]
struct WarningDoc<'a> {
    code: &'a str,
    message: &'a str,
}

fn doc<'a>(a: &'a Allocation, config: &'a KubeletConfig) -> AllocateDoc<'a> {
    AllocateDoc {
        admitted: a.admitted,
        cpuset: a.cpuset.as_ref().map(ToString::to_string),
        exclusive: a.exclusive,
        numa_nodes: &a.numa_nodes,
        memory: a
            .memory
            .iter()
            .map(|(node, resource, bytes)| MemoryDoc {
                node: *node,
                resource,
                bytes: *bytes,
            })
            .collect(),
        policies: PoliciesDoc {
            cpu_manager: &config.cpu_manager_policy,
            options: config.policy_option_words(),
            topology_manager: &config.topology_manager_policy,
            scope: &config.topology_manager_scope,
            memory_manager: &config.memory_manager_policy,
            reserved: a.reserved.to_string(),
        },
        error: a
            .error
            .as_ref()
            .map(|(reason, message)| ErrorDoc { reason, message }),
        warnings: a
            .warnings
            .iter()
            .map(|w| WarningDoc {
                code: &w.code,
                message: &w.message,
            })
            .collect(),
    }
}

/// The document as JSON.
pub fn to_json(a: &Allocation, config: &KubeletConfig) -> String {
    json_text(&doc(a, config))
}

/// The document as YAML.
pub fn to_yaml(a: &Allocation, config: &KubeletConfig) -> String {
    yaml_text(&doc(a, config))
}

/// The allocation for people.
pub fn to_table(a: &Allocation, config: &KubeletConfig, request: &Request, host_label: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "kubelet on {host_label}: {}", config.describe());
    let _ = writeln!(
        out,
        "reserved CPUs: {}",
        if a.reserved.is_empty() {
            "none".into()
        } else {
            a.reserved.to_string()
        }
    );
    let huge: Vec<String> = request
        .hugepages
        .iter()
        .map(|(k, v)| format!("{k} {v} bytes"))
        .collect();
    let _ = writeln!(
        out,
        "request: cpu {}m, memory {} bytes{}",
        request.cpu_millis,
        request.memory,
        if huge.is_empty() {
            String::new()
        } else {
            format!(", {}", huge.join(", "))
        }
    );
    match (&a.error, &a.cpuset) {
        (Some((reason, message)), _) => {
            let _ = writeln!(out, "NOT ADMITTED: {reason}: {message}");
        }
        (None, Some(cpuset)) => {
            let kind = if a.exclusive {
                "exclusive CPUs"
            } else {
                "shared pool"
            };
            let nodes: Vec<String> = a.numa_nodes.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                out,
                "admitted: {kind} {cpuset} on NUMA node(s) {}",
                nodes.join(",")
            );
            for (node, resource, bytes) in &a.memory {
                let _ = writeln!(out, "  node {node}: {resource} {bytes} bytes");
            }
        }
        (None, None) => {}
    }
    for w in &a.warnings {
        let _ = writeln!(out, "warning [{}]: {}", w.code, w.message);
    }
    out
}
