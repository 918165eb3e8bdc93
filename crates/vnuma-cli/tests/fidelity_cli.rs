//! Issue 10's regressions through the command line, each named after its cause: what vnuma
//! did differently from KubeVirt on inputs nobody tuned for, and input that is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli;

use cli::{text, vnuma, write};

/// Item 3's minimal VMI: dedicated CPUs, no cores or sockets, `requests.cpu: "1"`.
const CPU_FROM_REQUEST: &str = "apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: one}
spec:
  domain:
    cpu:
      dedicatedCpuPlacement: true
      numa: {guestMappingPassthrough: {}}
    memory: {hugepages: {pageSize: 2Mi}}
    resources: {requests: {cpu: \"1\", memory: 64Mi}}
    devices: {}
";

#[test]
fn hotplug_setup_runs_after_sockets_are_taken_from_the_cpu_request() {
    let dir = tempfile::tempdir().unwrap();
    let vmi = write(dir.path(), "one.yaml", CPU_FROM_REQUEST);

    // KubeVirt's domain: <vcpu>4</vcpu>, only vCPU 0 enabled, topology 4 sockets.
    let out = vnuma(&["plan", &vmi, "--cpuset", "7", "-o", "xml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let xml = text(&out.stdout);
    for want in [
        "<topology sockets=\"4\" cores=\"1\" threads=\"1\"></topology>",
        "<vcpu placement=\"static\">4</vcpu>",
        "<vcpu id=\"0\" enabled=\"yes\" hotpluggable=\"no\"></vcpu>",
        "<vcpu id=\"1\" enabled=\"no\" hotpluggable=\"yes\"></vcpu>",
        "<vcpu id=\"3\" enabled=\"no\" hotpluggable=\"yes\"></vcpu>",
        "<cell id=\"0\" cpus=\"0\" memory=\"67108864\" unit=\"b\">",
        "<vcpupin vcpu=\"0\" cpuset=\"7\"></vcpupin>",
    ] {
        assert!(xml.contains(want), "{want} missing:\n{xml}");
    }

    // The plan document says how many slots there are and which are enabled.
    let out = vnuma(&["plan", &vmi, "--cpuset", "7", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["guest"]["sockets"], 1);
    assert_eq!(doc["guest"]["vcpus"], 1);
    assert_eq!(doc["guest"]["max_vcpus"], 4);
    assert_eq!(doc["guest"]["enabled_vcpus"], "0");

    // The table says it too, with the slots no guest cell holds.
    let out = vnuma(&["plan", &vmi, "--cpuset", "7"]);
    assert!(
        text(&out.stdout).contains(
            "CPU hotplug: 4 vCPU slots (4 sockets), vCPUs 0 enabled at boot; slots 1-3 are in no guest NUMA cell\n"
        ),
        "{}",
        text(&out.stdout)
    );

    // QEMU accepts slots outside its NUMA nodes with a warning; vnuma says so on stderr.
    let out = vnuma(&["plan", &vmi, "--cpuset", "7", "-o", "qemu"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("-smp 1,maxcpus=4,sockets=4,cores=1,threads=1 \\\n"));
    assert!(
        text(&out.stderr).contains(
            "warning: vcpu slots 1-3 (CPU hotplug) are in no guest NUMA cell: QEMU warns \"CPU(s) not present in any NUMA nodes\""
        ),
        "{}",
        text(&out.stderr)
    );

    // Cloud Hypervisor refuses them: exit 1, nothing on stdout.
    let out = vnuma(&["plan", &vmi, "--cpuset", "7", "-o", "cloud-hypervisor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("the VM cannot run as planned (backend-unsupported)"));
    assert!(
        text(&out.stderr)
            .contains("vcpu slots 1-3 (CPU hotplug) are in no guest NUMA cell, and cloud hypervisor refuses"),
        "{}",
        text(&out.stderr)
    );
}

/// Item 10: `core: 4`, `guestMappingPasthrough` and a VirtualMachine with `templates:`.
const TYPOS: &str = "apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: typo}
spec:
  domain:
    cpu: {core: 4, dedicatedCpuPlacement: true, numa: {guestMappingPasthrough: {}}}
    memory: {hugepages: {pageSize: 2Mi}}
    resources: {requests: {memory: 64Mi}}
    devices: {}
";

#[test]
fn unknown_fields_are_named_with_the_nearest_known_one_and_strict_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let vmi = write(dir.path(), "typo.yaml", TYPOS);
    let core = format!(
        "warning: {vmi}: VirtualMachineInstance/typo: unknown field spec.domain.cpu.core; did you mean cores?\n"
    );
    let numa = format!(
        "warning: {vmi}: VirtualMachineInstance/typo: unknown field spec.domain.cpu.numa.guestMappingPasthrough; \
         did you mean guestMappingPassthrough?\n"
    );

    // The default (warn): every unknown field on stderr, the plan still printed.
    let out = vnuma(&["plan", &vmi, "--cpuset", "7", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains(&core) && err.contains(&numa), "{err}");

    // --strict and --validate=strict: exit 2, every unknown field named, nothing on stdout.
    for flag in [
        &["--strict"][..],
        &["--validate", "strict"],
        &["--validate=strict"],
    ] {
        let mut args = vec!["plan", vmi.as_str(), "--cpuset", "7"];
        args.extend_from_slice(flag);
        let out = vnuma(&args);
        assert_eq!(out.status.code(), Some(2), "{flag:?}");
        assert!(out.stdout.is_empty());
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "error: {vmi}: 2 unknown field(s) (--validate=strict refuses them):\n"
            )),
            "{err}"
        );
        assert!(err.contains(
            "  VirtualMachineInstance/typo: unknown field spec.domain.cpu.core; did you mean cores?\n"
        ));
    }

    // --validate=ignore: silence.
    let out = vnuma(&["plan", &vmi, "--cpuset", "7", "--validate", "ignore"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out.stderr).contains("unknown field"));

    // Every command that reads a VMI checks it.
    let out = vnuma(&["pod", &vmi, "--strict"]);
    assert_eq!(out.status.code(), Some(2));

    // A VirtualMachine with `templates:` has no template: the API server's own words.
    let vm = write(
        dir.path(),
        "vm.yaml",
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: web}\nspec:\n  templates: {spec: {domain: {devices: {}}}}\n",
    );
    let out = vnuma(&["plan", &vm, "--cpuset", "7"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "warning: {vm}: VirtualMachine/web: unknown field spec.templates; did you mean template?\n"
        )),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "error: {vm}: VirtualMachine \"web\" is invalid: spec.template: Required value\n"
        )),
        "{err}"
    );
}

#[test]
fn an_unknown_kubelet_configuration_field_is_named_with_the_nearest_known_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "kubelet.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncpuManagerPolicyy: static\nreservedSystemCPUs: \"0\"\n",
    );
    let out = vnuma(&[
        "allocate",
        "--cpus",
        "2",
        "--kubelet-config",
        &config,
        "-o",
        "json",
    ]);
    // Warned, then simulated as the kubelet would read it: no cpuManagerPolicy means none.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "warning: {config}: KubeletConfiguration: unknown field cpuManagerPolicyy; did you mean cpuManagerPolicy?\n"
        )),
        "{}",
        text(&out.stderr)
    );
    let out = vnuma(&["allocate", "--cpus", "2", "--kubelet-config", &config, "--strict"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("error: "));
    assert!(text(&out.stderr).contains("1 unknown field(s) (--validate=strict refuses them)"));
}

/// `kubevirt-quirk:parity-mismatch` was documented but never emitted: 1 vCPU, 1 supplemental
/// IOThread, an isolated emulator thread with even parity: the pod gets 3 CPUs, the launcher
/// pins 1 + 1 + 2.
#[test]
fn the_parity_quirk_is_named_when_it_shorts_the_pod() {
    let dir = tempfile::tempdir().unwrap();
    let vmi = write(
        dir.path(),
        "parity.yaml",
        "apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: parity
  annotations: {alpha.kubevirt.io/EmulatorThreadCompleteToEvenParity: \"\"}
spec:
  domain:
    cpu: {cores: 1, dedicatedCpuPlacement: true, isolateEmulatorThread: true, numa: {guestMappingPassthrough: {}}}
    ioThreadsPolicy: supplementalPool
    ioThreads: {supplementalPoolThreadCount: 1}
    memory: {hugepages: {pageSize: 2Mi}}
    resources: {requests: {memory: 64Mi}}
    devices: {disks: [{name: d, disk: {bus: virtio}}]}
  volumes: [{name: d, emptyDisk: {capacity: 1Gi}}]
",
    );
    let out = vnuma(&["pod", &vmi, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["requests"]["cpu"], "3");
    assert!(
        text(&out.stderr).contains(
            "warning: kubevirt-quirk:parity-mismatch: KubeVirt gives the pod 3 CPUs but virt-launcher pins 4"
        ),
        "{}",
        text(&out.stderr)
    );
    let fixed = vnuma(&["pod", &vmi, "-o", "json", "--fix-kubevirt-quirks"]);
    let doc: serde_json::Value = serde_json::from_slice(&fixed.stdout).unwrap();
    assert_eq!(doc["requests"]["cpu"], "4");
    assert!(!text(&fixed.stderr).contains("parity-mismatch"));

    // Predicted plan: the warning is in the document.
    let out = vnuma(&["plan", &vmi, "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"kubevirt-quirk:parity-mismatch"), "{codes:?}");
}
