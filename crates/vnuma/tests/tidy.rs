//! The architecture's rules as tests (in the spirit of rust-analyzer's tidy tests), so that
//! `ARCHITECTURE.md` stays the truth:
//!
//! - a stage imports only stages below it (the layers below, drawn in ARCHITECTURE.md);
//! - the kubelet and KubeVirt stages stand side by side on `k8s`: neither imports the other,
//!   not even in tests;
//! - nothing under `crates/vnuma/src/` does I/O, prints or reads the environment, except the
//!   one disk reader (`topology/sysfs/tree.rs`); test-only modules are exempt;
//! - no source file outside tests passes 800 lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The library's top-level modules, lowest layer first. A module may import its own layer and
/// the layers below; never a layer above.
const LAYERS: [&[&str]; 8] = [
    &["ids", "cpuset", "k8s", "text"],
    &["topology"],
    &["vmi", "kubelet"],
    &["plan"],
    &["render", "verify"],
    &["reschedule"],
    &["report"],
    &["pipeline"],
];

/// The one module that touches the disk.
const DISK_READER: &str = "topology/sysfs/tree.rs";

/// What library code must not do: I/O, printing, the environment, processes, sockets.
const FORBIDDEN: [&str; 12] = [
    "std::fs",
    "fs::read",
    "File::open",
    "File::create",
    "std::env",
    "env::var",
    "std::io::stdin",
    "std::io::stdout",
    "println!",
    "eprintln!",
    "std::process",
    "std::net",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Files that are compiled only for tests: `tests.rs`, anything under a `tests/` folder, and
/// every module declared right after `#[cfg(test)]`.
fn test_only(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut only = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            if pair[0].trim() != "#[cfg(test)]" {
                continue;
            }
            let decl = pair[1].trim();
            let Some(name) = decl
                .strip_prefix("pub(crate) mod ")
                .or_else(|| decl.strip_prefix("pub mod "))
                .or_else(|| decl.strip_prefix("mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            let stem = file.file_stem().unwrap().to_str().unwrap();
            let dir = if matches!(stem, "mod" | "lib") {
                file.parent().unwrap().to_path_buf()
            } else {
                file.parent().unwrap().join(stem)
            };
            only.insert(dir.join(format!("{name}.rs")));
            only.insert(dir.join(name).join("mod.rs"));
        }
    }
    for file in files {
        let rel = file.strip_prefix(src()).unwrap();
        if file.file_name().is_some_and(|n| n == "tests.rs")
            || rel.components().any(|c| c.as_os_str() == "tests")
        {
            only.insert(file.clone());
        }
    }
    only
}

/// The code of a file without its inline `#[cfg(test)] mod tests { ... }` (always last).
fn code(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// The top-level modules a file imports through `crate::`, including grouped
/// `use crate::{a::X, b}` imports.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.insert(ident(item.trim()));
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module a source file belongs to (`kubelet` for `kubelet/config.rs`).
fn top_module(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    rel.components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

/// The text without its comments: comments (doc links included) import nothing.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line.strip_prefix("pub mod ").and_then(|l| l.strip_suffix(';')) {
            assert!(
                layer(name).is_some(),
                "module {name} is in no layer of tests/tidy.rs (nor ARCHITECTURE.md)"
            );
        }
    }
}

#[test]
fn no_stage_imports_a_stage_above_it() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let tests = test_only(&files);
    let mut violations = Vec::new();
    for file in &files {
        if tests.contains(file) {
            continue;
        }
        let rel = file.strip_prefix(src()).unwrap();
        let module = top_module(file);
        let Some(own) = layer(&module) else { continue };
        let text = fs::read_to_string(file).unwrap();
        let code = without_comments(code(&text));
        for imported in imports(&code) {
            match layer(&imported) {
                Some(l) if l > own => violations.push(format!(
                    "{} imports {imported} (a stage above {module})",
                    rel.display()
                )),
                _ => {}
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// The kubelet and KubeVirt stages share a layer and stand on `k8s` (quantities, documents,
/// the pod model); neither may reach into the other, tests included, so the kubelet
/// simulation stays a kubelet's and the VMI reader stays KubeVirt's.
#[test]
fn kubelet_and_vmi_do_not_import_each_other() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let module = top_module(file);
        let other = match module.as_str() {
            "kubelet" => "vmi",
            "vmi" => "kubelet",
            _ => continue,
        };
        let text = fs::read_to_string(file).unwrap();
        if imports(&without_comments(&text)).contains(other) {
            violations.push(format!(
                "{} imports {other} (kubelet and vmi stand side by side on k8s)",
                file.strip_prefix(src()).unwrap().display()
            ));
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_library_does_no_io_outside_the_disk_reader() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let tests = test_only(&files);
    let mut violations = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(src()).unwrap();
        if tests.contains(file) || rel == Path::new(DISK_READER) {
            continue;
        }
        let text = fs::read_to_string(file).unwrap();
        for (n, line) in code(&text).lines().enumerate() {
            let line = line.split("//").next().unwrap_or("");
            for token in FORBIDDEN {
                if line.contains(token) {
                    violations.push(format!("{}:{}: {token}", rel.display(), n + 1));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn no_source_file_outside_tests_passes_800_lines() {
    let mut files = Vec::new();
    for krate in ["crates/vnuma/src", "crates/vnuma-cli/src"] {
        rust_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(krate),
            &mut files,
        );
    }
    let mut long = Vec::new();
    let lib_files: Vec<PathBuf> = files.iter().filter(|f| f.starts_with(src())).cloned().collect();
    let tests = test_only(&lib_files);
    for file in &files {
        if tests.contains(file) || file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let lines = fs::read_to_string(file).unwrap().lines().count();
        if lines > 800 {
            long.push(format!("{} has {lines} lines", file.display()));
        }
    }
    assert!(long.is_empty(), "split these by job:\n{}", long.join("\n"));
}

#[test]
fn the_import_scanner_sees_grouped_imports() {
    let text = "use crate::{plan::GuestPlan, report::{a, b}};\nuse crate::ids::CpuId;\n";
    assert_eq!(
        imports(text),
        ["ids", "plan", "report"]
            .iter()
            .map(ToString::to_string)
            .collect()
    );
}
