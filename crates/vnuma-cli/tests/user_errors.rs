//! What a new user tripped over (issue 12): each error says what to do next, pinned by its
//! exact message.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_string();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn vnuma(args: &[&str]) -> Output {
    run(args, None)
}

fn seed() -> String {
    examples().join("seed.yaml").display().to_string()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
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
