//! Issue 10 (KubeVirt's converter at main, mid-2026): one regression test per cause, each
//! holding its minimal VMI, run through the CLI.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli;

use cli::{text, vnuma_stdin};

use std::process::Output;

fn assert_exit(out: &Output, code: i32, stderr_has: &str) {
    assert_eq!(out.status.code(), Some(code), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(stderr_has), "stderr {err:?} lacks {stderr_has:?}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A dedicated-CPU NUMA VMI with `extra` spliced into `spec.domain` (indented 4 spaces).
fn vmi(domain_extra: &str, spec_extra: &str) -> String {
    format!(
        "apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: vm
spec:
  domain:
    cpu:
      cores: 2
      dedicatedCpuPlacement: true
      numa:
        guestMappingPassthrough: {{}}
    memory:
      hugepages:
        pageSize: 2Mi
    resources:
      requests:
        memory: 64Mi
{domain_extra}{spec_extra}"
    )
}

const PLAN: [&str; 6] = ["plan", "-", "--host", "example:dual-socket", "--cpuset", "7-8"];

#[test]
fn iothreads_on_a_non_virtio_bus() {
    let disks = "    devices:
      disks:
        - name: data
          dedicatedIOThread: true
          disk:
            bus: sata
";
    let out = vnuma_stdin(&PLAN, &vmi(disks, ""));
    assert_exit(
        &out,
        2,
        "spec.domain.devices.disks.domain.devices.disks[0]: IOThreads are not supported for disks on a sata bus",
    );
    assert!(out.stdout.is_empty());
    // the webhook's default buses on amd64: sata for a disk, a lun and a cdrom without one,
    // and for a disk with no target (it becomes a `disk`)
    for target in ["disk: {}", "lun: {}", "cdrom: {}", ""] {
        let disks = format!(
            "    devices:
      disks:
        - name: data
          dedicatedIOThread: true
          {target}
"
        );
        let out = vnuma_stdin(&PLAN, &vmi(&disks, ""));
        assert_exit(&out, 2, "IOThreads are not supported for disks on a sata bus");
    }
    // virtio is fine
    let ok = disks.replace("sata", "virtio");
    let out = vnuma_stdin(&PLAN, &vmi(&ok, ""));
    assert_exit(&out, 0, "");
}

#[test]
fn iothreads_policy_without_disks_leaves_the_domain_without_iothreads() {
    for policy in ["auto", "shared"] {
        let domain = format!("    ioThreadsPolicy: {policy}\n");
        let out = vnuma_stdin(&PLAN, &vmi(&domain, ""));
        assert_exit(&out, 1, "domain is missing IOThreads");
        assert!(text(&out.stderr).contains("(iothreads)"), "{}", text(&out.stderr));
        let mut json_args = PLAN.to_vec();
        json_args.extend(["-o", "json"]);
        let out = vnuma_stdin(&json_args, &vmi(&domain, ""));
        assert_eq!(out.status.code(), Some(1));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["error"]["reason"], "iothreads");
        assert_eq!(doc["error"]["message"], "domain is missing IOThreads");
    }
    // a volume without a disk gets a default disk (virtio is not needed to count): one IOThread
    let volume = "  volumes:
    - name: rootdisk
      containerDisk:
        image: example
";
    let out = vnuma_stdin(&PLAN, &vmi("    ioThreadsPolicy: auto\n", volume));
    assert_exit(&out, 0, "");
}

fn with_args(extra: &[&str]) -> Vec<String> {
    PLAN.iter().chain(extra).map(ToString::to_string).collect()
}

fn run(args: &[String], stdin: &str) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    vnuma_stdin(&refs, stdin)
}

fn with_model(model: &str) -> String {
    vmi("", "").replace(
        "      dedicatedCpuPlacement: true\n",
        &format!("      dedicatedCpuPlacement: true\n      model: {model}\n"),
    )
}

#[test]
fn cpu_model_is_rendered_as_the_converter_does() {
    let xml = |input: &str, extra: &[&str]| {
        let mut args = with_args(&["-o", "xml"]);
        args.extend(extra.iter().map(ToString::to_string));
        let out = run(&args, input);
        assert_exit(&out, 0, "");
        text(&out.stdout)
    };
    let qemu = |input: &str| {
        let out = run(&with_args(&["-o", "qemu"]), input);
        assert_exit(&out, 0, "");
        text(&out.stdout)
    };
    // no model: host-model, as before
    let default = xml(&vmi("", ""), &[]);
    assert!(
        default.contains("  <cpu mode=\"host-model\">\n    <topology"),
        "{default}"
    );
    assert!(qemu(&vmi("", "")).contains("-cpu host \\"));

    let passthrough = with_model("host-passthrough");
    assert!(xml(&passthrough, &[]).contains("  <cpu mode=\"host-passthrough\">\n    <topology"));
    assert!(qemu(&passthrough).contains("-cpu host \\"));

    // a named model: custom mode, the model, and mpx disabled on amd64
    let named = with_model("Skylake-Server");
    let domain = xml(&named, &[]);
    assert!(
        domain.contains(
            "  <cpu mode=\"custom\">\n    <model>Skylake-Server</model>\n    <feature name=\"mpx\" policy=\"disable\"></feature>\n    <topology"
        ),
        "{domain}"
    );
    assert!(qemu(&named).contains("-cpu Skylake-Server,mpx=off \\"));
    // Cloud Hypervisor has no CPU model choice
    let out = run(&with_args(&["-o", "cloud-hypervisor"]), &named);
    assert_exit(&out, 1, "(backend-unsupported)");
    assert_exit(&out, 1, "cloud hypervisor has no CPU model option");
    assert!(out.stdout.is_empty());

    // the cluster's default model applies when the VMI names none
    let dir = std::env::temp_dir().join(format!("vnuma-cpumodel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kv = dir.join("kubevirt.yaml");
    std::fs::write(
        &kv,
        "apiVersion: kubevirt.io/v1\nkind: KubeVirt\nmetadata:\n  name: kubevirt\nspec:\n  configuration:\n    cpuModel: Cascadelake-Server\n",
    )
    .unwrap();
    let from_cluster = xml(&vmi("", ""), &["--kubevirt-config", kv.to_str().unwrap()]);
    assert!(
        from_cluster.contains("<model>Cascadelake-Server</model>"),
        "{from_cluster}"
    );
    // ... but not over the VMI's own
    let own = xml(&passthrough, &["--kubevirt-config", kv.to_str().unwrap()]);
    assert!(own.contains("<cpu mode=\"host-passthrough\">"), "{own}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn pod_json(input: &str) -> serde_json::Value {
    let out = vnuma_stdin(&["pod", "-", "-o", "json"], input);
    assert_exit(&out, 0, "");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn vfio_devices_add_the_overhead_and_their_resources_to_the_pod() {
    let plain = pod_json(&vmi("", ""));
    let memory = |doc: &serde_json::Value| doc["memory_bytes"].as_i64().unwrap();
    let gpu = "    devices:
      gpus:
        - name: gpu1
          deviceName: nvidia.com/TU104GL_Tesla_T4
        - name: gpu2
          deviceName: nvidia.com/TU104GL_Tesla_T4
      hostDevices:
        - name: qat
          deviceName: intel.com/qat
";
    let doc = pod_json(&vmi(gpu, ""));
    assert_eq!(memory(&doc) - memory(&plain), 1 << 30, "1Gi VFIO overhead");
    for side in ["limits", "requests"] {
        assert_eq!(doc[side]["nvidia.com/TU104GL_Tesla_T4"], "2", "{doc}");
        assert_eq!(doc[side]["intel.com/qat"], "1", "{doc}");
    }
    assert_eq!(doc["limits"]["memory"], doc["requests"]["memory"]);
    assert!(doc.get("notes").is_none());

    // SR-IOV: the overhead, and a note instead of an invented resource name
    let sriov = "    devices:
      interfaces:
        - name: fast
          sriov: {}
";
    let doc = pod_json(&vmi(sriov, ""));
    assert_eq!(memory(&doc) - memory(&plain), 1 << 30);
    let notes = doc["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].as_str().unwrap().contains("NetworkAttachmentDefinition"),
        "{notes:?}"
    );
    let out = vnuma_stdin(&["pod", "-"], &vmi(sriov, ""));
    assert!(text(&out.stdout).contains("note: SR-IOV interface \"fast\""));
}

#[test]
fn arm64_guests_are_not_rendered_as_x86() {
    let arm = vmi("", "  architecture: arm64\n");
    let out = run(&with_args(&["-o", "qemu"]), &arm);
    assert_exit(&out, 1, "(backend-unsupported)");
    assert!(out.stdout.is_empty());
    let out = run(&with_args(&["-o", "xml"]), &arm);
    assert_exit(&out, 0, "");
    let xml = text(&out.stdout);
    assert!(
        xml.contains("<type arch=\"aarch64\" machine=\"virt\">hvm</type>"),
        "{xml}"
    );
    // arm64's default model is host-passthrough, and there is no hint-dedicated
    assert!(xml.contains("<cpu mode=\"host-passthrough\">"), "{xml}");
    assert!(!xml.contains("hint-dedicated"), "{xml}");
}

#[test]
fn realtime_scheduling_is_in_the_plan_and_explained() {
    let rt = vmi("", "").replace(
        "      dedicatedCpuPlacement: true\n",
        "      dedicatedCpuPlacement: true\n      realtime:\n        mask: \"0\"\n",
    );
    let out = run(&with_args(&["-o", "json"]), &rt);
    assert_exit(&out, 0, "");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["realtime"],
        serde_json::json!({"vcpus": "0", "policy": "fifo", "priority": 1})
    );
    let out = run(&with_args(&["-o", "json"]), &vmi("", ""));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.get("realtime").is_none(), "left out without realtime");
    let mut explain: Vec<String> = with_args(&[]);
    explain[0] = "explain".into();
    let out = run(&explain, &rt);
    assert_exit(&out, 0, "");
    assert!(
        text(&out.stdout)
            .contains("virt-handler runs the threads \"CPU N/KVM\" of vCPUs 0 with SCHED_FIFO priority 1"),
        "{}",
        text(&out.stdout)
    );
}

/// Siblings of item 6a: the other terms of KubeVirt's memory overhead vnuma ignored.
#[test]
fn the_other_overhead_terms_reach_the_pod() {
    let memory = |doc: &serde_json::Value| doc["memory_bytes"].as_i64().unwrap();
    let plain = pod_json(&vmi("", ""));
    let domain = "    devices:
      tpm: {}
    launchSecurity:
      sev: {}
";
    let spec = "  livenessProbe:
    exec:
      command: [\"true\"]
  readinessProbe:
    exec:
      command: [\"true\"]
  volumes:
    - name: metrics
      downwardMetrics: {}
";
    let input = vmi(domain, spec).replace(
        "        pageSize: 2Mi\n",
        "        pageSize: 2Mi\n      reservedOverhead:\n        addedOverhead: 10Mi\n",
    );
    let doc = pod_json(&input);
    // TPM 53Mi, two exec probes 2 x 10Mi + 100Mi, downward metrics 1Mi, SEV 256Mi, added 10Mi
    assert_eq!(
        memory(&doc) - memory(&plain),
        (53 + 120 + 1 + 256 + 10) << 20,
        "{doc}"
    );
    let off = vmi("    devices:\n      tpm:\n        enabled: false\n", "");
    assert_eq!(
        memory(&pod_json(&off)),
        memory(&plain),
        "a disabled TPM adds nothing"
    );
}
