//! `vnuma verify` against a booted guest: the seed (memory raised to 512Mi) is planned with
//! its two cells, QEMU (TCG) boots a Debian kernel with the busybox initramfs of
//! `tests/guest/` from the rendered arguments on real 2 MiB hugepages (a hugetlbfs mount;
//! `-no-shutdown` keeps it inspectable after the guest's report), and the plan, mapped onto
//! this machine (one NUMA node, two CPUs), has no mismatch after `--pin`, page sizes included;
//! an altered plan is reported with every mismatch named; and the same plan against a QEMU on
//! `memory-backend-ram` is a mismatch (issue 12: verify used to pass it).
//! `.ci/run` installs qemu-system-x86 and busybox-static, and runs as root (hugepages);
//! without them this test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/hugepages.rs"]
mod hugepages;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vnuma(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .output()
        .unwrap()
}

/// The seed with 512Mi: two cells of 256 MiB a booting guest can resolve.
fn seed(dir: &Path) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml"))
            .unwrap();
    let path = dir.join("seed-512.yaml");
    std::fs::write(&path, text.replace("memory: 64Mi", "memory: 512Mi")).unwrap();
    path.display().to_string()
}

/// Runs a `tests/guest/` script and returns the path it prints.
fn guest_file(script: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guest")
        .join(script);
    let out = Command::new("bash").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The shell lines of `-o qemu` back into argv (the output quotes nothing for these plans).
fn argv(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches(" \\"))
        .flat_map(|l| l.splitn(2, ' ').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

struct Qemu(Child);

impl Qemu {
    /// Starts `command` with its QMP monitor on the unix socket `sock` and waits until the
    /// socket is there.
    fn start(mut command: Command, sock: &Path) -> Qemu {
        let child = command
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", sock.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-x86_64 (Debian package qemu-system-x86; .ci/run installs it)");
        let qemu = Qemu(child);
        let start = Instant::now();
        while !sock.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "QEMU did not open its QMP socket"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        qemu
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn verify_finds_no_mismatch_on_a_matching_vm_and_names_one_on_an_altered_plan() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed(dir.path());
    let seed = seed.as_str();
    let (kernel, initrd) = (guest_file("fetch-kernel.sh"), guest_file("build-initrd.sh"));
    let cpuset = ["--cpuset", "7-8,23-24"];
    let plan = vnuma(&["plan", seed, cpuset[0], cpuset[1], "-o", "json"]);
    assert_eq!(plan.status.code(), Some(0));
    // 512 MiB of guest memory on real 2 MiB pages.
    let mount = hugepages::HugetlbfsMount::new(256).unwrap_or_else(|e| panic!("{e}"));
    let hugetlbfs = mount.path().to_str().unwrap();
    let qemu = vnuma(&[
        "plan",
        seed,
        cpuset[0],
        cpuset[1],
        "-o",
        "qemu",
        "--qemu-accel",
        "tcg",
        "--qemu-memory-backend",
        "file",
        "--qemu-hugetlbfs",
        hugetlbfs,
    ]);
    let mut args = argv(&String::from_utf8(qemu.stdout).unwrap());
    // This machine has one NUMA node and two CPUs: bind every cell to node 0 and map each
    // planned host CPU n to n mod 2, in the arguments and in the plan alike.
    for a in &mut args {
        if a.contains("host-nodes=") {
            *a = a.replace("host-nodes=1", "host-nodes=0");
        }
    }
    let mut doc: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    for cell in doc["cells"].as_array_mut().unwrap() {
        cell["host_node"] = 0.into();
        cell["host_nodes"] = serde_json::json!([0]);
    }
    for pin in doc["vcpupin"].as_array_mut().unwrap() {
        pin["cpu"] = (pin["cpu"].as_u64().unwrap() % 2).into();
    }
    let sock = dir.path().join("qmp.sock");
    let console = dir.path().join("console.log");
    let binary = args.remove(0);
    let mut command = Command::new(&binary);
    command
        .args(&args)
        .args([
            "-kernel",
            &kernel,
            "-initrd",
            &initrd,
            "-append",
            "console=ttyS0 panic=-1 quiet",
        ])
        .args(["-no-shutdown", "-nodefaults", "-display", "none", "-serial"])
        .arg(format!("file:{}", console.display()));
    let _guard = Qemu::start(command, &sock);
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, serde_json::to_string(&doc).unwrap()).unwrap();
    let ok = vnuma(&[
        "verify",
        "--plan",
        plan_file.to_str().unwrap(),
        "--qmp",
        sock.to_str().unwrap(),
        "--pin",
    ]);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        out,
        "the VM matches its plan: 4 vCPUs, 2 cells, memory binding and page size checked in numa_maps\n"
    );
    let matching_plan = doc.clone();

    let plan_bytes = 268_435_456;

    // an altered plan: vCPU 2 moved to cell 0, and cell 1 claimed for host node 1
    doc["cells"][0]["vcpus"] = "0-2".into();
    doc["cells"][1]["vcpus"] = "3".into();
    doc["cells"][1]["host_node"] = 1.into();
    doc["cells"][1]["host_nodes"] = serde_json::json!([1]);
    std::fs::write(&plan_file, serde_json::to_string(&doc).unwrap()).unwrap();
    let bad = vnuma(&[
        "verify",
        "--plan",
        plan_file.to_str().unwrap(),
        "--qmp",
        sock.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    assert!(
        out.contains("mismatch: vCPU 2: QEMU puts it in guest node Some(1), the plan in cell Some(0)\n"),
        "{out}"
    );
    assert!(out.contains("mismatch: cell 1: backend ram-node1 is bind to host nodes [0], the plan binds it to host node 1\n"), "{out}");
    assert!(
        out.contains(&format!(
            "mismatch: host node 1: 0 bytes of guest memory are bound there (numa_maps), the plan needs {plan_bytes}\n"
        )),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("3 mismatch(es) between the VM and its plan"));
    drop(_guard);

    // The matching plan against QEMU on ordinary memory (paused: nothing needs to boot).
    let ram = vnuma(&[
        "plan",
        seed,
        cpuset[0],
        cpuset[1],
        "-o",
        "qemu",
        "--qemu-accel",
        "tcg",
        "--qemu-memory-backend",
        "ram",
    ]);
    let mut args = argv(&String::from_utf8(ram.stdout).unwrap());
    for a in &mut args {
        *a = a.replace("host-nodes=1", "host-nodes=0");
    }
    let sock = dir.path().join("qmp-ram.sock");
    let binary = args.remove(0);
    let mut command = Command::new(&binary);
    command
        .args(&args)
        .args(["-S", "-nodefaults", "-display", "none"]);
    let _guard = Qemu::start(command, &sock);
    std::fs::write(&plan_file, serde_json::to_string(&matching_plan).unwrap()).unwrap();
    let off = vnuma(&[
        "verify",
        "--plan",
        plan_file.to_str().unwrap(),
        "--qmp",
        sock.to_str().unwrap(),
        "--pin",
    ]);
    let out = String::from_utf8_lossy(&off.stdout);
    assert_eq!(
        off.status.code(),
        Some(1),
        "{out}{}",
        String::from_utf8_lossy(&off.stderr)
    );
    for cell in 0..2 {
        assert!(
            out.contains(&format!(
                "mismatch: cell {cell}: backend ram-node{cell} is memory-backend-ram (ordinary pages), the plan puts the guest memory on 2Mi hugepages\n"
            )),
            "{out}"
        );
    }
    drop(mount);
}
