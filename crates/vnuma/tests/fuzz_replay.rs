//! Replays every input the fuzzers kept — `fuzz/corpus/<target>/*` and
//! `fuzz/regressions/<target>/*` — through the same target bodies the libFuzzer binaries run
//! (`fuzz_targets/mod.rs`, included by both), on stable Rust, as an ordinary test. A panic in a
//! body (a crash, or a failed round-trip, invariant or determinism check) fails the test and
//! names the file. Fuzzing itself stays out of CI (`FUZZING.md`); what it found stays in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod fuzz_targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_replays_cleanly() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (target, body) in fuzz_targets::TARGETS {
        let corpus = files(&fuzz.join("corpus").join(target));
        assert!(!corpus.is_empty(), "no corpus for {target} in {}", fuzz.display());
        for file in corpus
            .iter()
            .chain(&files(&fuzz.join("regressions").join(target)))
        {
            let data = match std::fs::read(file) {
                Ok(data) => data,
                // a fuzzer running beside the test may have just merged the file away
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", file.display()),
            };
            replayed += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(ToString::to_string))
                    .unwrap_or_default();
                failures.push(format!("{target}: {}: {message}", file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {replayed} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The directory layout the replay relies on: one corpus directory per target, no strays.
#[test]
fn every_corpus_directory_is_a_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let names: Vec<&str> = fuzz_targets::TARGETS.iter().map(|(n, _)| *n).collect();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(kind)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(names.contains(&name.as_str()), "fuzz/{kind}/{name} is no target");
        }
    }
}
