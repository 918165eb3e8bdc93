//! `docs/formats.md` is the reference of vnuma's JSON documents, and it shows real output: every
//! ```json block that follows a `<!-- vnuma ARGS -->` line is exactly what `vnuma ARGS` prints
//! (compared as JSON values). `UPDATE_GOLDEN=1` rewrites the blocks from the real output.
//! The page also names every warning code and failure reason the code can produce.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A JSON value laid out for reading: a container on one line when it fits in 96
/// characters, else one member per line.
fn layout(value: &Value, indent: usize, out: &mut String) {
    let flat = serde_json::to_string(value).unwrap();
    let flat = flat
        .replace("\":", "\": ")
        .replace(",\"", ", \"")
        .replace(",{", ", {");
    if flat.len() + indent <= 96 || !(value.is_object() || value.is_array()) {
        out.push_str(&flat);
        return;
    }
    let pad = " ".repeat(indent + 2);
    match value {
        Value::Object(map) => {
            out.push_str("{\n");
            for (i, (key, child)) in map.iter().enumerate() {
                out.push_str(&format!("{pad}{}: ", serde_json::to_string(key).unwrap()));
                layout(child, indent + 2, out);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{}}}", " ".repeat(indent)));
        }
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, child) in items.iter().enumerate() {
                out.push_str(&pad);
                layout(child, indent + 2, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&format!("{}]", " ".repeat(indent)));
        }
        _ => unreachable!(),
    }
}

fn run(args: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args.split_whitespace())
        .current_dir(repo())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "vnuma {args}: {e}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn every_document_in_the_format_reference_is_real_output() {
    let path = repo().join("docs/formats.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let mut rewritten = String::new();
    let mut checked = 0;
    let mut lines = page.lines().peekable();
    while let Some(line) = lines.next() {
        rewritten.push_str(line);
        rewritten.push('\n');
        let Some(args) = line
            .strip_prefix("<!-- vnuma ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines.next(),
            Some("```json"),
            "a ```json block must follow `{line}`"
        );
        let mut block = String::new();
        for body in lines.by_ref() {
            if body == "```" {
                break;
            }
            block.push_str(body);
            block.push('\n');
        }
        let actual = run(args);
        let mut text = String::new();
        layout(&actual, 0, &mut text);
        rewritten.push_str(&format!("```json\n{text}\n```\n"));
        if std::env::var_os("UPDATE_GOLDEN").is_none() {
            let documented: Value = serde_json::from_str(&block)
                .unwrap_or_else(|e| panic!("docs/formats.md after `{line}`: not JSON: {e}"));
            assert_eq!(
                documented, actual,
                "docs/formats.md: `vnuma {args}` prints something else"
            );
        }
        checked += 1;
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, rewritten).unwrap();
    }
    assert!(checked >= 6, "only {checked} documents checked");
}

/// Every warning code and failure reason vnuma emits, each checked to exist in the sources
/// (so the list stays true) and in the page (so the page stays complete).
const CODES: [&str; 32] = [
    // plan warnings
    "asymmetric-cells",
    "socket-spans-cells",
    "vcpus-share-core",
    "guest-core-split",
    "emulator-other-node",
    "cpuset-unknown-cpus",
    "hugepage-shortfall",
    "hugepages-free-unknown",
    "distances-invalid",
    "realtime-mask-invalid",
    "cpuset-shared-pool",
    "kubevirt-quirk:sibling-ranges-dropped",
    "kubevirt-quirk:partial-core-unpinned",
    "kubevirt-quirk:no-topology-no-numa",
    "kubevirt-quirk:misscaled-error",
    "kubevirt-quirk:parity-mismatch",
    // failure reasons
    "pinning",
    "emulator-thread",
    "iothreads",
    "numa-mapping",
    "kubelet-rejected",
    "backend-unsupported",
    // kubelet quirks and rejection reasons
    "kubelet-quirk:closest-numa-noncontiguous-ids",
    "kubelet-quirk:uneven-socket-whole-take",
    "kubelet-quirk:uneven-core-whole-take",
    "KubeletPanic",
    "SMTAlignmentError",
    "TopologyAffinityError",
    "UnexpectedAdmissionError",
    // --validate modes
    "strict",
    "warn",
    "ignore",
];

#[test]
fn every_code_and_reason_is_documented() {
    let page = std::fs::read_to_string(repo().join("docs/formats.md")).unwrap();
    let mut sources = String::new();
    for dir in ["crates/vnuma/src", "crates/vnuma-cli/src"] {
        let mut stack = vec![repo().join(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    for code in CODES {
        assert!(
            sources.contains(&format!("\"{code}")),
            "{code} is no longer in the sources"
        );
        assert!(
            page.contains(&format!("`{code}`")),
            "{code} is not in docs/formats.md"
        );
    }
}
