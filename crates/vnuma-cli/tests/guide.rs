//! `docs/guide.md` cannot rot: every command in its `bash` blocks is run here, with `vnuma` on
//! the `PATH`, in a scratch directory that holds the repository's `examples/` and a scratch
//! `HOME`. A command that needs what CI does not have carries the visible marker
//! `[not run by the tests: WHY]` in the page and is skipped by name: the skipped list below
//! must match the page exactly, so nothing is skipped silently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

const MARKER: &str = "[not run by the tests:";

/// The commands the guide marks as not runnable here (their first words).
const SKIPPED: [&str; 10] = [
    "cargo install --locked --path crates/vnuma-cli",
    "kubectl get vmi numavm -o yaml",
    "virsh capabilities > caps.xml",
    "vnuma topology --host caps.xml",
    "vnuma plan my-vmi.yaml --host caps.xml",
    "vnuma plan my-vmi.yaml --host ./snapshot-root",
    "kubectl -n kubevirt exec ds/virt-handler",
    "kubectl -n NS exec virt-launcher-NAME",
    "vnuma verify --plan plan.json --domain",
    "vnuma verify --plan plan.json --qmp",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The commands of every ```bash block, continuation lines joined.
fn commands(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in page.lines() {
        if line.starts_with("```") {
            in_block = line == "```bash";
            continue;
        }
        if !in_block {
            continue;
        }
        let trimmed = line.trim();
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let command = std::mem::take(&mut pending);
        if !command.is_empty() && !command.starts_with('#') {
            out.push(command);
        }
    }
    out
}

#[test]
fn every_command_of_the_guide_runs() {
    let page = std::fs::read_to_string(repo().join("docs/guide.md")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::symlink(repo().join("examples"), scratch.path().join("examples")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_vnuma"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut skipped = Vec::new();
    let mut ran = 0;
    for command in commands(&page) {
        if command.contains(MARKER) {
            skipped.push(command);
            continue;
        }
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &command])
            .current_dir(scratch.path())
            .env("HOME", &home)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docs/guide.md: `{command}` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    // What the runnable commands left behind is what they promise.
    for file in [
        "home/.local/bin/kubectl-vnuma",
        "home/.local/share/bash-completion/completions/vnuma",
        "home/.local/share/man/man1/vnuma.1",
        "home/.local/share/man/man1/vnuma-plan.1",
        "plan.json",
    ] {
        assert!(scratch.path().join(file).exists(), "{file} missing");
    }
    assert!(ran >= 10, "only {ran} commands ran");
    let expected = SKIPPED;
    assert_eq!(skipped.len(), expected.len(), "skipped: {skipped:#?}");
    for (command, start) in skipped.iter().zip(expected) {
        assert!(
            command.starts_with(start),
            "{command:?} is skipped but not listed (expected {start:?})"
        );
    }
}

/// `--help` and `explain` point only to what a user can open: pages in `docs/` that exist,
/// or upstream references; never the private spec files the project was built from.
#[test]
fn help_and_explain_point_only_to_what_a_user_can_open() {
    let vnuma = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let mut texts = vec![vnuma(&["--help"])];
    for sub in [
        "topology",
        "plan",
        "explain",
        "allocate",
        "pod",
        "verify",
        "man",
        "completions",
    ] {
        texts.push(vnuma(&[sub, "--help"]));
    }
    texts.push(vnuma(&["explain", "examples/seed.yaml", "--cpuset", "7-8,23-24"]));
    texts.push(vnuma(&["man"]));
    for text in texts {
        for private in [
            "cli-contract",
            "behaviour reference",
            "kubevirt-numa.md",
            "kubelet.md",
            "(1.7",
            "(1.10",
        ] {
            assert!(!text.contains(private), "{private:?} in:\n{text}");
        }
        for (i, _) in text.match_indices("docs/") {
            let name: String = text[i..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != ')')
                .collect();
            let name = name.trim_end_matches(['.', ',', ';', '`']);
            assert!(
                repo().join(name).exists(),
                "{name} is referenced but not in the repository"
            );
        }
    }
}
