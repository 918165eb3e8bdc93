//! The VMI stage end to end on YAML: cluster settings from a KubeVirt CR, KubeVirt's defaults,
//! instancetype and preference expansion.

#![allow(clippy::unwrap_used, missing_docs)]

use vnuma::vmi::cluster::read_cluster_config;
use vnuma::vmi::input::{Source, read_vmi};
use vnuma::vmi::{ClusterConfig, EVEN_PARITY_ANNOTATION, Vmi, VmiError, admission, defaults};

fn vmi(yaml: &str) -> Result<Vmi, VmiError> {
    read_vmi(
        Source {
            origin: "vm.yaml",
            text: yaml,
        },
        &[],
        None,
    )
}

const KUBEVIRT_CR: &str = "apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata:
  name: kubevirt
  namespace: kubevirt
  annotations:
    alpha.kubevirt.io/EmulatorThreadCompleteToEvenParity: \"\"
spec:
  configuration:
    developerConfiguration:
      featureGates: [AlignCPUs, CPUManager]
    liveUpdateConfiguration:
      maxHotplugRatio: 2
    architectureConfiguration:
      defaultArchitecture: arm64
    additionalGuestMemoryOverheadRatio: \"1.5\"
";

#[test]
fn a_kubevirt_cr_sets_the_cluster_defaults() {
    let config = read_cluster_config(Source {
        origin: "kv.yaml",
        text: KUBEVIRT_CR,
    })
    .unwrap();
    assert_eq!(config.default_architecture, "arm64");
    assert!(config.gate("AlignCPUs") && config.gate("CPUManager"));
    assert_eq!(config.max_hotplug_ratio, 2);
    assert_eq!(config.memory_overhead_ratio.as_deref(), Some("1.5"));
    assert!(config.live_update);
    let err = read_cluster_config(Source {
        origin: "kv.yaml",
        text: "kind: ConfigMap\n",
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "kv.yaml: no `kind: KubeVirt` object in the input"
    );
}

#[test]
fn defaults_follow_kubevirts_webhook() {
    let yaml = "kind: VirtualMachineInstance
metadata: {name: a}
spec:
  domain:
    cpu: {sockets: 2, cores: 2, dedicatedCpuPlacement: true, isolateEmulatorThread: true}
    resources: {requests: {memory: 128Mi}}
";
    let mut v = vmi(yaml).unwrap();
    defaults::apply(&mut v, &ClusterConfig::default());
    assert_eq!(v.architecture.as_deref(), Some("amd64"));
    assert_eq!(v.cpu.max_sockets, 8, "sockets x maxHotplugRatio 4");
    assert_eq!(
        v.memory.guest.as_ref().map(ToString::to_string).as_deref(),
        Some("128Mi")
    );
    assert!(
        !v.annotations.contains_key(EVEN_PARITY_ANNOTATION),
        "AlignCPUs is off by default"
    );
    let cluster = read_cluster_config(Source {
        origin: "kv.yaml",
        text: KUBEVIRT_CR,
    })
    .unwrap();
    let mut v = vmi(yaml).unwrap();
    defaults::apply(&mut v, &cluster);
    assert_eq!(v.architecture.as_deref(), Some("arm64"));
    assert_eq!(v.cpu.max_sockets, 0, "no CPU hotplug on arm64");
    assert!(
        v.annotations.contains_key(EVEN_PARITY_ANNOTATION),
        "copied from the KubeVirt CR under AlignCPUs"
    );
    // no topology at all: sockets from the CPU limit, and then hotplug on those sockets
    // (KubeVirt sets the topology default before setupCPUHotplug: issue 10 item 3,
    // kubevirt-numa.md §1.1 as corrected; this asserted the opposite order before)
    let mut v = vmi("kind: VirtualMachineInstance
spec: {domain: {resources: {limits: {cpu: 3, memory: 1Gi}}, memory: {hugepages: {pageSize: 1Gi}}}}
")
    .unwrap();
    defaults::apply(&mut v, &ClusterConfig::default());
    assert_eq!(
        (v.cpu.sockets, v.cpu.cores, v.cpu.threads, v.cpu.max_sockets),
        (3, 1, 1, 12)
    );
    assert_eq!(
        v.memory.guest.as_ref().map(ToString::to_string).as_deref(),
        Some("1Gi")
    );
    // a large VM: hotplug capped at 512 vCPUs
    let mut v =
        vmi("kind: VirtualMachineInstance\nspec: {domain: {cpu: {sockets: 100, cores: 2}}}\n").unwrap();
    defaults::apply(&mut v, &ClusterConfig::default());
    assert_eq!(v.cpu.max_sockets, 256);
}

const TYPES: &str = "apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata: {name: cx1.large}
spec:
  cpu: {guest: 8, dedicatedCPUPlacement: true, numa: {guestMappingPassthrough: {}}}
  memory: {guest: 1Gi, hugepages: {pageSize: 1Gi}}
  annotations: {example.com/from-instancetype: \"yes\"}
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachinePreference
metadata: {name: spread}
spec:
  cpu: {preferredCPUTopology: spread}
  preferSpreadSocketToCoreRatio: 4
  preferredArchitecture: amd64
";

#[test]
fn instancetypes_and_preferences_expand_into_the_template() {
    let vm = format!(
        "{TYPES}---
kind: VirtualMachine
metadata: {{name: big}}
spec:
  instancetype: {{kind: VirtualMachineInstancetype, name: cx1.large}}
  preference: {{kind: VirtualMachinePreference, name: spread}}
  template: {{spec: {{domain: {{devices: {{}}}}}}}}
"
    );
    let v = vmi(&vm).unwrap();
    assert_eq!((v.cpu.sockets, v.cpu.cores, v.cpu.threads), (2, 4, 1));
    assert!(v.cpu.dedicated && v.cpu.passthrough);
    assert_eq!(v.memory.hugepages.as_deref(), Some("1Gi"));
    assert_eq!(v.architecture.as_deref(), Some("amd64"));
    assert_eq!(
        v.annotations
            .get("example.com/from-instancetype")
            .map(String::as_str),
        Some("yes")
    );
    assert_eq!(v.spec_path, "spec.template.spec");
    assert!(admission::validate(&v, &ClusterConfig::default()).is_empty());
    // the default preference is sockets
    let no_pref = vm.replace(
        "  preference: {kind: VirtualMachinePreference, name: spread}\n",
        "",
    );
    let v = vmi(&no_pref).unwrap();
    assert_eq!((v.cpu.sockets, v.cpu.cores, v.cpu.threads), (8, 1, 1));
    // a template that sets what the instancetype sets conflicts
    let conflict = vm.replace("{domain: {devices: {}}}", "{domain: {cpu: {cores: 2}}}");
    assert_eq!(
        vmi(&conflict).unwrap_err().to_string(),
        "vm.yaml: VM field(s) spec.template.spec.domain.cpu.cores conflicts with selected instance type"
    );
    // wrong types inside an instancetype name the field
    let bad = vm.replace("guest: 8", "guest: eight");
    let err = vmi(&bad).unwrap_err().to_string();
    assert!(err.starts_with("vm.yaml: spec.cpu.guest: invalid type"), "{err}");
}
