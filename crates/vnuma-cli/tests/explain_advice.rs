//! Issue 12, item 1: `explain` advises from the numbers the kubelet simulation used (the pod's
//! CPUs, the reserved and taken CPUs per node) and never suggests what is already configured.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli;

use cli::write;

use std::path::Path;
use std::process::Command;

fn explain(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .arg("explain")
        .args(args)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_pod_too_big_for_any_node_under_single_numa_node_gets_no_single_numa_node_advice() {
    let dir = tempfile::tempdir().unwrap();
    let vmi = write(
        dir.path(),
        "big.yaml",
        "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: big}\nspec:\n  domain:\n    \
         cpu: {cores: 16, dedicatedCpuPlacement: true, isolateEmulatorThread: true, numa: {guestMappingPassthrough: {}}}\n    \
         memory: {hugepages: {pageSize: 2Mi}}\n    resources: {requests: {memory: 64Mi}}\n    devices: {}\n",
    );
    let kubelet = write(
        dir.path(),
        "kubelet.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncpuManagerPolicy: static\n\
         topologyManagerPolicy: single-numa-node\nreservedSystemCPUs: \"0,16\"\n",
    );
    let text = explain(&[&vmi, "--kubelet-config", &kubelet]);
    assert!(
        text.contains("The kubelet does not admit the pod: TopologyAffinityError"),
        "{text}"
    );
    assert!(
        text.contains(
            "   - topologyManagerPolicy: single-numa-node is already set, and no node can hold the pod alone \
             (the pod needs 17 CPUs: 16 vCPUs + 1 emulator thread CPU (isolateEmulatorThread); the most any \
             node has is: node 1 has 16 free of 16 CPUs), so the kubelet rejects it with TopologyAffinityError."
        ),
        "{text}"
    );
    assert!(
        !text.contains("makes the kubelet give the pod CPUs of one node only"),
        "{text}"
    );

    // 13 vCPUs + 1 fit one node: the advice says the configured policy already holds.
    let small = std::fs::read_to_string(&vmi)
        .unwrap()
        .replace("cores: 16", "cores: 13");
    let small = write(dir.path(), "small.yaml", &small);
    let text = explain(&[&small, "--kubelet-config", &kubelet]);
    assert!(
        text.contains("   - topologyManagerPolicy: single-numa-node is already set, so the kubelet admits the pod on one node only (the pod needs 14 CPUs"),
        "{text}"
    );
}

#[test]
fn a_one_node_host_smaller_than_the_pod_is_told_so() {
    let dir = tempfile::tempdir().unwrap();
    let caps = write(
        dir.path(),
        "caps.xml",
        "<capabilities><host><topology><cells num=\"1\">\
         <cell id=\"0\"><memory unit=\"KiB\">4194304</memory><pages unit=\"KiB\" size=\"2048\">512</pages>\
         <cpus num=\"2\"><cpu id=\"0\" socket_id=\"0\" core_id=\"0\" siblings=\"0\"/>\
         <cpu id=\"1\" socket_id=\"0\" core_id=\"1\" siblings=\"1\"/></cpus></cell>\
         </cells></topology></host></capabilities>",
    );
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let text = explain(&[seed.to_str().unwrap(), "--host", &caps, "--cpuset", "0-1"]);
    assert!(
        text.contains(
            "   - No node can hold the pod alone (the pod needs 4 CPUs: 4 vCPUs; the most any node has is: node 0 \
             has 1 free of 2 CPUs (1 reserved)), so topologyManagerPolicy: single-numa-node would make the kubelet \
             reject it (TopologyAffinityError)."
        ),
        "{text}"
    );
    assert!(
        !text.contains("makes the kubelet give the pod CPUs of one node only"),
        "{text}"
    );
}
