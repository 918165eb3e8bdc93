//! Helpers the CLI test files share: running the built `vnuma`, reading its output, writing
//! input files and finding the examples.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `vnuma ARGS` with no input.
pub(crate) fn vnuma(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `vnuma ARGS` with `stdin` on its standard input.
pub(crate) fn vnuma_stdin(args: &[&str], stdin: &str) -> Output {
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

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Writes `content` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// The repository's `examples/`.
pub(crate) fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}
