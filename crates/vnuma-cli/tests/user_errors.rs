//! What a new user tripped over (issue 12): each error says what to do next, pinned by its
//! exact message.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli;

use cli::{examples, vnuma, vnuma_stdin};

use std::path::Path;
use std::process::Output;

fn seed() -> String {
    examples().join("seed.yaml").display().to_string()
}

/// stderr without the "using built-in host" notice, `dir` shown as `<dir>`.
fn stderr(out: &Output, dir: Option<&Path>) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = match dir {
        Some(d) => text.replace(&d.display().to_string(), "<dir>"),
        None => text,
    };
    text.lines()
        .filter(|l| !l.starts_with("using built-in host"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn assert_fails(out: &Output, code: i32, dir: Option<&Path>, expected: &str) {
    let err = stderr(out, dir);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err, expected);
    if code == 2 {
        assert!(out.stdout.is_empty(), "exit 2 prints nothing on stdout");
    }
}

fn hugepage_host(dir: &Path) -> String {
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
    let caps = dir.join("caps.xml");
    std::fs::write(
        &caps,
        format!(
            "<capabilities><host><topology><cells num='2'>{}{}</cells></topology></host></capabilities>",
            cell(0, 64, "0,1"),
            cell(1, 8, "2,3")
        ),
    )
    .unwrap();
    caps.display().to_string()
}

#[test]
fn a_small_cpuset_says_how_many_cpus_the_vm_needs() {
    let out = vnuma(&["plan", &seed(), "--cpuset", "7-8"]);
    assert_fails(
        &out,
        1,
        None,
        "error: the VM cannot run as planned (pinning): not enough exclusive threads provided, could not fit 2 core(s)\n\
         hint: the pod cpuset has 2 CPUs, the VM needs 4 (4 vCPUs) — give --cpuset at least 4 CPUs, or omit it to predict the kubelet's\n",
    );
    let out = vnuma(&["plan", &seed(), "--cpuset", "7-8", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["error"],
        serde_json::json!({
            "reason": "pinning",
            "message": "not enough exclusive threads provided, could not fit 2 core(s)",
            "hint": "the pod cpuset has 2 CPUs, the VM needs 4 (4 vCPUs) — give --cpuset at least 4 CPUs, or omit it to predict the kubelet's"
        }),
        "error.message stays KubeVirt's exact text; the hint is its own field"
    );
    // the emulator thread counts
    let dir = tempfile::tempdir().unwrap();
    let vmi = dir.path().join("vmi.yaml");
    let text = std::fs::read_to_string(seed()).unwrap();
    std::fs::write(
        &vmi,
        text.replace(
            "dedicatedCpuPlacement: true",
            "dedicatedCpuPlacement: true\n      isolateEmulatorThread: true",
        ),
    )
    .unwrap();
    let out = vnuma(&["plan", vmi.to_str().unwrap(), "--cpuset", "7-8,23-24"]);
    assert_fails(
        &out,
        1,
        None,
        "error: the VM cannot run as planned (emulator-thread): no CPU allocated for the emulation thread: no remaining unassigned threads\n\
         hint: the pod cpuset has 4 CPUs, the VM needs 5 (4 vCPUs + 1 emulator thread CPU (isolateEmulatorThread)) — give --cpuset at least 5 CPUs, or omit it to predict the kubelet's\n",
    );
}

#[test]
fn a_cpuset_the_host_lacks_asks_whether_the_host_is_right() {
    let out = vnuma(&["plan", &seed(), "--cpuset", "200-203"]);
    assert_fails(
        &out,
        1,
        None,
        "error: the VM cannot run as planned (pinning): could not fit 4 core(s) without crossing numa cell boundaries for individual cores\n\
         hint: the host has no CPU 200-203 of the pod cpuset: is --host the node the pod runs on?\n",
    );
}

#[test]
fn a_hugepage_shortfall_says_how_to_reserve_pages_and_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let host = hugepage_host(dir.path());
    let out = vnuma(&["plan", &seed(), "--host", &host, "--cpuset", "0-3"]);
    assert_fails(
        &out,
        1,
        None,
        "error: the VM cannot run as planned (hugepage-shortfall): hugepage shortfall: host node 1 has 8 (total, free unknown) 2Mi hugepages, the guest needs 16\n\
         hint: reserve 8 more 2Mi pages on host node 1: on the node run `echo 16 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages`\n\
         hint: or boot the node with `hugepagesz=2M hugepages=32` on the kernel command line (the kernel spreads those pages evenly across its 2 node(s))\n\
         hint: host node 0 has 64 2Mi pages (total, free unknown), enough for the guest cell on host node 1: a pod cpuset on that node's CPUs puts it there\n\
         hint: or pass --allow-hugepage-shortfall to plan anyway (the shortfall becomes a warning)\n",
    );
    let out = vnuma(&["plan", &seed(), "--host", &host, "--cpuset", "0-3", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["error"]["message"],
        "hugepage shortfall: host node 1 has 8 (total, free unknown) 2Mi hugepages, the guest needs 16"
    );
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap()
            .ends_with("or pass --allow-hugepage-shortfall to plan anyway (the shortfall becomes a warning)")
    );
}

#[test]
fn capabilities_without_numa_topology_say_where_to_get_one() {
    let doc = "<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>";
    let expected = "error: <stdin>: the capabilities document has no NUMA topology (<host><topology><cells> is missing \
                    or empty); run `virsh capabilities` on the node itself (libvirt in a container or on another \
                    machine may not see the host's nodes), or pass a sysfs root (--host / on the node)\n";
    for args in [
        vec!["topology", "--host", "-"],
        vec!["allocate", "--cpus", "2", "--host", "-"],
        vec!["plan", &seed(), "--host", "-"],
    ] {
        assert_fails(&vnuma_stdin(&args, doc), 2, None, expected);
    }
}

#[test]
fn an_hwloc_tarball_or_lstopo_xml_says_how_to_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("node.tar.bz2", b"BZh91AY&SY".to_vec(), "tar xjf"),
        ("node.tar.gz", vec![0x1f, 0x8b, 8, 0], "tar xzf"),
        (
            "node.tar",
            {
                let mut t = vec![0u8; 512];
                t[257..262].copy_from_slice(b"ustar");
                t
            },
            "tar xf",
        ),
    ];
    for (name, bytes, extract) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let out = vnuma(&["topology", "--host", file.to_str().unwrap()]);
        assert_fails(
            &out,
            2,
            Some(dir.path()),
            &format!(
                "error: <dir>/{name}: this is a tarball (as `hwloc-gather-topology` makes), not a capabilities \
                 document; extract it (`{extract} <dir>/{name}`) and pass the directory it creates (the one \
                 holding sys/) as --host\n"
            ),
        );
    }
    let xml = dir.path().join("node.xml");
    std::fs::write(
        &xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n\
         <topology version=\"2.0\">\n  <object type=\"Machine\" os_index=\"0\"/>\n</topology>\n",
    )
    .unwrap();
    let out = vnuma(&["topology", "--host", xml.to_str().unwrap()]);
    assert_fails(
        &out,
        2,
        Some(dir.path()),
        "error: <dir>/node.xml: this is an hwloc (lstopo) XML topology, which vnuma does not read; pass a sysfs root \
         (`/` on the node, or the directory an `hwloc-gather-topology` tarball extracts to), a \
         `virsh capabilities` document (`virsh capabilities > caps.xml` on the node) or example:NAME\n",
    );
}

#[test]
fn host_sys_suggests_the_root_above_it() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("snap/sys");
    std::fs::create_dir_all(sys.join("devices/system/cpu/cpu0")).unwrap();
    std::fs::create_dir_all(sys.join("devices/system/node/node0")).unwrap();
    let out = vnuma(&["topology", "--host", sys.to_str().unwrap()]);
    assert_fails(
        &out,
        2,
        Some(dir.path()),
        "error: --host <dir>/snap/sys: this is a sysfs directory itself (it holds devices/system); pass the root \
         above it: --host <dir>/snap\n",
    );
    if Path::new("/sys/devices/system/cpu").is_dir() {
        let out = vnuma(&["topology", "--host", "/sys"]);
        assert_fails(
            &out,
            2,
            None,
            "error: --host /sys: this is a sysfs directory itself (it holds devices/system); pass the root \
             above it: --host /\n",
        );
    }
}

#[test]
fn a_cgroup_root_suggests_the_pods_directory() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = dir.path().join("v1");
    std::fs::create_dir_all(v1.join("cpuset/kubepods")).unwrap();
    let out = vnuma(&["plan", &seed(), "--cgroup", v1.to_str().unwrap()]);
    assert_fails(
        &out,
        2,
        Some(dir.path()),
        "error: --cgroup <dir>/v1: this is the cgroup v1 root (it has a cpuset/ hierarchy but no cpuset files \
         itself); pass the pod's directory below it, e.g. <dir>/v1/cpuset/kubepods/pod<UID>/<container ID>\n",
    );
    let v2 = dir.path().join("v2");
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::write(v2.join("cgroup.controllers"), "cpu io memory pids\n").unwrap();
    let out = vnuma(&["plan", &seed(), "--cgroup", v2.to_str().unwrap()]);
    assert_fails(
        &out,
        2,
        Some(dir.path()),
        "error: --cgroup <dir>/v2: a cgroup v2 directory without cpuset files (the cpuset controller is not \
         enabled here); pass the pod's own cgroup directory, e.g. \
         /sys/fs/cgroup/kubepods.slice/.../cri-containerd-<container ID>.scope\n",
    );
}

#[test]
fn a_duplicate_yaml_key_is_named_with_its_place() {
    let out = vnuma_stdin(
        &["plan", "-", "--cpuset", "0"],
        "kind: VirtualMachineInstance\nkind: X\n",
    );
    assert_fails(
        &out,
        2,
        None,
        "error: <stdin>: invalid YAML: line 2 column 1: key \"kind\" is given twice in the same mapping; keep one of them\n",
    );
}

#[test]
fn kubevirt_versions_1_0_to_1_9_are_accepted_and_named_as_asked() {
    let plan = |version: &str| {
        let out = vnuma(&[
            "plan",
            &seed(),
            "--cpuset",
            "7-8,23-24",
            "--kubevirt-version",
            version,
            "-o",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out, None));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            doc["kubevirt_version"].as_str().unwrap().to_string(),
            doc["cells"][0]["distances"].is_null(),
        )
    };
    assert_eq!(plan("main"), ("main".into(), false));
    for (asked, named) in [
        ("1.9", "1.9"),
        ("v1.9", "1.9"),
        ("1.9.0", "1.9"),
        ("1.6", "1.6"),
        ("v1.0.1", "1.0"),
    ] {
        assert_eq!(plan(asked), (named.to_string(), true), "{asked}");
    }
    for refused in ["1.10", "2.0", "0.59", "latest", "1.9-rc.0"] {
        let out = vnuma(&[
            "plan",
            &seed(),
            "--cpuset",
            "7-8,23-24",
            "--kubevirt-version",
            refused,
        ]);
        assert_fails(
            &out,
            2,
            None,
            &format!(
                "error: invalid value '{refused}' for '--kubevirt-version <VERSION>': unknown KubeVirt version \
                 \"{refused}\"; vnuma reproduces main, or a release 1.0 to 1.9 (also written v1.9 or 1.9.0)\n\
                 \n\
                 For more information, try '--help'.\n"
            ),
        );
    }
    let help = String::from_utf8(vnuma(&["plan", "--help"]).stdout).unwrap();
    assert!(help.contains(
        "What differs: only guest NUMA distances are modelled per version. main passes the host's distances \
         through to the guest cells (kubevirt PR #18829); 1.9 and earlier releases leave them out. Every other \
         default is main's, for every version."
    ), "{help}");
}

#[test]
fn plan_help_lists_the_quirks() {
    let help = String::from_utf8(vnuma(&["plan", "--help"]).stdout).unwrap();
    for line in [
        "  kubevirt-quirk:sibling-ranges-dropped  sibling lists written as ranges (\"0-1\") are dropped, so those CPUs count as one-thread cores",
        "  kubevirt-quirk:partial-core-unpinned   the relaxed pool reports success with fewer pins than vCPUs when the last guest core is incomplete (fixed: the last core is placed too, or the plan fails)",
        "  kubevirt-quirk:no-topology-no-numa     a host without NUMA cells gives the guest no NUMA topology, silently (fixed: a numa-mapping error)",
        "  kubevirt-quirk:misscaled-error         the \"not enough memory\" message prints its second number scaled by 1048576 (fixed: bytes)",
        "--fix-kubevirt-quirks turns them all off",
        "  kubevirt-quirk:parity-mismatch         the pod's CPU request counts supplemental IOThreads twice for the emulator's even parity, leaving it a CPU short (fixed: counted once)",
        "Kubelet quirks (kubelet-quirk:* codes) are predicted as the kubelet behaves; no switch turns them off (unlike --fix-kubevirt-quirks):",
        "  kubelet-quirk:closest-numa-noncontiguous-ids  prefer-closest-numa-nodes on NUMA ids that are not 0..n-1",
        "  kubelet-quirk:uneven-socket-whole-take  on uneven sockets",
        "  kubelet-quirk:uneven-core-whole-take    the same flaw in the whole-core step",
    ] {
        assert!(help.contains(line), "missing {line:?} in\n{help}");
    }
}

/// `kubectl get vm,vmi -o yaml`: a VM (2 cores) and its VMI (4 cores), both `web`, as a List;
/// plus a VMI `web` in namespace `other` when `other_ns`.
fn vm_and_vmi(other_ns: bool) -> String {
    let spec = |cores: u32| {
        serde_json::json!({"domain": {
            "cpu": {"cores": cores, "dedicatedCpuPlacement": true, "numa": {"guestMappingPassthrough": {}}},
            "resources": {"requests": {"memory": "64Mi"}},
            "memory": {"hugepages": {"pageSize": "2Mi"}}
        }})
    };
    let mut items = vec![
        serde_json::json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"running": true, "template": {"spec": spec(2)}}}),
        serde_json::json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec(4)}),
    ];
    if other_ns {
        items.push(
            serde_json::json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "web", "namespace": "other"}, "spec": spec(1)}),
        );
    }
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

#[test]
fn a_vm_and_its_vmi_are_told_apart_by_kind_and_namespace() {
    let list = vm_and_vmi(false);
    let plan = |extra: &[&str], input: &str| {
        let mut args = vec!["plan", "-", "--cpuset", "7-8,23-24", "-o", "json"];
        args.extend_from_slice(extra);
        vnuma_stdin(&args, input)
    };
    let vcpus = |out: &Output| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out, None));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["guest"]["vcpus"].as_u64().unwrap()
    };
    assert_fails(
        &plan(&["--name", "web"], &list),
        2,
        None,
        "error: <stdin>: VirtualMachine/web and VirtualMachineInstance/web match --name web; pick one with --name KIND/NAME\n",
    );
    for (name, cores) in [
        ("VirtualMachine/web", 2),
        ("vm/web", 2),
        ("virtualmachines.kubevirt.io/web", 2),
        ("VirtualMachineInstance/web", 4),
        ("VMI/web", 4),
        ("virtualmachineinstance/web", 4),
    ] {
        assert_eq!(vcpus(&plan(&["--name", name], &list)), cores, "{name}");
    }
    assert_fails(
        &plan(&["--name", "pod/web"], &list),
        2,
        None,
        "error: --name pod/web: unknown kind \"pod\"; use vm (VirtualMachine) or vmi (VirtualMachineInstance), e.g. --name vm/web\n",
    );
    assert_fails(
        &plan(&["--name", "vm/nope"], &list),
        2,
        None,
        "error: <stdin>: no VirtualMachine/nope in the input (found: VirtualMachine/web (namespace default), VirtualMachineInstance/web (namespace default))\n",
    );
    // the same VMI name in two namespaces
    let list = vm_and_vmi(true);
    assert_fails(
        &plan(&["--name", "vmi/web"], &list),
        2,
        None,
        "error: <stdin>: VirtualMachineInstance/web (namespace default) and VirtualMachineInstance/web (namespace other) match --name VirtualMachineInstance/web; pick one with --namespace\n",
    );
    assert_eq!(vcpus(&plan(&["--name", "vmi/web", "-n", "other"], &list)), 1);
    assert_eq!(
        vcpus(&plan(&["--name", "vm/web", "--namespace", "default"], &list)),
        2
    );
    assert_fails(
        &plan(&["--name", "vm/web", "-n", "prod"], &list),
        2,
        None,
        "error: <stdin>: no VirtualMachine/web in namespace \"prod\" in the input (found: VirtualMachine/web (namespace default), VirtualMachineInstance/web (namespace default), VirtualMachineInstance/web (namespace other))\n",
    );
}

#[test]
fn a_cpuset_splitting_guest_cores_across_nodes_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let vmi = dir.path().join("smt.yaml");
    let text = std::fs::read_to_string(seed()).unwrap();
    std::fs::write(&vmi, text.replace("cores: 4", "cores: 2\n      threads: 2")).unwrap();
    let out = vnuma(&["plan", vmi.to_str().unwrap(), "--cpuset", "0,1,2,8"]);
    assert_fails(
        &out,
        1,
        None,
        "error: the VM cannot run as planned (pinning): could not fit 1 core(s) without crossing numa cell boundaries for individual cores\n\
         hint: the pod cpuset has 4 CPUs for the 4 the VM needs (4 vCPUs), but with guestMappingPassthrough KubeVirt keeps each guest core (2 thread(s)) inside one host node: give --cpuset a multiple of 2 CPUs on each host node (whole host cores are best)\n",
    );
}
