//! The kubelet's own configuration and checkpoint formats: a `KubeletConfiguration`
//! (`kubelet.config.k8s.io/v1beta1`) and the CPU Manager's `cpu_manager_state` file, read into
//! plain settings with the kubelet's defaults for every omitted field.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::cpuset::CpuSet;
use crate::k8s::documents::{DocumentError, Source, documents, typed};
use crate::k8s::quantity::QuantityText;

/// Feature gates the kubelet (1.33–1.36) turns on by default that change what the simulation
/// accepts.
pub const DEFAULT_GATES: [&str; 2] = ["CPUManagerPolicyBetaOptions", "TopologyManagerPolicyBetaOptions"];

/// The settings the simulation needs, kubelet defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletConfig {
    /// `cpuManagerPolicy`: `none` (the kubelet's default) or `static`.
    pub cpu_manager_policy: String,
    /// `cpuManagerPolicyOptions`.
    pub cpu_manager_policy_options: BTreeMap<String, String>,
    /// `reservedSystemCPUs` (empty: none given).
    pub reserved_system_cpus: CpuSet,
    /// `kubeReserved.cpu + systemReserved.cpu` in millicores; `None` when neither names cpu
    /// (the kubelet then cannot determine the reservation).
    pub reserved_cpu_millis: Option<i64>,
    /// `topologyManagerPolicy` (`none` by default).
    pub topology_manager_policy: String,
    /// `topologyManagerScope` (`container` by default).
    pub topology_manager_scope: String,
    /// `topologyManagerPolicyOptions`.
    pub topology_manager_policy_options: BTreeMap<String, String>,
    /// `memoryManagerPolicy` (`None` by default).
    pub memory_manager_policy: String,
    /// `reservedMemory`: node → resource → bytes.
    pub reserved_memory: BTreeMap<u32, BTreeMap<String, u64>>,
    /// Feature gates that are on: the kubelet's defaults (the Beta options gates) with the
    /// configuration's `featureGates` applied, `false` turning a default off.
    pub feature_gates: BTreeSet<String>,
    /// Whether the defaults of `vnuma allocate` without a configuration were assumed.
    pub assumed: bool,
}

impl KubeletConfig {
    /// What `vnuma allocate` assumes without `--kubelet-config`: the static CPU Manager, no
    /// Topology Manager, no Memory Manager, one reserved CPU (as with `kubeReserved: {cpu: 1}`).
    pub fn assumed_defaults() -> Self {
        KubeletConfig {
            cpu_manager_policy: "static".into(),
            reserved_cpu_millis: Some(1000),
            assumed: true,
            ..Self::kubelet_defaults()
        }
    }

    /// The kubelet's own defaults for an empty configuration.
    pub fn kubelet_defaults() -> Self {
        KubeletConfig {
            cpu_manager_policy: "none".into(),
            cpu_manager_policy_options: BTreeMap::new(),
            reserved_system_cpus: CpuSet::new(),
            reserved_cpu_millis: None,
            topology_manager_policy: "none".into(),
            topology_manager_scope: "container".into(),
            topology_manager_policy_options: BTreeMap::new(),
            memory_manager_policy: "None".into(),
            reserved_memory: BTreeMap::new(),
            feature_gates: DEFAULT_GATES.iter().map(ToString::to_string).collect(),
            assumed: false,
        }
    }

    /// `cpuManagerPolicyOptions` as words: `name` for `true`, else `name=value`.
    pub fn policy_option_words(&self) -> Vec<String> {
        self.cpu_manager_policy_options
            .iter()
            .map(|(k, v)| {
                if v == "true" {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect()
    }

    /// One line saying which kubelet is simulated.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "cpuManagerPolicy {}, topologyManagerPolicy {} (scope {}), memoryManagerPolicy {}",
            self.cpu_manager_policy,
            self.topology_manager_policy,
            self.topology_manager_scope,
            self.memory_manager_policy
        );
        if !self.cpu_manager_policy_options.is_empty() {
            let options: Vec<String> = self
                .cpu_manager_policy_options
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            text.push_str(&format!(", options {}", options.join(",")));
        }
        if self.assumed {
            text.push_str(" (assumed defaults: no --kubelet-config)");
        }
        text
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KubeletConfiguration {
    cpu_manager_policy: Option<String>,
    cpu_manager_policy_options: Option<BTreeMap<String, String>>,
    #[serde(rename = "reservedSystemCPUs")]
    reserved_system_cpus: Option<String>,
    kube_reserved: Option<BTreeMap<String, QuantityText>>,
    system_reserved: Option<BTreeMap<String, QuantityText>>,
    topology_manager_policy: Option<String>,
    topology_manager_scope: Option<String>,
    topology_manager_policy_options: Option<BTreeMap<String, String>>,
    memory_manager_policy: Option<String>,
    reserved_memory: Option<Vec<ReservedMemory>>,
    feature_gates: Option<BTreeMap<String, bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReservedMemory {
    numa_node: u32,
    limits: BTreeMap<String, QuantityText>,
}

/// Reads the first `kind: KubeletConfiguration` document.
///
/// # Errors
/// [`DocumentError`] naming the file, the field path and the value.
pub fn read_kubelet_config(source: Source<'_>) -> Result<KubeletConfig, DocumentError> {
    let origin = source.origin;
    let docs = documents(source)?;
    let doc = docs
        .iter()
        .find(|d| d.kind() == "KubeletConfiguration")
        .ok_or_else(|| DocumentError::Select {
            origin: origin.to_string(),
            message: "no `kind: KubeletConfiguration` object in the input".into(),
        })?;
    let wire: KubeletConfiguration = typed(&doc.value, origin)?;
    let mut config = KubeletConfig::kubelet_defaults();
    if let Some(p) = wire.cpu_manager_policy {
        config.cpu_manager_policy = p;
    }
    config.cpu_manager_policy_options = wire.cpu_manager_policy_options.unwrap_or_default();
    if let Some(list) = &wire.reserved_system_cpus {
        config.reserved_system_cpus = CpuSet::parse_list(list).map_err(|e| DocumentError::Field {
            origin: origin.to_string(),
            path: "reservedSystemCPUs".into(),
            message: format!("invalid cpu list {list:?}: {e}"),
        })?;
    }
    for (field, map) in [
        ("kubeReserved", &wire.kube_reserved),
        ("systemReserved", &wire.system_reserved),
    ] {
        if let Some(cpu) = map.as_ref().and_then(|m| m.get("cpu")) {
            let q = cpu.parse_at(origin, &format!("{field}.cpu"), true)?;
            *config.reserved_cpu_millis.get_or_insert(0) += q.milli_value();
        }
    }
    if !config.reserved_system_cpus.is_empty() {
        // the kubelet derives the reserved quantity from an explicit list
        config.reserved_cpu_millis =
            Some(i64::try_from(config.reserved_system_cpus.len()).unwrap_or(i64::MAX) * 1000);
    }
    if let Some(p) = wire.topology_manager_policy {
        config.topology_manager_policy = p;
    }
    if let Some(s) = wire.topology_manager_scope {
        config.topology_manager_scope = s;
    }
    config.topology_manager_policy_options = wire.topology_manager_policy_options.unwrap_or_default();
    if let Some(p) = wire.memory_manager_policy {
        config.memory_manager_policy = p;
    }
    for (i, r) in wire.reserved_memory.unwrap_or_default().into_iter().enumerate() {
        for (resource, text) in &r.limits {
            let path = format!("reservedMemory[{i}].limits.{resource}");
            let q = text.parse_at(origin, &path, false)?;
            let bytes = u64::try_from(q.value()).map_err(|_| DocumentError::Quantity {
                origin: origin.to_string(),
                path: path.clone(),
                value: text.0.clone(),
                message: "must be greater than or equal to 0".into(),
            })?;
            *config
                .reserved_memory
                .entry(r.numa_node)
                .or_default()
                .entry(resource.clone())
                .or_default() += bytes;
        }
    }
    for (gate, on) in wire.feature_gates.unwrap_or_default() {
        if on {
            config.feature_gates.insert(gate);
        } else {
            config.feature_gates.remove(&gate);
        }
    }
    Ok(config)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CpuManagerState {
    policy_name: Option<String>,
    default_cpu_set: Option<String>,
    entries: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

/// The exclusive CPUs already assigned in a `cpu_manager_state` checkpoint: the union of its
/// entries. Its checksum is not verified.
///
/// # Errors
/// [`DocumentError`] for a file that is not the checkpoint's JSON or holds a bad cpu list.
pub fn read_cpu_manager_state(origin: &str, text: &str) -> Result<CpuSet, DocumentError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| DocumentError::Select {
        origin: origin.to_string(),
        message: format!("not a cpu_manager_state checkpoint (JSON): {e}"),
    })?;
    let state: CpuManagerState = typed(&value, origin)?;
    let _ = (state.policy_name, state.default_cpu_set);
    let mut assigned = CpuSet::new();
    for (pod, containers) in state.entries.unwrap_or_default() {
        for (container, list) in containers {
            let set = CpuSet::parse_list(&list).map_err(|e| DocumentError::Quantity {
                origin: origin.to_string(),
                path: format!("entries.{pod}.{container}"),
                value: list.clone(),
                message: e.to_string(),
            })?;
            assigned = assigned.union(&set);
        }
    }
    Ok(assigned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kubelet_configuration_with_kubelet_defaults() {
        let text = "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cpuManagerPolicy: static
cpuManagerPolicyOptions: {full-pcpus-only: \"true\"}
kubeReserved: {cpu: 500m, memory: 1Gi}
systemReserved: {cpu: \"1\"}
topologyManagerPolicy: single-numa-node
reservedMemory:
  - numaNode: 0
    limits: {memory: 1100Mi}
featureGates: {CPUManagerPolicyAlphaOptions: true, CPUManagerPolicyBetaOptions: false}
";
        let c = read_kubelet_config(Source {
            origin: "kubelet.yaml",
            text,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.cpu_manager_policy, "static");
        assert_eq!(c.reserved_cpu_millis, Some(1500));
        assert_eq!(c.topology_manager_policy, "single-numa-node");
        assert_eq!(c.topology_manager_scope, "container");
        assert_eq!(c.memory_manager_policy, "None");
        assert_eq!(c.reserved_memory[&0]["memory"], 1100 << 20);
        assert_eq!(
            c.feature_gates.iter().collect::<Vec<_>>(),
            vec!["CPUManagerPolicyAlphaOptions", "TopologyManagerPolicyBetaOptions"],
            "a default gate set to false is off"
        );
        let empty = read_kubelet_config(Source {
            origin: "k.yaml",
            text: "kind: KubeletConfiguration\n",
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(empty.cpu_manager_policy, "none", "the kubelet's default");
        assert_eq!(empty.reserved_cpu_millis, None);
        let bad = read_kubelet_config(Source {
            origin: "k.yaml",
            text: "kind: KubeletConfiguration\nkubeReserved: {cpu: 1x}\n",
        });
        assert_eq!(
            bad.map_err(|e| e.to_string()).err().as_deref(),
            Some(
                "k.yaml: kubeReserved.cpu: invalid quantity \"1x\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            )
        );
    }

    #[test]
    fn cpu_manager_state_checkpoint() {
        let text = r#"{"policyName":"static","defaultCpuSet":"0-1,6-63","entries":{"pod-a":{"compute":"2-5"},"pod-b":{"c":"8"}},"checksum":1}"#;
        assert_eq!(
            read_cpu_manager_state("state", text)
                .map(|s| s.to_string())
                .ok()
                .as_deref(),
            Some("2-5,8")
        );
        assert!(read_cpu_manager_state("state", "{").is_err());
    }
}
