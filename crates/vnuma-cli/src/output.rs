//! Writing results: stdout, or a file replaced atomically (temporary file in the same folder,
//! then rename), so an error never leaves a half-written file behind.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Prints `text`, or writes it to `file` atomically.
pub(crate) fn emit(text: &str, file: Option<&Path>) -> anyhow::Result<()> {
    let Some(file) = file else {
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
            // A closed pipe (`vnuma ... | head`) is the reader's choice, not an error.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("writing to stdout"),
        };
    };
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).with_context(|| {
        format!(
            "--output-file {}: cannot create a file in {}",
            file.display(),
            dir.display()
        )
    })?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.flush())
        .with_context(|| format!("--output-file {}: write failed", file.display()))?;
    temp.persist(file)
        .with_context(|| format!("--output-file {}: cannot replace it", file.display()))?;
    Ok(())
}
