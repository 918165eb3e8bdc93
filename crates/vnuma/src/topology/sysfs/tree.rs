//! Where sysfs text comes from: a directory on disk, or a map in memory.
//!
//! The reader in [`super`] asks only two questions, "what does this file say" and "what is in
//! this directory", through [`SysfsTree`]. [`DiskTree`] is the one place that touches the
//! filesystem, with bounds real sysfs never reaches (so a `/dev/zero` lookalike or a huge
//! directory is an error, not a hang); [`MemTree`] serves tests and fuzzing.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::topology::TopologyError;

/// The largest file the reader accepts (real sysfs and procfs files are far smaller).
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most entries a directory may have (8192 CPUs plus their siblings fit easily).
pub const MAX_DIR_ENTRIES: usize = 1 << 16;

/// A filesystem root holding `sys/` and `proc/`, addressed by `/`-separated relative paths.
pub trait SysfsTree {
    /// The text of a file, `None` when it does not exist. Trailing NULs are left to the caller.
    ///
    /// # Errors
    /// Any failure other than absence, naming the path.
    fn read(&self, rel: &str) -> Result<Option<String>, TopologyError>;

    /// The names in a directory (links included), `None` when it does not exist.
    ///
    /// # Errors
    /// Any failure other than absence, naming the path.
    fn list(&self, rel: &str) -> Result<Option<Vec<String>>, TopologyError>;

    /// The full name of `rel`, for messages.
    fn path(&self, rel: &str) -> PathBuf;
}

/// A real directory: the live machine (`/`) or an extracted snapshot.
#[derive(Debug, Clone)]
pub struct DiskTree {
    root: PathBuf,
}

impl DiskTree {
    /// A tree rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DiskTree { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn absent(err: &io::Error) -> bool {
    // ENOTDIR: a path through a regular file; both mean "not there" for sysfs purposes.
    matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

impl SysfsTree for DiskTree {
    fn read(&self, rel: &str) -> Result<Option<String>, TopologyError> {
        let path = self.path(rel);
        let file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if absent(&err) => return Ok(None),
            Err(source) => return Err(TopologyError::Read { path, source }),
        };
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| TopologyError::Read {
                path: path.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(TopologyError::FileTooLarge {
                path,
                limit: MAX_FILE_BYTES,
            });
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn list(&self, rel: &str) -> Result<Option<Vec<String>>, TopologyError> {
        let path = self.path(rel);
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(err) if absent(&err) => return Ok(None),
            Err(source) => return Err(TopologyError::Read { path, source }),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| TopologyError::Read {
                path: path.clone(),
                source,
            })?;
            if names.len() >= MAX_DIR_ENTRIES {
                return Err(TopologyError::DirTooLarge {
                    path,
                    limit: MAX_DIR_ENTRIES,
                });
            }
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(Some(names))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// An in-memory tree: file path → contents. Directories exist implicitly above files; a
/// directory with no files inside can be made with a path ending in `/`.
#[derive(Debug, Clone, Default)]
pub struct MemTree {
    files: BTreeMap<String, String>,
}

impl MemTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file (or, with a trailing `/`, an empty directory). Returns `self` for chaining.
    pub fn with(mut self, rel: &str, text: &str) -> Self {
        self.files.insert(rel.to_string(), text.to_string());
        self
    }
}

impl SysfsTree for MemTree {
    fn read(&self, rel: &str) -> Result<Option<String>, TopologyError> {
        Ok(self.files.get(rel).cloned())
    }

    fn list(&self, rel: &str) -> Result<Option<Vec<String>>, TopologyError> {
        let prefix = format!("{}/", rel.trim_end_matches('/'));
        let mut names: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| k[prefix.len()..].split('/').next())
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect();
        names.dedup();
        let exists = self
            .files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix));
        Ok(exists.then_some(names))
    }

    fn path(&self, rel: &str) -> PathBuf {
        PathBuf::from(if rel.is_empty() { "<memory>" } else { rel })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_tree_lists_children_once() {
        let tree = MemTree::new()
            .with("sys/a/x", "1")
            .with("sys/a/y/z", "2")
            .with("sys/a/y/w", "3")
            .with("sys/b/", "");
        assert_eq!(
            tree.list("sys/a").ok().flatten(),
            Some(vec!["x".into(), "y".into()])
        );
        assert_eq!(tree.list("sys/b").ok().flatten(), Some(vec![]));
        assert_eq!(tree.list("sys/c").ok().flatten(), None);
        assert_eq!(tree.read("sys/a/x").ok().flatten(), Some("1".into()));
    }

    #[test]
    fn disk_tree_bounds_endless_files() -> Result<(), Box<dyn std::error::Error>> {
        // /dev/zero never ends: reading it through a root must stop at the bound.
        let tree = DiskTree::new("/");
        let err = tree.read("dev/zero").err().ok_or("expected an error")?;
        assert_eq!(
            err.to_string(),
            "/dev/zero is larger than 1048576 bytes; not a sysfs file"
        );
        Ok(())
    }

    #[test]
    fn disk_tree_names_symlink_loops() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::os::unix::fs::symlink("loop", dir.path().join("loop"))?;
        let tree = DiskTree::new(dir.path());
        let err = tree.read("loop").err().ok_or("expected an error")?;
        assert_eq!(
            err.to_string(),
            format!("failed to read {}", dir.path().join("loop").display())
        );
        Ok(())
    }
}
