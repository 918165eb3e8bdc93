//! The `vnuma` binary end to end: formats, exit codes, messages, atomic output files.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

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

/// Asserts exit 2, nothing on stdout, and one `error:` line naming `needle`.
fn assert_input_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "stderr {err:?} lacks {needle:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn default_host_is_the_built_in_example_and_says_so() {
    let out = vnuma(&["topology"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stderr),
        "using built-in host example:dual-socket; pass --host / for this machine\n"
    );
    let table = text(&out.stdout);
    assert!(
        table.starts_with(
            "host example:dual-socket\n2 NUMA nodes, 2 sockets, 16 cores, 32 CPUs (32 online)\n"
        )
    );
    assert!(table.contains("  cpus 0-7,16-23 (8 cores):\n    0+16 1+17 2+18 3+19 4+20 5+21 6+22 7+23\n"));
    assert!(table.contains("  node    0    1\n     0   10   21\n     1   21   10\n"));
}

#[test]
fn json_matches_the_contract_for_example_dual_socket() {
    let out = vnuma(&["topology", "--host", "example:dual-socket", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "an explicit --host prints no note");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["source"], "example:dual-socket");
    assert_eq!(
        doc["nodes"][0],
        serde_json::json!({"id": 0, "cpus": "0-7,16-23", "memory_bytes": 34359738368u64,
            "memory_free_bytes": 32212254720u64,
            "hugepages": [{"page_size_bytes": 2097152, "total": 1024, "free": 1024}],
            "distances": {"0": 10, "1": 21}})
    );
    assert_eq!(
        doc["cpus"][0],
        serde_json::json!({"id": 0, "node": 0, "socket": 0, "die": 0, "core": 0, "l3": 0, "siblings": "0,16", "online": true})
    );
    assert_eq!(
        doc["cpus"][25],
        serde_json::json!({"id": 25, "node": 1, "socket": 1, "die": 0, "core": 1, "l3": 1, "siblings": "9,25", "online": true})
    );
    assert_eq!(doc["nodes"][1]["cpus"], "8-15,24-31");
    assert_eq!(
        doc["hugepages_global"],
        serde_json::json!([{"page_size_bytes": 2097152, "total": 2048, "free": 2048}])
    );
    assert_eq!(doc["allowed"], serde_json::Value::Null);
    // same input, byte-identical output
    assert_eq!(
        out.stdout,
        vnuma(&["topology", "--host", "example:dual-socket", "-o", "json"]).stdout
    );
}

#[test]
fn asymmetric_example_has_sparse_cpu_less_and_memory_less_nodes() {
    let out = vnuma(&["topology", "--host", "example:asymmetric", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = doc["nodes"].as_array().unwrap();
    let ids: Vec<u64> = nodes.iter().map(|n| n["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![0, 1, 2, 5]);
    assert_eq!(nodes[0]["cpus"], "0-5,16-21");
    assert_eq!(nodes[1]["cpus"], "6-7,22-23");
    assert_eq!(nodes[2]["memory_bytes"], 0);
    assert_eq!(nodes[3]["cpus"], "");
    let table = text(&vnuma(&["topology", "--host", "example:asymmetric"]).stdout);
    assert!(
        table.contains("node 5  64 GiB  hugepages 1Gi 8/8 free\n  cpus: none (memory only)\n"),
        "{table}"
    );
    assert!(
        table.contains("node 2  socket 1  no memory  hugepages none\n"),
        "{table}"
    );
}

const CAPS: &str = "<capabilities><host><topology><cells num='1'><cell id='0'>\
    <memory unit='KiB'>1048576</memory><pages unit='KiB' size='4'>262144</pages>\
    <pages unit='KiB' size='2048'>64</pages>\
    <distances><sibling id='0' value='10'/></distances><cpus num='2'>\
    <cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0-1'/>\
    <cpu id='1' socket_id='0' die_id='0' core_id='0' siblings='0-1'/>\
    </cpus></cell></cells></topology></host></capabilities>";

#[test]
fn capabilities_from_a_file_and_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("caps.xml");
    std::fs::write(&file, CAPS).unwrap();
    let out = vnuma(&["topology", "--host", file.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["source"], format!("capabilities:{}", file.display()));
    assert_eq!(
        doc["nodes"][0]["hugepages"],
        serde_json::json!([{"page_size_bytes": 2097152, "total": 64, "free": null}])
    );
    assert_eq!(doc["cpus"][1]["siblings"], "0-1");
    let out = vnuma_stdin(&["topology", "--host", "-", "-o", "json"], CAPS);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["source"], "capabilities:-");
    assert_eq!(doc["nodes"][0]["memory_bytes"], 1u64 << 30);
}

#[test]
fn a_sysfs_root_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("sys/devices/system/node/node0");
    std::fs::create_dir_all(&node).unwrap();
    std::fs::create_dir_all(dir.path().join("sys/devices/system/cpu/cpu0")).unwrap();
    std::fs::create_dir_all(dir.path().join("sys/devices/system/cpu/cpu1")).unwrap();
    std::fs::write(node.join("cpulist"), "0-1\n\0").unwrap();
    std::fs::write(node.join("meminfo"), "Node 0 MemTotal: 2048 kB\n").unwrap();
    let root = dir.path().to_str().unwrap();
    let out = vnuma(&["topology", "--host", root, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["source"], format!("sysfs:{root}"));
    assert_eq!(doc["nodes"][0]["cpus"], "0-1");
    assert_eq!(doc["nodes"][0]["memory_bytes"], 2048 * 1024);
    assert_eq!(doc["nodes"][0]["distances"], serde_json::Value::Null);

    std::fs::write(node.join("cpulist"), "0-4294967295\n").unwrap();
    let out = vnuma(&["topology", "--host", root]);
    assert_input_error(
        &out,
        &format!(
            "invalid cpu list \"0-4294967295\" in {}: rejecting expanding CPU array for safety reasons, limit is 50000",
            node.join("cpulist").display()
        ),
    );
    std::fs::write(node.join("cpulist"), "0-1,zz\n").unwrap();
    assert_input_error(
        &vnuma(&["topology", "--host", root]),
        "\"zz\" is not an id or an a-b range",
    );
}

#[test]
fn bad_hosts_exit_2_with_a_clear_message() {
    assert_input_error(
        &vnuma(&["topology", "--host", "/no/such/dir"]),
        "--host /no/such/dir: cannot read it (pass a sysfs root",
    );
    assert_input_error(
        &vnuma(&["topology", "--host", "example:nope"]),
        "unknown built-in host \"nope\"; known: example:dual-socket, example:asymmetric",
    );
    let dir = tempfile::tempdir().unwrap();
    assert_input_error(
        &vnuma(&["topology", "--host", dir.path().to_str().unwrap()]),
        &format!(
            "is not a sysfs root: {}/sys/devices/system/cpu is missing",
            dir.path().display()
        ),
    );
    let file = dir.path().join("caps.xml");
    std::fs::write(&file, &CAPS[..CAPS.len() / 2]).unwrap();
    assert_input_error(
        &vnuma(&["topology", "--host", file.to_str().unwrap()]),
        &format!(
            "{}: malformed XML at line 1: syntax error: tag not closed",
            file.display()
        ),
    );
    assert_input_error(
        &vnuma_stdin(&["topology", "--host", "-"], "not xml at all"),
        "<stdin>: not a libvirt capabilities document",
    );
    // usage errors are exit 2 as well
    assert_eq!(vnuma(&["topology", "-o", "svgz"]).status.code(), Some(2));
    assert_eq!(vnuma(&["frobnicate"]).status.code(), Some(2));
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("host.json");
    let out = vnuma(&[
        "topology",
        "--host",
        "example:dual-socket",
        "-o",
        "json",
        "--output-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let written = std::fs::read(&file).unwrap();
    assert_eq!(
        written,
        vnuma(&["topology", "--host", "example:dual-socket", "-o", "json"]).stdout
    );
    // a failing run leaves the previous file as it was, and no temporary file behind
    let out = vnuma(&[
        "topology",
        "--host",
        "example:nope",
        "-o",
        "json",
        "--output-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&file).unwrap(), written);
    assert_eq!(files_in(dir.path()), vec!["host.json".to_string()]);
}

#[test]
fn completions_and_man_page_are_generated_from_the_cli() {
    for shell in ["bash", "zsh", "fish"] {
        let out = vnuma(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(
            script.contains("vnuma") && script.contains("plan") && script.contains("host"),
            "{shell}"
        );
    }
    let man = text(&vnuma(&["man"]).stdout);
    assert!(
        man.starts_with(".ie \\n(.g .ds Aq") && man.contains(".TH vnuma 1"),
        "{man}"
    );
    assert!(man.contains("plan") && man.contains("topology") && man.contains("allocate"));
    assert_eq!(vnuma(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn works_as_a_kubectl_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-vnuma");
    std::fs::copy(env!("CARGO_BIN_EXE_vnuma"), &plugin).unwrap();
    let help = Command::new(&plugin).arg("--help").output().unwrap();
    assert!(
        text(&help.stdout).contains("Usage: kubectl vnuma [OPTIONS] <COMMAND>"),
        "{}",
        text(&help.stdout)
    );
    // kubectl get vmi NAME -o yaml | kubectl vnuma plan -f -
    let seed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml"))
            .unwrap();
    let mut child = Command::new(&plugin)
        .args(["plan", "-f", "-", "--cpuset", "7-8,23-24", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(seed.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cells"].as_array().unwrap().len(), 2);
}

#[test]
fn a_progress_bar_only_on_a_terminal() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let args = [
        "plan",
        seed.to_str().unwrap(),
        "--all-placements",
        "--samples",
        "700",
        "-o",
        "json",
    ];
    // into a pipe: no bar
    let out = vnuma(&args);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stderr).contains("sampling node states"),
        "{}",
        text(&out.stderr)
    );
    // on a pseudo-terminal (util-linux `script`): the bar shows once the run passes a second
    let command = format!("{} {} > /dev/null", env!("CARGO_BIN_EXE_vnuma"), args.join(" "));
    let tty = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    assert!(tty.status.success());
    assert!(
        text(&tty.stdout).contains("sampling node states ["),
        "{}",
        text(&tty.stdout)
    );
}

/// Unmounts a test mount, even when the test fails.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_write_failing_midway_leaves_the_previous_file_intact() {
    // A tmpfs of two pages: the previous file takes one, the new ~6 KB document needs two,
    // so writing it fails partway through (ENOSPC). Needs root, as CI is.
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8k", "tmpfs"])
        .arg(dir.path())
        .status()
        .expect("mount (util-linux)");
    assert!(status.success(), "mounting a tmpfs needs root");
    let _mounted = Mounted(dir.path().to_path_buf());
    let file = dir.path().join("host.json");
    std::fs::write(&file, "previous\n").unwrap();
    let out = vnuma(&[
        "topology",
        "--host",
        "example:dual-socket",
        "-o",
        "json",
        "--output-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("write failed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "previous\n");
    assert_eq!(
        files_in(dir.path()),
        vec!["host.json".to_string()],
        "no temporary file left behind"
    );
}

#[test]
fn yaml_carries_the_json_documents() {
    let yaml = text(&vnuma(&["topology", "--host", "example:dual-socket", "-o", "yaml"]).stdout);
    assert!(
        yaml.starts_with("source: example:dual-socket\nnodes:\n- id: 0\n  cpus: 0-7,16-23\n"),
        "{yaml}"
    );
    let yaml = text(
        &vnuma(&[
            "allocate",
            "--host",
            "example:dual-socket",
            "--cpus",
            "4",
            "-o",
            "yaml",
        ])
        .stdout,
    );
    assert!(yaml.starts_with("admitted: true\ncpuset: 1-2,17-18\n"), "{yaml}");
}
