//! Every file in `examples/` gives its expected plan (`examples/expected/`), so the examples
//! stay true. `UPDATE_GOLDEN=1` rewrites the expectations for review.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vnuma::cpuset::CpuSet;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// (example, host, pod cpuset, exit code). A planned example's own document
/// (`examples/expected/NAME.json`) names its host (`host.source`), and the test plans on that
/// host; this table must agree with it, and its cpuset with the document's `cpuset.cpus`. The
/// cpuset is passed as written here: its order matters to KubeVirt (IOThread pins index into
/// it) and the document keeps only the set.
const CASES: [(&str, &str, &str, i32); 8] = [
    ("seed", "example:dual-socket", "7-8,23-24", 0),
    ("hugepages-1gi", "example:asymmetric", "0-5,16-17", 0),
    ("isolated-emulator-parity", "example:dual-socket", "2-7", 0),
    ("realtime-mask", "example:dual-socket", "2-4,8-9", 0),
    ("smt2", "example:dual-socket", "2-3,18-19,8-9,24-25", 0),
    ("vm-template", "example:dual-socket", "7,8", 0),
    ("cx1-vm", "example:dual-socket", "7-8,23-24", 0),
    ("rejected-no-hugepages", "example:dual-socket", "0-3", 2),
];

/// The host source and pod cpuset an expected plan records (`host.source`, `cpuset.cpus`).
fn recorded(name: &str) -> Option<(String, String)> {
    let text = std::fs::read_to_string(examples().join("expected").join(format!("{name}.json"))).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((
        doc["host"]["source"].as_str()?.to_string(),
        doc["cpuset"]["cpus"].as_str()?.to_string(),
    ))
}

#[test]
fn every_example_gives_its_expected_plan() {
    let mut listed: Vec<String> = std::fs::read_dir(examples())
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .collect();
    listed.sort();
    let mut covered: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    covered.sort();
    assert_eq!(listed, covered, "every example needs a case here");
    let updating = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, host, cpuset, code) in CASES {
        let file = examples().join(format!("{name}.yaml"));
        let (host, cpuset) = if code == 2 {
            (host.to_string(), cpuset.to_string())
        } else {
            match recorded(name) {
                Some((doc_host, doc_cpuset)) => {
                    assert_eq!(doc_host, host, "{name}: the document's host.source");
                    assert_eq!(
                        doc_cpuset,
                        CpuSet::parse_list(cpuset).unwrap().to_string(),
                        "{name}: the document's cpuset.cpus"
                    );
                    (doc_host, cpuset.to_string())
                }
                None if updating => (host.to_string(), cpuset.to_string()),
                None => panic!("{name}: the expected plan names no host.source and cpuset.cpus"),
            }
        };
        let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
            .args([
                "plan",
                file.to_str().unwrap(),
                "--host",
                &host,
                "--cpuset",
                &cpuset,
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (expected_file, actual) = if code == 2 {
            (format!("{name}.stderr"), String::from_utf8(out.stderr).unwrap())
        } else {
            (format!("{name}.json"), String::from_utf8(out.stdout).unwrap())
        };
        let path = examples().join("expected").join(expected_file);
        if updating {
            std::fs::write(&path, &actual).unwrap();
        }
        assert_eq!(
            actual,
            std::fs::read_to_string(&path).unwrap_or_default(),
            "{name}: {} differs",
            path.display()
        );
    }
}

#[test]
fn the_examples_show_what_they_say() {
    let plan = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(examples().join("expected").join(format!("{name}.json"))).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        plan("isolated-emulator-parity")["emulatorpin"]
            .as_str()
            .map(|s| s.contains(',') || s.contains('-')),
        Some(true),
        "two emulator CPUs"
    );
    assert_eq!(plan("hugepages-1gi")["guest"]["page_size_bytes"], 1u64 << 30);
    assert_eq!(plan("smt2")["guest"]["threads"], 2);
    assert_eq!(plan("vm-template")["vmi"]["name"], "web");
    assert_eq!(plan("seed")["cells"].as_array().unwrap().len(), 2);
}
