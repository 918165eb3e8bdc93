//! What a new user tripped over (issue 12): each surprise, and what vnuma does now.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "support/cli.rs"]
mod cli;

use cli::{examples, text, vnuma};

use std::fmt::Write as _;
use std::process::{Command, Output};

fn example(name: &str) -> String {
    examples().join(format!("{name}.yaml")).display().to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// A `virsh capabilities` host: `nodes` nodes of `cores` two-thread cores (thread 0 of every
/// core first, then thread 1), `far` between nodes, `pages` 2 MiB pages per node.
fn caps(nodes: u32, cores: u32, far: u32, pages: u32) -> String {
    let total = nodes * cores;
    let mut out = format!("<capabilities><host><topology><cells num='{nodes}'>");
    for n in 0..nodes {
        let _ = write!(
            out,
            "<cell id='{n}'><memory unit='KiB'>67108864</memory>\
             <pages unit='KiB' size='2048'>{pages}</pages><distances>"
        );
        for m in 0..nodes {
            let value = if m == n { 10 } else { far };
            let _ = write!(out, "<sibling id='{m}' value='{value}'/>");
        }
        let _ = write!(out, "</distances><cpus num='{}'>", 2 * cores);
        for thread in 0..2 {
            for c in 0..cores {
                let a = n * cores + c;
                let id = a + thread * total;
                let _ = write!(
                    out,
                    "<cpu id='{id}' socket_id='{n}' die_id='0' core_id='{c}' siblings='{a},{}'/>",
                    a + total
                );
            }
        }
        out.push_str("</cpus></cell>");
    }
    out.push_str("</cells></topology></host></capabilities>");
    out
}

// Item 5: a plan says where it was made.

#[test]
fn a_plan_names_its_host_source_and_kubelet() {
    let out = vnuma(&[
        "plan",
        &example("hugepages-1gi"),
        "--host",
        "example:asymmetric",
        "--cpuset",
        "0-5,16-17",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["host"], serde_json::json!({"source": "example:asymmetric"}));
    assert_eq!(
        doc["kubelet"],
        serde_json::Value::Null,
        "a given cpuset simulates no kubelet"
    );
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.last(), Some(&"kubelet"), "new fields come last: {keys:?}");

    // predicted: the kubelet's settings, reserved CPUs included
    let out = vnuma(&[
        "plan",
        &example("seed"),
        "--host",
        "example:dual-socket",
        "-o",
        "json",
    ]);
    let doc = json(&out);
    assert_eq!(doc["cpuset"]["source"], "predicted");
    assert_eq!(
        doc["kubelet"],
        serde_json::json!({"cpu_manager": "static", "options": [], "topology_manager": "none",
            "scope": "container", "memory_manager": "None", "reserved": "0", "assumed_defaults": true})
    );
    let out = vnuma(&[
        "plan",
        &example("seed"),
        "--host",
        "example:dual-socket",
        "--reserved",
        "0-1",
        "-o",
        "yaml",
    ]);
    let yaml = text(&out.stdout);
    assert!(
        yaml.contains("host:\n  source: example:dual-socket\n") && yaml.contains("  reserved: 0-1\n"),
        "{yaml}"
    );

    // a capabilities file: the same `source` as `topology -o json`
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("caps.xml");
    std::fs::write(&file, caps(2, 4, 20, 1024)).unwrap();
    let host = file.to_str().unwrap();
    let plan = json(&vnuma(&[
        "plan",
        &example("seed"),
        "--host",
        host,
        "--cpuset",
        "0-3",
        "-o",
        "json",
    ]));
    let topology = json(&vnuma(&["topology", "--host", host, "-o", "json"]));
    assert_eq!(plan["host"]["source"], topology["source"]);
    assert_eq!(plan["host"]["source"], format!("capabilities:{host}"));
}

// Item 9: small surprises.

#[cfg(unix)]
#[test]
fn output_file_gets_the_mode_a_shell_redirect_gives() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let run = |umask: &str, name: &str| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" topology --host example:dual-socket -o json --output-file {name}"
            ))
            .arg(env!("CARGO_BIN_EXE_vnuma"))
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    };
    run("022", "a.json");
    assert_eq!(mode("a.json"), 0o644);
    run("077", "b.json");
    assert_eq!(mode("b.json"), 0o600);
    // replacing a file keeps its mode, as `>` does
    std::fs::set_permissions(dir.path().join("a.json"), std::fs::Permissions::from_mode(0o640)).unwrap();
    run("022", "a.json");
    assert_eq!(mode("a.json"), 0o640);
}

#[test]
fn output_file_dash_is_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args([
            "topology",
            "--host",
            "example:dual-socket",
            "-o",
            "json",
            "--output-file",
            "-",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["source"], "example:dual-socket");
    assert!(!dir.path().join("-").exists(), "no file named -");
}

#[test]
fn explain_and_all_placements_refuse_formats_they_do_not_have() {
    let out = vnuma(&["explain", &example("seed"), "--cpuset", "7-8,23-24", "-o", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "error: explain prints only its text (-o table, the default), not -o xml\n"
    );
    let out = vnuma(&[
        "plan",
        &example("seed"),
        "--host",
        "example:dual-socket",
        "--all-placements",
        "--samples",
        "1",
        "-o",
        "qemu",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: --all-placements prints -o table or -o json, not -o qemu\n"
    );
}

#[test]
fn an_empty_predicted_cpuset_says_why() {
    let out = vnuma(&[
        "plan",
        &example("seed"),
        "--host",
        "example:dual-socket",
        "--allocated",
        "1-31",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let table = text(&out.stdout);
    assert!(
        table.starts_with(
            "VMI default/numavm on host example:dual-socket, pod cpuset none (predicted: the kubelet rejects the pod, see the error)\n"
        ),
        "{table}"
    );
    let out = vnuma(&[
        "explain",
        &example("seed"),
        "--host",
        "example:dual-socket",
        "--allocated",
        "1-31",
    ]);
    assert!(
        text(&out.stdout).starts_with(
            "Plan for default/numavm on example:dual-socket, pod cpuset none (predicted: the kubelet rejects the pod, see the error).\n"
        ),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn every_format_but_the_table_says_the_warnings_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("caps.xml");
    // distances of 10 between nodes: libvirt refuses them, vnuma drops them with a warning
    std::fs::write(&file, caps(2, 4, 10, 1024)).unwrap();
    let host = file.to_str().unwrap();
    let dropped = "warning: distances-invalid: host distances libvirt would reject (0->1=10, 1->0=10): guest distances are left out\n";
    for format in [
        "xml",
        "qemu",
        "qemu-pinning",
        "cloud-hypervisor",
        "json",
        "yaml",
        "svg",
    ] {
        let out = vnuma(&[
            "plan",
            &example("seed"),
            "--host",
            host,
            "--cpuset",
            "0,8,4,12",
            "-o",
            format,
        ]);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains(dropped), "{format}: {err}");
        assert!(
            err.contains("warning: vcpus-share-core: consecutive vCPUs"),
            "{format}: {err}"
        );
    }
    let out = vnuma(&["plan", &example("seed"), "--host", host, "--cpuset", "0,8,4,12"]);
    assert!(
        !text(&out.stderr).contains("warning:"),
        "the table lists them itself"
    );
    assert!(text(&out.stdout).contains("  [distances-invalid] host distances libvirt would reject"));
}

#[test]
fn a_long_warning_is_summarised_and_json_keeps_every_item() {
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("caps.xml");
    std::fs::write(&host, caps(1, 160, 20, 4096)).unwrap();
    let vmi = dir.path().join("big.yaml");
    let seed = std::fs::read_to_string(examples().join("seed.yaml")).unwrap();
    std::fs::write(
        &vmi,
        seed.replace("cores: 4", "cores: 300")
            .replace("memory: 64Mi", "memory: 1Gi"),
    )
    .unwrap();
    let args = |format: &'static str| {
        vnuma(&[
            "plan",
            vmi.to_str().unwrap(),
            "--host",
            host.to_str().unwrap(),
            "--cpuset",
            "0-149,160-309",
            "-o",
            format,
        ])
    };
    let out = args("json");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc = json(&out);
    let warning = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "vcpus-share-core")
        .unwrap();
    assert_eq!(
        warning["message"],
        "consecutive vCPUs the guest sees as separate cores share one host core (SMT siblings): \
         vCPUs 0 and 1 on host CPUs 0 and 160; vCPUs 2 and 3 on host CPUs 1 and 161; \
         vCPUs 4 and 5 on host CPUs 2 and 162; vCPUs 6 and 7 on host CPUs 3 and 163; \
         … and 146 more (150 in all)"
    );
    let details = warning["details"].as_array().unwrap();
    assert_eq!(details.len(), 150);
    assert_eq!(details[149], "vCPUs 298 and 299 on host CPUs 149 and 309");
    let table = text(&args("table").stdout);
    let line = table.lines().find(|l| l.contains("[vcpus-share-core]")).unwrap();
    assert!(line.len() < 400, "{} characters", line.len());
    // a short list is said in full, and JSON lists it too
    let doc = json(&vnuma(&[
        "plan",
        &example("seed"),
        "--cpuset",
        "7-8,23-24",
        "-o",
        "json",
    ]));
    let warning = &doc["warnings"][1];
    assert_eq!(warning["code"], "vcpus-share-core");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .ends_with("vCPUs 2 and 3 on host CPUs 8 and 24")
    );
    assert_eq!(
        warning["details"],
        serde_json::json!([
            "vCPUs 0 and 1 on host CPUs 7 and 23",
            "vCPUs 2 and 3 on host CPUs 8 and 24"
        ])
    );
    assert!(doc["warnings"][0].get("details").is_none(), "no list, no details");
}

// Item 10: what `numactl -H` and `lstopo` show.

#[test]
fn topology_shows_free_memory_and_l3_groups() {
    let out = vnuma(&["topology", "--host", "example:dual-socket", "-o", "json"]);
    let doc = json(&out);
    // the contract's 32 GiB per node; idle, so all but the 2 GiB of hugepages is free
    assert_eq!(doc["nodes"][0]["memory_bytes"], 32u64 << 30);
    assert_eq!(doc["nodes"][0]["memory_free_bytes"], 30u64 << 30);
    assert_eq!(
        doc["caches"],
        serde_json::json!([{"level": 3, "id": 0, "cpus": "0-7,16-23"}, {"level": 3, "id": 1, "cpus": "8-15,24-31"}])
    );
    let table = text(&vnuma(&["topology", "--host", "example:dual-socket"]).stdout);
    assert!(
        table.contains(
            "  cpus 0-7,16-23 (8 cores):\n    0+16 1+17 2+18 3+19 4+20 5+21 6+22 7+23\n  memory free: 30 GiB of 32 GiB\n  L3 groups (1, CPUs sharing each):\n    [0-7,16-23]\n"
        ),
        "{table}"
    );
    // an L3 spanning two sub-NUMA nodes is shown whole under both; a memory-less node has no
    // free line
    let table = text(&vnuma(&["topology", "--host", "example:asymmetric"]).stdout);
    assert!(
        table.contains("    6+22 7+23\n  memory free: 15 GiB of 16 GiB\n  L3 groups (1, CPUs sharing each):\n    [0-7,16-23]\n"),
        "{table}"
    );
    assert!(
        table.contains("  cpus: none (memory only)\n  memory free: 56 GiB of 64 GiB\n\n"),
        "{table}"
    );
    assert!(!table.contains("memory free: 0 B"), "{table}");

    // a capabilities document knows neither
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("caps.xml");
    std::fs::write(&file, caps(2, 4, 20, 1024)).unwrap();
    let doc = json(&vnuma(&[
        "topology",
        "--host",
        file.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_eq!(doc["nodes"][0]["memory_free_bytes"], serde_json::Value::Null);
    assert_eq!(doc["caches"], serde_json::json!([]));
    let table = text(&vnuma(&["topology", "--host", file.to_str().unwrap()]).stdout);
    assert!(
        !table.contains("memory free") && !table.contains("L3 groups"),
        "{table}"
    );
}

#[test]
fn topology_reads_memfree_from_a_sysfs_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    for cpu in 0..4 {
        let base = format!("sys/devices/system/cpu/cpu{cpu}");
        write(&format!("{base}/topology/physical_package_id"), "0\n");
        write(&format!("{base}/topology/core_id"), &format!("{cpu}\n"));
        write(
            &format!("{base}/topology/thread_siblings_list"),
            &format!("{cpu}\n"),
        );
        write(&format!("{base}/cache/index3/level"), "3\n");
        write(&format!("{base}/cache/index3/id"), &format!("{}\n", cpu / 2));
    }
    write("sys/devices/system/cpu/online", "0-3\n");
    write("sys/devices/system/node/node0/cpulist", "0-3\n");
    write(
        "sys/devices/system/node/node0/meminfo",
        "Node 0 MemTotal:        8386704 kB\nNode 0 MemFree:         1830148 kB\nNode 0 MemUsed:         6556556 kB\n",
    );
    let out = vnuma(&["topology", "--host", root.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["nodes"][0]["memory_free_bytes"], 1830148u64 * 1024);
    assert_eq!(
        doc["caches"],
        serde_json::json!([{"level": 3, "id": 0, "cpus": "0-1"}, {"level": 3, "id": 1, "cpus": "2-3"}])
    );
    let table = text(&vnuma(&["topology", "--host", root.to_str().unwrap()]).stdout);
    assert!(
        table.contains(
            "  memory free: 1.7 GiB of 7.9 GiB\n  L3 groups (2, CPUs sharing each):\n    [0-1] [2-3]\n"
        ),
        "{table}"
    );
}
