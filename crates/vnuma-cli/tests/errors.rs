//! Error quality: a table of bad inputs, each giving exit code 2 (or 1 where the input is
//! valid but the VM cannot run) and one message naming the input (file or flag), the place
//! (field path, line, element) and the offending value. Every message is pinned in
//! `tests/data/golden/errors.txt` (temporary paths shown as `<dir>`); `UPDATE_GOLDEN=1`
//! rewrites it for review. Also the resource bounds: a YAML bomb, deep nesting, a 100 MB
//! input, a sysfs symlink loop and a never-ending file are refused quickly with a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn seed_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml")).unwrap()
}

/// One bad input: a name, the arguments (`{dir}` is the temp dir), files to write first, stdin.
struct Case {
    name: &'static str,
    args: Vec<String>,
    files: Vec<(&'static str, String)>,
    stdin: Option<String>,
    code: i32,
}

fn case(name: &'static str, args: &[&str], files: Vec<(&'static str, String)>, code: i32) -> Case {
    Case {
        name,
        args: args.iter().map(ToString::to_string).collect(),
        files,
        stdin: None,
        code,
    }
}

fn with_stdin(mut c: Case, stdin: String) -> Case {
    c.stdin = Some(stdin);
    c
}

fn sysfs(extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut files = vec![
        ("host/sys/devices/system/cpu/cpu0/online", "1\n".to_string()),
        ("host/sys/devices/system/cpu/cpu1/online", "1\n".to_string()),
        ("host/sys/devices/system/node/node0/cpulist", "0-1\n".to_string()),
    ];
    for (path, text) in extra {
        let path: &'static str = Box::leak(format!("host/{path}").into_boxed_str());
        files.retain(|(p, _)| *p != path);
        files.push((path, (*text).to_string()));
    }
    files
}

fn cases() -> Vec<Case> {
    let seed = seed_text();
    let vmi = |from: &str, to: &str| vec![("vmi.yaml", seed.replace(from, to))];
    let plan = ["plan", "{dir}/vmi.yaml", "--cpuset", "7-8,23-24"];
    let caps_ok = "<capabilities><host><topology><cells num='1'><cell id='0'><memory unit='KiB'>1024</memory><cpus num='1'><cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0'/></cpus></cell></cells></topology></host></capabilities>";
    let kubelet = |yaml: &str| {
        vec![(
            "kubelet.yaml",
            format!("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n{yaml}"),
        )]
    };
    let allocate = [
        "allocate",
        "--cpus",
        "4",
        "--host",
        "example:dual-socket",
        "--kubelet-config",
        "{dir}/kubelet.yaml",
    ];
    let mut bomb =
        String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 1..10 {
        let _ = writeln!(
            bomb,
            "a{i}: &a{i} [{}]",
            vec![format!("*a{}", i - 1); 9].join(",")
        );
    }
    vec![
        // --- the VMI ---
        case("yaml syntax", &plan, vec![("vmi.yaml", "spec: [unclosed\n".into())], 2),
        case("duplicate key", &plan, vec![("vmi.yaml", "kind: VirtualMachineInstance\nspec:\n  domain:\n    cpu: {}\n    cpu: {}\n".into())], 2),
        case("wrong type: cores", &plan, vmi("cores: 4", "cores: four"), 2),
        case("wrong type: dedicated", &plan, vmi("dedicatedCpuPlacement: true", "dedicatedCpuPlacement: [yes]"), 2),
        case("wrong type: spec", &plan, vec![("vmi.yaml", "kind: VirtualMachineInstance\nspec: 42\n".into())], 2),
        case("bad quantity 64Mx", &plan, vmi("memory: 64Mi", "memory: 64Mx"), 2),
        case("negative memory", &plan, vmi("memory: 64Mi", "memory: -1Gi"), 2),
        case("bad cpu quantity", &plan, vmi("memory: 64Mi", "memory: 64Mi\n        cpu: lots"), 2),
        case("bad page size", &plan, vmi("pageSize: 2Mi", "pageSize: 2ab"), 2),
        case("no vmi", &plan, vec![("vmi.yaml", "kind: ConfigMap\n".into())], 2),
        case("several vmis", &plan, vec![("vmi.yaml", format!("{seed}---\n{}", seed.replace("numavm", "other")))], 2),
        case("name not found", &["plan", "{dir}/vmi.yaml", "--name", "nope", "--cpuset", "1"], vmi("", ""), 2),
        case(
            "missing instancetype",
            &plan,
            vec![("vmi.yaml", "kind: VirtualMachine\nmetadata: {name: vm}\nspec:\n  instancetype: {name: cx1.large}\n  template: {spec: {}}\n".into())],
            2,
        ),
        case("admission: passthrough alone", &plan, vmi("dedicatedCpuPlacement: true", "dedicatedCpuPlacement: false"), 2),
        case("admission: three threads", &plan, vmi("cores: 4", "cores: 4\n      threads: 3"), 2),
        case("admission: fractional cpu", &plan, vmi("memory: 64Mi", "memory: 64Mi\n        cpu: 800m"), 2),
        case("admission: memory request and limit", &plan, vmi("        memory: 64Mi", "        memory: 64Mi\n      limits:\n        memory: 128Mi"), 2),
        case("admission: memory not a page multiple", &plan, vmi("memory: 64Mi", "memory: 65Mi\n"), 2),
        case("vmi file missing", &["plan", "{dir}/nope.yaml", "--cpuset", "1"], vec![], 2),
        case("yaml bomb", &plan, vec![("vmi.yaml", bomb)], 2),
        case("deep nesting", &plan, vec![("vmi.yaml", format!("kind: VirtualMachineInstance\nspec: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)))], 2),
        case("kubevirt config", &["plan", "{dir}/vmi.yaml", "--kubevirt-config", "{dir}/kv.yaml", "--cpuset", "1"], vec![("vmi.yaml", seed.clone()), ("kv.yaml", "kind: ConfigMap\n".into())], 2),
        // --- the host ---
        case("host missing", &["topology", "--host", "{dir}/nope"], vec![], 2),
        case("unknown example", &["topology", "--host", "example:quad"], vec![], 2),
        case("not a sysfs root", &["topology", "--host", "{dir}"], vec![("readme", "x".into())], 2),
        case("sysfs: bad cpulist", &["topology", "--host", "{dir}/host"], sysfs(&[("sys/devices/system/node/node0/cpulist", "0-1,x\n")]), 2),
        case("sysfs: huge range", &["topology", "--host", "{dir}/host"], sysfs(&[("sys/devices/system/node/node0/cpulist", "0-4294967295\n")]), 2),
        case("sysfs: bad cpumap", &["topology", "--host", "{dir}/host"], sysfs(&[("sys/devices/system/node/node1/cpumap", "zz\n")]), 2),
        case("sysfs: bad distance", &["topology", "--host", "{dir}/host"], sysfs(&[("sys/devices/system/node/node0/distance", "10 x\n")]), 2),
        case("sysfs: bad meminfo", &["topology", "--host", "{dir}/host"], sysfs(&[("sys/devices/system/node/node0/meminfo", "Node 0 MemTotal: lots kB\n")]), 2),
        case("sysfs: bad online flag", &["topology", "--host", "{dir}/host"], sysfs(&[("sys/devices/system/cpu/cpu1/online", "maybe\n")]), 2),
        case("caps: truncated", &["topology", "--host", "{dir}/caps.xml"], vec![("caps.xml", caps_ok[..120].to_string())], 2),
        case("caps: bad siblings", &["topology", "--host", "{dir}/caps.xml"], vec![("caps.xml", caps_ok.replace("siblings='0'", "siblings='0-x'"))], 2),
        case("caps: bad memory unit", &["topology", "--host", "{dir}/caps.xml"], vec![("caps.xml", caps_ok.replace("unit='KiB'", "unit='parsecs'"))], 2),
        case("caps: not capabilities", &["topology", "--host", "{dir}/caps.xml"], vec![("caps.xml", "<domain/>".into())], 2),
        // --- the cpuset ---
        case("cpuset too large", &["plan", "{dir}/vmi.yaml", "--cpuset", "0-4294967295"], vmi("", ""), 2),
        case("cpuset syntax", &["plan", "{dir}/vmi.yaml", "--cpuset", "1-x"], vmi("", ""), 2),
        case("cpuset backwards", &["plan", "{dir}/vmi.yaml", "--cpuset", "9-2"], vmi("", ""), 2),
        case("cgroup without cpuset files", &["plan", "{dir}/vmi.yaml", "--cgroup", "{dir}"], vmi("", ""), 2),
        with_stdin(case("two inputs on stdin", &["plan", "-", "--host", "-", "--cpuset", "1"], vec![], 2), String::new()),
        case("cpuset the host lacks", &["plan", "{dir}/vmi.yaml", "--cpuset", "200-203"], vmi("", ""), 1),
        // --- the kubelet ---
        case("kubelet config kind", &allocate, vec![("kubelet.yaml", "kind: ConfigMap\n".into())], 2),
        case("kubelet reserved quantity", &allocate, kubelet("cpuManagerPolicy: static\nkubeReserved: {cpu: 1x}\n"), 2),
        case("kubelet zero reserved", &allocate, kubelet("cpuManagerPolicy: static\nkubeReserved: {cpu: \"0\"}\n"), 2),
        case("kubelet unknown cpu policy", &allocate, kubelet("cpuManagerPolicy: dynamic\n"), 2),
        case("kubelet unknown topology policy", &allocate, kubelet("topologyManagerPolicy: strictest\n"), 2),
        case("kubelet unknown option", &allocate, kubelet("cpuManagerPolicy: static\nkubeReserved: {cpu: \"1\"}\ncpuManagerPolicyOptions: {fast: \"true\"}\n"), 2),
        case("kubelet reservedSystemCPUs", &allocate, kubelet("reservedSystemCPUs: \"0-\"\n"), 2),
        case("allocated list", &["allocate", "--cpus", "4", "--allocated", "1,,2"], vec![], 2),
        case("cpu manager state", &["allocate", "--cpus", "4", "--cpu-manager-state", "{dir}/state"], vec![("state", "{not json".into())], 2),
        case("cpus quantity", &["allocate", "--cpus", "4x"], vec![], 2),
        case("hugepages flag", &["allocate", "--cpus", "4", "--hugepages", "2Mi"], vec![], 2),
        case("kubelet rejects", &["allocate", "--cpus", "40", "--host", "example:dual-socket"], vec![], 1),
        // --- verify ---
        case("verify: not a plan", &["verify", "--plan", "{dir}/plan.json", "--qmp", "{dir}/sock"], vec![("plan.json", "{}".into())], 2),
        case("verify: no monitor", &["verify", "--plan", "{dir}/plan.json", "--qmp", "{dir}/sock"], vec![("plan.json", "{\"guest\":{\"sockets\":1,\"cores\":1,\"threads\":1,\"vcpus\":1},\"vcpupin\":[],\"cells\":[]}".into())], 2),
    ]
}

#[test]
fn bad_inputs_name_the_input_the_place_and_the_value() {
    let mut report = String::new();
    for c in cases() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        for (path, text) in &c.files {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        let args: Vec<String> = c.args.iter().map(|a| a.replace("{dir}", &d)).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_vnuma"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = c.stdin.clone().unwrap_or_default();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).replace(&d, "<dir>");
        assert_eq!(out.status.code(), Some(c.code), "{}: {err}", c.name);
        assert!(!err.contains("panicked"), "{}: {err}", c.name);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("using built-in host"))
            .collect();
        assert!(
            lines.first().is_some_and(|l| l.starts_with("error: ")),
            "{}: {err}",
            c.name
        );
        if c.code == 2 {
            assert!(
                out.stdout.is_empty(),
                "{}: exit 2 prints nothing on stdout",
                c.name
            );
        }
        let _ = writeln!(report, "## {} (exit {})\n{}\n", c.name, c.code, lines.join("\n"));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/errors.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &report).unwrap();
    }
    assert_eq!(
        report,
        std::fs::read_to_string(&path).unwrap_or_default(),
        "error messages changed"
    );
    assert!(cases().len() >= 50);
}

#[test]
fn a_100_mb_input_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(100 << 20).unwrap(); // sparse: 100 MB of NULs
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(["plan", big.to_str().unwrap(), "--cpuset", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is larger than 67108864 bytes; refusing to read it"),
        "{err}"
    );
}

#[test]
fn sysfs_symlink_loops_and_endless_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("sys/devices/system/node/node0");
    std::fs::create_dir_all(&node).unwrap();
    std::fs::create_dir_all(dir.path().join("sys/devices/system/cpu/cpu0")).unwrap();
    std::os::unix::fs::symlink("cpulist", node.join("cpulist")).unwrap(); // a loop
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(["topology", "--host", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failed to read"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(node.join("cpulist")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", node.join("cpulist")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(["topology", "--host", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is larger than 1048576 bytes; not a sysfs file"));
}
