//! Writing results: stdout, or a file replaced atomically (temporary file in the same folder,
//! then rename), so an error never leaves a half-written file behind.
//!
//! `--output-file -` is stdout. A file gets the mode a shell's `>` would give it: a new file
//! `0666` less the umask (the temporary file is created with that mode and the kernel applies
//! the umask, so no umask has to be read), a replaced file keeps its own mode.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Whether `file` names stdout (`--output-file -`, or none).
pub(crate) fn is_stdout(file: Option<&Path>) -> bool {
    file.is_none_or(|f| f == Path::new("-"))
}

/// Prints `text`, or writes it to `file` atomically (`-` is stdout).
pub(crate) fn emit(text: &str, file: Option<&Path>) -> anyhow::Result<()> {
    let file = match file {
        Some(file) if !is_stdout(Some(file)) => file,
        _ => {
            let mut stdout = std::io::stdout().lock();
            return match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                // A closed pipe (`vnuma ... | head`) is the reader's choice, not an error.
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("writing to stdout"),
            };
        }
    };
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created as `>` creates: 0666, less the umask (applied by the kernel at creation).
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(dir).with_context(|| {
        format!(
            "--output-file {}: cannot create a file in {}",
            file.display(),
            dir.display()
        )
    })?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.flush())
        .with_context(|| format!("--output-file {}: write failed", file.display()))?;
    // Replacing a file keeps its mode, as `>` (which truncates it in place) would.
    if let Ok(meta) = std::fs::metadata(file)
        && meta.is_file()
    {
        temp.as_file()
            .set_permissions(meta.permissions())
            .with_context(|| format!("--output-file {}: cannot keep its mode", file.display()))?;
    }
    temp.persist(file)
        .with_context(|| format!("--output-file {}: cannot replace it", file.display()))?;
    Ok(())
}
