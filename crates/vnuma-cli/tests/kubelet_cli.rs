//! `vnuma allocate` and `vnuma plan` with a predicted cpuset, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

fn vnuma(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .output()
        .unwrap()
}

fn seed() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/seed.yaml")
        .display()
        .to_string()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn config(dir: &Path, yaml: &str) -> String {
    let path = dir.join("kubelet.yaml");
    std::fs::write(
        &path,
        format!("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n{yaml}"),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn allocate_gives_the_contract_document() {
    let out = vnuma(&[
        "allocate",
        "--host",
        "example:dual-socket",
        "--cpus",
        "4",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json(&out),
        serde_json::json!({"admitted": true, "cpuset": "1-2,17-18", "exclusive": true, "numa_nodes": [0],
            "memory": [],
            "policies": {"cpu_manager": "static", "options": [], "topology_manager": "none",
                         "scope": "container", "memory_manager": "None", "reserved": "0"},
            "error": null, "warnings": []})
    );
    let table =
        String::from_utf8(vnuma(&["allocate", "--host", "example:dual-socket", "--cpus", "4"]).stdout)
            .unwrap();
    assert!(
        table.contains("(assumed defaults: no --kubelet-config)"),
        "{table}"
    );
    assert!(
        table.contains("admitted: exclusive CPUs 1-2,17-18 on NUMA node(s) 0"),
        "{table}"
    );
    // a fraction shares the pool
    let shared = json(&vnuma(&[
        "allocate",
        "--host",
        "example:dual-socket",
        "--cpus",
        "1.5",
        "-o",
        "json",
    ]));
    assert_eq!(
        (shared["exclusive"].clone(), shared["cpuset"].clone()),
        (false.into(), "0-31".into())
    );
}

#[test]
fn rejections_exit_1_and_refused_configurations_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let snn = config(
        dir.path(),
        "cpuManagerPolicy: static\nkubeReserved: {cpu: \"1\"}\ntopologyManagerPolicy: single-numa-node\n",
    );
    let out = vnuma(&[
        "allocate",
        "--host",
        "example:dual-socket",
        "--cpus",
        "17",
        "--kubelet-config",
        &snn,
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(
        (
            doc["admitted"].clone(),
            doc["cpuset"].clone(),
            doc["error"]["reason"].clone()
        ),
        (
            false.into(),
            serde_json::Value::Null,
            "TopologyAffinityError".into()
        )
    );
    let smt = config(
        dir.path(),
        "cpuManagerPolicy: static\nkubeReserved: {cpu: \"1\"}\ncpuManagerPolicyOptions: {full-pcpus-only: \"true\"}\n",
    );
    let out = vnuma(&[
        "allocate",
        "--host",
        "example:dual-socket",
        "--cpus",
        "3",
        "--kubelet-config",
        &smt,
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["reason"], "SMTAlignmentError");
    let zero = config(
        dir.path(),
        "cpuManagerPolicy: static\nkubeReserved: {cpu: \"0\"}\n",
    );
    let out = vnuma(&[
        "allocate",
        "--host",
        "example:dual-socket",
        "--cpus",
        "3",
        "--kubelet-config",
        &zero,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "the static policy requires systemreserved.cpu + kubereserved.cpu to be greater than zero"
    ));
    let out = vnuma(&["allocate", "--cpus", "4x"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn existing_allocations_from_flags_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let out = vnuma(&[
        "allocate",
        "--host",
        "example:dual-socket",
        "--cpus",
        "4",
        "--allocated",
        "1-7,16-23",
        "-o",
        "json",
    ]);
    assert_eq!(json(&out)["numa_nodes"], serde_json::json!([1]));
    let state = dir.path().join("cpu_manager_state");
    std::fs::write(&state, r#"{"policyName":"static","defaultCpuSet":"0,8-15,24-31","entries":{"pod":{"compute":"1-7,16-23"}},"checksum":1}"#).unwrap();
    let out = vnuma(&[
        "allocate",
        "--host",
        "example:dual-socket",
        "--cpus",
        "4",
        "--cpu-manager-state",
        state.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(json(&out)["numa_nodes"], serde_json::json!([1]));
}

#[test]
fn plan_without_a_cpuset_predicts_the_allocation() {
    let out = vnuma(&["plan", &seed(), "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(
        doc["cpuset"],
        serde_json::json!({"cpus": "1-2,17-18", "source": "predicted"})
    );
    let table = String::from_utf8(vnuma(&["plan", &seed()]).stdout).unwrap();
    assert!(
        table.contains("(predicted)")
            && table.contains("cpuset predicted by the kubelet simulation: cpuManagerPolicy static")
    );
}

#[test]
fn single_numa_node_always_yields_one_guest_cell_when_admitted() {
    let dir = tempfile::tempdir().unwrap();
    let snn = config(
        dir.path(),
        "cpuManagerPolicy: static\nkubeReserved: {cpu: \"1\"}\ntopologyManagerPolicy: single-numa-node\n",
    );
    let seed = seed();
    let (mut admitted, mut rejected) = (0, 0);
    // other pods holding growing parts of the host, from either end
    for busy in [
        "",
        "1-3",
        "1-7",
        "1-7,16-19",
        "1-7,16-23",
        "8-15",
        "8-13,24-29",
        "1-5,8-13,17-21,24-29",
        "1-6,8-14,16-22,24-30",
    ] {
        let mut args = vec!["plan", seed.as_str(), "--kubelet-config", &snn, "-o", "json"];
        if !busy.is_empty() {
            args.extend(["--allocated", busy]);
        }
        let out = vnuma(&args);
        let doc = json(&out);
        if doc["error"].is_null() {
            admitted += 1;
            assert_eq!(doc["cells"].as_array().unwrap().len(), 1, "busy {busy}: {doc}");
        } else {
            rejected += 1;
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(doc["error"]["reason"], "kubelet-rejected");
            assert!(
                doc["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("TopologyAffinityError")
            );
        }
    }
    assert!(
        admitted >= 5 && rejected >= 1,
        "admitted {admitted}, rejected {rejected}"
    );
}

#[test]
fn all_placements_counts_the_layouts_a_vm_can_get() {
    let out = vnuma(&[
        "plan",
        &seed(),
        "--all-placements",
        "--samples",
        "200",
        "--seed",
        "5",
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["samples"], 200);
    let layouts = doc["layouts"].as_array().unwrap();
    assert!(layouts.len() >= 2, "{doc}");
    let total: u64 = layouts.iter().map(|l| l["count"].as_u64().unwrap()).sum::<u64>()
        + doc["rejected"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
        + doc["failed"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(total, 200);
    // same seed, same report
    assert_eq!(
        out.stdout,
        vnuma(&[
            "plan",
            &seed(),
            "--all-placements",
            "--samples",
            "200",
            "--seed",
            "5",
            "-o",
            "json"
        ])
        .stdout
    );
    let conflict = vnuma(&["plan", &seed(), "--all-placements", "--cpuset", "1"]);
    assert_eq!(conflict.status.code(), Some(2));
}

/// A capabilities document: per cell its id and `(cpu, socket)`s, one-thread cores, distances
/// 10 local / 20 remote, 2Mi pages.
fn caps(dir: &Path, cells: &[(u32, &[(u32, u32)])]) -> String {
    let mut xml = String::from("<capabilities><host><topology><cells>\n");
    for &(id, cpus) in cells {
        xml += &format!(
            "<cell id='{id}'><memory unit='KiB'>16777216</memory>\
             <pages unit='KiB' size='2048'>1024</pages><distances>"
        );
        for &(to, _) in cells {
            xml += &format!("<sibling id='{to}' value='{}'/>", if to == id { 10 } else { 20 });
        }
        xml += "</distances><cpus>";
        for &(cpu, socket) in cpus {
            xml += &format!(
                "<cpu id='{cpu}' socket_id='{socket}' die_id='0' core_id='{cpu}' siblings='{cpu}'/>"
            );
        }
        xml += "</cpus></cell>\n";
    }
    xml += "</cells></topology></host></capabilities>\n";
    let path = dir.join("caps.xml");
    std::fs::write(&path, xml).unwrap();
    path.display().to_string()
}

#[test]
fn prefer_closest_numa_nodes_on_noncontiguous_node_ids_is_a_kubelet_panic() {
    let dir = tempfile::tempdir().unwrap();
    let node = |cpus: std::ops::Range<u32>| cpus.map(|c| (c, 0)).collect::<Vec<_>>();
    let (n0, n2) = (node(0..8), node(8..16));
    let host = caps(dir.path(), &[(0, &n0), (2, &n2)]);
    let cfg = config(
        dir.path(),
        "cpuManagerPolicy: static\nkubeReserved: {cpu: \"1\"}\ntopologyManagerPolicy: best-effort\n\
         topologyManagerPolicyOptions: {prefer-closest-numa-nodes: \"true\"}\n",
    );
    let out = vnuma(&[
        "allocate",
        "--host",
        &host,
        "--cpus",
        "1",
        "--kubelet-config",
        &cfg,
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["admitted"], false);
    assert_eq!(doc["error"]["reason"], "KubeletPanic");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("kubelet-quirk:closest-numa-noncontiguous-ids: ")
            && message.contains("index out of range [2] with length 2"),
        "{message}"
    );
    let out = vnuma(&[
        "plan",
        &seed(),
        "--host",
        &host,
        "--kubelet-config",
        &cfg,
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let error = json(&out)["error"].clone();
    assert_eq!(error["reason"], "kubelet-rejected");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("KubeletPanic: kubelet-quirk:closest-numa-noncontiguous-ids: "),
        "{error}"
    );
    for command in ["allocate", "plan"] {
        let help = String::from_utf8(vnuma(&[command, "--help"]).stdout).unwrap();
        assert!(
            help.contains("Kubelet quirks (kubelet-quirk:* codes) are predicted as the kubelet behaves"),
            "{help}"
        );
    }
}

#[test]
fn uneven_socket_whole_take_is_a_warning_in_allocate_and_plan() {
    // socket 0 = CPUs 1,2,5,6 (nodes 0 and 1), socket 1 = CPUs 0,3,4 (node 2): CPUsPerSocket
    // = 7 / 2 = 3; with CPU 5 assigned, socket 0 has 3 free CPUs and the kubelet takes it whole
    let dir = tempfile::tempdir().unwrap();
    let host = caps(
        dir.path(),
        &[
            (0, &[(1, 0), (2, 0)]),
            (1, &[(5, 0), (6, 0)]),
            (2, &[(0, 1), (3, 1), (4, 1)]),
        ],
    );
    let args = ["--host", &host, "--reserved", "0", "--allocated", "5"];
    let mut allocate = vec!["allocate", "--cpus", "4", "-o", "json"];
    allocate.extend(args);
    let out = vnuma(&allocate);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["cpuset"], "1-2,5-6");
    assert_eq!(
        doc["warnings"][0]["code"],
        "kubelet-quirk:uneven-socket-whole-take"
    );
    assert!(
        doc["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the kubelet hands out CPU(s) 5 already assigned to other containers"),
        "{doc}"
    );
    allocate.truncate(3);
    allocate.extend(args);
    let table = String::from_utf8(vnuma(&allocate).stdout).unwrap();
    assert!(
        table.contains("warning [kubelet-quirk:uneven-socket-whole-take]: the kubelet hands out CPU(s) 5"),
        "{table}"
    );
    let seed = seed();
    let mut plan = vec!["plan", seed.as_str(), "-o", "json"];
    plan.extend(args);
    let doc = json(&vnuma(&plan));
    let codes: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"kubelet-quirk:uneven-socket-whole-take"), "{doc}");
}
