//! Cluster-wide settings from a `KubeVirt` custom resource (`--kubevirt-config FILE`).

use serde::Deserialize;

use crate::k8s::documents::DocumentError;

use crate::vmi::input::{Source, documents, typed};
use crate::vmi::wire::ObjectMeta;
use crate::vmi::{ClusterConfig, VmiError};

/// The `kubevirt.io/v1` KubeVirt CR.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct KubeVirt {
    metadata: Option<ObjectMeta>,
    spec: Option<KubeVirtSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct KubeVirtSpec {
    configuration: Option<Configuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    developer_configuration: Option<DeveloperConfiguration>,
    live_update_configuration: Option<LiveUpdateConfiguration>,
    architecture_configuration: Option<ArchitectureConfiguration>,
    additional_guest_memory_overhead_ratio: Option<String>,
    vm_rollout_strategy: Option<String>,
    cpu_model: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeveloperConfiguration {
    feature_gates: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveUpdateConfiguration {
    max_cpu_sockets: Option<u32>,
    max_hotplug_ratio: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchitectureConfiguration {
    default_architecture: Option<String>,
}

/// Reads the first `kind: KubeVirt` object of a YAML stream.
///
/// # Errors
/// [`VmiError`] naming the file and field.
pub fn read_cluster_config(source: Source<'_>) -> Result<ClusterConfig, VmiError> {
    let docs = documents(source)?;
    let doc = docs
        .iter()
        .find(|d| d.kind() == "KubeVirt")
        .ok_or_else(|| DocumentError::Select {
            origin: source.origin.to_string(),
            message: "no `kind: KubeVirt` object in the input".into(),
        })?;
    let kv: KubeVirt = typed(&doc.value, source.origin)?;
    let conf = kv.spec.and_then(|s| s.configuration).unwrap_or_default();
    let mut config = ClusterConfig::default();
    if let Some(arch) = conf
        .architecture_configuration
        .and_then(|a| a.default_architecture)
    {
        config.default_architecture = arch;
    }
    config.feature_gates = conf
        .developer_configuration
        .and_then(|d| d.feature_gates)
        .unwrap_or_default();
    if let Some(live) = conf.live_update_configuration {
        config.max_cpu_sockets = live.max_cpu_sockets;
        if let Some(ratio) = live.max_hotplug_ratio {
            config.max_hotplug_ratio = ratio;
        }
    }
    config.memory_overhead_ratio = conf.additional_guest_memory_overhead_ratio;
    config.live_update = conf.vm_rollout_strategy.is_none_or(|s| s == "LiveUpdate");
    config.cpu_model = conf.cpu_model.filter(|m| !m.is_empty());
    config.annotations = kv.metadata.and_then(|m| m.annotations).unwrap_or_default();
    Ok(config)
}
