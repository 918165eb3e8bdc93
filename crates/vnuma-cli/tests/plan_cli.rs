//! `vnuma plan` end to end: the README command, the contract's JSON, exit codes and messages.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn seed() -> String {
    examples().join("seed.yaml").display().to_string()
}

fn vnuma(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .output()
        .unwrap()
}

fn vnuma_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

fn assert_exit(out: &Output, code: i32, stderr_has: &str) {
    assert_eq!(out.status.code(), Some(code), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(stderr_has), "stderr {err:?} lacks {stderr_has:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn readme_command_prints_the_table() {
    let out = vnuma(&["plan", &seed(), "--cpuset", "7-8,23-24"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("VMI default/numavm on host example:dual-socket, pod cpuset 7-8,23-24 (flag)\n"),
        "{table}"
    );
    assert!(
        table.contains("guest: 1 socket(s) x 4 core(s) x 1 thread(s) = 4 vCPUs, 64 MiB in 2Mi hugepages")
    );
    assert!(
        table.contains("  node 0: cpus 0-7,16-23\n    7=v0 23=v1\n"),
        "{table}"
    );
    assert!(
        table.contains("  cell 0 -> host node 0: vCPUs 0-1, 32 MiB, distances 0:10 1:21\n"),
        "{table}"
    );
    assert!(
        table.contains("  node 1: needs 16 x 2Mi, has 1024 free  ok\n"),
        "{table}"
    );
    assert!(
        table.contains("[socket-spans-cells]") && table.contains("[vcpus-share-core]"),
        "{table}"
    );
}

#[test]
fn json_is_the_contract_document_for_scenario_b() {
    let out = vnuma(&["plan", &seed(), "--cpuset", "7-8,23-24", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let mut doc = json(&out);
    let warnings = doc.as_object_mut().unwrap().remove("warnings").unwrap();
    // Where the plan was made (user_surprises.rs checks these fields in full).
    let host = doc.as_object_mut().unwrap().remove("host").unwrap();
    assert_eq!(host, serde_json::json!({"source": "example:dual-socket"}));
    assert_eq!(
        doc.as_object_mut().unwrap().remove("kubelet"),
        Some(serde_json::Value::Null)
    );
    let expected = serde_json::json!({
      "vmi": {"namespace": "default", "name": "numavm"},
      "kubevirt_version": "main",
      "cpuset": {"cpus": "7-8,23-24", "source": "flag"},
      "guest": {"sockets": 1, "cores": 4, "threads": 1, "vcpus": 4, "max_vcpus": 4, "enabled_vcpus": "0-3",
                "memory_bytes": 67108864, "page_size_bytes": 2097152},
      "vcpupin": [{"vcpu": 0, "cpu": 7}, {"vcpu": 1, "cpu": 23}, {"vcpu": 2, "cpu": 8}, {"vcpu": 3, "cpu": 24}],
      "emulatorpin": null,
      "iothreadpin": [],
      "cells": [
        {"id": 0, "host_node": 0, "host_nodes": [0], "vcpus": "0-1", "memory_bytes": 33554432, "distances": {"0": 10, "1": 21}},
        {"id": 1, "host_node": 1, "host_nodes": [1], "vcpus": "2-3", "memory_bytes": 33554432, "distances": {"0": 21, "1": 10}}
      ],
      "numatune": {"mode": "strict", "nodeset": "0-1",
                   "memnodes": [{"cell": 0, "mode": "strict", "nodeset": "0"}, {"cell": 1, "mode": "strict", "nodeset": "1"}]},
      "hugepages": [
        {"host_node": 0, "host_nodes": [0], "page_size_bytes": 2097152, "pages_needed": 16, "pages_free": 1024, "free_known": true, "fits": true},
        {"host_node": 1, "host_nodes": [1], "page_size_bytes": 2097152, "pages_needed": 16, "pages_free": 1024, "free_known": true, "fits": true}
      ],
      "error": null
    });
    assert_eq!(doc, expected);
    let codes: Vec<&str> = warnings
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["socket-spans-cells", "vcpus-share-core"]);
    // deterministic, and YAML carries the same document
    assert_eq!(
        out.stdout,
        vnuma(&["plan", &seed(), "--cpuset", "7-8,23-24", "-o", "json"]).stdout
    );
    let yaml = text(&vnuma(&["plan", &seed(), "--cpuset", "7-8,23-24", "-o", "yaml"]).stdout);
    assert!(
        yaml.contains("kubevirt_version: main") && yaml.contains("memory_bytes: 33554432"),
        "{yaml}"
    );
}

#[test]
fn xml_is_the_kubevirt_domain() {
    let out = vnuma(&["plan", &seed(), "--cpuset", "2-3,18-19", "-o", "xml"]);
    assert_eq!(out.status.code(), Some(0));
    let xml = text(&out.stdout);
    for line in [
        "  <memory unit=\"b\">67108864</memory>",
        "      <page size=\"2097152\" unit=\"b\" nodeset=\"0\"></page>",
        "    <source type=\"memfd\"></source>",
        "    <allocation mode=\"immediate\"></allocation>",
        "      <hint-dedicated state=\"on\"></hint-dedicated>",
        "    <topology sockets=\"1\" cores=\"4\" threads=\"1\"></topology>",
        "      <cell id=\"0\" cpus=\"0,1,2,3\" memory=\"67108864\" unit=\"b\">",
        "        <distances><sibling id=\"0\" value=\"10\"></sibling></distances>",
        "  <vcpu placement=\"static\">4</vcpu>",
        "    <vcpupin vcpu=\"1\" cpuset=\"18\"></vcpupin>",
        "    <memory mode=\"strict\" nodeset=\"0\"></memory>",
        "    <memnode cellid=\"0\" mode=\"strict\" nodeset=\"0\"></memnode>",
    ] {
        assert!(xml.contains(&format!("{line}\n")), "missing {line:?} in\n{xml}");
    }
    let v19 = text(
        &vnuma(&[
            "plan",
            &seed(),
            "--cpuset",
            "2-3,18-19",
            "-o",
            "xml",
            "--kubevirt-version",
            "1.9",
        ])
        .stdout,
    );
    assert!(!v19.contains("<distances>"));
}

#[test]
fn a_cx1_virtual_machine_plans_like_the_equivalent_vmi() {
    let vm = examples().join("cx1-vm.yaml").display().to_string();
    let from_vm = vnuma(&["plan", &vm, "--cpuset", "7-8,23-24", "-o", "json"]);
    assert_eq!(from_vm.status.code(), Some(0), "{}", text(&from_vm.stderr));
    let from_vmi = vnuma(&["plan", &seed(), "--cpuset", "7-8,23-24", "-o", "json"]);
    // One difference, and it is KubeVirt's: the preference writes sockets: 1 explicitly, so
    // the webhook's CPU hotplug setup gives the VM maxSockets 4 (16 vCPU slots); the seed VMI
    // leaves sockets 0 (cores: 4), which gets no hotplug.
    let without_slots = |out: &std::process::Output| {
        let mut doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let max = doc["guest"]["max_vcpus"].take();
        (doc, max)
    };
    let (vm_doc, vm_max) = without_slots(&from_vm);
    let (vmi_doc, vmi_max) = without_slots(&from_vmi);
    assert_eq!((vm_max, vmi_max), (serde_json::json!(16), serde_json::json!(4)));
    assert_eq!(vm_doc, vmi_doc);
    // the instancetype may also come from its own file
    let dir = tempfile::tempdir().unwrap();
    let all = std::fs::read_to_string(&vm).unwrap();
    let docs: Vec<&str> = all.split("\n---\n").collect();
    let types = dir.path().join("types.yaml");
    std::fs::write(&types, format!("{}\n---\n{}", docs[0], docs[1])).unwrap();
    let only_vm = dir.path().join("vm.yaml");
    std::fs::write(&only_vm, docs[2]).unwrap();
    let split = vnuma(&[
        "plan",
        only_vm.to_str().unwrap(),
        "--instancetype",
        types.to_str().unwrap(),
        "--cpuset",
        "7-8,23-24",
        "-o",
        "json",
    ]);
    assert_eq!(text(&split.stdout), text(&from_vm.stdout));
    let missing = vnuma(&["plan", only_vm.to_str().unwrap(), "--cpuset", "7-8,23-24"]);
    assert_exit(
        &missing,
        2,
        "references VirtualMachineClusterInstancetype \"cx1.numa4\", which is in none of the inputs",
    );
}

#[test]
fn several_vmis_are_picked_by_name_and_lists_are_read() {
    let seed_text = std::fs::read_to_string(seed()).unwrap();
    let other = seed_text.replace("name: numavm", "name: other");
    let stream = format!("{seed_text}---\n{other}");
    let out = vnuma_stdin(&["plan", "-", "--cpuset", "7-8,23-24"], &stream);
    assert_exit(
        &out,
        2,
        "several VMs in the input (VirtualMachineInstance/numavm, VirtualMachineInstance/other); pick one with --name",
    );
    let out = vnuma_stdin(
        &[
            "plan",
            "-f",
            "-",
            "--name",
            "other",
            "--cpuset",
            "7-8,23-24",
            "-o",
            "json",
        ],
        &stream,
    );
    assert_eq!(json(&out)["vmi"]["name"], "other");
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        serde_saphyr_free_seed(&seed_text)
    ]});
    let out = vnuma_stdin(
        &["plan", "-", "--cpuset", "7-8,23-24", "-o", "json"],
        &list.to_string(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["cells"].as_array().unwrap().len(), 2);
}

/// The seed as a JSON value (YAML is a superset of JSON, so a List in JSON is valid input).
fn serde_saphyr_free_seed(_yaml: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "numavm"},
        "spec": {"domain": {"cpu": {"cores": 4, "dedicatedCpuPlacement": true, "numa": {"guestMappingPassthrough": {}}},
                 "resources": {"requests": {"memory": "64Mi"}}, "memory": {"hugepages": {"pageSize": "2Mi"}}}}
    })
}

#[test]
fn bad_inputs_exit_2_naming_the_field() {
    let seed_text = std::fs::read_to_string(seed()).unwrap();
    let cases = [
        (
            seed_text.replace("cores: 4", "cores: four"),
            "<stdin>: spec.domain.cpu.cores: invalid type",
        ),
        (
            seed_text.replace("memory: 64Mi", "memory: 64Mx"),
            "<stdin>: spec.domain.resources.requests.memory: invalid quantity \"64Mx\"",
        ),
        (
            seed_text.replace("memory: 64Mi", "memory: -1Gi"),
            "<stdin>: spec.domain.resources.requests.memory: invalid quantity \"-1Gi\": must be greater than or equal to 0",
        ),
        ("spec: [unclosed".to_string(), "<stdin>: invalid YAML"),
        (
            "kind: ConfigMap\n".to_string(),
            "no VirtualMachineInstance or VirtualMachine in the input",
        ),
    ];
    for (input, message) in cases {
        let out = vnuma_stdin(&["plan", "-", "--cpuset", "7-8,23-24"], &input);
        assert_exit(&out, 2, message);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn admission_rejections_list_every_cause() {
    let seed_text = std::fs::read_to_string(seed()).unwrap();
    let bad = seed_text
        .replace(
            "dedicatedCpuPlacement: true",
            "dedicatedCpuPlacement: false\n      isolateEmulatorThread: true",
        )
        .replace("      hugepages:\n        pageSize: 2Mi", "      guest: 64Mi");
    let out = vnuma_stdin(&["plan", "-", "--cpuset", "7-8,23-24"], &bad);
    assert_exit(
        &out,
        2,
        "KubeVirt's admission would reject this VMI (3 cause(s)):",
    );
    let err = text(&out.stderr);
    for line in [
        "spec.domain.cpu.numa.guestMappingPassthrough: spec.domain.cpu.dedicatedCpuPlacement must be set to true when NUMA topology strategy is set in spec.domain.cpu.numa.guestMappingPassthrough",
        "spec.domain.cpu.numa.guestMappingPassthrough: spec.domain.memory.hugepages must be requested when NUMA topology strategy is set in spec.domain.cpu.numa.guestMappingPassthrough",
        "spec.domain.cpu.isolateEmulatorThread: IsolateEmulatorThread should be only set in combination with DedicatedCPUPlacement",
    ] {
        assert!(err.contains(line), "{err}");
    }
}

#[test]
fn cpusets_from_flags_and_cgroups() {
    // without --cpuset or --cgroup the kubelet's allocation is predicted (tests/kubelet_cli.rs)
    let out = vnuma(&["plan", &seed(), "-o", "json"]);
    assert_eq!(json(&out)["cpuset"]["source"], "predicted");
    let out = vnuma(&["plan", &seed(), "--cpuset", "0-4294967295"]);
    assert_exit(
        &out,
        2,
        "--cpuset: invalid cpu list \"0-4294967295\": rejecting expanding CPU array for safety reasons, limit is 50000",
    );
    // CPUs the host lacks: a warning, then KubeVirt's error (exit 1)
    let out = vnuma(&["plan", &seed(), "--cpuset", "2-3,18,99", "-o", "json"]);
    assert_exit(
        &out,
        1,
        "could not fit 1 core(s) without crossing numa cell boundaries for individual cores",
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["reason"], "pinning");
    assert_eq!(doc["warnings"][0]["code"], "cpuset-unknown-cpus");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cpuset.cpus.effective"), "7-8,23-24\n").unwrap();
    let out = vnuma(&[
        "plan",
        &seed(),
        "--cgroup",
        dir.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(
        json(&out)["cpuset"],
        serde_json::json!({"cpus": "7-8,23-24", "source": "cgroup"})
    );
    let v1 = tempfile::tempdir().unwrap();
    std::fs::write(v1.path().join("cpuset.cpus"), "2-3,18-19\n").unwrap();
    let out = vnuma(&[
        "plan",
        &seed(),
        "--cgroup",
        v1.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(json(&out)["cells"].as_array().unwrap().len(), 1);
    let empty = tempfile::tempdir().unwrap();
    assert_exit(
        &vnuma(&["plan", &seed(), "--cgroup", empty.path().to_str().unwrap()]),
        2,
        "neither cpuset.cpus.effective",
    );
    assert_exit(
        &vnuma_stdin(&["plan", "-", "--host", "-", "--cpuset", "0"], ""),
        2,
        "only one input may read stdin",
    );
}

#[test]
fn a_hugepage_shortfall_exits_1_with_the_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let caps = dir.path().join("caps.xml");
    let cell = |id: u32, pages: u32, cpus: &str| {
        let cpu_elems: String = cpus
            .split(',')
            .map(|c| format!("<cpu id='{c}' socket_id='{id}' die_id='0' core_id='{c}' siblings='{c}'/>"))
            .collect();
        format!(
            "<cell id='{id}'><memory unit='KiB'>8388608</memory><pages unit='KiB' size='4'>1</pages>\
             <pages unit='KiB' size='2048'>{pages}</pages><cpus num='2'>{cpu_elems}</cpus></cell>"
        )
    };
    std::fs::write(
        &caps,
        format!(
            "<capabilities><host><topology><cells num='2'>{}{}</cells></topology></host></capabilities>",
            cell(0, 64, "0,1"),
            cell(1, 8, "2,3")
        ),
    )
    .unwrap();
    let host = caps.to_str().unwrap();
    let out = vnuma(&["plan", &seed(), "--host", host, "--cpuset", "0-3", "-o", "json"]);
    assert_exit(
        &out,
        1,
        "hugepage shortfall: host node 1 has 8 (total, free unknown) 2Mi hugepages, the guest needs 16",
    );
    let doc = json(&out);
    assert_eq!(doc["error"]["reason"], "hugepage-shortfall");
    assert_eq!(
        doc["hugepages"][1],
        serde_json::json!({"host_node": 1, "host_nodes": [1], "page_size_bytes": 2097152, "pages_needed": 16, "pages_free": 8, "free_known": false, "fits": false})
    );
    let out = vnuma(&["plan", &seed(), "--host", host, "--cpuset", "0-3", "-o", "xml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no XML for a VM that cannot start");
    let out = vnuma(&[
        "plan",
        &seed(),
        "--host",
        host,
        "--cpuset",
        "0-3",
        "--allow-hugepage-shortfall",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let table = text(&vnuma(&["plan", &seed(), "--host", host, "--cpuset", "0-3"]).stdout);
    assert!(
        table.contains("  node 1: needs 16 x 2Mi, has 8 total (free unknown)  SHORT\n"),
        "{table}"
    );
}

#[test]
fn hypervisor_formats() {
    let qemu = text(
        &vnuma(&[
            "plan",
            &seed(),
            "--cpuset",
            "7-8,23-24",
            "-o",
            "qemu",
            "--qemu-accel",
            "tcg",
        ])
        .stdout,
    );
    assert!(
        qemu.starts_with("qemu-system-x86_64 \\\n-machine q35 \\\n-accel tcg \\\n-cpu max \\\n"),
        "{qemu}"
    );
    assert!(
        qemu.contains("-numa node,nodeid=1,cpus=2-3,memdev=ram-node1 \\\n"),
        "{qemu}"
    );
    assert!(qemu.ends_with("-numa dist,src=1,dst=1,val=10\n"), "{qemu}");
    let pinning = json(&vnuma(&[
        "plan",
        &seed(),
        "--cpuset",
        "7-8,23-24",
        "-o",
        "qemu-pinning",
    ]));
    assert_eq!(pinning["vcpus"][1], serde_json::json!({"vcpu": 1, "cpus": "23"}));
    assert_eq!(pinning["emulator"], serde_json::Value::Null);
    let ch = vnuma(&["plan", &seed(), "--cpuset", "7-8,23-24", "-o", "cloud-hypervisor"]);
    assert_eq!(ch.status.code(), Some(0));
    assert!(
        text(&ch.stdout)
            .contains("--cpus 'boot=4,topology=1:4:1:1,affinity=[0@[7],1@[23],2@[8],3@[24]]' \\\n")
    );
    // a plan that cannot run renders nothing for a hypervisor
    let failed = vnuma(&["plan", &seed(), "--cpuset", "7", "-o", "qemu"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(failed.stdout.is_empty());
    let help = text(&vnuma(&["plan", "--help"]).stdout);
    assert!(help.contains("QEMU has no option to pin vCPUs"), "{help}");
}

#[test]
fn the_seed_pod_resources() {
    let out = vnuma(&["pod", &seed(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["requests"]["cpu"], "4");
    assert_eq!(doc["limits"]["hugepages-2Mi"], "64Mi");
    assert_eq!(doc["requests"]["ephemeral-storage"], "50M");
    assert_eq!(doc["memory_bytes"], 432_144_384);
    assert_eq!(doc["qos_class"], "Guaranteed");
    let table = text(&vnuma(&["pod", &seed()]).stdout);
    assert!(
        table.starts_with(
            "virt-launcher pod of default/numavm, container compute: QoS Guaranteed, 4 exclusive CPUs"
        ),
        "{table}"
    );
}

/// Compares with `tests/data/golden/NAME`; `UPDATE_GOLDEN=1` rewrites the file for review.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "{} differs (UPDATE_GOLDEN=1 rewrites it after review)",
        path.display()
    );
}

#[test]
fn explain_golden_files() {
    for (name, cpuset) in [
        ("explain-seed-a.txt", "2-3,18-19"),
        ("explain-seed-b.txt", "7-8,23-24"),
    ] {
        let out = vnuma(&["explain", &seed(), "--cpuset", cpuset]);
        assert_eq!(out.status.code(), Some(0));
        golden(name, &text(&out.stdout));
    }
    // a strict-pool failure: 2 threads per core, but the pod's CPUs on node 0 hold no whole core
    let dir = tempfile::tempdir().unwrap();
    let smt = dir.path().join("smt.yaml");
    let seed_text = std::fs::read_to_string(seed()).unwrap();
    std::fs::write(&smt, seed_text.replace("cores: 4", "cores: 2\n      threads: 2")).unwrap();
    let out = vnuma(&["explain", smt.to_str().unwrap(), "--cpuset", "7-9,24"]);
    assert_eq!(out.status.code(), Some(1));
    golden("explain-strict-failure.txt", &text(&out.stdout));
}
